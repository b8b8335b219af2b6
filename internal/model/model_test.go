package model

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidScopeName(t *testing.T) {
	cases := []struct {
		name, pattern string
		ok            bool
	}{
		{"read:transactions", "", true},
		{"a", "", true},
		{"api.v2/items-read_all", "", true},
		{strings.Repeat("a", 64), "", true},
		{strings.Repeat("a", 65), "", false},
		{"", "", false},
		{"1read", "", false},
		{":read", "", false},
		{"read transactions", "", false},
		{"read*", "", false},
		{"lecture:données", "", false},
		// PRODUCT.md §4: a tenant may tighten the rule with its own pattern.
		{"read:transactions", `^[a-z]+:[a-z]+$`, true},
		{"read:Transactions", `^[a-z]+:[a-z]+$`, false},
		{"read_all", `^[A-Za-z0-9_]{1,30}$`, true},
		{"read:all", `^[A-Za-z0-9_]{1,30}$`, false},
		// An unanchored tenant pattern must still match the whole name.
		{"xread:ay", `read:a`, false},
	}
	for _, c := range cases {
		err := ValidScopeName(c.name, c.pattern)
		if (err == nil) != c.ok {
			t.Errorf("ValidScopeName(%q, %q) = %v, want ok=%v", c.name, c.pattern, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("error %v does not wrap ErrInvalid", err)
		}
	}
}

func TestScopeValidate(t *testing.T) {
	good := Scope{Name: "read:x", Kind: KindCustom, APIID: "api_1", Description: "Read x."}
	if err := good.Validate(""); err != nil {
		t.Fatalf("valid scope refused: %v", err)
	}
	bad := Scope{Name: "9bad", Kind: KindCustom, Description: strings.Repeat("é", 121), Implies: []string{"9bad", `a"b`}, Claims: []string{"email"}}
	err := bad.Validate("")
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	fields := map[string]bool{}
	for _, p := range ve.Problems {
		fields[p.Field] = true
	}
	// Validate reports every problem at once.
	for _, f := range []string{"name", "api", "description", "implies", "claims"} {
		if !fields[f] {
			t.Errorf("problem with %s not reported: %v", f, ve.Problems)
		}
	}
	if err := (Scope{Name: "x", Kind: KindCustom, APIID: "a"}).Validate(""); err == nil {
		t.Error("custom scope without description accepted")
	}
	if err := (Scope{Name: "read:x", Kind: KindCustom, APIID: "a", Description: "d"}).Validate(`^[a-z]+$`); err == nil {
		t.Error("tenant pattern ignored for a custom scope")
	}
	if err := (Scope{Name: "users:read", Kind: KindPlatform, APIID: PlatformAPIID}).Validate(`^[a-z]+$`); err != nil {
		t.Errorf("tenant pattern applied to a predefined scope: %v", err)
	}
	if n := len([]rune(strings.Repeat("é", 120))); n != MaxDescription {
		t.Fatal("fixture")
	}
	if err := (Scope{Name: "x", Kind: KindCustom, APIID: "a", Description: strings.Repeat("é", 120)}).Validate(""); err != nil {
		t.Errorf("120-character description refused: %v", err)
	}
}

func TestPredefinedScopes(t *testing.T) {
	want := "applications:read applications:write audit:read groups:read groups:write me:read me:sessions me:write resources:read resources:write roles:read roles:write scopes:read scopes:write users:read users:write"
	if got := strings.Join(PlatformScopeNames(), " "); got != want {
		t.Errorf("platform scopes = %s", got)
	}
	for _, s := range append(PredefinedOIDCScopes(), PlatformScopes(PlatformAPIID)...) {
		if err := s.Validate(""); err != nil {
			t.Errorf("predefined %s invalid: %v", s.Name, err)
		}
		if !s.Predefined() {
			t.Errorf("%s not predefined", s.Name)
		}
	}
}

func TestApplicationValidate(t *testing.T) {
	m2m := Application{ClientID: "job", Name: "Job", Type: AppM2M, GrantTypes: []string{GrantClientCredentials},
		ScopePolicy: PolicyStrict, Consent: ConsentRequired, AllowedScopes: []string{"read:x"}}
	if err := m2m.Validate(); err != nil {
		t.Fatalf("valid m2m refused: %v", err)
	}
	cases := []struct {
		name string
		mod  func(*Application)
	}{
		{"client_credentials on a public client", func(a *Application) { a.Type = AppSPA; a.RedirectURIs = []string{"https://a.example/cb"} }},
		{"authorization_code on m2m", func(a *Application) { a.GrantTypes = []string{GrantAuthorizationCode} }},
		{"RFC 9700 §2.4 password grant", func(a *Application) { a.GrantTypes = []string{"password"} }},
		{"RFC 9700 §2.1.2 implicit grant", func(a *Application) { a.GrantTypes = []string{"implicit"} }},
		{"unknown policy", func(a *Application) { a.ScopePolicy = "lenient" }},
		{"unknown type", func(a *Application) { a.Type = "daemon" }},
		{"client_id with colon (breaks Basic auth)", func(a *Application) { a.ClientID = "a:b" }},
		{"allowlist entry with a space", func(a *Application) { a.AllowedScopes = []string{"read x"} }},
		{"negative lifetime", func(a *Application) { a.AccessTokenTTL = -time.Second }},
		{"no grant types", func(a *Application) { a.GrantTypes = nil }},
	}
	for _, c := range cases {
		a := m2m
		a.GrantTypes = append([]string(nil), m2m.GrantTypes...)
		c.mod(&a)
		if err := a.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", c.name, err)
		}
	}
}

