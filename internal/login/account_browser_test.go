package login_test

// The account page in real headless Chromium, on a real node (servertest):
// a user signs in to an application through the authorization endpoint,
// then uses the account page at a phone's width. The harness is a small
// copy of the console's (internal/console/harness_test.go): controls are
// found by their accessible role and name, as a person or a screen reader
// finds them, and any Content-Security-Policy violation or script error
// the browser reports fails the test.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/chromedp"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/mfa/mfatest"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// phoneWidth is the width the journeys run at (issue 11: "works at phone
// width (375px)").
const phoneWidth = 375

// chrome is one headless Chromium tab.
type chrome struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	problems []string
}

// newChrome opens a tab width pixels wide, or skips the test when there is
// no Chromium, in -short mode or under -race.
func newChrome(t *testing.T, width int) *chrome {
	t.Helper()
	var bin string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	switch {
	case bin == "":
		t.Skip("no chromium on PATH (apt-get install chromium)")
	case testing.Short():
		t.Skip("starts a browser")
	case raceEnabled:
		t.Skip("a browser test under -race is slow and finds no race in the browser: run it without -race")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900), chromedp.Flag("headless", true))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	c := &chrome{t: t, ctx: ctx}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), 800, chromedp.EmulateMobile, chromedp.EmulateScale(1))); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Content-Security-Policy") {
				c.mu.Lock()
				c.problems = append(c.problems, m.String())
				c.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		time.Sleep(100 * time.Millisecond)
		cancel()
		cancelTab()
		cancelAlloc()
		<-done
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, p := range c.problems {
			t.Errorf("the browser reported: %s", p)
		}
	})
	return c
}

// do runs actions, failing the test with the page's text on error.
func (c *chrome) do(actions ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if err := chromedp.Do(c.ctx, actions...); err != nil {
		c.t.Fatalf("browser: %v\non %s:\n%s", err, c.location(), c.text())
	}
}

func (c *chrome) location() string {
	u, _ := chromedp.Run(c.ctx, chromedp.Location())
	return u
}

func (c *chrome) text() string {
	ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main"), chromedp.NodeReady))
	return s
}

// open navigates to u and waits for its main element.
func (c *chrome) open(u string) {
	c.t.Helper()
	c.do(chromedp.Navigate(u), chromedp.WaitReady(chromedp.CSS("main")))
}

// submit runs act (a click that sends a form) and waits until another
// document, at a URL starting with prefix, has loaded. DevTools'
// evaluation is not subject to the page's CSP.
func (c *chrome) submit(prefix string, act chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	_, _ = chromedp.Run(c.ctx, chromedp.Evaluate[bool]("window.__iaOld = true"))
	c.do(act)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		fresh, _ := chromedp.Run(c.ctx, chromedp.Evaluate[bool]("window.__iaOld === undefined && document.readyState === 'complete'"))
		if fresh && strings.HasPrefix(c.location(), prefix) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("after the click the browser is at %s, want %s…:\n%s", c.location(), prefix, c.text())
}

// has reports whether the page has a control with role and name, now.
func (c *chrome) has(role, name string) bool {
	c.t.Helper()
	ids, err := chromedp.Run(c.ctx, chromedp.QueryNodeIDs("", named(role, name), chromedp.AtLeast(0)))
	if err != nil {
		c.t.Fatalf("look for %s %q: %v", role, name, err)
	}
	return len(ids) > 0
}

