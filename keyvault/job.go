package keyvault

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"filippo.io/age"
)

// labelImportPrefix is the HKDF info prefix of a job's import identity.
const labelImportPrefix = "pseudokit/v1/import/"

// A Grant is what a job outside the vault's process needs to pseudonymise in
// one domain without opening the vault: the domain secret (to derive keyed
// codes), the codes of persons who have withdrawn in that domain (to leave
// their rows out), and the age recipient to which the job seals the link
// records it makes. Only the vault can open those records again
// ([Vault.JobIdentity]), and a Grant is handed out only with an access-log
// entry. Package pseudo/job writes a Grant to a file encrypted to the
// workers' own age recipients; a Grant itself must never be written in the
// clear.
type Grant struct {
	// Job identifies the job: "J" and 26 characters of lower-case hex.
	Job string
	// VaultID is the hex id of the vault that granted it.
	VaultID string
	// Project is the vault's project name.
	Project string
	// Domain is the pseudonymisation domain; it has keyed codes.
	Domain string
	// DomainSecret is the domain secret ([Vault.DomainSecret]).
	DomainSecret []byte
	// LinkRecipient is the age X25519 recipient ("age1...") link records
	// are sealed to.
	LinkRecipient string
	// Withdrawn are the codes in Domain of persons who have withdrawn.
	Withdrawn []string
	// Created is when the grant was made (UTC).
	Created time.Time
}

// GrantJob makes a Grant for a job in domain (which must have keyed codes:
// random codes need the vault to keep them unique) and records it in the
// access log as action "job" with e's actor, purpose and details (the vault
// adds "job" and "domain"). The log entry is written before the grant is
// returned.
func (v *Vault) GrantJob(ctx context.Context, domain string, e Entry) (*Grant, error) {
	if e.Purpose == "" {
		return nil, invalidf("a job grant needs a purpose")
	}
	secret, err := v.DomainSecret(domain)
	if err != nil {
		return nil, err
	}
	d, err := v.Domain(domain)
	if err != nil {
		return nil, err
	}
	if d.Scheme != SchemeKeyed {
		return nil, fmt.Errorf("%w: domain %s has random codes; a job outside the vault can only make keyed codes", ErrWrongScheme, domain)
	}
	withdrawn, err := v.WithdrawnCodes(domain)
	if err != nil {
		return nil, err
	}
	var id [13]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	g := &Grant{
		Job:          "J" + hex.EncodeToString(id[:]),
		VaultID:      hex.EncodeToString(v.vaultID),
		Domain:       domain,
		DomainSecret: secret,
		Withdrawn:    withdrawn,
		Created:      time.Now().UTC().Truncate(time.Second),
	}
	if g.Project, err = v.Project(); err != nil {
		return nil, err
	}
	ident, err := v.JobIdentity(g.Job)
	if err != nil {
		return nil, err
	}
	g.LinkRecipient = ident.Recipient().String()
	details := make(map[string]any, len(e.Details)+2)
	for key, val := range e.Details {
		details[key] = val
	}
	details["job"] = g.Job
	details["domain"] = domain
	e.Details = details
	if e.Action == "" {
		e.Action = "job"
	}
	if err := v.AppendContext(ctx, e); err != nil {
		return nil, err
	}
	return g, nil
}

// JobIdentity returns the age identity that opens the link records of job
// (see [Grant]). It is derived from the project secret and the job id, so
// nothing is stored per job and destroying the vault destroys it too.
func (v *Vault) JobIdentity(job string) (*age.X25519Identity, error) {
	if !validJobID(job) {
		return nil, invalidf("job id must be J and 26 lower-case hex characters")
	}
	k, err := v.keys()
	if err != nil {
		return nil, err
	}
	scalar := deriveKey(k.secret, labelImportPrefix+job)
	defer clear(scalar)
	s, err := bech32Encode("age-secret-key-", scalar)
	if err != nil {
		return nil, err
	}
	return age.ParseX25519Identity(strings.ToUpper(s))
}

func validJobID(s string) bool {
	if len(s) != 27 || s[0] != 'J' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// bech32Encode encodes data as BIP 173 bech32 with human-readable part hrp,
// the text form age uses for X25519 keys. Ten lines of arithmetic, kept here
// rather than a dependency: age's own copy is internal.
func bech32Encode(hrp string, data []byte) (string, error) {
	const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	// Regroup 8-bit bytes into 5-bit values.
	var values []byte
	acc, bits := 0, 0
	for _, b := range data {
		acc = acc<<8 | int(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			values = append(values, byte(acc>>bits&31))
		}
	}
	if bits > 0 {
		values = append(values, byte(acc<<(5-bits)&31))
	}
	polymod := func(vs []byte) uint32 {
		gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
		chk := uint32(1)
		for _, v := range vs {
			top := chk >> 25
			chk = (chk&0x1ffffff)<<5 ^ uint32(v)
			for i := range 5 {
				if top>>i&1 == 1 {
					chk ^= gen[i]
				}
			}
		}
		return chk
	}
	var expanded []byte
	for i := 0; i < len(hrp); i++ {
		expanded = append(expanded, hrp[i]>>5)
	}
	expanded = append(expanded, 0)
	for i := 0; i < len(hrp); i++ {
		expanded = append(expanded, hrp[i]&31)
	}
	expanded = append(expanded, values...)
	mod := polymod(append(expanded, 0, 0, 0, 0, 0, 0)) ^ 1
	var sb strings.Builder
	sb.WriteString(hrp)
	sb.WriteByte('1')
	for _, v := range values {
		sb.WriteByte(charset[v])
	}
	for i := range 6 {
		sb.WriteByte(charset[mod>>(5*(5-i))&31])
	}
	clear(values)
	clear(expanded)
	return sb.String(), nil
}
