package anonymize

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// encoder turns the values of one column into dense codes 0, 1, 2, ... in
// order of first appearance. Values are compared by their text form, the one
// a CSV file would hold: a null is the empty string, numbers are formatted as
// strconv does, dates as 2006-01-02, so that a dataset gives the same classes
// whether it is read from CSV or Parquet.
type encoder struct {
	values []string          // code -> text
	byText map[string]uint32 // text -> code
	byInt  map[int64]uint32  // integer-like columns: value -> code
	dense  []uint32          // integers 0 <= v < len(dense): code+1 (0 = not yet seen)
	// dictionary cache: the remap of the last dictionary seen
	dictData arrow.ArrayData
	dictMap  []uint32
}

func newEncoder() *encoder {
	return &encoder{byText: make(map[string]uint32), byInt: make(map[int64]uint32)}
}

// text returns the code of s, adding it if new. s may point into an Arrow
// buffer: it is copied before it is kept.
func (e *encoder) text(s string) uint32 {
	if c, ok := e.byText[s]; ok {
		return c
	}
	s = strings.Clone(s)
	c := uint32(len(e.values))
	e.values = append(e.values, s)
	e.byText[s] = c
	return c
}

const denseLimit = 1 << 16

// integer returns the code of the integer v whose text form is fmt(v).
func (e *encoder) integer(v int64, format func(int64) string) uint32 {
	if v >= 0 && v < int64(len(e.dense)) {
		if c := e.dense[v]; c != 0 {
			return c - 1
		}
	}
	c, ok := e.byInt[v]
	if !ok {
		c = e.text(format(v))
		e.byInt[v] = c
	}
	if v >= 0 && v < denseLimit {
		if v >= int64(len(e.dense)) {
			n := max(int(v)+1, 2*len(e.dense), 64)
			e.dense = append(e.dense, make([]uint32, min(n, denseLimit)-len(e.dense))...)
		}
		e.dense[v] = c + 1
	}
	return c
}

func fmtInt(v int64) string    { return strconv.FormatInt(v, 10) }
func fmtUint(v int64) string   { return strconv.FormatUint(uint64(v), 10) }
func fmtDate32(v int64) string { return time.Unix(v*86400, 0).UTC().Format("2006-01-02") }
func fmtDate64(v int64) string {
	return time.UnixMilli(v).UTC().Format("2006-01-02")
}

// encode writes the code of each value of arr to out[:arr.Len()].
func (e *encoder) encode(arr arrow.Array, out []uint32) error {
	n := arr.Len()
	out = out[:n]
	nulls := arr.NullN() > 0
	var empty uint32
	if nulls {
		empty = e.text("")
	}
	switch a := arr.(type) {
	case *array.String:
		for i := range out {
			if nulls && a.IsNull(i) {
				out[i] = empty
				continue
			}
			out[i] = e.text(a.Value(i))
		}
	case *array.LargeString:
		for i := range out {
			if nulls && a.IsNull(i) {
				out[i] = empty
				continue
			}
			out[i] = e.text(a.Value(i))
		}
	case *array.Binary:
		for i := range out {
			if nulls && a.IsNull(i) {
				out[i] = empty
				continue
			}
			out[i] = e.text(a.ValueString(i))
		}
	case *array.Dictionary:
		return e.encodeDict(a, out, nulls, empty)
	case *array.Int64:
		encodeInts(e, a.Int64Values(), a, out, nulls, empty, fmtInt)
	case *array.Int32:
		encodeInts(e, a.Int32Values(), a, out, nulls, empty, fmtInt)
	case *array.Int16:
		encodeInts(e, a.Int16Values(), a, out, nulls, empty, fmtInt)
	case *array.Int8:
		encodeInts(e, a.Int8Values(), a, out, nulls, empty, fmtInt)
	case *array.Uint32:
		encodeInts(e, a.Uint32Values(), a, out, nulls, empty, fmtInt)
	case *array.Uint16:
		encodeInts(e, a.Uint16Values(), a, out, nulls, empty, fmtInt)
	case *array.Uint8:
		encodeInts(e, a.Uint8Values(), a, out, nulls, empty, fmtInt)
	case *array.Uint64:
		for i, v := range a.Uint64Values() {
			if nulls && a.IsNull(i) {
				out[i] = empty
				continue
			}
			out[i] = e.integer(int64(v), fmtUint) // the bits, formatted unsigned
		}
	case *array.Date32:
		vs := a.Date32Values()
		for i, v := range vs {
			if nulls && a.IsNull(i) {
				out[i] = empty
				continue
			}
			out[i] = e.integer(int64(v), fmtDate32)
		}
	case *array.Date64:
		vs := a.Date64Values()
		for i, v := range vs {
			if nulls && a.IsNull(i) {
				out[i] = empty
				continue
			}
			out[i] = e.integer(int64(v), fmtDate64)
		}
	case *array.Float64:
		for i, v := range a.Float64Values() {
			if nulls && a.IsNull(i) {
				out[i] = empty
				continue
			}
			out[i] = e.float(v)
		}
	case *array.Float32:
		for i, v := range a.Float32Values() {
			if nulls && a.IsNull(i) {
				out[i] = empty
				continue
			}
			out[i] = e.float(float64(v))
		}
	case *array.Boolean:
		for i := range out {
			if nulls && a.IsNull(i) {
				out[i] = empty
				continue
			}
			out[i] = e.text(strconv.FormatBool(a.Value(i)))
		}
	default:
		for i := range out {
			if a.IsNull(i) {
				out[i] = e.text("")
				continue
			}
			out[i] = e.text(a.ValueStr(i))
		}
	}
	return nil
}

