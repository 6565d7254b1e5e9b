//go:build unix

package cputime

import (
	"crypto/sha256"
	"testing"
)

func TestProcessGrows(t *testing.T) {
	before := Process()
	if before <= 0 {
		t.Fatalf("Process() = %v before any work", before)
	}
	var sum [32]byte
	for Process()-before < 20e6 { // 20 ms of hashing
		for range 1000 {
			sum = sha256.Sum256(sum[:])
		}
	}
	if after := Process(); after < before {
		t.Fatalf("Process() went back: %v -> %v", before, after)
	}
}
