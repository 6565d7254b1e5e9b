package pseudo

import (
	"errors"

	"github.com/pseudokit/pseudokit/pseudo/nid"
)

var (
	nidStrict  = &nid.Parser{}
	nidRestore = &nid.Parser{RestoreLeadingZero: true}
)

// canonicalNID validates a Norwegian identity number and returns its
// canonical 11 digits, and whether a lost leading zero was restored.
func canonicalNID(v string, restoreZero bool) (string, bool, error) {
	p := nidStrict
	if restoreZero {
		p = nidRestore
	}
	n, err := p.Parse(v)
	if err != nil {
		return "", false, err
	}
	return n.String(), n.ZeroRestored(), nil
}

// invalidReason returns a short, value-free token for why a value is invalid
// ("checksum", "date", "length", ...), for flag columns and summaries.
func invalidReason(err error) string {
	var ne *nid.Error
	if errors.As(err, &ne) {
		return ne.Reason.String()
	}
	return "invalid"
}
