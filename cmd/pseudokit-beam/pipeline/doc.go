// Package pipeline builds pseudokit's Apache Beam pipelines: the same
// pseudonymisation, withdrawal and k-anonymity measurement as the pseudokit
// CLI, over a set of files (a glob, or Hive-style partitions), run by any
// Beam runner (Prism locally, Flink, Spark, Google Cloud Dataflow).
//
// A file is the unit of work: each worker reads whole files with the core
// packages (pseudo, withdraw, anonymize) and writes the matching output file
// under the output directory at the same relative path, so partition
// directories (year=2024/...) carry over. The result for every file is
// gathered into one JSON document (a run summary, a withdrawal receipt, or
// a k-anonymity report).
//
// Secrets: pseudonymisation needs a job grant from the vault (pseudokit
// vault job), encrypted to the workers' age key. Pipeline options carry
// only the grant's path and the path of the worker's identity file, never a
// key; workers write new links to sealed link files that only the vault can
// open (pseudokit vault import). See docs/beam.md.
package pipeline
