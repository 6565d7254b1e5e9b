package table

import "os"

// writebackBytes is how much an Output writes to its temporary file before
// it asks the kernel to start writing those bytes to disk. Without it the
// whole output stayed dirty in the page cache until Commit's fsync (Linux
// starts background writeback only at 10 % of memory), which then wrote it
// all while the run waited. A variable only so that tests can lower it.
var writebackBytes int64 = 32 << 20

// writebackFile is the temporary file under an Output's buffer: it counts
// what is written and starts the writeback of each writebackBytes.
type writebackFile struct {
	f              *os.File
	written, start int64
}

func (w *writebackFile) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.written += int64(n)
	if w.written-w.start >= writebackBytes {
		startWriteback(w.f, w.start, w.written-w.start)
		w.start = w.written
	}
	return n, err
}
