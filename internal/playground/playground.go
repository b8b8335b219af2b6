package playground

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/catalog"
)

// Paths relative to the tenant's issuer.
const (
	Path         = "/playground"
	StartPath    = Path + "/start"
	CallbackPath = Path + "/callback"
	// AccountPath is the tenant's account page (internal/login serves it;
	// the playground links to it, over HTTP like any relying party).
	AccountPath = "/account/"
)

// cookieName holds the sign-in in progress: state, nonce and PKCE verifier.
const cookieName = "ia_playground"

// txTTL bounds how long a started sign-in may take.
const txTTL = 10 * time.Minute

// signedOutState is the state the playground sends to RP-initiated logout,
// so the start page can say that the user is signed out.
const signedOutState = "signed-out"

// Handler serves the playground of one tenant. Its fields are set by the
// composition root; the zero HTTPClient, Logger and Now fall back to a
// 10-second client, a discarding logger and time.Now.
type Handler struct {
	// TenantID is the tenant whose issuer serves the playground; every other
	// tenant answers 404.
	TenantID string
	// ClientID is the public (spa) application the playground signs in as.
	// Its redirect URIs must hold {issuer}/playground/callback and its
	// post-logout URIs {issuer}/playground.
	ClientID string
	// Scope is the scope requested, e.g. "openid profile email
	// offline_access read:transactions".
	Scope string
	// Audience is the API the access token is for.
	Audience string
	// Hint is shown on the start page: who can sign in (never a password).
	Hint string
	// HTTPClient calls the token endpoint and the JWKS.
	HTTPClient *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (h *Handler) client() *http.Client {
	if h.HTTPClient != nil {
		return h.HTTPClient
	}
	return &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// ServeHTTP serves Path, StartPath and CallbackPath relative to the
// tenant's issuer (the server strips the /t/{tenant} prefix and puts the
// tenant's snapshot in the context).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	snap, ok := catalog.FromContext(r.Context())
	if !ok || snap.Tenant.ID != h.TenantID {
		http.NotFound(w, r)
		return
	}
	var serve func(http.ResponseWriter, *http.Request, string)
	switch r.URL.Path {
	case Path:
		serve = h.home
	case StartPath:
		serve = h.start
	case CallbackPath:
		serve = h.callback
	default:
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		renderError(w, http.StatusMethodNotAllowed, "Method not allowed", "The playground's pages answer GET.", snap.Tenant.Issuer)
		return
	}
	serve(w, r, snap.Tenant.Issuer)
}

// request describes the authorization request the start page shows.
type request struct {
	ClientID, Scope, Audience, RedirectURI string
}

func (h *Handler) request(issuer string) request {
	return request{ClientID: h.ClientID, Scope: h.Scope, Audience: h.Audience, RedirectURI: issuer + CallbackPath}
}

// home is the start page.
func (h *Handler) home(w http.ResponseWriter, r *http.Request, issuer string) {
	render(w, http.StatusOK, "home", "IntelliAuth playground", struct {
		Issuer, Start, StartLogin, Hint, Account string
		SignedOut                                bool
		Request                                  request
	}{
		Issuer: issuer, Start: issuer + StartPath, StartLogin: issuer + StartPath + "?prompt=login", Hint: h.Hint, Account: issuer + AccountPath,
		SignedOut: r.URL.Query().Get("state") == signedOutState, Request: h.request(issuer),
	})
}

// tx is the sign-in in progress, kept in the browser like a SPA keeps it in
// sessionStorage: it binds the callback to this browser (state), the ID
// token to this request (nonce), and the code to this client (verifier).
type tx struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Issued   int64  `json:"t"`
}

