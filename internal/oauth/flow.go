package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/policy"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/oautherr"
	"github.com/intelliauth/intelliauth/scope"
)

// CodeTTL is the lifetime of an authorization code. RFC 6749 §4.1.2: "A
// maximum authorization code lifetime of 10 minutes is RECOMMENDED"; a code
// is redeemed within a second or two, so one minute leaves room for slow
// networks and little for a thief.
const CodeTTL = 60 * time.Second

// flow runs one authorization request from the authorization endpoint to
// the authorization code. The user may be sent to the login and consent
// pages in between, served by any node: the request waits in
// store.AuthRequests, and the pages send the browser back to the resume
// endpoint, which continues the same state machine.
//
//	GET|POST /oauth2/authorize
//	    │ client_id, redirect_uri bad ───────────────→ error page (never a redirect)
//	    │ anything else bad ─────────────────────────→ redirect_uri?error=…&state&iss
//	    ▼
//	 signed in for this request, or a session that
//	 satisfies prompt, max_age and login_hint?
//	    │ no                                        │ yes
//	    ├─ prompt=none → error=login_required       │
//	    ▼                                           │
//	 303 {iss}/login?request=ID                     │
//	    │ (login page sets UserID, SessionID,       │
//	    │  AuthTime)                                │
//	    ▼                                           │
//	 GET {iss}/oauth2/authorize/resume?request=ID   │
//	    │ browser session ≠ request's → error page  │
//	    ▼                                           ▼
//	 scope decision: allowlist, audience, entitlement, consent (PRODUCT.md §2)
//	    │ (once per API when the request names several, RFC 8707 §2.1)
//	    │ invalid_scope, invalid_target ─────────────→ redirect error
//	    ▼
//	 scopes not yet consented (or prompt=consent), and consent not answered?
//	    │ yes                                       │ no
//	    ├─ prompt=none → error=consent_required     │
//	    ▼                                           │
//	 303 {iss}/consent?request=ID                   │
//	    │ (consent page records the consent, sets   │
//	    │  ConsentDone, Denied)                     │
//	    ▼                                           │
//	 resume: Denied → error=access_denied           │
//	    │ else decide again: unticked scopes are    │
//	    │ not consented and are dropped             │
//	    ▼                                           ▼
//	 code (256 bits, stored hashed, 60 s, single use, bound to client,
//	 redirect URI and PKCE challenge) → 303 redirect_uri?code&state&iss
//
// ConsentDone keeps the consent page from being shown twice, and a
// request that has been through the login page is not sent there again, so
// the machine cannot loop. Nothing here issues tokens: the code is
// exchanged at the token endpoint (authorizationCode).
type flow struct {
	h    *Handler
	snap *catalog.Snapshot
	app  *catalog.App
	req  model.AuthRequest
	// user is the signed-in user, once known.
	user model.User
	// amr is how the user's session authenticated (RFC 8176), once known.
	amr []string
	// stored says whether req is in store.AuthRequests.
	stored bool
}

