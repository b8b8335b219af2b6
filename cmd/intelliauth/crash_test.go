package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store/sqlite"
)

// TestKill9LosesNoAcknowledgedToken runs the real binary on SQLite, drives
// client-credentials requests at it and kills it with SIGKILL mid-load. Every
// token a client received must have its token_issued event in the database
// afterwards (PRODUCT.md §9: a token is returned only after its audit event
// is durably committed).
func TestKill9LosesNoAcknowledgedToken(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "intelliauth")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	data := filepath.Join(dir, "data")
	srv := exec.Command(bin, "serve", "--demo", "--data-dir", data, "--addr", addr)
	srv.Stdout, srv.Stderr = nil, nil
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })

	var demo struct {
		Issuer       string `json:"issuer"`
		Applications []struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		} `json:"applications"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		raw, err := os.ReadFile(filepath.Join(data, "demo.json"))
		if err == nil && json.Unmarshal(raw, &demo) == nil && demo.Issuer != "" {
			if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("server did not come up")
		}
		time.Sleep(50 * time.Millisecond)
	}
	var id, secret string
	for _, a := range demo.Applications {
		if a.ClientID == "reporting-job" {
			id, secret = a.ClientID, a.ClientSecret
		}
	}
	endpoint := "http://" + addr + "/t/banking/oauth2/token"
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"read:transactions"}, "audience": {"api.banking.example.com"}}.Encode()

	var mu sync.Mutex
	var jtis []string
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for range 16 {
		wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(id, secret)
				resp, err := client.Do(req)
				if err != nil {
					return // killed
				}
				var body struct {
					AccessToken string `json:"access_token"`
				}
				err = json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				if err != nil || body.AccessToken == "" {
					continue // cut off mid-response: not acknowledged
				}
				jti := servertest.JTI(t, body.AccessToken)
				mu.Lock()
				jtis = append(jtis, jti)
				mu.Unlock()
			}
		})
	}
	time.Sleep(700 * time.Millisecond)
	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = srv.Wait()
	stop()
	wg.Wait()
	if len(jtis) == 0 {
		t.Fatal("no token issued before the kill")
	}

	db, err := sqlite.Open(t.Context(), filepath.Join(data, "intelliauth.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	logged := servertest.AuditedJTIs(t, db, "banking")
	for _, j := range jtis {
		if !logged[j] {
			t.Fatalf("token %s was acknowledged but its token_issued event is gone after kill -9", j)
		}
	}
	t.Logf("%d tokens acknowledged before kill -9, all audited (%d events on disk)", len(jtis), len(logged))
}
