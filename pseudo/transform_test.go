package pseudo

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/pseudokit/pseudokit/pseudo/nid"
)

// memLinker is an in-memory Linker for tests.
type memLinker struct {
	links     map[string]string // kind+canonical -> code
	codes     map[string]bool
	taken     int             // Assign calls to refuse as taken, for the retry path
	withdrawn map[string]bool // canonical identifiers of withdrawn persons
}

func newMemLinker() *memLinker {
	return &memLinker{links: map[string]string{}, codes: map[string]bool{}}
}

func (m *memLinker) Link(kind, canonical, code string) error {
	if m.withdrawn[canonical] {
		return fmt.Errorf("x: %w", ErrWithdrawn)
	}
	k := kind + "\x00" + canonical
	if old, ok := m.links[k]; ok && old != code {
		return errors.New("conflict")
	}
	m.links[k] = code
	m.codes[code] = true
	return nil
}

func (m *memLinker) Assign(kind, canonical, candidate string) (string, error) {
	k := kind + "\x00" + canonical
	if c, ok := m.links[k]; ok {
		return c, nil
	}
	if m.taken > 0 {
		m.taken--
		return "", fmt.Errorf("wrapped: %w", ErrCodeTaken)
	}
	m.links[k] = candidate
	return candidate, nil
}

// synth returns the i-th valid synthetic (Test-Norge) identity number.
func synth(t testing.TB, i int) string {
	for ind := i * 7; ; ind++ {
		n, err := nid.Synthetic(mustDate(1950+i%50, 1+i%12, 1+i%28), ind%500, nid.FNR, true)
		if err == nil {
			return n.String()
		}
	}
}

