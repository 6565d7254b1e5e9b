// Package benchmarks holds pseudokit's throughput benchmarks and its
// streaming-memory test (see README.md). The synthetic datasets come from
// package synth; gen and csvcopy are the commands run.sh times.
package benchmarks
