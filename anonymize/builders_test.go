package anonymize

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(s), 0o600))
}

func ptr(f float64) *float64 { return &f }

func TestBuilders(t *testing.T) {
	for _, tc := range []struct {
		name   string
		b      Builder
		values []string
		want   map[string][]string // value -> row
		err    string
	}{
		{"age bands", Intervals{Widths: []float64{5, 10, 20}}, []string{"17", "23", "39", "40", ""},
			map[string][]string{"17": {"17", "15-19", "10-19", "0-19", "*"}, "39": {"39", "35-39", "30-39", "20-39", "*"}, "": {"", "", "", "", "*"}}, ""},
		{"top and bottom coding", Intervals{Widths: []float64{10}, Bottom: ptr(18), Top: ptr(90)}, []string{"16", "18", "19", "95", "90", "89"},
			map[string][]string{"16": {"16", "<18", "*"}, "18": {"18", "18-19", "*"}, "95": {"95", ">=90", "*"}, "89": {"89", "80-89", "*"}}, ""},
		{"coding only", Intervals{Top: ptr(90)}, []string{"45", "91"}, map[string][]string{"45": {"45", "45", "*"}, "91": {"91", ">=90", "*"}}, ""},
		{"real numbers", Intervals{Widths: []float64{0.5}}, []string{"1.2", "1.7"}, map[string][]string{"1.2": {"1.2", "[1,1.5)", "*"}}, ""},
		{"origin", Intervals{Widths: []float64{10}, Origin: 5}, []string{"14", "15"}, map[string][]string{"14": {"14", "5-14", "*"}, "15": {"15", "15-24", "*"}}, ""},
		{"not multiple", Intervals{Widths: []float64{5, 7}}, []string{"1"}, nil, "width 7 is not a multiple of the width 5"},
		{"not a number", Intervals{Widths: []float64{5}}, []string{"1", "ten"}, nil, `value "ten" is not a number`},
		{"no widths", Intervals{}, []string{"1"}, nil, "no widths"},
		{"bad bounds", Intervals{Widths: []float64{5}, Bottom: ptr(10), Top: ptr(5)}, []string{"1"}, nil, "bottom is not below top"},
		{"dates", Dates{Levels: []DateLevel{Month, Quarter, Year, Decade}}, []string{"2024-05-17", "1999-12-31", ""},
			map[string][]string{"2024-05-17": {"2024-05-17", "2024-05", "2024-Q2", "2024", "2020-2029", "*"}, "1999-12-31": {"1999-12-31", "1999-12", "1999-Q4", "1999", "1990-1999", "*"}}, ""},
		{"datetime to day", Dates{Levels: []DateLevel{Day, Year}}, []string{"2024-05-17T10:11:12Z", "17.05.2024"},
			map[string][]string{"2024-05-17T10:11:12Z": {"2024-05-17T10:11:12Z", "2024-05-17", "2024", "*"}, "17.05.2024": {"17.05.2024", "2024-05-17", "2024", "*"}}, ""},
		{"date layout", Dates{Levels: []DateLevel{Year}, Layout: "02/01/2006"}, []string{"17/05/2024"}, map[string][]string{"17/05/2024": {"17/05/2024", "2024", "*"}}, ""},
		{"dates order", Dates{Levels: []DateLevel{Year, Month}}, []string{"2024-01-01"}, nil, "level month is not coarser than year"},
		{"dates unknown", Dates{Levels: []DateLevel{"week"}}, []string{"2024-01-01"}, nil, `unknown level "week"`},
		{"not a date", Dates{Levels: []DateLevel{Year}}, []string{"yesterday"}, nil, `value "yesterday" is not a date`},
		{"mask", Mask{Chars: []int{1, 2}}, []string{"0301", "Ål", "x"},
			map[string][]string{"0301": {"0301", "030*", "03**", "*"}, "Ål": {"Ål", "Å*", "**", "*"}, "x": {"x", "*", "*", "*"}}, ""},
		{"mask default", Mask{}, []string{"abc", "de"}, map[string][]string{"abc": {"abc", "ab*", "a**", "*"}, "de": {"de", "d*", "**", "*"}}, ""},
		{"mask bad", Mask{Chars: []int{2, 1}}, []string{"abc"}, nil, "positive and increasing"},
		{"postcodes", Postcodes{}, []string{"0351", "9990", ""},
			map[string][]string{"0351": {"0351", "035*", "03**", "0***", "*"}, "9990": {"9990", "999*", "99**", "9***", "*"}}, ""},
		{"postcodes 2", Postcodes{Digits: []int{2}}, []string{"0351"}, map[string][]string{"0351": {"0351", "03**", "*"}}, ""},
		{"postcode lost zero", Postcodes{}, []string{"351"}, nil, "did a spreadsheet drop a leading zero?"},
		{"postcode letters", Postcodes{}, []string{"N-0351"}, nil, "not a four-digit postcode"},
		{"postcode digits", Postcodes{Digits: []int{1, 2}}, []string{"0351"}, nil, "decreasing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := tc.b.Build(tc.values)
			if tc.err != "" {
				require.Error(t, err)
				require.Contains(t, err.Error(), tc.err)
				require.Contains(t, err.Error(), tc.b.String())
				return
			}
			require.NoError(t, err)
			for v, row := range tc.want {
				require.Equal(t, row, h.Row(v), v)
			}
			require.NoError(t, h.Check("c", tc.values))
			require.NotEmpty(t, tc.b.String())
		})
	}
}

func TestBuilderStrings(t *testing.T) {
	require.Equal(t, "intervals 5,10 from 2 bottom 0 top 90", Intervals{Widths: []float64{5, 10}, Origin: 2, Bottom: ptr(0), Top: ptr(90)}.String())
	require.Equal(t, "dates month,year", Dates{Levels: []DateLevel{Month, Year}}.String())
	require.Equal(t, "mask 1,2", Mask{Chars: []int{1, 2}}.String())
	require.Equal(t, "mask", Mask{}.String())
	require.Equal(t, "postcode 3,2,1", Postcodes{}.String())
}
