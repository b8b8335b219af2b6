package login

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// Cookie names are per tenant (the tenant ID is a valid cookie-name
// suffix), so two tenants served on one host never see each other's
// cookies even when one of them is served at the root.
const (
	sessionCookiePrefix = "ia_session_"
	csrfCookiePrefix    = "ia_csrf_"
	// cookieBytes is the entropy of session and CSRF cookies (OWASP Session
	// Management Cheat Sheet: at least 64 bits; we take 256).
	cookieBytes = 32
	// touchEvery bounds the LastSeen writes of a busy session.
	touchEvery = 5 * time.Minute
)

// SessionCookieName returns the name of the tenant's session cookie.
func SessionCookieName(snap *catalog.Snapshot) string { return sessionCookiePrefix + snap.Tenant.ID }

func csrfCookieName(snap *catalog.Snapshot) string { return csrfCookiePrefix + snap.Tenant.ID }

// cookiePath is the issuer's path with a trailing slash (/t/banking/), or
// "/" for a tenant whose issuer is a host of its own.
func cookiePath(snap *catalog.Snapshot) string {
	u, err := url.Parse(snap.Tenant.Issuer)
	if err != nil || u.Path == "" || u.Path == "/" {
		return "/"
	}
	return u.Path + "/"
}

// newToken returns cookieBytes random bytes, base64url without padding.
func newToken() (string, error) {
	b := make([]byte, cookieBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// decodeToken returns the bytes of a cookie value newToken made, or false.
func decodeToken(v string) ([]byte, bool) {
	if len(v) != base64.RawURLEncoding.EncodedLen(cookieBytes) {
		return nil, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(v)
	if err != nil || len(b) != cookieBytes {
		return nil, false
	}
	return b, true
}

// sessionID is the stored identifier of a session cookie value: the hex
// SHA-256 of the value as the cookie carries it.
func sessionID(cookieValue string) string {
	sum := sha256.Sum256([]byte(cookieValue))
	return hex.EncodeToString(sum[:])
}

// cookieSessionID returns the session ID the request's cookie names, if it
// carries a well-formed one.
func cookieSessionID(r *http.Request, snap *catalog.Snapshot) (string, bool) {
	c, err := r.Cookie(SessionCookieName(snap))
	if err != nil {
		return "", false
	}
	if _, ok := decodeToken(c.Value); !ok {
		return "", false
	}
	return sessionID(c.Value), true
}

// CurrentSession returns the signed-in session of this tenant for the
// request and its user, when the session cookie names a stored session that
// has not expired and whose user exists and is active. ok is false
// otherwise; err only reports a storage failure. It refreshes the
// session's LastSeen at most every few minutes. It does not check
// max_age or prompt: the caller compares AuthTime.
func (h *Handler) CurrentSession(r *http.Request, snap *catalog.Snapshot) (model.Session, model.User, bool, error) {
	ctx := r.Context()
	id, ok := cookieSessionID(r, snap)
	if !ok {
		return model.Session{}, model.User{}, false, nil
	}
	s, err := h.Store.Sessions().Get(ctx, snap.Tenant.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return model.Session{}, model.User{}, false, nil
	}
	if err != nil {
		return model.Session{}, model.User{}, false, fmt.Errorf("load session: %w", err)
	}
	now := h.now()
	if !now.Before(s.ExpiresAt) {
		return model.Session{}, model.User{}, false, nil
	}
	u, err := h.Store.Users().Get(ctx, snap.Tenant.ID, s.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return model.Session{}, model.User{}, false, nil
	}
	if err != nil {
		return model.Session{}, model.User{}, false, fmt.Errorf("load user of session: %w", err)
	}
	if u.Status != model.UserActive {
		return model.Session{}, model.User{}, false, nil
	}
	if now.Sub(s.LastSeen) >= touchEvery {
		if err := h.Store.Sessions().Touch(ctx, snap.Tenant.ID, s.ID, now); err != nil {
			h.logger().WarnContext(ctx, "touch session", "tenant", snap.Tenant.ID, "err", err)
		} else {
			s.LastSeen = now
		}
	}
	return s, u, true, nil
}

// EndSession deletes the request's session, if its cookie names one, and
// clears the cookie in any case. It returns the deleted session and true,
// or false when there was none. It writes no audit event: the caller
// (RP-initiated logout) records model.EventLogout with what it knows.
func (h *Handler) EndSession(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) (model.Session, bool, error) {
	ctx := r.Context()
	h.clearSessionCookie(w, r, snap)
	id, ok := cookieSessionID(r, snap)
	if !ok {
		return model.Session{}, false, nil
	}
	s, err := h.Store.Sessions().Get(ctx, snap.Tenant.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return model.Session{}, false, nil
	}
	if err != nil {
		return model.Session{}, false, fmt.Errorf("load session: %w", err)
	}
	if err := h.Store.Sessions().Delete(ctx, snap.Tenant.ID, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return model.Session{}, false, nil
		}
		return model.Session{}, false, fmt.Errorf("delete session: %w", err)
	}
	return s, true, nil
}

func (h *Handler) setSessionCookie(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot, value string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookieName(snap), Value: value, Path: cookiePath(snap),
		Expires: expires, MaxAge: int(expires.Sub(h.now()).Seconds()),
		HttpOnly: true, Secure: h.secure(r, snap), SameSite: http.SameSiteLaxMode,
	})
}

func (h *Handler) clearSessionCookie(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookieName(snap), Value: "", Path: cookiePath(snap), MaxAge: -1,
		HttpOnly: true, Secure: h.secure(r, snap), SameSite: http.SameSiteLaxMode,
	})
}
