package server_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/oauth2"

	"github.com/intelliauth/intelliauth/internal/server"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store/sqlstore"
)

// tracedEnv is a node whose server and store trace into an in-memory
// exporter (the OpenTelemetry SDK's, synchronous: a span is exported when
// it ends).
type tracedEnv struct {
	*oidcEnv
	exp *tracetest.InMemoryExporter
}

func startTraced(t *testing.T) *tracedEnv {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	st := servertest.OpenStore(t, sqlstore.WithTracerProvider(tp))
	env := servertest.StartOn(t, st, func(o *server.Options) { o.TracerProvider = tp })
	b := env.Seed(t, "banking")
	people := env.SeedUsers(t, "banking")
	return &tracedEnv{oidcEnv: &oidcEnv{env: env, b: b, people: people, iss: env.Issuer("banking")}, exp: exp}
}

// spanTree indexes exported spans by their parent.
type spanTree struct {
	spans    tracetest.SpanStubs
	children map[trace.SpanID][]tracetest.SpanStub
}

// waitRoot waits for the server span of the request to the route (the
// middleware ends it just after the response is written) and returns the
// tree of everything exported.
func (e *tracedEnv) waitRoot(t *testing.T, name string) (tracetest.SpanStub, spanTree) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		spans := e.exp.GetSpans()
		for _, s := range spans {
			if s.Name == name && s.SpanKind == trace.SpanKindServer {
				tr := spanTree{spans: spans, children: map[trace.SpanID][]tracetest.SpanStub{}}
				for _, c := range spans {
					tr.children[c.Parent.SpanID()] = append(tr.children[c.Parent.SpanID()], c)
				}
				return s, tr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no server span %q among %d spans", name, len(spans))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (tr spanTree) childNames(s tracetest.SpanStub) []string {
	var names []string
	for _, c := range tr.children[s.SpanContext.SpanID()] {
		names = append(names, c.Name)
	}
	return names
}

func (tr spanTree) child(t *testing.T, s tracetest.SpanStub, name string) tracetest.SpanStub {
	t.Helper()
	for _, c := range tr.children[s.SpanContext.SpanID()] {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("span %s has no child %s (children: %v)", s.Name, name, tr.childNames(s))
	return tracetest.SpanStub{}
}

// descendants returns the names of every span below s.
func (tr spanTree) descendants(s tracetest.SpanStub) []string {
	var out []string
	for _, c := range tr.children[s.SpanContext.SpanID()] {
		out = append(out, c.Name)
		out = append(out, tr.descendants(c)...)
	}
	return out
}

func attr(s tracetest.SpanStub, key string) string {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value.String()
		}
	}
	return ""
}

// TestTraceOfAClientCredentialsToken: one token request is one trace — a
// server span continuing the caller's W3C traceparent, with the pipeline's
// steps as its children in order: client authentication, the grant's
// checks, the scope decision, signing, the commit of the audit event.
func TestTraceOfAClientCredentialsToken(t *testing.T) {
	e := startTraced(t)
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"read:transactions"}, "audience": {e.b.Bank.Identifier}}
	if got := clientCall(t, e.env, "banking", e.b.Reporting, form); got != http.StatusOK { // loads the catalog
		t.Fatalf("token: %d", got)
	}
	e.exp.Reset()

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.iss+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Traceparent", "00-"+traceID+"-"+parentID+"-01")
	req.SetBasicAuth(e.b.Reporting.ID, e.b.Reporting.Secret)
	resp, err := servertest.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d", resp.StatusCode)
	}

	root, tr := e.waitRoot(t, "POST /oauth2/token")
	if got := root.SpanContext.TraceID().String(); got != traceID {
		t.Errorf("W3C Trace Context: trace ID %s, want the caller's %s", got, traceID)
	}
	if got := root.Parent.SpanID().String(); got != parentID || !root.Parent.IsRemote() {
		t.Errorf("W3C Trace Context: parent %s (remote %t), want the caller's %s", got, root.Parent.IsRemote(), parentID)
	}
	want := []string{"oauth.client_auth", "oauth.grant", "oauth.decide", "oauth.sign", "oauth.audit_commit"}
	if got := tr.childNames(root); !slices.Equal(got, want) {
		t.Errorf("children of the token request's span = %v, want %v", got, want)
	}
	for k, v := range map[string]string{"tenant": "banking", "client_id": "reporting-job", "grant_type": "client_credentials", "http.response.status_code": "200"} {
		if got := attr(root, k); got != v {
			t.Errorf("server span %s = %q, want %q", k, got, v)
		}
	}
	if got := attr(tr.child(t, root, "oauth.decide"), "scopes.granted"); got != "1" {
		t.Errorf("oauth.decide scopes.granted = %q, want 1", got)
	}
}