// run advances the request as far as it can go without the user.
func (f *flow) run(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if !f.stored && f.req.Peer == "" {
		f.req.Peer = f.h.Login.PeerKey(r)
	}
	if f.req.UserID == "" {
		sess, user, ok, err := f.h.Login.CurrentSession(r, f.snap)
		if err != nil {
			return f.serverError(fmt.Errorf("read session: %w", err))
		}
		if !ok || f.mustSignIn(sess, user) {
			if hasPrompt(f.req.Prompt, promptNone) {
				// OIDC Core 1.0 §3.1.2.6: "The Authorization Server requires
				// End-User authentication."
				return f.fail(ctx, errLoginRequired, "the user must sign in")
			}
			if err := f.save(ctx); err != nil {
				return err
			}
			f.toPage(w, "/login")
			return nil
		}
		f.req.UserID, f.req.SessionID, f.req.AuthTime = user.ID, sess.ID, sess.AuthTime
		f.user, f.amr = user, sess.AMR
	} else if f.user.ID == "" {
		u, err := f.h.Store.Users().Get(ctx, f.snap.Tenant.ID, f.req.UserID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return f.serverError(fmt.Errorf("load user: %w", err))
		}
		f.user = u
	}
	if f.user.ID == "" || f.user.Status != model.UserActive {
		return f.fail(ctx, oautherr.AccessDenied, "the user may not sign in")
	}

	// The decision, with the user's entitlements and consent as they are:
	// once per API the request names (RFC 8707 §2.1, apiRequests).
	scopeParam, err := f.effectiveScope(ctx)
	if err != nil {
		return err
	}
	parts, err := apiRequests(f.snap.Registry, scopeParam, f.resources())
	if err != nil {
		return &redirectError{err: oautherr.As(err), redirectURI: f.req.RedirectURI, state: f.req.State, issuer: f.snap.Tenant.Issuer}
	}
	in, err := f.h.userInput(ctx, f.snap, f.app, f.user.ID, f.amr, scopeParam, f.req.Audience)
	if err != nil {
		return f.serverError(err)
	}
	decide := func(in policy.Input) ([]policy.Decision, error) {
		ds := make([]policy.Decision, len(parts))
		for i, p := range parts {
			in.Scope, in.Audience = p.scope, p.audience
			d, err := policy.Decide(in)
			if err != nil {
				return nil, err
			}
			ds[i] = d
		}
		return ds, nil
	}
	ds, err := decide(in)
	if err != nil {
		return &redirectError{err: oautherr.As(err), redirectURI: f.req.RedirectURI, state: f.req.State, issuer: f.snap.Tenant.Issuer}
	}

	// 6b. A second factor before consent, when this sign-in has passed
	// none and needs one: by the tenant's or the application's policy, for
	// a scope that requires one, or for acr_values asking for it.
	if !model.HasMFA(f.amr) {
		need, err := f.h.Login.SecondFactorNeed(ctx, f.snap, f.app, f.user, f.stepUp(ds))
		if err != nil {
			return f.serverError(err)
		}
		if need.Due && !(need.Skippable && (f.req.MFASkipped || hasPrompt(f.req.Prompt, promptNone))) {
			if hasPrompt(f.req.Prompt, promptNone) {
				// OIDC Core 1.0 §3.1.2.6 interaction_required.
				return f.fail(ctx, errInteractionRequired, "the user must pass a second factor")
			}
			if err := f.save(ctx); err != nil {
				return err
			}
			q := url.Values{"request": {f.req.ID}}
			if f.stepUp(ds) {
				q.Set("step_up", "1")
			}
			redirect(w, f.snap.Tenant.Issuer+"/mfa", q)
			return nil
		}
	}

	if !f.req.ConsentDone {
		// The consent screen asks once for a scope several APIs share (the
		// OIDC scopes), and groups the others by API.
		var ask []string
		for _, d := range ds {
			ask = appendNew(ask, notConsented(d)...)
		}
		if hasPrompt(f.req.Prompt, promptConsent) && in.Consented != nil {
			// OIDC Core 1.0 §3.1.2.1 prompt=consent: ask again for everything.
			// An application with implicit consent (first-party) has its
			// consent given by the tenant's admin, so the screen is not shown
			// for it even then.
			in.Consented = nil
			all, err := decide(in)
			if err != nil {
				return f.serverError(err)
			}
			ask = nil
			for _, d := range all {
				ask = appendNew(ask, requestedGranted(d)...)
			}
		}
		if len(ask) > 0 {
			if hasPrompt(f.req.Prompt, promptNone) {
				return f.fail(ctx, errConsentRequired, "the user must consent")
			}
			f.req.AskScopes = ask
			if err := f.save(ctx); err != nil {
				return err
			}
			f.toPage(w, "/consent")
			return nil
		}
	}
	granted := false
	for _, d := range ds {
		granted = granted || !d.Granted.Empty()
	}
	if !granted {
		return f.fail(ctx, oautherr.AccessDenied, "no requested scope could be granted")
	}
	return f.issueCode(w, r, scopeParam, ds)
}

// ownScope reports whether the decision granted a scope its API defines,
// not only OIDC scopes (which go with any API).
func ownScope(reg *policy.Registry, d policy.Decision) bool {
	for name := range d.Granted.All() {
		if s, ok := reg.Scope(name); ok && s.Kind != model.KindOIDC {
			return true
		}
	}
	return false
}

// resources returns the APIs the request names: Resources when it names
// several, else its Audience alone (or none).
func (f *flow) resources() []string {
	if len(f.req.Resources) > 0 {
		return f.req.Resources
	}
	if f.req.Audience != "" {
		return []string{f.req.Audience}
	}
	return nil
}

// appendNew appends the names list does not hold yet.
func appendNew(list []string, names ...string) []string {
	for _, n := range names {
		if !slices.Contains(list, n) {
			list = append(list, n)
		}
	}
	return list
}

