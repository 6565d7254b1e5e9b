package job

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"filippo.io/age"

	"github.com/pseudokit/pseudokit/keyvault"
	"github.com/pseudokit/pseudokit/pseudo"
)

// linkMagic starts the clear-text first line of a link file.
const linkMagic = "pseudokit-links/1"

// maxHeader bounds the first line of a link file.
const maxHeader = 512

// maxRecord bounds one link record (identifiers are at most 4 KiB).
const maxRecord = 16 << 10

// dedupMax bounds how many codes a LinkWriter remembers to avoid writing a
// link twice; past it, it starts afresh (a repeated record costs a line in
// the file and nothing at import).
const dedupMax = 1 << 18

// ErrBadLinkFile is returned for a link file that is damaged, truncated or
// not a link file.
var ErrBadLinkFile = errors.New("not a valid pseudokit link file")

// record is one link as written inside the sealed part of a link file.
type record struct {
	Kind string `json:"k"`
	Code string `json:"c"`
	ID   string `json:"i"`
}

// A LinkWriter is the pseudo.Linker of a job outside the vault: it writes
// each link it is given, once, to a link file sealed with age to the
// grant's link recipient, and refuses the persons who have withdrawn (whose
// codes the grant lists) with an error matching pseudo.ErrWithdrawn. It is
// safe for concurrent use. Close it to finish the file; a file that was not
// closed fails to import.
type LinkWriter struct {
	mu        sync.Mutex
	ew        io.WriteCloser
	bw        *bufio.Writer
	withdrawn map[string]struct{}
	seen      map[string]struct{}
	domain    string
	records   int64
	err       error
	closed    bool
}

// NewLinkWriter starts a link file for grant g on w.
func NewLinkWriter(w io.Writer, g *keyvault.Grant) (*LinkWriter, error) {
	r, err := age.ParseX25519Recipient(g.LinkRecipient)
	if err != nil {
		return nil, fmt.Errorf("%w: link recipient: %v", ErrBadGrant, err)
	}
	if _, err := fmt.Fprintf(w, "%s %s %s %s\n", linkMagic, g.VaultID, g.Job, g.Domain); err != nil {
		return nil, err
	}
	ew, err := age.Encrypt(w, r)
	if err != nil {
		return nil, err
	}
	lw := &LinkWriter{ew: ew, bw: bufio.NewWriterSize(ew, 64<<10), domain: g.Domain, seen: map[string]struct{}{}}
	if len(g.Withdrawn) > 0 {
		lw.withdrawn = make(map[string]struct{}, len(g.Withdrawn))
		for _, c := range g.Withdrawn {
			lw.withdrawn[c] = struct{}{}
		}
	}
	return lw, nil
}

// Link records that code stands for the canonical identifier of kind.
func (l *LinkWriter) Link(kind, canonical, code string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	if l.closed {
		return errors.New("job: Link after Close")
	}
	if _, ok := l.withdrawn[code]; ok {
		// Never the identifier: the code names the person.
		return fmt.Errorf("%w: %s in domain %s", pseudo.ErrWithdrawn, code, l.domain)
	}
	if _, ok := l.seen[code]; ok {
		return nil
	}
	b, err := json.Marshal(record{kind, code, canonical})
	if err != nil {
		l.err = err
		return err
	}
	b = append(b, '\n')
	_, err = l.bw.Write(b)
	clear(b)
	if err != nil {
		l.err = fmt.Errorf("writing link file: %w", err)
		return l.err
	}
	if len(l.seen) >= dedupMax {
		clear(l.seen)
	}
	l.seen[code] = struct{}{}
	l.records++
	return nil
}

// Assign is not possible outside the vault: random codes need the vault to
// keep them unique. (GrantJob refuses domains with random codes.)
func (l *LinkWriter) Assign(kind, canonical, candidate string) (string, error) {
	return "", fmt.Errorf("%w: random codes cannot be made outside the vault", keyvault.ErrWrongScheme)
}

// Records returns the number of link records written.
func (l *LinkWriter) Records() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.records
}

// Close finishes the sealed part of the file. It does not close the
// underlying writer.
func (l *LinkWriter) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return l.err
	}
	l.closed = true
	clear(l.seen)
	if l.err != nil {
		return l.err
	}
	if err := l.bw.Flush(); err != nil {
		return err
	}
	return l.ew.Close()
}

// LinkHeader is the clear-text first line of a link file.
type LinkHeader struct {
	VaultID, Job, Domain string
}

// ReadLinkHeader reads the first line of a link file.
func ReadLinkHeader(r *bufio.Reader) (LinkHeader, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) || len(line) > maxHeader {
			return LinkHeader{}, fmt.Errorf("%w: no header line", ErrBadLinkFile)
		}
		return LinkHeader{}, fmt.Errorf("%w: %v", ErrBadLinkFile, err)
	}
	f := strings.Fields(string(line))
	if len(f) != 4 || f[0] != linkMagic {
		return LinkHeader{}, fmt.Errorf("%w: bad header line", ErrBadLinkFile)
	}
	return LinkHeader{VaultID: f[1], Job: f[2], Domain: f[3]}, nil
}

// ReadLinks reads the records of a link file whose header line has been
// read from r, opening them with identity, and calls fn for each. Errors
// name record numbers (from 1), never identifiers.
func ReadLinks(r io.Reader, identity age.Identity, fn func(kind, canonical, code string) error) (int64, error) {
	dr, err := age.Decrypt(r, identity)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrBadLinkFile, err)
	}
	sc := bufio.NewScanner(dr)
	sc.Buffer(make([]byte, 0, 64<<10), maxRecord)
	var n int64
	for sc.Scan() {
		n++
		var rec record
		if err := decodeRecord(sc.Bytes(), &rec); err != nil || rec.Kind == "" || rec.Code == "" || rec.ID == "" {
			return n, fmt.Errorf("%w: record %d is malformed", ErrBadLinkFile, n)
		}
		if err := fn(rec.Kind, rec.ID, rec.Code); err != nil {
			return n, err
		}
	}
	if err := sc.Err(); err != nil {
		// A truncated or altered file fails age's authentication here.
		return n, fmt.Errorf("%w: after record %d: %v", ErrBadLinkFile, n, err)
	}
	return n, nil
}

// decodeRecord decodes one line of a link file. Lines exactly as
// LinkWriter writes them with no escape in any string (nearly all) are
// read directly, ~10x faster than encoding/json; anything else goes
// through encoding/json.
func decodeRecord(line []byte, rec *record) error {
	if b, ok := bytes.CutPrefix(line, []byte(`{"k":"`)); ok {
		var k, c, i string
		if k, b, ok = plainString(b); ok {
			if b, ok = bytes.CutPrefix(b, []byte(`,"c":"`)); ok {
				if c, b, ok = plainString(b); ok {
					if b, ok = bytes.CutPrefix(b, []byte(`,"i":"`)); ok {
						if i, b, ok = plainString(b); ok && len(b) == 1 && b[0] == '}' {
							*rec = record{Kind: k, Code: c, ID: i}
							return nil
						}
					}
				}
			}
		}
	}
	return json.Unmarshal(line, rec)
}

// plainString reads a JSON string's content up to its closing quote, if it
// has no escape, no control character and valid UTF-8; it returns the rest
// after the quote.
func plainString(b []byte) (string, []byte, bool) {
	for i, c := range b {
		switch {
		case c == '"':
			if !utf8.Valid(b[:i]) {
				return "", nil, false
			}
			return string(b[:i]), b[i+1:], true
		case c == '\\' || c < 0x20:
			return "", nil, false
		}
	}
	return "", nil, false
}
