package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/logging"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/policy"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/token"
	"github.com/intelliauth/intelliauth/oautherr"
	"github.com/intelliauth/intelliauth/scope"
)

// tokenForm is the token request's form (RFC 6749 §4.1.3, §4.4.2, §6),
// parsed once into the fields the grants read. Parameters a grant does not
// use are ignored (RFC 6749 §3.2).
type tokenForm struct {
	grantType string
	// scope is the raw scope parameter (RFC 6749 §3.3).
	scope string
	// audience is the target API, from audience or RFC 8707 resource;
	// audienceErr refuses a request that names several (reported after the
	// grant type checks, as the order of the pipeline has it).
	audience    string
	audienceErr error
	// resources are the APIs the request names, in order (resourceParams):
	// the code and refresh grants pick among their grant's APIs with them
	// (coveredAPI); for the others, more than one is audienceErr.
	resources []string
	// code, codeVerifier and redirectURI are the authorization_code grant's.
	code         string
	codeVerifier string
	redirectURI  string
	// refreshToken is the refresh_token grant's.
	refreshToken string
}

func parseTokenForm(form url.Values) tokenForm {
	grantType := form.Get("grant_type")
	var (
		aud    string
		audErr error
	)
	res, resErr := resourceParams(form)
	switch grantType {
	case model.GrantAuthorizationCode, model.GrantRefreshToken:
		// RFC 8707 §2.2: the token is for the first API named, which the
		// grant must cover.
		if audErr = resErr; len(res) > 0 {
			aud = res[0]
		}
	default:
		aud, audErr = audienceParam(form)
	}
	return tokenForm{
		grantType:    grantType,
		scope:        form.Get("scope"),
		audience:     aud,
		audienceErr:  audErr,
		resources:    res,
		code:         form.Get("code"),
		codeVerifier: form.Get("code_verifier"),
		redirectURI:  form.Get("redirect_uri"),
		refreshToken: form.Get("refresh_token"),
	}
}

// tokenRequest is one authenticated token request as the grant hooks see it.
type tokenRequest struct {
	snap *catalog.Snapshot
	app  *catalog.App
	form tokenForm
}

// issued is what a grant produced: the response to send and what the audit
// event must say.
type issued struct {
	resp     tokenResponse
	decision policy.Decision
	subject  string
	jti      string
	expires  time.Time
	// familyID is the refresh-token family the response carries a member
	// of, if any.
	familyID string
	// refresh is the refresh token to store with the grant's write, if the
	// response carries one; nothing is stored until the pipeline commits.
	refresh *refreshWrite
}

// overBudget reports whether the access token is longer than its API's
// token-size budget (none: never).
func (out *issued) overBudget() bool {
	b := out.decision.Audience.TokenSizeBudget
	return b > 0 && len(out.resp.AccessToken) > b
}

// tokenResponse is the RFC 6749 §5.1 success body. Scope is always
// present, empty too: §5.1 makes it REQUIRED when it differs from the
// request, and a permissive application may get none of what it asked for.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

// decisionInput is a grant's part of the scope decision's input
// (policy.Input): the pipeline adds the application and the registry of the
// snapshot the client was authenticated against, so no hook can decide
// against anything else, or not decide at all.
type decisionInput struct {
	scope    string
	audience string
	// user, consented and ceiling are policy.Input's User, Consented and
	// Ceiling.
	user      *policy.User
	consented *scope.Set
	ceiling   *scope.Set
	// permissive applies the decision with the application's scope policy
	// relaxed to permissive: a scope the allowlist lost since the grant was
	// made is dropped with its reason instead of failing the request (the
	// strict policy held when the grant was made).
	permissive bool
}

// grantPlan is what a grant hook returns once the grant's own checks have
// passed: the decision's inputs, then the steps the pipeline runs after
// policy.Decide.
type grantPlan struct {
	input decisionInput
	// subject is the grant's user, for the audit event of a refusal (empty
	// for client credentials, whose refusals name only the client).
	subject string
	// mint makes the tokens of the decision. It writes nothing: a grant's
	// writes are commit's.
	mint func(ctx context.Context, d policy.Decision) (*issued, error)
	// commit, when set, is the grant's write — a code's redemption, a refresh
	// token's rotation, the new refresh-token family — run in one
	// transaction with the oauth.token_issued event: both are stored or
	// neither, and a request that fails before the commit (an audit write
	// that fails, a client that went away) leaves the presented code or
	// refresh token as it was. nil for grants that spend nothing (client
	// credentials), whose event goes through the group-committed log.
	commit func(ctx context.Context, r store.Repos, out *issued) error
	// replayed, when set, runs after a commit refused with store.ErrReused
	// (a concurrent request redeemed the credential first) and its
	// transaction rolled back: the replay's revocations and audit event are
	// written on their own, outside the rolled-back transaction.
	replayed func(ctx context.Context)
}

