package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
)

func TestHasAccessToken(t *testing.T) {
	for body, want := range map[string]bool{
		`{"access_token":"eyJ","token_type":"Bearer"}`:  true,
		`{"access_token" : "x"}`:                        true,
		`{"access_token":""}`:                           false,
		`{"error":"invalid_client"}`:                    false,
		`{"token_type":"Bearer","access_token":null}`:   false,
		`{"note":"\"access_token\" missing","x":"eyJ"}`: false,
	} {
		if got := hasAccessToken([]byte(body)); got != want {
			t.Errorf("hasAccessToken(%s) = %v", body, got)
		}
	}
}

func TestBenchAgainstFakeServer(t *testing.T) {
	var calls, badAuth atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		id, secret, ok := r.BasicAuth()
		if r.URL.Path != "/t/banking/oauth2/token" || r.Method != http.MethodPost || !ok || id != "reporting-job" || secret != "s3cret" ||
			r.PostFormValue("grant_type") != "client_credentials" || r.PostFormValue("audience") != "api.banking.example.com" {
			badAuth.Add(1)
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"eyJhbGciOiJFUzI1NiJ9.e30.sig","token_type":"Bearer","expires_in":3600}`))
	}))
	defer srv.Close()

	// Take the target from a demo.json, as scripts do.
	dir := t.TempDir()
	demo := `{"issuer":"` + srv.URL + `/t/banking","apis":[],"applications":[{"client_id":"reporting-job","client_secret":"s3cret","type":"m2m","redirect_uris":[],"allowed_scopes":[],"scope_policy":"strict"}],"users":[]}`
	if err := os.WriteFile(dir+"/demo.json", []byte(demo), 0o600); err != nil {
		t.Fatal(err)
	}
	var res BenchResult
	mustJSON(t, &res, nil, "bench", "--demo-file", dir+"/demo.json", "--concurrency", "4", "--duration", "300ms", "--warmup", "50ms", "--sign-duration", "200ms", "--output", "json")
	if res.Tokens == 0 || res.TokensPerS <= 0 || len(res.Errors) != 0 || badAuth.Load() != 0 {
		t.Fatalf("result %+v (bad requests %d)", res, badAuth.Load())
	}
	if res.P50Ms <= 0 || res.P99Ms < res.P50Ms || res.MaxMs < res.P99Ms {
		t.Fatalf("latencies %+v", res)
	}
	if res.SignsPerS <= 0 || res.Ratio <= 0 || res.Cores < 1 {
		t.Fatalf("signing %+v", res)
	}

	// Wrong secret: errors are counted apart and the command fails.
	code, out, errOut := runCLI(t, nil, "bench", "--url", srv.URL+"/t/banking", "--client-id", "reporting-job", "--client-secret", "wrong",
		"--concurrency", "2", "--duration", "100ms", "--warmup", "0s", "--sign-duration", "50ms")
	if code != 1 || !strings.Contains(out, "HTTP 401") || !strings.Contains(errOut, "no token was issued") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestBenchRefusesRemoteTargets(t *testing.T) {
	code, _, errOut := runCLI(t, nil, "bench", "--url", "https://auth.example.com/t/x", "--client-id", "a", "--client-secret", "b")
	if code != 2 || !strings.Contains(errOut, "--allow-remote") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	code, _, errOut = runCLI(t, nil, "bench")
	if code != 2 || !strings.Contains(errOut, "--url") || !strings.Contains(errOut, "--client-id") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}
