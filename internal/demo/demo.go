// Package demo holds the bundled synthetic dataset that 'pseudokit demo'
// pseudonymises. Every person in it is made up: the identity numbers are
// Test-Norge synthetic numbers (month + 80), which no real person has.
package demo

import _ "embed"

// Participants is a semicolon-separated CSV with a UTF-8 BOM and CRLF line
// endings, as Excel exports it: 40 synthetic participants, one mistyped
// number, one that lost its leading zero, one written with a space, and
// free-text notes that name a person, a phone number and an e-mail address.
//
//go:embed participants.csv
var Participants []byte

// Rules is the rule file for Participants.
//
//go:embed rules.yaml
var Rules []byte