// grantHook runs one grant type's own checks and reads what the scope
// decision needs. It must not call policy.Decide: the pipeline does, with
// the returned inputs, so that no grant can skip the decision. On a refusal
// it may return a plan whose subject names the grant's user for the audit
// event.
type grantHook func(h *Handler, ctx context.Context, req *tokenRequest) (*grantPlan, error)

// grantFor is the table of grant types: fixed at compile time, not built
// per request.
func grantFor(grantType string) (grantHook, bool) {
	switch grantType {
	case model.GrantClientCredentials:
		return (*Handler).clientCredentials, true
	case model.GrantAuthorizationCode:
		return (*Handler).authorizationCode, true
	case model.GrantRefreshToken:
		return (*Handler).refreshToken, true
	}
	return nil, false
}

// token is the token endpoint: one fixed pipeline for every grant type.
//
//	read form → authenticate client → grant hook (the grant's own checks,
//	the decision's inputs) → policy.Decide → the hook's mint → commit:
//	the grant's write and its audit event together → respond
//
// A token leaves the server only after its oauth.token_issued event is
// committed (PRODUCT.md §9), in the same transaction as the redemption or
// rotation that issued it; refusals after client authentication write
// oauth.token_refused.
func (h *Handler) token(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) error {
	ctx := r.Context()
	ar := r
	actx, sp := h.span(ctx, spanClientAuth)
	if h.Tracer != nil {
		ar = r.WithContext(actx) // a copy of the request only when tracing
	}
	values, creds, snap, app, err := h.authenticatedForm(w, ar, snap)
	endSpan(sp, err)
	if err != nil {
		if h.Metrics != nil {
			client := UnknownClient
			if _, ok := snap.App(creds.clientID); ok {
				client = creds.clientID
			}
			h.Metrics.TokenRefused(snap.Tenant.ID, client, grantLabel(values.Get("grant_type")), refusalReason(ctx, err, nil))
		}
		return err
	}
	allowClientOrigin(w, r, app)
	form := parseTokenForm(values)
	if form.grantType == "" {
		err := oautherr.New(oautherr.InvalidRequest, "grant_type is required")
		h.countRefusal(ctx, snap, app, form, nil, err)
		return refused(err, app.ClientID, "")
	}
	if sp := trace.SpanFromContext(ctx); sp.IsRecording() {
		sp.SetAttributes(attribute.String("tenant", snap.Tenant.ID), attribute.String("client_id", app.ClientID),
			attribute.String("grant_type", grantLabel(form.grantType)))
	}
	req := &tokenRequest{snap: snap, app: app, form: form}
	plan, out, err := h.runGrant(ctx, req)
	if err != nil && refusedByConfig(err) {
		// The snapshot may be a moment old (an allowlist or grant type changed
		// on another node): re-check the revision once before refusing.
		// Nothing was written yet, so the grant can simply run again.
		if fresh, ferr := h.Catalog.Recheck(ctx, snap.Tenant.ID); ferr == nil && fresh != snap {
			if a, ok := fresh.App(app.ClientID); ok {
				req.snap, req.app = fresh, a
				plan, out, err = h.runGrant(ctx, req)
			}
		}
	}
	if err == nil {
		cctx, sp := h.span(ctx, spanAuditCommit)
		err = h.commitGrant(cctx, req, plan, out)
		endSpan(sp, err)
	}
	if err != nil {
		h.recordRefusal(ctx, req, out, err)
		h.countRefusal(ctx, req.snap, req.app, req.form, out, err)
		return refused(err, req.app.ClientID, refusalReason(ctx, err, out))
	}
	if m := h.Metrics; m != nil {
		tenant, client := req.snap.Tenant.ID, req.app.ClientID
		m.TokenIssued(tenant, client, grantLabel(req.form.grantType))
		for _, r := range out.decision.Results {
			if !r.Granted {
				m.ScopeDropped(tenant, client, r.Reason)
			}
		}
		if out.overBudget() {
			m.TokenOverBudget(tenant, out.decision.Audience.Identifier)
		}
	}
	writeJSON(w, http.StatusOK, out.resp)
	return nil
}

