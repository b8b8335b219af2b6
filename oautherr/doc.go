// Package oautherr owns the OAuth error vocabulary — RFC 6749 §4.1.2.1 and
// §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1, RFC 8707 §2 — as values, and the one
// function that writes them as a JSON response.
//
// A handler returns an *Error; the client sees Code and a fixed Description,
// while Cause (never serialized) carries the internal reason for the log.
// It imports the standard library only.
package oautherr