// shot saves a screenshot of the page as name.png when the console's
// INTELLIAUTH_SCREENSHOTS names a directory.
func (c *chrome) shot(name string) {
	c.t.Helper()
	dir := os.Getenv("INTELLIAUTH_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(c.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		c.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// fitsWidth checks that the page does not scroll sideways.
func (c *chrome) fitsWidth() {
	c.t.Helper()
	ok, err := chromedp.Run(c.ctx, chromedp.Evaluate[bool]("document.documentElement.scrollWidth <= window.innerWidth"))
	if err != nil || !ok {
		w, _ := chromedp.Run(c.ctx, chromedp.Evaluate[int]("document.documentElement.scrollWidth"))
		c.t.Errorf("the page at %s is %d px wide at a %d px viewport (%v)", c.location(), w, phoneWidth, err)
	}
}

// named finds elements by computed accessible role and name
// (Accessibility.queryAXTree), ignoring nodes hidden from assistive
// technology.
func named(role, name string) chromedp.QueryOption {
	return chromedp.ByFunc(func(ctx context.Context, t *chromedp.Target, n *chromedp.Node) ([]cdp.NodeID, error) {
		res, err := cdp.Call(ctx, t, accessibility.QueryAXTree, accessibility.QueryAXTreeParams{NodeID: n.NodeID, AccessibleName: name, Role: role})
		if err != nil {
			return nil, fmt.Errorf("query %s %q: %w", role, name, err)
		}
		var backend []cdp.BackendNodeID
		for _, ax := range res.Nodes {
			if !ax.Ignored && ax.BackendDOMNodeID != 0 {
				backend = append(backend, ax.BackendDOMNodeID)
			}
		}
		if len(backend) == 0 {
			return nil, nil
		}
		pushed, err := cdp.Call(ctx, t, dom.PushNodesByBackendIDsToFrontend, dom.PushNodesByBackendIDsToFrontendParams{BackendNodeIDs: backend})
		if err != nil {
			return nil, fmt.Errorf("resolve %s %q: %w", role, name, err)
		}
		return pushed.NodeIDs, nil
	})
}

// journeyApp is a browser application whose redirect URI is a page of the
// test (so Chromium lands on a real page with the code), consent required.
type journeyApp struct {
	ClientID, Name, Callback string
}

func newJourneyApp(t *testing.T, e *servertest.Env, tenant string) journeyApp {
	t.Helper()
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>Mobile bank</title><main><h1>Signed in</h1></main>"))
	}))
	t.Cleanup(cb.Close)
	app := journeyApp{ClientID: "mobile-bank", Name: "Mobile bank", Callback: cb.URL + "/callback"}
	if _, err := e.Admin.CreateApplication(t.Context(), admin.CLI(), tenant, admin.ApplicationInput{
		ClientID: app.ClientID, Name: app.Name, Type: model.AppSPA, RedirectURIs: []string{app.Callback},
		GrantTypes:    []string{model.GrantAuthorizationCode, model.GrantRefreshToken},
		AllowedScopes: []string{"openid", "offline_access", "read:transactions"}, Consent: model.ConsentRequired,
	}); err != nil {
		t.Fatal(err)
	}
	e.Server.Catalog().Invalidate(tenant)
	return app
}

// authorize returns a PKCE verifier and an authorization request URL.
func authorize(issuer, clientID, redirectURI, scope string) (verifier, u string) {
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	verifier = base64.RawURLEncoding.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI}, "scope": {scope},
		"state": {"st-" + verifier[:8]}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}, "audience": {"api.banking.example.com"}}
	return verifier, issuer + "/oauth2/authorize?" + q.Encode()
}

type tokens struct {
	status       int
	Error        string `json:"error"`
	RefreshToken string `json:"refresh_token"`
}

