package pseudo

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseRules(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []ColumnRule // nil when err is set
		err  string       // substring, with line number where known
	}{
		{name: "full", in: `
version: 1
domain: studie-a
invalid: flag
columns:
  fnr: {action: code, kind: nid, subject: true, restore_leading_zero: true}
  fornavn: {action: fake-name, part: given}
  navn: fake-name
  epost: {action: code, kind: email, invalid: error}
  notat: drop
  alder: keep
`, want: []ColumnRule{
			{Column: "fnr", Action: ActionCode, Kind: KindNID, Subject: true, RestoreLeadingZero: true},
			{Column: "fornavn", Action: ActionFakeName, Kind: KindName, Part: PartGiven},
			{Column: "navn", Action: ActionFakeName, Kind: KindName, Part: PartFull},
			{Column: "epost", Action: ActionCode, Kind: KindEmail, Invalid: InvalidError},
			{Column: "notat", Action: ActionDrop},
			{Column: "alder", Action: ActionKeep},
		}},
		{name: "missing version", in: "columns: {a: keep}\n", err: "line 1: missing version"},
		{name: "wrong version", in: "version: 2\n", err: "line 1: version must be 1"},
		{name: "unknown top field", in: "version: 1\ncolums: {}\n", err: `line 2: unknown field "colums"`},
		{name: "unknown action", in: "version: 1\ncolumns:\n  a: cod\n", err: `line 3: column "a": unknown action "cod"`},
		{name: "code without kind", in: "version: 1\ncolumns:\n  a: code\n", err: "needs a kind"},
		{name: "unknown kind", in: "version: 1\ncolumns:\n  a: {action: code, kind: fnr}\n", err: `line 3: column "a": kind: unknown identifier kind "fnr"`},
		{name: "unknown column field", in: "version: 1\ncolumns:\n  a: {action: keep, kinds: nid}\n", err: `unknown field "kinds"`},
		{name: "keep with kind", in: "version: 1\ncolumns:\n  a: {action: keep, kind: nid}\n", err: "takes no other fields"},
		{name: "duplicate column", in: "version: 1\ncolumns:\n  a: keep\n  a: drop\n", err: `line 4: column "a" has two rules`},
		{name: "two subjects", in: "version: 1\ncolumns:\n  a: {action: code, kind: nid, subject: true}\n  b: {action: code, kind: nid, subject: true}\n", err: "more than one subject"},
		{name: "subject fake", in: "version: 1\ncolumns:\n  a: {action: fake-name, subject: true}\n", err: "subject column must have action code"},
		{name: "restore on email", in: "version: 1\ncolumns:\n  a: {action: code, kind: email, restore_leading_zero: true}\n", err: "only for kind nid"},
		{name: "part on code", in: "version: 1\ncolumns:\n  a: {action: code, kind: nid, part: given}\n", err: "part is only for fake-name"},
		{name: "bad invalid", in: "version: 1\ninvalid: skip\n", err: "line 2: invalid: want error, flag or null"},
		{name: "not a mapping", in: "- a\n- b\n", err: "expected a mapping"},
		{name: "empty", in: "", err: "empty rule file"},
		{name: "bad yaml", in: "version: [1\n", err: "not valid YAML"},
		{name: "fake nid", in: "version: 1\ncolumns:\n  a: {action: fake-name, kind: nid}\n", err: "kind must be name or text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRules(strings.NewReader(tt.in))
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, r.Columns)
			require.Equal(t, "studie-a", r.Domain)
			require.Equal(t, InvalidFlag, r.Invalid)
		})
	}
}

func TestLoadRulesNamesFile(t *testing.T) {
	_, err := LoadRules("testdata/bad-rules.yaml")
	require.ErrorContains(t, err, "testdata/bad-rules.yaml:4: column")
}

func FuzzParseRules(f *testing.F) {
	f.Add("version: 1\ncolumns:\n  fnr: {action: code, kind: nid, subject: true}\n  navn: fake-name\n")
	f.Add("version: 1\ninvalid: flag\ndomain: x\ncolumns: {a: drop, b: keep}\n")
	f.Add("version: 1\ncolumns:\n  a: {action: code, kind: email, invalid: null}\n")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRules(strings.NewReader(s))
		if err != nil {
			return
		}
		// Accepted rules are consistent: Check passes again and names are unique.
		require.NoError(t, r.Check())
		seen := map[string]bool{}
		for _, c := range r.Columns {
			require.False(t, seen[c.Column])
			seen[c.Column] = true
			require.NotEmpty(t, c.Action)
		}
	})
}
