package api_test

// The test harness of the platform API: a real node (servertest), real
// tokens from its token endpoint, and an HTTP client whose transport
// validates EVERY request and response against openapi.json with
// kin-openapi — so the document cannot drift from the code in either
// direction (TestMain fails the run when a documented operation was never
// exercised).
//
// Writing a test of a new route (e.g. audit.go, me.go):
//
//	e := newEnv(t)                                   // tenant "acme", admin client, tokens
//	var page struct{ Items []map[string]any }
//	e.call(t, "GET", "/audit/events?type=x", e.token(t, "audit:read"), nil).
//		want(t, 200).decode(t, &page)
//
// Deliberately malformed requests (unknown fields, missing If-Match, …)
// go through e.callInvalid: the response is still validated, the request
// is not.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/api"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// exercised records the operations (by operationId) the run called with a
// request that matched the document.
var exercised sync.Map

// TestMain fails a complete run (no -run filter) in which a documented
// operation was never exercised: the document cannot describe a route the
// tests never call.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if f := flag.Lookup("test.run"); code == 0 && (f == nil || f.Value.String() == "") && !testing.Short() {
		if missing := unexercised(); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: openapi.json operations no test exercised (add a call to a test): %s\n", strings.Join(missing, ", "))
			code = 1
		}
	}
	os.Exit(code)
}

func unexercised() []string {
	doc, _ := loadDoc()
	var missing []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if _, ok := exercised.Load(op.OperationID); !ok {
				missing = append(missing, method+" "+path)
			}
		}
	}
	sort.Strings(missing)
	return missing
}

// loadDoc parses and validates the embedded document, once.
var loadDoc = sync.OnceValues(func() (*openapi3.T, routers.Router) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI(api.DocIssuer))
	if err != nil {
		panic("openapi.json does not load: " + err.Error())
	}
	if err := doc.Validate(context.Background()); err != nil {
		panic("openapi.json is not a valid OpenAPI 3 document: " + err.Error())
	}
	// Match paths only: the tests' issuers differ from the document's.
	rdoc := *doc
	rdoc.Servers = nil
	router, err := gorillamux.NewRouter(&rdoc)
	if err != nil {
		panic("openapi.json routes: " + err.Error())
	}
	return doc, router
})

type ctxKey int

const (
	// skipRequestCheck marks a request that is off the document on
	// purpose (bad input); its response is still validated.
	skipRequestCheck ctxKey = iota
	// skipAllChecks marks a request to a path or method the document does
	// not have (404/405 tests): nothing can be matched.
	skipAllChecks
)

// tenantPrefix matches the /t/{tenant} issuer path.
var tenantPrefix = regexp.MustCompile(`^/t/[a-z0-9-]+`)

// validating is an http.RoundTripper that checks every /api/v1 exchange
// against the document with kin-openapi and fails t on any mismatch.
type validating struct {
	t    testing.TB
	base http.RoundTripper
	// dry leaves exercised alone (the validator's own tests).
	dry bool
}

func (v validating) RoundTrip(req *http.Request) (*http.Response, error) {
	t := v.t
	ctx := req.Context()
	if ctx.Value(skipAllChecks) != nil || !strings.Contains(req.URL.Path, api.Prefix+"/") {
		return v.base.RoundTrip(req)
	}
	doc, router := loadDoc()
	_ = doc
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	// The document's paths are relative to the issuer: drop /t/{tenant}.
	rq := req.Clone(context.Background())
	u := *req.URL
	u.Path = tenantPrefix.ReplaceAllString(u.Path, "")
	u.RawPath = tenantPrefix.ReplaceAllString(u.RawPath, "")
	rq.URL = &u
	rq.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := router.FindRoute(rq)
	if err != nil {
		t.Errorf("openapi.json has no operation for %s %s: %v", req.Method, u.Path, err)
		return v.base.RoundTrip(req)
	}
	if !v.dry {
		exercised.Store(route.Operation.OperationID, true)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: rq, PathParams: params, Route: route, Options: opts}
	if ctx.Value(skipRequestCheck) == nil {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("request %s %s does not match openapi.json: %v", req.Method, u.Path, err)
		}
	}
	resp, err := v.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	rb, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(rb))
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: opts}
	out.SetBodyBytes(rb)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("response %d to %s %s does not match openapi.json: %v\nbody: %s", resp.StatusCode, req.Method, u.Path, err, rb)
	}
	return resp, nil
}

// env is a running node with tenant "acme" (servertest.Seed and SeedUsers)
// plus the application "platform-admin": m2m, every platform scope on its
// allowlist. Tokens come from the real token endpoint.
type env struct {
	*servertest.Env
	Tenant string
	Issuer string
	// PlatformAudience is the platform API's identifier (<issuer>/api/v1).
	PlatformAudience string
	Bank             servertest.Banking
	People           servertest.People
	Admin            servertest.Client
	// HTTP validates every /api/v1 exchange against openapi.json.
	HTTP *http.Client

	mu          sync.Mutex
	tokens      map[string]string
	selfService servertest.Client
}

