package rs_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/intelliauth/intelliauth/rs"
	"github.com/intelliauth/intelliauth/rs/rstest"
)

// A verifier for one API of one issuer. In production Issuer is the
// tenant's issuer URL, e.g. "https://auth.example.com/t/banking"; here a fake
// issuer from rs/rstest stands in.
func ExampleNewVerifier() {
	iss := rstest.NewIssuer(rstest.WithAudience("api.banking.example.com"))
	defer iss.Close()
	ctx := context.Background()

	v, err := rs.NewVerifier(ctx, rs.Config{
		Issuer:     iss.URL,
		Audience:   "api.banking.example.com",
		HTTPClient: iss.Client(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	tok, err := v.Verify(ctx, iss.Mint(rstest.Token{Subject: "reporting-job", ClientID: "reporting-job", Scope: "read:transactions"}))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok.Subject, tok.Audience, tok.Scopes)

	// A token for another API is refused, however valid otherwise.
	_, err = v.Verify(ctx, iss.Mint(rstest.Token{Audience: []string{"api.health.example.com"}}))
	fmt.Println(errors.Is(err, rs.ErrAudience), errors.Is(err, rs.ErrInvalidToken))
	// Output:
	// reporting-job [api.banking.example.com] read:transactions
	// true true
}

// Routes state the scope they need; the middleware answers 401 and 403 per
// RFC 6750 before the handler runs.
func ExampleMiddleware_RequireScope() {
	iss := rstest.NewIssuer(rstest.WithAudience("api.banking.example.com"))
	defer iss.Close()
	v, err := rs.NewVerifier(context.Background(), rs.Config{Issuer: iss.URL, Audience: "api.banking.example.com", HTTPClient: iss.Client()})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := rs.NewMiddleware(v, rs.MiddlewareOptions{})

	settings := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := rs.FromContext(r.Context())
		fmt.Fprintf(w, "settings changed for %s", tok.Subject)
	})
	h := m.RequireScope("write:settings")(settings)

	for _, scope := range []string{"write:settings", "read:transactions"} {
		r := httptest.NewRequest(http.MethodPost, "/settings", nil)
		r.Header.Set("Authorization", "Bearer "+iss.Mint(rstest.Token{Scope: scope}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(strings.TrimSpace(fmt.Sprint(w.Code, " ", w.Header().Get("WWW-Authenticate"))))
		fmt.Println(w.Body)
	}
	// Output:
	// 200
	// settings changed for user-1
	// 403 Bearer realm="api.banking.example.com", error="insufficient_scope", scope="write:settings"
	// {"error":"insufficient_scope","required":"write:settings"}
}

// Custom claims are read with Token.Claims.
func ExampleToken_Claims() {
	iss := rstest.NewIssuer()
	defer iss.Close()
	v, err := rs.NewVerifier(context.Background(), rs.Config{Issuer: iss.URL, Audience: rstest.DefaultAudience, HTTPClient: iss.Client()})
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, err := v.Verify(context.Background(), iss.Mint(rstest.Token{Extra: map[string]any{"tenant_plan": "gold"}}))
	if err != nil {
		fmt.Println(err)
		return
	}
	var c struct {
		Plan string `json:"tenant_plan"`
	}
	if err := tok.Claims(&c); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Plan)
	// Output: gold
}

// A revocation-sensitive route asks the issuer's introspection endpoint as
// well, with a short cache.
func ExampleMiddleware_RequireActive() {
	iss := rstest.NewIssuer()
	defer iss.Close()
	ctx := context.Background()
	v, err := rs.NewVerifier(ctx, rs.Config{Issuer: iss.URL, Audience: rstest.DefaultAudience, HTTPClient: iss.Client()})
	if err != nil {
		fmt.Println(err)
		return
	}
	in, err := rs.NewIntrospector(ctx, rs.IntrospectorConfig{
		Issuer: iss.URL, ClientID: iss.ClientID, ClientSecret: iss.ClientSecret,
		HTTPClient: iss.Client(), CacheTTL: -1, // no cache, for the example
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := rs.NewMiddleware(v, rs.MiddlewareOptions{Introspector: in})
	h := m.RequireScope("payments:approve")(m.RequireActive(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "approved")
	})))

	raw := iss.Mint(rstest.Token{Scope: "payments:approve"})
	call := func() {
		r := httptest.NewRequest(http.MethodPost, "/payments", nil)
		r.Header.Set("Authorization", "Bearer "+raw)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(strings.TrimSpace(fmt.Sprint(w.Code, " ", w.Header().Get("WWW-Authenticate"))))
	}
	call()
	iss.Revoke(raw)
	call()
	// Output:
	// 200
	// 401 Bearer realm="api.example.com", error="invalid_token", error_description="the access token is not active"
}
