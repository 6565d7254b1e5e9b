// Package crashtest holds the crash-safety harness: it runs the real
// pseudokit binary as a child, kills it with SIGKILL at random points during
// pseudonymise and withdraw, and checks that nothing was lost or half-done.
// It has tests only.
package crashtest
