package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

func TestTracesURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://localhost:4318":           "http://localhost:4318/v1/traces",
		"http://localhost:4318/":          "http://localhost:4318/v1/traces",
		"https://otel.example.com/custom": "https://otel.example.com/custom",
	} {
		if got, err := tracesURL(in); err != nil || got != want {
			t.Errorf("tracesURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := tracesURL("localhost"); err == nil {
		t.Error("tracesURL accepted an endpoint without scheme and host")
	}
}

// TestServeExportsTracesOverOTLP: serve with the standard
// OTEL_EXPORTER_OTLP_ENDPOINT sends the spans of a token request to that
// collector over OTLP/HTTP (protobuf, POST /v1/traces) by the time it has
// shut down: the server span, the token pipeline's and the store's.
func TestServeExportsTracesOverOTLP(t *testing.T) {
	var mu sync.Mutex
	names := map[string]bool{}
	service := ""
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("collector got %s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var req coltrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			t.Errorf("collector: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, rs := range req.GetResourceSpans() {
			for _, a := range rs.GetResource().GetAttributes() {
				if a.GetKey() == "service.name" {
					service = a.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					names[s.GetName()] = true
				}
			}
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(nil)
	}))
	defer collector.Close()

	ctx, cancel := context.WithCancel(t.Context())
	addrc, done := make(chan string, 1), make(chan int, 1)
	dataDir := filepath.Join(t.TempDir(), "data")
	go func() {
		code, _, errOut := runCLICtx(ctx, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL},
			func(a string) { addrc <- a }, "serve", "--demo", "--addr", "127.0.0.1:0", "--data-dir", dataDir)
		if code != 0 {
			t.Logf("serve: exit %d\n%s", code, errOut)
		}
		done <- code
	}()
	select {
	case <-addrc:
	case <-done:
		t.Fatal("serve exited early")
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("serve did not start")
	}
	d := readDemo(t, dataDir)
	app, _ := d.App("reporting-job")
	if code, body := getToken(t, d.Issuer, app.ClientID, app.ClientSecret, "api.banking.example.com", "read:transactions"); code != http.StatusOK {
		t.Fatalf("token: %d %v", code, body)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited with %d", code)
	}

	mu.Lock()
	defer mu.Unlock()
	var got []string
	for n := range names {
		got = append(got, n)
	}
	for _, want := range []string{"POST /oauth2/token", "oauth.client_auth", "oauth.decide", "oauth.sign", "oauth.audit_commit", "db.query"} {
		if !names[want] {
			t.Errorf("the collector got no %q span; got %v", want, got)
		}
	}
	if service != "intelliauth" || slices.Contains(got, "") {
		t.Errorf("service.name = %q", service)
	}
}
