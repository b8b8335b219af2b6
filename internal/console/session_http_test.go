package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// signInHTTP signs in to the demo tenant's console as username with a
// cookie-jar client (no browser) and returns it with the console's home.
func signInHTTP(t *testing.T, e *servertest.Env, demo admin.Demo, username string) (*servertest.Browser, *servertest.Page) {
	t.Helper()
	u, ok := demo.User(username)
	if !ok {
		t.Fatalf("no demo user %s", username)
	}
	pb := servertest.NewBrowser(t)
	login := pb.Visit(e.URL, consoleURL(e)+"/")
	home := pb.SignIn(e.URL, login, u.Username, u.Password)
	if !strings.HasPrefix(home.URL.String(), consoleURL(e)+"/") {
		t.Fatalf("signing in as %s ended at %s (%d):\n%s", username, home.URL, home.Status, home.Body)
	}
	return pb, home
}

// formWithAction returns the page's form posting to the console path.
func formWithAction(t *testing.T, p *servertest.Page, path string) *servertest.Form {
	t.Helper()
	for _, f := range p.Forms() {
		if strings.HasSuffix(f.Action.Path, path) {
			return f
		}
	}
	t.Fatalf("%s has no form posting to %s:\n%s", p.URL, path, p.Body)
	return nil
}

