package login_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/audit"
	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/login"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/password"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/token"
)

const (
	tenantID    = "bank"
	clientID    = "banking-spa"
	redirectURI = "https://spa.example.com/callback"
)

// clock is the settable clock of the store, the audit log and the pages.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is one tenant served by a login.Handler behind a wrapper that does
// what internal/server does: strip /t/{tenant} and put the snapshot in the
// context.
type env struct {
	t      testing.TB
	st     store.Store
	cat    *catalog.Catalog
	audit  *audit.Log
	clock  *clock
	admin  *admin.Service
	h      *login.Handler
	mux    atomic.Pointer[http.ServeMux]
	srv    *httptest.Server
	issuer string
}

func newEnv(t testing.TB, opts ...func(*login.Handler)) *env {
	t.Helper()
	ctx := t.Context()
	st := servertest.OpenStore(t)
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	sealer, err := token.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, clock: &clock{t: time.Now().UTC().Truncate(time.Second)}}
	e.audit = audit.New(st.Audit(), nil, audit.Options{Now: e.clock.Now})
	t.Cleanup(func() { _ = e.audit.Close(context.Background()) })
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	e.issuer = e.srv.URL + "/t/" + tenantID

	a, actor := &admin.Service{Store: st, Sealer: sealer, Now: e.clock.Now}, admin.CLI()
	_, err = a.CreateTenant(ctx, actor, admin.TenantInput{ID: tenantID, Name: "Bank", Issuer: e.issuer})
	must(t, err)
	api, err := a.CreateAPI(ctx, actor, tenantID, admin.APIInput{Identifier: "api.banking.example.com", Name: "Banking API"})
	must(t, err)
	for _, s := range []admin.ScopeInput{
		{Name: "read:transactions", DisplayName: "View your transactions", Description: "See the transactions of your accounts.", API: api.Identifier},
		{Name: "write:settings", DisplayName: "Change your settings", Description: "Update your banking settings.", API: api.Identifier},
		{Name: "payments:approve", DisplayName: "Approve payments", Description: "Approve payments <b>on your behalf</b>.", API: api.Identifier},
	} {
		_, err := a.CreateScope(ctx, actor, tenantID, s)
		must(t, err)
	}
	_, err = a.CreateApplication(ctx, actor, tenantID, admin.ApplicationInput{
		ClientID: clientID, Name: "Banking <SPA>", Type: model.AppSPA, RedirectURIs: []string{redirectURI},
		AllowedScopes: []string{"openid", "profile", "email", "offline_access", "read:transactions", "write:settings", "payments:approve"},
	})
	must(t, err)
	e.admin = a
	e.cat = catalog.New(st, sealer, slog.New(slog.DiscardHandler))
	e.h = e.newHandler(opts...)
	return e
}

// newHandler builds a Handler on the env's store and serves it from now on
// (a fresh one simulates a restart: nothing is kept in memory).
func (e *env) newHandler(opts ...func(*login.Handler)) *login.Handler {
	h := &login.Handler{
		Catalog: e.cat, Store: e.st, Admin: e.admin, Audit: e.audit, Now: e.clock.Now,
		ClientIP: func(r *http.Request) string {
			if ip := r.Header.Get("X-Test-IP"); ip != "" {
				return ip
			}
			host, _, _ := net.SplitHostPort(r.RemoteAddr)
			return host
		},
	}
	for _, o := range opts {
		o(h)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	e.mux.Store(mux)
	e.h = h
	return h
}

func (e *env) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/t/")
	id, sub, _ := strings.Cut(rest, "/")
	if !ok || id == "" {
		http.NotFound(w, r)
		return
	}
	rest = "/" + sub
	snap, err := e.cat.Tenant(r.Context(), id)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	r2 := r.WithContext(catalog.NewContext(r.Context(), snap))
	u := *r.URL
	u.Path, u.RawPath = rest, ""
	r2.URL = &u
	e.mux.Load().ServeHTTP(w, r2)
}

func (e *env) snap() *catalog.Snapshot {
	s, err := e.cat.Tenant(e.t.Context(), tenantID)
	must(e.t, err)
	return s
}