// stepUp reports whether the request asks for more than the session's
// authentication gives: a requested scope that requires a second factor
// (the decision dropped it with step_up_required), or acr_values whose
// first value this server knows is "mfa" (OIDC Core 1.0 §3.1.2.1: the
// values are in order of preference).
func (f *flow) stepUp(ds []policy.Decision) bool {
	for _, d := range ds {
		for _, r := range d.Results {
			if r.Reason == policy.StepUpRequired {
				return true
			}
		}
	}
	for v := range strings.FieldsSeq(f.req.ACRValues) {
		switch v {
		case model.ACRMFA:
			return true
		case model.ACRPassword:
			return false
		}
	}
	return false
}

// mustSignIn reports whether a live session still needs a fresh sign-in
// for this request: prompt=login or select_account (OIDC Core 1.0
// §3.1.2.1), a max_age the session's authentication is older than, or a
// login_hint naming another user.
func (f *flow) mustSignIn(sess model.Session, user model.User) bool {
	if hasPrompt(f.req.Prompt, promptLogin) || hasPrompt(f.req.Prompt, promptSelectAccount) {
		return true
	}
	if f.req.MaxAge >= 0 && f.h.now().Sub(sess.AuthTime) > time.Duration(f.req.MaxAge)*time.Second {
		return true
	}
	if hint := f.req.LoginHint; hint != "" && !strings.EqualFold(hint, user.Username) && !strings.EqualFold(hint, user.Email) {
		return true
	}
	return false
}

// effectiveScope is the scope parameter with, when include_granted_scopes
// is set, the scopes the user already consented to for this client added —
// only those the allowlist still permits and that go with the request's
// audience (or one of the APIs a request of several names), so that adding
// them can neither fail a strict application nor change the token's
// audience.
func (f *flow) effectiveScope(ctx context.Context) (string, error) {
	if !f.req.IncludeGranted || f.req.Scope == "" {
		// Without a scope parameter the request already gets the
		// application's whole default for the audience.
		return f.req.Scope, nil
	}
	c, err := f.h.Store.Consents().Get(ctx, f.snap.Tenant.ID, f.user.ID, f.app.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		return f.req.Scope, nil
	}
	if err != nil {
		return "", f.serverError(fmt.Errorf("load consent: %w", err))
	}
	reg := f.snap.Registry
	base := policy.Input{Scope: f.req.Scope, Audience: f.req.Audience, App: f.app.Application, Registry: reg, User: &policy.User{}, Allowance: f.app.Allowance}
	// The request's APIs: those it names, or the one the decision picks.
	apis := map[string]bool{}
	if len(f.req.Resources) > 1 {
		for _, res := range f.req.Resources {
			if a, ok := reg.API(res); ok {
				apis[a.ID] = true
			}
		}
	} else {
		d, err := policy.Decide(base)
		if err != nil {
			return "", &redirectError{err: oautherr.As(err), redirectURI: f.req.RedirectURI, state: f.req.State, issuer: f.snap.Tenant.Issuer}
		}
		apis[d.Audience.ID] = true
	}
	requested, _ := scope.Parse(f.req.Scope)
	allowed := base.EffectiveAllowance().Allowed()
	var extra []string
	for _, n := range c.Scopes {
		s, ok := reg.Scope(n)
		if !ok || requested.Has(n) || !allowed.Has(n) {
			continue
		}
		if s.Kind == model.KindOIDC || apis[s.APIID] {
			extra = append(extra, n)
		}
	}
	if len(extra) == 0 {
		return f.req.Scope, nil
	}
	return requested.Union(scope.New(extra...)).String(), nil
}

// userInput assembles the scope decision's input for a user flow:
// PRODUCT.md §2 steps 5 and 6 — the user's entitlements (their roles'
// scopes with what those imply) and, unless the application's consent is
// implicit, what the user has consented to for it.
//
// amr is how the user authenticated for this grant: a scope that requires
// a second factor is granted only when it records one.
func (h *Handler) userInput(ctx context.Context, snap *catalog.Snapshot, app *catalog.App, userID string, amr []string, scopeParam, aud string) (policy.Input, error) {
	ur := h.Store
	names, err := ur.Roles().ScopesOfUser(ctx, snap.Tenant.ID, userID)
	if err != nil {
		return policy.Input{}, fmt.Errorf("entitlements of %s: %w", userID, err)
	}
	in := policy.Input{
		Scope: scopeParam, Audience: aud, App: app.Application, Registry: snap.Registry, Allowance: app.Allowance,
		User: &policy.User{Entitled: snap.Registry.Closure(scope.New(names...)), MFA: model.HasMFA(amr)},
	}
	if app.Consent != model.ConsentImplicit {
		c, err := ur.Consents().Get(ctx, snap.Tenant.ID, userID, app.ClientID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return policy.Input{}, fmt.Errorf("consent of %s for %s: %w", userID, app.ClientID, err)
		}
		consented := scope.New(c.Scopes...)
		in.Consented = &consented
	}
	return in, nil
}

