package pseudo

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// fakeRef is the reference for a fake-name cell: the subject's name if the
// subject is valid, else the column's own, else empty (null stays null).
func fakeRef(t *testing.T, f *Faker, subj string, kind Kind, v string, part NamePart) string {
	t.Helper()
	if v == "<null>" {
		return "<null>"
	}
	own, ok := kind.Canonical(v)
	if strings.TrimSpace(v) == "" || !ok {
		return ""
	}
	if subj != "<null>" {
		if c, _, err := canonicalNID(subj, false); err == nil {
			return f.Name(KindNID, c, part)
		}
	}
	return f.Name(kind, own, part)
}

// TestFakeNamesFromSubject checks fictitious names against the reference on
// tricky values (blank, Unicode white space, non-ASCII, null, invalid and
// withdrawn subjects), for every kind a fake-name column can have, with
// caches warm and cold.
func TestFakeNamesFromSubject(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	secret := []byte("0123456789abcdef0123456789abcdef")
	faker, _ := NewFaker(secret)
	a, b, w := synth(t, 1), synth(t, 2), synth(t, 3)
	values := []string{"Kari", " Kari ", "KARI", "Øystein", "Ola  Nordmann", "", "   ", "\u00a0", "\u2003x", "<null>",
		"kari@x.no", "+47 912 34 567", "abc", "\t", "ǅ", "Straße"}
	subjects := []string{a, b, "12345678901", "", "<null>", " " + a + " ", w}
	for _, kind := range []Kind{KindName, KindText} {
		rules := &Rules{Columns: []ColumnRule{
			{Column: "fnr", Action: ActionCode, Kind: KindNID, Subject: true, Invalid: InvalidNull},
			{Column: "given", Action: ActionFakeName, Kind: kind, Part: PartGiven},
			{Column: "full", Action: ActionFakeName, Kind: kind, Part: PartFull},
		}}
		var rows [][]string
		for rep := 0; rep < 2; rep++ { // the second time from the caches
			for _, s := range subjects {
				for _, v := range values {
					rows = append(rows, []string{s, v, v})
				}
			}
		}
		ln := newMemLinker()
		ln.withdrawn = map[string]bool{w: true}
		p, err := New(rules, Options{DomainSecret: secret, Linker: ln, Allocator: mem})
		require.NoError(t, err)
		rec := batch(mem, []string{"fnr", "given", "full"}, rows...)
		_, err = p.Bind(rec.Schema())
		require.NoError(t, err)
		out, err := p.Transform(rec)
		require.NoError(t, err)
		given, full := column(out, "given"), column(out, "full")
		k := 0
		var values, empty int64
		for _, r := range rows {
			if r[0] == w {
				continue // withdrawn: left out
			}
			subj := r[0]
			require.Equal(t, fakeRef(t, faker, subj, kind, r[1], PartGiven), given[k], "kind %s row %d", kind, k)
			require.Equal(t, fakeRef(t, faker, subj, kind, r[2], PartFull), full[k], "kind %s row %d", kind, k)
			if given[k] == "" || given[k] == "<null>" {
				empty++
			} else {
				values++
			}
			k++
		}
		require.Equal(t, k, len(given))
		sum := p.Summary()
		// Withdrawn rows are counted too (their subject is not valid, so
		// they get the column's own name before being left out).
		for _, r := range rows {
			if r[0] == w {
				if fakeRef(t, faker, "<null>", kind, r[1], PartGiven) == "" || r[1] == "<null>" {
					empty++
				} else {
					values++
				}
			}
		}
		require.Equal(t, values, sum.Columns[1].Values, "kind %s", kind)
		require.Equal(t, empty, sum.Columns[1].Empty, "kind %s", kind)
		out.Release()
		rec.Release()
	}
}