// TestSessionIsServerSide: the browser holds one opaque, HttpOnly,
// SameSite=Lax cookie scoped to the console; the tokens are in the session
// row, sealed; every page forbids framing, caching and inline script.
func TestSessionIsServerSide(t *testing.T) {
	e, demo := startConsole(t)
	pb, home := signInHTTP(t, e, demo, "alice")
	if home.Status != http.StatusOK || !strings.Contains(home.Body, "Custom scopes") {
		t.Fatalf("home: %d\n%s", home.Status, home.Body)
	}
	base, _ := url.Parse(consoleURL(e) + "/")
	var session *http.Cookie
	for _, c := range pb.Client.Jar.Cookies(base) {
		if strings.HasPrefix(c.Value, "eyJ") {
			t.Errorf("cookie %s holds a JWT", c.Name)
		}
		if c.Name == "intelliauth_console_banking" {
			session = c
		}
	}
	if session == nil {
		t.Fatal("no console session cookie")
	}
	// The jar does not keep attributes: read them from a fresh sign-in's
	// Set-Cookie through the callback.
	pb2 := servertest.NewBrowser(t)
	login := pb2.Visit(e.URL, consoleURL(e)+"/")
	alice, _ := demo.User("alice")
	f := login.Form(t)
	f.Values.Set("login", alice.Username)
	f.Values.Set("password", alice.Password)
	req, _ := http.NewRequest(http.MethodPost, f.Action.String(), strings.NewReader(f.Values.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	setCookie := ""
	for hops := 0; hops < 10 && req != nil; hops++ {
		resp, err := pb2.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for _, c := range resp.Header.Values("Set-Cookie") {
			if strings.HasPrefix(c, "intelliauth_console_banking=") {
				setCookie = c
			}
		}
		req = nil
		if loc := resp.Header.Get("Location"); loc != "" {
			next, _ := resp.Request.URL.Parse(loc)
			req, _ = http.NewRequest(http.MethodGet, next.String(), nil)
		}
	}
	for _, want := range []string{"Path=/t/banking/console/", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(setCookie, want) {
			t.Errorf("session cookie %q lacks %s", setCookie, want)
		}
	}
	if strings.Contains(setCookie, "Secure") {
		t.Errorf("session cookie %q is Secure on a plain-http loopback issuer (the browser would drop it)", setCookie)
	}
	csp := home.Header.Get("Content-Security-Policy")
	for _, want := range []string{"frame-ancestors 'none'", "script-src 'self'", "default-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %s", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || home.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("CSP %q, Cache-Control %q", csp, home.Header.Get("Cache-Control"))
	}
}

// TestSignOutNeedsTheCSRFToken: a sign-out posted without the session's
// CSRF token (from another site) is refused and the session goes on; with
// it, the session row is gone and the refresh token revoked.
func TestSignOutNeedsTheCSRFToken(t *testing.T) {
	e, demo := startConsole(t)
	pb, home := signInHTTP(t, e, demo, "alice")
	f := formWithAction(t, home, "/console/signout")
	refused := pb.Submit(e.URL, f, func(v url.Values) { v.Del("csrf") })
	if refused.Status != http.StatusForbidden {
		t.Fatalf("sign-out without CSRF token: %d\n%s", refused.Status, refused.Body)
	}
	if again := pb.Visit(e.URL, consoleURL(e)+"/"); again.Status != http.StatusOK || !strings.Contains(again.Body, "Custom scopes") {
		t.Fatalf("the session did not survive a forged sign-out: %d %s", again.Status, again.URL)
	}
	out := pb.Submit(e.URL, f, nil)
	if !strings.Contains(out.Body, "You are signed out") {
		t.Fatalf("sign-out: %d %s\n%s", out.Status, out.URL, out.Body)
	}
	if p := pb.Visit(e.URL, consoleURL(e)+"/"); !strings.Contains(p.URL.Path, "/login") {
		t.Fatalf("after sign-out the console answered %d at %s", p.Status, p.URL)
	}
}

// TestCallbackRefusesAForeignState: RFC 6749 §10.12 — a callback whose
// state this browser did not start is refused and starts no session.
func TestCallbackRefusesAForeignState(t *testing.T) {
	e, _ := startConsole(t)
	pb := servertest.NewBrowser(t)
	p := pb.Visit(e.URL, consoleURL(e)+"/callback?code=x&state=y")
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "Sign-in expired") {
		t.Fatalf("foreign callback: %d\n%s", p.Status, p.Body)
	}
}

// TestNextStaysInTheConsole: the return address of a sign-in is kept only
// when it is a console page (no open redirect).
func TestNextStaysInTheConsole(t *testing.T) {
	e, demo := startConsole(t)
	alice, _ := demo.User("alice")
	kept := consoleURL(e) + "/signed-out?x=1"
	pb := servertest.NewBrowser(t)
	p := pb.SignIn(e.URL, pb.Visit(e.URL, consoleURL(e)+"/signin?next="+url.QueryEscape("/t/banking/console/signed-out?x=1")), alice.Username, alice.Password)
	if p.URL.String() != kept {
		t.Errorf("a console page as next: ended at %s, want %s", p.URL, kept)
	}
	for _, next := range []string{"https://evil.example/", "//evil.example/", "/t/banking/console/../../../x",
		"/t/banking/console/%2e%2e/%2e%2e/x", "/t/banking/console//evil.example", "/t/other/console/", "javascript:alert(1)"} {
		pb := servertest.NewBrowser(t)
		login := pb.Visit(e.URL, consoleURL(e)+"/signin?next="+url.QueryEscape(next))
		p := pb.SignIn(e.URL, login, alice.Username, alice.Password)
		if p.URL.String() != consoleURL(e)+"/" || p.Location != nil {
			t.Errorf("next=%s: ended at %s (leaving to %v)", next, p.URL, p.Location)
		}
	}
}

// TestTokensRefreshAndTheDecisionIsRerun: the console's access token lives
// 5 minutes; past it, the next page refreshes the tokens (the session goes
// on), and the refresh re-runs the scope decision: with her admin role
// withdrawn, alice has no console access any more; disabled, she is signed
// out.
func TestTokensRefreshAndTheDecisionIsRerun(t *testing.T) {
	e, demo := startConsole(t)
	pb, _ := signInHTTP(t, e, demo, "alice")
	e.Clock.Advance(admin.ConsoleAccessTokenTTL + time.Minute)
	if p := pb.Visit(e.URL, consoleURL(e)+"/"); p.Status != http.StatusOK || !strings.Contains(p.Body, "Custom scopes") {
		t.Fatalf("after the access token expired: %d %s\n%s", p.Status, p.URL, p.Body)
	}
	ctx := t.Context()
	if _, err := e.Admin.UnassignRole(ctx, admin.CLI(), admin.DemoTenantID, model.RoleAdmin, "alice"); err != nil {
		t.Fatal(err)
	}
	e.Server.Catalog().Invalidate(admin.DemoTenantID)
	e.Clock.Advance(admin.ConsoleAccessTokenTTL + time.Minute)
	if p := pb.Visit(e.URL, consoleURL(e)+"/"); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "No console access") {
		t.Fatalf("after the admin role was withdrawn: %d %s\n%s", p.Status, p.URL, p.Body)
	}
	if _, err := e.Admin.DisableUser(ctx, admin.CLI(), admin.DemoTenantID, "alice"); err != nil {
		t.Fatal(err)
	}
	if p := pb.Visit(e.URL, consoleURL(e)+"/"); !strings.Contains(p.URL.Path, "/login") {
		t.Fatalf("a disabled user's console answered %d at %s", p.Status, p.URL)
	}
}
