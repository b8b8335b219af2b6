package rs_test

// End-to-end tests against a real IntelliAuth node (servertest): real
// SQLite store, real keys, real token, JWKS, discovery, introspection and
// revocation endpoints, tokens obtained with x/oauth2's client-credentials
// client.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/rs"
)

const (
	bankAPI   = "api.banking.example.com"
	healthAPI = "api.health.example.com"
)

// e2e is one running node with two tenants and an SDK pointed at banking.
type e2e struct {
	env    *servertest.Env
	bank   servertest.Banking
	other  servertest.Banking
	iss    string
	clk    *fakeClock
	counts *countingTransport
	client *http.Client
	v      *rs.Verifier
}

func startE2E(t *testing.T) *e2e {
	t.Helper()
	env := servertest.Start(t)
	e := &e2e{env: env, bank: env.Seed(t, "banking"), other: env.Seed(t, "other"), iss: env.Issuer("banking"), clk: newClock()}
	e.counts = &countingTransport{base: http.DefaultTransport}
	e.client = &http.Client{Transport: e.counts, Timeout: 10 * time.Second}
	e.v = e.verifier(t, bankAPI, e.clk.Now)
	return e
}

func (e *e2e) verifier(t *testing.T, aud string, now func() time.Time) *rs.Verifier {
	t.Helper()
	v, err := rs.NewVerifier(t.Context(), rs.Config{Issuer: e.iss, Audience: aud, HTTPClient: e.client, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// token gets an access token with client credentials.
func token(t *testing.T, issuer string, c servertest.Client, audience, scope string) string {
	t.Helper()
	cfg := clientcredentials.Config{
		ClientID: c.ID, ClientSecret: c.Secret, TokenURL: issuer + "/oauth2/token",
		Scopes: strings.Fields(scope),
	}
	if audience != "" {
		cfg.EndpointParams = url.Values{"audience": {audience}}
	}
	tok, err := cfg.Token(t.Context())
	if err != nil {
		t.Fatalf("token for %s %q: %v", audience, scope, err)
	}
	return tok.AccessToken
}

// header decodes a token's JOSE header.
func header(t *testing.T, raw string) map[string]any {
	t.Helper()
	var h map[string]any
	if err := jsonUnmarshal(unb64(t, part(raw, 0)), &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// withHeader replaces the header of raw with h (the signature no longer
// matches, which the checks under test come before).
func withHeader(t *testing.T, raw string, h map[string]any) string {
	t.Helper()
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	return withPart(raw, 0, base64.RawURLEncoding.EncodeToString(b))
}

func TestE2E(t *testing.T) {
	e := startE2E(t)
	ctx := t.Context()
	read := token(t, e.iss, e.bank.Reporting, bankAPI, "read:transactions")

	t.Run("RFC 9068 §4 ES256 token from the server passes", func(t *testing.T) {
		tok, err := e.v.Verify(ctx, read)
		if err != nil {
			t.Fatal(err)
		}
		if tok.Issuer != e.iss || tok.Subject != "reporting-job" || tok.ClientID != "reporting-job" ||
			len(tok.Audience) != 1 || tok.Audience[0] != bankAPI || tok.Scopes.String() != "read:transactions" || tok.JTI == "" {
			t.Errorf("token = %+v", tok)
		}
		if d := tok.ExpiresAt.Sub(tok.IssuedAt); d != time.Hour {
			t.Errorf("lifetime %s", d)
		}
		if h := header(t, read); h["alg"] != "ES256" || h["typ"] != "at+jwt" {
			t.Errorf("header = %v", h)
		}
	})

	t.Run("RFC 9068 §4 RS256 token passes its own API's verifier", func(t *testing.T) {
		if _, err := e.env.Admin.AddAllowedScopes(ctx, admin.CLI(), "banking", "reporting-job", []string{"read:records"}, 0); err != nil {
			t.Fatal(err)
		}
		health := token(t, e.iss, e.bank.Reporting, healthAPI, "read:records")
		if h := header(t, health); h["alg"] != "RS256" {
			t.Fatalf("header = %v", h)
		}
		tok, err := e.verifier(t, healthAPI, e.clk.Now).Verify(ctx, health)
		if err != nil {
			t.Fatal(err)
		}
		if !tok.HasScope("read:records") {
			t.Errorf("scopes %v", tok.Scopes)
		}
		t.Run("RFC 9068 §4 and on the banking API it is another audience → invalid", func(t *testing.T) {
			_, err := e.v.Verify(ctx, health)
			wantErr(t, err, rs.ErrAudience, rs.ErrInvalidToken)
		})
	})

	t.Run("RFC 9068 §4 platform-API token (users:read) on the banking API → invalid", func(t *testing.T) {
		platform := token(t, e.iss, e.bank.Reporting, "", "users:read")
		_, err := e.v.Verify(ctx, platform)
		wantErr(t, err, rs.ErrAudience)
	})

	t.Run("RFC 9068 §4 token of another tenant → invalid", func(t *testing.T) {
		foreign := token(t, e.env.Issuer("other"), e.other.Reporting, bankAPI, "read:transactions")
		_, err := e.v.Verify(ctx, foreign)
		wantErr(t, err, rs.ErrUnknownKey, rs.ErrInvalidToken)

		// Even with both tenants' keys, the issuer decides.
		var keys []rs.PublicKey
		for _, tenant := range []string{"banking", "other"} {
			resp, err := e.client.Get(e.env.Issuer(tenant) + "/.well-known/jwks.json")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			k, err := rs.ParseJWKS(body)
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, k...)
		}
		both, err := rs.NewStaticKeySet(keys...)
		if err != nil {
			t.Fatal(err)
		}
		v, err := rs.NewVerifier(ctx, rs.Config{Issuer: e.iss, Audience: bankAPI, KeySet: both})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(ctx, read); err != nil {
			t.Fatalf("own tenant's token with both key sets: %v", err)
		}
		_, err = v.Verify(ctx, foreign)
		wantErr(t, err, rs.ErrIssuer, rs.ErrInvalidToken)
	})

	t.Run("RFC 7519 §4.1.4 expired: SDK clock past exp + leeway", func(t *testing.T) {
		tok, err := e.v.Verify(ctx, read)
		if err != nil {
			t.Fatal(err)
		}
		at := func(d time.Duration) func() time.Time { return func() time.Time { return tok.ExpiresAt.Add(d) } }
		if _, err := e.verifier(t, bankAPI, at(rs.DefaultLeeway-time.Second)).Verify(ctx, read); err != nil {
			t.Errorf("within the leeway after exp: %v", err)
		}
		_, err = e.verifier(t, bankAPI, at(rs.DefaultLeeway)).Verify(ctx, read)
		wantErr(t, err, rs.ErrExpired, rs.ErrInvalidToken)
		_, err = e.verifier(t, bankAPI, at(24*time.Hour)).Verify(ctx, read)
		wantErr(t, err, rs.ErrExpired)
	})

	t.Run("RFC 7519 §4.1.6 not yet valid: SDK clock before iat − leeway", func(t *testing.T) {
		tok, err := e.v.Verify(ctx, read)
		if err != nil {
			t.Fatal(err)
		}
		at := func(d time.Duration) func() time.Time { return func() time.Time { return tok.IssuedAt.Add(-d) } }
		if _, err := e.verifier(t, bankAPI, at(rs.DefaultLeeway-time.Second)).Verify(ctx, read); err != nil {
			t.Errorf("clock skew within the leeway: %v", err)
		}
		_, err = e.verifier(t, bankAPI, at(rs.DefaultLeeway+time.Second)).Verify(ctx, read)
		wantErr(t, err, rs.ErrNotYetValid, rs.ErrInvalidToken)
	})

	t.Run("RFC 9068 §4 wrong typ (JWT) → invalid before the signature is looked at", func(t *testing.T) {
		h := header(t, read)
		for _, typ := range []any{"JWT", "jwt", "at+JWS", nil} {
			h["typ"] = typ
			if typ == nil {
				delete(h, "typ")
			}
			_, err := e.v.Verify(ctx, withHeader(t, read, h))
			wantErr(t, err, rs.ErrType, rs.ErrInvalidToken)
		}
	})

	t.Run("RFC 8725 §3.1 alg none → invalid", func(t *testing.T) {
		h := header(t, read)
		h["alg"] = "none"
		for _, raw := range []string{withPart(withHeader(t, read, h), 2, ""), withHeader(t, read, h)} {
			_, err := e.v.Verify(ctx, raw)
			wantErr(t, err, rs.ErrAlgorithm, rs.ErrInvalidToken)
		}
	})

	t.Run("RFC 8725 §2.1 HS256 keyed with the server's public key → invalid", func(t *testing.T) {
		// The classic confusion: a verifier that picks the algorithm from the
		// header would check an HMAC keyed by the public key it holds.
		keys := jwks(t, e)
		kid := header(t, read)["kid"].(string)
		var pub any
		for _, k := range keys {
			if k.KeyID == kid {
				pub = k.Key
			}
		}
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range [][]byte{pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), der} {
			h := header(t, read)
			h["alg"] = "HS256"
			forged := withHeader(t, read, h)
			mac := hmac.New(sha256.New, secret)
			mac.Write([]byte(forged[:strings.LastIndexByte(forged, '.')]))
			forged = withPart(forged, 2, base64.RawURLEncoding.EncodeToString(mac.Sum(nil)))
			_, err := e.v.Verify(ctx, forged)
			wantErr(t, err, rs.ErrAlgorithm, rs.ErrInvalidToken)
		}
		if _, err := rs.NewVerifier(ctx, rs.Config{Issuer: e.iss, Audience: bankAPI, Algorithms: []string{"ES256", "HS256"}, HTTPClient: e.client}); err == nil {
			t.Error("a verifier allowing HS256 was built")
		}
	})

	t.Run("RFC 7515 §5.2 tampered payload → invalid signature", func(t *testing.T) {
		payload := unb64(t, part(read, 1))
		for _, p := range []string{
			strings.Replace(payload, `"read:transactions"`, `"read:transactions write:settings"`, 1),
			strings.Replace(payload, `"reporting-job"`, `"admin-tool!!!"`, 1),
			strings.Replace(payload, fmt.Sprintf(`"exp":%d`, mustExp(t, payload)), fmt.Sprintf(`"exp":%d`, mustExp(t, payload)+86400), 1),
		} {
			if p == payload {
				t.Fatal("payload not changed")
			}
			_, err := e.v.Verify(ctx, withPart(read, 1, b64(p)))
			wantErr(t, err, rs.ErrSignature, rs.ErrInvalidToken)
		}
	})

	t.Run("RFC 7515 §4.1.4 unknown kid → invalid, and a flood costs at most one JWKS fetch", func(t *testing.T) {
		before := e.counts.count("/jwks.json")
		var wg sync.WaitGroup
		for i := range 100 {
			wg.Go(func() {
				h := header(t, read)
				h["kid"] = fmt.Sprintf("forged-%d", i)
				_, err := e.v.Verify(context.Background(), withHeader(t, read, h))
				if !errors.Is(err, rs.ErrUnknownKey) || !errors.Is(err, rs.ErrInvalidToken) {
					t.Errorf("err = %v", err)
				}
			})
		}
		wg.Wait()
		if n := e.counts.count("/jwks.json") - before; n > 1 {
			t.Errorf("100 forged kids cost %d JWKS fetches, want at most 1", n)
		}
	})

	t.Run("OIDC Core §10.1.1 key rotated at the issuer: new kid picked up without restart", func(t *testing.T) {
		v := e.verifier(t, bankAPI, e.clk.Now) // a fresh verifier, whose JWKS is fetched now
		if _, err := v.Verify(ctx, read); err != nil {
			t.Fatal(err)
		}
		fetches := e.counts.count("/jwks.json")
		oldKid := header(t, read)["kid"]

		// One rotation: the "next" key, published before, starts signing.
		if _, err := e.env.Admin.RotateKeys(ctx, admin.CLI(), "banking"); err != nil {
			t.Fatal(err)
		}
		tok1 := tokenSignedByNewKey(t, e, oldKid)
		if _, err := v.Verify(ctx, tok1); err != nil {
			t.Fatalf("token of the pre-published next key: %v", err)
		}
		if n := e.counts.count("/jwks.json"); n != fetches {
			t.Errorf("the next key was already held, yet the JWKS was fetched %d more times", n-fetches)
		}

		// A second rotation: the signing key was born after our fetch.
		if _, err := e.env.Admin.RotateKeys(ctx, admin.CLI(), "banking"); err != nil {
			t.Fatal(err)
		}
		tok2 := tokenSignedByNewKey(t, e, header(t, tok1)["kid"])
		e.clk.Advance(rs.DefaultMinRefetchInterval) // past the refetch bound
		if _, err := v.Verify(ctx, tok2); err != nil {
			t.Fatalf("token of a key born after the JWKS was fetched: %v", err)
		}
		if n := e.counts.count("/jwks.json"); n != fetches+1 {
			t.Errorf("JWKS fetched %d more times, want exactly 1", n-fetches)
		}
		// Tokens of the previous key still verify.
		if _, err := v.Verify(ctx, tok1); err != nil {
			t.Errorf("token of the previous key: %v", err)
		}
		// Two rotations retire the first key: its token is refused, though
		// this verifier had it cached.
		_, err := v.Verify(ctx, read)
		wantErr(t, err, rs.ErrUnknownKey, rs.ErrInvalidToken)
	})
	// The key that signed read is retired now.
	read = token(t, e.iss, e.bank.Reporting, bankAPI, "read:transactions")

	t.Run("RFC 7009 revoked token refused by RequireActive, accepted by plain verification until exp", func(t *testing.T) {
		legacy := token(t, e.iss, e.bank.Legacy, bankAPI, "read:transactions")
		in, err := rs.NewIntrospector(ctx, rs.IntrospectorConfig{
			Issuer: e.iss, ClientID: e.bank.Reporting.ID, ClientSecret: e.bank.Reporting.Secret,
			HTTPClient: e.client, Now: e.clk.Now,
		})
		if err != nil {
			t.Fatal(err)
		}
		if in.Endpoint() != e.iss+"/oauth2/introspect" {
			t.Errorf("discovered introspection endpoint %q", in.Endpoint())
		}
		m := rs.NewMiddleware(e.v, rs.MiddlewareOptions{Introspector: in})
		h := m.RequireScope("read:transactions")(m.RequireActive(okHandler(t)))
		if rec := serve(h, get("Bearer "+legacy)); rec.Code != 200 {
			t.Fatalf("before revocation: %d %s", rec.Code, rec.Body)
		}

		revoke(t, e.iss, e.bank.Legacy, legacy)
		e.clk.Advance(rs.DefaultIntrospectionCacheTTL) // the cached "active" answer lapses

		rec := serve(h, get("Bearer "+legacy))
		if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") !=
			`Bearer realm="api.banking.example.com", error="invalid_token", error_description="the access token is not active"` {
			t.Errorf("after revocation: %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
		if active, err := in.Active(ctx, legacy); active || err != nil {
			t.Errorf("Active = %v, %v", active, err)
		}
		if _, err := e.v.Verify(ctx, legacy); err != nil {
			t.Errorf("plain Verify of the revoked token: %v (a JWT is valid until exp)", err)
		}
		if rec := serve(m.RequireScope("read:transactions")(okHandler(t)), get("Bearer "+legacy)); rec.Code != 200 {
			t.Errorf("route without RequireActive: %d", rec.Code)
		}
	})

	t.Run("RFC 6750 §3 middleware answers with the server's tokens", func(t *testing.T) {
		m := rs.NewMiddleware(e.v, rs.MiddlewareOptions{})
		mux := http.NewServeMux()
		mux.Handle("GET /transactions", m.RequireScope("read:transactions")(okHandler(t)))
		mux.Handle("POST /settings", m.RequireScope("write:settings")(okHandler(t)))
		health := token(t, e.iss, e.bank.Reporting, healthAPI, "read:records")
		for _, tc := range []struct {
			name, method, path, tok string
			status                  int
			wwwAuth, body           string
		}{
			{"200 with read:transactions", "GET", "/transactions", read, 200, "", "reporting-job read:transactions"},
			{"403 insufficient_scope without write:settings", "POST", "/settings", read, 403,
				`Bearer realm="api.banking.example.com", error="insufficient_scope", scope="write:settings"`,
				`{"error":"insufficient_scope","required":"write:settings"}`},
			{"401 invalid_token for a health-API token", "GET", "/transactions", health, 401,
				`Bearer realm="api.banking.example.com", error="invalid_token", error_description="the access token is not for this API"`,
				`{"error":"invalid_token","error_description":"the access token is not for this API"}` + "\n"},
			{"401 without error code when no token is sent", "GET", "/transactions", "", 401, `Bearer realm="api.banking.example.com"`, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r, _ := http.NewRequestWithContext(ctx, tc.method, "/"+strings.TrimPrefix(tc.path, "/"), nil)
				if tc.tok != "" {
					r.Header.Set("Authorization", "Bearer "+tc.tok)
				}
				rec := serve(mux, r)
				if rec.Code != tc.status || rec.Header().Get("WWW-Authenticate") != tc.wwwAuth || rec.Body.String() != tc.body {
					t.Errorf("got %d %q %q\nwant %d %q %q", rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body, tc.status, tc.wwwAuth, tc.body)
				}
			})
		}
	})

	t.Run("concurrent verification and middleware (-race)", func(t *testing.T) {
		toks := []string{read, token(t, e.iss, e.bank.Legacy, bankAPI, "read:transactions"), token(t, e.iss, e.bank.Reporting, bankAPI, "read:transactions")}
		v, err := rs.NewVerifier(ctx, rs.Config{Issuer: e.iss, Audience: bankAPI, HTTPClient: e.client, CacheSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		h := rs.NewMiddleware(v, rs.MiddlewareOptions{}).RequireScope("read:transactions")(okHandler(t))
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 100 {
					raw := toks[(g+i)%len(toks)]
					if rec := serve(h, get("Bearer "+raw)); rec.Code != 200 {
						t.Errorf("status %d", rec.Code)
						return
					}
				}
			})
		}
		wg.Wait()
	})
}

// tokenSignedByNewKey asks for tokens until one is signed by a key other
// than oldKid: the node picks a rotation up within ~50ms.
func tokenSignedByNewKey(t *testing.T, e *e2e, oldKid any) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		raw := token(t, e.iss, e.bank.Reporting, bankAPI, "read:transactions")
		if header(t, raw)["kid"] != oldKid {
			return raw
		}
		if time.Now().After(deadline) {
			t.Fatal("the node still signs with the old key 5s after rotation")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// jwks returns the banking tenant's published keys.
func jwks(t *testing.T, e *e2e) []rs.PublicKey {
	t.Helper()
	resp, err := e.client.Get(e.iss + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	keys, err := rs.ParseJWKS(body)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// revoke calls the RFC 7009 endpoint as client c.
func revoke(t *testing.T, issuer string, c servertest.Client, raw string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, issuer+"/oauth2/revoke",
		strings.NewReader(url.Values{"token": {raw}, "token_type_hint": {"access_token"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	resp, err := servertest.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("revoke: %s %s", resp.Status, b)
	}
}

func mustExp(t *testing.T, payload string) int64 {
	t.Helper()
	var c struct {
		Exp int64 `json:"exp"`
	}
	if err := json.Unmarshal([]byte(payload), &c); err != nil {
		t.Fatal(err)
	}
	return c.Exp
}
