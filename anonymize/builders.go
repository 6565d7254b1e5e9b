package anonymize

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// A Builder makes a hierarchy for the values an attribute takes in a
// dataset. Builders are deterministic: the same values give the same
// hierarchy. The domain of a built hierarchy is the set of values it was
// built for.
type Builder interface {
	// Build returns a hierarchy listing every one of values.
	Build(values []string) (*Hierarchy, error)
	// String describes the builder, for errors and the run summary.
	String() string
}

// build makes a hierarchy from gen, which returns the levels above 0 of a
// value (without the top "*", which build adds).
func build(name string, values []string, gen func(v string) ([]string, error)) (*Hierarchy, error) {
	vs := append([]string(nil), values...)
	sort.Strings(vs)
	rows := make([][]string, 0, len(vs))
	for i, v := range vs {
		if i > 0 && vs[i-1] == v {
			continue
		}
		up, err := gen(v)
		if err != nil {
			return nil, &HierarchyError{Name: name, Msg: err.Error()}
		}
		row := make([]string, 0, len(up)+2)
		row = append(row, v)
		row = append(row, up...)
		rows = append(rows, append(row, "*"))
	}
	if len(rows) == 0 {
		return nil, &HierarchyError{Name: name, Msg: "no values to build a hierarchy for"}
	}
	// lines = 0: errors name the builder, not a line.
	h, err := NewHierarchy(name, rows, make([]int, len(rows)))
	if err != nil {
		return nil, err
	}
	return h, nil
}

// Intervals builds hierarchies for numbers: bands of growing width (for
// example age in 5-, 10- and 20-year bands), with optional bottom and top
// coding, then "*". Bands start at Origin plus a multiple of their width.
// Integer data get labels such as "20-24" (both ends included, as in ARX's
// hierarchies); other numbers "[20,25)". A value below Bottom is coded
// "<Bottom" and one at or above Top ">=Top" on every level above 0, and
// bands are clipped to [Bottom, Top). The empty value (missing) stays empty
// up to the top level.
type Intervals struct {
	// Widths are the band widths, level by level; each must be a positive
	// multiple of the one before, so that every band lies inside one band
	// of the next level.
	Widths []float64
	// Origin is where bands start (default 0).
	Origin float64
	// Bottom, if not nil, is the bottom-coding limit.
	Bottom *float64
	// Top, if not nil, is the top-coding limit.
	Top *float64
}

