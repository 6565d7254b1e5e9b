// Package cputime reads the CPU time the process has used, for benchmarks
// on shared cores, where it is steadier than wall time.
package cputime