func TestRedirectURIs(t *testing.T) {
	cases := []struct {
		uri string
		ok  bool
	}{
		{"https://app.example.com/callback", true},
		{"http://localhost:3000/cb", true},
		{"http://127.0.0.1:8000/cb", true},
		{"com.example.app:/oauth2redirect", true},
		{"http://app.example.com/cb", false},
		{"https://app.example.com/cb#frag", false},
		{"javascript:alert(1)", false},
		{"/relative", false},
		{"myapp:/cb", false},
	}
	for _, c := range cases {
		if err := ValidRedirectURI(c.uri); (err == nil) != c.ok {
			t.Errorf("ValidRedirectURI(%q) = %v, want ok=%v", c.uri, err, c.ok)
		}
	}
	a := Application{RedirectURIs: []string{"https://app.example.com/cb"}}
	for _, got := range []string{"https://app.example.com/cb/", "https://APP.example.com/cb", "https://app.example.com/cb?x=1", "https://app.example.com/c"} {
		if a.MatchRedirectURI(got) {
			t.Errorf("RFC 9700 §4.1.3 exact matching accepted %q", got)
		}
	}
	if !a.MatchRedirectURI("https://app.example.com/cb") {
		t.Error("exact match refused")
	}
}

func TestMatchRedirectURILoopbackPort(t *testing.T) {
	native := Application{Type: AppNative, RedirectURIs: []string{"http://127.0.0.1/cb", "http://[::1]:8000/cb?x=1", "http://localhost/cb"}}
	cases := []struct {
		name, got string
		want      bool
	}{
		{"RFC 8252 §7.3 any port on 127.0.0.1", "http://127.0.0.1:51004/cb", true},
		{"RFC 8252 §7.3 the registered URI itself", "http://127.0.0.1/cb", true},
		{"RFC 8252 §7.3 any port on [::1], query kept", "http://[::1]:61000/cb?x=1", true},
		{"RFC 8252 §7.3 [::1] without a port", "http://[::1]/cb?x=1", true},
		{"other path", "http://127.0.0.1:51004/cb/x", false},
		{"other query", "http://[::1]:61000/cb?x=2", false},
		{"added query", "http://127.0.0.1:51004/cb?next=https://evil.example", false},
		{"fragment", "http://127.0.0.1:51004/cb#x", false},
		{"userinfo", "http://evil@127.0.0.1:51004/cb", false},
		{"https instead of http", "https://127.0.0.1:51004/cb", false},
		{"other loopback address", "http://127.0.0.2:51004/cb", false},
		{"port out of range", "http://127.0.0.1:70000/cb", false},
		{"port with a leading zero", "http://127.0.0.1:0443/cb", false},
		{"RFC 8252 §8.3 localhost gets no port leeway", "http://localhost:51004/cb", false},
		{"host that merely starts with the IP", "http://127.0.0.1.evil.example:80/cb", false},
	}
	for _, tc := range cases {
		if got := native.MatchRedirectURI(tc.got); got != tc.want {
			t.Errorf("%s: MatchRedirectURI(%q) = %t, want %t", tc.name, tc.got, got, tc.want)
		}
	}
	// Only native apps: a web or SPA client registers its exact port.
	web := native
	web.Type = AppWeb
	if web.MatchRedirectURI("http://127.0.0.1:51004/cb") {
		t.Error("a web app must not get the loopback port leeway")
	}
}

func TestTenantValidate(t *testing.T) {
	ok := Tenant{ID: "banking", Name: "Banking", Issuer: "http://localhost:8080/t/banking"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := Tenant{ID: "Bank ing", Name: "", Issuer: "ftp://x/", ScopePattern: "("}
	var ve *ValidationError
	if !errors.As(bad.Validate(), &ve) || len(ve.Problems) != 4 {
		t.Errorf("want 4 problems, got %v", bad.Validate())
	}
	for _, iss := range []string{"https://id.example.com/", "https://id.example.com?x=1", "id.example.com"} {
		tt := ok
		tt.Issuer = iss
		if tt.Validate() == nil {
			t.Errorf("issuer %q accepted", iss)
		}
	}
}

// TestAPITokenSizeBudgetBounds: a budget is 0 (none) or 256–65536 bytes;
// anything else is a problem of the field token_size_budget.
func TestAPITokenSizeBudgetBounds(t *testing.T) {
	a := API{ID: "bank", Identifier: "api.bank.example", Name: "Bank", SigningAlg: AlgES256, AccessTokenTTL: time.Hour}
	for _, b := range []int{0, MinTokenSizeBudget, 1000, MaxTokenSizeBudget} {
		a.TokenSizeBudget = b
		if err := a.Validate(); err != nil {
			t.Errorf("budget %d: %v", b, err)
		}
	}
	for _, b := range []int{-1, 1, MinTokenSizeBudget - 1, MaxTokenSizeBudget + 1} {
		a.TokenSizeBudget = b
		var ve *ValidationError
		if err := a.Validate(); !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Field != "token_size_budget" {
			t.Errorf("budget %d: %v, want one problem of token_size_budget", b, err)
		}
	}
}
