package anonymize

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadHierarchy(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		err      string // substring of the error; "" = valid
		levels   int
		values   int
	}{
		{"arx", "Male;*\nFemale;*\n", "", 2, 2},
		{"crlf bom no final newline", "\ufeff1;0-4;*\r\n2;0-4;*\r\n5;5-9;*", "", 3, 3},
		{"quoted", "\"a;b\";x;*\nc;x;*\n", "", 3, 2},
		{"empty value", ";missing;*\nc;x;*\n", "", 3, 2},
		{"empty file", "", "h.csv: empty file", 0, 0},
		{"ragged", "a;x;*\nb;*\n", "h.csv: line 2: 2 levels, but the first line has 3", 0, 0},
		{"duplicate", "a;x;*\nb;x;*\na;y;*\n", `h.csv: line 3: value "a" listed twice (first on line 1)`, 0, 0},
		{"inconsistent", "a;x;p;*\nb;x;q;*\n", `h.csv: line 2: inconsistent levels: "x" on level 1 generalises to "q" on level 2 here, but to "p" on line 1`, 0, 0},
		{"bad quote", "a;x\"y;*\n", "h.csv: line 1:", 0, 0},
		{"blank lines skipped", "a;*\n\n\nb;*\n", "", 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := ReadHierarchy(strings.NewReader(tc.in), "h.csv")
			if tc.err != "" {
				require.Error(t, err)
				require.Contains(t, err.Error(), tc.err)
				var he *HierarchyError
				require.True(t, errors.As(err, &he), "%T", err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.levels, h.Levels())
			require.Equal(t, tc.values, h.Len())
		})
	}
}

func TestHierarchyLookupAndWrite(t *testing.T) {
	h, err := ReadHierarchy(strings.NewReader("1;0-4;0-9;*\n2;0-4;0-9;*\n7;5-9;0-9;*\n\"x;y\";?;?;*\n"), "age")
	require.NoError(t, err)
	g, ok := h.Generalize("7", 1)
	require.True(t, ok)
	require.Equal(t, "5-9", g)
	_, ok = h.Generalize("8", 1)
	require.False(t, ok)
	_, ok = h.Generalize("7", 4)
	require.False(t, ok)
	require.Equal(t, []string{"2", "0-4", "0-9", "*"}, h.Row("2"))
	require.Nil(t, h.Row("9"))
	require.Equal(t, []string{"1", "2", "7", "x;y"}, h.Values())

	var buf bytes.Buffer
	_, err = h.WriteTo(&buf)
	require.NoError(t, err)
	h2, err := ReadHierarchy(&buf, "again")
	require.NoError(t, err)
	require.Equal(t, h.rows, h2.rows)

	err = h.Check("age", []string{"1", "7", "99", "100"})
	require.ErrorIs(t, err, ErrNotCovered)
	require.Contains(t, err.Error(), `column "age": value "99" (and 1 other values) not in hierarchy age`)
	require.NoError(t, h.Check("age", []string{"1", "2"}))
}

func TestLoadGroups(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/groups.csv"
	writeFile(t, path, "J45;asthma\nJ46;asthma\nE10;diabetes\n")
	h, err := LoadGroups(path)
	require.NoError(t, err)
	require.Equal(t, 3, h.Levels())
	require.Equal(t, []string{"J45", "asthma", "*"}, h.Row("J45"))
	// Already topped: unchanged.
	writeFile(t, path, "a;g;*\nb;g;*\n")
	h, err = LoadGroups(path)
	require.NoError(t, err)
	require.Equal(t, 3, h.Levels())
	// Missing file.
	_, err = LoadGroups(dir + "/none.csv")
	require.Error(t, err)
}

func TestNewHierarchyErrors(t *testing.T) {
	_, err := NewHierarchy("x", nil, nil)
	require.ErrorContains(t, err, "no values")
	_, err = NewHierarchy("x", [][]string{{}}, nil)
	require.ErrorContains(t, err, "empty line")
	_, err = NewHierarchy("x", [][]string{{"a"}}, []int{1, 2})
	require.Error(t, err)
	h, err := NewHierarchy("x", [][]string{{"a"}, {"b"}}, nil)
	require.NoError(t, err)
	require.Equal(t, 1, h.Levels())
}
