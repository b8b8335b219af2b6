package logging

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/store"
)

const (
	jwt    = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl"
	opaque = "Xk3v9QpL2mZr7TyW0bN4sC8dF1gH6jA5eR3uI2oP9qV"
)

// TestHandlerRedactsEverySecretKind (ARCHITECTURE.md habit 4): whatever key
// or shape a credential is logged under — a sensitive attribute, a form,
// a header, an error quoting a JWT, a Bearer or Basic credential in text, a
// URL with secrets in its query, inside a group or WithAttrs — the line
// holds [REDACTED] instead.
func TestHandlerRedactsEverySecretKind(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Options{Level: slog.LevelDebug})
	ctx := WithRequestID(context.Background(), "req-123")
	l.With("client_secret", opaque).DebugContext(ctx, "with attrs")
	l.InfoContext(ctx, "keys",
		"Authorization", "Basic "+opaque, "code", opaque, "refresh_token", opaque, "password", opaque,
		"code_verifier", opaque, "access_token", jwt, "id_token", jwt, "token", opaque)
	l.InfoContext(ctx, "shapes",
		"form", url.Values{"client_secret": {opaque}, "grant_type": {"refresh_token"}, "refresh_token": {opaque}},
		"header", http.Header{"Authorization": {"Bearer " + jwt}, "Accept": {"*/*"}},
		"err", fmt.Errorf("verify %s: %w", jwt, errors.New("bad signature")),
		"text", "header was Bearer "+opaque,
		"basic", "got basic "+opaque+" from peer",
		"url", "https://rp.example/cb?code="+opaque+"&state=xyz",
		"body", []byte("client_secret="+opaque+"&grant_type=client_credentials"),
		slog.Group("g", "password", opaque, "note", "token="+opaque))
	l.InfoContext(ctx, "message quoting "+jwt)
	out := buf.String()
	for _, s := range []string{opaque, jwt, "eyJ"} {
		if strings.Contains(out, s) {
			t.Errorf("log holds %q:\n%s", s, out)
		}
	}
	for _, keep := range []string{`"grant_type":["refresh_token"]`, `"Accept":["*/*"]`, "bad signature", "state=xyz", `"request_id":"req-123"`} {
		if !strings.Contains(out, keep) {
			t.Errorf("log lost %s (redaction is too wide):\n%s", keep, out)
		}
	}
	if n := strings.Count(out, `"request_id":"req-123"`); n != 4 {
		t.Errorf("request_id on %d of 4 lines", n)
	}
}

// TestWrapIsTheOnlyPath: a logger an embedder passes is wrapped once, so
// it redacts too and does not get request_id twice.
func TestWrapIsTheOnlyPath(t *testing.T) {
	var buf bytes.Buffer
	l := Wrap(Wrap(slog.New(slog.NewJSONHandler(&buf, nil))))
	l.InfoContext(WithRequestID(context.Background(), "r1"), "x", "client_secret", opaque)
	if out := buf.String(); strings.Contains(out, opaque) || strings.Count(out, "request_id") != 1 {
		t.Errorf("wrapped logger wrote %s", out)
	}
	if Wrap(nil) == nil {
		t.Error("Wrap(nil) is nil")
	}
}

// TestClassify: a cancelled request context is a client that went away,
// whatever the error; store.ErrUnavailable is an outage; anything else
// stays the writer's to map.
func TestClassify(t *testing.T) {
	live := context.Background()
	gone, cancel := context.WithCancel(live)
	cancel()
	outage := fmt.Errorf("audit: append: %w", fmt.Errorf("%w: dial tcp: connection refused", store.ErrUnavailable))
	for _, c := range []struct {
		name string
		ctx  context.Context
		err  error
		want Kind
	}{
		{"client gone, context.Canceled", gone, fmt.Errorf("audit token_issued: %w", context.Canceled), ClientGone},
		{"client gone, driver error", gone, errors.New("interrupted (9)"), ClientGone},
		{"client gone during an outage", gone, outage, ClientGone},
		{"outage", live, outage, Unavailable},
		{"a cancelled internal context is not the client", live, context.Canceled, Failed},
		{"other", live, errors.New("boom"), Failed},
	} {
		if got := Classify(c.ctx, c.err); got != c.want {
			t.Errorf("%s: Classify = %v, want %v", c.name, got, c.want)
		}
	}
	if Level(ClientGone, 500) != slog.LevelDebug || Level(Unavailable, 503) != slog.LevelWarn || Level(Failed, 500) != slog.LevelError || Level(Failed, 400) != slog.LevelInfo {
		t.Error("Level does not follow the kinds")
	}
}
