package model

import "time"

// ConsoleClientID is the client ID of the admin console, the first-party
// application every tenant has (PRODUCT.md §5): created with the tenant,
// and by migration 0006 for tenants that existed before.
const ConsoleClientID = "console"

// ConsolePath is where the console lives, relative to a tenant's issuer.
const ConsolePath = "/console"

// ConsoleSession is a signed-in browser of the admin console. The console
// keeps the tokens it was issued server-side: the browser holds only the
// session cookie, whose SHA-256 is ID.
type ConsoleSession struct {
	TenantID string
	// ID is the hex SHA-256 of the session cookie's value.
	ID     string
	UserID string
	// Tokens is the sealed token set (access, refresh and ID token), opened
	// only with the master key; the store never sees the tokens in clear.
	Tokens []byte
	// AccessExpiresAt is when the access token in Tokens expires: the
	// console refreshes before it.
	AccessExpiresAt time.Time
	CreatedAt       time.Time
	// ExpiresAt ends the session however active it is.
	ExpiresAt time.Time
	// Version is bumped by every token update (compare-and-swap).
	Version int64
}
