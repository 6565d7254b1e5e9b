package keyvault

import (
	"errors"
	"fmt"
)

// Sentinel errors. Match them with [errors.Is]; the returned errors usually
// wrap them with more context. No error of this package contains an
// identifier (the canonical form of a person's identity number, name, ...).
var (
	// ErrNotVault means the file is not a pseudokit vault (not SQLite, or
	// SQLite without the vault's application id).
	ErrNotVault = errors.New("keyvault: not a pseudokit vault")

	// ErrUnsupportedVersion means the vault was written in a format version
	// this program does not know (usually a newer one). It is returned as a
	// [*VersionError].
	ErrUnsupportedVersion = errors.New("keyvault: unsupported vault format version")

	// ErrCorrupt means the file claims to be a vault but its content is
	// inconsistent: damaged SQLite pages, an unexpected schema, values of the
	// wrong type or out of range (for example key-derivation parameters that
	// would need more than 4 GiB of memory).
	ErrCorrupt = errors.New("keyvault: vault is corrupt")

	// ErrWrongPassphrase means that no key slot could be unlocked with the
	// given passphrase or age identities. The CLI maps it to exit code 3.
	ErrWrongPassphrase = errors.New("keyvault: wrong passphrase or key: no key slot could be unlocked")

	// ErrLogTampered means that the access-log hash chain or its
	// authenticated head does not verify: an entry was edited, deleted,
	// reordered or the log was truncated. It is returned as a
	// [*LogTamperedError].
	ErrLogTampered = errors.New("keyvault: access log integrity check failed")

	// ErrNoDomain means the named domain does not exist in the vault.
	ErrNoDomain = errors.New("keyvault: no such domain")

	// ErrDomainExists means a domain of that name already exists.
	ErrDomainExists = errors.New("keyvault: domain already exists")

	// ErrWrongScheme means the operation does not fit the domain's code
	// scheme (for example [Tx.Assign] in a keyed domain).
	ErrWrongScheme = errors.New("keyvault: operation does not fit the domain's code scheme")

	// ErrCodeTaken means the code is already linked to another identifier in
	// the domain. [Tx.Assign] returns it so that the caller retries with a
	// new random candidate.
	ErrCodeTaken = errors.New("keyvault: code already taken")

	// ErrConflict means the identifier is already linked to a different code
	// in the domain.
	ErrConflict = errors.New("keyvault: identifier already linked to a different code")

	// ErrWithdrawn means the identifier belongs to a person whose link has
	// been withdrawn (a tombstone, issue #4); it must not be linked again.
	// It is a refusal by policy (exit code 6).
	ErrWithdrawn = errors.New("keyvault: person has withdrawn")

	// ErrBusy means the vault stayed locked by another process or handle
	// for longer than the caller was willing to wait.
	ErrBusy = errors.New("keyvault: vault is locked by another writer")

	// ErrClosed means the vault handle has been closed.
	ErrClosed = errors.New("keyvault: vault is closed")

	// ErrTxDone means the transaction has already been committed or rolled
	// back (or its context ended).
	ErrTxDone = errors.New("keyvault: transaction already finished")

	// ErrInvalid means an argument is malformed (empty passphrase, bad
	// domain name, bad kind, too weak key-derivation parameters, ...).
	ErrInvalid = errors.New("keyvault: invalid argument")

	// ErrNotFound means that no link has the given code (in the domains
	// searched).
	ErrNotFound = errors.New("keyvault: no such code")

	// ErrLastHolder means the operation would remove the vault's last key
	// slot, after which nobody could ever unlock it. Destroy the vault with
	// [Vault.Destroy] instead. It is a refusal by policy.
	ErrLastHolder = errors.New("keyvault: the last key holder cannot be removed")

	// ErrNoSlot means that no key slot has the given id or label.
	ErrNoSlot = errors.New("keyvault: no such key slot")

	// ErrPurposeRequired means that an access that shows identifiers
	// ([Vault.Reveal]) or destroys the key ([Vault.Destroy]) was asked for
	// without a stated purpose. It is a refusal by policy.
	ErrPurposeRequired = errors.New("keyvault: a purpose is required for this access")

	// ErrDestroyed means the vault's key has been destroyed ([Vault.Destroy]):
	// it has no key slots and no links, only its access log, which
	// [VerifyFile] and [ReadLog] read without a key.
	ErrDestroyed = errors.New("keyvault: the vault's key has been destroyed")

	// ErrNotDestroyed means a function for destroyed vaults ([VerifyFile])
	// was given a vault that still holds its key: verify it with a key
	// holder's credentials ([Vault.Verify]).
	ErrNotDestroyed = errors.New("keyvault: the vault has not been destroyed; verify it with a key")

	// ErrLooksLikeIdentifier means a log entry field contains something that
	// looks like a Norwegian identity number (a run of exactly 11 digits).
	// Log entries are readable without the key and must never contain
	// identifiers.
	ErrLooksLikeIdentifier = errors.New("keyvault: log entry contains what looks like an identity number")
)

// VersionError reports a vault whose format version this program cannot
// handle. It matches [ErrUnsupportedVersion].
type VersionError struct {
	Found     int // format (major) version stored in the file
	Supported int // highest major version this program reads

	// WriterMinor is set when the major version is supported but the file
	// says (meta writer_minor) that only programs implementing at least
	// minor version WriterMinor may write to it; SupportedMinor is this
	// program's FormatMinor.
	WriterMinor, SupportedMinor int
}

// Error describes the version mismatch.
func (e *VersionError) Error() string {
	if e.WriterMinor > 0 {
		return fmt.Sprintf("keyvault: vault format %d.%d needs a newer program to write to it (this program writes %d.%d; upgrade pseudokit)",
			e.Found, e.WriterMinor, e.Supported, e.SupportedMinor)
	}
	return fmt.Sprintf("keyvault: vault format version %d is not supported (this program reads up to %d; upgrade pseudokit)", e.Found, e.Supported)
}

// Is reports whether target is [ErrUnsupportedVersion].
func (e *VersionError) Is(target error) bool { return target == ErrUnsupportedVersion }

// LogTamperedError reports the first access-log entry that failed
// verification. It matches [ErrLogTampered].
type LogTamperedError struct {
	Seq    int64  // sequence number of the first entry that does not verify
	Reason string // what was wrong with it
}

// Error names the first entry that failed and why.
func (e *LogTamperedError) Error() string {
	return fmt.Sprintf("keyvault: access log integrity check failed at entry %d: %s", e.Seq, e.Reason)
}

// Is reports whether target is [ErrLogTampered].
func (e *LogTamperedError) Is(target error) bool { return target == ErrLogTampered }

// typedErrors are the package's error classes; classify leaves an error
// that already is one of them as it is.
var typedErrors = []error{
	ErrNotVault, ErrUnsupportedVersion, ErrCorrupt, ErrWrongPassphrase, ErrLogTampered,
	ErrNoDomain, ErrDomainExists, ErrWrongScheme, ErrCodeTaken, ErrConflict, ErrWithdrawn,
	ErrBusy, ErrClosed, ErrTxDone, ErrInvalid, ErrNotFound, ErrLastHolder, ErrNoSlot,
	ErrPurposeRequired, ErrDestroyed, ErrNotDestroyed, ErrLooksLikeIdentifier,
}

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}
