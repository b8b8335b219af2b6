package login_test

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/login"
	"github.com/intelliauth/intelliauth/internal/model"
)

// OWASP CSRF Prevention Cheat Sheet: a POST without the page's token is
// refused with 403 and changes nothing.
func TestCSRF(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", "correct horse battery", model.UserActive)
	loginID, otherID := e.request(nil), e.request(nil)

	// token loads the sign-in page of request id in b and returns its token.
	token := func(b *browser, id string) string {
		_, page := b.get("/login?request=" + id)
		return csrf(t, page)
	}
	cases := []struct {
		name string
		// form returns the csrf field to send from b, whose page for
		// loginID is loaded.
		form func(b *browser, tok string) []string
	}{
		{"missing token", func(*browser, string) []string { return nil }},
		{"empty token", func(*browser, string) []string { return []string{""} }},
		{"wrong token", func(*browser, string) []string { return []string{strings.Repeat("x", 43)} }},
		{"token of another request", func(b *browser, _ string) []string { return []string{token(b, otherID)} }},
		{"token of another browser", func(*browser, string) []string { return []string{token(e.browser(), loginID)} }},
		{"cookie replaced by an attacker", func(b *browser, tok string) []string {
			b.setCookie("ia_csrf_"+tenantID, strings.Repeat("B", 43))
			return []string{tok}
		}},
		{"Fetch Metadata cross-site", func(b *browser, tok string) []string {
			b.header.Set("Sec-Fetch-Site", "cross-site")
			return []string{tok}
		}},
		{"Fetch Metadata same-site", func(b *browser, tok string) []string {
			b.header.Set("Sec-Fetch-Site", "same-site")
			return []string{tok}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := e.browser()
			form := url.Values{"request": {loginID}, "login": {"alice"}, "password": {"correct horse battery"}}
			if v := c.form(b, token(b, loginID)); v != nil {
				form["csrf"] = v
			}
			resp, body := b.post("/login", form)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "This form has expired") {
				t.Fatalf("%d, want the 403 page", resp.StatusCode)
			}
		})
	}
	// Nothing changed: no session, no binding, no throttle, no audit.
	if ar := e.authRequest(loginID); ar.UserID != "" || ar.SessionID != "" {
		t.Errorf("request bound by a refused form: %+v", ar)
	}
	if th := e.throttle("ip:127.0.0.1"); th.Failures != 0 {
		t.Errorf("throttle counted refused forms: %+v", th)
	}
	for _, ev := range e.events("") {
		if strings.HasPrefix(ev.Type, "login.") || strings.HasPrefix(ev.Type, "consent.") {
			t.Errorf("audit event %s written for a refused form", ev.Type)
		}
	}
	if s, err := e.st.Sessions().ListByUser(t.Context(), tenantID, alice.ID); err != nil || len(s) != 0 {
		t.Errorf("sessions after refused forms: %v %v", s, err)
	}

	// The right token on its own page works (the control case), with
	// Sec-Fetch-Site: same-origin as a browser sends it.
	b := e.browser()
	good := token(b, loginID)
	b.header.Set("Sec-Fetch-Site", "same-origin")
	resp, _ := b.post("/login", url.Values{"request": {loginID}, "csrf": {good}, "login": {"alice"}, "password": {"correct horse battery"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("valid form: %d, want 303", resp.StatusCode)
	}

	// The consent form is protected the same way.
	ar := e.authRequest(loginID)
	ar.AskScopes = []string{"openid", "read:transactions"}
	must(t, e.st.AuthRequests().Update(t.Context(), ar))
	resp, _ = b.post("/consent", url.Values{"request": {loginID}, "action": {"allow"}, "scope": {"read:transactions"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("consent without token: %d, want 403", resp.StatusCode)
	}
	// A login-form token is not a consent-form token.
	resp, _ = b.post("/consent", url.Values{"request": {loginID}, "csrf": {good}, "action": {"allow"}, "scope": {"read:transactions"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("consent with the login form's token: %d, want 403", resp.StatusCode)
	}
	if e.authRequest(loginID).ConsentDone {
		t.Error("a refused consent form answered the request")
	}
	if _, err := e.st.Consents().Get(t.Context(), tenantID, alice.ID, clientID); err == nil {
		t.Error("a refused consent form stored a consent")
	}
}

var (
	styleBlock  = regexp.MustCompile(`(?s)<style>(.*?)</style>`)
	externalURL = regexp.MustCompile(`(?i)(https?:)?//[a-z0-9]|src=|@import|url\(`)
)

// Every page: CSP with frame-ancestors 'none' and the inline stylesheet
// allowed by its hash, no-store, no external asset, a viewport for phones.
func TestPageHeadersAndAssets(t *testing.T) {
	e := newEnv(t)
	e.user("alice", "correct horse battery", model.UserActive)
	b, id := consentFlow(t, e, "openid", []string{"openid", "read:transactions"})

	pages := map[string]func() (*http.Response, string){
		"login":   func() (*http.Response, string) { return b.get("/login?request=" + id) },
		"consent": func() (*http.Response, string) { return b.get("/consent?request=" + id) },
		"error":   func() (*http.Response, string) { return b.get("/login?request=gone") },
		"RenderError": func() (*http.Response, string) {
			rec := httptest.NewRecorder()
			login.RenderError(rec, http.StatusBadRequest, "Unknown <client>", `redirect_uri "javascript:alert(1)" is not registered`)
			return rec.Result(), rec.Body.String()
		},
	}
	for name, load := range pages {
		t.Run(name, func(t *testing.T) {
			resp, body := load()
			h := resp.Header
			csp := h.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "style-src " + login.StyleSrc()} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "script-src") {
				t.Errorf("CSP %q allows more than the stylesheet", csp)
			}
			if name == "login" || name == "consent" {
				if !strings.Contains(csp, "form-action 'self' https://spa.example.com;") {
					t.Errorf("CSP %q: the form and the redirect that follows it must be allowed", csp)
				}
			} else if !strings.Contains(csp, "form-action 'none'") {
				t.Errorf("CSP %q: a page without a form allows none", csp)
			}
			for k, v := range map[string]string{
				"Cache-Control": "no-store", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
				"Content-Type": "text/html; charset=utf-8", "Referrer-Policy": "no-referrer",
			} {
				if got := h.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			m := styleBlock.FindStringSubmatch(body)
			if m == nil {
				t.Fatal("no stylesheet")
			}
			sum := sha256.Sum256([]byte(m[1]))
			if want := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; want != login.StyleSrc() {
				t.Errorf("the inline stylesheet hashes to %s, the CSP allows %s", want, login.StyleSrc())
			}
			if loc := externalURL.FindString(body); loc != "" {
				t.Errorf("page refers to something outside: %q", loc)
			}
			if strings.Contains(body, "<script") {
				t.Error("page has a script")
			}
			if !strings.Contains(body, `<meta name="viewport" content="width=device-width, initial-scale=1">`) {
				t.Error("no viewport meta")
			}
			if strings.Contains(body, "<client>") {
				t.Error("RenderError did not escape the title")
			}
		})
	}
}

func TestFormActionAllowsTheRedirectOrigin(t *testing.T) {
	for _, c := range []struct{ uri, want string }{
		{"https://app.example.com/cb?x=1", "'self' https://app.example.com"},
		{"http://127.0.0.1:3000/cb", "'self' http://127.0.0.1:3000"},
		{"http://[::1]:8080/cb", "'self' http://[::1]:8080"},
		{"com.example.app:/oauth2redirect", "'self' com.example.app:"}, // RFC 8252 §7.1
		{"https://evil.example; script-src *", "'self'"},
		{"::nonsense", "'self'"},
	} {
		if got := login.FormAction(c.uri); got != c.want {
			t.Errorf("FormAction(%q) = %q, want %q", c.uri, got, c.want)
		}
	}
}

func TestIPKey(t *testing.T) {
	for ip, want := range map[string]string{
		"192.0.2.1":         "ip:192.0.2.1",
		"::ffff:192.0.2.1":  "ip:192.0.2.1",
		"2001:db8::1":       "ip:2001:db8::/64",
		"2001:db8::1%eth0":  "ip:2001:db8::/64",
		"2001:db8:0:0:ff::": "ip:2001:db8::/64",
		"":                  "ip:unknown",
	} {
		if got := login.IPKey(ip); got != want {
			t.Errorf("IPKey(%q) = %q, want %q", ip, got, want)
		}
	}
	if got := login.ClipBytes("aéb", 2); got != "a" {
		t.Errorf("ClipBytes cut inside a rune: %q", got)
	}
}

func TestCurrentSessionAndEndSession(t *testing.T) {
	e := newEnv(t, func(h *login.Handler) { h.SessionTTL = time.Hour })
	alice := e.user("alice", "correct horse battery", model.UserActive)
	b := e.browser()
	b.signIn(e.request(nil), "alice", "correct horse battery")
	sc := b.cookie(sessionCookie())
	snap := e.snap()
	req := func(c *http.Cookie) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/oauth2/authorize", nil)
		if c != nil {
			r.AddCookie(c)
		}
		return r
	}
	if _, _, ok, err := e.h.CurrentSession(req(sc), snap); !ok || err != nil {
		t.Fatalf("fresh session: %v %v", ok, err)
	}
	for name, c := range map[string]*http.Cookie{
		"no cookie":        nil,
		"malformed cookie": {Name: sessionCookie(), Value: "not-a-token"},
		"unknown session":  {Name: sessionCookie(), Value: strings.Repeat("A", 43)},
	} {
		if _, _, ok, err := e.h.CurrentSession(req(c), snap); ok || err != nil {
			t.Errorf("%s: ok %v err %v", name, ok, err)
		}
	}

	// A disabled user's session is not a session.
	u, err := e.st.Users().Get(t.Context(), tenantID, alice.ID)
	must(t, err)
	u.Status = model.UserDisabled
	u, err = e.st.Users().Update(t.Context(), u)
	must(t, err)
	if _, _, ok, _ := e.h.CurrentSession(req(sc), snap); ok {
		t.Error("disabled user's session accepted")
	}
	u.Status = model.UserActive
	_, err = e.st.Users().Update(t.Context(), u)
	must(t, err)

	// Expiry.
	e.clock.Advance(time.Hour)
	if _, _, ok, _ := e.h.CurrentSession(req(sc), snap); ok {
		t.Error("expired session accepted")
	}

	// EndSession deletes it and clears the cookie.
	b2 := e.browser()
	b2.signIn(e.request(nil), "alice", "correct horse battery")
	sc2 := b2.cookie(sessionCookie())
	rec := httptest.NewRecorder()
	s, ok, err := e.h.EndSession(rec, req(sc2), snap)
	if err != nil || !ok || s.ID != login.SessionIDOf(sc2.Value) {
		t.Fatalf("EndSession = %v %v %v", s.ID, ok, err)
	}
	if _, err := e.st.Sessions().Get(t.Context(), tenantID, s.ID); err == nil {
		t.Error("session still stored after EndSession")
	}
	cleared := rec.Result().Cookies()
	if len(cleared) != 1 || cleared[0].Name != sessionCookie() || cleared[0].MaxAge >= 0 || cleared[0].Path != "/t/"+tenantID+"/" {
		t.Errorf("EndSession cookies %+v: want the session cookie cleared on its path", cleared)
	}
	if _, ok, err := e.h.EndSession(httptest.NewRecorder(), req(sc2), snap); ok || err != nil {
		t.Errorf("second EndSession: %v %v", ok, err)
	}
}

// Cookies are Secure over TLS (directly or as the Secure hook says for a
// trusted proxy) and always when the issuer is https.
func TestSecureCookies(t *testing.T) {
	e := newEnv(t, func(h *login.Handler) {
		h.Secure = func(r *http.Request) bool { return r.Header.Get("X-Forwarded-Proto") == "https" }
	})
	id := e.request(nil)
	snap := e.snap()
	mux := http.NewServeMux()
	e.h.Register(mux)
	get := func(edit func(*http.Request)) *http.Cookie {
		r := httptest.NewRequest(http.MethodGet, "/login?request="+id, nil)
		edit(r)
		r = r.WithContext(catalog.NewContext(r.Context(), snap))
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, r)
		for _, c := range rec.Result().Cookies() {
			if c.Name == "ia_csrf_"+tenantID {
				return c
			}
		}
		t.Fatalf("no CSRF cookie (%d)", rec.Code)
		return nil
	}
	if c := get(func(*http.Request) {}); c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Errorf("plain HTTP: CSRF cookie %+v", c)
	}
	if c := get(func(r *http.Request) { r.Header.Set("X-Forwarded-Proto", "https") }); !c.Secure {
		t.Error("behind a TLS proxy: cookie not Secure")
	}
	if c := get(func(r *http.Request) { r.TLS = &tls.ConnectionState{} }); !c.Secure {
		t.Error("over TLS: cookie not Secure")
	}
}

// Tenant isolation (PRODUCT.md §8): a request of one tenant is unknown at
// another, even on the same host and store.
func TestRequestOfAnotherTenant(t *testing.T) {
	e := newEnv(t)
	_, err := e.admin.CreateTenant(t.Context(), admin.CLI(), admin.TenantInput{ID: "other", Name: "Other", Issuer: e.srv.URL + "/t/other"})
	must(t, err)
	id := e.request(nil)
	b := e.browser()
	resp, _ := b.c.Get(e.srv.URL + "/t/other/login?request=" + id)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bank's request at another tenant: %d, want 400", resp.StatusCode)
	}
	if resp, _ := b.get("/login?request=" + id); resp.StatusCode != http.StatusOK {
		t.Fatalf("at its own tenant: %d", resp.StatusCode)
	}
}

