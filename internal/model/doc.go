// Package model owns IntelliAuth's entities — tenants, scopes, APIs,
// applications, signing keys, revocations, audit events — and the invariants
// each can check on its own (Validate methods, naming rules, redirect-URI
// matching). It holds no I/O and imports only the standard library and the
// public scope package.
package model
