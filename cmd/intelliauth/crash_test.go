package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

	"golang.org/x/oauth2"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/store/postgres"
	"github.com/intelliauth/intelliauth/internal/store/sqlite"
)

// TestKill9LosesNoAcknowledgedToken runs the real binary, drives
// client-credentials requests and refresh-token rotations at it, and kills
// it with SIGKILL mid-load, on SQLite and (when INTELLIAUTH_TEST_POSTGRES is
// set) PostgreSQL.
//
//   - Every token a client received must have its token_issued event in the
//     database afterwards (PRODUCT.md §9: a token is returned only after its
//     audit event is durably committed).
//   - After a restart, the last refresh token each client received is
//     redeemable exactly once (RFC 6749 §6), and a refresh that got no 200
//     left the token it presented usable — unless the server committed that
//     refresh, with its token_issued event, and was killed before the
//     response left: the one window no server can close, which the test
//     tells apart by the event in the database.
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
	t.Run("sqlite", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "data")
		kill9(t, bin, data, nil, func(t *testing.T) store.Store {
			db, err := sqlite.Open(t.Context(), filepath.Join(data, "intelliauth.db"))
			if err != nil {
				t.Fatal(err)
			}
			return db
		})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := os.Getenv(servertest.PostgresEnv)
		if dsn == "" {
			t.Skip("set " + servertest.PostgresEnv + " to run against PostgreSQL")
		}
		dsn = servertest.PostgresSchema(t, dsn)
		kill9(t, bin, filepath.Join(t.TempDir(), "data"), []string{"--database", dsn}, func(t *testing.T) store.Store {
			db, err := postgres.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			return db
		})
	})
}

// rotation is one client's refresh-token family as the client saw it.
type rotation struct {
	current string // the last refresh token received with a 200
	acked   int    // refreshes answered with a 200 before the kill
	lost    bool   // the last refresh got no 200
}

