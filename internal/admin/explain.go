package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/policy"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/token"
	"github.com/intelliauth/intelliauth/oautherr"
	"github.com/intelliauth/intelliauth/scope"
)

// Explanation is the scope decision for an application, audience and scope
// string, as the token endpoint would make it — without issuing anything.
type Explanation struct {
	ClientID    string `json:"client_id"`
	ScopePolicy string `json:"scope_policy"`
	// RequestedScope and RequestedAudience echo the input.
	RequestedScope    string `json:"requested_scope"`
	RequestedAudience string `json:"requested_audience,omitempty"`
	// Audience is the API the token would be for ("" when the decision
	// failed before choosing one).
	Audience string `json:"audience,omitempty"`
	// Granted is what the token would carry, implications included.
	Granted []string `json:"granted"`
	// Results has a reason for every requested (or defaulted, or implied) scope.
	Results []policy.Result `json:"results"`
	// Error is the OAuth error the request would get, nil when it succeeds.
	Error *ExplainedError `json:"error,omitempty"`
	// User is the end user the decision was made for (ExplainFor with a
	// user); nil for a client-credentials decision.
	User *ExplainedUser `json:"user,omitempty"`
	// TokenSize is the length in bytes of the access token the request
	// would be issued: the compact JWS, minted for real (token.Keyring's
	// MintAccess, as the token endpoint does) with the tenant's current key
	// for the API's algorithm and the same claims, then thrown away. Fewer
	// scopes make a smaller token. 0 (left out) when no token would be
	// issued, or when the service has no master key (Service.Sealer).
	TokenSize int `json:"token_size,omitempty"`
	// TokenSizeBudget is the API's token-size budget
	// (model.API.TokenSizeBudget), left out when it has none; OverBudget
	// then says whether TokenSize is over it. Both are left out when
	// TokenSize is.
	TokenSizeBudget int   `json:"token_size_budget,omitempty"`
	OverBudget      *bool `json:"over_budget,omitempty"`
	// Decision is the raw decision, for callers that want more.
	Decision policy.Decision `json:"-"`
}

// ExplainedError is the OAuth error a request would be refused with.
type ExplainedError struct {
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

// ExplainedUser is the end user of an explained decision: what the
// decision knew about them (PRODUCT.md §2 steps 5 and 6).
type ExplainedUser struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	// Status is active or disabled; a disabled user could not sign in to
	// get the token at all.
	Status string `json:"status"`
	// Entitled is the scopes the user's roles give, implications included.
	Entitled []string `json:"entitled"`
	// Consent is the application's consent mode, required or implicit: it
	// says whether Consented counts (an empty Consented is left out of the
	// JSON like a nil one).
	Consent string `json:"consent"`
	// Consented is what the user approved for the application; nil (left
	// out) when its consent is implicit.
	Consented []string `json:"consented,omitempty"`
	// MFA echoes ExplainInput.MFA: whether the decision assumed a sign-in
	// that passed a second factor (without one, a scope that requires it
	// is dropped with step_up_required).
	MFA bool `json:"mfa"`
}

// ExplainInput is what ExplainFor decides on.
type ExplainInput struct {
	ClientID string
	// Audience is the audience or RFC 8707 resource parameter, "" for none.
	Audience string
	// Scope is the raw scope parameter (RFC 6749 §3.3).
	Scope string
	// User, when not empty, is a user ID, username or email: the decision
	// is then the one of an authorization-code request by that user, with
	// their entitlements and their consent for the application, so that the
	// reasons include not_entitled and not_consented. Empty: a
	// client-credentials request.
	User string
	// MFA, with a user, says that the user's sign-in passed a second
	// factor (policy.User.MFA): a scope that requires one (Scope.RequiresMFA)
	// is then decided like any other; without it, it is dropped with
	// step_up_required — at authorize the user would be asked to step up.
	// It says nothing of whether the user has a factor enrolled. Without a
	// user it is refused: a client-credentials request has no sign-in.
	MFA bool
}

// Explain runs the scope decision (policy.Decide) for a client-credentials
// request of clientID with the given audience and scope parameters. A
// refusal is part of the explanation, not an error; errors are for what
// stops the explanation itself (unknown tenant or application, storage).
func (s *Service) Explain(ctx context.Context, actor Actor, tenantID, clientID, audience, scopeParam string) (Explanation, error) {
	return s.ExplainFor(ctx, actor, tenantID, ExplainInput{ClientID: clientID, Audience: audience, Scope: scopeParam})
}

