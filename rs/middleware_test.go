package rs_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/rs"
	"github.com/intelliauth/intelliauth/rs/rstest"
)

// okHandler answers 200 with the token's subject and scopes.
func okHandler(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := rs.FromContext(r.Context())
		if !ok {
			t.Error("handler reached without a token in the context")
			http.Error(w, "no token", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, tok.Subject+" "+tok.Scopes.String())
	})
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func get(authorization ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/transactions", nil)
	for _, a := range authorization {
		r.Header.Add("Authorization", a)
	}
	return r
}

func TestMiddleware(t *testing.T) {
	clk := newClock()
	iss, v := newIssuerVerifier(t, clk, rs.Config{})
	m := rs.NewMiddleware(v, rs.MiddlewareOptions{Realm: "bank"})
	read := m.RequireScope("read:transactions")(okHandler(t))
	readTok := iss.Mint(rstest.Token{Scope: "read:transactions"})
	bothTok := iss.Mint(rstest.Token{Scope: "read:transactions write:settings"})
	noneTok := iss.Mint(rstest.Token{})

	type want struct {
		status  int
		wwwAuth string
		body    string // exact; "" means empty
	}
	invalid := func(desc string) want {
		return want{401, `Bearer realm="bank", error="invalid_token", error_description="` + desc + `"`,
			`{"error":"invalid_token","error_description":"` + desc + `"}` + "\n"}
	}
	badRequest := func(desc string) want {
		return want{400, `Bearer realm="bank", error="invalid_request", error_description="` + desc + `"`,
			`{"error":"invalid_request","error_description":"` + desc + `"}` + "\n"}
	}
	for _, tc := range []struct {
		name string
		h    http.Handler
		req  *http.Request
		want want
	}{
		{"RFC 6750 §2.1 token with the scope → 200", read, get("Bearer " + readTok), want{200, "", "user-1 read:transactions"}},
		{"RFC 6750 §2.1 scheme is case-insensitive → 200", read, get("bearer " + readTok), want{200, "", "user-1 read:transactions"}},
		{"RFC 6750 §3.1 no credentials → 401 without error code", read, get(), want{401, `Bearer realm="bank"`, ""}},
		{"RFC 6750 §3.1 another scheme (Basic) → 401 without error code", read, get("Basic cmVwb3J0aW5nOnNlY3JldA=="), want{401, `Bearer realm="bank"`, ""}},
		{"RFC 6750 §3.1 expired token → 401 invalid_token", read,
			get("Bearer " + iss.Mint(rstest.Token{Scope: "read:transactions", IssuedAt: clk.Now().Add(-2 * time.Hour), ExpiresAt: clk.Now().Add(-time.Hour)})),
			invalid("the access token expired")},
		{"RFC 6750 §3.1 token for another API → 401 invalid_token", read,
			get("Bearer " + iss.Mint(rstest.Token{Scope: "read:transactions", Audience: []string{"api.health.example.com"}})),
			invalid("the access token is not for this API")},
		{"RFC 6750 §3.1 garbage token → 401 invalid_token", read, get("Bearer abc.def.ghi"), invalid("the access token is malformed")},
		{"RFC 6750 §2.1 credential outside b64token → 401 invalid_token", read, get(`Bearer a"b`), invalid("the access token is malformed")},
		{"RFC 6750 §3.1 alg none → 401 invalid_token", read, get("Bearer " + iss.Mint(rstest.Token{Alg: "none", Scope: "read:transactions"})),
			invalid("the access token's signing algorithm is not accepted")},
		{"RFC 6750 §3.1 missing scope → 403 insufficient_scope", m.RequireScope("write:settings")(okHandler(t)), get("Bearer " + readTok),
			want{403, `Bearer realm="bank", error="insufficient_scope", scope="write:settings"`, `{"error":"insufficient_scope","required":"write:settings"}`}},
		{"RFC 6750 §3.1 token without any scope → 403", read, get("Bearer " + noneTok),
			want{403, `Bearer realm="bank", error="insufficient_scope", scope="read:transactions"`, `{"error":"insufficient_scope","required":"read:transactions"}`}},
		{"RFC 6750 §3 RequireAll with one missing → 403 naming all", m.RequireAll("read:transactions", "payments:approve")(okHandler(t)), get("Bearer " + bothTok),
			want{403, `Bearer realm="bank", error="insufficient_scope", scope="read:transactions payments:approve"`, `{"error":"insufficient_scope","required":"read:transactions payments:approve"}`}},
		{"RFC 6750 §3 RequireAll with all → 200", m.RequireAll("read:transactions", "write:settings")(okHandler(t)), get("Bearer " + bothTok),
			want{200, "", "user-1 read:transactions write:settings"}},
		{"RFC 6750 §3 RequireAny with one of them → 200", m.RequireAny("payments:approve", "write:settings")(okHandler(t)), get("Bearer " + bothTok),
			want{200, "", "user-1 read:transactions write:settings"}},
		{"RFC 6750 §3 RequireAny with none of them → 403", m.RequireAny("payments:approve", "write:settings")(okHandler(t)), get("Bearer " + readTok),
			want{403, `Bearer realm="bank", error="insufficient_scope", scope="payments:approve write:settings"`, `{"error":"insufficient_scope","required":"payments:approve write:settings"}`}},
		{"RFC 6750 §3 Authenticate needs no scope → 200", m.Authenticate(okHandler(t)), get("Bearer " + noneTok), want{200, "", "user-1 "}},
		{"RFC 6749 §3.3 scopes compare case-sensitively → 403", m.RequireScope("Read:Transactions")(okHandler(t)), get("Bearer " + readTok),
			want{403, `Bearer realm="bank", error="insufficient_scope", scope="Read:Transactions"`, `{"error":"insufficient_scope","required":"Read:Transactions"}`}},
		{"RFC 6750 §3.1 two Authorization headers → 400 invalid_request", read, get("Bearer "+readTok, "Bearer "+readTok), badRequest("more than one Authorization header")},
		{"RFC 6750 §3.1 empty Bearer credential → 400 invalid_request", read, get("Bearer "), badRequest("the Bearer credential is empty")},
		{"RFC 6750 §3.1 token in header and query (two methods) → 400", read,
			func() *http.Request {
				r := get("Bearer " + readTok)
				r.URL.RawQuery = url.Values{"access_token": {readTok}}.Encode()
				return r
			}(), badRequest("send the access token in the Authorization header only")},
		{"RFC 6750 §2.3 token in the query only → 400 (not supported)", read,
			httptest.NewRequest(http.MethodGet, "/transactions?access_token="+readTok, nil), badRequest("send the access token in the Authorization header only")},
		{"RFC 6750 §2.2 token in a parsed form body → 400 (not supported)", read,
			func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, "/transactions", strings.NewReader("access_token="+readTok))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.Header.Set("Authorization", "Bearer "+readTok)
				_ = r.ParseForm()
				return r
			}(), badRequest("send the access token in the Authorization header only")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(tc.h, tc.req)
			if rec.Code != tc.want.status {
				t.Fatalf("status = %d, want %d; body %q", rec.Code, tc.want.status, rec.Body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tc.want.wwwAuth {
				t.Errorf("WWW-Authenticate = %q\n                     want %q", got, tc.want.wwwAuth)
			}
			if got := rec.Body.String(); got != tc.want.body {
				t.Errorf("body = %q, want %q", got, tc.want.body)
			}
			if tc.want.status != 200 {
				if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control = %q", cc)
				}
				if tc.want.body != "" {
					if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
						t.Errorf("Content-Type = %q", ct)
					}
					var v map[string]any
					if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
						t.Errorf("body is not JSON: %v", err)
					}
				}
			}
		})
	}
}

