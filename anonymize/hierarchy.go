package anonymize

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pseudokit/pseudokit/internal/csvio"
)

// A Hierarchy is a generalisation hierarchy for one attribute: for every
// original value (level 0) its generalisation on each higher level, up to
// the most general level (usually "*"). Level i+1 of a value is a function of
// its level i: two values that agree on level i agree on every level above.
//
// This is the model of ARX's value-based hierarchies; [ReadHierarchy] reads
// ARX's CSV form (one line per value: value;level1;level2;...;*).
type Hierarchy struct {
	name  string
	rows  [][]string     // rows[r][l]: value r on level l
	lines []int          // source line of row r (0 when built)
	index map[string]int // level-0 value -> row
}

// A HierarchyError reports an invalid hierarchy: the file (or builder) and,
// when it concerns one line, the 1-based line number.
type HierarchyError struct {
	// Name is the hierarchy file or the builder's description.
	Name string
	// Line is the 1-based line of the problem (0 if it concerns the whole hierarchy).
	Line int
	// Msg says what is wrong.
	Msg string
}

// Error implements error.
func (e *HierarchyError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("hierarchy %s: line %d: %s", e.Name, e.Line, e.Msg)
	}
	return fmt.Sprintf("hierarchy %s: %s", e.Name, e.Msg)
}

// ErrNotCovered is wrapped by the errors that report a data value a
// hierarchy does not list (see [Hierarchy.Check]).
var ErrNotCovered = errors.New("value not covered by the hierarchy")

// NewHierarchy makes a hierarchy from rows (one per original value: the
// value, then its generalisations level by level) and checks it: every row
// has the same number of levels (at least one), no value is listed twice, and
// each level is a function of the level below. lines, if not nil, gives the
// source line of each row for errors. name names the hierarchy in errors.
func NewHierarchy(name string, rows [][]string, lines []int) (*Hierarchy, error) {
	h := &Hierarchy{name: name, rows: rows, lines: lines, index: make(map[string]int, len(rows))}
	if len(rows) == 0 {
		return nil, &HierarchyError{Name: name, Msg: "no values"}
	}
	if lines != nil && len(lines) != len(rows) {
		return nil, fmt.Errorf("anonymize: NewHierarchy: %d lines for %d rows", len(lines), len(rows))
	}
	levels := len(rows[0])
	if levels == 0 {
		return nil, &HierarchyError{Name: name, Line: h.line(0), Msg: "empty line"}
	}
	for r, row := range rows {
		if len(row) != levels {
			return nil, &HierarchyError{Name: name, Line: h.line(r),
				Msg: fmt.Sprintf("%d levels, but the first line has %d (every line needs the value and the same number of generalisations)", len(row), levels)}
		}
		if prev, ok := h.index[row[0]]; ok {
			return nil, &HierarchyError{Name: name, Line: h.line(r), Msg: fmt.Sprintf("value %q listed twice (first on line %d)", row[0], h.line(prev))}
		}
		h.index[row[0]] = r
	}
	// Level l+1 must be a function of level l.
	for l := 1; l+1 < levels; l++ {
		up := make(map[string]int, 16) // label on level l -> first row
		for r, row := range rows {
			first, ok := up[row[l]]
			if !ok {
				up[row[l]] = r
				continue
			}
			if rows[first][l+1] != row[l+1] {
				return nil, &HierarchyError{Name: name, Line: h.line(r), Msg: fmt.Sprintf(
					"inconsistent levels: %q on level %d generalises to %q on level %d here, but to %q on line %d",
					row[l], l, row[l+1], l+1, rows[first][l+1], h.line(first))}
			}
		}
	}
	return h, nil
}

func (h *Hierarchy) line(r int) int {
	if h.lines == nil {
		return r + 1
	}
	return h.lines[r]
}

