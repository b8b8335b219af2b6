package server_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/intelliauth/intelliauth/internal/server"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store/sqlstore"
)

// BenchmarkClientCredentials measures the whole token path over real HTTP on
// keep-alive connections: client auth, scope decision, ES256 signing and the
// durable, group-committed audit event. Run with -cpuprofile to see where
// the time goes; `intelliauth bench` measures the same against a running node.
func BenchmarkClientCredentials(b *testing.B) { benchClientCredentials(b, nil) }

// BenchmarkClientCredentialsNoopTracer is BenchmarkClientCredentials with
// OpenTelemetry's no-op tracer provider given to the server and the store:
// every span site starts a span that records nothing. Against the default
// (no tracer at all) it prices the span sites themselves.
func BenchmarkClientCredentialsNoopTracer(b *testing.B) {
	benchClientCredentials(b, noop.NewTracerProvider())
}

// BenchmarkClientCredentialsTraced samples every request with the SDK and
// a batching exporter that discards: the cost of tracing turned on, less
// the network.
func BenchmarkClientCredentialsTraced(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	benchClientCredentials(b, tp)
}

func benchClientCredentials(b *testing.B, tp trace.TracerProvider) {
	var env *servertest.Env
	if tp == nil {
		env = servertest.Start(b)
	} else {
		env = servertest.StartOn(b, servertest.OpenStore(b, sqlstore.WithTracerProvider(tp)),
			func(o *server.Options) { o.TracerProvider = tp })
	}
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
