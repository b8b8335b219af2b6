package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/policy"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/oautherr"
	"github.com/intelliauth/intelliauth/scope"
)

// Default refresh-token lifetimes, when the application sets none.
const (
	// DefaultRefreshIdleTTL: a family unused this long expires.
	DefaultRefreshIdleTTL = 30 * 24 * time.Hour
	// DefaultRefreshAbsoluteTTL: a family expires this long after the
	// sign-in that started it, however often it is used.
	DefaultRefreshAbsoluteTTL = 90 * 24 * time.Hour
)

// userGrant is what a user grant's tokens say about the user's sign-in.
type userGrant struct {
	user     model.User
	authTime time.Time
	// amr is how the user authenticated for the grant (RFC 8176).
	amr       []string
	sessionID string
	nonce     string
	// resources are the APIs of a grant of several (RFC 8707) and the
	// scopes of each, as the code recorded them; a new refresh-token
	// family keeps them.
	resources []model.ResourceGrant
}

// mintUser mints the tokens of a user grant: the access token, an ID token
// when openid is granted (OIDC Core 1.0 §3.1.3.3), and a refresh token when
// offline_access is granted and the client may refresh (OIDC Core 1.0
// §11). rotate, when set, is the refresh token being exchanged: the new
// one joins its family. mintUser writes nothing: the refresh token is
// stored by the grant's commit (storeRefresh), in the transaction of the
// redemption or rotation and the audit event, so nothing is returned
// unless the rotation won. The refresh token records the access token's jti
// in the INSERT that stores it, so that revoking the family revokes the
// access token too (RFC 7009 §2.1) at no extra statement.
func (h *Handler) mintUser(_ context.Context, req *tokenRequest, d policy.Decision, g userGrant, rotate *model.RefreshToken) (*issued, error) {
	out, err := h.mintAccess(req, d, g.user.ID, g.authTime, g.amr)
	if err != nil {
		return nil, err
	}
	if d.Granted.Has(model.ScopeOpenID) {
		idt, err := h.idToken(req, d.Granted, g, out.resp.AccessToken, out.expires)
		if err != nil {
			return nil, err
		}
		out.resp.IDToken = idt
	}
	now := h.now()
	tenant := req.snap.Tenant.ID
	switch {
	case rotate != nil:
		// RFC 6749 §6: "the refresh token scope MUST be identical to that of
		// the refresh token included by the client in the request".
		plain := newOpaque()
		next := *rotate
		next.Hash, next.CreatedAt, next.RotatedAt, next.Revoked = hashOpaque(plain), now, time.Time{}, false
		next.AccessJTI, next.AccessExpiresAt = out.jti, out.expires
		next.ExpiresAt = minTime(now.Add(idleTTL(req.app.Application)), rotate.FamilyExpiresAt)
		out.resp.RefreshToken, out.familyID = plain, next.FamilyID
		out.refresh = &refreshWrite{rotateFrom: rotate.Hash, token: next, at: now}
	case d.Granted.Has(model.ScopeOfflineAccess) && req.app.Allows(model.GrantRefreshToken):
		plain := newOpaque()
		abs := now.Add(absoluteTTL(req.app.Application))
		t := model.RefreshToken{
			TenantID: tenant, Hash: hashOpaque(plain), FamilyID: newOpaque(),
			ClientID: req.app.ClientID, UserID: g.user.ID, SessionID: g.sessionID,
			Scopes: d.Granted.Names(), Audience: d.Audience.Identifier, AuthTime: g.authTime, AMR: g.amr,
			CreatedAt: now, ExpiresAt: minTime(now.Add(idleTTL(req.app.Application)), abs), FamilyExpiresAt: abs,
			AccessJTI: out.jti, AccessExpiresAt: out.expires,
		}
		if len(g.resources) > 0 {
			// A grant of several APIs: the family keeps each API's scopes,
			// the API of this token with what was just granted for it (a
			// narrowing since the code was issued holds for the family).
			t.Resources = make([]model.ResourceGrant, len(g.resources))
			for i, rg := range g.resources {
				if rg.Audience == d.Audience.Identifier {
					rg.Scopes = d.Granted.Names()
				}
				t.Resources[i] = rg
			}
			t.Audience, t.Scopes = t.Resources[0].Audience, t.Resources[0].Scopes
		}
		out.resp.RefreshToken, out.familyID = plain, t.FamilyID
		out.refresh = &refreshWrite{token: t, at: now}
	}
	return out, nil
}

// refreshWrite is a minted refresh token waiting for the grant's commit.
type refreshWrite struct {
	// rotateFrom is the hash of the token being exchanged: token joins its
	// family (store.RefreshTokens.Rotate). Empty: token starts a family.
	rotateFrom string
	token      model.RefreshToken
	at         time.Time
}

