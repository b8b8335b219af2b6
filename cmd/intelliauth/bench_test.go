package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
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

func TestParseProcStat(t *testing.T) {
	// proc(5): utime and stime are fields 14 and 15, in clock ticks; the
	// command name may hold spaces and parentheses.
	line := "4242 (intelli auth) (x)) S 1 4242 4242 0 -1 4194560 1200 0 0 0 250 75 0 0 20 0 8 0 1234 1000000 500 18446744073709551615\n"
	got, err := parseProcStat(line)
	if err != nil || got != 3250*time.Millisecond {
		t.Fatalf("parseProcStat = %v, %v; want 3.25s", got, err)
	}
	for _, bad := range []string{"", "4242 intelliauth S 1", "4242 (x) S 1 2 3", "4242 (x) S 1 4242 4242 0 -1 4194560 1200 0 0 0 -5 75 0"} {
		if _, err := parseProcStat(bad); err == nil {
			t.Errorf("parseProcStat(%q) accepted", bad)
		}
	}
	if _, err := processCPU(os.Getpid()); err != nil {
		t.Fatalf("own process: %v", err)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 4, 2, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestIsActive(t *testing.T) {
	for body, want := range map[string]bool{
		`{"active":true,"scope":"a"}`: true,
		`{"active" : true}`:           true,
		`{"active":false}`:            false,
		`{"error":"invalid_client"}`:  false,
		`{"active":"true"}`:           false,
	} {
		if got := isActive([]byte(body)); got != want {
			t.Errorf("isActive(%s) = %v", body, got)
		}
	}
}

// TestBenchRoundsAndServerCPU runs bench in both modes with several rounds
// against a fake server in this very process, so --server-pid is this
// test's PID and its CPU is real: the output carries the medians, each
// round, the server's CPU per operation and the signing ceiling.
func TestBenchRoundsAndServerCPU(t *testing.T) {
	var introspected atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/t/banking/oauth2/token":
			_, _ = w.Write([]byte(`{"access_token":"eyJhbGciOiJFUzI1NiJ9.e30.sig","token_type":"Bearer","expires_in":3600}`))
		case "/t/banking/oauth2/introspect":
			if id, _, ok := r.BasicAuth(); !ok || id != "reporting-job" || r.PostFormValue("token") != "eyJhbGciOiJFUzI1NiJ9.e30.sig" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			introspected.Add(1)
			// Burn a little CPU so the server's share is measurable.
			x := 0
			for i := range 20000 {
				x += i * i
			}
			_, _ = w.Write([]byte(`{"active":true,"scope":"read:transactions","n":` + strconv.Itoa(x%7) + `}`))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	pid := strconv.Itoa(os.Getpid())
	args := []string{"bench", "--url", srv.URL + "/t/banking", "--client-id", "reporting-job", "--client-secret", "s",
		"--concurrency", "4", "--duration", "300ms", "--warmup", "50ms", "--sign-duration", "100ms", "--runs", "3", "--server-pid", pid}

	var res BenchResult
	mustJSON(t, &res, nil, append(args, "--mode", "introspect", "--output", "json")...)
	if res.Mode != "introspect" || !strings.HasSuffix(res.TokenURL, "/oauth2/introspect") || res.Runs != 3 || len(res.Rounds) != 3 ||
		res.Tokens == 0 || len(res.Errors) != 0 || introspected.Load() == 0 {
		t.Fatalf("introspect result %+v", res)
	}
	if res.ServerCPUMicros <= 0 || res.ServerCores <= 0 || res.SignsPerS <= 0 || res.Ratio <= 0 {
		t.Fatalf("CPU / signing figures missing: %+v", res)
	}
	var tps []float64
	for _, r := range res.Rounds {
		tps = append(tps, r.TokensPerS)
	}
	if res.TokensPerS != median(tps) {
		t.Fatalf("reported %v, median of rounds %v is %v", res.TokensPerS, tps, median(tps))
	}

	code, out, errOut := runCLI(t, nil, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"× 3 rounds (figures are medians)", "server CPU ", "µs per operation", "cores busy", "ES256 signing", "ratio         ", "tokens/s ÷ signs/s", "rounds           ops/s"} {
		if !strings.Contains(out, want) {
			t.Errorf("table output lacks %q:\n%s", want, out)
		}
	}
	if n := bytes.Count([]byte(out), []byte("\n              ")); n != 3 {
		t.Errorf("%d round lines, want 3:\n%s", n, out)
	}

	// A PID that is not there is refused before any load.
	code, _, errOut = runCLI(t, nil, "bench", "--url", srv.URL+"/t/banking", "--client-id", "a", "--client-secret", "b", "--server-pid", "999999999", "--runs", "0", "--mode", "x")
	if code != 2 || !strings.Contains(errOut, "--server-pid 999999999") || !strings.Contains(errOut, "--runs") || !strings.Contains(errOut, "--mode") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}
