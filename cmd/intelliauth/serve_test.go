package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
)

// serveDemo starts serve --demo on listen (e.g. 127.0.0.1:0) in-process and returns the
// address, a stop function (SIGTERM's equivalent: cancel the context) that
// returns the exit code, and what serve printed.
func serveDemo(t *testing.T, dataDir, listen string) (addr string, stop func() int, stdout func() string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	addrc := make(chan string, 1)
	type result struct {
		code        int
		out, errOut string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errOut := runCLICtx(ctx, map[string]string{}, func(a string) { addrc <- a },
			"serve", "--demo", "--addr", listen, "--data-dir", dataDir)
		done <- result{code, out, errOut}
	}()
	var r *result
	select {
	case addr = <-addrc:
	case res := <-done:
		cancel()
		t.Fatalf("serve exited early with %d:\n%s\n%s", res.code, res.out, res.errOut)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("serve did not start")
	}
	stop = func() int {
		cancel()
		res := <-done
		r = &res
		if res.code != 0 {
			t.Logf("serve stderr:\n%s", res.errOut)
		}
		return res.code
	}
	stdout = func() string {
		if r == nil {
			stop()
		}
		return r.out
	}
	return addr, stop, stdout
}

func readDemo(t *testing.T, dataDir string) admin.Demo {
	t.Helper()
	path := filepath.Join(dataDir, "demo.json")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("demo.json has mode %#o, want 0600 (it holds secrets)", fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d admin.Demo
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// getToken runs the demo's curl as Go: client_secret_basic, audience, scope.
func getToken(t *testing.T, issuer, clientID, secret, audience, scope string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "audience": {audience}, "scope": {scope}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, issuer+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func TestServeDemo(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data") // created by serve
	addr, stop, stdout := serveDemo(t, dataDir, "127.0.0.1:0")
	port := addr[strings.LastIndexByte(addr, ':')+1:]

	d := readDemo(t, dataDir)
	if d.Issuer != "http://localhost:"+port+"/t/banking" {
		t.Fatalf("issuer %q does not carry the listening port %s", d.Issuer, port)
	}
	if len(d.APIs) != 2 || d.APIs[0].Identifier != "api.banking.example.com" || d.APIs[1].Identifier != "api.health.example.com" {
		t.Fatalf("apis = %+v", d.APIs)
	}
	rj, ok := d.App("reporting-job")
	if !ok || rj.ClientSecret == "" || rj.ScopePolicy != "strict" || strings.Join(rj.AllowedScopes, " ") != "audit:read read:transactions users:read" {
		t.Fatalf("reporting-job = %+v", rj)
	}
	lb, ok := d.App("legacy-batch")
	if !ok || lb.ScopePolicy != "permissive" || strings.Join(lb.AllowedScopes, " ") != "read:transactions" {
		t.Fatalf("legacy-batch = %+v", lb)
	}
	if fi, err := os.Stat(filepath.Join(dataDir, "master.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("demo master key: %v", err)
	}

	// The printed curl works (the issuer's localhost is our 127.0.0.1 listener).
	issuer := "http://" + addr + "/t/banking"
	code, body := getToken(t, issuer, rj.ClientID, rj.ClientSecret, "api.banking.example.com", "read:transactions")
	if code != http.StatusOK || body["access_token"] == nil || body["scope"] != "read:transactions" {
		t.Fatalf("token request: %d %v", code, body)
	}
	code, body = getToken(t, issuer, lb.ClientID, lb.ClientSecret, "api.banking.example.com", "read:transactions payments:approve")
	if code != http.StatusOK || body["scope"] != "read:transactions" {
		t.Fatalf("permissive app must get the allowed part: %d %v", code, body)
	}

	if code := stop(); code != 0 {
		t.Fatalf("graceful shutdown: exit %d", code)
	}
	out := stdout()
	for _, want := range []string{d.Issuer, "reporting-job", rj.ClientSecret, "curl -s -u 'reporting-job:" + rj.ClientSecret + "'", "audience=api.banking.example.com", "demo.json"} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}

	// A restart keeps the tenant and the printed secrets. (Same port: the
	// port is part of the demo issuer.)
	_, stop2, _ := serveDemo(t, dataDir, addr)
	if code := stop2(); code != 0 {
		t.Fatalf("second run: exit %d", code)
	}
	d2 := readDemo(t, dataDir)
	if rj2, _ := d2.App("reporting-job"); rj2.ClientSecret != rj.ClientSecret {
		t.Fatal("a restart must reuse the secrets of demo.json")
	}
}