// random returns n random bytes as unpadded base64url.
func random(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// challenge is the S256 code challenge of verifier (RFC 7636 §4.2):
// BASE64URL-ENCODE(SHA256(ASCII(code_verifier))).
func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// cookiePath is the playground's path as the browser sees it, so the
// cookie goes to the playground and nowhere else on the server.
func cookiePath(issuer string) string {
	u, err := url.Parse(issuer)
	if err != nil {
		return Path
	}
	return strings.TrimRight(u.Path, "/") + Path
}

func secureIssuer(issuer string) bool { return strings.HasPrefix(issuer, "https://") }

// start begins a sign-in: a fresh verifier (RFC 7636 §4.1: 32 random octets,
// 43 characters), state and nonce in the cookie, then the authorization
// request.
func (h *Handler) start(w http.ResponseWriter, r *http.Request, issuer string) {
	var t tx
	var err error
	for _, f := range []*string{&t.State, &t.Nonce, &t.Verifier} {
		if *f, err = random(32); err != nil {
			h.logger().ErrorContext(r.Context(), "playground: random", "err", err)
			renderError(w, http.StatusInternalServerError, "Something went wrong", "The playground could not start a sign-in.", issuer)
			return
		}
	}
	t.Issued = h.now().Unix()
	raw, _ := json.Marshal(t)
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: base64.RawURLEncoding.EncodeToString(raw), Path: cookiePath(issuer),
		MaxAge: int(txTTL / time.Second), HttpOnly: true, Secure: secureIssuer(issuer), SameSite: http.SameSiteLaxMode,
	})
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {h.ClientID},
		"redirect_uri":          {issuer + CallbackPath},
		"scope":                 {h.Scope},
		"state":                 {t.State},
		"nonce":                 {t.Nonce},
		"code_challenge":        {challenge(t.Verifier)},
		"code_challenge_method": {"S256"},
	}
	if h.Audience != "" {
		q.Set("audience", h.Audience)
	}
	if p := r.URL.Query().Get("prompt"); p == "login" || p == "consent" {
		q.Set("prompt", p)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, issuer+"/oauth2/authorize?"+q.Encode(), http.StatusFound)
}

// readTx returns the sign-in in progress, or false when there is none, it
// is malformed, or it is older than txTTL.
func (h *Handler) readTx(r *http.Request) (tx, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return tx{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return tx{}, false
	}
	var t tx
	if json.Unmarshal(raw, &t) != nil || t.State == "" || t.Nonce == "" || len(t.Verifier) < 43 {
		return tx{}, false
	}
	if age := h.now().Sub(time.Unix(t.Issued, 0)); age < -time.Minute || age > txTTL {
		return tx{}, false
	}
	return t, true
}

func clearTx(w http.ResponseWriter, issuer string) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: cookiePath(issuer), MaxAge: -1,
		HttpOnly: true, Secure: secureIssuer(issuer), SameSite: http.SameSiteLaxMode})
}

