package keyvault

import (
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testKDF makes vault creation and unlocking fast in tests (the documented
// DefaultKDF test hook).
var testKDF = KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

func TestMain(m *testing.M) {
	// The test binary doubles as an age plugin (run as age-plugin-pktest
	// through a symbolic link, see plugin_test.go) and as the child process
	// of the crash and concurrency tests (crash_test.go).
	if strings.HasPrefix(filepath.Base(os.Args[0]), "age-plugin-") {
		os.Exit(runTestPlugin())
	}
	DefaultKDF = testKDF
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	os.Exit(m.Run())
}

var testPass = []byte("correct horse battery staple")

func newVault(tb testing.TB) (*Vault, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "project.vault")
	v, err := Create(path, CreateOptions{Project: "Test project", Passphrase: testPass, Actor: "tester"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { v.Close() })
	return v, path
}

// synthNID returns a synthetic 11-digit identity-number-like string.
func synthNID(i int) string { return fmt.Sprintf("2492%07d", i) }

// testCode returns a code-like string (not a real checked code); codes are
// spread like real (MAC or random) codes.
func testCode(prefix byte, i int) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%d", i))
	return fmt.Sprintf("%c%X", prefix, h[:9])
}

// rawDB opens the vault file as a plain SQLite database, for tests that
// inspect or damage it behind the vault's back.
func rawDB(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	uri, err := fileURI(path)
	if err != nil {
		tb.Fatal(err)
	}
	db, err := sql.Open("sqlite", uri+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() { db.Close() })
	return db
}

func mustExec(tb testing.TB, db *sql.DB, q string, args ...any) {
	tb.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
}

func reopen(tb testing.TB, path string) *Vault {
	tb.Helper()
	v, err := Open(path, testPass, "tester")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { v.Close() })
	return v
}

// jsonNumber is how numbers in Entry.Details read back.
func jsonNumber(s string) json.Number { return json.Number(s) }

// rawLinks returns the links of a vault opened with rawDB, in id order.
func rawLinks(tb testing.TB, db *sql.DB) []linkRec {
	tb.Helper()
	var out []linkRec
	err := eachLink(tb.Context(), db, func(r *linkRec) error {
		c := *r
		c.idx = append([]byte(nil), r.idx...)
		c.sealed = append([]byte(nil), r.sealed...)
		if r.sealed == nil {
			c.sealed = nil
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// rawLink returns the link with code (in any domain) of a vault opened
// with rawDB.
func rawLink(tb testing.TB, db *sql.DB, code string) linkRec {
	tb.Helper()
	for _, r := range rawLinks(tb, db) {
		if r.code == code {
			return r
		}
	}
	tb.Fatalf("no link %s", code)
	return linkRec{}
}

// editLink changes the link with code (in any domain) behind the vault's
// back, writing its group anew exactly as the vault would.
func editLink(tb testing.TB, db *sql.DB, code string, change func(r *linkRec)) {
	tb.Helper()
	r := rawLink(tb, db, code)
	if err := updateLinks(tb.Context(), db, []int64{r.id}, change); err != nil {
		tb.Fatal(err)
	}
}

// assertCodes checks that Lookup finds synthNID(i) linked to
// testCode(prefix, i) in domain, for each i.
func assertCodes(t *testing.T, v *Vault, domain string, prefix byte, ids ...int) {
	t.Helper()
	for _, i := range ids {
		code, found, err := v.Lookup(domain, "nid", synthNID(i))
		if err != nil || !found || code != testCode(prefix, i) {
			t.Fatalf("person %d in %s: code %q, found %v, err %v; want %s", i, domain, code, found, err, testCode(prefix, i))
		}
	}
}
