package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/policy"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/scope"
)

// This file holds the one rule against privilege escalation through the
// admin use-cases (PRODUCT.md §4: "No caller can grant through the API
// (allowlists, roles, memberships) a platform scope it does not hold").
// Without it applications:write was every platform scope: a client allowed
// only that scope added users:write … to its own allowlist, or rotated the
// secret of an admin client and acted as it.
//
// Every use-case that makes a principal hold platform scopes (an allowlist
// addition, a new application, a role's scopes, a role assignment, a group's
// roles, a membership, a new user's roles, the built-in roles of a tenant)
// calls Actor.mayGrant; every use-case that would hand the caller control of
// an application or a user (rotating a secret, changing an application's
// redirect URIs or settings, deleting it so its client_id can be re-created,
// setting a user's password) calls Actor.mayTakeOver. Both are one check.

// ErrInsufficientScope is wrapped by every *InsufficientScopeError.
var ErrInsufficientScope = errors.New("insufficient scope")

// InsufficientScopeError refuses a change that would give away platform
// scopes the actor's access token does not carry, or hand the actor control
// of an application or user holding such scopes. Nothing was written. Its
// Error is the sentence a caller may see (/api/v1 answers 403
// insufficient_scope with it and Missing as the scope).
type InsufficientScopeError struct {
	// Action is what was refused, e.g. "adding scopes to the allowlist of
	// ops-script".
	Action string
	// Holder, for a take-over, names the principal already holding Missing
	// (e.g. "application admin-tool"); empty for a grant.
	Holder string
	// Missing are the platform scopes the actor's token lacks, sorted.
	Missing []string
}

func (e *InsufficientScopeError) Error() string {
	m, what, it := strings.Join(e.Missing, " "), "scope", "it"
	if len(e.Missing) > 1 {
		what, it = "scopes", "them"
	}
	if e.Holder != "" {
		return fmt.Sprintf("%s would hand you %s, which holds the platform %s %s that your access token does not carry; "+
			"a caller may take over only applications and users whose platform scopes its own token carries: use a token that carries %s "+
			"(from a client or user allowed %s), or ask an admin who holds %s", e.Action, e.Holder, what, m, m, it, it)
	}
	return fmt.Sprintf("%s would grant the platform %s %s, which your access token does not carry; "+
		"a caller may grant only platform scopes its own token carries: use a token that carries %s "+
		"(from a client or user allowed %s), or ask an admin who holds %s", e.Action, what, m, m, it, it)
}

// Unwrap makes errors.Is(err, ErrInsufficientScope) true.
func (e *InsufficientScopeError) Unwrap() error { return ErrInsufficientScope }

// mayGrant refuses (*InsufficientScopeError) a change that makes a
// principal hold scopes, when they include platform scopes the actor does
// not hold.
func (a Actor) mayGrant(ctx context.Context, tx store.Repos, tenantID, action string, scopes []string) error {
	return a.check(ctx, tx, tenantID, action, "", scopes)
}

// mayTakeOver refuses (*InsufficientScopeError) a change that would hand
// the actor control of holder (its credentials, its redirect URIs, its
// client_id), when holder holds platform scopes the actor does not.
func (a Actor) mayTakeOver(ctx context.Context, tx store.Repos, tenantID, action, holder string, holds []string) error {
	return a.check(ctx, tx, tenantID, action, holder, holds)
}

// check is the rule. scopes are expanded with what they imply (adding
// users:write grants users:read too), as are the actor's; the platform
// scopes among them must all be the actor's. Not checked:
//   - OIDC and custom scopes: they open no platform route, and the scope
//     decision still requires the allowlist and, for users, the roles;
//   - the me:* scopes: every user holds them without a role (PRODUCT.md §1,
//     policy.NeedsNoRole) and they act only on the signed-in user's own
//     account, so granting them gives nobody anything they could not have;
//     a client-credentials token with them is refused by every me route.
//
// The operator's system actor (System, CLI) holds every platform scope.
func (a Actor) check(ctx context.Context, tx store.Repos, tenantID, action, holder string, scopes []string) error {
	if a.operator || len(scopes) == 0 {
		return nil
	}
	all, err := tx.Scopes().All(ctx, tenantID)
	if err != nil {
		return fmt.Errorf("load the scope registry: %w", err)
	}
	reg := policy.NewRegistry(all, nil)
	held := reg.Closure(scope.New(a.Scopes...))
	var missing []string
	for name := range reg.Closure(scope.New(scopes...)).All() {
		sc, ok := reg.Scope(name)
		if ok && sc.Kind == model.KindPlatform && !policy.NeedsNoRole(sc) && !held.Has(name) {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	// Name only what to ask for: users:write, not also the users:read it
	// implies.
	implied := map[string]bool{}
	for _, m := range missing {
		for n := range reg.Closure(scope.New(m)).All() {
			if n != m {
				implied[n] = true
			}
		}
	}
	if minimal := slices.DeleteFunc(slices.Clone(missing), func(n string) bool { return implied[n] }); len(minimal) > 0 {
		missing = minimal
	}
	return &InsufficientScopeError{Action: action, Holder: holder, Missing: missing}
}

// scopesOfRoles returns the union of the scopes of the named roles (what a
// member of a group giving them, or a user assigned them, holds).
func scopesOfRoles(ctx context.Context, tx store.Repos, tenantID string, roles []string) ([]string, error) {
	var out []string
	for _, name := range roles {
		r, err := getRole(ctx, tx, tenantID, name)
		if err != nil {
			return nil, err
		}
		out = append(out, r.Scopes...)
	}
	return sortedSet(out), nil
}