// countRefusal counts a refused token request of an authenticated client
// (TokenMetrics.TokenRefused).
func (h *Handler) countRefusal(ctx context.Context, snap *catalog.Snapshot, app *catalog.App, form tokenForm, out *issued, err error) {
	if h.Metrics == nil {
		return
	}
	h.Metrics.TokenRefused(snap.Tenant.ID, app.ClientID, grantLabel(form.grantType), refusalReason(ctx, err, out))
}

// RefusalReasons are the reason label values of TokenMetrics.TokenRefused
// besides the scope decision's refusing reasons (policy.NotRegistered,
// policy.WrongAudience, policy.NotAllowed, policy.NotInGrant): the RFC 6749
// §5.2 and RFC 8707 error codes the token endpoint answers with,
// "client_gone" for a client that hung up, and OtherLabel.
var RefusalReasons = []string{
	oautherr.InvalidRequest, oautherr.InvalidClient, oautherr.InvalidGrant, oautherr.UnauthorizedClient,
	oautherr.UnsupportedGrantType, oautherr.InvalidScope, oautherr.InvalidTarget, oautherr.ServerError,
	oautherr.TemporarilyUnavailable, "client_gone", OtherLabel,
}

// refusalReason is the reason label of a refusal: the scope decision's
// first refusing reason when it refused, else the error code the client
// is answered with (writeError's classification), bounded to
// RefusalReasons.
func refusalReason(ctx context.Context, err error, out *issued) string {
	switch logging.Classify(ctx, err) {
	case logging.ClientGone:
		return "client_gone"
	case logging.Unavailable:
		return oautherr.TemporarilyUnavailable
	}
	code := oautherr.As(err).Code
	if out != nil && (code == oautherr.InvalidScope || code == oautherr.InvalidTarget) {
		for _, r := range out.decision.Results {
			switch r.Reason {
			case policy.NotRegistered, policy.WrongAudience, policy.NotAllowed, policy.NotInGrant:
				return string(r.Reason)
			}
		}
	}
	for _, c := range RefusalReasons {
		if c == code {
			return code
		}
	}
	return OtherLabel
}

// refusedByConfig reports whether an error follows from the tenant's
// configuration (and so might not stand against a newer snapshot).
func refusedByConfig(err error) bool {
	switch oautherr.As(err).Code {
	case oautherr.InvalidScope, oautherr.InvalidTarget, oautherr.UnauthorizedClient:
		return true
	}
	return false
}

// runGrant runs the checks common to all grants, the grant's hook, the scope
// decision and the hook's mint. It writes nothing. On a refusal the issued
// it returns, when not nil, carries the decision as far as it got and the
// grant's subject, for the audit event.
func (h *Handler) runGrant(ctx context.Context, req *tokenRequest) (*grantPlan, *issued, error) {
	hook, ok := grantFor(req.form.grantType)
	if !ok {
		return nil, nil, oautherr.New(oautherr.UnsupportedGrantType, "this server does not support that grant_type")
	}
	if !req.app.Allows(req.form.grantType) {
		return nil, nil, oautherr.New(oautherr.UnauthorizedClient, "this client may not use that grant_type")
	}
	if err := req.form.audienceErr; err != nil {
		return nil, nil, err
	}
	gctx, sp := h.span(ctx, spanGrant)
	plan, err := hook(h, gctx, req)
	endSpan(sp, err)
	if err != nil {
		if plan != nil {
			return nil, &issued{subject: plan.subject}, err
		}
		return nil, nil, err
	}
	_, sp = h.span(ctx, spanDecide)
	d, err := policy.Decide(req.decisionInput(plan.input))
	if sp.IsRecording() {
		sp.SetAttributes(attribute.Int("scopes.granted", d.Granted.Len()), attribute.Int("scopes.dropped", len(d.Results)-countGranted(d)))
	}
	endSpan(sp, err)
	h.logDecision(ctx, req, d)
	if err != nil {
		return nil, &issued{decision: d, subject: plan.subject}, err
	}
	mctx, sp := h.span(ctx, spanSign)
	out, err := plan.mint(mctx, d)
	endSpan(sp, err)
	if err != nil {
		return nil, &issued{decision: d, subject: plan.subject}, err
	}
	return plan, out, nil
}

// countGranted counts the results of a decision that were granted.
func countGranted(d policy.Decision) int {
	n := 0
	for _, r := range d.Results {
		if r.Granted {
			n++
		}
	}
	return n
}