// newEnv starts a node with the acme tenant; opts set the server's
// options (servertest.Start).
func newEnv(t *testing.T, opts ...func(*server.Options)) *env {
	t.Helper()
	se := servertest.Start(t, opts...)
	e := &env{Env: se, Tenant: "acme", tokens: map[string]string{}}
	e.Issuer = se.Issuer(e.Tenant)
	e.Bank = se.Seed(t, e.Tenant)
	e.People = se.SeedUsers(t, e.Tenant)
	e.PlatformAudience = e.Issuer + admin.PlatformAPIPath
	e.Admin = e.platformClient(t, e.Tenant, "platform-admin")
	e.HTTP = &http.Client{Transport: validating{t: t, base: http.DefaultTransport}, Timeout: servertest.HTTPClient().Timeout}
	return e
}

// platformClient creates an m2m application with every platform scope on
// its allowlist in tenant.
func (e *env) platformClient(t *testing.T, tenant, clientID string) servertest.Client {
	t.Helper()
	created, err := e.Env.Admin.CreateApplication(t.Context(), admin.CLI(), tenant, admin.ApplicationInput{
		ClientID: clientID, Name: clientID, Type: model.AppM2M, AllowedScopes: model.PlatformScopeNames()})
	if err != nil {
		t.Fatal(err)
	}
	e.Server.Catalog().Invalidate(tenant)
	return servertest.Client{ID: clientID, Secret: created.Secret}
}

// token returns a client-credentials access token of platform-admin for the
// platform API carrying exactly scopes (cached per scope set).
func (e *env) token(t *testing.T, scopes ...string) string {
	t.Helper()
	key := strings.Join(scopes, " ")
	e.mu.Lock()
	tok, ok := e.tokens[key]
	e.mu.Unlock()
	if ok {
		return tok
	}
	tok = e.clientToken(t, e.Issuer, e.Admin, e.PlatformAudience, scopes...)
	e.mu.Lock()
	e.tokens[key] = tok
	e.mu.Unlock()
	return tok
}

// clientToken runs the client-credentials grant at issuer's token endpoint.
func (e *env) clientToken(t *testing.T, issuer string, c servertest.Client, audience string, scopes ...string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {strings.Join(scopes, " ")}, "audience": {audience}}
	req, err := http.NewRequestWithContext(t.Context(), "POST", issuer+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	resp, err := servertest.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("token for %s scope %q: %d %s %s (%v)", c.ID, scopes, resp.StatusCode, out.Error, out.Description, err)
	}
	return out.AccessToken
}

// response is one API answer, body read.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	what   string
}

// want fails the test unless the status is one of codes.
func (r *response) want(t *testing.T, codes ...int) *response {
	t.Helper()
	if !slices.Contains(codes, r.Status) {
		t.Fatalf("%s = %d, want %v\nbody: %s", r.what, r.Status, codes, r.Body)
	}
	return r
}

// decode unmarshals the body into v.
func (r *response) decode(t *testing.T, v any) *response {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("%s: decode %s: %v", r.what, r.Body, err)
	}
	return r
}

// problem decodes an RFC 7807 body.
func (r *response) problem(t *testing.T) problemDoc {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("RFC 7807 §3: %s Content-Type = %q, want application/problem+json", r.what, ct)
	}
	var p problemDoc
	r.decode(t, &p)
	return p
}

// problemDoc is the RFC 7807 body as a client reads it.
type problemDoc struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Error  string `json:"error"`
	Scope  string `json:"scope"`
	Errors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

// field returns the message for field, or "".
func (p problemDoc) field(name string) string {
	for _, e := range p.Errors {
		if e.Field == name {
			return e.Message
		}
	}
	return ""
}

// call sends method path (relative to the tenant's /api/v1) with a bearer
// token (none when empty), a JSON body (nil for none; []byte and string
// are sent as they are) and header pairs, through the validating client.
func (e *env) call(t *testing.T, method, path, token string, body any, header ...string) *response {
	t.Helper()
	return e.send(t, t.Context(), e.Issuer, method, path, token, body, header...)
}

// callInvalid is call for a request that is off the document on purpose;
// only the response is validated.
func (e *env) callInvalid(t *testing.T, method, path, token string, body any, header ...string) *response {
	t.Helper()
	return e.send(t, context.WithValue(t.Context(), skipRequestCheck, true), e.Issuer, method, path, token, body, header...)
}

// callRaw is call for paths or methods the document does not have.
func (e *env) callRaw(t *testing.T, method, path, token string, body any, header ...string) *response {
	t.Helper()
	return e.send(t, context.WithValue(t.Context(), skipAllChecks, true), e.Issuer, method, path, token, body, header...)
}

func (e *env) send(t *testing.T, ctx context.Context, issuer, method, path, token string, body any, header ...string) *response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, issuer+api.Prefix+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b, what: method + " " + path}
}
