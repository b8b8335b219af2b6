package console

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/token"
)

// flow is the state of one sign-in between /console/signin and
// /console/callback, kept in a cookie sealed with the master key (so any
// node can finish what another began, and the browser can neither read the
// PKCE verifier nor change where it is sent back to).
type flow struct {
	State    string    `json:"state"`
	Nonce    string    `json:"nonce"`
	Verifier string    `json:"verifier"`
	Next     string    `json:"next"`
	Expires  time.Time `json:"exp"`
}

// flowTTL bounds how long a sign-in may take.
const flowTTL = 10 * time.Minute

func flowCookieName(snap *catalog.Snapshot) string {
	return "intelliauth_console_flow_" + snap.Tenant.ID
}

func flowAD(tenantID string) []byte { return []byte("intelliauth console flow v1\x00" + tenantID) }

// signin starts the authorization code flow with PKCE (RFC 7636 §4.1–4.2,
// S256) for the console, requesting every platform scope for the platform
// API: the scope decision gives the user those their roles entitle them to.
func (h *Handler) signin(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) {
	ctx := r.Context()
	if _, err := h.consoleSecret(ctx, snap); err != nil {
		h.fail(w, r, nil, err)
		return
	}
	var f flow
	var err error
	for _, p := range []*string{&f.State, &f.Nonce, &f.Verifier} {
		if *p, err = randomToken(); err != nil {
			h.fail(w, r, nil, err)
			return
		}
	}
	f.Next = safeNext(snap, r.URL.Query().Get("next"))
	f.Expires = h.now().Add(flowTTL)
	b, _ := json.Marshal(f)
	sealed, err := h.Sealer.Seal(b, flowAD(snap.Tenant.ID))
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	// Lax: the cookie must come back with the top-level redirect from the
	// authorization endpoint to the callback.
	http.SetCookie(w, &http.Cookie{Name: flowCookieName(snap), Value: base64.RawURLEncoding.EncodeToString(sealed),
		Path: cookiePath(snap), HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode, MaxAge: int(flowTTL / time.Second)})
	platform, _ := snap.Registry.PlatformAPI()
	challenge := sha256.Sum256([]byte(f.Verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {model.ConsoleClientID},
		"redirect_uri":          {admin.ConsoleRedirectURI(snap.Tenant.Issuer)},
		"scope":                 {consoleScope()},
		"state":                 {f.State},
		"nonce":                 {f.Nonce},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(challenge[:])},
		"code_challenge_method": {"S256"},
		"resource":              {platform.Identifier},
	}
	http.Redirect(w, r, snap.Tenant.Issuer+"/oauth2/authorize?"+q.Encode(), http.StatusFound)
}

// consoleScope is what the console asks for: sign-in, a refresh token, and
// every platform scope.
func consoleScope() string {
	return "openid profile offline_access " + strings.Join(model.PlatformScopeNames(), " ")
}

// safeNext keeps a return address only if it is a path of this console:
// an open redirect would let a link send a signed-in admin anywhere. A path
// with dot segments (also percent-encoded ones, which browsers resolve too)
// or empty segments is refused rather than cleaned.
func safeNext(snap *catalog.Snapshot, next string) string {
	home := base(snap) + "/"
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Fragment != "" ||
		!model.ValidText(next) || strings.Contains(next, "\\") {
		return home
	}
	p := u.Path
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	if clean != p || !strings.HasPrefix(p, home) {
		return home
	}
	if u.RawQuery != "" {
		return u.EscapedPath() + "?" + u.RawQuery
	}
	return u.EscapedPath()
}

