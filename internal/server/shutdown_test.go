package server_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/audit"
	"github.com/intelliauth/intelliauth/internal/server"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// TestGracefulShutdownLosesNothing stops a node while clients hammer its
// token endpoint: every token a client received must have its token_issued
// event in the database once Serve returns (PRODUCT.md §9).
func TestGracefulShutdownLosesNothing(t *testing.T) {
	seedEnv := servertest.Start(t)
	b := seedEnv.Seed(t, "banking")

	// A second node on the same database, which this test stops itself.
	log := audit.New(seedEnv.Store.Audit(), nil, audit.Options{})
	srv, err := server.New(t.Context(), server.Options{Store: seedEnv.Store, Sealer: seedEnv.Sealer, Audit: log})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The second node serves the tenant under the seeded issuer's path.
	endpoint := "http://" + ln.Addr().String() + "/t/banking/oauth2/token"
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()

	var mu sync.Mutex
	var jtis []string
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"read:transactions"}}.Encode()
	for range 8 {
		wg.Go(func() {
			for i := 0; i < 400; i++ {
				req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(b.Reporting.ID, b.Reporting.Secret)
				resp, err := client.Do(req)
				if err != nil {
					return // the listener closed
				}
				var body struct {
					AccessToken string `json:"access_token"`
				}
				_ = json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				if body.AccessToken == "" {
					continue
				}
				jti := servertest.JTI(t, body.AccessToken)
				mu.Lock()
				jtis = append(jtis, jti)
				mu.Unlock()
			}
		})
	}
	time.Sleep(150 * time.Millisecond)
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	wg.Wait()
	if len(jtis) == 0 {
		t.Fatal("no token was issued before shutdown")
	}

	logged := servertest.AuditedJTIs(t, seedEnv.Store, "banking")
	for _, j := range jtis {
		if !logged[j] {
			t.Fatalf("token %s was handed out without its token_issued event", j)
		}
	}
	t.Logf("%d tokens issued before shutdown, all audited", len(jtis))
}
