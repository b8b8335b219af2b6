package server_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// BenchmarkClientCredentials measures the whole token path over real HTTP on
// keep-alive connections: client auth, scope decision, ES256 signing and the
// durable, group-committed audit event. Run with -cpuprofile to see where
// the time goes; `intelliauth bench` measures the same against a running node.
func BenchmarkClientCredentials(b *testing.B) {
	env := servertest.Start(b)
	seed := env.Seed(b, "banking")
	endpoint := env.Issuer("banking") + "/oauth2/token"
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"read:transactions"}, "audience": {"api.banking.example.com"}}.Encode()
	tr := &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	b.SetParallelism(32) // 64 concurrent clients on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(seed.Reporting.ID, seed.Reporting.Secret)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}
