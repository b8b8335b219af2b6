package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/token"
	"github.com/intelliauth/intelliauth/oautherr"
)

// revoke is RFC 7009. The client authenticates as at the token endpoint;
// a valid access token issued to that client is recorded as revoked (by jti,
// until it expires), so introspection reports it inactive at once; a
// refresh token issued to it ends its whole family and the family's access
// tokens.
//
// RFC 7009 §2.2: "invalid tokens do not cause an error response", so an
// unknown, expired or malformed token gets 200 and nothing happens. A valid
// token issued to another client is refused (§2.1: the server "verifies
// whether the token was issued to the client making the revocation request.
// If this validation fails, the request is refused").
func (h *Handler) revoke(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) (err error) {
	ctx := r.Context()
	form, _, snap, app, err := h.authenticatedForm(w, r, snap)
	if err != nil {
		return err
	}
	defer func() { err = refused(err, app.ClientID, "") }() // the caller, authenticated, for the log
	allowClientOrigin(w, r, app)
	raw := form.Get("token")
	if raw == "" {
		return oautherr.New(oautherr.InvalidRequest, "token is required")
	}
	// token_type_hint is only a hint (RFC 7009 §2.1): every value is accepted
	// and the search is not limited by it. Access tokens are JWTs (three
	// dot-separated parts); refresh tokens are opaque and dot-free.
	if !strings.Contains(raw, ".") {
		return h.revokeRefresh(w, r, snap, app, raw)
	}
	acc, reason, err := h.accessCheck(snap).CheckAnyAudience(ctx, raw)
	if err != nil {
		return oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", err)
	}
	switch reason {
	case token.Valid, token.ClientGone, token.UserGone, token.UserDisabled:
		// Authentic, unexpired and not yet revoked. A token refused only
		// because its user is disabled is still recorded: enabling the
		// user again must not bring back a token its client revoked.
	default:
		revoked(w)
		return nil
	}
	c := acc.Claims
	if c.ClientID != app.ClientID {
		return oautherr.New(oautherr.UnauthorizedClient, "the token was not issued to this client")
	}
	now := h.now()
	if err := h.Store.Revocations().Revoke(ctx, model.Revocation{
		TenantID: snap.Tenant.ID, JTI: c.JTI, ExpiresAt: c.ExpiresAt, RevokedAt: now,
	}); err != nil {
		return oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", fmt.Errorf("revoke: %w", err))
	}
	details, _ := json.Marshal(map[string]any{"jti": c.JTI, "token_type": "access_token", "expires_at": c.ExpiresAt.UTC()})
	if err := h.Audit.Record(ctx, model.AuditEvent{
		TenantID: snap.Tenant.ID, Type: model.EventTokenRevoked,
		ActorType: model.ActorClient, ActorID: app.ClientID, ClientID: app.ClientID,
		Subject: c.Subject, Audience: c.Audience, Details: details,
	}); err != nil {
		return oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", fmt.Errorf("audit token_revoked: %w", err))
	}
	revoked(w)
	return nil
}

// revokeRefresh revokes a refresh token's whole family and, with it, the
// unexpired access tokens issued with its members (RFC 7009 §2.1: "If the
// particular token is a refresh token and the authorization server
// supports the revocation of access tokens, then the authorization server
// SHOULD also invalidate all access tokens based on the same authorization
// grant" — store.RefreshTokens.RevokeFamily does both in one transaction).
func (h *Handler) revokeRefresh(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot, app *catalog.App, raw string) error {
	ctx := r.Context()
	rts := h.Store.RefreshTokens()
	t, err := rts.Get(ctx, snap.Tenant.ID, hashOpaque(raw))
	if errors.Is(err, store.ErrNotFound) {
		revoked(w)
		return nil
	}
	if err != nil {
		return oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", fmt.Errorf("load refresh token: %w", err))
	}
	if t.ClientID != app.ClientID {
		return oautherr.New(oautherr.UnauthorizedClient, "the token was not issued to this client")
	}
	if t.Revoked {
		revoked(w)
		return nil
	}
	if err := rts.RevokeFamily(ctx, snap.Tenant.ID, t.FamilyID); err != nil {
		return oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", fmt.Errorf("revoke refresh family: %w", err))
	}
	details, _ := json.Marshal(map[string]any{"token_type": "refresh_token", "family_id": t.FamilyID})
	if err := h.Audit.Record(ctx, model.AuditEvent{
		TenantID: snap.Tenant.ID, Type: model.EventTokenRevoked,
		ActorType: model.ActorClient, ActorID: app.ClientID, ClientID: app.ClientID,
		Subject: t.UserID, Audience: t.Audience, Scopes: t.Scopes, Details: details,
	}); err != nil {
		return oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", fmt.Errorf("audit token_revoked: %w", err))
	}
	revoked(w)
	return nil
}

// revoked is the RFC 7009 §2.2 success response.
func revoked(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}
