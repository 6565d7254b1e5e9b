package anonymize

import (
	"bytes"
	"testing"
)

// FuzzReadHierarchy feeds arbitrary bytes to the hierarchy parser: it must
// not panic, and a hierarchy it accepts must have the properties it
// promises and survive a write and re-read unchanged.
func FuzzReadHierarchy(f *testing.F) {
	for _, s := range []string{
		"Male;*\nFemale;*\n",
		"1;0-4;0-9;*\r\n2;0-4;0-9;*\r\n",
		"\ufeff\"a;b\";x;*\nc;x;*",
		"a;x;p;*\nb;x;q;*\n",
		"a;*\na;*\n",
		"a\n\n\nb\n",
		";;\n;;\n",
		"\"\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ReadHierarchy(bytes.NewReader(data), "fuzz.csv")
		if err != nil {
			if h != nil {
				t.Fatal("hierarchy and error")
			}
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		levels := h.Levels()
		seen := map[string]bool{}
		up := map[[2]string]string{} // (level, label) -> label above
		for _, row := range h.rows {
			if len(row) != levels {
				t.Fatalf("ragged row %q", row)
			}
			if seen[row[0]] {
				t.Fatalf("duplicate value %q", row[0])
			}
			seen[row[0]] = true
			for l := 1; l+1 < levels; l++ {
				k := [2]string{string(rune('0' + l)), row[l]}
				if prev, ok := up[k]; ok && prev != row[l+1] {
					t.Fatalf("level %d not a function", l+1)
				}
				up[k] = row[l+1]
			}
			if g, ok := h.Generalize(row[0], levels-1); !ok || g != row[levels-1] {
				t.Fatal("Generalize disagrees with the row")
			}
		}
		var buf bytes.Buffer
		if _, err := h.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		h2, err := ReadHierarchy(&buf, "again")
		if err != nil {
			t.Fatalf("written hierarchy does not read back: %v\n%q", err, buf.String())
		}
		if len(h2.rows) != len(h.rows) {
			t.Fatalf("%d rows after round trip, want %d", len(h2.rows), len(h.rows))
		}
		for i := range h.rows {
			for l := range h.rows[i] {
				if h.rows[i][l] != h2.rows[i][l] {
					t.Fatalf("row %d changed in round trip: %q -> %q", i, h.rows[i], h2.rows[i])
				}
			}
		}
	})
}
