// Package config owns IntelliAuth's typed configuration: the defaults (in
// Defaults, and nowhere else), the environment variables and command-line
// flags that set each field (flags override the environment, which overrides
// the defaults), and Validate, which reports every problem at once so an
// operator fixes a bad configuration in one round.
//
// It is the only package besides cmd/intelliauth that reads the environment,
// and it does so only through the lookup function it is given. It may import
// internal/token (to check the master key's format); no other internal
// package imports it: the composition root copies the fields they need into
// their own options.
package config
