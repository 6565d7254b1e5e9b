// Package cli implements the pseudokit command line. It is thin: it parses
// flags, reads passphrases, shows progress and maps errors to exit codes;
// every behaviour lives in the pseudo, keyvault and anonymize packages.
package cli
