package pseudo

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/hkdf"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// testSecret is the domain secret of the golden vectors: bytes 0..31.
func testSecret() []byte {
	s := make([]byte, 32)
	for i := range s {
		s[i] = byte(i)
	}
	return s
}

// specCode computes a keyed code straight from docs/design.md with the
// standard library's base32 and a naive Luhn mod 32, independently of code.go.
func specCode(t *testing.T, secret []byte, kind, canonical string) string {
	key := make([]byte, 32)
	_, err := io.ReadFull(hkdf.New(sha256.New, secret, nil, []byte("pseudokit/v1/code")), key)
	require.NoError(t, err)
	m := hmac.New(sha256.New, key)
	m.Write([]byte("K1" + kind + "\x00" + canonical))
	enc := base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)
	body := "K" + enc.EncodeToString(m.Sum(nil)[:10])
	const a = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	sum, factor := 0, 2
	for i := len(body) - 1; i >= 0; i-- {
		p := factor * strings.IndexByte(a, body[i])
		sum += p/32 + p%32
		factor = 3 - factor
	}
	return body + string(a[(32-sum%32)%32])
}

func TestCodeMatchesSpec(t *testing.T) {
	c, err := NewCoder(testSecret())
	require.NoError(t, err)
	for _, in := range []struct {
		kind Kind
		v    string
	}{
		{KindNID, "01019012345"}, {KindName, "kari nordmann"}, {KindEmail, "a@b.no"}, {KindText, ""}, {KindName, "æøå ü"},
	} {
		require.Equal(t, specCode(t, testSecret(), string(in.kind), in.v), c.Code(in.kind, in.v), "%s %q", in.kind, in.v)
	}
}

// TestGoldenCodes pins the code scheme: a change here breaks every code
// already handed out, so it needs a new scheme character, not an edit.
func TestGoldenCodes(t *testing.T) {
	const path = "testdata/codes.golden"
	c, err := NewCoder(testSecret())
	require.NoError(t, err)
	inputs := []struct {
		kind Kind
		raw  string
	}{
		{KindNID, "24928599948"}, {KindNID, "10876636315"}, {KindName, "Ola  Nordmann"}, {KindName, "OLA NORDMANN"},
		{KindName, "Bjørg Ødegård"}, {KindEmail, " Kari@Example.NO "}, {KindPhone, "+47 912 34 567"},
		{KindPhone, "91234567"}, {KindText, "Sak 2026/17"},
	}
	var b strings.Builder
	for _, in := range inputs {
		canon, ok := in.kind.Canonical(in.raw)
		require.True(t, ok)
		fmt.Fprintf(&b, "%s\t%q\t%s\n", in.kind, in.raw, c.Code(in.kind, canon))
	}
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), b.String())
	// Normalisation makes spelling variants one person.
	s := bufio.NewScanner(strings.NewReader(b.String()))
	codes := map[string]string{}
	for s.Scan() {
		f := strings.Split(s.Text(), "\t")
		codes[f[1]] = f[2]
	}
	require.Equal(t, codes[`"Ola  Nordmann"`], codes[`"OLA NORDMANN"`])
	require.Equal(t, codes[`"+47 912 34 567"`], codes[`"91234567"`])
}

func TestCodesDependOnDomainAndKind(t *testing.T) {
	a, _ := NewCoder(testSecret())
	other := testSecret()
	other[0] ^= 1
	b, _ := NewCoder(other)
	require.NotEqual(t, a.Code(KindNID, "24928599948"), b.Code(KindNID, "24928599948"))
	require.NotEqual(t, a.Code(KindNID, "24928599948"), a.Code(KindText, "24928599948"))
	require.Equal(t, a.Code(KindNID, "24928599948"), a.Clone().Code(KindNID, "24928599948"))
	_, err := NewCoder([]byte("short"))
	require.Error(t, err)
}

func TestParseCode(t *testing.T) {
	c, _ := NewCoder(testSecret())
	good := c.Code(KindNID, "24928599948")
	rnd, err := RandomCode()
	require.NoError(t, err)
	tests := []struct {
		in, want, err string
	}{
		{in: good, want: good},
		{in: rnd, want: rnd},
		{in: strings.ToLower(good), want: good},
		{in: good[:6] + "-" + good[6:12] + " " + good[12:], want: good},
		{in: "", err: "0 characters"},
		{in: good[:17], err: "17 characters"},
		{in: good + "0", err: "longer than"},
		{in: good[:5] + "U" + good[6:], err: "character 6"},
		{in: "X" + good[1:], err: "unknown scheme"},
		{in: good[:17] + string(alphabet[(strings.IndexByte(alphabet, good[17])+1)%32]), err: "check character"},
	}
	for _, tt := range tests {
		got, err := ParseCode(tt.in)
		if tt.err != "" {
			require.ErrorIs(t, err, ErrInvalidCode, tt.in)
			require.Contains(t, err.Error(), tt.err)
			continue
		}
		require.NoError(t, err, tt.in)
		require.Equal(t, tt.want, got)
	}
	// Crockford aliases: O reads as 0, I and L as 1.
	alias := strings.NewReplacer("0", "O", "1", "I").Replace(good)
	got, err := ParseCode(alias)
	require.NoError(t, err)
	require.Equal(t, good, got)
}

// TestCheckCharacterCatchesTypos: every single substituted character and
// every swap of two different adjacent characters is rejected.
func TestCheckCharacterCatchesTypos(t *testing.T) {
	c, _ := NewCoder(testSecret())
	swapsCaught, swaps := 0, 0
	for i := 0; i < 200; i++ {
		code := c.Code(KindText, fmt.Sprint(i))
		for pos := 1; pos < CodeLen; pos++ {
			for _, r := range alphabet {
				if byte(r) == code[pos] {
					continue
				}
				typo := code[:pos] + string(r) + code[pos+1:]
				_, err := ParseCode(typo)
				require.Error(t, err, "substitution at %d not caught", pos)
			}
			if pos+1 < CodeLen && code[pos] != code[pos+1] {
				swaps++
				sw := code[:pos] + string(code[pos+1]) + string(code[pos]) + code[pos+2:]
				if _, err := ParseCode(sw); err != nil {
					swapsCaught++
				}
			}
		}
	}
	// Luhn mod N misses only swaps of a specific pair of values; require ≥ 95%.
	require.Greater(t, float64(swapsCaught)/float64(swaps), 0.95)
}

func FuzzParseCode(f *testing.F) {
	c, _ := NewCoder(testSecret())
	f.Add(c.Code(KindNID, "24928599948"))
	f.Add("k9zk5x3z-rddbx681d3")
	f.Add("R00000000000000000")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseCode(s)
		if err != nil {
			if len(s) >= 4 && strings.Contains(err.Error(), s) {
				t.Fatalf("error repeats the input: %v", err)
			}
			return
		}
		if len(got) != CodeLen {
			t.Fatalf("canonical code %q has length %d", got, len(got))
		}
		again, err := ParseCode(got)
		if err != nil || again != got {
			t.Fatalf("canonical form does not re-parse: %v", err)
		}
	})
}

func BenchmarkCode(b *testing.B) {
	c, _ := NewCoder(testSecret())
	buf := make([]byte, 0, CodeLen)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = c.AppendCode(buf[:0], KindNID, "24928599948")
	}
}
