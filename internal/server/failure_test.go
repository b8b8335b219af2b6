package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the test's own schema set-up

	"github.com/intelliauth/intelliauth/internal/audit"
	"github.com/intelliauth/intelliauth/internal/logging"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/store/postgres"
	"github.com/intelliauth/intelliauth/internal/store/sqlite"
)

// surfaces are requests to every error writer: the token endpoint (the
// oautherr JSON writer), the platform API (the problem writer), an
// end-user page (internal/login) and an authorization page
// (internal/oauth's page writer). Each needs the database.
func surfaces(o *oidcEnv, apiToken string) []struct {
	name string
	req  func() *http.Request
} {
	form := func(method, u, auth, body string) func() *http.Request {
		return func() *http.Request {
			r := httptest.NewRequest(method, u, strings.NewReader(body))
			if body != "" {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if auth != "" {
				r.Header.Set("Authorization", auth)
			}
			return r
		}
	}
	return []struct {
		name string
		req  func() *http.Request
	}{
		{"token endpoint (client credentials)", form("POST", o.iss+"/oauth2/token", basicAuth(o.b.Reporting.ID, o.b.Reporting.Secret),
			"grant_type=client_credentials&audience=api.banking.example.com&scope=read:transactions")},
		{"token endpoint (refresh)", form("POST", o.iss+"/oauth2/token", "",
			url.Values{"grant_type": {"refresh_token"}, "client_id": {o.people.SPA.ID}, "refresh_token": {"Xk3v9QpL2mZr7TyW0bN4sC8dF1gH6jA5eR3uI2oP9qV"}}.Encode())},
		{"platform API", form("GET", o.iss+"/api/v1/users", "Bearer "+apiToken, "")},
		{"login page", form("GET", o.iss+"/login?request=0123456789abcdef0123456789abcdef", "", "")},
		{"authorization page", form("GET", o.iss+"/oauth2/authorize/resume?request=0123456789abcdef0123456789abcdef", "", "")},
	}
}

func metricsText(t *testing.T, o *oidcEnv) string {
	t.Helper()
	rec := httptest.NewRecorder()
	o.env.Server.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

// TestClientGoneIsNotAServerError (issue 9 defect 7): a request whose
// client went away — its context cancelled, as net/http does when the
// connection closes — is no server error on any surface: no 500 in the
// metrics, no ERROR line; it is logged at debug as "client went away" and
// counted as 499, like nginx.
func TestClientGoneIsNotAServerError(t *testing.T) {
	o, buf := startLogged(t)
	apiToken := clientToken(t, o.env, "banking", o.b.Reporting, "users:read", "")
	for _, s := range surfaces(o, apiToken) {
		t.Run(s.name, func(t *testing.T) {
			before := len(buf.String())
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			rec := httptest.NewRecorder()
			o.env.Server.Handler().ServeHTTP(rec, s.req().WithContext(ctx))
			if rec.Code != logging.StatusClientClosedRequest {
				t.Errorf("status %d, want 499 (client closed request)", rec.Code)
			}
			logged := buf.String()[before:]
			if strings.Contains(logged, `"level":"ERROR"`) {
				t.Errorf("a client that went away was logged as an error:\n%s", logged)
			}
			if !strings.Contains(logged, "client went away") {
				t.Errorf("no debug line says the client went away:\n%s", logged)
			}
		})
	}
	m := metricsText(t, o)
	if strings.Contains(m, `code="500"`) {
		t.Errorf("metrics count a 500:\n%s", grepLines(m, `code="`))
	}
	if !strings.Contains(m, `code="499"`) {
		t.Errorf("metrics do not count the 499s:\n%s", grepLines(m, `code="`))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// wantUnavailable asserts a storage outage's answer on every surface:
// 503, Retry-After, and temporarily_unavailable where the surface has an
// error code (RFC 6749 §4.1.2.1's code, on the token endpoint too).
func wantUnavailable(t *testing.T, o *oidcEnv, apiToken string) {
	t.Helper()
	for _, s := range surfaces(o, apiToken) {
		rec := httptest.NewRecorder()
		o.env.Server.Handler().ServeHTTP(rec, s.req())
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
			t.Errorf("%s: status %d, Retry-After %q, want 503 with Retry-After: %s", s.name, rec.Code, rec.Header().Get("Retry-After"), rec.Body.String())
			continue
		}
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/") {
			var body struct{ Error string }
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			if body.Error != "temporarily_unavailable" {
				t.Errorf("%s: error %q, want temporarily_unavailable: %s", s.name, body.Error, rec.Body.String())
			}
		}
	}
	rec := httptest.NewRecorder()
	o.env.Server.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("/readyz: %d during the outage, want 503", rec.Code)
	}
}

// TestDatabaseDownIsServiceUnavailableSQLite (issue 9 defect 8, RFC 9110
// §15.6.4): the node's SQLite database closed under it → 503 with
// Retry-After on the token endpoint (temporarily_unavailable), the
// platform API and the pages, never 500.
func TestDatabaseDownIsServiceUnavailableSQLite(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "intelliauth.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	o := startOn(t, db)
	apiToken := clientToken(t, o.env, "banking", o.b.Reporting, "users:read", "")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	wantUnavailable(t, o, apiToken)
}

// TestDatabaseDownIsServiceUnavailablePostgres (issue 9 defect 8): the
// node reaches PostgreSQL through a proxy the test controls; the proxy
// drops every connection and refuses new ones → 503 with Retry-After on
// every surface while /readyz says 503; the proxy comes back → the node
// answers 200 again without a restart, within seconds.
func TestDatabaseDownIsServiceUnavailablePostgres(t *testing.T) {
	dsn := os.Getenv(servertest.PostgresEnv)
	if dsn == "" {
		t.Skip("needs PostgreSQL: set " + servertest.PostgresEnv)
	}
	ctx := context.Background()
	u, err := url.Parse(servertest.PostgresSchema(t, dsn))
	if err != nil {
		t.Fatal(err)
	}
	px := startProxy(t, u.Host)
	via := *u
	via.Host = px.addr
	q := via.Query()
	q.Set("connect_timeout", "2")
	via.RawQuery = q.Encode()
	db, err := postgres.Open(ctx, via.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	o := startOn(t, db)
	apiToken := clientToken(t, o.env, "banking", o.b.Reporting, "users:read", "")

	px.down()
	wantUnavailable(t, o, apiToken)

	px.up()
	back := time.Now()
	deadline := back.Add(10 * time.Second)
	for {
		rec := httptest.NewRecorder()
		o.env.Server.Handler().ServeHTTP(rec, surfaces(o, apiToken)[0].req())
		if rec.Code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the token endpoint still answers %d 10s after the database came back: %s", rec.Code, rec.Body.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the token endpoint answered 200 %v after the database came back", time.Since(back).Round(time.Millisecond))
	rec := httptest.NewRecorder()
	o.env.Server.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("/readyz: %d after recovery", rec.Code)
	}
}

// startOn starts the banking node over st, seeded.
func startOn(t *testing.T, st store.Store) *oidcEnv {
	t.Helper()
	env := servertest.StartOn(t, st, func(o *server.Options) { o.ShutdownTimeout = 2 * time.Second })
	b := env.Seed(t, "banking")
	people := env.SeedUsers(t, "banking")
	return &oidcEnv{env: env, b: b, people: people, iss: env.Issuer("banking")}
}

// proxy is a TCP relay to the database that the test can take down (every
// connection cut, new ones refused) and bring back on the same address.
type proxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

func startProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[d] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(d, c); d.Close(); c.Close() }()
			go func() { _, _ = io.Copy(c, d); c.Close(); d.Close() }()
		}
	}()
}