// An application created on another node a moment ago is not in this
// node's snapshot yet; the page re-checks the tenant's revision instead of
// refusing.
func TestApplicationNewerThanSnapshot(t *testing.T) {
	e := newEnv(t)
	e.snap() // load the snapshot before the application exists
	_, err := e.admin.CreateApplication(t.Context(), admin.CLI(), tenantID, admin.ApplicationInput{
		ClientID: "fresh-app", Name: "Fresh App", Type: model.AppSPA, RedirectURIs: []string{"https://fresh.example.com/cb"},
		AllowedScopes: []string{"openid"},
	})
	must(t, err)
	id := e.request(func(ar *model.AuthRequest) { ar.ClientID, ar.RedirectURI = "fresh-app", "https://fresh.example.com/cb" })
	resp, body := e.browser().get("/login?request=" + id)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Fresh App") {
		t.Fatalf("new application: %d", resp.StatusCode)
	}
}

func TestCookiePath(t *testing.T) {
	for issuer, want := range map[string]string{
		"http://localhost:8080/t/banking": "/t/banking/",
		"https://login.bank.example":      "/", // a tenant on its own domain
		"https://login.bank.example/":     "/",
	} {
		snap := &catalog.Snapshot{Tenant: model.Tenant{ID: "banking", Issuer: issuer}}
		if got := login.CookiePath(snap); got != want {
			t.Errorf("cookie path for %s = %q, want %q", issuer, got, want)
		}
	}
}
