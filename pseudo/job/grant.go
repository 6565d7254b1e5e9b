package job

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"filippo.io/age"

	"github.com/pseudokit/pseudokit/keyvault"
)

// grantVersion is the version of the grant file's JSON.
const grantVersion = 1

// maxGrant bounds a grant file's plaintext (the withdrawn codes dominate:
// 16 MiB is ~800,000 of them).
const maxGrant = 16 << 20

// ErrBadGrant is returned for a grant file that cannot be opened or is not
// a valid grant.
var ErrBadGrant = errors.New("not a valid pseudokit job grant")

type grantFile struct {
	Version       int       `json:"pseudokit_job"`
	Job           string    `json:"job"`
	VaultID       string    `json:"vault_id"`
	Project       string    `json:"project"`
	Domain        string    `json:"domain"`
	DomainSecret  []byte    `json:"domain_secret"`
	LinkRecipient string    `json:"link_recipient"`
	Withdrawn     []string  `json:"withdrawn_codes"`
	Created       time.Time `json:"created"`
}

// WriteGrant writes g to w encrypted with age to recipients (the workers'
// keys). The plaintext never reaches w.
func WriteGrant(w io.Writer, g *keyvault.Grant, recipients ...age.Recipient) error {
	if len(recipients) == 0 {
		return errors.New("a job grant needs at least one recipient")
	}
	b, err := json.Marshal(grantFile{grantVersion, g.Job, g.VaultID, g.Project, g.Domain, g.DomainSecret, g.LinkRecipient, g.Withdrawn, g.Created})
	if err != nil {
		return err
	}
	defer clear(b)
	ew, err := age.Encrypt(w, recipients...)
	if err != nil {
		return err
	}
	if _, err := ew.Write(b); err != nil {
		return err
	}
	return ew.Close()
}

// ReadGrant decrypts a grant written by WriteGrant with one of identities
// and checks it. Errors wrap ErrBadGrant (or age's NoIdentityMatchError
// when none of identities opens it).
func ReadGrant(r io.Reader, identities ...age.Identity) (*keyvault.Grant, error) {
	dr, err := age.Decrypt(r, identities...)
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrBadGrant, err)
	}
	b, err := io.ReadAll(io.LimitReader(dr, maxGrant+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadGrant, err)
	}
	defer clear(b)
	if len(b) > maxGrant {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrBadGrant, maxGrant)
	}
	var f grantFile
	if err := json.Unmarshal(b, &f); err != nil {
		// Not json's message: it may quote bytes of the secret.
		return nil, fmt.Errorf("%w: malformed JSON", ErrBadGrant)
	}
	switch {
	case f.Version != grantVersion:
		return nil, fmt.Errorf("%w: version %d (this program reads %d)", ErrBadGrant, f.Version, grantVersion)
	case len(f.DomainSecret) != 32:
		return nil, fmt.Errorf("%w: the domain secret is not 32 bytes", ErrBadGrant)
	case f.Job == "" || f.Domain == "":
		return nil, fmt.Errorf("%w: no job id or domain", ErrBadGrant)
	}
	if _, err := age.ParseX25519Recipient(f.LinkRecipient); err != nil {
		return nil, fmt.Errorf("%w: link recipient: %v", ErrBadGrant, err)
	}
	return &keyvault.Grant{Job: f.Job, VaultID: f.VaultID, Project: f.Project, Domain: f.Domain,
		DomainSecret: f.DomainSecret, LinkRecipient: f.LinkRecipient, Withdrawn: f.Withdrawn, Created: f.Created}, nil
}
