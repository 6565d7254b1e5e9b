package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
)

// passSource says where a passphrase comes from: --passphrase-file, the
// PSEUDOKIT_PASSPHRASE environment variable, or a prompt on the terminal.
// Never a flag value: those end up in shell history and process lists.
type passSource struct {
	file string
}

// read returns the passphrase; confirm asks twice at a prompt (for new ones).
func (s passSource) read(e *Env, prompt string, confirm bool) ([]byte, error) {
	if s.file != "" {
		b, err := os.ReadFile(s.file)
		if err != nil {
			return nil, fmt.Errorf("reading passphrase file: %w", err)
		}
		if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
			b = b[:i]
		}
		if len(b) == 0 {
			return nil, fmt.Errorf("passphrase file %s: empty first line", s.file)
		}
		return b, nil
	}
	if p := e.Getenv("PSEUDOKIT_PASSPHRASE"); p != "" {
		return []byte(p), nil
	}
	if e.ReadPassword == nil {
		return nil, withHint(errors.New("no passphrase: no terminal to ask on"),
			"give --passphrase-file FILE or set PSEUDOKIT_PASSPHRASE")
	}
	p, err := e.ReadPassword(prompt)
	if err != nil {
		return nil, fmt.Errorf("reading passphrase: %w", err)
	}
	if len(p) == 0 {
		return nil, errors.New("empty passphrase")
	}
	if confirm {
		q, err := e.ReadPassword("Repeat the passphrase: ")
		if err != nil {
			return nil, fmt.Errorf("reading passphrase: %w", err)
		}
		if !bytes.Equal(p, q) {
			return nil, errors.New("the passphrases differ")
		}
	}
	return p, nil
}

// vaultPath returns --vault or PSEUDOKIT_VAULT.
func vaultPath(e *Env, flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if p := e.Getenv("PSEUDOKIT_VAULT"); p != "" {
		return p, nil
	}
	return "", usagef("no vault: give --vault FILE or set PSEUDOKIT_VAULT")
}