// ReadHierarchy reads a hierarchy in ARX's CSV format: one line per original
// value, fields separated by ';', the value first and then its
// generalisations from the least to the most general level, for example
//
//	39;35-39;30-39;20-39;*
//
// Quoted fields, a UTF-8 BOM and CRLF line endings are accepted. name names
// the input in errors (usually the file name).
func ReadHierarchy(r io.Reader, name string) (*Hierarchy, error) {
	cr := csvio.NewReader(bufio.NewReader(r))
	cr.File = name
	cr.Comma = ';'
	cr.FieldsPerRecord = -1 // NewHierarchy reports ragged lines with a better message
	var rows [][]string
	var lines []int
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csvio.ParseError
			if errors.As(err, &pe) {
				if errors.Is(err, csvio.ErrEmpty) {
					return nil, &HierarchyError{Name: name, Msg: "empty file"}
				}
				return nil, &HierarchyError{Name: name, Line: pe.Line, Msg: pe.Err.Error()}
			}
			return nil, fmt.Errorf("hierarchy %s: %w", name, err)
		}
		if len(rec.Fields) == 1 && len(rec.Fields[0]) == 0 && len(bytes.TrimRight(rec.Raw, "\r\n")) == 0 {
			continue // blank line
		}
		rows = append(rows, rec.Strings())
		lines = append(lines, rec.Line)
	}
	return NewHierarchy(name, rows, lines)
}

// LoadHierarchy reads the ARX-format hierarchy file path (see [ReadHierarchy]).
func LoadHierarchy(path string) (*Hierarchy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadHierarchy(f, path)
}

// LoadGroups reads a categorical grouping: a file in the hierarchy format
// (value;group;supergroup;...) whose top level "*" may be left out; it is
// added when the last level is not "*" on every line.
func LoadGroups(path string) (*Hierarchy, error) {
	h, err := LoadHierarchy(path)
	if err != nil {
		return nil, err
	}
	top := h.Levels() - 1
	for _, row := range h.rows {
		if top == 0 || row[top] != "*" {
			for i := range h.rows {
				h.rows[i] = append(h.rows[i], "*")
			}
			break
		}
	}
	return h, nil
}

// Name returns the name the hierarchy was made with (its file or builder).
func (h *Hierarchy) Name() string { return h.name }

// Levels returns the number of levels, the original values' included: a
// hierarchy value;group;* has 3 levels (0, 1 and 2).
func (h *Hierarchy) Levels() int { return len(h.rows[0]) }

// Len returns the number of original values the hierarchy lists (the size of
// the attribute's domain, as ARX's loss metric counts it).
func (h *Hierarchy) Len() int { return len(h.rows) }

// Generalize returns value generalised to level (0 returns value itself),
// and false if the hierarchy does not list value or level is out of range.
func (h *Hierarchy) Generalize(value string, level int) (string, bool) {
	r, ok := h.index[value]
	if !ok || level < 0 || level >= len(h.rows[r]) {
		return "", false
	}
	return h.rows[r][level], true
}

// Row returns the levels of value (the value first), or nil if the
// hierarchy does not list it. The caller must not modify the slice.
func (h *Hierarchy) Row(value string) []string {
	if r, ok := h.index[value]; ok {
		return h.rows[r]
	}
	return nil
}

// Values returns the original values in the hierarchy's order.
func (h *Hierarchy) Values() []string {
	out := make([]string, len(h.rows))
	for i, row := range h.rows {
		out[i] = row[0]
	}
	return out
}

// Check returns an error wrapping [ErrNotCovered] for the first of values
// the hierarchy does not list. The message names the hierarchy and the value
// (values of quasi-identifiers are needed to fix a hierarchy, and are not
// direct identifiers), and how many values are missing in all.
func (h *Hierarchy) Check(column string, values []string) error {
	var missing []string
	for _, v := range values {
		if _, ok := h.index[v]; !ok {
			missing = append(missing, v)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	more := ""
	if len(missing) > 1 {
		more = fmt.Sprintf(" (and %d other values)", len(missing)-1)
	}
	return fmt.Errorf("column %q: value %q%s not in hierarchy %s: %w", column, missing[0], more, h.name, ErrNotCovered)
}

// WriteTo writes the hierarchy in ARX's CSV format with ';' as delimiter
// (quoting fields that need it) and LF line endings.
func (h *Hierarchy) WriteTo(w io.Writer) (int64, error) {
	// csvio's writer quotes exactly what its reader needs quoted (the
	// delimiter, quotes, line breaks, a leading U+FEFF that would read as a
	// BOM, a lone empty field); a hand-made quoting rule missed the BOM case
	// (found by FuzzReadHierarchy).
	cw := &countingWriter{w: w}
	out := csvio.NewWriter(cw, csvio.Dialect{Comma: ';'})
	for _, row := range h.rows {
		if err := out.WriteString(row); err != nil {
			return cw.n, err
		}
	}
	err := out.Flush()
	return cw.n, err
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// shortName is the file name of a hierarchy path, for summaries.
func shortName(path string) string { return filepath.Base(path) }