// storeRefresh stores out's refresh token, if it carries one, with the
// grant's transaction r. A rotation that loses — the token was rotated or
// its family revoked since the grant read it — fails with an invalid_grant
// wrapping store.ErrReused and yields the token as stored; the caller's
// transaction then rolls back and the replay is handled outside it.
func storeRefresh(ctx context.Context, r store.Repos, tenant string, out *issued) (model.RefreshToken, error) {
	w := out.refresh
	if w == nil {
		return model.RefreshToken{}, nil
	}
	rt := r.RefreshTokens()
	if w.rotateFrom == "" {
		if err := rt.Create(ctx, w.token); err != nil {
			return model.RefreshToken{}, oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", fmt.Errorf("store refresh token: %w", err))
		}
		return model.RefreshToken{}, nil
	}
	old, err := rt.Rotate(ctx, tenant, w.rotateFrom, w.token, w.at)
	switch {
	case errors.Is(err, store.ErrReused):
		return old, refusedAtCommit(old, err)
	case err != nil:
		return model.RefreshToken{}, oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", fmt.Errorf("rotate refresh token: %w", err))
	}
	return model.RefreshToken{}, nil
}

// refusedAtCommit is the refusal of a refresh whose token another request
// used (or whose family was revoked) between the read and the commit; err
// is the store's ErrReused, kept in the chain for the replay path.
func refusedAtCommit(cur model.RefreshToken, err error) error {
	if cur.RotatedAt.IsZero() {
		// Not rotated: its family was revoked (a logout, a disabled user)
		// after the token was read.
		return oautherr.Wrap(oautherr.InvalidGrant, "the refresh token was revoked", err)
	}
	return oautherr.Wrap(oautherr.InvalidGrant, "the refresh token was already used", err)
}

func idleTTL(a model.Application) time.Duration {
	if a.RefreshIdleTTL > 0 {
		return a.RefreshIdleTTL
	}
	return DefaultRefreshIdleTTL
}

func absoluteTTL(a model.Application) time.Duration {
	if a.RefreshAbsoluteTTL > 0 {
		return a.RefreshAbsoluteTTL
	}
	return DefaultRefreshAbsoluteTTL
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// refreshToken is the RFC 6749 §6 grant. The token is looked up by hash;
// a token that was already rotated is a replay (RFC 9700 §4.14.2: "If a
// refresh token is compromised and subsequently used by both the attacker
// and the legitimate client, one of them will present an invalidated
// refresh token, which will inform the authorization server of the
// breach"), so its whole family is revoked, with the access tokens issued
// alongside (store.RefreshTokens.RevokeFamily), and
// oauth.refresh_token_reused audited. Otherwise the scope decision runs
// again with the allowlist, registry, roles and consent as they are now,
// bounded by the family's scopes (Ceiling: a refresh may narrow, never
// widen), and the token is rotated when the pipeline commits, with the
// audit event: a refresh that does not end in a 200 leaves the token
// usable (RFC 6749 §6). A refresh token is issued again only while
// offline_access is still allowed; otherwise the family ends with this
// refresh.
func (h *Handler) refreshToken(ctx context.Context, req *tokenRequest) (*grantPlan, error) {
	raw := req.form.refreshToken
	if raw == "" {
		return nil, oautherr.New(oautherr.InvalidRequest, "refresh_token is required")
	}
	tenant := req.snap.Tenant.ID
	now := h.now()
	old, err := h.Store.RefreshTokens().Get(ctx, tenant, hashOpaque(raw))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, oautherr.New(oautherr.InvalidGrant, "the refresh token is invalid")
	case err != nil:
		return nil, oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", fmt.Errorf("load refresh token: %w", err))
	}
	refused := &grantPlan{subject: old.UserID}
	switch {
	case old.Revoked:
		return refused, oautherr.New(oautherr.InvalidGrant, "the refresh token was revoked")
	case !old.RotatedAt.IsZero():
		h.refreshReused(ctx, req, old)
		return refused, oautherr.New(oautherr.InvalidGrant, "the refresh token was already used")
	case old.ClientID != req.app.ClientID:
		// RFC 6749 §6: "the refresh token is bound to the client to which it
		// was issued".
		return refused, oautherr.New(oautherr.InvalidGrant, "the refresh token was issued to another client")
	case !now.Before(old.ExpiresAt) || !now.Before(old.FamilyExpiresAt):
		return refused, oautherr.New(oautherr.InvalidGrant, "the refresh token has expired")
	}
	// RFC 8707 §2.2: a refresh with resource=X returns a token for X alone,
	// within the grant's scopes for X; without one, for the grant's first
	// API. The family is one whatever the audience: it rotates as always.
	target, err := coveredAPI(req.form.resources, old.Resources, old.Audience, old.Scopes)
	if err != nil {
		return refused, err
	}
	user, err := h.activeUser(ctx, tenant, old.UserID)
	if err != nil {
		return refused, err
	}
	ceiling := scope.New(target.Scopes...)
	scopeParam := req.form.scope
	omitted := scopeParam == ""
	if omitted {
		// RFC 6749 §6: "If omitted is treated as equal to the scope
		// originally granted by the resource owner."
		scopeParam = ceiling.String()
	}
	// The family's amr, fixed when the grant was made: a refresh never
	// grants a scope that requires a second factor to a grant made without
	// one, whatever the session has done since.
	in, err := h.userInput(ctx, req.snap, req.app, user.ID, old.AMR, scopeParam, target.Audience)
	if err != nil {
		return refused, oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", err)
	}
	g := userGrant{user: user, authTime: old.AuthTime, amr: old.AMR, sessionID: old.SessionID}
	rotate := offlineAllowed(req, in.Consented)
	reused := old
	return &grantPlan{
		input: decisionInput{
			scope: scopeParam, audience: target.Audience, user: in.User, consented: in.Consented, ceiling: &ceiling,
			// The client asked for nothing in particular: a scope the
			// allowlist or the registry lost since the grant is dropped with
			// its reason (PRODUCT.md §2: it "stops appearing in refreshed
			// tokens at once"), not held against a strict application.
			permissive: omitted,
		},
		subject: user.ID,
		mint: func(ctx context.Context, d policy.Decision) (*issued, error) {
			if d.Granted.Empty() {
				return nil, oautherr.New(oautherr.InvalidGrant, "none of the grant's scopes can be issued any more")
			}
			var from *model.RefreshToken
			if rotate {
				from = &old
			}
			return h.mintUser(ctx, req, d, g, from)
		},
		commit: func(ctx context.Context, r store.Repos, out *issued) error {
			cur, err := storeRefresh(ctx, r, tenant, out)
			if err != nil {
				if errors.Is(err, store.ErrReused) && cur.Hash != "" {
					reused = cur
				}
				return err
			}
			if rotate {
				return nil
			}
			// offline_access is no longer allowed: this refresh is the last.
			// It is still a single use (two concurrent last refreshes: one
			// wins, the other is a reuse). Ending the family also revokes the
			// access tokens of its earlier refreshes; the one just minted is
			// not a member's, and lives out its lifetime.
			if cur, err := r.RefreshTokens().Retire(ctx, tenant, old.Hash, h.now()); errors.Is(err, store.ErrReused) {
				reused = cur
				return refusedAtCommit(cur, err)
			} else if err != nil {
				return oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", fmt.Errorf("retire refresh token: %w", err))
			}
			if err := r.RefreshTokens().RevokeFamily(ctx, tenant, old.FamilyID); err != nil {
				return oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", fmt.Errorf("end refresh family: %w", err))
			}
			return nil
		},
		// A concurrent request rotated the token first: the same replay as
		// above, found at the write.
		replayed: func(ctx context.Context) {
			// A family revoked for a legitimate reason between the read and
			// the rotation is not a reuse: refuse without the alarm.
			if reused.RotatedAt.IsZero() {
				return
			}
			h.refreshReused(ctx, req, reused)
		},
	}, nil
}

