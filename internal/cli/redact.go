package cli

import (
	"io"
	"regexp"
	"strings"
)

// longNumber matches a run of 9 or more digits, possibly grouped by single
// spaces, dots or dashes, that is not part of a word (a code or a digest):
// the shape of identity, D-, organisation and account numbers.
var longNumber = regexp.MustCompile(`(?:^|[^0-9A-Za-z])(\d(?:[ .\-]?\d){8,})(?:$|[^0-9A-Za-z])`)

// isoDate matches what starts with a date, which is not an identifier.
var isoDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}`)

// hideNumbers is the last line of defence against identifiers in terminal
// text: what reaches the terminal from outside pseudokit (file names,
// column headers, underlying errors) could hold an identity number, so any
// long digit run is replaced before it is printed. pseudokit's own text
// never has one (counts are grouped with commas; dates are kept).
func hideNumbers(s string) string {
	m := longNumber.FindAllStringSubmatchIndex(s, -1)
	if m == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, loc := range m {
		if keep(s[loc[2]:loc[3]]) {
			continue
		}
		b.WriteString(s[last:loc[2]])
		b.WriteString("[number hidden]")
		last = loc[3]
	}
	b.WriteString(s[last:])
	out := b.String()
	if out != s && out != hideOnce(out) {
		return hideNumbers(out) // adjacent runs that shared a separator
	}
	return out
}

// hideOnce reports the result of one more pass (to stop the recursion).
func hideOnce(s string) string {
	for _, loc := range longNumber.FindAllStringSubmatchIndex(s, -1) {
		if !keep(s[loc[2]:loc[3]]) {
			return ""
		}
	}
	return s
}

// keep reports whether a long digit run is not an identifier: a date, or
// a decimal number (one dot and nothing else between the digits).
func keep(run string) bool {
	if isoDate.MatchString(run) {
		return true
	}
	return strings.Count(run, ".") == 1 && !strings.ContainsAny(run, " -")
}

// hideInJSON applies hideNumbers inside the string literals of a JSON
// text only, so numbers stay numbers and the document stays valid.
func hideInJSON(s string) string {
	var b strings.Builder
	in, esc, start := false, false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case in && esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			if in {
				b.WriteString(hideNumbers(s[start:i]))
				start = i
			} else {
				b.WriteString(s[start:i])
				start = i
			}
			in = !in
		}
	}
	if in {
		b.WriteString(hideNumbers(s[start:]))
	} else {
		b.WriteString(s[start:])
	}
	return b.String()
}

// hidingWriter passes text through hideNumbers (column names and paths
// come from outside and could hold an identifier).
type hidingWriter struct{ w io.Writer }

func (h hidingWriter) Write(p []byte) (int, error) {
	text := string(p)
	if t := strings.TrimLeft(text, " \t\r\n"); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[{") || strings.HasPrefix(t, "[\n") {
		text = hideInJSON(text)
	} else {
		text = hideNumbers(text)
	}
	if _, err := io.WriteString(h.w, text); err != nil {
		return 0, err
	}
	return len(p), nil
}
