// Package job runs pseudonymisation outside the vault's process, as the
// workers of a distributed pipeline (Apache Beam, see cmd/pseudokit-beam)
// do, and brings the links they make back into the vault.
//
// The vault cannot be written by many workers at once, and keyed codes
// need no coordination, so a job works like this:
//
//  1. A key holder grants a job ([keyvault.Vault.GrantJob], `pseudokit vault
//     job`): the grant holds the domain secret, the codes of persons who
//     have withdrawn, and an age recipient whose identity only the vault can
//     derive. [WriteGrant] encrypts it to the workers' own age recipients;
//     the grant never appears in clear in pipeline options, files or logs.
//  2. Each worker opens the grant with its age identity ([ReadGrant]) and
//     pseudonymises with a [pseudo.FileJob] whose Linker is a [LinkWriter]:
//     every new (kind, identifier, code) is written to a link file sealed
//     to the grant's recipient. Rows of withdrawn persons are refused.
//  3. `pseudokit vault import` ([Import]) opens the link files with the
//     job's identity, checks that every code is the one the domain key
//     gives, and records the links in one vault transaction with one
//     access-log entry. Importing the same files twice changes nothing.
//
// The link-file format is specified in docs/beam.md.
package job
