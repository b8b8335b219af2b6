package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/token"
)

// errNoSession means the browser must sign in (again): no cookie, an
// unknown or expired session, tokens that no longer refresh.
var errNoSession = errors.New("console: no session")

// tokenSet is what a session keeps sealed.
type tokenSet struct {
	Access  string `json:"access_token"`
	Refresh string `json:"refresh_token,omitempty"`
	IDToken string `json:"id_token,omitempty"`
}

// refreshAhead is how long before its expiry an access token is refreshed.
const refreshAhead = 30 * time.Second

func sessionCookieName(snap *catalog.Snapshot) string { return "intelliauth_console_" + snap.Tenant.ID }

func cookiePath(snap *catalog.Snapshot) string { return base(snap) + "/" }

// randomToken returns 32 random bytes, base64url without padding.
func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("console: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// sessionID is the stored ID of a session cookie: its hex SHA-256, so a
// read of the table gives nobody a cookie.
func sessionID(cookie string) string {
	sum := sha256.Sum256([]byte(cookie))
	return hex.EncodeToString(sum[:])
}

// tokensAD binds sealed tokens to their session row.
func tokensAD(tenantID, id string) []byte {
	return []byte("intelliauth console session v1\x00" + tenantID + "\x00" + id)
}

func (h *Handler) seal(tenantID, id string, ts tokenSet) ([]byte, error) {
	b, err := json.Marshal(ts)
	if err != nil {
		return nil, err
	}
	return h.Sealer.Seal(b, tokensAD(tenantID, id))
}

func (h *Handler) open(s model.ConsoleSession) (tokenSet, error) {
	b, err := h.Sealer.Open(s.Tokens, tokensAD(s.TenantID, s.ID))
	if err != nil {
		return tokenSet{}, err
	}
	var ts tokenSet
	if err := json.Unmarshal(b, &ts); err != nil {
		return tokenSet{}, fmt.Errorf("console: sealed tokens: %w", err)
	}
	return ts, nil
}

// startSession stores a new session for the tokens of a sign-in and sets
// its cookie.
func (h *Handler) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot, userID string, ts tokenSet, accessExp time.Time) error {
	cookie, err := randomToken()
	if err != nil {
		return err
	}
	id := sessionID(cookie)
	sealed, err := h.seal(snap.Tenant.ID, id, ts)
	if err != nil {
		return err
	}
	now := h.now()
	s := model.ConsoleSession{TenantID: snap.Tenant.ID, ID: id, UserID: userID, Tokens: sealed,
		AccessExpiresAt: accessExp, CreatedAt: now, ExpiresAt: now.Add(h.sessionTTL())}
	if err := h.Store.ConsoleSessions().Create(ctx, s); err != nil {
		return fmt.Errorf("console: store session: %w", err)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookieName(snap), Value: cookie, Path: cookiePath(snap),
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode, Expires: s.ExpiresAt})
	return nil
}