// batch builds a record batch of string columns; "<null>" is a null.
func batch(mem memory.Allocator, names []string, rows ...[]string) arrow.RecordBatch {
	fields := make([]arrow.Field, len(names))
	for i, n := range names {
		fields[i] = arrow.Field{Name: n, Type: arrow.BinaryTypes.String, Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for _, r := range rows {
		for i, v := range r {
			sb := b.Field(i).(*array.StringBuilder)
			if v == "<null>" {
				sb.AppendNull()
			} else {
				sb.Append(v)
			}
		}
	}
	return b.NewRecordBatch()
}

// strings of a string column, nulls as "<null>".
func column(rec arrow.RecordBatch, name string) []string {
	idx := rec.Schema().FieldIndices(name)
	if len(idx) == 0 {
		return nil
	}
	a := rec.Column(idx[0]).(*array.String)
	out := make([]string, a.Len())
	for i := range out {
		if a.IsNull(i) {
			out[i] = "<null>"
		} else {
			out[i] = a.Value(i)
		}
	}
	return out
}

func TestTransform(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	a, b := synth(t, 1), synth(t, 2)
	bad := a[:10] + string('0'+(a[10]-'0'+1)%10)
	rules := &Rules{Invalid: InvalidFlag, Columns: []ColumnRule{
		{Column: "fnr", Action: ActionCode, Kind: KindNID, Subject: true},
		{Column: "fornavn", Action: ActionFakeName, Part: PartGiven},
		{Column: "epost", Action: ActionCode, Kind: KindEmail},
		{Column: "notat", Action: ActionDrop},
		{Column: "alder", Action: ActionKeep},
	}}
	link := newMemLinker()
	p, err := New(rules, Options{DomainSecret: testSecret(), Linker: link, Allocator: mem})
	require.NoError(t, err)
	in := batch(mem, []string{"fnr", "fornavn", "epost", "notat", "alder", "by"},
		[]string{a, "Kari", "Kari@X.no", "ring " + a, "41", "Oslo"},
		[]string{b, "Ola", "", "x", "<null>", "Bergen"},
		[]string{a[:6] + " " + a[6:], "KARI ", "kari@x.NO", "", "41", "Oslo"},
		[]string{bad, "Per", "<null>", "", "50", "Molde"},
		[]string{"", "<null>", " ", "", "", ""},
	)
	defer in.Release()
	schema, err := p.Bind(in.Schema())
	require.NoError(t, err)
	names := []string{}
	for _, f := range schema.Fields() {
		names = append(names, f.Name)
	}
	require.Equal(t, []string{"fnr", "fnr_invalid", "fornavn", "epost", "alder", "by"}, names)

	out, err := p.Transform(in)
	require.NoError(t, err)
	defer out.Release()

	c, _ := NewCoder(testSecret())
	f, _ := NewFaker(testSecret())
	codeA, codeB := c.Code(KindNID, a), c.Code(KindNID, b)
	require.Equal(t, []string{codeA, codeB, codeA, "<null>", ""}, column(out, "fnr"))
	require.Equal(t, []string{"<null>", "<null>", "<null>", "checksum", "<null>"}, column(out, "fnr_invalid"))
	// Fake names follow the subject: rows 1 and 3 are one person.
	require.Equal(t, []string{f.Name(KindNID, a, PartGiven), f.Name(KindNID, b, PartGiven), f.Name(KindNID, a, PartGiven),
		f.Name(KindName, "per", PartGiven), "<null>"}, column(out, "fornavn"))
	ce := c.Code(KindEmail, "kari@x.no")
	require.Equal(t, []string{ce, "", ce, "<null>", ""}, column(out, "epost"))
	require.Equal(t, []string{"41", "<null>", "41", "50", ""}, column(out, "alder"))
	require.Equal(t, []string{"Oslo", "Bergen", "Oslo", "Molde", ""}, column(out, "by"))

	// Links: two persons and one e-mail, nothing for the invalid number.
	require.Len(t, link.links, 3)
	require.Equal(t, codeA, link.links["nid\x00"+a])

	s := p.Summary()
	require.Equal(t, int64(5), s.Rows)
	require.Equal(t, []string{"by"}, s.Unmentioned)
	require.Equal(t, ColumnSummary{Column: "fnr", Action: ActionCode, Kind: KindNID, Values: 3, Empty: 1, Invalid: map[string]int64{"checksum": 1}}, s.Columns[0])
	require.Equal(t, int64(4), s.Columns[1].Values)

	// No identifier anywhere in the output.
	for _, col := range out.Columns() {
		for i := 0; i < col.Len(); i++ {
			require.NotContains(t, col.ValueStr(i), a[:6])
			require.NotContains(t, col.ValueStr(i), "Kari")
		}
	}
}

func TestTransformInvalidError(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	a := synth(t, 3)
	p, err := New(&Rules{Columns: []ColumnRule{{Column: "fnr", Action: ActionCode, Kind: KindNID}}},
		Options{DomainSecret: testSecret(), Allocator: mem})
	require.NoError(t, err)
	b1 := batch(mem, []string{"fnr"}, []string{a}, []string{a})
	defer b1.Release()
	b2 := batch(mem, []string{"fnr"}, []string{a}, []string{a[1:]})
	defer b2.Release()
	_, err = p.Bind(b1.Schema())
	require.NoError(t, err)
	o, err := p.Transform(b1)
	require.NoError(t, err)
	o.Release()
	_, err = p.Transform(b2)
	var re *RowError
	require.ErrorAs(t, err, &re)
	require.Equal(t, int64(4), re.Row) // rows count across batches
	require.Equal(t, "fnr", re.Column)
	require.ErrorIs(t, err, nid.ErrLeadingZero)
	require.NotContains(t, err.Error(), a[1:7])
}

func TestTransformRestoreLeadingZeroAndIntegers(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var a string
	for i := 0; ; i++ { // a number that starts with 0
		if a = synth(t, i); a[0] == '0' {
			break
		}
	}
	schema := arrow.NewSchema([]arrow.Field{{Name: "fnr", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	bld := array.NewRecordBuilder(mem, schema)
	n, err := strconv.ParseInt(a, 10, 64) // as Excel stores it: an integer, the zero gone
	require.NoError(t, err)
	bld.Field(0).(*array.Int64Builder).AppendValues([]int64{n}, nil)
	bld.Field(0).(*array.Int64Builder).AppendNull()
	rec := bld.NewRecordBatch()
	bld.Release()
	defer rec.Release()

	strict, _ := New(&Rules{Columns: []ColumnRule{{Column: "fnr", Action: ActionCode, Kind: KindNID}}}, Options{DomainSecret: testSecret(), Allocator: mem})
	_, err = strict.Bind(schema)
	require.NoError(t, err)
	_, err = strict.Transform(rec)
	require.ErrorIs(t, err, nid.ErrLeadingZero)

	p, _ := New(&Rules{Columns: []ColumnRule{{Column: "fnr", Action: ActionCode, Kind: KindNID, RestoreLeadingZero: true}}}, Options{DomainSecret: testSecret(), Allocator: mem})
	out, err := p.Bind(schema)
	require.NoError(t, err)
	require.Equal(t, arrow.BinaryTypes.String, out.Field(0).Type)
	res, err := p.Transform(rec)
	require.NoError(t, err)
	defer res.Release()
	c, _ := NewCoder(testSecret())
	require.Equal(t, []string{c.Code(KindNID, a), "<null>"}, column(res, "fnr"))
	require.Equal(t, int64(1), p.Summary().Columns[0].RestoredZeros)
}

func TestBindErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := batch(mem, []string{"fnr", "fnr_invalid"}, []string{"x", "y"})
	defer rec.Release()
	tests := []struct {
		rules *Rules
		err   string
	}{
		{&Rules{Columns: []ColumnRule{{Column: "nope", Action: ActionDrop}}}, `rule for column "nope": column not in the input`},
		{&Rules{Invalid: InvalidFlag, Columns: []ColumnRule{{Column: "fnr", Action: ActionCode, Kind: KindNID}}}, `cannot add flag column "fnr_invalid"`},
	}
	for _, tt := range tests {
		p, err := New(tt.rules, Options{DomainSecret: testSecret()})
		require.NoError(t, err)
		_, err = p.Bind(rec.Schema())
		require.ErrorContains(t, err, tt.err)
	}
	f64 := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Float64}}, nil)
	p, _ := New(&Rules{Columns: []ColumnRule{{Column: "x", Action: ActionCode, Kind: KindText}}}, Options{DomainSecret: testSecret()})
	_, err := p.Bind(f64)
	require.ErrorContains(t, err, "cannot hold identifiers")
}

func TestRandomCodes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	a, b := synth(t, 5), synth(t, 6)
	link := newMemLinker()
	link.taken = 2 // the first two candidates collide: Assign is retried
	p, err := New(&Rules{Columns: []ColumnRule{{Column: "fnr", Action: ActionCode, Kind: KindNID}}},
		Options{DomainSecret: testSecret(), Random: true, Linker: link, Allocator: mem})
	require.NoError(t, err)
	rec := batch(mem, []string{"fnr"}, []string{a}, []string{b}, []string{a})
	defer rec.Release()
	_, err = p.Bind(rec.Schema())
	require.NoError(t, err)
	out, err := p.Transform(rec)
	require.NoError(t, err)
	defer out.Release()
	got := column(out, "fnr")
	require.Equal(t, got[0], got[2])
	require.NotEqual(t, got[0], got[1])
	for _, code := range got {
		require.True(t, strings.HasPrefix(code, "R"))
		_, err := ParseCode(code)
		require.NoError(t, err)
	}
	_, err = New(&Rules{}, Options{DomainSecret: testSecret(), Random: true})
	require.ErrorContains(t, err, "need a Linker")
}

