package policy

import (
	"errors"
	"fmt"
	"slices"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/oautherr"
	"github.com/intelliauth/intelliauth/scope"
)

// Reason says why one scope was granted or dropped.
type Reason string

// Reasons, in the order the decision applies them.
const (
	// Granted: requested and granted.
	Granted Reason = "granted"
	// Default: the request named no scope, so the application's allowlisted
	// scopes for the audience were granted (RFC 6749 §3.3 "pre-defined default").
	Default Reason = "default"
	// Implied: not requested, added because a granted scope implies it.
	Implied Reason = "implied"
	// NotRegistered: the tenant's registry does not know the scope.
	NotRegistered Reason = "not_registered"
	// WrongAudience: the scope is defined by another API than the target.
	WrongAudience Reason = "wrong_audience"
	// NotAllowed: neither on the application's allowlist nor implied by it.
	NotAllowed Reason = "not_allowed"
	// NotInGrant: a refresh asked for a scope the original grant lacks.
	NotInGrant Reason = "not_in_grant"
	// NoUser: an OIDC scope in a flow without a user (client credentials).
	NoUser Reason = "no_user"
	// NotEntitled: the user's roles do not give the scope.
	NotEntitled Reason = "not_entitled"
	// StepUpRequired: the scope requires a second factor (Scope.RequiresMFA)
	// and the user's sign-in did not pass one (PRODUCT.md §2 step 6b).
	StepUpRequired Reason = "step_up_required"
	// NotConsented: the user has not approved the scope.
	NotConsented Reason = "not_consented"
)

// refusing reports whether a reason fails a strict application's request.
func (r Reason) refusing() bool {
	return r == NotRegistered || r == WrongAudience || r == NotAllowed
}

// Result is the outcome for one scope.
type Result struct {
	Scope   string `json:"scope"`
	Granted bool   `json:"granted"`
	Reason  Reason `json:"reason"`
}

// User is what the decision needs to know about the end user.
type User struct {
	// Entitled is the union of the user's roles' scopes, with what they imply.
	Entitled scope.Set
	// MFA reports whether the sign-in behind the request passed a second
	// factor (its amr holds "mfa"); a scope that requires one is dropped
	// without it.
	MFA bool
}

// Input is everything one decision looks at.
type Input struct {
	// Scope is the raw scope parameter.
	Scope string
	// Audience is the audience or RFC 8707 resource parameter; empty if none.
	Audience string
	App      model.Application
	Registry *Registry
	// User is nil for flows without a user (client credentials).
	User *User
	// Consented is nil when consent is not evaluated (no user, implicit
	// consent, or the consent screen is yet to be shown); otherwise the
	// scopes the user has approved for this application.
	Consented *scope.Set
	// Ceiling, when set, bounds the request: a refresh may narrow the
	// original grant's scopes but never widen them (RFC 6749 §6).
	Ceiling *scope.Set
	// Allowance is App's precomputed allowance (NewAllowance over
	// Registry; the catalog snapshot holds one per application). Nil, or
	// one built for another registry or allowlist, is computed afresh.
	Allowance *Allowance
}

// Decision is the outcome of Decide.
type Decision struct {
	Requested scope.Set `json:"-"`
	// Audience is the target API; zero when the decision failed before one
	// was chosen.
	Audience model.API `json:"-"`
	// Granted is what the token carries, implications included.
	Granted scope.Set `json:"-"`
	// Results has one entry per requested scope (in order), then one per
	// implied or defaulted scope.
	Results []Result `json:"results"`
	// Note, when Granted is empty, says why the token carries no scope:
	// the reason of each requested scope, all of them dropped (a permissive
	// application, PRODUCT.md §2 step 4). The token is issued all the same,
	// with an empty scope (RFC 6749 §5.1: scope is REQUIRED when it differs
	// from the request). Empty otherwise.
	Note string `json:"-"`
}

// Dropped returns the results that were not granted.
func (d Decision) Dropped() []Result {
	var out []Result
	for _, r := range d.Results {
		if !r.Granted {
			out = append(out, r)
		}
	}
	return out
}

