// Package anonymize turns pseudonymised datasets into anonymous ones.
package anonymize
