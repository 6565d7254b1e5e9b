// Package withdraw carries out a participant's withdrawal of consent: it
// removes every row of the withdrawn persons from each dataset of a project
// (pseudonymised datasets, matched by the persons' codes in any domain, and
// raw datasets that still hold identity numbers), records the withdrawal in
// the vault as a state (a tombstone that makes later runs refuse the person),
// and writes a receipt that an ethics reviewer can check.
//
// All or nothing: every dataset is rewritten to a temporary file first; only
// when all have been read without error is the vault changed (tombstones and
// the access-log entry, one transaction) and are the files renamed into
// place. Rows that stay are copied byte for byte (CSV) or with the same
// schema, types and order (Parquet). Memory does not grow with the size of
// a dataset.
//
// A row is withdrawn when any of its fields, as a whole, is a code of a
// withdrawn person or a withdrawn person's identity number (spaces and a
// dash allowed). Identifiers inside free text are not matched here: scan
// such columns (pseudokit scan) and redact or drop them.
package withdraw
