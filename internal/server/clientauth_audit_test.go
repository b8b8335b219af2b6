package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/intelliauth/intelliauth/internal/audit"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store"
)

// authFailure is the details document of oauth.client_authentication_failed.
type authFailure struct {
	ClientID        string `json:"client_id"`
	Method          string `json:"method"`
	Reason          string `json:"reason"`
	Peer            string `json:"peer"`
	Endpoint        string `json:"endpoint"`
	Suppressed      int64  `json:"suppressed"`
	SuppressedOther int64  `json:"suppressed_other"`
}

// searchAuthFailures finds the tenant's oauth.client_authentication_failed
// events of clientID through GET /api/v1/audit, as an operator would, with a
// token of reporting-job (which holds audit:read).
func searchAuthFailures(t *testing.T, env *servertest.Env, b servertest.Banking, clientID string) []authFailure {
	t.Helper()
	resp, tok := tokenCall{basic: &b.Reporting, body: "grant_type=client_credentials&scope=audit:read"}.do(t, env.Issuer("banking")+"/oauth2/token")
	if resp.StatusCode != 200 {
		t.Fatalf("audit:read token: %d %v", resp.StatusCode, tok)
	}
	q := url.Values{"type": {model.EventClientAuthFailed}, "client_id": {clientID}, "limit": {"500"}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, env.Issuer("banking")+"/api/v1/audit?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+tok["access_token"].(string))
	res, err := servertest.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var page struct {
		Items []struct {
			Type     string          `json:"type"`
			ClientID string          `json:"client_id"`
			Details  json.RawMessage `json:"details"`
		} `json:"items"`
	}
	if res.StatusCode != 200 {
		t.Fatalf("GET /api/v1/audit: %d", res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	var out []authFailure
	for _, it := range page.Items {
		var d authFailure
		if err := json.Unmarshal(it.Details, &d); err != nil {
			t.Fatalf("details %s: %v", it.Details, err)
		}
		if it.Type != model.EventClientAuthFailed || it.ClientID != clientID || d.ClientID != clientID {
			t.Errorf("search for %s of %q returned %s of %q (details %q)", model.EventClientAuthFailed, clientID, it.Type, it.ClientID, d.ClientID)
		}
		out = append(out, d)
	}
	return out
}

// Defect 9: a wrong secret for a known client, or an unknown client, left
// no audit event.
func TestClientAuthenticationFailureIsAudited(t *testing.T) {
	env := servertest.Start(t)
	b := env.Seed(t, "banking")
	cc := "grant_type=client_credentials&scope=read:transactions&audience=api.banking.example.com"

	cases := []struct {
		name     string
		call     tokenCall
		endpoint string
		clientID string
		want     authFailure
	}{
		{
			name:     "RFC 6749 §5.2 wrong secret via Basic → 401 invalid_client, audited as wrong_secret",
			call:     tokenCall{basic: &servertest.Client{ID: b.Reporting.ID, Secret: "not-the-secret"}, body: cc},
			endpoint: "/oauth2/token", clientID: b.Reporting.ID,
			want: authFailure{Method: "client_secret_basic", Reason: "wrong_secret", Endpoint: "token"},
		},
		{
			name:     "RFC 7662 §2.1 unknown client via client_secret_post at introspection → 401 invalid_client, audited as unknown_client",
			call:     tokenCall{body: "client_id=ghost-app&client_secret=whatever&token=abc"},
			endpoint: "/oauth2/introspect", clientID: "ghost-app",
			want: authFailure{Method: "client_secret_post", Reason: "unknown_client", Endpoint: "introspect"},
		},
		{
			name:     "RFC 7009 §2.1 unknown public client at revocation → 401 invalid_client, audited as unknown_client",
			call:     tokenCall{body: "client_id=nobody-spa&token=abc"},
			endpoint: "/oauth2/revoke", clientID: "nobody-spa",
			want: authFailure{Method: "none", Reason: "unknown_client", Endpoint: "revoke"},
		},
		{
			name:     "RFC 6749 §2.3.1 confidential client without its secret → 401 invalid_client, audited as missing_secret",
			call:     tokenCall{body: cc + "&client_id=" + b.Legacy.ID},
			endpoint: "/oauth2/token", clientID: b.Legacy.ID,
			want: authFailure{Method: "none", Reason: "missing_secret", Endpoint: "token"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := c.call.do(t, env.Issuer("banking")+c.endpoint)
			if resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_client" {
				t.Fatalf("status %d, body %v; want 401 invalid_client", resp.StatusCode, body)
			}
			evs := searchAuthFailures(t, env, b, c.clientID)
			if len(evs) != 1 {
				t.Fatalf("%d oauth.client_authentication_failed events for %q, want 1", len(evs), c.clientID)
			}
			want := c.want
			want.ClientID, want.Peer = c.clientID, "127.0.0.1"
			if evs[0] != want {
				t.Errorf("event details = %+v, want %+v", evs[0], want)
			}
		})
	}
}

// Defect 9: the event must not let a flood grow the log without bound, and
// the written events must still count every failure.
func TestClientAuthenticationFailureFloodIsBoundedAndCounted(t *testing.T) {
	env := servertest.Start(t)
	b := env.Seed(t, "banking")
	ctx := t.Context()
	tokenURL := env.Issuer("banking") + "/oauth2/token"
	body := "grant_type=client_credentials&scope=read:transactions&audience=api.banking.example.com"

	var attempts atomic.Int64
	flood := func(t *testing.T, n int, id func(i int) string) {
		t.Helper()
		var wg sync.WaitGroup
		next := make(chan int)
		var bad atomic.Int64
		for range 50 {
			wg.Go(func() {
				for i := range next {
					if code := badBasic(ctx, tokenURL, id(i), body); code != http.StatusUnauthorized {
						bad.Add(1)
					}
					attempts.Add(1)
				}
			})
		}
		for i := range n {
			next <- i
		}
		close(next)
		wg.Wait()
		if bad.Load() > 0 {
			t.Fatalf("%d of %d bad attempts did not get 401", bad.Load(), n)
		}
	}
	events := func(t *testing.T) []authFailure {
		t.Helper()
		evs, err := env.Store.Audit().Search(ctx, store.AuditQuery{TenantID: "banking", Type: model.EventClientAuthFailed, Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		out := make([]authFailure, len(evs))
		for i, e := range evs {
			if err := json.Unmarshal(e.Details, &out[i]); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	counted := func(evs []authFailure) (n int64) {
		for _, e := range evs {
			n += 1 + e.Suppressed + e.SuppressedOther
		}
		return n
	}

	// One client, one peer, within one window: one event.
	flood(t, 1000, func(int) string { return b.Legacy.ID })
	if evs := events(t); len(evs) != 1 || evs[0].Reason != "wrong_secret" {
		t.Fatalf("1000 wrong secrets for one client from one peer wrote %d events, want 1 with reason wrong_secret", len(evs))
	}
	// Many client IDs: the per-tenant cap bounds the events.
	flood(t, 1000, func(i int) string { return fmt.Sprint("bot-", i) })
	if evs := events(t); len(evs) > audit.DefaultThrottlePerTenant {
		t.Fatalf("2000 failures in one window wrote %d events, want at most the tenant cap %d", len(evs), audit.DefaultThrottlePerTenant)
	}
	// Two windows later the next failure hands on every count not yet written.
	env.Clock.Advance(3 * audit.DefaultThrottleWindow)
	flood(t, 1, func(int) string { return b.Legacy.ID })
	evs := events(t)
	if len(evs) > audit.DefaultThrottlePerTenant+1 {
		t.Errorf("%d events, want at most %d", len(evs), audit.DefaultThrottlePerTenant+1)
	}
	if got, want := counted(evs), attempts.Load(); got != want {
		t.Errorf("the events count %d failures, want all %d", got, want)
	}
}

// badBasic posts body with Basic credentials id:wrong and returns the
// status (0 if the request failed).
func badBasic(ctx context.Context, endpoint, id, body string) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), "wrong")
	resp, err := servertest.HTTPClient().Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
