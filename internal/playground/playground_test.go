package playground_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/playground"
	"github.com/intelliauth/intelliauth/internal/server"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// demoEnv starts a node serving the playground for the demo tenant, seeded
// exactly as serve --demo seeds it.
func demoEnv(t *testing.T) (*servertest.Env, admin.Demo) {
	t.Helper()
	h := &playground.Handler{TenantID: admin.DemoTenantID, ClientID: admin.DemoSPAClientID, Audience: admin.DemoAudience,
		Scope: "openid profile email offline_access read:transactions", Hint: "Sign in as alice or bob."}
	e := servertest.Start(t, func(o *server.Options) { o.Playground = h })
	h.Now = e.Clock.Now
	demo, err := e.Admin.SeedDemo(t.Context(), admin.CLI(), e.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.Server.Catalog().Invalidate(admin.DemoTenantID)
	return e, demo
}

func password(t *testing.T, d admin.Demo, username string) string {
	t.Helper()
	u, ok := d.User(username)
	if !ok {
		t.Fatalf("no demo user %s", username)
	}
	return u.Password
}

func mustContain(t *testing.T, p *servertest.Page, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(p.Body, w) {
			t.Errorf("%s (status %d) lacks %q", p.URL, p.Status, w)
		}
	}
	if t.Failed() {
		t.Fatalf("page:\n%s", p.Body)
	}
}

func TestPlaygroundWholeFlow(t *testing.T) {
	e, demo := demoEnv(t)
	iss := demo.Issuer
	b := servertest.NewBrowser(t)

	home := b.Visit(e.URL, demo.Playground)
	if home.Status != http.StatusOK {
		t.Fatalf("home: %d", home.Status)
	}
	mustContain(t, home, "Sign in with banking-spa", iss+"/playground/start", "Sign in as alice or bob.", "api.banking.example.com")
	csp := home.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("CSP = %q", csp)
	}

	// The start redirects to the authorization endpoint with PKCE, state and
	// nonce, and keeps them in an HttpOnly cookie scoped to the playground.
	resp, err := b.Client.Get(iss + "/playground/start")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	q := loc.Query()
	if resp.StatusCode != http.StatusFound || loc.String()[:len(iss+"/oauth2/authorize")] != iss+"/oauth2/authorize" ||
		q.Get("client_id") != "banking-spa" || q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 ||
		q.Get("state") == "" || q.Get("nonce") == "" || q.Get("audience") != "api.banking.example.com" ||
		q.Get("redirect_uri") != iss+"/playground/callback" || q.Get("scope") != "openid profile email offline_access read:transactions" {
		t.Fatalf("start: %d %s", resp.StatusCode, loc)
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "ia_playground" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.Path != "/t/banking/playground" || cookie.SameSite != http.SameSiteLaxMode || cookie.MaxAge != 600 {
		t.Fatalf("cookie = %+v", cookie)
	}
	if strings.Contains(cookie.Value, q.Get("code_challenge")) {
		t.Fatal("the cookie must hold the verifier, not the challenge")
	}

	login := b.Visit(e.URL, loc.String())
	consent := b.SignIn(e.URL, login, "alice", password(t, demo, "alice"))
	asked := strings.Join(consent.AskedScopes(t), " ")
	for _, s := range []string{"openid", "profile", "email", "offline_access", "read:transactions"} {
		if !strings.Contains(asked, s) {
			t.Errorf("consent does not ask for %s: %s", s, asked)
		}
	}
	res := b.Consent(e.URL, consent, true)
	if res.Status != http.StatusOK {
		t.Fatalf("result: %d\n%s", res.Status, res.Body)
	}
	mustContain(t, res, "Signed in as Alice Adams", "signature, issuer, audience and nonce check out",
		`<code class="scope">read:transactions</code>`, `<code class="scope">offline_access</code>`,
		"issued (opaque, rotated on every use; not shown)",
		`&#34;aud&#34;: &#34;api.banking.example.com&#34;`, `&#34;typ&#34;: &#34;at&#43;jwt&#34;`,
		`&#34;nonce&#34;: &#34;`+q.Get("nonce")+`&#34;`, `&#34;email&#34;: &#34;alice@example.com&#34;`,
		"Sign out", "/oauth2/logout?id_token_hint=")
	if strings.Contains(res.Body, "not granted") {
		t.Fatal("alice is entitled to everything asked for")
	}

	// The callback is single use: the cookie is gone.
	again := b.Visit(e.URL, res.URL.String())
	if again.Status != http.StatusBadRequest || !strings.Contains(again.Body, "No sign-in in progress") {
		t.Fatalf("callback replayed: %d", again.Status)
	}

	// Sign out: RP-initiated logout with the ID token, back to the playground.
	signOut := between(res.Body, `class="button secondary" href="`, `"`)
	signOut = strings.ReplaceAll(signOut, "&amp;", "&")
	out := b.Visit(e.URL, signOut)
	if out.Status != http.StatusOK || out.URL.Path != "/t/banking/playground" {
		t.Fatalf("sign-out ends at %s (%d)\n%s", out.URL, out.Status, out.Body)
	}
	mustContain(t, out, "You are signed out")
	// The session is over: the next sign-in asks for the password again.
	if p := b.Visit(e.URL, iss+"/playground/start"); !strings.Contains(p.Body, `name="password"`) {
		t.Fatalf("after sign-out the login page must show again:\n%s", p.Body)
	}
}