// TestTraceOfAnAuthorizationCodeRedemption: the code grant's store calls
// are spans of their step — the code's lookup under oauth.grant, the
// redemption's transaction under oauth.audit_commit — with the query text
// (placeholders, never values) and the dialect; a refused request marks
// its step and its server span with the OAuth error code.
func TestTraceOfAnAuthorizationCodeRedemption(t *testing.T) {
	e := startTraced(t)
	a := newAuthRequest(e.spaConfig("openid", "read:transactions"))
	p, _ := e.signInAndConsent(t, servertest.NewBrowser(t), a, e.people.Alice)
	code := a.code(t, p, e.iss)
	e.exp.Reset()
	a.exchange(t, e.ctx(t), code)

	root, tr := e.waitRoot(t, "POST /oauth2/token")
	grant := tr.child(t, root, "oauth.grant")
	var queries []string
	for _, c := range tr.children[grant.SpanContext.SpanID()] {
		if c.Name == "db.query" {
			queries = append(queries, attr(c, "db.query.text"))
			if attr(c, "db.system.name") == "" {
				t.Errorf("db.query span without db.system.name")
			}
		}
	}
	if !slices.ContainsFunc(queries, func(q string) bool { return strings.Contains(q, "codes") }) {
		t.Errorf("no store span reads the code under oauth.grant: %q", queries)
	}
	for _, q := range queries {
		if strings.Contains(q, code) {
			t.Errorf("a span carries the code itself: %q", q)
		}
	}
	commit := tr.descendants(tr.child(t, root, "oauth.audit_commit"))
	if !slices.Contains(commit, "db.transaction") || !slices.Contains(commit, "db.exec") {
		t.Errorf("under oauth.audit_commit: %v, want db.transaction and db.exec", commit)
	}

	// The same code again: refused, and the trace says so.
	e.exp.Reset()
	if _, err := a.cfg.Exchange(e.ctx(t), code, oauth2.VerifierOption(a.verifier)); err == nil {
		t.Fatal("a code redeemed twice was accepted")
	}
	root, tr = e.waitRoot(t, "POST /oauth2/token")
	if got := attr(tr.child(t, root, "oauth.grant"), "oauth.error"); got != "invalid_grant" {
		t.Errorf("refused oauth.grant span oauth.error = %q, want invalid_grant", got)
	}
	if got := attr(root, "http.response.status_code"); got != "400" {
		t.Errorf("server span status code = %q, want 400", got)
	}
}

// A request method the server does not know (any token is one to net/http)
// is sent by the client, so it never names a span nor fills its method
// attribute: the OpenTelemetry HTTP conventions' "HTTP" span name and
// "_OTHER" method keep a flood of made-up methods from becoming as many
// span names in the trace backend.
func TestTraceOfAnUnknownMethodNamesNoSpanAfterIt(t *testing.T) {
	e := startTraced(t)
	req, err := http.NewRequestWithContext(t.Context(), "XMADEUP-7F3A", e.iss+"/oauth2/token", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := servertest.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	root, _ := e.waitRoot(t, "HTTP /oauth2/token")
	if got := attr(root, "http.request.method"); got != "_OTHER" {
		t.Errorf("http.request.method = %q, want _OTHER", got)
	}
	for _, s := range e.exp.GetSpans() {
		if strings.Contains(s.Name, "XMADEUP") || slices.ContainsFunc(s.Attributes, func(a attribute.KeyValue) bool {
			return strings.Contains(a.Value.String(), "XMADEUP")
		}) {
			t.Errorf("span %q carries the method as sent", s.Name)
		}
	}
}
