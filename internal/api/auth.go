package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/oautherr"
)

// guard authenticates the request's bearer token and requires scope before
// running f.
//
// RFC 6750 §2.1: the token comes from the Authorization header only (the
// form-body and query methods of §2.2 and §2.3 are not accepted, so a token
// never lands in an access log). It must be an RFC 9068 access token of
// THIS tenant — signed by a published key of its keyring, typ at+jwt, iss
// the tenant's issuer, aud the tenant's platform API identifier — not
// expired and not revoked. Anything else is 401 with an RFC 6750 §3
// challenge; a request without a token gets the challenge without an error
// code (§3.1). A valid token without scope is 403 insufficient_scope naming
// it. A token of another tenant fails the signature (each tenant has its
// own keys) and the iss check, so it never reads anything.
//
// Only the token's scope claim is consulted: a write scope's implication of
// the read scope is already expanded in the claim at issuance (PRODUCT.md
// §2 step 7). The claim's scopes go on with the actor: a use-case that would
// grant platform scopes the token lacks, or hand over an application or user
// holding them, answers 403 insufficient_scope too (escalationRefused).
func (h *Handler) guard(scope string, f handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		snap, ok := catalog.FromContext(r.Context())
		if !ok {
			http.NotFound(w, r)
			return
		}
		req, err := h.authenticate(r, snap)
		if err == nil {
			// The use-cases let the caller grant, or take over a holder
			// of, only platform scopes its token carries (admin's
			// escalation rule): they get the token's scopes with the actor.
			req.Actor.Scopes = strings.Fields(req.Claims.Scope)
			if !slices.Contains(req.Actor.Scopes, scope) {
				err = insufficientScope(snap.Tenant.Issuer, scope)
			}
		}
		if err == nil {
			err = f(w, req)
		}
		if err != nil {
			h.writeError(w, r, err)
		}
	}
}

// authenticate verifies the bearer token and resolves the actor.
func (h *Handler) authenticate(r *http.Request, snap *catalog.Snapshot) (*Request, error) {
	realm := snap.Tenant.Issuer
	raw, missing := bearerToken(r)
	if missing != "" {
		return nil, unauthorized(realm, "", missing)
	}
	invalid := func(detail string) error {
		return unauthorized(realm, oautherr.InvalidToken, detail)
	}
	c, err := snap.Keys.VerifyAccessToken(raw)
	if err != nil {
		return nil, invalid("The access token is not a valid access token of this tenant (signature, key or typ at+jwt); request a new one from this tenant's token endpoint.")
	}
	if c.Issuer != snap.Tenant.Issuer {
		return nil, invalid("The access token was issued by " + c.Issuer + ", not by this tenant (" + snap.Tenant.Issuer + ").")
	}
	platform, ok := snap.Registry.PlatformAPI()
	if !ok || c.Audience != platform.Identifier {
		want := "the platform API"
		if ok {
			want = platform.Identifier
		}
		return nil, invalid(fmt.Sprintf("The access token's audience is %q; this API accepts tokens for %s only (request one with audience=%s).", c.Audience, want, want))
	}
	if !h.now().Before(c.ExpiresAt) {
		return nil, invalid("The access token has expired; request a new one.")
	}
	if c.JTI == "" {
		return nil, invalid("The access token has no jti; request a new one.")
	}
	ctx := r.Context()
	revoked, err := h.Store.Revocations().IsRevoked(ctx, snap.Tenant.ID, c.JTI)
	if err != nil {
		return nil, fmt.Errorf("check revocation: %w", err)
	}
	if revoked {
		return nil, invalid("The access token has been revoked; request a new one.")
	}
	req := &Request{Request: r, Snap: snap, Claims: c, Actor: admin.Actor{Type: model.ActorClient, ID: c.ClientID}}
	// A token from a user flow carries auth_time (RFC 9068 §2.2.1) and the
	// user's ID as sub; client credentials have sub = client_id and no
	// auth_time. A user who was deleted or disabled since is refused: an
	// admin API must not keep serving someone locked out.
	if !c.AuthTime.IsZero() && c.Subject != c.ClientID {
		u, err := h.Store.Users().Get(ctx, snap.Tenant.ID, c.Subject)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, invalid("The user this access token was issued to no longer exists.")
		case err != nil:
			return nil, fmt.Errorf("load token subject: %w", err)
		case u.Status != model.UserActive:
			return nil, invalid("The user this access token was issued to is disabled.")
		}
		req.Actor = admin.Actor{Type: model.ActorUser, ID: u.ID}
	}
	if req.Actor.ID == "" {
		return nil, invalid("The access token names no client.")
	}
	return req, nil
}

// bearerToken returns the RFC 6750 §2.1 credentials of r, or why there
// are none usable: the detail of a 401 without an error code.
func bearerToken(r *http.Request) (token, missing string) {
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 {
		if r.URL.Query().Has("access_token") {
			return "", "Send the access token in the Authorization header (RFC 6750 §2.1); the access_token query parameter is not accepted."
		}
		return "", "This route needs a bearer access token in the Authorization header (RFC 6750 §2.1), issued by this tenant for its platform API."
	}
	if len(vals) > 1 {
		return "", "Send one Authorization header, not several."
	}
	scheme, tok, ok := strings.Cut(strings.TrimSpace(vals[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", "The Authorization header must use the Bearer scheme (RFC 6750 §2.1): Authorization: Bearer <access token>."
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || strings.ContainsAny(tok, " \t") {
		return "", "The Authorization header holds no single bearer token (RFC 6750 §2.1): Authorization: Bearer <access token>."
	}
	return tok, ""
}

// UserID returns the signed-in user a me:* route acts for, or a 403 when
// the token is a client's (client credentials act for no user).
func (r *Request) UserID() (string, error) {
	if r.Actor.Type != model.ActorUser {
		return "", forbidden("This route acts for the signed-in user; a client-credentials token has no user. Use a token from a user sign-in (authorization code flow).")
	}
	return r.Actor.ID, nil
}
