package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/logging"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/policy"
	"github.com/intelliauth/intelliauth/internal/token"
	"github.com/intelliauth/intelliauth/oautherr"
)

// tokenRequest is one authenticated token request as the grant hooks see it.
type tokenRequest struct {
	snap      *catalog.Snapshot
	app       *catalog.App
	form      url.Values
	grantType string
	audience  string // the audience or resource parameter
	// spent is set by a hook once it has used up a single-use credential
	// (an authorization code): the request cannot be run again.
	spent bool
}

// issued is what a grant hook produced: the response to send and what the
// audit event must say.
type issued struct {
	resp     tokenResponse
	decision policy.Decision
	subject  string
	jti      string
	expires  time.Time
	// familyID is the refresh-token family the response carries a member
	// of, if any.
	familyID string
}

// tokenResponse is the RFC 6749 §5.1 success body.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

// grantHook runs one grant type's own checks and mints its tokens. It must
// run the scope decision through policy.Decide.
type grantHook func(ctx context.Context, req *tokenRequest) (*issued, error)

func (h *Handler) grants() map[string]grantHook {
	return map[string]grantHook{
		model.GrantClientCredentials: h.clientCredentials,
		model.GrantAuthorizationCode: h.authorizationCode,
		model.GrantRefreshToken:      h.refreshToken,
	}
}

// token is the token endpoint: one fixed pipeline for every grant type.
//
//	read form → authenticate client → grant hook (scope decision, mint)
//	→ audit (durably committed) → respond
//
// A token leaves the server only after its oauth.token_issued event is
// committed (PRODUCT.md §9); refusals after client authentication write
// oauth.token_refused.
func (h *Handler) token(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) error {
	ctx := r.Context()
	form, _, snap, app, err := h.authenticatedForm(w, r, snap)
	if err != nil {
		return err
	}
	allowClientOrigin(w, r, app)
	grantType := form.Get("grant_type")
	if grantType == "" {
		return oautherr.New(oautherr.InvalidRequest, "grant_type is required")
	}
	req := &tokenRequest{snap: snap, app: app, form: form, grantType: grantType}
	out, err := h.runGrant(ctx, req)
	if err != nil && refusedByConfig(err) && !req.spent {
		// The snapshot may be a moment old (an allowlist or grant type changed
		// on another node): re-check the revision once before refusing.
		if fresh, ferr := h.Catalog.Recheck(ctx, snap.Tenant.ID); ferr == nil && fresh != snap {
			if a, ok := fresh.App(app.ClientID); ok {
				req.snap, req.app = fresh, a
				out, err = h.runGrant(ctx, req)
			}
		}
	}
	if err != nil {
		h.recordRefusal(ctx, req, out, err)
		return err
	}
	if err := h.Audit.Record(ctx, issuedEvent(req, out)); err != nil {
		// Nothing is acknowledged without its audit event.
		return oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", fmt.Errorf("audit token_issued: %w", err))
	}
	writeJSON(w, http.StatusOK, out.resp)
	return nil
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

// runGrant dispatches to the grant hook after the checks common to all.
func (h *Handler) runGrant(ctx context.Context, req *tokenRequest) (*issued, error) {
	hook, ok := h.grants()[req.grantType]
	if !ok {
		return nil, oautherr.New(oautherr.UnsupportedGrantType, "this server does not support that grant_type")
	}
	if !req.app.Allows(req.grantType) {
		return nil, oautherr.New(oautherr.UnauthorizedClient, "this client may not use that grant_type")
	}
	aud, err := audienceParam(req.form)
	if err != nil {
		return nil, err
	}
	req.audience = aud
	return hook(ctx, req)
}

// audienceParam reads the target API from audience or RFC 8707 resource. One
// token has one audience, so several different values are refused.
func audienceParam(form url.Values) (string, error) {
	aud := form.Get("audience")
	for _, res := range form["resource"] {
		if res == "" {
			continue
		}
		if aud != "" && aud != res {
			return "", oautherr.New(oautherr.InvalidTarget, "a token has one audience: audience and resource must name the same API")
		}
		aud = res
	}
	return aud, nil
}

// clientCredentials is the RFC 6749 §4.4 grant: the client acts on its own
// behalf, so the subject is the client and no user step of the decision runs.
func (h *Handler) clientCredentials(ctx context.Context, req *tokenRequest) (*issued, error) {
	d, err := policy.Decide(policy.Input{
		Scope:    req.form.Get("scope"),
		Audience: req.audience,
		App:      req.app.Application,
		Registry: req.snap.Registry,
	})
	if err != nil {
		return &issued{decision: d}, err
	}
	return h.mintAccess(req, d, req.app.ClientID, time.Time{})
}

// mintAccess signs an RFC 9068 access token for the decision's audience.
func (h *Handler) mintAccess(req *tokenRequest, d policy.Decision, subject string, authTime time.Time) (*issued, error) {
	now := h.now()
	ttl := req.app.AccessTokenTTL
	if ttl <= 0 {
		ttl = d.Audience.AccessTokenTTL
	}
	if ttl <= 0 {
		ttl = model.DefaultAccessTokenTTL
	}
	alg := d.Audience.SigningAlg
	if alg == "" {
		alg = model.AlgES256
	}
	c := token.AccessClaims{
		Issuer:    req.snap.Tenant.Issuer,
		Subject:   subject,
		Audience:  d.Audience.Identifier,
		ClientID:  req.app.ClientID,
		Scope:     d.Granted.String(),
		JTI:       token.NewJTI(),
		IssuedAt:  now,
		ExpiresAt: now.Add(ttl),
		AuthTime:  authTime,
	}
	raw, err := req.snap.Keys.SignAccessToken(alg, c)
	if err != nil {
		return nil, oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", fmt.Errorf("sign access token: %w", err))
	}
	return &issued{
		resp: tokenResponse{
			AccessToken: raw,
			TokenType:   "Bearer",
			ExpiresIn:   int64(ttl / time.Second),
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
	IDToken bool   `json:"id_token,omitempty"`
	Error   string `json:"error,omitempty"`
	Reason  string `json:"error_description,omitempty"`
}

func issuedEvent(req *tokenRequest, out *issued) model.AuditEvent {
	exp := out.expires.UTC()
	d := out.decision
	details, _ := json.Marshal(tokenDetails{
		GrantType:     req.grantType,
		Requested:     nonNil(d.Requested.Names()),
		Granted:       d.Granted.Names(),
		Results:       d.Results,
		JTI:           out.jti,
		ExpiresAt:     &exp,
		RefreshFamily: out.familyID,
		IDToken:       out.resp.IDToken != "",
	})
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
		GrantType: req.grantType,
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
	raw := req.form.Get("scope")
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
