package server_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/intelliauth/intelliauth/internal/logging"
	"github.com/intelliauth/intelliauth/internal/server"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// syncBuffer is a log sink the server's goroutines write concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lines parses the JSON log lines.
func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, sc.Bytes())
		}
		out = append(out, m)
	}
	return out
}

// startLogged starts the banking node with the production logger
// (internal/logging, as serve builds it) at debug level writing to a
// buffer, and the access log on.
func startLogged(t *testing.T) (*oidcEnv, *syncBuffer) {
	t.Helper()
	buf := &syncBuffer{}
	env := servertest.Start(t, func(o *server.Options) {
		o.Logger = logging.New(buf, logging.Options{Level: slog.LevelDebug})
		o.AccessLog = true
	})
	b := env.Seed(t, "banking")
	people := env.SeedUsers(t, "banking")
	return &oidcEnv{env: env, b: b, people: people, iss: env.Issuer("banking")}, buf
}

// send makes one request and returns status and body.
func send(t *testing.T, method, u, auth, form string) (int, string) {
	t.Helper()
	var body io.Reader
	if form != "" {
		body = strings.NewReader(form)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := servertest.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// TestProductionLogNeverHoldsASecret (ARCHITECTURE.md habit 4, issue 9 seam
// "production logs are not the redacting logger"): every flow runs against
// a real node whose logger is the production one at debug level, failures
// included; then the real log output is searched for every secret the
// flows used — client secrets, passwords (right and wrong), authorization
// codes, PKCE verifiers, access, ID and refresh tokens, session cookies, and
// the Authorization header values. None may appear, every line of a request
// carries its request_id, and the access log has one line per request.
func TestProductionLogNeverHoldsASecret(t *testing.T) {
	o, buf := startLogged(t)
	ctx := o.ctx(t)
	tokenURL := o.iss + "/oauth2/token"
	var secrets []string
	keep := func(what string, vs ...string) {
		for _, v := range vs {
			if v == "" {
				t.Fatalf("%s: empty secret (the flow did not produce it)", what)
			}
			secrets = append(secrets, v)
		}
	}
	keep("client secrets", o.b.Reporting.Secret, o.b.Legacy.Secret, o.people.AdminTool.Secret)
	keep("passwords", o.people.Alice.Password, o.people.Bob.Password)

	// RFC 6749 §4.4 client credentials, with Basic and with the secret in
	// the body (§2.3.1), and a wrong secret for a known client.
	reportingBasic := basicAuth(o.b.Reporting.ID, o.b.Reporting.Secret)
	keep("Basic header", reportingBasic)
	status, body := send(t, "POST", tokenURL, reportingBasic, "grant_type=client_credentials&scope=users:read+audit:read")
	if status != 200 {
		t.Fatalf("client credentials: %d %s", status, body)
	}
	var cc map[string]any
	_ = json.Unmarshal([]byte(body), &cc)
	ccToken, _ := cc["access_token"].(string)
	keep("client credentials token", ccToken)
	status, body = send(t, "POST", tokenURL, "", url.Values{"grant_type": {"client_credentials"}, "client_id": {o.b.Legacy.ID},
		"client_secret": {o.b.Legacy.Secret}, "audience": {"api.banking.example.com"}}.Encode())
	if status != 200 {
		t.Fatalf("client credentials (post): %d %s", status, body)
	}
	_ = json.Unmarshal([]byte(body), &cc)
	keep("client credentials token (post)", cc["access_token"].(string))
	wrongSecret := "not-the-secret-Zq8vXc3Lm0"
	wrongBasic := basicAuth(o.b.Reporting.ID, wrongSecret)
	keep("wrong secret", wrongSecret, wrongBasic)
	if status, _ := send(t, "POST", tokenURL, wrongBasic, "grant_type=client_credentials"); status != 401 {
		t.Fatalf("wrong secret: %d", status)
	}

	// Authorization code with PKCE, login and consent (public SPA), with a
	// failed login first; then the confidential admin tool with Basic.
	br := servertest.NewBrowser(t)
	a := newAuthRequest(o.spaConfig("openid", "profile", "offline_access", "read:transactions"))
	keep("PKCE verifier", a.verifier)
	p := br.Visit(o.env.URL, a.url)
	wrongPassword := "wrong-password-Hk29dLq"
	keep("wrong password", wrongPassword)
	p2 := br.SignIn(o.env.URL, p, o.people.Alice.Username, wrongPassword)
	if p2.Status != http.StatusUnauthorized || !hasPasswordField(p2) {
		t.Fatalf("failed login: status %d", p2.Status)
	}
	p3, _ := o.signInAndConsent(t, br, a, o.people.Alice)
	code := a.code(t, p3, o.iss)
	keep("code", code)
	tok := a.exchange(t, ctx, code)
	idToken, _ := tok.Extra("id_token").(string)
	keep("SPA tokens", tok.AccessToken, tok.RefreshToken, idToken)
	for _, c := range br.Client.Jar.Cookies(p.URL) {
		keep("cookie "+c.Name, c.Value)
	}

	tool := newAuthRequest(o.toolConfig("openid", "offline_access", "users:read"))
	keep("PKCE verifier (tool)", tool.verifier)
	toolCode := o.codeFor(t, br, tool, o.people.Alice)
	keep("code (tool)", toolCode)
	toolTok := tool.exchange(t, ctx, toolCode)
	keep("tool tokens", toolTok.AccessToken, toolTok.RefreshToken)

	// RFC 6749 §6 refresh, then the spent token again (reuse: the family
	// is revoked and the event logged).
	status, rb := refreshRaw(t, o, a.cfg.ClientID, "", tok.RefreshToken)
	if status != 200 {
		t.Fatalf("refresh: %d %v", status, rb)
	}
	keep("refreshed tokens", rb["access_token"].(string), rb["refresh_token"].(string))
	if status, _ := refreshRaw(t, o, a.cfg.ClientID, "", tok.RefreshToken); status != 400 {
		t.Fatalf("refresh reuse: %d", status)
	}
	// A replayed code (RFC 6749 §4.1.2: refused, the grant revoked, logged).
	if status, _ := exchangeRaw(t, o, url.Values{"code": {code}, "client_id": {a.cfg.ClientID},
		"redirect_uri": {a.cfg.RedirectURL}, "code_verifier": {a.verifier}}, nil); status != 400 {
		t.Fatalf("replayed code: %d", status)
	}

	// RFC 7662 introspection, RFC 7009 revocation, OIDC userinfo (header,
	// form body, and a forged token).
	if got := introspect(t, o.env, "banking", o.b.Reporting, toolTok.AccessToken); got["active"] != true {
		t.Fatalf("introspect: %v", got)
	}
	toolBasic := basicAuth(o.people.AdminTool.ID, o.people.AdminTool.Secret)
	keep("tool Basic header", toolBasic)
	bearer := "Bearer " + toolTok.AccessToken
	keep("Bearer header", bearer)
	if status, body := send(t, "GET", o.iss+"/oauth2/userinfo", bearer, ""); status != 200 {
		t.Fatalf("userinfo: %d %s", status, body)
	}
	if status, body := send(t, "POST", o.iss+"/oauth2/userinfo", "", "access_token="+url.QueryEscape(toolTok.AccessToken)); status != 200 {
		t.Fatalf("userinfo (form): %d %s", status, body)
	}
	forged := toolTok.AccessToken[:len(toolTok.AccessToken)-8] + "AAAAAAAA"
	keep("forged token", forged)
	if status, _ := send(t, "GET", o.iss+"/oauth2/userinfo", "Bearer "+forged, ""); status != 401 {
		t.Fatalf("userinfo with a forged token: %d", status)
	}
	if status, body := send(t, "POST", o.iss+"/oauth2/revoke", toolBasic, "token="+url.QueryEscape(toolTok.RefreshToken)); status != 200 {
		t.Fatalf("revoke: %d %s", status, body)
	}

	// The platform API: allowed, refused for scope, and a token in the
	// query string, which the API ignores and the log must not keep.
	if status, body := send(t, "GET", o.iss+"/api/v1/users", "Bearer "+ccToken, ""); status != 200 {
		t.Fatalf("api users: %d %s", status, body)
	}
	if status, _ := send(t, "GET", o.iss+"/api/v1/roles", "Bearer "+ccToken, ""); status != 403 {
		t.Fatalf("api roles without roles:read: %d", status)
	}
	if status, _ := send(t, "GET", o.iss+"/api/v1/users?access_token="+url.QueryEscape(ccToken), "", ""); status != 401 {
		t.Fatalf("api with a token in the query: %d", status)
	}

	log := buf.String()
	if testing.Verbose() {
		for _, l := range strings.Split(log, "\n") {
			if !strings.Contains(l, `"msg":"request"`) {
				t.Log(l)
			}
		}
	}
	for _, s := range secrets {
		if strings.Contains(log, s) {
			i := strings.Index(log, s)
			start, end := strings.LastIndexByte(log[:i], '\n')+1, strings.IndexByte(log[i:], '\n')
			if end < 0 {
				end = len(log) - i
			}
			t.Errorf("a secret reached the log:\n%s", log[start:i+end])
		}
	}

	// Every line logged while serving a request names it; the access log
	// has its request line with status and tenant.
	lines := buf.lines(t)
	var access, withID int
	for _, l := range lines {
		if l["request_id"] != nil {
			withID++
		}
		if l["msg"] == "request" {
			access++
			if l["request_id"] == nil || l["status"] == nil || l["method"] == nil || l["duration_ms"] == nil || l["bytes"] == nil {
				t.Errorf("access log line lacks a field: %v", l)
			}
			if p, _ := l["path"].(string); strings.Contains(p, "?") {
				t.Errorf("access log path holds a query: %v", l)
			}
			if p, _ := l["path"].(string); strings.HasPrefix(p, "/t/banking/") && l["tenant"] != "banking" {
				t.Errorf("access log line without its tenant: %v", l)
			}
		}
		if l["msg"] == "oauth request refused" && l["request_id"] == nil {
			t.Errorf("a refusal without request_id: %v", l)
		}
	}
	if access < 20 || withID <= access {
		t.Errorf("%d access-log lines, %d lines with request_id of %d: want one access line per request and request IDs on the others", access, withID, len(lines))
	}
}
