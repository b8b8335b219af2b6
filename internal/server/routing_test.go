package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/server"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

func discoveryIssuer(t *testing.T, url string, header http.Header, host string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if host != "" {
		req.Host = host
	}
	resp, err := servertest.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct {
		Issuer string `json:"issuer"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m.Issuer
}

func TestCustomDomainRouting(t *testing.T) {
	env := servertest.Start(t)
	env.Seed(t, "banking")
	if _, err := env.Admin.CreateTenant(t.Context(), admin.CLI(), admin.TenantInput{
		ID: "custom", Name: "Custom", Issuer: "https://login.example.com", Domain: "login.example.com",
	}); err != nil {
		t.Fatal(err)
	}
	path := env.URL + "/.well-known/openid-configuration"
	if code, iss := discoveryIssuer(t, path, nil, "login.example.com"); code != 200 || iss != "https://login.example.com" {
		t.Errorf("by Host: %d %q", code, iss)
	}
	if code, _ := discoveryIssuer(t, path, nil, "other.example.com"); code != 404 {
		t.Errorf("unknown host: %d, want 404", code)
	}
	// The path form still works beside custom domains.
	if code, iss := discoveryIssuer(t, env.Issuer("banking")+"/.well-known/openid-configuration", nil, ""); code != 200 || iss != env.Issuer("banking") {
		t.Errorf("by path: %d %q", code, iss)
	}
	// X-Forwarded-Host from an untrusted peer is ignored.
	fwd := http.Header{"X-Forwarded-Host": {"login.example.com"}}
	if code, _ := discoveryIssuer(t, path, fwd, ""); code != 404 {
		t.Errorf("untrusted X-Forwarded-Host honoured: %d", code)
	}
}

func TestTrustedProxy(t *testing.T) {
	env := servertest.Start(t, func(o *server.Options) {
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	if _, err := env.Admin.CreateTenant(t.Context(), admin.CLI(), admin.TenantInput{
		ID: "custom", Name: "Custom", Issuer: "https://login.example.com", Domain: "login.example.com",
	}); err != nil {
		t.Fatal(err)
	}
	fwd := http.Header{"X-Forwarded-Host": {"login.example.com"}, "X-Forwarded-Proto": {"https"}}
	if code, iss := discoveryIssuer(t, env.URL+"/.well-known/openid-configuration", fwd, ""); code != 200 || iss != "https://login.example.com" {
		t.Errorf("trusted X-Forwarded-Host: %d %q", code, iss)
	}
}

func TestInsecureIssuerRefused(t *testing.T) {
	cases := []struct {
		issuer string
		ok     bool
	}{
		{"http://localhost:8080/t/a", true},
		{"http://127.0.0.1:8080/t/a", true},
		{"http://[::1]:8080/t/a", true},
		{"https://id.example.com/t/a", true},
		{"http://id.example.com/t/a", false},
		{"http://10.0.0.5/t/a", false},
	}
	for _, c := range cases {
		err := server.CheckIssuer(c.issuer, false)
		if (err == nil) != c.ok {
			t.Errorf("CheckIssuer(%q) = %v, want ok=%v", c.issuer, err, c.ok)
		}
		if err := server.CheckIssuer(c.issuer, true); err != nil {
			t.Errorf("CheckIssuer(%q, allow) = %v", c.issuer, err)
		}
	}

	t.Run("a node refuses to start with an http issuer off loopback", func(t *testing.T) {
		env := servertest.Start(t)
		permissive := *env.Admin
		permissive.AllowInsecureIssuer = true
		if _, err := permissive.CreateTenant(t.Context(), admin.CLI(), admin.TenantInput{
			ID: "plain", Name: "Plain", Issuer: "http://id.example.com/t/plain",
		}); err != nil {
			t.Fatal(err)
		}
		o := server.Options{Store: env.Store, Sealer: env.Sealer, Audit: env.Audit}
		if _, err := server.New(t.Context(), o); err == nil {
			t.Fatal("server started with a plain-http issuer off loopback")
		}
		o.AllowInsecureIssuer = true
		if _, err := server.New(t.Context(), o); err != nil {
			t.Fatalf("explicitly allowed: %v", err)
		}
	})
}

// TestRootPageSaysWhatTheNodeIs: a browser opening the node's address gets
// a page (not a tenant error) that names the server and lists no tenant.
func TestRootPageSaysWhatTheNodeIs(t *testing.T) {
	e := servertest.Start(t)
	e.Seed(t, "banking")
	resp, err := servertest.HTTPClient().Get(e.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(page, "OAuth 2.1 and OpenID Connect authorization server") || strings.Contains(page, "banking") {
		t.Fatalf("root page: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Fatalf("root page CSP %q", csp)
	}
}

// TestUnknownTenantAnswersInTheShapeOfItsSurface: an address no tenant
// serves answers 404 as the surface it was meant for would — RFC 6749 §5.2
// JSON under /oauth2/ and /.well-known/, an RFC 7807 problem under
// /api/v1, an HTML page for a browser — never {"status": …}.
func TestUnknownTenantAnswersInTheShapeOfItsSurface(t *testing.T) {
	e := servertest.Start(t)
	for _, tc := range []struct{ path, contentType, want string }{
		{"/t/nobody/oauth2/token", "application/json", `"error":"invalid_request"`},
		{"/t/nobody/.well-known/openid-configuration", "application/json", `"error_description":"There is no tenant nobody on this server`},
		{"/t/nobody/api/v1/scopes", "application/problem+json", `"error":"not_found"`},
		{"/t/nobody/console/", "text/html", "<h1>No such tenant</h1>"},
		{"/t/Not_A_Tenant!/login", "text/html", "There is no tenant Not_A_Tenant! on this server"},
		{"/somewhere", "text/html", "No tenant is served at this host name"},
	} {
		resp, err := servertest.HTTPClient().Get(e.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.contentType) ||
			!strings.Contains(string(body), tc.want) || strings.Contains(string(body), `"status":"`) {
			t.Errorf("%s: %d %s\n%s", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
}
