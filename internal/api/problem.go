package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/logging"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/oautherr"
)

// Error codes of the "error" member of a problem. The RFC 6750 codes are
// used for authentication and authorization failures, the others name the
// class of failure so a program can branch on it.
const (
	CodeInvalidToken      = oautherr.InvalidToken      // 401, RFC 6750 §3.1
	CodeInsufficientScope = oautherr.InsufficientScope // 403, RFC 6750 §3.1
	// CodeInsufficientUserAuthentication: 401, RFC 9470 §3 — the token's
	// sign-in did not pass the second factor the change needs.
	CodeInsufficientUserAuthentication = "insufficient_user_authentication"
	CodeInvalidRequest                 = "invalid_request"         // 400: malformed body, query or header
	CodeValidationFailed               = "validation_failed"       // 400: well-formed but invalid values; see errors[]
	CodeForbidden                      = "forbidden"               // 403 for other reasons than a missing scope
	CodeNotFound                       = "not_found"               // 404
	CodeMethodNotAllowed               = "method_not_allowed"      // 405
	CodeConflict                       = "conflict"                // 409
	CodePreconditionFailed             = "precondition_failed"     // 412, RFC 9110 §15.5.13
	CodeUnsupportedMediaType           = "unsupported_media_type"  // 415
	CodePreconditionRequired           = "precondition_required"   // 428, RFC 6585 §3
	CodeServerError                    = "server_error"            // 500
	CodeUnavailable                    = "temporarily_unavailable" // 503: the storage is unreachable; retry after Retry-After
	problemTypePrefix                  = "urn:intelliauth:problem:"
	problemContentType                 = "application/problem+json"
	genericServerErrorMessage          = "The server could not complete the request; try again later. If it keeps failing, the server's log has the cause."
)

// Problem is an RFC 7807 problem-details object, the one shape of every
// failure of the API. Type is "urn:intelliauth:problem:<error>"; Title is
// fixed per code; Detail is a sentence a person can act on; Error repeats
// the code for programs; Errors lists the fields that failed validation.
//
// It is also an error: handlers return it and writeError writes it.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail"`
	Code   string       `json:"error"`
	Errors []FieldError `json:"errors,omitempty"`
	// Scope names the scope a 403 insufficient_scope needed.
	Scope  string `json:"scope,omitempty"`
	header http.Header
	cause  error
}

// FieldError is one invalid field: Field names it as the request spells it
// (a JSON member, a query parameter, a header), Message says what to do.
type FieldError = model.Problem

func (p *Problem) Error() string {
	s := p.Code + ": " + p.Detail
	if p.cause != nil {
		s += ": " + p.cause.Error()
	}
	return s
}

// Unwrap returns the cause, for the log.
func (p *Problem) Unwrap() error { return p.cause }

var titles = map[string]string{
	CodeInvalidToken:         "Authentication required",
	CodeInsufficientScope:    "Insufficient scope",
	CodeInvalidRequest:       "Bad request",
	CodeValidationFailed:     "Invalid input",
	CodeForbidden:            "Forbidden",
	CodeNotFound:             "Not found",
	CodeMethodNotAllowed:     "Method not allowed",
	CodeConflict:             "Conflict",
	CodePreconditionFailed:   "Precondition failed",
	CodeUnsupportedMediaType: "Unsupported media type",
	CodePreconditionRequired: "Precondition required",
	CodeServerError:          "Internal server error",
	CodeUnavailable:          "Service unavailable",
}

// newProblem returns a problem with its type and title filled in.
func newProblem(status int, code, detail string) *Problem {
	return &Problem{Type: problemTypePrefix + code, Title: titles[code], Status: status, Detail: detail, Code: code}
}

// badRequest is a 400 invalid_request: the request could not be read.
func badRequest(format string, args ...any) *Problem {
	return newProblem(http.StatusBadRequest, CodeInvalidRequest, fmt.Sprintf(format, args...))
}

// invalidField is a 400 validation_failed about one field.
func invalidField(field, format string, args ...any) *Problem {
	msg := fmt.Sprintf(format, args...)
	p := newProblem(http.StatusBadRequest, CodeValidationFailed, sentence(fmt.Sprintf("%q: %s", field, msg)))
	p.Errors = []FieldError{{Field: field, Message: msg}}
	return p
}

// notFound is a 404.
func notFound(format string, args ...any) *Problem {
	return newProblem(http.StatusNotFound, CodeNotFound, fmt.Sprintf(format, args...))
}

// forbidden is a 403 for another reason than a missing scope.
func forbidden(format string, args ...any) *Problem {
	return newProblem(http.StatusForbidden, CodeForbidden, fmt.Sprintf(format, args...))
}

// unauthorized is a 401 with an RFC 6750 §3 challenge: code "" when the
// request carried no bearer token (§3.1: no error code then).
func unauthorized(realm, code, detail string) *Problem {
	p := newProblem(http.StatusUnauthorized, CodeInvalidToken, detail)
	desc := ""
	if code != "" {
		desc = detail
	}
	p.header = http.Header{"Www-Authenticate": {oautherr.BearerChallenge(realm, code, desc, "")}}
	return p
}

// insufficientScope is the RFC 6750 §3.1 403 naming the scope required,
// in the challenge and in the body.
func insufficientScope(realm, scope string) *Problem {
	p := newProblem(http.StatusForbidden, CodeInsufficientScope,
		fmt.Sprintf("This route needs the %s scope, which the access token does not carry; request a token with scope %s for this API's audience.", scope, scope))
	p.Scope = scope
	p.header = http.Header{"Www-Authenticate": {oautherr.BearerChallenge(realm, CodeInsufficientScope, "the token lacks scope "+scope, scope)}}
	return p
}

