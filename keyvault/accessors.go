package keyvault

import (
	"database/sql"
	"encoding/hex"
	"errors"
	"time"
)

// Retention returns the vault's retention date (zero if none is set): a
// single read, unlike [Vault.Info], which counts every link and so grows
// with the vault (commands check the date on every run).
func (v *Vault) Retention() (time.Time, error) {
	var s string
	err := v.db.QueryRow(`SELECT value FROM meta WHERE key = 'retention'`).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) || err == nil && s == "" {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, classify(err)
	}
	t, err := parseTime(s)
	if err != nil {
		return time.Time{}, corruptf("bad retention time")
	}
	return t, nil
}

// ID returns the vault's random id (hex), as [Info.VaultID].
func (v *Vault) ID() string { return hex.EncodeToString(v.vaultID) }

// LastSeq returns the sequence number of the newest access-log entry (as
// [Info.LogLastSeq], without counting links).
func (v *Vault) LastSeq() (int64, error) {
	var seq int64
	if err := v.db.QueryRow(`SELECT COALESCE(max(seq), 0) FROM log`).Scan(&seq); err != nil {
		return 0, classify(err)
	}
	return seq, nil
}

// Project returns the vault's project name, as [Info.Project].
func (v *Vault) Project() (string, error) {
	var p string
	if err := v.db.QueryRow(`SELECT value FROM meta WHERE key = 'project'`).Scan(&p); err != nil {
		return "", classify(err)
	}
	return p, nil
}
