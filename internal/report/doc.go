// Package report writes de-identification reports: the document an ethics
// committee or data protection officer reads to see what was done to a
// dataset before it was shared.
//
// Build reads the raw inputs and the de-identified outputs (hashing,
// counting and scanning them with package pseudo/scan), the run summaries
// that `pseudokit pseudonymize --summary` writes, optionally an unlocked
// vault, and measures k-anonymity and risk on the quasi-identifiers with
// package anonymize. The Report holds:
//
//   - a summary of checks against thresholds (no direct identifier left,
//     k ≥ K, l ≥ L, every column named by the rules, outputs are what the
//     recorded runs wrote, the vault's log verifies, retention date);
//   - inputs and outputs with SHA-256, rows and columns;
//   - every input column with its role, kind and technique;
//   - the methods and parameters (code scheme, domains, key-slot count,
//     fictitious names, generalisation; never a key);
//   - the residual scan of every output;
//   - k, class-size distribution and risk before and after;
//   - rows removed, withdrawn, suppressed, columns dropped;
//   - the vault's holders, retention date, log head and verification,
//     access summary, withdrawals and the log entries that wrote the
//     outputs;
//   - the command that reproduces it.
//
// WriteHTML (self-contained, with SVG charts), WriteMarkdown and WriteJSON
// render it. Verify recomputes every figure from the files named in the
// JSON form and lists the mismatches. Reports hold names of files and
// columns, digests, counts and parameters, never a value of a dataset; the
// same inputs give the same report except for the generation time, which
// is in one field.
package report
