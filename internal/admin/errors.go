package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// Error is a use-case's refusal with the sentence a caller may read. The
// use-case that refuses writes the sentence (naming the tenant's own
// entities, never a table, a constraint, a storage layer or a secret), so
// no surface ever derives what it shows from err.Error().
//
// Err is the cause: it wraps the sentinel that classifies the refusal
// (store.ErrNotFound, store.ErrConflict, store.ErrPrecondition,
// model.ErrInvalid, ErrForbidden) and carries what the log should see.
// Describe maps both to what /api/v1, the console and the account pages
// show.
type Error struct {
	// Public is one sentence without its final full stop, e.g.
	// `scope "read:x" already exists in tenant "acme"`.
	Public string
	Err    error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Public
	}
	return e.Public + ": " + e.Err.Error()
}

// Unwrap returns the cause, for errors.Is and the log.
func (e *Error) Unwrap() error { return e.Err }

// refuse returns the refusal whose public sentence is format's, over cause
// (which wraps the classifying sentinel; a sentinel itself will do). When
// cause already carries a sentence of its own — a refusal further down,
// which knows better what is wrong — that one stays public and format only
// adds to the log's text.
func refuse(cause error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	var inner *Error
	if errors.As(cause, &inner) {
		return fmt.Errorf("%s: %w", msg, cause)
	}
	return &Error{Public: msg, Err: cause}
}

// lookupErr wraps the error of reading what (a noun phrase such as
// `scope "read:x"`): a missing entity is the refusal "<what> was not found
// in this tenant"; any other failure is the server's, with no public text.
func lookupErr(cause error, what string) error {
	if errors.Is(cause, store.ErrNotFound) {
		return refuse(cause, "%s was not found in this tenant", what)
	}
	return fmt.Errorf("%s: %w", what, cause)
}

// writeErr wraps the error of a store write to what: the entity gone
// meanwhile, changed meanwhile (its version moved) or in conflict with
// another becomes a refusal that names it; any other failure is the
// server's. Use-cases that know better what a conflict means (a name that
// is taken) say so themselves before calling it.
func writeErr(cause error, what string) error {
	switch {
	case errors.Is(cause, store.ErrNotFound):
		return refuse(cause, "%s was not found in this tenant", what)
	case errors.Is(cause, store.ErrPrecondition):
		return refuse(cause, "%s changed meanwhile", what)
	case errors.Is(cause, store.ErrConflict):
		return refuse(cause, "%s conflicts with what exists", what)
	}
	return fmt.Errorf("%s: %w", what, cause)
}

// Kind is the class of a use-case's error, which decides how a surface
// answers it.
type Kind int

// Kinds of use-case errors.
const (
	// KindInternal: the server's own failure; only the log sees why.
	KindInternal Kind = iota
	// KindInvalid: bad input (model.ErrInvalid), with field problems when
	// it is a *model.ValidationError.
	KindInvalid
	// KindForbidden: the caller may not do this at all (ErrForbidden).
	KindForbidden
	// KindInsufficientScope: the change would grant platform scopes the
	// caller's token lacks (*InsufficientScopeError).
	KindInsufficientScope
	// KindNotFound: the entity does not exist in the tenant.
	KindNotFound
	// KindConflict: a name is taken, or something is still in use.
	KindConflict
	// KindPrecondition: the caller's version is not the stored one.
	KindPrecondition
	// KindThrottled: too many failed attempts (*ThrottledError).
	KindThrottled
)

// Status is the HTTP status of the kind, the same on every surface.
func (k Kind) Status() int {
	switch k {
	case KindInvalid:
		return http.StatusBadRequest
	case KindForbidden, KindInsufficientScope:
		return http.StatusForbidden
	case KindNotFound:
		return http.StatusNotFound
	case KindConflict:
		return http.StatusConflict
	case KindPrecondition:
		return http.StatusPreconditionFailed
	case KindThrottled:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// Public is what a surface may show of a use-case's error.
type Public struct {
	Kind Kind
	// Message is the sentence, without its final full stop: the refusal's
	// own (Error.Public), or the kind's general one when the use-case gave
	// none (Fallback is then true). Empty for KindInternal.
	Message  string
	Fallback bool
	// Problems are a validation error's field problems (KindInvalid).
	Problems []model.Problem
}

// The general sentences of refusals that carry none of their own.
const (
	fallbackNotFound     = "the resource was not found in this tenant"
	fallbackConflict     = "the change conflicts with what exists (a name that is taken, or something still in use)"
	fallbackPrecondition = "the resource changed meanwhile"
	fallbackInvalid      = "the request is not valid"
	fallbackForbidden    = "this account may not be managed here"
	fallbackThrottled    = "too many failed attempts; try again later"
)

// Describe classifies err and returns what a caller may read of it: the
// one mapping /api/v1 and the console (and the account pages) share. The
// sentence is the outermost typed refusal's (Error, InsufficientScopeError,
// a validation error's problems), never text cut out of err.Error().
func Describe(err error) Public {
	var (
		ise *InsufficientScopeError
		te  *ThrottledError
		ve  *model.ValidationError
		p   Public
	)
	switch {
	case err == nil:
		return Public{}
	case errors.As(err, &ise):
		return Public{Kind: KindInsufficientScope, Message: ise.Error()}
	case errors.As(err, &te) || errors.Is(err, ErrThrottled):
		p = Public{Kind: KindThrottled, Message: fallbackThrottled}
	case errors.As(err, &ve):
		p = Public{Kind: KindInvalid, Problems: append([]model.Problem(nil), ve.Problems...)}
		p.Message = summarize(p.Problems)
		return p
	case errors.Is(err, model.ErrInvalid):
		p = Public{Kind: KindInvalid, Message: fallbackInvalid}
	case errors.Is(err, ErrForbidden):
		p = Public{Kind: KindForbidden, Message: fallbackForbidden}
	case errors.Is(err, store.ErrPrecondition):
		p = Public{Kind: KindPrecondition, Message: fallbackPrecondition}
	case errors.Is(err, store.ErrNotFound):
		p = Public{Kind: KindNotFound, Message: fallbackNotFound}
	case errors.Is(err, store.ErrConflict):
		p = Public{Kind: KindConflict, Message: fallbackConflict}
	default:
		return Public{Kind: KindInternal}
	}
	var ae *Error
	if errors.As(err, &ae) && ae.Public != "" {
		p.Message = ae.Public
		return p
	}
	p.Fallback = true
	return p
}

// summarize joins field problems into one sentence (without its full
// stop).
func summarize(ps []model.Problem) string {
	parts := make([]string, 0, len(ps))
	for _, p := range ps {
		if p.Field == "" {
			parts = append(parts, p.Message)
		} else {
			parts = append(parts, fmt.Sprintf("%q: %s", p.Field, p.Message))
		}
	}
	return strings.TrimSuffix(strings.Join(parts, "; "), ".")
}
