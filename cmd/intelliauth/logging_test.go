package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeLogsThroughTheRedactingLogger (issue 9 seam "production logs
// are not the redacting logger"): serve's own stderr, with the access log
// switched on by INTELLIAUTH_ACCESS_LOG and debug level, has one access
// line per request carrying request_id, method, path, status and tenant,
// and neither the client secret (right or wrong), the Authorization header
// nor the token it issued.
func TestServeLogsThroughTheRedactingLogger(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	addrc := make(chan string, 1)
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, _, errOut := runCLICtx(ctx, map[string]string{"INTELLIAUTH_ACCESS_LOG": "true"}, func(a string) { addrc <- a },
			"serve", "--demo", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "debug")
		done <- result{code, errOut}
	}()
	select {
	case <-addrc:
	case r := <-done:
		t.Fatalf("serve exited early with %d:\n%s", r.code, r.stderr)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	d := readDemo(t, dataDir)
	rj, _ := d.App("reporting-job")
	status, body := getToken(t, d.Issuer, rj.ClientID, rj.ClientSecret, "api.banking.example.com", "read:transactions")
	access, _ := body["access_token"].(string)
	if status != 200 || access == "" {
		t.Fatalf("token: %d %v", status, body)
	}
	wrong := "wrong-" + rj.ClientSecret[:8] + "-Qx7"
	if status, _ := getToken(t, d.Issuer, rj.ClientID, wrong, "api.banking.example.com", "read:transactions"); status != 401 {
		t.Fatalf("wrong secret: %d", status)
	}
	cancel()
	r := <-done
	if r.code != 0 {
		t.Fatalf("serve exited with %d:\n%s", r.code, r.stderr)
	}

	for what, secret := range map[string]string{
		"client secret": rj.ClientSecret, "wrong secret": wrong, "access token": access,
		"Authorization header": base64.StdEncoding.EncodeToString([]byte(rj.ClientID + ":" + rj.ClientSecret)),
	} {
		if strings.Contains(r.stderr, secret) {
			t.Errorf("the %s reached serve's log", what)
		}
	}
	var tokenLines int
	sc := bufio.NewScanner(strings.NewReader(r.stderr))
	for sc.Scan() {
		var l map[string]any
		if json.Unmarshal(sc.Bytes(), &l) != nil || l["msg"] != "request" {
			continue
		}
		if l["path"] == "/t/banking/oauth2/token" {
			tokenLines++
			if id, _ := l["request_id"].(string); id == "" || l["method"] != "POST" || l["tenant"] != "banking" || l["status"] == nil {
				t.Errorf("access line lacks a field: %v", l)
			}
		}
	}
	if tokenLines != 2 {
		t.Errorf("%d access lines for the two token requests, want 2:\n%s", tokenLines, r.stderr)
	}
}