func mustDate(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }

func TestTransformDropsWithdrawn(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	a, b := synth(t, 8), synth(t, 9)
	link := newMemLinker()
	link.withdrawn = map[string]bool{b: true}
	p, err := New(&Rules{Columns: []ColumnRule{{Column: "fnr", Action: ActionCode, Kind: KindNID}}},
		Options{DomainSecret: testSecret(), Linker: link, Allocator: mem})
	require.NoError(t, err)
	rec := batch(mem, []string{"fnr", "x"}, []string{a, "1"}, []string{b, "2"}, []string{a, "3"}, []string{b, "4"})
	defer rec.Release()
	_, err = p.Bind(rec.Schema())
	require.NoError(t, err)
	out, err := p.Transform(rec)
	require.NoError(t, err)
	defer out.Release()
	c, _ := NewCoder(testSecret())
	require.Equal(t, []string{c.Code(KindNID, a), c.Code(KindNID, a)}, column(out, "fnr"))
	require.Equal(t, []string{"1", "3"}, column(out, "x"))
	require.Equal(t, int64(2), p.Summary().WithdrawnRows)
}

// digitsFinder is a test TextFinder: 11-digit runs are "nid", words with
// an @ are "email".
func digitsFinder(dst []Span, text string) []Span {
	for i := 0; i < len(text); {
		j := i
		for j < len(text) && text[j] != ' ' {
			j++
		}
		w := text[i:j]
		switch {
		case len(w) == 11 && strings.Trim(w, "0123456789") == "":
			dst = append(dst, Span{Start: i, End: j, Kind: "nid"})
		case strings.Contains(w, "@"):
			dst = append(dst, Span{Start: i, End: j, Kind: "email"})
		}
		i = j + 1
	}
	return dst
}

func TestRedact(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	a := synth(t, 12)
	rules := &Rules{Columns: []ColumnRule{{Column: "notat", Action: ActionRedact}}}
	rec := batch(mem, []string{"notat"}, []string{"ring " + a + " eller kari@x.no i dag"}, []string{"ingenting her"}, []string{"<null>"})
	defer rec.Release()

	p, err := New(rules, Options{DomainSecret: testSecret(), Allocator: mem})
	require.NoError(t, err)
	_, err = p.Bind(rec.Schema())
	require.ErrorContains(t, err, "needs a TextFinder")

	link := newMemLinker()
	p, err = New(rules, Options{DomainSecret: testSecret(), Allocator: mem, Linker: link, Finder: digitsFinder})
	require.NoError(t, err)
	_, err = p.Bind(rec.Schema())
	require.NoError(t, err)
	out, err := p.Transform(rec)
	require.NoError(t, err)
	defer out.Release()
	c, _ := NewCoder(testSecret())
	require.Equal(t, []string{"ring " + c.Code(KindNID, a) + " eller [EMAIL] i dag", "ingenting her", "<null>"}, column(out, "notat"))
	require.Equal(t, c.Code(KindNID, a), link.links["nid\x00"+a], "the number in the text is linked like a coded value")
	require.Equal(t, int64(2), p.Summary().Columns[0].Values)
}