// Decide runs the scope decision of PRODUCT.md §2. It returns the decision
// as far as it got and, when the request must fail, an *oautherr.Error:
// invalid_scope (malformed, or a strict application asking beyond its
// allowlist, or a refresh widening its grant) or invalid_target (unknown
// audience, or scopes of several APIs without one). Scopes a user is not
// entitled to or has not consented to are dropped, never an error.
func Decide(in Input) (Decision, error) {
	var d Decision
	// 1. parse (RFC 6749 §3.3).
	req, err := scope.Parse(in.Scope)
	if errors.Is(err, scope.ErrTooLarge) {
		return d, oautherr.Wrap(oautherr.InvalidScope, fmt.Sprintf("the scope parameter is too large: at most %d scopes and %d bytes", scope.MaxTokens, scope.MaxLength), err)
	}
	if err != nil {
		return d, oautherr.Wrap(oautherr.InvalidScope, "the scope parameter is malformed", err)
	}
	d.Requested = req
	reg := in.Registry
	// The allowlist as the application may use it (listed or implied),
	// precomputed per configuration revision.
	al := in.EffectiveAllowance()

	// 3a. audience: the target API.
	target, err := resolveAudience(in, al, req)
	if err != nil {
		return d, err
	}
	d.Audience = target

	allowed := al.allowed
	fits := func(s model.Scope) bool { return s.Kind == model.KindOIDC || s.APIID == target.ID }

	defaulted := false
	if req.Empty() {
		// RFC 6749 §3.3: with no scope parameter the server "MUST either
		// process the request using a pre-defined default value or fail".
		// The default is everything the allowlist gives for this audience.
		names := al.defaults[target.ID]
		if in.User != nil {
			names = append(slices.Clip(names), al.oidc...)
		}
		if len(names) == 0 {
			return d, oautherr.New(oautherr.InvalidScope, "no scope was requested and the application has no default scope for this audience")
		}
		req, defaulted = scope.New(names...), true
	}

	// 2–6. one reason per requested scope.
	granted := make([]string, 0, req.Len())
	var refused []string
	for name := range req.All() {
		r := Result{Scope: name, Granted: true, Reason: Granted}
		if defaulted {
			r.Reason = Default
		}
		s, known := reg.Scope(name)
		switch {
		case !known:
			r.Reason = NotRegistered
		case !fits(s):
			r.Reason = WrongAudience
		case !allowed.Has(name):
			r.Reason = NotAllowed
		case in.Ceiling != nil && !in.Ceiling.Has(name):
			r.Reason = NotInGrant
		case in.User == nil && s.Kind == model.KindOIDC:
			r.Reason = NoUser
		case in.User != nil && !NeedsNoRole(s) && !in.User.Entitled.Has(name):
			r.Reason = NotEntitled
		case in.User != nil && s.RequiresMFA && !in.User.MFA:
			// Before consent: the user authenticates (steps up) before being
			// asked to approve what the stronger sign-in unlocks.
			r.Reason = StepUpRequired
		case in.Consented != nil && !in.Consented.Has(name):
			r.Reason = NotConsented
		}
		if r.Reason != Granted && r.Reason != Default {
			r.Granted = false
			if r.Reason == NotInGrant || (r.Reason.refusing() && in.App.ScopePolicy != model.PolicyPermissive) {
				refused = append(refused, name)
			}
		} else {
			granted = append(granted, name)
		}
		d.Results = append(d.Results, r)
	}
	if len(refused) > 0 {
		return d, oautherr.Wrap(oautherr.InvalidScope, refusal(in, d.Audience, d.Results, refused), fmt.Errorf("scope decision refused %v", refused))
	}

	// 7. implication: expand so that a plain includes() check at a resource
	// server is correct. Implied scopes outside the audience are left out:
	// the token could not be used for them anyway. A scope that requires a
	// second factor is not implied into a sign-in that passed none: it is
	// dropped with step_up_required as if it had been asked for, or the
	// weaker sign-in would reach it through a scope that implies it.
	base := scope.New(granted...)
	closed := reg.Closure(base)
	var out []string
	for name := range closed.All() {
		if base.Has(name) {
			out = append(out, name)
			continue
		}
		s, ok := reg.Scope(name)
		if !ok || !fits(s) || (in.User == nil && s.Kind == model.KindOIDC) {
			continue
		}
		if in.User != nil && s.RequiresMFA && !in.User.MFA {
			d.Results = append(d.Results, Result{Scope: name, Reason: StepUpRequired})
			continue
		}
		out = append(out, name)
		d.Results = append(d.Results, Result{Scope: name, Granted: true, Reason: Implied})
	}
	d.Granted = scope.New(out...)
	if d.Granted.Empty() {
		var dropped []string
		for _, r := range d.Results {
			if !r.Granted {
				dropped = append(dropped, r.Scope)
			}
		}
		d.Note = "every requested scope was dropped: " + refusal(in, d.Audience, d.Results, dropped)
	}
	return d, nil
}

// resolveAudience applies PRODUCT.md §2 step 3: the audience or resource
// parameter if given (unknown → invalid_target); else the single API that
// defines the requested non-OIDC scopes; else the platform API.
func resolveAudience(in Input, al *Allowance, req scope.Set) (model.API, error) {
	reg := in.Registry
	if in.Audience != "" {
		a, ok := reg.API(in.Audience)
		if !ok {
			return model.API{}, oautherr.New(oautherr.InvalidTarget, unknownAudience(reg, in.Audience))
		}
		return a, nil
	}
	names := req
	if names.Empty() {
		// A request without scopes and without an audience defaults to the
		// single API the application's allowlist points at, if there is one.
		names = al.nonOIDC
	}
	var found model.API
	n := 0
	for name := range names.All() {
		s, ok := reg.Scope(name)
		if !ok || s.Kind == model.KindOIDC {
			continue
		}
		if n > 0 && s.APIID == found.ID {
			continue
		}
		a, ok := reg.APIByID(s.APIID)
		if !ok {
			continue
		}
		if n > 0 {
			return model.API{}, oautherr.New(oautherr.InvalidTarget, "the requested scopes belong to more than one API; name one with the audience or resource parameter")
		}
		found, n = a, 1
	}
	if n == 1 {
		return found, nil
	}
	p, ok := reg.PlatformAPI()
	if !ok {
		return model.API{}, oautherr.New(oautherr.InvalidTarget, "this tenant has no platform API")
	}
	return p, nil
}
