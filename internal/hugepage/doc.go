// Package hugepage allocates the large, randomly accessed tables of a run
// (pseudo's value caches, the vault's seen-set) so that the kernel backs
// them with few page faults and, where it can, with huge pages.
//
// A fresh Go allocation is mapped lazily. A table that is read before it
// is written faults each 4 KiB page twice: the first read maps the shared
// zero page, and the first write replaces it, which on Linux also flushes
// the page from every CPU's TLB (an inter-processor interrupt, costly in a
// virtual machine). Make writes one byte of every page at once instead,
// one fault each. On Linux it first asks for transparent huge pages
// (madvise MADV_HUGEPAGE, a hint the kernel may ignore): a 2 MiB page is
// one fault instead of 512, and random look-ups in a table of many
// megabytes miss the TLB far less often.
//
// Measured on 5M rows of 100,000 persons (AMD EPYC, 2 cores, six runs
// each, in turn): CSV page faults 79,800-85,100 -> 42,700-46,600, system
// CPU 1.93 -> 1.71 s (mean), wall time the same within the host's noise;
// Parquet page faults 280,000-284,000 -> 213,000-246,000 (the rest are
// arrow-go's Parquet writer growing its buffers).
package hugepage