// ExplainFor is Explain, optionally for a user (in.User). With a user, the
// decision is the one the token endpoint would make when the user's
// authorization code is redeemed now: their entitlements (the scopes of
// their roles, direct or through groups, with what those imply) and, unless
// the application's consent is implicit, the scopes they have consented
// to. A scope not yet consented is reported not_consented — at authorize
// the consent screen would ask for it. An unknown user is an error wrapping
// store.ErrNotFound; a disabled user is explained all the same (Status
// says they could not sign in).
func (s *Service) ExplainFor(ctx context.Context, actor Actor, tenantID string, in ExplainInput) (Explanation, error) {
	clientID, audience, scopeParam := in.ClientID, in.Audience, in.Scope
	out := Explanation{ClientID: clientID, RequestedScope: scopeParam, RequestedAudience: audience}
	if in.MFA && in.User == "" {
		return out, invalid("mfa", "applies to a user's sign-in; name the user, or leave mfa out for a client-credentials request")
	}
	err := s.read(ctx, actor, func(tx store.Repos) error {
		tenant, err := getTenant(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		app, err := getApp(ctx, tx, tenantID, clientID)
		if err != nil {
			return err
		}
		scopes, err := tx.Scopes().All(ctx, tenantID)
		if err != nil {
			return fmt.Errorf("load scope registry: %w", err)
		}
		apis, err := tx.APIs().List(ctx, tenantID)
		if err != nil {
			return fmt.Errorf("load APIs: %w", err)
		}
		out.ScopePolicy = app.ScopePolicy
		reg := policy.NewRegistry(scopes, apis)
		pin := policy.Input{Scope: scopeParam, Audience: audience, App: app, Registry: reg}
		if in.User != "" {
			if out.User, err = explainUser(ctx, tx, reg, app, tenantID, in.User, &pin); err != nil {
				return err
			}
			pin.User.MFA, out.User.MFA = in.MFA, in.MFA
		}
		d, derr := policy.Decide(pin)
		out.Decision = d
		out.Audience = d.Audience.Identifier
		out.Granted = nonNil(d.Granted.Names())
		out.Results = d.Results
		if out.Results == nil {
			out.Results = []policy.Result{}
		}
		if derr != nil {
			var oe *oautherr.Error
			if !errors.As(derr, &oe) {
				return derr
			}
			out.Granted = []string{}
			out.Error = &ExplainedError{Code: oe.Code, Description: oe.Description}
			return nil
		}
		// A user's code grant issues nothing when every scope was dropped
		// (internal/oauth's authorizationCode); client credentials do.
		if out.User != nil && d.Granted.Empty() {
			return nil
		}
		return s.explainSize(ctx, tx, tenant, &app, d, out.User, &out)
	})
	return out, err
}

// explainSize mints the access token the decision would be issued and
// records its size against the API's budget. Without the master key it
// records nothing.
func (s *Service) explainSize(ctx context.Context, tx store.Repos, tenant model.Tenant, app *model.Application, d policy.Decision, user *ExplainedUser, out *Explanation) error {
	if s.Sealer == nil {
		return nil
	}
	keys, err := tx.Keys().List(ctx, tenant.ID)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	ring, err := token.NewKeyring(keys, s.Sealer)
	if err != nil {
		return fmt.Errorf("signing keys of %q: %w", tenant.ID, err)
	}
	now := s.now()
	g := token.AccessGrant{Issuer: tenant.Issuer, App: app, API: &d.Audience, Subject: app.ClientID, Granted: d.Granted, Now: now}
	if user != nil {
		// The user signs in now: auth_time is as long as it will be, and
		// amr (with acr) as the sign-in the decision assumed.
		g.Subject, g.AuthTime, g.AMR = user.ID, now, []string{model.AMRPassword}
		if user.MFA {
			g.AMR = []string{model.AMRPassword, model.AMROTP, model.AMRMulti}
		}
	}
	raw, _, err := ring.MintAccess(g)
	if err != nil {
		return fmt.Errorf("mint the explained access token: %w", err)
	}
	out.TokenSize = len(raw)
	if b := d.Audience.TokenSizeBudget; b > 0 {
		over := out.TokenSize > b
		out.TokenSizeBudget, out.OverBudget = b, &over
	}
	return nil
}

// explainUser loads what the decision needs to know about the user
// (entitlements and consent, as internal/oauth's userInput does) into pin.
func explainUser(ctx context.Context, tx store.Repos, reg *policy.Registry, app model.Application, tenantID, ref string, pin *policy.Input) (*ExplainedUser, error) {
	u, err := resolveUser(ctx, tx, tenantID, ref)
	if err != nil {
		return nil, err
	}
	names, err := tx.Roles().ScopesOfUser(ctx, tenantID, u.ID)
	if err != nil {
		return nil, fmt.Errorf("entitlements of %s: %w", u.ID, err)
	}
	entitled := reg.Closure(scope.New(names...))
	pin.User = &policy.User{Entitled: entitled}
	out := &ExplainedUser{ID: u.ID, Username: u.Username, Status: u.Status, Entitled: nonNil(entitled.Names()), Consent: app.Consent}
	if app.Consent != model.ConsentImplicit {
		c, err := tx.Consents().Get(ctx, tenantID, u.ID, app.ClientID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("consent of %s for %s: %w", u.ID, app.ClientID, err)
		}
		consented := scope.New(c.Scopes...)
		pin.Consented = &consented
		out.Consented = nonNil(consented.Names())
	}
	return out, nil
}
