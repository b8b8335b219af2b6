package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// BenchmarkIntrospect measures RFC 7662 introspection of one valid ES256
// access token over real HTTP with a real store (SQLite by default,
// PostgreSQL with INTELLIAUTH_TEST_POSTGRES): client authentication, the
// signature, the revocation lookup. 64 concurrent clients on keep-alive
// connections, like `intelliauth bench --mode introspect`; p50 and p99 are
// reported beside ns/op, since the tail is what issue 13 is about.
func BenchmarkIntrospect(b *testing.B) {
	env := servertest.Start(b)
	seed := env.Seed(b, "banking")
	issuer := env.Issuer("banking")
	post := func(c *http.Client, path, form string) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodPost, issuer+path, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(seed.Reporting.ID, seed.Reporting.Secret)
		return c.Do(req)
	}
	resp, err := post(servertest.HTTPClient(), "/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"read:transactions"}, "audience": {"api.banking.example.com"}}.Encode())
	if err != nil {
		b.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || tok.AccessToken == "" {
		b.Fatalf("token: %v", err)
	}
	form := url.Values{"token": {tok.AccessToken}}.Encode()
	tr := &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(32) // 64 concurrent clients on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			start := time.Now()
			resp, err := post(client, "/oauth2/introspect", form)
			if err != nil {
				b.Error(err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"active":true`) {
				b.Errorf("HTTP %d %s", resp.StatusCode, body)
				return
			}
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "introspections/s")
	if n := len(lat); n > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[n/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[min(n-1, n*99/100)].Microseconds())/1000, "p99-ms")
	}
}