// user creates an end user with an argon2id password.
func (e *env) user(name, pw, status string) model.User {
	e.t.Helper()
	hash, err := password.Hash(pw)
	must(e.t, err)
	u := model.User{
		TenantID: tenantID, ID: "usr_" + name, Username: name, Email: name + "@example.com",
		Name: strings.ToUpper(name[:1]) + name[1:], PasswordHash: hash, Status: status,
		CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now(),
	}
	must(e.t, e.st.Users().Create(e.t.Context(), u))
	return u
}

// request stores a pending authorization request as the authorize endpoint
// would, and returns its ID.
func (e *env) request(edit func(*model.AuthRequest)) string {
	e.t.Helper()
	var b [16]byte
	_, _ = rand.Read(b[:])
	now := e.clock.Now()
	ar := model.AuthRequest{
		TenantID: tenantID, ID: hex.EncodeToString(b[:]), ClientID: clientID, RedirectURI: redirectURI,
		Scope: "openid profile read:transactions", State: "xyz", Nonce: "n-0S6", CodeChallenge: strings.Repeat("a", 43),
		CodeChallengeMethod: "S256", MaxAge: -1, CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute),
	}
	if edit != nil {
		edit(&ar)
	}
	must(e.t, e.st.AuthRequests().Create(e.t.Context(), ar))
	return ar.ID
}

func (e *env) authRequest(id string) model.AuthRequest {
	e.t.Helper()
	ar, err := e.st.AuthRequests().Get(e.t.Context(), tenantID, id)
	must(e.t, err)
	return ar
}

func (e *env) throttle(key string) model.Throttle {
	e.t.Helper()
	th, err := e.st.Throttles().Get(e.t.Context(), tenantID, key)
	must(e.t, err)
	return th
}

func (e *env) events(typ string) []model.AuditEvent {
	e.t.Helper()
	evs, err := e.st.Audit().Search(e.t.Context(), store.AuditQuery{TenantID: tenantID, Type: typ, Limit: 100})
	must(e.t, err)
	return evs
}

func (e *env) resumeURL(id string) string {
	return e.issuer + login.ResumePath + "?request=" + id
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so the tests see each one.
type browser struct {
	e  *env
	c  *http.Client
	ip string
	// header is added to every request.
	header http.Header
}

func (e *env) browser() *browser {
	jar, err := cookiejar.New(nil)
	must(e.t, err)
	return &browser{e: e, header: http.Header{}, c: &http.Client{
		Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.e.t.Helper()
	for k, vs := range b.header {
		req.Header[k] = vs
	}
	if b.ip != "" {
		req.Header.Set("X-Test-IP", b.ip)
	}
	resp, err := b.c.Do(req)
	must(b.e.t, err)
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	must(b.e.t, err)
	return resp, string(body)
}

func (b *browser) get(path string) (*http.Response, string) {
	b.e.t.Helper()
	req, err := http.NewRequestWithContext(b.e.t.Context(), http.MethodGet, b.e.issuer+path, nil)
	must(b.e.t, err)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.e.t.Helper()
	req, err := http.NewRequestWithContext(b.e.t.Context(), http.MethodPost, b.e.issuer+path, strings.NewReader(form.Encode()))
	must(b.e.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// cookie returns the browser's cookie of that name for the tenant's pages.
func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.e.issuer + "/login")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// setCookie plants a cookie, as an attacker or an earlier visit would.
func (b *browser) setCookie(name, value string) {
	u, _ := url.Parse(b.e.issuer + "/")
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/t/" + tenantID + "/"}})
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of the form in body.
func csrf(t testing.TB, body string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF field in the page:\n%s", body)
	}
	return m[1]
}

// signIn loads the sign-in page of request id and posts the form.
func (b *browser) signIn(id, loginName, pw string) (*http.Response, string) {
	b.e.t.Helper()
	resp, body := b.get("/login?request=" + id)
	if resp.StatusCode != http.StatusOK {
		b.e.t.Fatalf("GET /login: %d\n%s", resp.StatusCode, body)
	}
	return b.post("/login", url.Values{"request": {id}, "csrf": {csrf(b.e.t, body)}, "login": {loginName}, "password": {pw}})
}

func sessionCookie() string { return "ia_session_" + tenantID }

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
