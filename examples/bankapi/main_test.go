package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

func token(t *testing.T, issuer string, c servertest.Client, audience, scope string) string {
	t.Helper()
	cfg := clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: issuer + "/oauth2/token", Scopes: strings.Fields(scope)}
	if audience != "" {
		cfg.EndpointParams = url.Values{"audience": {audience}}
	}
	tok, err := cfg.Token(t.Context())
	if err != nil {
		t.Fatalf("token for %s %q: %v", audience, scope, err)
	}
	return tok.AccessToken
}

// TestBankAPI runs the example against a real IntelliAuth node, the way
// the README walks through it.
func TestBankAPI(t *testing.T) {
	env := servertest.Start(t)
	b := env.Seed(t, "banking")
	iss := env.Issuer("banking")

	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() {
		done <- run(ctx, config{Issuer: iss, Audience: "api.banking.example.com", Addr: "127.0.0.1:0"}, logger, ready)
	}()
	var base string
	select {
	case addr := <-ready:
		base = "http://" + addr
	case err := <-done:
		t.Fatalf("run: %v", err)
	}

	read := token(t, iss, b.Reporting, "api.banking.example.com", "read:transactions")
	if _, err := env.Admin.AddAllowedScopes(t.Context(), admin.CLI(), "banking", "reporting-job", []string{"write:settings", "read:records"}, 0); err != nil {
		t.Fatal(err)
	}
	write := token(t, iss, b.Reporting, "api.banking.example.com", "write:settings")
	health := token(t, iss, b.Reporting, "api.health.example.com", "read:records")
	platform := token(t, iss, b.Reporting, "", "users:read")

	for _, tc := range []struct {
		name, method, path, tok, body string
		status                        int
		wwwAuth                       string
		wantBody                      string // substring, or exact when exact is set
		exact                         bool
	}{
		{"RFC 6750 §2.1 GET /transactions with read:transactions → 200", "GET", "/transactions", read, "", 200, "", `"subject":"reporting-job"`, false},
		{"RFC 6750 §3.1 POST /settings with only read:transactions → 403", "POST", "/settings", read, `{"language":"en"}`, 403,
			`Bearer realm="api.banking.example.com", error="insufficient_scope", scope="write:settings"`,
			`{"error":"insufficient_scope","required":"write:settings"}`, true},
		{"RFC 6750 §2.1 POST /settings with write:settings → 200", "POST", "/settings", write, `{"language":"en"}`, 200, "", `"language":"en"`, false},
		{"RFC 6750 §3.1 GET /transactions with write:settings only → 403", "GET", "/transactions", write, "", 403,
			`Bearer realm="api.banking.example.com", error="insufficient_scope", scope="read:transactions"`,
			`{"error":"insufficient_scope","required":"read:transactions"}`, true},
		{"RFC 9068 §4 token for api.health.example.com → 401", "GET", "/transactions", health, "", 401,
			`Bearer realm="api.banking.example.com", error="invalid_token", error_description="the access token is not for this API"`,
			`"error":"invalid_token"`, false},
		{"RFC 9068 §4 token for the platform API → 401", "GET", "/transactions", platform, "", 401,
			`Bearer realm="api.banking.example.com", error="invalid_token", error_description="the access token is not for this API"`,
			`"error":"invalid_token"`, false},
		{"RFC 6750 §3.1 no token → 401 without error code", "GET", "/transactions", "", "", 401, `Bearer realm="api.banking.example.com"`, "", true},
		{"unknown route → 404", "GET", "/nope", read, "", 404, "", "", false},
		{"bad settings body → 400", "POST", "/settings", write, `{"colour":"red"}`, 400, "", `"error":"invalid_request"`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, base+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.tok != "" {
				req.Header.Set("Authorization", "Bearer "+tc.tok)
			}
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := servertest.HTTPClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tc.status, body)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != tc.wwwAuth {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.wwwAuth)
			}
			if tc.exact && string(body) != tc.wantBody || !tc.exact && !strings.Contains(string(body), tc.wantBody) {
				t.Errorf("body = %s, want %s", body, tc.wantBody)
			}
			if resp.StatusCode == 200 {
				var v map[string]any
				if err := json.Unmarshal(body, &v); err != nil {
					t.Errorf("body is not JSON: %v", err)
				}
			}
		})
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("graceful shutdown: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancellation")
	}
}

func TestRunIssuerUnreachable(t *testing.T) {
	err := run(t.Context(), config{Issuer: "http://127.0.0.1:1/t/banking", Audience: "a", Addr: "127.0.0.1:0"}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err == nil || !strings.Contains(err.Error(), "serve --demo") {
		t.Errorf("err = %v, want a hint to start the server", err)
	}
}

func TestParseConfig(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }

	c, err := parseConfig(nil, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != defaultIssuer || c.Audience != defaultAudience || c.Addr != defaultAddr || c.LogLevel != slog.LevelInfo {
		t.Errorf("defaults = %+v", c)
	}

	env["BANKAPI_ISSUER"] = "https://auth.example.com/t/acme"
	env["BANKAPI_ADDR"] = ":9999"
	env["BANKAPI_LOG_LEVEL"] = "debug"
	c, err = parseConfig([]string{"-addr", "127.0.0.1:7000"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != "https://auth.example.com/t/acme" || c.Addr != "127.0.0.1:7000" || c.LogLevel != slog.LevelDebug {
		t.Errorf("env + flag = %+v (the flag must win over the env)", c)
	}

	for _, args := range [][]string{{"-log-level", "loud"}, {"extra"}, {"-nope"}} {
		if _, err := parseConfig(args, getenv, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