// token posts a grant of the public client to the token endpoint.
func tokenGrant(t *testing.T, issuer, clientID string, form url.Values) tokens {
	t.Helper()
	form.Set("client_id", clientID)
	resp, err := servertest.HTTPClient().PostForm(issuer+"/oauth2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out tokens
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	out.status = resp.StatusCode
	return out
}

// Issue 11's journeys on the account page: withdraw an application's
// consent (its refresh token fails at once, RFC 6749 §5.2 invalid_grant),
// and end another session (that browser must sign in again).
func TestAccountJourneysInChromium(t *testing.T) {
	c := newChrome(t, phoneWidth)
	e := servertest.Start(t)
	const tenant = "acme"
	e.Seed(t, tenant)
	people := e.SeedUsers(t, tenant)
	alice := people.Alice
	issuer := e.Issuer(tenant)
	app := newJourneyApp(t, e, tenant)

	// Alice signs in to the mobile bank in Chromium and allows it.
	verifier, au := authorize(issuer, app.ClientID, app.Callback, "openid offline_access read:transactions")
	c.open(au)
	c.do(chromedp.SendKeys("", alice.Username, named("textbox", "Username or email")),
		chromedp.SendKeys("", alice.Password, named("textbox", "Password")))
	c.submit(issuer+"/consent", chromedp.Click("", named("button", "Sign in")))
	c.fitsWidth()
	if !c.has("link", "your account page") {
		t.Error("the consent page does not link the account page")
	}
	c.submit(app.Callback, chromedp.Click("", named("button", "Allow")))
	cb, err := url.Parse(c.location())
	if err != nil || cb.Query().Get("code") == "" {
		t.Fatalf("no code at the callback: %s", c.location())
	}
	tok := tokenGrant(t, issuer, app.ClientID, url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")},
		"redirect_uri": {app.Callback}, "code_verifier": {verifier}})
	if tok.status != 200 || tok.RefreshToken == "" {
		t.Fatalf("code exchange: %d %s", tok.status, tok.Error)
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
	if tok = tokenGrant(t, issuer, app.ClientID, refresh); tok.status != 200 {
		t.Fatalf("refresh before the withdrawal: %d %s", tok.status, tok.Error)
	}
	refresh.Set("refresh_token", tok.RefreshToken) // rotated

	t.Run("withdraw an application's consent", func(t *testing.T) {
		c.open(issuer + "/account/")
		// The scopes as the registry describes them (no display name: the name).
		if txt := c.text(); !strings.Contains(txt, app.Name) || !strings.Contains(txt, "read:transactions — Read your transactions.") {
			t.Fatalf("the connected application's scopes are not shown:\n%s", c.text())
		}
		c.fitsWidth()
		c.shot("account-phone")
		c.submit(issuer+"/account/", chromedp.Click("", named("button", "Withdraw access of "+app.Name)))
		if txt := c.text(); !strings.Contains(txt, "access was withdrawn") || strings.Contains(txt, "allowed since") {
			t.Fatalf("after withdrawing:\n%s", txt)
		}
		// At once: the rotated refresh token is dead.
		if out := tokenGrant(t, issuer, app.ClientID, refresh); out.status != 400 || out.Error != "invalid_grant" {
			t.Fatalf("RFC 6749 §5.2 refresh after the withdrawal: %d %s, want 400 invalid_grant", out.status, out.Error)
		}
	})

	t.Run("end another session", func(t *testing.T) {
		// Alice is also signed in on another device (an HTTP client).
		other := servertest.NewBrowser(t)
		_, au := authorize(issuer, people.AdminTool.ID, servertest.AdminToolRedirect, "openid")
		if page := other.SignIn(e.URL, other.Visit(e.URL, au), alice.Username, alice.Password); page.Location == nil || page.Location.Query().Get("code") == "" {
			t.Fatalf("the other device's sign-in: %d", page.Status)
		}
		c.open(issuer + "/account/")
		end := "End the session on Go-http-client/1.1 from 127.0.0.1"
		if !c.has("button", end) || !c.has("button", "Sign out") {
			t.Fatalf("the sessions are not listed as expected:\n%s", c.text())
		}
		c.fitsWidth()
		c.submit(issuer+"/account/", chromedp.Click("", named("button", end)))
		if c.has("button", end) || !strings.Contains(c.text(), "This device") {
			t.Fatalf("after ending the other session:\n%s", c.text())
		}
		// The other device must sign in again; this one is still in.
		_, au = authorize(issuer, people.AdminTool.ID, servertest.AdminToolRedirect, "openid")
		if page := other.Visit(e.URL, au); page.Location != nil {
			t.Fatalf("the ended session still authorizes: %v", page.Location)
		}
		if !strings.HasPrefix(c.location(), issuer+"/account/") {
			t.Fatalf("this device was signed out: %s", c.location())
		}
	})
	t.Run("set up an authenticator app", func(t *testing.T) {
		c.open(issuer + "/account/")
		c.submit(issuer+"/account/mfa/totp", chromedp.Click("", named("button", "Set up an authenticator app")))
		// The QR code is drawn from a data: URL the page's CSP allows.
		loaded, err := chromedp.Run(c.ctx, chromedp.Evaluate[bool]("document.querySelector('img.qr').complete && document.querySelector('img.qr').naturalWidth >= 200"))
		if err != nil || !loaded || !c.has("image", "QR code that adds your account to an authenticator app") {
			t.Fatalf("the QR code did not load (%v):\n%s", err, c.text())
		}
		c.fitsWidth()
		c.shot("account-enrol-phone")
		c.do(chromedp.Click("", named("DisclosureTriangle", "Can't scan it? Enter this key instead")))
		secret, err := chromedp.Run(c.ctx, chromedp.Text(chromedp.CSS("code.secret")))
		if err != nil || len(secret) < 32 {
			t.Fatalf("the key: %q %v", secret, err)
		}
		c.do(chromedp.SendKeys("", mfatest.TOTPCode(secret, e.Clock.Now()), named("textbox", "Code from your authenticator app")))
		c.submit(issuer+"/account/mfa/confirm", chromedp.Click("", named("button", "Verify and finish")))
		codes, err := chromedp.Run(c.ctx, chromedp.Evaluate[int]("document.querySelectorAll('ul.codes li').length"))
		if err != nil || codes != 10 || !c.has("list", "Recovery codes") {
			t.Fatalf("recovery codes shown: %d (%v)\n%s", codes, err, c.text())
		}
		c.fitsWidth()
		list, err := e.Admin.UserFactors(t.Context(), admin.CLI(), tenant, alice.ID)
		if err != nil || len(list.Items) != 1 || !list.Items[0].Confirmed || list.RecoveryCodesLeft != 10 {
			t.Fatalf("stored: %+v %v", list, err)
		}
	})
}