// down closes the listener and every relayed connection.
func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// up listens again on the same address.
func (p *proxy) up() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.serve(ln)
}

// TestHalfClosedClientIsNotAServerError (issue 9 defect 7, over a real
// socket): a client sends a valid token request and half-closes its
// connection at once, as the outside attack did; net/http then cancels the
// request's context while the token waits for its audit commit. None of
// these requests may count as a 500 or log an ERROR line.
func TestHalfClosedClientIsNotAServerError(t *testing.T) {
	o, buf := startLogged(t)
	u, err := url.Parse(o.iss)
	if err != nil {
		t.Fatal(err)
	}
	form := "grant_type=client_credentials&audience=api.banking.example.com&scope=read:transactions"
	raw := "POST " + u.Path + "/oauth2/token HTTP/1.1\r\nHost: " + u.Host +
		"\r\nAuthorization: " + basicAuth(o.b.Reporting.ID, o.b.Reporting.Secret) +
		"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " + strconv.Itoa(len(form)) +
		"\r\nConnection: close\r\n\r\n" + form
	statuses := map[string]int{}
	for range 20 {
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(c, raw); err != nil {
			t.Fatal(err)
		}
		_ = c.(*net.TCPConn).CloseWrite()
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, _ := io.ReadAll(c)
		c.Close()
		line, _, _ := strings.Cut(string(resp), "\r\n")
		statuses[line]++
	}
	t.Logf("answers: %v", statuses)
	if m := metricsText(t, o); strings.Contains(m, `code="500"`) {
		t.Errorf("metrics count a 500 for a client that went away:\n%s", grepLines(m, `code="`))
	}
	if strings.Contains(buf.String(), `"level":"ERROR"`) {
		t.Errorf("a client that went away was logged as an error:\n%s", grepLines(buf.String(), `"level":"ERROR"`))
	}
}

