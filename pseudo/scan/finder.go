package scan

import (
	"sync"

	"github.com/pseudokit/pseudokit/pseudo"
)

var matchPool = sync.Pool{New: func() any { s := make([]Match, 0, 16); return &s }}

// Finder is AppendFind in the form pseudo's redact action takes
// (pseudo.Options.Finder, pseudo.FileJob.Finder). It is safe for concurrent use.
func Finder(dst []pseudo.Span, text string) []pseudo.Span {
	mp := matchPool.Get().(*[]Match)
	ms := AppendFind((*mp)[:0], text)
	for _, m := range ms {
		dst = append(dst, pseudo.Span{Start: m.Start, End: m.End, Kind: string(m.Kind)})
	}
	*mp = ms[:0]
	matchPool.Put(mp)
	return dst
}
