package oautherr

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// Error codes.
const (
	InvalidRequest          = "invalid_request"           // RFC 6749 §5.2
	InvalidClient           = "invalid_client"            // RFC 6749 §5.2
	InvalidGrant            = "invalid_grant"             // RFC 6749 §5.2
	UnauthorizedClient      = "unauthorized_client"       // RFC 6749 §5.2
	UnsupportedGrantType    = "unsupported_grant_type"    // RFC 6749 §5.2
	InvalidScope            = "invalid_scope"             // RFC 6749 §5.2
	InvalidTarget           = "invalid_target"            // RFC 8707 §2
	AccessDenied            = "access_denied"             // RFC 6749 §4.1.2.1
	UnsupportedResponseType = "unsupported_response_type" // RFC 6749 §4.1.2.1
	ServerError             = "server_error"              // RFC 6749 §4.1.2.1
	TemporarilyUnavailable  = "temporarily_unavailable"   // RFC 6749 §4.1.2.1
	UnsupportedTokenType    = "unsupported_token_type"    // RFC 7009 §2.2.1
	InvalidToken            = "invalid_token"             // RFC 6750 §3.1
	InsufficientScope       = "insufficient_scope"        // RFC 6750 §3.1
)

// Error is an OAuth protocol error. Status is the HTTP status; Description is
// shown to the client and must never contain secrets; Cause is for the log.
type Error struct {
	Code        string
	Description string
	Status      int
	// Basic marks an invalid_client error for a client that tried HTTP Basic:
	// RFC 6749 §5.2 then requires 401 and a WWW-Authenticate header.
	Basic bool
	Cause error
}

// Error implements error.
func (e *Error) Error() string {
	s := e.Code
	if e.Description != "" {
		s += ": " + e.Description
	}
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// New returns an error with the status RFC 6749 §5.2 gives the code: 401 for
// invalid_client, 500 for server_error, 503 for temporarily_unavailable, 400
// otherwise.
func New(code, description string) *Error {
	status := http.StatusBadRequest
	switch code {
	case InvalidClient, InvalidToken:
		status = http.StatusUnauthorized
	case InsufficientScope:
		status = http.StatusForbidden
	case ServerError:
		status = http.StatusInternalServerError
	case TemporarilyUnavailable:
		status = http.StatusServiceUnavailable
	}
	return &Error{Code: code, Description: description, Status: status}
}

// Wrap returns New(code, description) with a cause for the log.
func Wrap(code, description string, cause error) *Error {
	e := New(code, description)
	e.Cause = cause
	return e
}

// As returns err as an *Error, or a server_error that hides err.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Wrap(ServerError, "the server could not complete the request", err)
}

// body is the RFC 6749 §5.1 error response body.
type body struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// Write writes err as an RFC 6749 §5.2 JSON error response with
// Cache-Control: no-store. An error that is not an *Error is written as a
// server_error without its text.
func Write(w http.ResponseWriter, err error) {
	e := As(err)
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if e.Code == InvalidClient && e.Basic {
		h.Set("WWW-Authenticate", `Basic realm="intelliauth", charset="UTF-8"`)
	}
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body{Error: e.Code, ErrorDescription: sanitize(e.Description)})
}

// sanitize keeps a description within RFC 6749 §5.2's error_description
// character set (%x20-21 / %x23-5B / %x5D-7E), replacing anything else.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == 0x20 || r == 0x21 || (r >= 0x23 && r <= 0x5b) || (r >= 0x5d && r <= 0x7e) {
			return r
		}
		return '?'
	}, s)
}

// BearerChallenge returns an RFC 6750 §3 WWW-Authenticate value. code may be
// empty (no credentials presented, §3.1: the challenge then carries no error).
// scope names the scope required, for insufficient_scope.
func BearerChallenge(realm, code, description, scope string) string {
	var b strings.Builder
	b.WriteString("Bearer")
	sep := " "
	add := func(k, v string) {
		if v == "" {
			return
		}
		b.WriteString(sep)
		b.WriteString(k)
		b.WriteString(`="`)
		b.WriteString(sanitize(v))
		b.WriteString(`"`)
		sep = ", "
	}
	add("realm", realm)
	add("error", code)
	add("error_description", description)
	add("scope", scope)
	return b.String()
}