// float codes a float by its bits (keyed in byInt, whose integer columns
// never share an encoder with float columns).
func (e *encoder) float(v float64) uint32 {
	if v == 0 {
		v = 0 // -0 and +0 print differently; treat them as one value
	}
	bits := int64(math.Float64bits(v))
	if c, ok := e.byInt[bits]; ok {
		return c
	}
	c := e.text(strconv.FormatFloat(v, 'g', -1, 64))
	e.byInt[bits] = c
	return c
}

type integer interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32
}

func encodeInts[T integer](e *encoder, vs []T, a arrow.Array, out []uint32, nulls bool, empty uint32, format func(int64) string) {
	for i, v := range vs {
		if nulls && a.IsNull(i) {
			out[i] = empty
			continue
		}
		x := int64(v)
		if x >= 0 && x < int64(len(e.dense)) {
			if c := e.dense[x]; c != 0 {
				out[i] = c - 1
				continue
			}
		}
		out[i] = e.integer(x, format)
	}
}

// encodeDict codes a dictionary array: its dictionary once (or not at all if
// it is the one of the previous batch), then each row by its index.
func (e *encoder) encodeDict(a *array.Dictionary, out []uint32, nulls bool, empty uint32) error {
	dict := a.Dictionary()
	if e.dictData != dict.Data() {
		m := make([]uint32, dict.Len())
		if err := e.encode(dict, m); err != nil {
			return err
		}
		e.dictData, e.dictMap = dict.Data(), m
	}
	m := e.dictMap
	switch idx := a.Indices().(type) {
	case *array.Int32:
		dictRows(idx.Int32Values(), m, a, out, nulls, empty)
	case *array.Int16:
		dictRows(idx.Int16Values(), m, a, out, nulls, empty)
	case *array.Int8:
		dictRows(idx.Int8Values(), m, a, out, nulls, empty)
	case *array.Int64:
		dictRows(idx.Int64Values(), m, a, out, nulls, empty)
	case *array.Uint32:
		dictRows(idx.Uint32Values(), m, a, out, nulls, empty)
	case *array.Uint16:
		dictRows(idx.Uint16Values(), m, a, out, nulls, empty)
	case *array.Uint8:
		dictRows(idx.Uint8Values(), m, a, out, nulls, empty)
	default:
		return fmt.Errorf("anonymize: dictionary index type %s not supported", a.Indices().DataType())
	}
	return nil
}

func dictRows[T integer | ~uint64](ix []T, m []uint32, a arrow.Array, out []uint32, nulls bool, empty uint32) {
	if !nulls {
		for i, v := range ix {
			out[i] = m[v]
		}
		return
	}
	for i, v := range ix {
		if a.IsNull(i) {
			out[i] = empty
			continue
		}
		out[i] = m[v]
	}
}
