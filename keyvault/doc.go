// Package keyvault implements the pseudokit vault: one SQLite file that holds
// the identifier key ("koblingsnøkkel") of a research project, that is the
// list linking pseudonym codes to persons, together with everything needed to
// protect it.
//
// A vault contains
//
//   - a 32-byte random project secret S, never stored in clear but wrapped in
//     one or more key slots, one per key holder: passphrase slots (Argon2id,
//     calibrated to the machine) and age slots (X25519, post-quantum hybrid,
//     or an age plugin such as age-plugin-yubikey for a hardware token);
//   - keys derived from S with HKDF-SHA256 (see docs/design.md): one secret
//     per domain, handed to the pseudonymiser through [Vault.DomainSecret],
//     a key sealing identifiers in the link table and keys for the keyed
//     identifier index and the access-log MAC;
//   - domains (code namespaces, keyed or random codes);
//   - the link table: for every (domain, code) the kind and sealed canonical
//     identifier, plus a keyed index (HMAC) so that a person can be found
//     without decrypting the table;
//   - an append-only access log whose entries are hash-chained and whose head
//     is authenticated with an HMAC under a key derived from S;
//   - withdrawal tombstones: keyed indexes of persons who have withdrawn, who
//     are refused in every domain.
//
// Key holders are managed with [Vault.AddPassphrase], [Vault.AddRecipient],
// [Vault.RemoveHolder] and [Vault.ChangePassphrase]; [OpenWith] unlocks with
// a passphrase or age identities ([ParseIdentities]). Re-identification
// ([Vault.Reveal]) requires a purpose and is logged before anything is
// returned; [Vault.FindPerson], [Vault.FindCode], [Vault.Withdraw],
// [Vault.Withdrawn] and [Vault.WithdrawnCodes] support withdrawal and
// subject access. [Vault.Verify] checks everything with the key;
// [Vault.Destroy] crypto-shreds the vault at the end of its retention
// period, after which [VerifyFile], [Inspect] and [ReadLog] work without a
// key.
//
// Every change is one SQLite transaction that also appends its log entry: if
// the entry cannot be written, the change does not happen. Opening a vault
// ([Open]) is itself logged; a failed unlock, which cannot compute a MAC, is
// recorded as a pending row that the next successful unlock folds into the
// chain.
//
// The on-disk format is described in docs/vault-format.md.
//
// # Errors and exit codes
//
// Errors are matched with [errors.Is]. The CLI maps them to the exit codes
// of docs/design.md: [ErrWrongPassphrase] is exit code 3; [ErrNotVault],
// [ErrUnsupportedVersion], [ErrCorrupt], [ErrLogTampered] and [ErrDestroyed]
// are vault problems (exit code 5); [ErrWithdrawn], [ErrLastHolder] and
// [ErrPurposeRequired] are refusals by policy (exit code 6); [ErrNotFound]
// (an unknown code) is invalid input (exit code 4);
// everything else is exit code 1 unless the CLI knows better (for example
// [ErrInvalid] caused by a bad flag is a usage error). No error returned by
// this package contains an identifier.
//
// # Concurrency
//
// A [Vault] is safe for concurrent use. A [Tx] is safe for concurrent use by
// several goroutines of one pseudonymisation run: [Tx.Link] works out a new
// identifier's keyed index and sealed identifier outside the transaction's
// lock, so that they do it side by side. Several processes (or
// several [Vault] handles) may use the same file: write transactions are
// serialised by SQLite's file lock, and [Vault.Begin] waits for the lock
// rather than failing. While a [Tx] is open, other writes to the same file,
// including [Vault.Append] on the same handle, wait until it ends.
package keyvault
