// Package deptest holds the module's import-direction test: one table that
// says, for every package, which of the module's packages and which outside
// modules it may depend on (transitively). It is the executable form of the
// layout in ARCHITECTURE.md and of each package's doc.go. It has no code.
package deptest