// offlineAllowed reports whether the application may still hold a refresh
// token for the user: offline_access registered, on the allowlist (or
// implied by it), and consented where consent is asked.
func offlineAllowed(req *tokenRequest, consented *scope.Set) bool {
	reg := req.snap.Registry
	if _, ok := reg.Scope(model.ScopeOfflineAccess); !ok {
		return false
	}
	if !reg.Closure(scope.New(req.app.AllowedScopes...)).Has(model.ScopeOfflineAccess) {
		return false
	}
	return consented == nil || consented.Has(model.ScopeOfflineAccess)
}

// refreshReused revokes a refresh token's whole family, with its access
// tokens, and audits oauth.refresh_token_reused. Failures are logged: the
// request is refused either way.
func (h *Handler) refreshReused(ctx context.Context, req *tokenRequest, t model.RefreshToken) {
	// Reuse means a token was stolen: hanging up must not stop the
	// family's revocation.
	ctx = context.WithoutCancel(ctx)
	tenant := req.snap.Tenant.ID
	if err := h.Store.RefreshTokens().RevokeFamily(ctx, tenant, t.FamilyID); err != nil {
		h.Logger.ErrorContext(ctx, "refresh reuse: revoke family", "tenant", tenant, "err", err)
	}
	details, _ := json.Marshal(map[string]any{
		"family_id":    t.FamilyID,
		"presented_by": req.app.ClientID,
		"rotated_at":   t.RotatedAt.UTC(),
	})
	if err := h.Audit.Record(ctx, model.AuditEvent{
		TenantID: tenant, Type: model.EventRefreshTokenReused,
		ActorType: model.ActorClient, ActorID: req.app.ClientID, ClientID: t.ClientID,
		Subject: t.UserID, Audience: t.Audience, Scopes: t.Scopes, Details: details,
	}); err != nil {
		h.Logger.ErrorContext(ctx, "refresh reuse: audit", "tenant", tenant, "err", err)
	}
}
