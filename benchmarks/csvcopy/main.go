// Command csvcopy copies a CSV file record by record with encoding/csv: the
// baseline of the benchmarks, the least any tool that parses and rewrites CSV
// must do.
//
//	csvcopy IN.csv OUT.csv
package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: csvcopy IN.csv OUT.csv")
		os.Exit(2)
	}
	if err := copyCSV(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "csvcopy:", err)
		os.Exit(1)
	}
}

func copyCSV(in, out string) error {
	fi, err := os.Open(in)
	if err != nil {
		return err
	}
	defer fi.Close()
	fo, err := os.Create(out)
	if err != nil {
		return err
	}
	defer fo.Close()
	r := csv.NewReader(bufio.NewReaderSize(fi, 1<<20))
	r.ReuseRecord = true
	bw := bufio.NewWriterSize(fo, 1<<20)
	w := csv.NewWriter(bw)
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return fo.Close()
}
