package cli

import (
	"regexp"
	"strings"
)

// longNumber matches a run of 8 or more digits, possibly grouped by spaces,
// dots or dashes, that is not part of a word (a code or a digest): the shape
// of identity, D-, account and phone numbers.
var longNumber = regexp.MustCompile(`(?:^|[^0-9A-Za-z])(\d(?:[ .\-]?\d){7,})(?:$|[^0-9A-Za-z])`)

// hideNumbers is the last line of defence against identifiers in messages:
// text that reaches the terminal from outside pseudokit (file names, column
// headers, underlying errors) could hold an identity number; any long digit
// run is replaced before it is printed. pseudokit's own messages never
// contain one (counts are grouped with commas).
func hideNumbers(s string) string {
	m := longNumber.FindAllStringSubmatchIndex(s, -1)
	if m == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, loc := range m {
		b.WriteString(s[last:loc[2]])
		b.WriteString("[number hidden]")
		last = loc[3]
	}
	b.WriteString(s[last:])
	out := b.String()
	if out != s && longNumber.MatchString(out) { // adjacent runs share a separator
		return hideNumbers(out)
	}
	return out
}
