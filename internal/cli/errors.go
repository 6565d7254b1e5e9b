package cli

import (
	"errors"
	"os"

	"github.com/pseudokit/pseudokit/internal/csvio"
	"github.com/pseudokit/pseudokit/internal/table"
	"github.com/pseudokit/pseudokit/keyvault"
	"github.com/pseudokit/pseudokit/pseudo"
	"github.com/pseudokit/pseudokit/pseudo/job"
	"github.com/pseudokit/pseudokit/pseudo/nid"
	"github.com/pseudokit/pseudokit/withdraw"
)

// exitCode classifies err.
func exitCode(err error) int {
	var ue *usageError
	var pe *csvio.ParseError
	var re *pseudo.RowError
	var rule *pseudo.RuleError
	var coded interface{ ExitCode() int }
	switch {
	case errors.As(err, &coded):
		return coded.ExitCode()
	case errors.Is(err, errSomeInvalid):
		return ExitInvalidInput
	case errors.Is(err, errNotClean), errors.Is(err, withdraw.ErrNoPurpose), errors.Is(err, job.ErrNotGranted):
		return ExitRefused
	case errors.As(err, &ue), errors.As(err, &rule):
		return ExitUsage
	case errors.Is(err, keyvault.ErrWrongPassphrase):
		return ExitWrongPass
	case errors.As(err, &pe), errors.As(err, &re), errors.Is(err, pseudo.ErrMissingColumn),
		errors.Is(err, table.ErrNotParquet), errors.Is(err, csvio.ErrEmpty),
		errors.Is(err, job.ErrBadLinkFile), errors.Is(err, job.ErrBadGrant):
		return ExitInvalidInput
	case errors.Is(err, keyvault.ErrNotVault), errors.Is(err, keyvault.ErrUnsupportedVersion),
		errors.Is(err, keyvault.ErrCorrupt), errors.Is(err, keyvault.ErrLogTampered):
		return ExitVault
	case errors.Is(err, keyvault.ErrWithdrawn):
		return ExitRefused
	}
	return ExitFailure
}

// defaultHint suggests a next step for common errors.
func defaultHint(err error) string {
	var re *pseudo.RowError
	switch {
	case errors.Is(err, keyvault.ErrWrongPassphrase):
		return "check the passphrase (prompt, --passphrase-file or PSEUDOKIT_PASSPHRASE) and that --vault names the right vault"
	case errors.As(err, &re) && errors.Is(err, nid.ErrLeadingZero):
		return "the number has 10 digits; if Excel dropped a leading zero, add restore_leading_zero: true to the column's rule (or --restore-leading-zero)"
	case errors.As(err, &re):
		return "fix the value, or set invalid: flag (or --invalid=flag) to mark invalid values and go on"
	case errors.Is(err, csvio.ErrEncoding):
		return "if the file comes from Excel on Windows, try --encoding windows-1252"
	case errors.Is(err, os.ErrNotExist):
		return "check the path"
	}
	return ""
}
