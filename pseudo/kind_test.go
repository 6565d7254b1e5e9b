package pseudo

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCanonical(t *testing.T) {
	tests := []struct {
		kind Kind
		in   string
		want string // "" means: nothing identifying left
	}{
		{KindName, "Ola  Nordmann", "ola nordmann"},
		{KindName, "  OLA\tNORDMANN\n", "ola nordmann"},
		{KindName, "Bj\u00f8rg", "bjørg"},
		{KindName, "A\u030Asmund", "åsmund"}, // decomposed Å (NFD) = composed
		{KindName, "\u00C5smund", "åsmund"},
		{KindName, "Straße", "strasse"}, // full case folding
		{KindName, "   ", ""},
		{KindName, "\u00a0Kari\u2003Hansen", "kari hansen"}, // no-break and em spaces
		{KindEmail, " Kari.Nordmann@UiO.NO ", "kari.nordmann@uio.no"},
		{KindPhone, "+47 912 34 567", "91234567"},
		{KindPhone, "0047-91234567", "91234567"},
		{KindPhone, "912 34 567", "91234567"},
		{KindPhone, "+46 70 123 45 67", "46701234567"},
		{KindPhone, "n/a", ""},
		{KindText, "  Sak   2026/17 ", "Sak 2026/17"},
		{KindText, "CASE", "CASE"},
	}
	for _, tt := range tests {
		got, ok := tt.kind.Canonical(tt.in)
		require.Equal(t, tt.want, got, "%s %q", tt.kind, tt.in)
		require.Equal(t, tt.want != "", ok)
	}
}

func TestParseKind(t *testing.T) {
	for _, k := range Kinds {
		got, err := ParseKind(string(k))
		require.NoError(t, err)
		require.Equal(t, k, got)
	}
	_, err := ParseKind("fnr")
	require.ErrorContains(t, err, "unknown identifier kind")
}
