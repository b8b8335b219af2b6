package policy

import (
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/scope"
)

// Allowance is an application's allowlist as the decision uses it: the
// scopes it may be granted (listed or implied, transitively) and, per
// audience, the default scopes a request without a scope parameter gets.
// Computing it walks the whole allowlist and its implications, so the
// catalog builds one per application per configuration revision
// (NewAllowance) and Decide only looks things up in it: a decision then
// costs the same for an application allowed 2 scopes and one allowed 500
// (issue 12).
//
// An Allowance is immutable. Decide uses the one in its Input only when it
// was built from the same Registry and the same allowlist slice; otherwise
// it builds its own, so a stale or mismatched one costs time, never
// correctness.
type Allowance struct {
	reg      *Registry
	clientID string
	listed   []string
	// allowed is the allowlist closed under implication.
	allowed scope.Set
	// defaults are the allowlisted, registered non-OIDC scopes by API ID;
	// oidc the allowlisted OIDC scopes (PRODUCT.md §2: a request without
	// a scope parameter gets the allowlist for the audience, RFC 6749 §3.3).
	defaults map[string][]string
	oidc     []string
	// nonOIDC are the allowlisted registered non-OIDC scopes, from which a
	// request naming neither scope nor audience finds its API.
	nonOIDC scope.Set
}

// NewAllowance computes app's allowance against the tenant's registry.
func NewAllowance(reg *Registry, app model.Application) *Allowance {
	a := &Allowance{
		reg: reg, clientID: app.ClientID, listed: app.AllowedScopes,
		allowed:  reg.Closure(scope.New(app.AllowedScopes...)),
		defaults: map[string][]string{},
	}
	var nonOIDC []string
	for _, n := range app.AllowedScopes {
		s, ok := reg.Scope(n)
		switch {
		case !ok:
		case s.Kind == model.KindOIDC:
			a.oidc = append(a.oidc, n)
		default:
			a.defaults[s.APIID] = append(a.defaults[s.APIID], n)
			nonOIDC = append(nonOIDC, n)
		}
	}
	a.nonOIDC = scope.New(nonOIDC...)
	return a
}

// Allowed returns the scopes the application may be granted: its allowlist
// and everything that implies, transitively.
func (a *Allowance) Allowed() scope.Set { return a.allowed }

// fits reports whether a was built for this registry and application's
// allowlist (the very slice, so a changed copy of the application does not
// match).
func (a *Allowance) fits(reg *Registry, app model.Application) bool {
	if a == nil || a.reg != reg || a.clientID != app.ClientID || len(a.listed) != len(app.AllowedScopes) {
		return false
	}
	return len(a.listed) == 0 || &a.listed[0] == &app.AllowedScopes[0]
}

// EffectiveAllowance returns in.Allowance when it was built for in's
// Registry and application, else a freshly computed one: what Decide uses.
func (in Input) EffectiveAllowance() *Allowance {
	if in.Allowance.fits(in.Registry, in.App) {
		return in.Allowance
	}
	return NewAllowance(in.Registry, in.App)
}