// tokenResponse is RFC 6749 §5.1 (and §5.2 for errors) plus OIDC's id_token.
type tokenResponse struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"`
	Scope            string `json:"scope"`
	IDToken          string `json:"id_token"`
	RefreshToken     string `json:"refresh_token"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// callback finishes the sign-in. Every check a browser app must make is
// made here, and a failure is shown rather than a token.
func (h *Handler) callback(w http.ResponseWriter, r *http.Request, issuer string) {
	ctx := r.Context()
	q := r.URL.Query()
	t, ok := h.readTx(r)
	if !ok {
		renderError(w, http.StatusBadRequest, "No sign-in in progress",
			"This browser has no sign-in waiting for an answer: it was finished already, took longer than 10 minutes, or cookies are blocked. Start again.", issuer)
		return
	}
	// RFC 9207 §2.4: the client MUST compare iss with the issuer it sent the
	// request to (this server advertises that it always sends it).
	if q.Get("iss") != issuer {
		clearTx(w, issuer)
		renderError(w, http.StatusBadRequest, "Wrong issuer", "The answer did not come from "+issuer+" (its iss parameter is missing or different), so it is ignored.", issuer)
		return
	}
	// RFC 6749 §10.12: state binds the answer to this browser's request.
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(t.State)) != 1 {
		renderError(w, http.StatusBadRequest, "State mismatch", "The answer does not belong to the sign-in this browser started (its state differs). Start again.", issuer)
		return
	}
	clearTx(w, issuer)
	if e := q.Get("error"); e != "" {
		renderError(w, http.StatusOK, "The sign-in ended with "+e, q.Get("error_description"), issuer)
		return
	}
	code := q.Get("code")
	if code == "" {
		renderError(w, http.StatusBadRequest, "No code", "The answer carries neither a code nor an error.", issuer)
		return
	}
	tr, err := h.exchange(ctx, issuer, code, t.Verifier)
	if err != nil {
		h.logger().WarnContext(ctx, "playground: token exchange failed", "err", err)
		renderError(w, http.StatusBadGateway, "The code could not be exchanged", err.Error(), issuer)
		return
	}
	if tr.Error != "" {
		renderError(w, http.StatusOK, "The token endpoint answered "+tr.Error, tr.ErrorDescription, issuer)
		return
	}
	keys, err := h.jwks(ctx, issuer)
	if err != nil {
		h.logger().WarnContext(ctx, "playground: fetch JWKS", "err", err)
		renderError(w, http.StatusBadGateway, "The signing keys could not be read", err.Error(), issuer)
		return
	}
	page := result{Issuer: issuer, Start: issuer + StartPath, Home: issuer + Path, Account: issuer + AccountPath, TokenType: tr.TokenType,
		ExpiresIn: tr.ExpiresIn, RefreshToken: tr.RefreshToken != "", RawAccessToken: tr.AccessToken}
	page.Requested, page.Granted, page.NotGranted = scopeSets(h.Scope, tr.Scope)
	if page.Access, err = decode(tr.AccessToken, keys, h.now()); err != nil {
		renderError(w, http.StatusBadGateway, "The access token is not a token this issuer signed", err.Error(), issuer)
		return
	}
	if tr.IDToken != "" {
		id, err := decode(tr.IDToken, keys, h.now())
		if err == nil {
			err = checkIDToken(id.claims, issuer, h.ClientID, t.Nonce, h.now())
		}
		if err != nil {
			// OIDC Core 1.0 §3.1.3.7: a client MUST reject an ID token that
			// fails validation.
			renderError(w, http.StatusBadGateway, "The ID token was rejected", err.Error(), issuer)
			return
		}
		page.ID = &id
		page.Subject, _ = id.claims["sub"].(string)
		page.Name, _ = id.claims["name"].(string)
		if page.Name == "" {
			page.Name, _ = id.claims["preferred_username"].(string)
		}
		page.SignOut = issuer + "/oauth2/logout?" + url.Values{
			"id_token_hint":            {tr.IDToken},
			"post_logout_redirect_uri": {issuer + Path},
			"state":                    {signedOutState},
		}.Encode()
	}
	render(w, http.StatusOK, "result", "Signed in — IntelliAuth playground", page)
}

// maxBody bounds what the playground reads from the server.
const maxBody = 1 << 20

// exchange redeems the code at the token endpoint as the public client
// (RFC 6749 §4.1.3 with RFC 7636 §4.5: client_id and code_verifier, no
// secret).
func (h *Handler) exchange(ctx context.Context, issuer, code, verifier string) (tokenResponse, error) {
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {issuer + CallbackPath},
		"client_id":     {h.ClientID},
		"code_verifier": {verifier},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, issuer+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return tokenResponse{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := h.client().Do(req)
	if err != nil {
		return tokenResponse{}, fmt.Errorf("token request: %w", err)
	}
	defer resp.Body.Close()
	var tr tokenResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&tr); err != nil {
		return tokenResponse{}, fmt.Errorf("the token endpoint answered %s without a JSON body", resp.Status)
	}
	if resp.StatusCode != http.StatusOK && tr.Error == "" {
		return tokenResponse{}, fmt.Errorf("the token endpoint answered %s", resp.Status)
	}
	if resp.StatusCode == http.StatusOK && tr.AccessToken == "" {
		return tokenResponse{}, errors.New("the token endpoint answered without an access token")
	}
	return tr, nil
}

// scopeSets splits the requested and granted scope strings into what was
// asked for, what was granted and what was asked for but not granted.
func scopeSets(requested, granted string) (req, got, not []string) {
	req, got = strings.Fields(requested), strings.Fields(granted)
	for _, s := range req {
		found := false
		for _, g := range got {
			found = found || g == s
		}
		if !found {
			not = append(not, s)
		}
	}
	return req, got, not
}
