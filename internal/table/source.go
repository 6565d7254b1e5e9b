package table

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"os"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/parquet"
)

// Source is an opened input dataset, a file or standard input ("-"),
// hashed as it is read so that runs can record the input's SHA-256.
type Source struct {
	// Stream is what a CSV reader reads: the input, hashed on the way.
	Stream io.Reader
	// Random is what a Parquet reader reads (random access); standard input
	// is held in memory for it. Nil for CSV.
	Random parquet.ReaderAtSeeker
	// Size is the file's size, 0 if unknown (a pipe read as CSV).
	Size int64

	f    *os.File
	h    hash.Hash
	read atomic.Int64
	sum  string // Parquet: the digest, computed when opened
}

// OpenSource opens path for reading in format f; stdin is read for "-"
// (os.Stdin if nil). With hashed set, a Parquet file is hashed whole when
// opened and a CSV input as it is read; without it SHA256 returns "".
func OpenSource(path string, f Format, stdin io.Reader, hashed bool) (*Source, error) {
	s := &Source{h: sha256.New()}
	if !hashed {
		s.h = nil
	}
	var src io.Reader
	if path == "-" {
		src = stdin
		if src == nil {
			src = os.Stdin
		}
	} else {
		fh, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		s.f, src = fh, fh
		if fi, err := fh.Stat(); err == nil && fi.Mode().IsRegular() {
			s.Size = fi.Size()
		}
	}
	if f == CSV {
		s.Stream = &hashingReader{s: s, r: src}
		return s, nil
	}
	if s.f != nil {
		if s.h != nil {
			if _, err := io.Copy(s.h, s.f); err != nil {
				s.Close()
				return nil, err
			}
		}
		s.Random = s.f
	} else {
		// Parquet needs random access: standard input is held in memory.
		b, err := io.ReadAll(src)
		if err != nil {
			return nil, err
		}
		if s.h != nil {
			s.h.Write(b)
		}
		s.Random = bytes.NewReader(b)
		s.Size = int64(len(b)) // known now that it is all in memory
	}
	if s.h != nil {
		s.sum = hex.EncodeToString(s.h.Sum(nil))
	}
	return s, nil
}

// BytesRead returns how much of a CSV input has been read (for progress).
func (s *Source) BytesRead() int64 { return s.read.Load() }

// Done returns the share of the input read, for progress: rows of total
// when the total is known (Parquet's footer), else the bytes of a CSV
// file read of its size, else -1.
func (s *Source) Done(rows, total int64) float64 {
	switch {
	case total > 0:
		return float64(rows) / float64(total)
	case s.Size > 0:
		return float64(s.BytesRead()) / float64(s.Size)
	}
	return -1
}

// SHA256 returns the hex SHA-256 of the whole input. For CSV it reads (and
// hashes) whatever the reader left, so call it after reading.
func (s *Source) SHA256() string {
	if s.sum != "" || s.h == nil {
		return s.sum
	}
	io.Copy(io.Discard, s.Stream)
	return hex.EncodeToString(s.h.Sum(nil))
}

// Close closes the file (not standard input).
func (s *Source) Close() error {
	if s.f != nil {
		return s.f.Close()
	}
	return nil
}

type hashingReader struct {
	s *Source
	r io.Reader
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if h.s.h != nil {
		h.s.h.Write(p[:n])
	}
	h.s.read.Add(int64(n))
	return n, err
}