// cancelOnWrite is a response writer whose client goes away as soon as the
// first bytes reach it.
type cancelOnWrite struct {
	*httptest.ResponseRecorder
	cancel context.CancelFunc
}

func (w cancelOnWrite) Write(b []byte) (int, error) {
	defer w.cancel()
	return w.ResponseRecorder.Write(b)
}

// TestClientGoneMidExportIsNotAnError (issue 9 defect 7): a client that
// hangs up in the middle of a JSON Lines audit export gets its connection
// cut as before, but that is logged at debug, not as an ERROR.
func TestClientGoneMidExportIsNotAnError(t *testing.T) {
	o, buf := startLogged(t)
	now := o.env.Clock.Now()
	evs := make([]model.AuditEvent, 700) // more than one export page (500)
	for i := range evs {
		at := now.Add(time.Duration(i) * time.Millisecond)
		evs[i] = model.AuditEvent{ID: audit.NewID(at), Time: at, TenantID: "banking", Type: "test.filler",
			ActorType: model.ActorSystem, ActorID: "test", Details: []byte("{}")}
	}
	if err := o.env.Store.Audit().Append(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	apiToken := clientToken(t, o.env, "banking", o.b.Reporting, "audit:read", "")
	before := len(buf.String())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := httptest.NewRequest("GET", o.iss+"/api/v1/audit?format=jsonl&type=test.filler", nil).WithContext(ctx)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	w := cancelOnWrite{ResponseRecorder: httptest.NewRecorder(), cancel: cancel}
	func() {
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Errorf("the export was not cut (recovered %v): a client could take it for complete", v)
			}
		}()
		o.env.Server.Handler().ServeHTTP(w, req)
	}()
	logged := buf.String()[before:]
	if !strings.Contains(logged, "audit export cut short") {
		t.Fatalf("the cut export was not logged:\n%s", logged)
	}
	if strings.Contains(logged, `"level":"ERROR"`) {
		t.Errorf("a client that hung up mid-export was logged as an error:\n%s", logged)
	}
}
