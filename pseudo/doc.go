// Package pseudo pseudonymises datasets: it replaces direct identifiers
// (Norwegian identity numbers, names, e-mail addresses, phone numbers) with
// codes or fictitious names, and records the links between codes and
// persons in a keyvault.Vault.
//
// # Codes
//
// A person's code is derived with HMAC-SHA256 from the canonical form of
// the identifier under a key derived (HKDF) from the secret of a
// pseudonymisation domain: the same person gets the same code in every
// dataset of the domain and an unrelated code in any other domain. Never
// an unkeyed or salted hash: there are only about 10^10 identity numbers,
// and an unkeyed hash of one is found by brute force in seconds. A code is
// 18 characters of Crockford base32: a scheme character ('K' keyed, 'R'
// random), 80 bits, and a check character that catches every single
// mistyped character. See docs/design.md for the exact construction and
// testdata/codes.golden for vectors.
//
// Domains can instead use random codes (not derivable from any key; the
// vault's link table is the only way back).
//
// # Rules and the transform
//
// Rules (a YAML file, see ParseRules) say per column: code, fake-name, drop
// or keep. A Pseudonymizer applies them to a stream of Arrow record
// batches; FileJob does the whole job for a CSV or Parquet file with a
// vault, all or nothing.
//
// Errors name files, rows and columns, never values: an identifier never
// reaches an error message.
package pseudo