func kill9(t *testing.T, bin, data string, extra []string, open func(*testing.T) store.Store) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv, demo := startNode(t, bin, data, addr, extra)

	var id, secret string
	for _, a := range demo.Applications {
		if a.ClientID == "reporting-job" {
			id, secret = a.ClientID, a.ClientSecret
		}
	}
	endpoint := demo.Issuer + "/oauth2/token"
	ccForm := url.Values{"grant_type": {"client_credentials"}, "scope": {"read:transactions"}, "audience": {"api.banking.example.com"}}.Encode()

	// Each refresh worker holds a family of its own, from a code flow.
	families := make([]*rotation, 6)
	br := servertest.NewBrowser(t)
	iss, err := url.Parse(demo.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	for i := range families {
		families[i] = &rotation{current: demoRefreshToken(t, br, iss.Scheme+"://"+iss.Host, demo)}
	}

	var mu sync.Mutex
	var jtis []string
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	post := func(form string, basic bool) (int, map[string]any, error) {
		req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basic {
			req.SetBasicAuth(id, secret)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			return resp.StatusCode, nil, err // cut off mid-response: not acknowledged
		}
		return resp.StatusCode, body, nil
	}
	for range 10 {
		wg.Go(func() {
			for ctx.Err() == nil {
				status, body, err := post(ccForm, true)
				if err != nil && status == 0 {
					return // killed
				}
				at, _ := body["access_token"].(string)
				if err != nil || status != 200 || at == "" {
					continue
				}
				jti := servertest.JTI(t, at)
				mu.Lock()
				jtis = append(jtis, jti)
				mu.Unlock()
			}
		})
	}
	for _, f := range families {
		wg.Go(func() {
			for ctx.Err() == nil {
				status, body, err := post(refreshForm(f.current), false)
				next, _ := body["refresh_token"].(string)
				if err != nil || status != 200 || next == "" {
					if err == nil {
						t.Errorf("refresh before the kill: %d %v", status, body)
					}
					f.lost = true
					return
				}
				f.current = next
				f.acked++
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

	// After a restart, each family's last token redeems exactly once.
	srv, _ = startNode(t, bin, data, addr, extra)
	redeemed := make([]bool, len(families))
	for i, f := range families {
		status, body, err := post(refreshForm(f.current), false)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case status == 200:
			redeemed[i] = true
			if status, body, _ := post(refreshForm(f.current), false); status != 400 || body["error"] != "invalid_grant" {
				t.Errorf("family %d: its last token redeemed twice after the restart: %d %v", i, status, body)
			}
		case f.lost && body["error_description"] == "the refresh token was already used":
			// Committed, then killed before the response: checked below.
		default:
			t.Errorf("family %d (%d refreshes acknowledged, last lost: %v): the last token it received does not work after the restart: %d %v",
				i, f.acked, f.lost, status, body)
		}
	}
	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = srv.Wait()

	db := open(t)
	defer db.Close()
	logged := servertest.AuditedJTIs(t, db, admin.DemoTenantID)
	for _, j := range jtis {
		if !logged[j] {
			t.Fatalf("token %s was acknowledged but its token_issued event is gone after kill -9", j)
		}
	}
	refreshes := refreshesByFamily(t, db)
	lostCommitted, lostUsable := 0, 0
	for i, f := range families {
		tok, err := db.RefreshTokens().Get(t.Context(), admin.DemoTenantID, hashToken(f.current))
		if err != nil {
			t.Fatalf("family %d: its last acknowledged token is gone after kill -9: %v", i, err)
		}
		// One token_issued per rotation: the acknowledged ones, and either
		// the redemption after the restart or the lost one that committed.
		// A rotation without its event, or an event without its rotation,
		// breaks the count.
		if got, want := refreshes[tok.FamilyID], f.acked+1; got != want {
			t.Errorf("family %d: %d refresh token_issued events, want %d (%d acknowledged, lost %v, redeemed after restart %v)",
				i, got, want, f.acked, f.lost, redeemed[i])
		}
		switch {
		case f.lost && redeemed[i]:
			lostUsable++
		case f.lost:
			lostCommitted++
		}
	}
	t.Logf("%d tokens acknowledged before kill -9, all audited (%d events on disk); %d refresh families: %d refreshes cut off by the kill left their token usable, %d had committed before the response was lost",
		len(jtis), len(logged), len(families), lostUsable, lostCommitted)
}

// startNode starts the binary in demo mode on addr and waits until it is
// ready; it is killed at the end of the test at the latest.
func startNode(t *testing.T, bin, data, addr string, extra []string) (*exec.Cmd, admin.Demo) {
	t.Helper()
	args := append([]string{"serve", "--demo", "--data-dir", data, "--addr", addr}, extra...)
	srv := exec.Command(bin, args...)
	srv.Stdout, srv.Stderr = nil, nil
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })

	var demo admin.Demo
	deadline := time.Now().Add(30 * time.Second)
	for {
		raw, err := os.ReadFile(filepath.Join(data, "demo.json"))
		if err == nil && json.Unmarshal(raw, &demo) == nil && demo.Issuer != "" {
			if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return srv, demo
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("server did not come up")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// demoRefreshToken signs the demo's first user in to the demo SPA (the
// browser keeps the session and the consent) and returns the refresh token
// of a new family.
func demoRefreshToken(t *testing.T, br *servertest.Browser, base string, demo admin.Demo) string {
	t.Helper()
	var spa admin.DemoApplication
	for _, a := range demo.Applications {
		if a.ClientID == admin.DemoSPAClientID {
			spa = a
		}
	}
	if len(spa.RedirectURIs) == 0 || len(demo.Users) == 0 {
		t.Fatalf("the demo has no SPA or no user: %+v", demo)
	}
	cfg := &oauth2.Config{
		ClientID: spa.ClientID, RedirectURL: spa.RedirectURIs[0],
		Scopes:   []string{"openid", "offline_access", "read:transactions"},
		Endpoint: oauth2.Endpoint{AuthURL: demo.Issuer + "/oauth2/authorize", TokenURL: demo.Issuer + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams},
	}
	verifier := oauth2.GenerateVerifier()
	p := br.Visit(base, cfg.AuthCodeURL("state-1234", oauth2.S256ChallengeOption(verifier)))
	if p.Location == nil && strings.Contains(p.Body, `name="password"`) {
		p = br.SignIn(base, p, demo.Users[0].Username, demo.Users[0].Password)
	}
	if p.Location == nil && p.Status == http.StatusOK {
		p = br.Consent(base, p, true)
	}
	if p.Location == nil || p.Location.Query().Get("code") == "" {
		t.Fatalf("no code: stopped at %s (%d)\n%s", p.URL, p.Status, p.Body)
	}
	tok, err := cfg.Exchange(t.Context(), p.Location.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token")
	}
	return tok.RefreshToken
}

func refreshForm(rt string) string {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {admin.DemoSPAClientID}}.Encode()
}

// hashToken is how the server stores a refresh token: hex SHA-256.
func hashToken(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:])
}

// refreshesByFamily counts the refresh_token grants' token_issued events of
// the demo SPA per refresh family.
func refreshesByFamily(t *testing.T, db store.Store) map[string]int {
	t.Helper()
	out := map[string]int{}
	q := store.AuditQuery{TenantID: admin.DemoTenantID, Type: model.EventTokenIssued, ClientID: admin.DemoSPAClientID, Limit: 1000}
	for {
		evs, err := db.Audit().Search(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			var d struct {
				GrantType     string `json:"grant_type"`
				RefreshFamily string `json:"refresh_family"`
			}
			if err := json.Unmarshal(e.Details, &d); err != nil {
				t.Fatal(err)
			}
			if d.GrantType == model.GrantRefreshToken {
				out[d.RefreshFamily]++
			}
		}
		if len(evs) < q.Limit {
			return out
		}
		q.Before = evs[len(evs)-1].ID
	}
}