// escalationRefused is the 403 insufficient_scope of admin's escalation
// rule: the change would grant platform scopes the token lacks, or hand
// over an application or user holding them. The body and the RFC 6750 §3
// challenge name the missing scopes (space-separated, as §3's scope
// attribute); the detail says why and what to do.
func escalationRefused(realm string, e *admin.InsufficientScopeError) *Problem {
	missing := strings.Join(e.Missing, " ")
	p := newProblem(http.StatusForbidden, CodeInsufficientScope, sentence(e.Error()))
	p.Scope = missing
	p.header = http.Header{"Www-Authenticate": {oautherr.BearerChallenge(realm, CodeInsufficientScope, "the token lacks scope "+missing, missing)}}
	p.cause = e
	return p
}

// asProblem maps any error a handler returns to the problem the client
// sees, through admin.Describe: the one mapping of a use-case's error to
// its status and public sentence, which the console shares. Every error
// admin.Describe does not know becomes a 500 whose cause is only logged.
func asProblem(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	d := admin.Describe(err)
	switch d.Kind {
	case admin.KindInvalid:
		p = newProblem(http.StatusBadRequest, CodeValidationFailed, sentence(d.Message))
		p.Errors = d.Problems
		if len(p.Errors) == 0 {
			p.Errors = []FieldError{{Field: "", Message: d.Message}}
		}
	case admin.KindForbidden:
		p = forbidden("%s", sentence(d.Message))
	case admin.KindPrecondition:
		p = newProblem(d.Kind.Status(), CodePreconditionFailed,
			sentence(d.Message)+" GET the resource again for its current ETag, re-apply your change and send it with that ETag in If-Match.")
	case admin.KindNotFound:
		p = newProblem(d.Kind.Status(), CodeNotFound, sentence(d.Message))
	case admin.KindConflict:
		p = newProblem(d.Kind.Status(), CodeConflict, sentence(d.Message))
	default:
		p = newProblem(http.StatusInternalServerError, CodeServerError, genericServerErrorMessage)
	}
	p.cause = err
	return p
}

// summarize joins field problems into one detail sentence.
func summarize(ps model.Problems) string {
	parts := make([]string, 0, len(ps))
	for _, p := range ps {
		if p.Field == "" {
			parts = append(parts, p.Message)
		} else {
			parts = append(parts, fmt.Sprintf("%q: %s", p.Field, p.Message))
		}
	}
	return sentence(strings.Join(parts, "; "))
}

// sentence capitalises s (unless it starts with a quoted field name) and
// ends it with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	if c := s[0]; c >= 'a' && c <= 'z' {
		s = string(c-'a'+'A') + s[1:]
	}
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}

// writeError writes err as a problem and logs it: server errors at Error
// with their cause, client errors at Info. A client that went away gets
// nothing (status 499 in the access log, a Debug line); a storage outage is
// a 503 with Retry-After, whatever the handler made of the failed read
// (logging.Classify decides both).
//
// who names the caller in the refusal line (tenant, and client_id/user_id
// once the token was verified), so an operator can tell whose request it
// was; nil before the tenant is known.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, who *Request, err error) {
	k := logging.Classify(r.Context(), err)
	if k == logging.ClientGone {
		h.logger().DebugContext(r.Context(), "client went away", "method", r.Method, "path", r.URL.Path, "cause", err)
		w.WriteHeader(logging.StatusClientClosedRequest)
		return
	}
	var p *Problem
	if ie := (*admin.InsufficientScopeError)(nil); errors.As(err, &ie) {
		realm := ""
		if snap, ok := catalog.FromContext(r.Context()); ok {
			realm = snap.Tenant.Issuer
		}
		p = escalationRefused(realm, ie)
	} else {
		p = asProblem(err)
	}
	if k == logging.Unavailable {
		p = newProblem(http.StatusServiceUnavailable, CodeUnavailable,
			"The server cannot reach its database right now; retry after the number of seconds in Retry-After.")
		p.header = http.Header{"Retry-After": {logging.RetryAfterSeconds}}
		p.cause = err
	}
	cause := ""
	if p.cause != nil {
		cause = p.cause.Error()
	}
	attrs := []any{"method", r.Method, "path", r.URL.Path, "status", p.Status, "error", p.Code, "cause", cause}
	if who != nil && who.Snap != nil {
		attrs = append(attrs, "tenant", who.Snap.Tenant.ID)
		switch who.Actor.Type {
		case model.ActorClient:
			attrs = append(attrs, "client_id", who.Actor.ID)
		case model.ActorUser:
			attrs = append(attrs, "user_id", who.Actor.ID, "client_id", who.Actor.Via)
		}
	}
	h.logger().Log(r.Context(), logging.Level(k, p.Status), "api request refused", attrs...)
	writeProblem(w, p)
}

// writeProblem writes p with its headers; the body never carries the cause.
func writeProblem(w http.ResponseWriter, p *Problem) {
	hd := w.Header()
	for k, v := range p.header {
		hd[k] = v
	}
	hd.Set("Content-Type", problemContentType)
	hd.Set("Cache-Control", "no-store")
	hd.Del("ETag")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// WriteNotFound writes a 404 problem document with detail, for paths under
// /api/v1 that no tenant serves (the server's tenant routing), so that the
// API answers in one shape even before a tenant is found.
func WriteNotFound(w http.ResponseWriter, detail string) {
	writeProblem(w, notFound("%s", detail))
}
