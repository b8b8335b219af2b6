package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/token"
	"github.com/intelliauth/intelliauth/oautherr"
)

// guard authenticates the request's bearer token and requires op's
// platform scope (admin.Op.Scope, the table every surface reads) before
// running f.
//
// RFC 6750 §2.1: the token comes from the Authorization header only (the
// form-body and query methods of §2.2 and §2.3 are not accepted, so a token
// never lands in an access log). It must be an RFC 9068 access token of
// THIS tenant for its platform API that the tenant's one access-token
// check (token.AccessCheck) finds valid — signed by a published key of its
// keyring, typ at+jwt, iss the tenant's issuer, aud the tenant's platform
// API identifier, not expired, not revoked, its application still there,
// and its user, if any, still there and active. Anything else is 401 with
// an RFC 6750 §3 challenge; a request without a token gets the challenge
// without an error code (§3.1). A valid token without scope is 403 insufficient_scope naming
// it. A token of another tenant fails the signature (each tenant has its
// own keys) and the iss check, so it never reads anything.
//
// Only the token's scope claim is consulted: a write scope's implication of
// the read scope is already expanded in the claim at issuance (PRODUCT.md
// §2 step 7). The claim's scopes go on with the actor: a use-case that would
// grant platform scopes the token lacks, or hand over an application or user
// holding them, answers 403 insufficient_scope too (escalationRefused).
func (h *Handler) guard(op admin.Op, f handlerFunc) http.HandlerFunc {
	scope := op.Scope()
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
			if req == nil {
				req = &Request{Request: r, Snap: snap}
			}
			h.writeError(w, r, req, err)
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
	platform, ok := snap.Registry.PlatformAPI()
	want := "the platform API"
	if ok {
		want = platform.Identifier
	}
	check := snap.AccessCheck(h.Store, h.now)
	// An empty identifier (no platform API) accepts no token.
	acc, reason, err := check.Check(r.Context(), raw, platform.Identifier)
	if err != nil {
		return nil, err
	}
	c := acc.Claims
	switch reason {
	case token.Valid:
	case token.Malformed:
		return nil, invalid("The access token is not a valid access token of this tenant (signature, key, typ at+jwt, or a missing sub, client_id or jti); request a new one from this tenant's token endpoint.")
	case token.WrongIssuer:
		return nil, invalid("The access token was issued by " + c.Issuer + ", not by this tenant (" + snap.Tenant.Issuer + ").")
	case token.WrongAudience:
		return nil, invalid(fmt.Sprintf("The access token's audience is %q; this API accepts tokens for %s only (request one with audience=%s).", c.Audience, want, want))
	case token.Expired:
		return nil, invalid("The access token has expired; request a new one.")
	case token.Revoked:
		return nil, invalid("The access token has been revoked; request a new one.")
	case token.ClientGone:
		return nil, invalid("The application this access token was issued to no longer exists.")
	case token.UserGone:
		return nil, invalid("The user this access token was issued to no longer exists.")
	case token.UserDisabled:
		return nil, invalid("The user this access token was issued to is disabled.")
	default:
		return nil, invalid("The access token is not valid; request a new one.")
	}
	// A client-credentials token acts as its client; a token from a user's
	// sign-in acts as the user, whom the check found still active, via the
	// application the token was issued to.
	req := &Request{Request: r, Snap: snap, Claims: c, Actor: admin.Actor{Type: model.ActorClient, ID: c.ClientID}}
	if acc.User != nil {
		req.Actor = admin.Actor{Type: model.ActorUser, ID: acc.User.ID, Via: c.ClientID, AMR: c.AMR}
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
