package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// serveDemo starts serve --demo on listen (e.g. 127.0.0.1:0) in-process and returns the
// address, a stop function (SIGTERM's equivalent: cancel the context) that
// returns the exit code, and what serve printed.
func serveDemo(t *testing.T, dataDir, listen string) (addr string, stop func() int, stdout func() string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	addrc := make(chan string, 1)
	type result struct {
		code        int
		out, errOut string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errOut := runCLICtx(ctx, map[string]string{}, func(a string) { addrc <- a },
			"serve", "--demo", "--addr", listen, "--data-dir", dataDir)
		done <- result{code, out, errOut}
	}()
	var r *result
	select {
	case addr = <-addrc:
	case res := <-done:
		cancel()
		t.Fatalf("serve exited early with %d:\n%s\n%s", res.code, res.out, res.errOut)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("serve did not start")
	}
	stop = func() int {
		cancel()
		res := <-done
		r = &res
		if res.code != 0 {
			t.Logf("serve stderr:\n%s", res.errOut)
		}
		return res.code
	}
	stdout = func() string {
		if r == nil {
			stop()
		}
		return r.out
	}
	return addr, stop, stdout
}

func readDemo(t *testing.T, dataDir string) admin.Demo {
	t.Helper()
	path := filepath.Join(dataDir, "demo.json")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("demo.json has mode %#o, want 0600 (it holds secrets)", fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d admin.Demo
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// getToken runs the demo's curl as Go: client_secret_basic, audience, scope.
func getToken(t *testing.T, issuer, clientID, secret, audience, scope string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "audience": {audience}, "scope": {scope}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, issuer+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func TestServeDemo(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data") // created by serve
	addr, stop, stdout := serveDemo(t, dataDir, "127.0.0.1:0")
	port := addr[strings.LastIndexByte(addr, ':')+1:]

	d := readDemo(t, dataDir)
	if d.Issuer != "http://localhost:"+port+"/t/banking" {
		t.Fatalf("issuer %q does not carry the listening port %s", d.Issuer, port)
	}
	if len(d.APIs) != 2 || d.APIs[0].Identifier != "api.banking.example.com" || d.APIs[1].Identifier != "api.health.example.com" {
		t.Fatalf("apis = %+v", d.APIs)
	}
	rj, ok := d.App("reporting-job")
	if !ok || rj.ClientSecret == "" || rj.ScopePolicy != "strict" || strings.Join(rj.AllowedScopes, " ") != "audit:read read:transactions users:read" {
		t.Fatalf("reporting-job = %+v", rj)
	}
	lb, ok := d.App("legacy-batch")
	if !ok || lb.ScopePolicy != "permissive" || strings.Join(lb.AllowedScopes, " ") != "read:transactions" {
		t.Fatalf("legacy-batch = %+v", lb)
	}
	if fi, err := os.Stat(filepath.Join(dataDir, "master.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("demo master key: %v", err)
	}

	// The printed curl works (the issuer's localhost is our 127.0.0.1 listener).
	issuer := "http://" + addr + "/t/banking"
	code, body := getToken(t, issuer, rj.ClientID, rj.ClientSecret, "api.banking.example.com", "read:transactions")
	if code != http.StatusOK || body["access_token"] == nil || body["scope"] != "read:transactions" {
		t.Fatalf("token request: %d %v", code, body)
	}
	code, body = getToken(t, issuer, lb.ClientID, lb.ClientSecret, "api.banking.example.com", "read:transactions payments:approve")
	if code != http.StatusOK || body["scope"] != "read:transactions" {
		t.Fatalf("permissive app must get the allowed part: %d %v", code, body)
	}

	// The management commands the banner shows work with no credentials
	// given: they use the demo's admin-cli from demo.json, over the API.
	if cli, ok := d.App(admin.DefaultAdminClientID); !ok || cli.Type != "m2m" || cli.ClientSecret == "" || slices.Contains(cli.AllowedScopes, "me:read") ||
		!slices.Contains(cli.AllowedScopes, "scopes:write") {
		t.Fatalf("admin-cli = %+v", cli)
	}
	if out := must(t, map[string]string{}, "scope", "list", "--kind", "custom", "--data-dir", dataDir); !strings.Contains(out, "read:transactions") || !strings.Contains(out, "page 1 of 1 (4 scopes)") {
		t.Fatalf("scope list with the demo's credentials: %s", out)
	}

	if code := stop(); code != 0 {
		t.Fatalf("graceful shutdown: exit %d", code)
	}
	out := stdout()
	for _, want := range []string{d.Issuer, "reporting-job", rj.ClientSecret, "go run ./cmd/intelliauth scope list", "curl -s -u 'reporting-job:" + rj.ClientSecret + "'", "audience=api.banking.example.com", "demo.json"} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}

	// A restart keeps the tenant and the printed secrets. (Same port: the
	// port is part of the demo issuer.)
	_, stop2, _ := serveDemo(t, dataDir, addr)
	if code := stop2(); code != 0 {
		t.Fatalf("second run: exit %d", code)
	}
	d2 := readDemo(t, dataDir)
	if rj2, _ := d2.App("reporting-job"); rj2.ClientSecret != rj.ClientSecret {
		t.Fatal("a restart must reuse the secrets of demo.json")
	}
}

// TestServeDemoPlayground runs what the banner tells a new user to do: open
// the playground, sign in as a printed user, consent, and see the tokens —
// against the real serve --demo, through its real listener.
func TestServeDemoPlayground(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	addr, stop, stdout := serveDemo(t, dataDir, "127.0.0.1:0")
	d := readDemo(t, dataDir)
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	if d.Playground != "http://localhost:"+port+"/t/banking/playground" || len(d.Users) != 2 {
		t.Fatalf("demo.json = %+v", d)
	}
	alice, _ := d.User("alice")
	bob, _ := d.User("bob")
	if alice.Password == "" || strings.Join(alice.Roles, " ") != "admin manager" || strings.Join(bob.Roles, " ") != "teller user" {
		t.Fatalf("users = %+v", d.Users)
	}
	spa, _ := d.App(admin.DemoSPAClientID)
	if !slices.Contains(spa.RedirectURIs, d.Issuer+"/playground/callback") || !slices.Contains(spa.PostLogoutRedirectURIs, d.Playground) {
		t.Fatalf("banking-spa = %+v", spa)
	}
	if tool, _ := d.App(admin.DemoAdminToolClientID); tool.ClientSecret == "" || tool.Consent != "implicit" {
		t.Fatalf("admin-tool = %+v", tool)
	}

	// The browser uses the printed URL (localhost), as a person would.
	b := servertest.NewBrowser(t)
	base := "http://localhost:" + port
	login := b.Visit(base, d.Issuer+"/playground/start")
	consent := b.SignIn(base, login, bob.Username, bob.Password)
	res := b.Consent(base, consent, true)
	if res.Status != http.StatusOK || !strings.Contains(res.Body, "Signed in as Bob Brown") || !strings.Contains(res.Body, `<code class="scope">read:transactions</code>`) {
		t.Fatalf("playground result: %d\n%s", res.Status, res.Body)
	}

	// The console the banner prints: alice signs in to it, and the node's
	// root page links to it.
	if d.Console != d.Issuer+"/console/" {
		t.Fatalf("demo console = %q", d.Console)
	}
	cb := servertest.NewBrowser(t)
	home := cb.SignIn(base, cb.Visit(base, d.Console), alice.Username, alice.Password)
	if home.Status != http.StatusOK || home.URL.String() != d.Console || !strings.Contains(home.Body, "Custom scopes") {
		t.Fatalf("console after signing in as alice: %d %s\n%s", home.Status, home.URL, home.Body)
	}
	if root := cb.Visit(base, base+"/"); root.Status != http.StatusOK || !strings.Contains(root.Body, `href="`+d.Console+`"`) {
		t.Fatalf("the root page of a demo node: %d\n%s", root.Status, root.Body)
	}

	if code := stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	out := stdout()
	for _, want := range []string{"open " + d.Playground, "open " + d.Console, "sign in as alice", "alice / " + alice.Password, "bob   / " + bob.Password, "roles: admin manager",
		d.Issuer + "/playground/callback", "admin-tool (web, strict, consent implicit)"} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}

	// A restart keeps the printed passwords (demo.json), like the secrets.
	_, stop2, _ := serveDemo(t, dataDir, addr)
	if code := stop2(); code != 0 {
		t.Fatalf("second run: exit %d", code)
	}
	if a2, _ := readDemo(t, dataDir).User("alice"); a2.Password != alice.Password {
		t.Fatal("a restart must keep the passwords of demo.json")
	}
}
