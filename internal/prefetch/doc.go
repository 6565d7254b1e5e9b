// Package prefetch asks the CPU to start loading a memory line into its
// caches without waiting for it.
//
// Go has no prefetch intrinsic for user code. A plain load does not do:
// the CPU cannot retire it, nor anything after it, until the line arrives,
// so a loop that touches lines some iterations ahead soon stalls on them
// (measured in pseudo's value cache: slower than no touching at all). A
// prefetch instruction retires at once, so the loads of many rows are in
// flight together. Prefetches never fault, so any address may be given.
//
// Line is one instruction in assembly on amd64 and arm64 and does nothing
// elsewhere. Range, for an object over several lines, is a loop in
// assembly on amd64 and calls Line in a Go loop elsewhere: a call costs
// more than the prefetch itself, so one call an object pays.
package prefetch