// callback finishes the sign-in: it checks the state (RFC 6749 §10.12),
// exchanges the code with the PKCE verifier, checks the ID token's nonce,
// issuer and audience (OIDC Core §3.1.3.7; the token came straight from the
// token endpoint, so its signature need not be checked, item 6) and the
// access token with the tenant's access-token check, and starts a session.
func (h *Handler) callback(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) {
	ctx := r.Context()
	q := r.URL.Query()
	f, ok := h.readFlow(r, snap)
	http.SetCookie(w, &http.Cookie{Name: flowCookieName(snap), Value: "", Path: cookiePath(snap), HttpOnly: true,
		Secure: h.secure(r), SameSite: http.SameSiteLaxMode, MaxAge: -1})
	if !ok || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.State)) != 1 {
		h.fail(w, r, nil, &pageError{Status: http.StatusBadRequest, Title: "Sign-in expired",
			Message: "This sign-in was not started here, or took longer than 10 minutes.", Link: base(snap) + "/signin", LinkText: "Sign in again"})
		return
	}
	if e := q.Get("error"); e != "" {
		desc := q.Get("error_description")
		if !model.ValidText(desc) || len(desc) > 500 {
			desc = ""
		}
		h.fail(w, r, nil, &pageError{Status: http.StatusForbidden, Title: "Sign-in refused",
			Message: "The sign-in ended with " + e + ". " + desc, Link: base(snap) + "/signin", LinkText: "Sign in again"})
		return
	}
	res, err := h.tokenEndpoint(ctx, snap, url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {q.Get("code")},
		"redirect_uri":  {admin.ConsoleRedirectURI(snap.Tenant.Issuer)},
		"code_verifier": {f.Verifier},
	})
	if errors.Is(err, errNoSession) {
		// invalid_grant: the code expired or was used (a reload of the
		// callback, say).
		err = &pageError{Status: http.StatusBadRequest, Title: "Sign-in expired", cause: err,
			Message: "This sign-in's code was already used or has expired.", Link: base(snap) + "/signin", LinkText: "Sign in again"}
	}
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	if err := checkIDToken(res.IDToken, snap.Tenant.Issuer, f.Nonce); err != nil {
		h.fail(w, r, nil, &pageError{Status: http.StatusBadGateway, Title: "Sign-in failed", Message: err.Error(), cause: err})
		return
	}
	acc, reason, err := h.checkAccess(ctx, snap, res.AccessToken)
	if err == nil && (reason != token.Valid || acc.User == nil) {
		err = fmt.Errorf("console: the access token of a fresh sign-in is %v", reason)
	}
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	ts := tokenSet{Access: res.AccessToken, Refresh: res.RefreshToken, IDToken: res.IDToken}
	if err := h.startSession(ctx, w, r, snap, acc.User.ID, ts, res.expiresAt(h.now())); err != nil {
		h.fail(w, r, nil, err)
		return
	}
	http.Redirect(w, r, f.Next, http.StatusFound)
}

func (h *Handler) readFlow(r *http.Request, snap *catalog.Snapshot) (flow, bool) {
	c, err := r.Cookie(flowCookieName(snap))
	if err != nil {
		return flow{}, false
	}
	sealed, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return flow{}, false
	}
	b, err := h.Sealer.Open(sealed, flowAD(snap.Tenant.ID))
	if err != nil {
		return flow{}, false
	}
	var f flow
	if json.Unmarshal(b, &f) != nil || f.State == "" || !h.now().Before(f.Expires) {
		return flow{}, false
	}
	return f, true
}