// String describes the builder, e.g. "intervals 5,10,20 top 90".
func (b Intervals) String() string {
	var ws []string
	for _, w := range b.Widths {
		ws = append(ws, fmtNum(w))
	}
	s := "intervals " + strings.Join(ws, ",")
	if b.Origin != 0 {
		s += " from " + fmtNum(b.Origin)
	}
	if b.Bottom != nil {
		s += " bottom " + fmtNum(*b.Bottom)
	}
	if b.Top != nil {
		s += " top " + fmtNum(*b.Top)
	}
	return s
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// Build implements Builder.
func (b Intervals) Build(values []string) (*Hierarchy, error) {
	name := b.String()
	if len(b.Widths) == 0 && b.Bottom == nil && b.Top == nil {
		return nil, &HierarchyError{Name: name, Msg: "no widths and no top or bottom coding"}
	}
	for i, w := range b.Widths {
		if !(w > 0) || math.IsInf(w, 0) {
			return nil, &HierarchyError{Name: name, Msg: fmt.Sprintf("width %s is not a positive number", fmtNum(w))}
		}
		if i > 0 {
			r := w / b.Widths[i-1]
			if r < 1 || math.Abs(r-math.Round(r)) > 1e-9 {
				return nil, &HierarchyError{Name: name, Msg: fmt.Sprintf("width %s is not a multiple of the width %s below it (bands would straddle)", fmtNum(w), fmtNum(b.Widths[i-1]))}
			}
		}
	}
	if b.Bottom != nil && b.Top != nil && *b.Bottom >= *b.Top {
		return nil, &HierarchyError{Name: name, Msg: "bottom is not below top"}
	}
	integral := isInt(b.Origin) && (b.Bottom == nil || isInt(*b.Bottom)) && (b.Top == nil || isInt(*b.Top))
	for _, w := range b.Widths {
		integral = integral && isInt(w)
	}
	nums := make(map[string]float64, len(values))
	for _, v := range values {
		if v == "" {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, &HierarchyError{Name: name, Msg: fmt.Sprintf("value %q is not a number", v)}
		}
		nums[v] = f
		integral = integral && isInt(f)
	}
	levels := len(b.Widths)
	if levels == 0 {
		levels = 1 // just top/bottom coding
	}
	return build(name, values, func(v string) ([]string, error) {
		out := make([]string, levels)
		if v == "" {
			return out, nil
		}
		f := nums[v]
		for l := range levels {
			switch {
			case b.Bottom != nil && f < *b.Bottom:
				out[l] = "<" + fmtNum(*b.Bottom)
			case b.Top != nil && f >= *b.Top:
				out[l] = ">=" + fmtNum(*b.Top)
			case len(b.Widths) == 0:
				out[l] = v
			default:
				w := b.Widths[l]
				lo := b.Origin + math.Floor((f-b.Origin)/w)*w
				hi := lo + w
				if b.Bottom != nil && lo < *b.Bottom {
					lo = *b.Bottom
				}
				if b.Top != nil && hi > *b.Top {
					hi = *b.Top
				}
				if integral {
					out[l] = fmtNum(lo) + "-" + fmtNum(hi-1)
				} else {
					out[l] = "[" + fmtNum(lo) + "," + fmtNum(hi) + ")"
				}
			}
		}
		return out, nil
	})
}

func isInt(f float64) bool { return f == math.Trunc(f) && math.Abs(f) < 1<<53 }

// DateLevel is a level of a date hierarchy.
type DateLevel string

// The date levels, finest first.
const (
	Day     DateLevel = "day"     // 2024-03-15 (drops a time of day)
	Month   DateLevel = "month"   // 2024-03
	Quarter DateLevel = "quarter" // 2024-Q1
	Year    DateLevel = "year"    // 2024
	Decade  DateLevel = "decade"  // 2020-2029
)

var dateRank = map[DateLevel]int{Day: 0, Month: 1, Quarter: 2, Year: 3, Decade: 4}

// Dates builds hierarchies for dates: the levels given (finest first, each
// coarser than the one before), then "*". Values are parsed with Layout, or
// if it is empty with the first that fits of 2006-01-02, RFC 3339,
// "2006-01-02 15:04:05" and 02.01.2006. The empty value stays empty up to
// the top level.
type Dates struct {
	// Levels are the levels above the original value, finest first.
	Levels []DateLevel
	// Layout is a Go time layout (optional).
	Layout string
}

// String describes the builder, e.g. "dates month,year".
func (b Dates) String() string {
	var ls []string
	for _, l := range b.Levels {
		ls = append(ls, string(l))
	}
	return "dates " + strings.Join(ls, ",")
}

var dateLayouts = []string{"2006-01-02", time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "02.01.2006"}

// Build implements Builder.
func (b Dates) Build(values []string) (*Hierarchy, error) {
	name := b.String()
	if len(b.Levels) == 0 {
		return nil, &HierarchyError{Name: name, Msg: "no levels (want some of day, month, quarter, year, decade)"}
	}
	for i, l := range b.Levels {
		r, ok := dateRank[l]
		if !ok {
			return nil, &HierarchyError{Name: name, Msg: fmt.Sprintf("unknown level %q (want day, month, quarter, year or decade)", l)}
		}
		if i > 0 && r <= dateRank[b.Levels[i-1]] {
			return nil, &HierarchyError{Name: name, Msg: fmt.Sprintf("level %s is not coarser than %s before it", l, b.Levels[i-1])}
		}
	}
	layouts := dateLayouts
	if b.Layout != "" {
		layouts = []string{b.Layout}
	}
	return build(name, values, func(v string) ([]string, error) {
		out := make([]string, len(b.Levels))
		if v == "" {
			return out, nil
		}
		var t time.Time
		var err error
		for _, layout := range layouts {
			if t, err = time.Parse(layout, strings.TrimSpace(v)); err == nil {
				break
			}
		}
		if err != nil {
			return nil, fmt.Errorf("value %q is not a date (layout %s)", v, strings.Join(layouts, " or "))
		}
		for i, l := range b.Levels {
			switch l {
			case Day:
				out[i] = t.Format("2006-01-02")
			case Month:
				out[i] = t.Format("2006-01")
			case Quarter:
				out[i] = fmt.Sprintf("%04d-Q%d", t.Year(), (int(t.Month())+2)/3)
			case Year:
				out[i] = fmt.Sprintf("%04d", t.Year())
			case Decade:
				d := t.Year() - ((t.Year()%10)+10)%10
				out[i] = fmt.Sprintf("%04d-%04d", d, d+9)
			}
		}
		return out, nil
	})
}

// Mask builds hierarchies by masking characters from the right: on level i,
// the last Chars[i-1] characters are replaced by '*' (a value shorter than
// that is masked completely); then "*". With no Chars it masks one more
// character per level, up to all but the first character of the longest
// value. The empty value stays empty up to the top level.
type Mask struct {
	// Chars is the number of characters masked on each level, increasing.
	Chars []int
}

// String describes the builder, e.g. "mask 1,2,3".
func (b Mask) String() string {
	var cs []string
	for _, c := range b.Chars {
		cs = append(cs, strconv.Itoa(c))
	}
	if len(cs) == 0 {
		return "mask"
	}
	return "mask " + strings.Join(cs, ",")
}

// Build implements Builder.
func (b Mask) Build(values []string) (*Hierarchy, error) {
	chars := b.Chars
	if len(chars) == 0 {
		longest := 0
		for _, v := range values {
			longest = max(longest, utf8.RuneCountInString(v))
		}
		for c := 1; c < longest; c++ {
			chars = append(chars, c)
		}
	}
	for i, c := range chars {
		if c < 1 || (i > 0 && c <= chars[i-1]) {
			return nil, &HierarchyError{Name: b.String(), Msg: "character counts must be positive and increasing"}
		}
	}
	return build(b.String(), values, func(v string) ([]string, error) {
		return maskLevels(v, chars), nil
	})
}

func maskLevels(v string, chars []int) []string {
	out := make([]string, len(chars))
	if v == "" {
		return out
	}
	rs := []rune(v)
	for i, c := range chars {
		keep := max(len(rs)-c, 0)
		out[i] = string(rs[:keep]) + strings.Repeat("*", len(rs)-keep)
	}
	return out
}

// Postcodes builds hierarchies for Norwegian postcodes (four digits): on
// each level only the first Digits[i] digits are kept ("0351" -> "035*" ->
// "03**" -> "0***"), then "*". The default is 3, 2, 1. A value that is not
// four digits is an error (a three-digit value usually lost its leading
// zero in a spreadsheet). The empty value stays empty up to the top level.
type Postcodes struct {
	// Digits are the numbers of leading digits kept, decreasing.
	Digits []int
}

// String describes the builder, e.g. "postcode 3,2,1".
func (b Postcodes) String() string {
	ds := b.digits()
	var s []string
	for _, d := range ds {
		s = append(s, strconv.Itoa(d))
	}
	return "postcode " + strings.Join(s, ",")
}

func (b Postcodes) digits() []int {
	if len(b.Digits) == 0 {
		return []int{3, 2, 1}
	}
	return b.Digits
}

// Build implements Builder.
func (b Postcodes) Build(values []string) (*Hierarchy, error) {
	ds := b.digits()
	chars := make([]int, len(ds))
	for i, d := range ds {
		if d < 0 || d > 3 || (i > 0 && d >= ds[i-1]) {
			return nil, &HierarchyError{Name: b.String(), Msg: "digits kept must be decreasing numbers from 3 to 0"}
		}
		chars[i] = 4 - d
	}
	return build(b.String(), values, func(v string) ([]string, error) {
		if v == "" {
			return make([]string, len(chars)), nil
		}
		if len(v) != 4 || strings.Trim(v, "0123456789") != "" {
			hint := ""
			if len(v) == 3 && strings.Trim(v, "0123456789") == "" {
				hint = " (did a spreadsheet drop a leading zero?)"
			}
			return nil, fmt.Errorf("value %q is not a four-digit postcode%s", v, hint)
		}
		return maskLevels(v, chars), nil
	})
}
