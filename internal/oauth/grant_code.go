package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/policy"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/token"
	"github.com/intelliauth/intelliauth/oautherr"
	"github.com/intelliauth/intelliauth/scope"
)

// authorizationCode is the RFC 6749 §4.1.3 grant. The pipeline has
// authenticated the client (public clients with "none"; PKCE is what binds
// the code to them). The hook checks, in order:
//
//   - code and code_verifier present;
//   - the code known (else invalid_grant) and not redeemed yet: a code
//     already redeemed → invalid_grant, and what the first redemption
//     issued is revoked (RFC 6749 §4.1.2: "If an authorization code is used
//     more than once, the authorization server MUST deny the request and
//     SHOULD revoke (when possible) all tokens previously issued based on
//     that authorization code");
//   - not expired; issued to this client; the same redirect_uri
//     (RFC 6749 §4.1.3); code_verifier matches the challenge (RFC 7636
//     §4.6, compared in constant time);
//   - the user still exists and is active;
//
// and returns the scope decision's inputs: what was requested, bounded by
// what the user approved (the code's scopes), so the audit event gives a
// reason for every requested scope. The pipeline then mints the access
// token, the ID token (openid) and a refresh token (offline_access, if the
// client may refresh), and commits the redemption — atomic, so of
// concurrent redemptions one wins and the others are replays — with the
// new refresh-token family and the audit event in one transaction: a
// request that does not end in a 200 leaves the code unredeemed, for the
// client's retry within the code's lifetime.
func (h *Handler) authorizationCode(ctx context.Context, req *tokenRequest) (*grantPlan, error) {
	code, verifier := req.form.code, req.form.codeVerifier
	switch {
	case code == "":
		return nil, oautherr.New(oautherr.InvalidRequest, "code is required")
	case verifier == "":
		// RFC 7636 §4.5; every client must use PKCE (RFC 9700 §2.1.1).
		return nil, oautherr.New(oautherr.InvalidRequest, "code_verifier is required (PKCE, RFC 7636)")
	case !validVerifier(verifier):
		return nil, oautherr.New(oautherr.InvalidRequest, "code_verifier must be 43 to 128 unreserved characters (RFC 7636 §4.1)")
	}
	tenant := req.snap.Tenant.ID
	now := h.now()
	ur := h.Store
	hash := hashOpaque(code)
	ac, err := ur.Codes().Get(ctx, tenant, hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, oautherr.New(oautherr.InvalidGrant, "the authorization code is invalid")
	case err != nil:
		return nil, oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", fmt.Errorf("load code: %w", err))
	case !ac.UsedAt.IsZero():
		h.codeReplayed(ctx, req, ac)
		return &grantPlan{subject: ac.UserID}, oautherr.New(oautherr.InvalidGrant, "the authorization code was already used")
	}
	refused := &grantPlan{subject: ac.UserID}
	if !now.Before(ac.ExpiresAt) {
		return refused, oautherr.New(oautherr.InvalidGrant, "the authorization code has expired")
	}
	if ac.ClientID != req.app.ClientID {
		// RFC 6749 §4.1.3: "ensure that the authorization code was issued
		// to the authenticated confidential client, or if the client is
		// public, ensure that the code was issued to client_id".
		return refused, oautherr.New(oautherr.InvalidGrant, "the authorization code was issued to another client")
	}
	if ru := req.form.redirectURI; ru != "" {
		if ru != ac.RedirectURI {
			return refused, oautherr.New(oautherr.InvalidGrant, "redirect_uri does not match the authorization request")
		}
	} else if len(req.app.RedirectURIs) != 1 || req.app.RedirectURIs[0] != ac.RedirectURI {
		// It may be left out only where the authorization request could
		// leave it out too: a client with exactly one redirect URI.
		return refused, oautherr.New(oautherr.InvalidRequest, "redirect_uri is required")
	}
	if ac.CodeChallengeMethod != "S256" || !s256Matches(verifier, ac.CodeChallenge) {
		return refused, oautherr.New(oautherr.InvalidGrant, "code_verifier does not match the code_challenge")
	}
	user, err := h.activeUser(ctx, tenant, ac.UserID)
	if err != nil {
		return refused, err
	}

	// RFC 8707 §2.2: the token is for the first API the request names (it
	// must be one of the grant's), or for the grant's first.
	target, err := coveredAPI(req.form.resources, ac.Resources, ac.Audience, ac.Scopes)
	if err != nil {
		return refused, err
	}

	// What was asked for: kept with the code by the authorization flow (for
	// a grant of several APIs, the part of it the target's decision ran on).
	scopeParam := strings.Join(target.Scopes, " ")
	if kept, err := ur.AuthRequests().Get(ctx, tenant, codeRequestID(hash)); err == nil {
		scopeParam = kept.Scope
		if len(ac.Resources) > 0 {
			scopeParam = strings.Join(target.Scopes, " ")
			if parts, err := apiRequests(req.snap.Registry, kept.Scope, kept.Resources); err == nil {
				for _, p := range parts {
					if p.audience == target.Audience {
						scopeParam = p.scope
					}
				}
			}
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return refused, oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", fmt.Errorf("load kept request: %w", err))
	}
	in, err := h.userInput(ctx, req.snap, req.app, user.ID, ac.AMR, scopeParam, target.Audience)
	if err != nil {
		return refused, oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", err)
	}
	// The user approved exactly the code's scopes (for this API) in this
	// flow; whatever else was requested stays dropped, now with its reason.
	approved := scope.New(target.Scopes...)
	g := userGrant{user: user, authTime: ac.AuthTime, amr: ac.AMR, sessionID: ac.SessionID, nonce: ac.Nonce, resources: ac.Resources}
	first := ac
	return &grantPlan{
		input: decisionInput{
			scope: scopeParam, audience: target.Audience, user: in.User, consented: &approved,
			// A strict application's request was held to its allowlist at
			// the authorization endpoint; a scope the allowlist lost in the
			// seconds since is dropped with its reason, as at a refresh.
			permissive: true,
		},
		subject: user.ID,
		mint: func(ctx context.Context, d policy.Decision) (*issued, error) {
			if d.Granted.Empty() {
				return nil, oautherr.New(oautherr.InvalidGrant, "none of the granted scopes can be issued any more")
			}
			return h.mintUser(ctx, req, d, g, nil)
		},
		commit: func(ctx context.Context, r store.Repos, out *issued) error {
			redeemed, err := r.Codes().Redeem(ctx, tenant, hash, now)
			switch {
			case errors.Is(err, store.ErrReused):
				// A concurrent request redeemed it first.
				first = redeemed
				return oautherr.Wrap(oautherr.InvalidGrant, "the authorization code was already used", err)
			case errors.Is(err, store.ErrNotFound):
				return oautherr.New(oautherr.InvalidGrant, "the authorization code is invalid")
			case err != nil:
				return oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", fmt.Errorf("redeem code: %w", err))
			}
			if _, err := storeRefresh(ctx, r, tenant, out); err != nil {
				return err
			}
			if err := r.Codes().SetIssued(ctx, tenant, hash, out.jti, out.expires, out.familyID); err != nil {
				return oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", fmt.Errorf("record what the code issued: %w", err))
			}
			return nil
		},
		replayed: func(ctx context.Context) { h.codeReplayed(ctx, req, first) },
	}, nil
}

// codeReplayed revokes what the first redemption of a code issued — its
// access token by jti, its refresh-token family with the access tokens of
// the family's rotations (store.RefreshTokens.RevokeFamily) — and audits
// oauth.code_replayed (RFC 9700 §4.5). Failures are logged: the replay is
// refused either way.
func (h *Handler) codeReplayed(ctx context.Context, req *tokenRequest, ac model.AuthCode) {
	// A replay is an attack in progress: hanging up must not stop the
	// revocation it triggers.
	ctx = context.WithoutCancel(ctx)
	tenant := req.snap.Tenant.ID
	now := h.now()
	log := func(what string, err error) {
		h.Logger.ErrorContext(ctx, "code replay: "+what, "tenant", tenant, "client_id", ac.ClientID, "err", err)
	}
	if ac.IssuedJTI != "" {
		if err := h.Store.Revocations().Revoke(ctx, model.Revocation{
			TenantID: tenant, JTI: ac.IssuedJTI, ExpiresAt: ac.IssuedExpiresAt, RevokedAt: now,
		}); err != nil {
			log("revoke access token", err)
		}
	}
	if ac.FamilyID != "" {
		if err := h.Store.RefreshTokens().RevokeFamily(ctx, tenant, ac.FamilyID); err != nil {
			log("revoke refresh family", err)
		}
	}
	details, _ := json.Marshal(map[string]any{
		"presented_by":   req.app.ClientID,
		"revoked_jti":    ac.IssuedJTI,
		"revoked_family": ac.FamilyID,
		"first_used_at":  ac.UsedAt.UTC(),
	})
	if err := h.Audit.Record(ctx, model.AuditEvent{
		TenantID: tenant, Type: model.EventCodeReplayed,
		ActorType: model.ActorClient, ActorID: req.app.ClientID, ClientID: ac.ClientID,
		Subject: ac.UserID, Audience: ac.Audience, Scopes: ac.Scopes, Details: details,
	}); err != nil {
		log("audit", err)
	}
}

// validVerifier checks RFC 7636 §4.1: code-verifier = 43*128unreserved.
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// s256Matches reports whether BASE64URL-ENCODE(SHA256(ASCII(verifier)))
// equals the challenge (RFC 7636 §4.6), in constant time.
func s256Matches(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

// activeUser loads the grant's user by the rule access tokens obey too
// (token.ActiveUser); a deleted or disabled user's grants are dead
// (invalid_grant).
func (h *Handler) activeUser(ctx context.Context, tenantID, userID string) (model.User, error) {
	u, reason, err := token.ActiveUser(ctx, h.Store.Users(), tenantID, userID)
	switch {
	case err != nil:
		return u, oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", err)
	case reason == token.UserGone:
		return u, oautherr.New(oautherr.InvalidGrant, "the user of this grant no longer exists")
	case reason != token.Valid:
		return u, oautherr.New(oautherr.InvalidGrant, "the user of this grant is disabled")
	}
	return u, nil
}
