// Package scope owns the OAuth 2.0 scope-token grammar (RFC 6749 §3.3), an
// immutable ordered set of scope names, and implication closure.
//
// It is public so that resource servers and the SDK can share the exact
// parsing rules of the authorization server. It imports the standard library
// only; a test holds that line.
package scope