func (h *Handler) clearSessionCookie(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookieName(snap), Value: "", Path: cookiePath(snap),
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// session resolves the request's session into a signed-in Request:
// refreshes its tokens when the access token is about to expire, and checks
// the access token as /api/v1 does. errNoSession sends the browser to sign
// in; a session that cannot go on is deleted first.
func (h *Handler) session(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) (*Request, error) {
	ctx := r.Context()
	c, err := r.Cookie(sessionCookieName(snap))
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return nil, errNoSession
	}
	id := sessionID(c.Value)
	s, err := h.Store.ConsoleSessions().Get(ctx, snap.Tenant.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		h.clearSessionCookie(w, r, snap)
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	now := h.now()
	if !now.Before(s.ExpiresAt) {
		h.endSession(ctx, w, r, snap, s)
		return nil, errNoSession
	}
	ts, err := h.open(s)
	if err != nil {
		h.logger().WarnContext(ctx, "console: a session's tokens do not open (another master key?); signing it out", "tenant", snap.Tenant.ID)
		h.endSession(ctx, w, r, snap, s)
		return nil, errNoSession
	}
	if now.Add(refreshAhead).After(s.AccessExpiresAt) {
		if ts, err = h.refresh(ctx, snap, s); err != nil {
			if errors.Is(err, errNoSession) {
				h.endSession(ctx, w, r, snap, s)
			}
			return nil, err
		}
	}
	acc, reason, err := h.checkAccess(ctx, snap, ts.Access)
	if err != nil {
		return nil, err
	}
	if reason != token.Valid || acc.User == nil {
		// Revoked, user disabled or deleted, keys rotated away…: the
		// session is over.
		h.endSession(ctx, w, r, snap, s)
		return nil, errNoSession
	}
	return &Request{
		Request: r, Snap: snap, User: *acc.User, Base: base(snap),
		Actor: admin.Actor{Type: model.ActorUser, ID: acc.User.ID, Scopes: strings.Fields(acc.Claims.Scope), Via: model.ConsoleClientID, AMR: acc.Claims.AMR},
		csrf:  csrfToken(c.Value),
	}, nil
}

// checkAccess is the tenant's one access-token check, for the platform API.
func (h *Handler) checkAccess(ctx context.Context, snap *catalog.Snapshot, raw string) (token.Access, token.Reason, error) {
	platform, _ := snap.Registry.PlatformAPI()
	return snap.AccessCheck(h.Store, h.now).Check(ctx, raw, platform.Identifier)
}

// refresh trades the session's refresh token for new tokens and stores
// them. Of two requests of one session on this node, the second waits and
// reads the first's tokens; of two nodes, the loser of the store's
// compare-and-swap reads the winner's tokens (its own refresh token was
// already spent: the token endpoint will have taken it for a replay and
// ended the grant, which signs the session out — rare, and safe).
func (h *Handler) refresh(ctx context.Context, snap *catalog.Snapshot, s model.ConsoleSession) (tokenSet, error) {
	f := fnv.New32a()
	f.Write([]byte(s.ID))
	mu := &h.refreshLocks[f.Sum32()%uint32(len(h.refreshLocks))]
	mu.Lock()
	defer mu.Unlock()
	cur, err := h.Store.ConsoleSessions().Get(ctx, s.TenantID, s.ID)
	if errors.Is(err, store.ErrNotFound) {
		return tokenSet{}, errNoSession
	}
	if err != nil {
		return tokenSet{}, err
	}
	ts, err := h.open(cur)
	if err != nil {
		return tokenSet{}, errNoSession
	}
	if cur.Version != s.Version && h.now().Add(refreshAhead).Before(cur.AccessExpiresAt) {
		return ts, nil // refreshed meanwhile
	}
	if ts.Refresh == "" {
		return tokenSet{}, errNoSession
	}
	res, err := h.tokenEndpoint(ctx, snap, refreshForm(ts.Refresh))
	if err != nil {
		return tokenSet{}, err
	}
	next := tokenSet{Access: res.AccessToken, Refresh: res.RefreshToken, IDToken: ts.IDToken}
	if next.Refresh == "" {
		next.Refresh = ts.Refresh
	}
	if res.IDToken != "" {
		next.IDToken = res.IDToken
	}
	sealed, err := h.seal(cur.TenantID, cur.ID, next)
	if err != nil {
		return tokenSet{}, err
	}
	cur.Tokens, cur.AccessExpiresAt = sealed, res.expiresAt(h.now())
	if _, err := h.Store.ConsoleSessions().UpdateTokens(ctx, cur); err != nil {
		if errors.Is(err, store.ErrPrecondition) || errors.Is(err, store.ErrNotFound) {
			return tokenSet{}, errNoSession
		}
		return tokenSet{}, err
	}
	return next, nil
}

// endSession deletes the session row and the cookie.
func (h *Handler) endSession(ctx context.Context, w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot, s model.ConsoleSession) {
	if err := h.Store.ConsoleSessions().Delete(context.WithoutCancel(ctx), s.TenantID, s.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		h.logger().WarnContext(ctx, "console: delete session", "err", err)
	}
	h.clearSessionCookie(w, r, snap)
}

// csrfToken is the session's CSRF token: an HMAC of the session cookie,
// which a page can show and another site cannot compute.
func csrfToken(cookie string) string {
	m := hmac.New(sha256.New, []byte(cookie))
	m.Write([]byte("intelliauth console csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF reports whether a POST carries the session's CSRF token and
// was not marked cross-site by the browser (Fetch Metadata).
func checkCSRF(r *http.Request, want string) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	got := r.PostFormValue("csrf")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
