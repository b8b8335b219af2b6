package oauth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/token"
	"github.com/intelliauth/intelliauth/oautherr"
)

// introspection is the RFC 7662 §2.2 response. An inactive token is
// {"active":false} and nothing else.
type introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	Sub       string `json:"sub,omitempty"`
	Aud       string `json:"aud,omitempty"`
	Iss       string `json:"iss,omitempty"`
	JTI       string `json:"jti,omitempty"`
	AuthTime  int64  `json:"auth_time,omitempty"`
}

// introspect is RFC 7662. The caller must authenticate as a confidential
// client of this tenant (§2.1: "the endpoint MUST also require some form of
// authorization"). An access token is active exactly when the tenant's one
// access-token check (token.AccessCheck) says it is valid: a token of
// another tenant, an expired, revoked or malformed one, or one whose
// application or user was deleted or whose user is disabled is simply
// inactive (§2.2).
func (h *Handler) introspect(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) (err error) {
	form, creds, snap, _, err := h.authenticatedForm(w, r, snap)
	if err != nil {
		return err
	}
	defer func() { err = refused(err, creds.clientID, "") }() // the caller, authenticated, for the log
	if creds.method == authNone {
		return errClientAuth(creds.method, "introspection needs a confidential client")
	}
	raw := form.Get("token")
	if raw == "" {
		return oautherr.New(oautherr.InvalidRequest, "token is required")
	}
	if !strings.Contains(raw, ".") {
		// Not a JWT: perhaps a refresh token.
		out, err := h.introspectRefresh(r, snap, raw)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	acc, reason, err := h.accessCheck(snap).CheckAnyAudience(r.Context(), raw)
	if err != nil {
		return oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", err)
	}
	if reason != token.Valid {
		// RFC 7662 §2.2: the server "SHOULD NOT include any additional
		// information about an inactive token, including why the token is
		// inactive".
		writeJSON(w, http.StatusOK, introspection{Active: false})
		return nil
	}
	c := acc.Claims
	out := introspection{
		Active: true, Scope: c.Scope, ClientID: c.ClientID, TokenType: "Bearer",
		Exp: c.ExpiresAt.Unix(), Iat: c.IssuedAt.Unix(), Sub: c.Subject, Aud: c.Audience,
		Iss: c.Issuer, JTI: c.JTI,
	}
	if !c.AuthTime.IsZero() {
		out.AuthTime = c.AuthTime.Unix()
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// introspectRefresh describes a refresh token: active while neither
// rotated, revoked nor expired, and its user still active.
func (h *Handler) introspectRefresh(r *http.Request, snap *catalog.Snapshot, raw string) (introspection, error) {
	ctx := r.Context()
	t, err := h.Store.RefreshTokens().Get(ctx, snap.Tenant.ID, hashOpaque(raw))
	if errors.Is(err, store.ErrNotFound) {
		return introspection{}, nil
	}
	if err != nil {
		return introspection{}, oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", fmt.Errorf("load refresh token: %w", err))
	}
	now := h.now()
	if t.Revoked || !t.RotatedAt.IsZero() || !now.Before(t.ExpiresAt) || !now.Before(t.FamilyExpiresAt) {
		return introspection{}, nil
	}
	_, reason, err := token.ActiveUser(ctx, h.Store.Users(), snap.Tenant.ID, t.UserID)
	if err != nil {
		return introspection{}, oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", err)
	}
	if reason != token.Valid {
		return introspection{}, nil
	}
	out := introspection{
		Active: true, Scope: strings.Join(t.Scopes, " "), ClientID: t.ClientID, TokenType: "refresh_token",
		Exp: t.ExpiresAt.Unix(), Iat: t.CreatedAt.Unix(), Sub: t.UserID, Aud: t.Audience, Iss: snap.Tenant.Issuer,
	}
	if !t.AuthTime.IsZero() {
		out.AuthTime = t.AuthTime.Unix()
	}
	return out, nil
}

// accessCheck is the tenant's one access-token check (token.AccessCheck),
// shared with userinfo and the platform API.
func (h *Handler) accessCheck(snap *catalog.Snapshot) *token.AccessCheck {
	return snap.AccessCheck(h.Store, h.now)
}