// notConsented returns the scopes the decision dropped only for want of
// consent: what the consent screen must ask for.
func notConsented(d policy.Decision) []string {
	var out []string
	for _, r := range d.Results {
		if r.Reason == policy.NotConsented {
			out = append(out, r.Scope)
		}
	}
	return out
}

// requestedGranted returns the requested (or defaulted) scopes the
// decision granted, without those added by implication.
func requestedGranted(d policy.Decision) []string {
	var out []string
	for _, r := range d.Results {
		if r.Granted && r.Reason != policy.Implied {
			out = append(out, r.Scope)
		}
	}
	return out
}

// issueCode stores a code for the decision and returns it to the client
// (RFC 6749 §4.1.2), with iss (RFC 9207 §2).
//
// A request of several APIs (RFC 8707 §2.1) makes a code that records each
// API with its granted scopes; an API the decision granted none of its own
// scopes for (the user unticked them, or is entitled to none) is left out
// of the grant — a token request for it is invalid_target — and the code's
// Audience and Scopes are the first API's left.
func (f *flow) issueCode(w http.ResponseWriter, r *http.Request, scopeParam string, ds []policy.Decision) error {
	d := ds[0]
	var resources []model.ResourceGrant
	if len(ds) > 1 {
		first := -1
		for i, di := range ds {
			if ownScope(f.snap.Registry, di) {
				resources = append(resources, model.ResourceGrant{Audience: di.Audience.Identifier, Scopes: di.Granted.Names()})
				if first < 0 {
					first = i
				}
			}
		}
		if first < 0 {
			// Only OIDC scopes were granted: a grant of the first API.
			resources = nil
		} else {
			d = ds[first]
		}
	}
	ctx := r.Context()
	now := f.h.now()
	code := newOpaque()
	ac := model.AuthCode{
		TenantID:            f.snap.Tenant.ID,
		Hash:                hashOpaque(code),
		ClientID:            f.app.ClientID,
		UserID:              f.user.ID,
		SessionID:           f.req.SessionID,
		RedirectURI:         f.req.RedirectURI,
		CodeChallenge:       f.req.CodeChallenge,
		CodeChallengeMethod: f.req.CodeChallengeMethod,
		Scopes:              d.Granted.Names(),
		Audience:            d.Audience.Identifier,
		Resources:           resources,
		Nonce:               f.req.Nonce,
		AuthTime:            f.req.AuthTime,
		AMR:                 f.amr,
		ExpiresAt:           now.Add(CodeTTL),
		CreatedAt:           now,
	}
	// The request is kept under a name derived from the code until the
	// code expires, so that the token endpoint can re-run the decision on
	// what was asked for and audit a reason for every requested scope.
	kept := f.req
	kept.ID = codeRequestID(ac.Hash)
	kept.Scope = scopeParam
	kept.ExpiresAt = ac.ExpiresAt
	err := f.h.Store.InTx(ctx, func(tx store.Repos) error {
		ur := tx
		if err := ur.Codes().Create(ctx, ac); err != nil {
			return fmt.Errorf("store code: %w", err)
		}
		if err := ur.AuthRequests().Create(ctx, kept); err != nil {
			return fmt.Errorf("keep request: %w", err)
		}
		if f.stored {
			if err := ur.AuthRequests().Delete(ctx, f.snap.Tenant.ID, f.req.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("delete request: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return f.serverError(err)
	}
	q := url.Values{"code": {code}, "iss": {f.snap.Tenant.Issuer}}
	if f.req.State != "" {
		q.Set("state", f.req.State)
	}
	redirect(w, f.req.RedirectURI, q)
	return nil
}

// codeRequestID names the request kept for a code. It is derived from the
// code's hash, which never leaves the server, by a second hash, so the name
// reveals nothing of the code either.
func codeRequestID(codeHash string) string { return "code." + hashOpaque(codeHash) }

// save stores the request, or updates the fields the flow fills in. A new
// request is refused with temporarily_unavailable (RFC 6749 §4.1.2.1: "The
// authorization server is currently unable to handle the request due to a
// temporary overloading") when its application or its client address
// already has as many unfinished requests as the Handler allows: each
// waits AuthRequestTTL in the store, and without a bound anyone could fill
// the store with them.
func (f *flow) save(ctx context.Context) error {
	ar := f.h.Store.AuthRequests()
	var err error
	if f.stored {
		err = ar.Update(ctx, f.req)
	} else {
		err = ar.CreateBounded(ctx, f.req, f.h.MaxPendingPerClient, f.h.MaxPendingPerPeer)
	}
	if errors.Is(err, store.ErrLimit) {
		f.h.Logger.WarnContext(ctx, "authorization request refused: too many unfinished requests",
			"tenant", f.snap.Tenant.ID, "client_id", f.req.ClientID, "peer", f.req.Peer, "cause", err.Error())
		return &redirectError{
			err:         oautherr.New(oautherr.TemporarilyUnavailable, "too many sign-ins are waiting to be finished; try again in a few minutes"),
			redirectURI: f.req.RedirectURI, state: f.req.State, issuer: f.snap.Tenant.Issuer,
		}
	}
	if err != nil {
		return f.serverError(fmt.Errorf("store authorization request: %w", err))
	}
	f.stored = true
	return nil
}

// toPage sends the browser to a page of the tenant with the request's ID.
func (f *flow) toPage(w http.ResponseWriter, path string) {
	redirect(w, f.snap.Tenant.Issuer+path, url.Values{"request": {f.req.ID}})
}

// fail returns an error for the client's redirect URI and forgets the
// request.
func (f *flow) fail(ctx context.Context, code, desc string) error {
	if f.stored {
		// Best effort: an unanswered request expires on its own.
		_ = f.h.Store.AuthRequests().Delete(ctx, f.snap.Tenant.ID, f.req.ID)
	}
	return &redirectError{err: oautherr.New(code, desc), redirectURI: f.req.RedirectURI, state: f.req.State, issuer: f.snap.Tenant.Issuer}
}

// serverError is RFC 6749 §4.1.2.1 server_error, sent to the client.
func (f *flow) serverError(cause error) error {
	return &redirectError{
		err:         oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", cause),
		redirectURI: f.req.RedirectURI, state: f.req.State, issuer: f.snap.Tenant.Issuer,
	}
}

// resume continues a request after the login or consent page.
func (h *Handler) resume(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) error {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		return &pageError{status: http.StatusMethodNotAllowed, title: "Invalid request", detail: "Use GET."}
	}
	ctx := r.Context()
	params, err := readAuthParams(w, r)
	if err != nil {
		return err
	}
	id, dup := single(params, "request")
	if id == "" || dup || strings.HasPrefix(id, "code.") {
		return badRequestPage("Invalid request", "The sign-in request is missing.")
	}
	gone := badRequestPage("Sign-in expired", "This sign-in has expired or was already completed. Go back to the application and start again.")
	req, err := h.Store.AuthRequests().Get(ctx, snap.Tenant.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return gone
	}
	if err != nil {
		return &pageError{status: http.StatusInternalServerError, title: "Something went wrong", detail: "The server could not complete the request. Please try again.", cause: err}
	}
	if !h.now().Before(req.ExpiresAt) {
		return gone
	}
	snap, app, err := h.findApp(r, snap, req.ClientID, func(a *catalog.App) bool { return true })
	if err != nil {
		return err
	}
	if app == nil || !app.MatchRedirectURI(req.RedirectURI) {
		return badRequestPage("Unknown application", "The application that sent you here is no longer registered.")
	}
	if req.UserID == "" || req.SessionID == "" {
		return badRequestPage("Sign-in not finished", "Sign in first. Go back to the application and start again.")
	}
	sess, user, ok, err := h.Login.CurrentSession(r, snap)
	if err != nil {
		return &pageError{status: http.StatusInternalServerError, title: "Something went wrong", detail: "The server could not complete the request. Please try again.", cause: err}
	}
	if !ok || sess.ID != req.SessionID || user.ID != req.UserID {
		// The request belongs to another browser (or a session since
		// ended): continuing would hand a code to whoever holds the link.
		return badRequestPage("Sign-in cannot continue", "This sign-in was started in another browser session. Go back to the application and start again.")
	}
	f := &flow{h: h, snap: snap, app: app, req: req, user: user, amr: sess.AMR, stored: true}
	if req.Denied {
		// RFC 6749 §4.1.2.1 access_denied: "The resource owner or
		// authorization server denied the request."
		return f.fail(ctx, oautherr.AccessDenied, "the user denied the request")
	}
	return f.run(w, r)
}