// logDecision logs the scope decision, one line per scope, at debug level:
// what `explain` would say about this request. Nothing is built when debug
// is off.
func (h *Handler) logDecision(ctx context.Context, req *tokenRequest, d policy.Decision) {
	if !h.Logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	for _, r := range d.Results {
		h.Logger.DebugContext(ctx, "scope decision", "tenant", req.snap.Tenant.ID, "client_id", req.app.ClientID,
			"grant_type", req.form.grantType, "audience", d.Audience.Identifier, "scope", r.Scope, "granted", r.Granted, "reason", string(r.Reason))
	}
	if d.Note != "" {
		h.Logger.DebugContext(ctx, "scope decision", "tenant", req.snap.Tenant.ID, "client_id", req.app.ClientID, "note", d.Note)
	}
}

// decisionInput completes a grant's part of the decision's input with what
// the pipeline knows: the application and the registry.
func (req *tokenRequest) decisionInput(g decisionInput) policy.Input {
	in := policy.Input{
		Scope:     g.scope,
		Audience:  g.audience,
		App:       req.app.Application,
		Registry:  req.snap.Registry,
		User:      g.user,
		Consented: g.consented,
		Ceiling:   g.ceiling,
		Allowance: req.app.Allowance,
	}
	if g.permissive {
		in.App.ScopePolicy = model.PolicyPermissive
	}
	return in
}

// commitGrant stores what the grant must store with its oauth.token_issued
// event. A grant that spends a credential writes both in one transaction,
// under the request's context: a request cancelled before the commit rolls
// it back, leaving the credential usable for the client's retry (RFC 6749
// §10.5: "Authorization codes MUST be short lived and single-use" — a code
// is used when its tokens are issued, not when a request for them fails).
// Once the commit returned the tokens are the client's, even if it is gone
// by the time the response is written: that window, between the commit and
// the response reaching the client, no server can close.
func (h *Handler) commitGrant(ctx context.Context, req *tokenRequest, plan *grantPlan, out *issued) error {
	ev := issuedEvent(req, out)
	if plan.commit == nil {
		if err := h.Audit.Record(ctx, ev); err != nil {
			// Nothing is acknowledged without its audit event.
			return oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", fmt.Errorf("audit token_issued: %w", err))
		}
		return nil
	}
	if err := h.Audit.Stamp(&ev); err != nil {
		return oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", fmt.Errorf("audit token_issued: %w", err))
	}
	err := h.Store.InTx(ctx, func(r store.Repos) error {
		if err := plan.commit(ctx, r, out); err != nil {
			return err
		}
		if err := r.Audit().Append(ctx, []model.AuditEvent{ev}); err != nil {
			return oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", fmt.Errorf("audit token_issued: %w", err))
		}
		return nil
	})
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrReused) && plan.replayed != nil {
		plan.replayed(ctx)
	}
	var oe *oautherr.Error
	if errors.As(err, &oe) {
		return err
	}
	return oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", fmt.Errorf("commit %s grant: %w", req.form.grantType, err))
}

// audienceParam reads the one target API of a request whose token is for
// one API, from audience or RFC 8707 resource (resourceParams): several
// different values are refused.
func audienceParam(form url.Values) (string, error) {
	res, err := resourceParams(form)
	switch {
	case err != nil:
		return "", err
	case len(res) > 1:
		return "", oautherr.New(oautherr.InvalidTarget, "a token has one audience: audience and resource must name the same API")
	case len(res) == 1:
		return res[0], nil
	}
	return "", nil
}

// clientCredentials is the RFC 6749 §4.4 grant: the client acts on its own
// behalf, so the subject is the client and no user step of the decision
// runs. It spends nothing, so it has no commit step.
func (h *Handler) clientCredentials(_ context.Context, req *tokenRequest) (*grantPlan, error) {
	return &grantPlan{
		input: decisionInput{scope: req.form.scope, audience: req.form.audience},
		mint: func(_ context.Context, d policy.Decision) (*issued, error) {
			return h.mintAccess(req, d, req.app.ClientID, time.Time{}, nil)
		},
	}, nil
}

// mintAccess signs an RFC 9068 access token for the decision's audience
// (token.Keyring.MintAccess, which explain calls too).
func (h *Handler) mintAccess(req *tokenRequest, d policy.Decision, subject string, authTime time.Time, amr []string) (*issued, error) {
	raw, c, err := req.snap.Keys.MintAccess(token.AccessGrant{
		Issuer:   req.snap.Tenant.Issuer,
		App:      &req.app.Application,
		API:      &d.Audience,
		Subject:  subject,
		Granted:  d.Granted,
		AuthTime: authTime,
		AMR:      amr,
		Now:      h.now(),
	})
	if err != nil {
		return nil, oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", fmt.Errorf("sign access token: %w", err))
	}
	return &issued{
		resp: tokenResponse{
			AccessToken: raw,
			TokenType:   "Bearer",
			ExpiresIn:   int64(c.ExpiresAt.Sub(c.IssuedAt) / time.Second),
			Scope:       c.Scope,
		},
		decision: d,
		subject:  subject,
		jti:      c.JTI,
		expires:  c.ExpiresAt,
	}, nil
}

