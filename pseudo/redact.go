package pseudo

import (
	"errors"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// A Span is an identifier found inside free text: text[Start:End] is an
// identifier of the named kind ("nid" for a Norwegian identity number,
// otherwise e.g. "email", "phone", "name", "se-personnummer").
type Span struct {
	Start, End int
	Kind       string
}

// A TextFinder finds identifiers in text and appends their spans to dst,
// sorted and not overlapping. pseudo/scan.Finder is the one pseudokit
// ships; the redact action needs one.
type TextFinder func(dst []Span, text string) []Span

// errNoFinder is returned by Bind for redact rules without a TextFinder.
var errNoFinder = errors.New("action redact needs a TextFinder (Options.Finder, e.g. scan.Finder)")

// placeholder is what replaces an identifier of kind inside text.
func placeholder(kind string) string {
	return "[" + strings.ToUpper(kind) + "]"
}

// redactColumn replaces the identifiers inside each value of a text column.
// Identity numbers become the person's code (and are linked like coded
// values); everything else becomes a placeholder. The text around them is
// kept as it was.
func (w *Worker) redactColumn(ci int, a arrow.Array, n int, firstRow int64) (arrow.Array, error) {
	spec := &w.p.specs[ci]
	c := &w.cols[ci]
	b := array.NewStringBuilder(w.p.mem)
	defer b.Release()
	b.Reserve(n)
	var out strings.Builder
	for i := 0; i < n; i++ {
		if a.IsNull(i) {
			b.AppendNull()
			continue
		}
		v := valueAt(a, i)
		w.spans = w.p.opts.Finder(w.spans[:0], v)
		if len(w.spans) == 0 {
			b.Append(v)
			c.sum.Empty++ // nothing found: counted as "nothing replaced"
			continue
		}
		out.Reset()
		last := 0
		for _, sp := range w.spans {
			if sp.Start < last || sp.End > len(v) || sp.Start >= sp.End {
				return nil, &RowError{Row: firstRow + int64(i), Column: spec.rule.Column, Err: errors.New("the text finder returned an invalid span")}
			}
			out.WriteString(v[last:sp.Start])
			rep := placeholder(sp.Kind)
			if sp.Kind == string(KindNID) {
				canon, _, err := canonicalNID(v[sp.Start:sp.End], false)
				if err == nil {
					code, err := w.code(&colSpec{rule: ColumnRule{Column: spec.rule.Column, Action: ActionCode, Kind: KindNID}}, canon)
					switch {
					case errors.Is(err, ErrWithdrawn):
						w.drop[i] = true
					case err != nil:
						return nil, &RowError{Row: firstRow + int64(i), Column: spec.rule.Column, Err: err}
					default:
						rep = code
					}
				}
			}
			out.WriteString(rep)
			c.sum.Values++
			last = sp.End
		}
		out.WriteString(v[last:])
		b.Append(out.String())
	}
	return b.NewArray(), nil
}