func between(s, start, end string) string {
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, end)
	return v
}

func TestPlaygroundUntickedAndDenied(t *testing.T) {
	e, demo := demoEnv(t)
	b := servertest.NewBrowser(t)
	consent := b.SignIn(e.URL, b.Visit(e.URL, demo.Issuer+"/playground/start"), "bob", password(t, demo, "bob"))
	res := b.Consent(e.URL, consent, true, "read:transactions")
	mustContain(t, res, "Signed in as Bob Brown", "not granted", `<code class="scope dropped">read:transactions</code>`)

	denied := b.Consent(e.URL, b.Visit(e.URL, demo.Issuer+"/playground/start?prompt=consent"), false)
	mustContain(t, denied, "The sign-in ended with access_denied", "Start again")
}

func TestPlaygroundRefusesForgedCallbacks(t *testing.T) {
	e, demo := demoEnv(t)
	iss := demo.Issuer
	b := servertest.NewBrowser(t)

	// No sign-in started in this browser.
	p := b.Visit(e.URL, iss+"/playground/callback?code=x&state=y&iss="+url.QueryEscape(iss))
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "No sign-in in progress") {
		t.Fatalf("no cookie: %d", p.Status)
	}
	// A started sign-in, answered with another state or another issuer.
	resp, err := b.Client.Get(iss + "/playground/start")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	p = b.Visit(e.URL, iss+"/playground/callback?code=x&state=forged&iss="+url.QueryEscape(iss))
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "State mismatch") {
		t.Fatalf("forged state: %d\n%s", p.Status, p.Body)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	state := loc.Query().Get("state")
	p = b.Visit(e.URL, iss+"/playground/callback?code=x&state="+state+"&iss=https://evil.example")
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "Wrong issuer") {
		t.Fatalf("mix-up (RFC 9207): %d\n%s", p.Status, p.Body)
	}
	// A code the server never issued: the token endpoint's error is shown.
	resp, _ = b.Client.Get(iss + "/playground/start")
	resp.Body.Close()
	loc, _ = url.Parse(resp.Header.Get("Location"))
	p = b.Visit(e.URL, iss+"/playground/callback?code=made-up&state="+loc.Query().Get("state")+"&iss="+url.QueryEscape(iss))
	mustContain(t, p, "The token endpoint answered invalid_grant")
	if strings.Contains(p.Body, "made-up") {
		t.Fatal("the page echoes the code")
	}
	// Only GET.
	r, err := b.Client.Post(iss+"/playground/start", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", r.StatusCode)
	}
}

func TestPlaygroundOnlyForItsTenant(t *testing.T) {
	e, _ := demoEnv(t)
	if _, err := e.Admin.CreateTenant(t.Context(), admin.CLI(), admin.TenantInput{ID: "acme", Name: "Acme", Issuer: e.Issuer("acme")}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{e.Issuer("acme") + "/playground", e.Issuer("banking") + "/playground/nope"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", u, resp.StatusCode)
		}
	}
	// Without the option (serve without --demo) there is no playground.
	plain := servertest.Start(t)
	if _, err := plain.Admin.SeedDemo(t.Context(), admin.CLI(), plain.URL, nil); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(plain.Issuer(admin.DemoTenantID) + "/playground")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("playground without the option: %d", resp.StatusCode)
	}
}