// tokenDetails is the Details document of token_issued and token_refused.
type tokenDetails struct {
	GrantType string          `json:"grant_type"`
	Requested []string        `json:"requested"`
	Granted   []string        `json:"granted,omitempty"`
	Results   []policy.Result `json:"results,omitempty"`
	JTI       string          `json:"jti,omitempty"`
	ExpiresAt *time.Time      `json:"expires_at,omitempty"`
	// RefreshFamily is the refresh-token family a refresh token in the
	// response belongs to.
	RefreshFamily string `json:"refresh_family,omitempty"`
	// IDToken says whether the response carried an ID token.
	IDToken bool `json:"id_token,omitempty"`
	// TokenSize is the length in bytes of the access token issued (the
	// compact JWS). OverBudget and TokenSizeBudget are set when it is
	// longer than its API's token-size budget (model.API.TokenSizeBudget).
	TokenSize       int    `json:"token_size,omitempty"`
	TokenSizeBudget int    `json:"token_size_budget,omitempty"`
	OverBudget      bool   `json:"over_budget,omitempty"`
	Error           string `json:"error,omitempty"`
	Reason          string `json:"error_description,omitempty"`
	// Note says why a token issued carries no scope (policy.Decision.Note).
	Note string `json:"note,omitempty"`
}

func issuedEvent(req *tokenRequest, out *issued) model.AuditEvent {
	exp := out.expires.UTC()
	d := out.decision
	td := tokenDetails{
		GrantType:     req.form.grantType,
		Requested:     nonNil(d.Requested.Names()),
		Granted:       d.Granted.Names(),
		Results:       d.Results,
		JTI:           out.jti,
		ExpiresAt:     &exp,
		RefreshFamily: out.familyID,
		IDToken:       out.resp.IDToken != "",
		TokenSize:     len(out.resp.AccessToken),
		Note:          d.Note,
	}
	if out.overBudget() {
		td.TokenSizeBudget, td.OverBudget = d.Audience.TokenSizeBudget, true
	}
	details, _ := json.Marshal(td)
	return model.AuditEvent{
		TenantID:  req.snap.Tenant.ID,
		Type:      model.EventTokenIssued,
		ActorType: model.ActorClient,
		ActorID:   req.app.ClientID,
		ClientID:  req.app.ClientID,
		Subject:   out.subject,
		Audience:  d.Audience.Identifier,
		Scopes:    d.Granted.Names(),
		Details:   details,
	}
}

// recordRefusal writes oauth.token_refused for an authenticated client. A
// failure to audit a refusal is logged: the refusal stands either way.
// out, when not nil, carries the decision as far as it got.
func (h *Handler) recordRefusal(ctx context.Context, req *tokenRequest, out *issued, cause error) {
	e := oautherr.As(cause)
	var d policy.Decision
	if out != nil {
		d = out.decision
	}
	details, _ := json.Marshal(tokenDetails{
		GrantType: req.form.grantType,
		Requested: requestedNames(req, d),
		Results:   d.Results,
		Error:     e.Code,
		Reason:    e.Description,
	})
	ev := model.AuditEvent{
		TenantID:  req.snap.Tenant.ID,
		Type:      model.EventTokenRefused,
		ActorType: model.ActorClient,
		ActorID:   req.app.ClientID,
		ClientID:  req.app.ClientID,
		Audience:  d.Audience.Identifier,
		Details:   details,
	}
	if out != nil {
		ev.Subject = out.subject
	}
	if err := h.Audit.Record(ctx, ev); err != nil {
		// Record refuses a cancelled context: a client that went away is
		// not a server error (logging.Classify), an outage or a fault is.
		h.Logger.Log(ctx, logging.Level(logging.Classify(ctx, err), http.StatusInternalServerError),
			"audit token_refused failed", "tenant", req.snap.Tenant.ID, "err", err)
	}
}

func requestedNames(req *tokenRequest, d policy.Decision) []string {
	if !d.Requested.Empty() {
		return d.Requested.Names()
	}
	// The decision may have failed before parsing; keep the raw value bounded.
	raw := req.form.scope
	if len(raw) > 512 {
		raw = raw[:512]
	}
	if raw == "" {
		return []string{}
	}
	return []string{raw}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