// checkIDToken checks the claims OIDC Core §3.1.3.7 items 2, 3 and 11 name:
// iss, aud and nonce.
func checkIDToken(raw, issuer, nonce string) error {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return errors.New("the token endpoint returned no ID token")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return errors.New("the ID token is not a JWT")
	}
	var c struct {
		Iss   string `json:"iss"`
		Aud   any    `json:"aud"`
		Nonce string `json:"nonce"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return errors.New("the ID token's claims do not parse")
	}
	audOK := c.Aud == model.ConsoleClientID
	if list, ok := c.Aud.([]any); ok {
		for _, a := range list {
			audOK = audOK || a == model.ConsoleClientID
		}
	}
	if c.Iss != issuer || !audOK || subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(nonce)) != 1 {
		return errors.New("the ID token is not for this console sign-in (iss, aud or nonce differ)")
	}
	return nil
}

// signout ends the console session, revokes its refresh token (RFC 7009)
// and sends the browser to the tenant's RP-initiated logout (OIDC
// RP-Initiated Logout 1.0 §2), which ends the sign-in session too and
// comes back to /console/signed-out.
func (h *Handler) signout(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) {
	ctx := r.Context()
	c, err := r.Cookie(sessionCookieName(snap))
	if err != nil {
		http.Redirect(w, r, base(snap)+"/signed-out", http.StatusSeeOther)
		return
	}
	if !checkCSRF(r, csrfToken(c.Value)) {
		h.fail(w, r, nil, &pageError{Status: http.StatusForbidden, Title: "Form expired",
			Message: "This sign-out was not sent from a console page. Reload the page and sign out again."})
		return
	}
	s, err := h.Store.ConsoleSessions().Get(ctx, snap.Tenant.ID, sessionID(c.Value))
	if err != nil {
		h.clearSessionCookie(w, r, snap)
		http.Redirect(w, r, base(snap)+"/signed-out", http.StatusSeeOther)
		return
	}
	ts, _ := h.open(s)
	h.endSession(ctx, w, r, snap, s)
	if ts.Refresh != "" {
		if err := h.revoke(context.WithoutCancel(ctx), snap, ts.Refresh); err != nil {
			h.logger().WarnContext(ctx, "console: revoke the refresh token at sign-out", "err", err)
		}
	}
	q := url.Values{"client_id": {model.ConsoleClientID}, "post_logout_redirect_uri": {admin.ConsoleSignedOutURI(snap.Tenant.Issuer)}}
	if ts.IDToken != "" {
		q.Set("id_token_hint", ts.IDToken)
	}
	http.Redirect(w, r, snap.Tenant.Issuer+"/oauth2/logout?"+q.Encode(), http.StatusSeeOther)
}

func (h *Handler) signedOut(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) {
	h.renderPublic(w, r, snap, http.StatusOK, "signedout", "Signed out", nil)
}

// tokenResponse is the part of RFC 6749 §5.1 the console uses.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	ExpiresIn    int64  `json:"expires_in"`
}

func (t tokenResponse) expiresAt(now time.Time) time.Time {
	return now.Add(time.Duration(t.ExpiresIn) * time.Second)
}

func refreshForm(refresh string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}
}

// oauthError is an error answer of the tenant's token endpoint.
type oauthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *oauthError) Error() string {
	return "console: token endpoint: " + e.Code + ": " + e.Description
}

// tokenEndpoint posts form to the tenant's token endpoint as the console
// (client_secret_basic, RFC 6749 §2.3.1). When the console's secret is
// refused (someone removed it), it prepares the application again and
// retries once. invalid_grant means the grant is over: errNoSession.
func (h *Handler) tokenEndpoint(ctx context.Context, snap *catalog.Snapshot, form url.Values) (tokenResponse, error) {
	var res tokenResponse
	for attempt := 0; ; attempt++ {
		secret, err := h.consoleSecret(ctx, snap)
		if err != nil {
			return res, err
		}
		err = h.post(ctx, snap, "/oauth2/token", secret, form, &res)
		var oe *oauthError
		if errors.As(err, &oe) && oe.Code == "invalid_client" && attempt == 0 {
			h.ensured.Delete(ensuredKey(snap))
			continue
		}
		if errors.As(err, &oe) && oe.Code == "invalid_grant" {
			return res, fmt.Errorf("%w: %v", errNoSession, err)
		}
		return res, err
	}
}

// revoke revokes a refresh token (RFC 7009 §2.1).
func (h *Handler) revoke(ctx context.Context, snap *catalog.Snapshot, refresh string) error {
	secret, err := h.consoleSecret(ctx, snap)
	if err != nil {
		return err
	}
	return h.post(ctx, snap, "/oauth2/revoke", secret, url.Values{"token": {refresh}, "token_type_hint": {"refresh_token"}}, nil)
}

// post sends one form to an endpoint of the tenant's issuer through the
// node's in-process transport and decodes a JSON answer into out.
func (h *Handler) post(ctx context.Context, snap *catalog.Snapshot, path, secret string, form url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, snap.Tenant.Issuer+path, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("console: %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(model.ConsoleClientID), url.QueryEscape(secret))
	client := &http.Client{Transport: h.Transport, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("console: %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("console: %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		oe := &oauthError{}
		if json.Unmarshal(body, oe) != nil || oe.Code == "" {
			oe.Code, oe.Description = "server_error", fmt.Sprintf("HTTP %d", resp.StatusCode)
		}
		if resp.StatusCode == http.StatusServiceUnavailable {
			return fmt.Errorf("%w: %w", errUnavailable, oe)
		}
		return oe
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("console: %s answer: %w", path, err)
	}
	return nil
}

func ensuredKey(snap *catalog.Snapshot) string { return snap.Tenant.ID + "\x00" + snap.Tenant.Issuer }

// consoleSecret returns the console's client secret, having made sure
// once per tenant and issuer on this node that the console application can
// be signed in with it (admin.EnsureConsole).
func (h *Handler) consoleSecret(ctx context.Context, snap *catalog.Snapshot) (string, error) {
	key := ensuredKey(snap)
	if v, ok := h.ensured.Load(key); ok {
		return v.(string), nil
	}
	secret, err := h.Admin.EnsureConsole(ctx, snap.Tenant.ID)
	if err != nil {
		return "", err
	}
	if h.Catalog != nil {
		h.Catalog.Invalidate(snap.Tenant.ID)
	}
	h.ensured.Store(key, secret)
	return secret, nil
}
