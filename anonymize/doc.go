// Package anonymize will turn pseudonymised datasets into anonymous ones:
// generalisation hierarchies, suppression, k-anonymity and l-diversity
// measurement, re-identification risk and optimal global recoding (issue #5).
// It has no API yet.
package anonymize
