package cli

import (
	"errors"

	"github.com/pseudokit/pseudokit/keyvault"
)

// exitError gives an error an explicit exit code and hint. exitCode
// (errors.go) does not know it by type, so Is makes it match the sentinel
// that exitCode maps to the same code; ExitCode states the code directly
// for a classifier that asks for it.
type exitError struct {
	err  error
	code int
}

// Error is the wrapped error's message.
func (e *exitError) Error() string { return e.err.Error() }

// Unwrap returns the wrapped error.
func (e *exitError) Unwrap() error { return e.err }

// ExitCode is the process exit code for the error.
func (e *exitError) ExitCode() int { return e.code }

// Is maps the code to a sentinel errors.go classifies with that code.
func (e *exitError) Is(target error) bool {
	switch e.code {
	case ExitInvalidInput:
		return target == errSomeInvalid
	case ExitVault:
		return target == keyvault.ErrCorrupt
	case ExitRefused:
		return target == keyvault.ErrWithdrawn
	}
	return false
}

// exitErr returns err with exit code code and an optional hint.
func exitErr(code int, err error, hint string) error {
	var out error = &exitError{err: err, code: code}
	if code == ExitUsage {
		out = &usageError{err.Error()}
	}
	if hint != "" {
		out = withHint(out, hint)
	}
	return out
}

// vaultErr gives the vault errors that errors.go does not classify their
// exit code and a hint.
func vaultErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keyvault.ErrDestroyed):
		return exitErr(ExitVault, err, "the key was destroyed; 'pseudokit vault verify' and 'vault log' read what is left without a key")
	case errors.Is(err, keyvault.ErrLastHolder):
		return exitErr(ExitRefused, err, "add another key holder first ('pseudokit vault add-holder'), or destroy the vault ('pseudokit vault destroy')")
	case errors.Is(err, keyvault.ErrPurposeRequired):
		return exitErr(ExitUsage, err, "say why with --purpose (for example the case or request reference)")
	case errors.Is(err, keyvault.ErrNotFound):
		return exitErr(ExitInvalidInput, err, "")
	case errors.Is(err, keyvault.ErrLooksLikeIdentifier):
		return exitErr(ExitUsage, err, "the access log is readable without a key: never put identity numbers in --purpose, --actor or labels")
	case errors.Is(err, keyvault.ErrNoSlot), errors.Is(err, keyvault.ErrNoDomain), errors.Is(err, keyvault.ErrDomainExists),
		errors.Is(err, keyvault.ErrInvalid):
		return exitErr(ExitUsage, err, "")
	}
	return err
}