func TestMiddlewareRealmDefaultsToAudience(t *testing.T) {
	_, v := newIssuerVerifier(t, newClock(), rs.Config{})
	rec := serve(rs.NewMiddleware(v, rs.MiddlewareOptions{}).Authenticate(okHandler(t)), get())
	if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer realm="api.banking.example.com"` {
		t.Errorf("WWW-Authenticate = %q", got)
	}
}

func TestMiddlewareNestedWrappersVerifyOnce(t *testing.T) {
	clk := newClock()
	iss := rstest.Start(t, rstest.WithClock(clk.Now))
	keys, err := rs.ParseJWKS(iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	static, _ := rs.NewStaticKeySet(keys...)
	ks := &countingKeySet{KeySet: static}
	v, err := rs.NewVerifier(t.Context(), rs.Config{Issuer: iss.URL, Audience: rstest.DefaultAudience, KeySet: ks, CacheSize: -1, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	m := rs.NewMiddleware(v, rs.MiddlewareOptions{})
	h := m.Authenticate(m.RequireScope("a")(m.RequireAny("b", "c")(okHandler(t))))
	rec := serve(h, get("Bearer "+iss.Mint(rstest.Token{Scope: "a c"})))
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if n := ks.calls.Load(); n != 1 {
		t.Errorf("the token was verified %d times, want once", n)
	}
}

func TestMiddlewareIssuerDown(t *testing.T) {
	clk := newClock()
	iss, v := newIssuerVerifier(t, clk, rs.Config{})
	tok := iss.Mint(rstest.Token{Scope: "read:transactions"})
	iss.SetUnavailable(true)
	m := rs.NewMiddleware(v, rs.MiddlewareOptions{})
	rec := serve(m.RequireScope("read:transactions")(okHandler(t)), get("Bearer "+tok))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("WWW-Authenticate") != "" {
		t.Fatalf("status %d, WWW-Authenticate %q: an outage is not the token's fault", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	if !strings.Contains(rec.Body.String(), `"error":"temporarily_unavailable"`) {
		t.Errorf("body = %s", rec.Body)
	}
}

func TestMiddlewarePanicsOnMisuse(t *testing.T) {
	_, v := newIssuerVerifier(t, newClock(), rs.Config{})
	m := rs.NewMiddleware(v, rs.MiddlewareOptions{})
	for name, f := range map[string]func(){
		"RequireAll without scopes":          func() { m.RequireAll() },
		"RequireAny without scopes":          func() { m.RequireAny() },
		"RFC 6749 §3.3 scope with a space":   func() { m.RequireScope("read:transactions write:settings") },
		"RFC 6749 §3.3 empty scope":          func() { m.RequireScope("") },
		"RequireActive without introspector": func() { m.RequireActive(okHandler(t)) },
		"NewMiddleware without verifier":     func() { rs.NewMiddleware(nil, rs.MiddlewareOptions{}) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}

func TestFromContext(t *testing.T) {
	if _, ok := rs.FromContext(t.Context()); ok {
		t.Error("empty context has a token")
	}
	tok := &rs.Token{Subject: "s"}
	got, ok := rs.FromContext(rs.NewContext(t.Context(), tok))
	if !ok || got != tok {
		t.Error("NewContext/FromContext round trip")
	}
	if _, ok := rs.FromContext(rs.NewContext(t.Context(), nil)); ok {
		t.Error("nil token reported present")
	}
}
