// Package table reads and writes datasets (CSV and Parquet files) as streams
// of Arrow record batches, the in-memory form every pseudokit command works
// on, and writes output files atomically.
//
// CSV columns are read as strings exactly as they appear in the file (after
// decoding a legacy encoding), so values that pass through a command come out
// byte for byte. Parquet keeps its column types, nulls, order and key-value
// metadata.
package table
