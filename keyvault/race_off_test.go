//go:build !race

package keyvault

const raceEnabled = false
