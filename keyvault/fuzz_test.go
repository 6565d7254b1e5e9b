package keyvault

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// fuzzSetup makes the open-time KDF bounds small while fuzzing, so that a
// mutated vault cannot make every iteration allocate gigabytes, and turns
// off fsync, which would otherwise dominate every iteration.
func fuzzSetup(tb testing.TB) {
	mem, tm, sync := maxKDFMemoryKiB, maxKDFTime, synchronous
	maxKDFMemoryKiB, maxKDFTime, synchronous = 1024, 4, "OFF"
	tb.Cleanup(func() { maxKDFMemoryKiB, maxKDFTime, synchronous = mem, tm, sync })
}

// sampleVault returns the bytes of a closed vault with a few links and log
// entries.
func sampleVault(tb testing.TB) []byte {
	path := filepath.Join(tb.TempDir(), "sample.vault")
	v, err := Create(path, CreateOptions{Project: "fuzz", Passphrase: testPass, Actor: "fuzzer"})
	if err != nil {
		tb.Fatal(err)
	}
	if err := v.AddDomain("survey", SchemeRandom); err != nil {
		tb.Fatal(err)
	}
	tx, err := v.Begin(tb.Context(), DefaultDomain)
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := tx.Link("nid", synthNID(i), testCode('K', i)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(Entry{Action: "pseudonymize", Purpose: "fuzz"}); err != nil {
		tb.Fatal(err)
	}
	v.Close()
	// Shrink the pages (the format does not depend on the page size) so
	// that the fuzzer works on a small input.
	db := rawDB(tb, path)
	mustExec(tb, db, `PRAGMA page_size = 512`)
	mustExec(tb, db, `VACUUM`)
	db.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// FuzzOpen feeds arbitrary bytes as a vault file to Open: it must never
// panic, and every error must be one of the typed vault errors.
func FuzzOpen(f *testing.F) {
	fuzzSetup(f)
	sample := sampleVault(f)
	check := filepath.Join(f.TempDir(), "check.vault")
	if err := os.WriteFile(check, sample, 0o600); err != nil {
		f.Fatal(err)
	}
	if v, err := Open(check, testPass, "fuzzer"); err != nil {
		f.Fatalf("the sample vault does not open: %v", err)
	} else {
		v.Close()
	}
	f.Add(sample)
	f.Add(sample[:len(sample)/2])
	wal := append([]byte(nil), sample...)
	wal[18], wal[19] = 2, 2 // claims WAL mode
	f.Add(wal)
	newer := append([]byte(nil), sample...)
	newer[63] = 9 // user_version 9
	f.Add(newer)
	f.Add([]byte{})
	f.Add([]byte("SQLite format 3\x00"))
	for _, old := range []string{"v1.0.vault", "v1.1.vault", "v3.0.vault"} { // the upgrades to formats 2 and 4
		b, err := os.ReadFile(filepath.Join("testdata", old))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "v")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		v, err := Open(path, testPass, "fuzzer")
		if err == nil {
			// A sound vault: it must also verify and describe itself.
			defer v.Close()
			if err := v.VerifyLog(); err != nil {
				t.Fatalf("opened, but VerifyLog: %v", err)
			}
			if _, err := v.Info(); err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("opened, but Info: %v", err)
			}
			return
		}
		for _, typed := range []error{ErrNotVault, ErrUnsupportedVersion, ErrCorrupt, ErrWrongPassphrase, ErrLogTampered} {
			if errors.Is(err, typed) {
				return
			}
		}
		t.Fatalf("untyped error: %v", err)
	})
}

var logFields = []string{"seq", "time", "os_user", "host", "actor", "action", "purpose", "details", "tool_version", "prev_hash", "hash"}

// FuzzLogTamper changes one byte of one field of one stored log entry and
// checks that the change is detected (by VerifyLog on the open vault and by
// Open).
func FuzzLogTamper(f *testing.F) {
	fuzzSetup(f)
	v, path := logVault(f)
	v.Close()
	template, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint8(0), uint8(0), uint16(0), uint8(1))
	f.Add(uint8(3), uint8(7), uint16(5), uint8(0x20))
	f.Add(uint8(5), uint8(10), uint16(31), uint8(0x80))
	f.Fuzz(func(t *testing.T, entry, field uint8, pos uint16, x uint8) {
		if x == 0 {
			x = 1
		}
		path := filepath.Join(t.TempDir(), "v")
		if err := os.WriteFile(path, template, 0o600); err != nil {
			t.Fatal(err)
		}
		v, err := Open(path, testPass, "fuzzer")
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		seq := int64(entry%6) + 1
		col := logFields[int(field)%len(logFields)]
		db := rawDB(t, path)
		if col == "seq" {
			ns := seq ^ int64(x)<<(8*(pos%8))
			if _, err := db.Exec(`UPDATE log SET seq = ? WHERE seq = ?`, ns, seq); err != nil {
				t.Skip("seq collides with another entry")
			}
		} else {
			var b []byte
			if err := db.QueryRow(fmt.Sprintf(`SELECT CAST(%s AS BLOB) FROM log WHERE seq = ?`, col), seq).Scan(&b); err != nil {
				t.Fatal(err)
			}
			if len(b) == 0 {
				t.Skip("empty field")
			}
			b[int(pos)%len(b)] ^= x
			var val any = string(b)
			if col == "prev_hash" || col == "hash" {
				val = b
			}
			mustExec(t, db, fmt.Sprintf(`UPDATE log SET %s = ? WHERE seq = ?`, col), val, seq)
		}
		db.Close()
		if err := v.VerifyLog(); !errors.Is(err, ErrLogTampered) {
			t.Fatalf("change of %s in entry %d not detected by VerifyLog: %v", col, seq, err)
		}
		v.Close()
		if _, err := Open(path, testPass, "fuzzer"); !errors.Is(err, ErrLogTampered) {
			t.Fatalf("change of %s in entry %d not detected by Open: %v", col, seq, err)
		}
	})
}

// TestWriteFuzzCorpus regenerates the checked-in seed corpus under
// testdata/fuzz when KEYVAULT_WRITE_CORPUS=1.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("KEYVAULT_WRITE_CORPUS") != "1" {
		t.Skip("set KEYVAULT_WRITE_CORPUS=1 to regenerate testdata/fuzz")
	}
	write := func(fuzzer, name, content string) {
		dir := filepath.Join("testdata", "fuzz", fuzzer)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte("go test fuzz v1\n"+content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bytesValue := func(b []byte) string { return fmt.Sprintf("[]byte(%q)\n", b) }
	sample := sampleVault(t)
	write("FuzzOpen", "vault", bytesValue(sample))
	hdr := append([]byte(nil), sample[:100]...)
	write("FuzzOpen", "vault-header-only", bytesValue(hdr))
	write("FuzzOpen", "not-sqlite", bytesValue([]byte("name,nid\nKari,24928599948\n")))
	for i, fld := range logFields {
		write("FuzzLogTamper", "field-"+fld, fmt.Sprintf("uint8(%d)\nuint8(%d)\nuint16(%d)\nuint8(%d)\n", i%6, i, i*7, 1<<(i%8)))
	}
}
