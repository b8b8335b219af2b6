// Package servertest starts a real IntelliAuth node for tests: a real
// SQLite database (or PostgreSQL when INTELLIAUTH_TEST_POSTGRES is set), a
// real listener on 127.0.0.1, real keys, seeded through internal/admin the
// way an operator would. It is for tests only.
package servertest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/audit"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/store/postgres"
	"github.com/intelliauth/intelliauth/internal/store/sqlite"
	"github.com/intelliauth/intelliauth/internal/store/sqlstore"
	"github.com/intelliauth/intelliauth/internal/token"

	_ "github.com/jackc/pgx/v5/stdlib" // schema set-up for PostgreSQL runs
)

// Clock is a settable clock shared by the server and the admin service.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Env is one running node.
type Env struct {
	// URL is the node's base URL, http://127.0.0.1:PORT.
	URL    string
	Server *server.Server
	Store  store.Store
	Admin  *admin.Service
	Audit  *audit.Log
	Clock  *Clock
	Sealer *token.Sealer
}

// Issuer returns the issuer URL of a tenant served by path.
func (e *Env) Issuer(tenantID string) string { return e.URL + "/t/" + tenantID }

// Start opens a fresh database, starts a node on 127.0.0.1 and stops it at
// the end of the test. opts may adjust the server's options before it starts.
func Start(t testing.TB, opts ...func(*server.Options)) *Env {
	t.Helper()
	return StartOn(t, OpenStore(t), opts...)
}

// StartOn is Start over a store the test opened and migrated itself (one it
// can take down under the running node, say).
func StartOn(t testing.TB, st store.Store, opts ...func(*server.Options)) *Env {
	t.Helper()
	ctx := context.Background()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	sealer, err := token.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	clock := &Clock{t: time.Now().UTC().Truncate(time.Second)}
	log := audit.New(st.Audit(), nil, audit.Options{Now: clock.Now})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := server.Options{
		Store: st, Sealer: sealer, Audit: log, Now: clock.Now,
		CacheRefresh: 50 * time.Millisecond, ShutdownTimeout: 5 * time.Second,
	}
	for _, f := range opts {
		f(&o)
	}
	// Nodes sharing one database share its master key (an option sets it).
	sealer = o.Sealer
	srv, err := server.New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(runCtx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("server stopped with error: %v", err)
		}
	})
	return &Env{
		URL:    "http://" + ln.Addr().String(),
		Server: srv,
		Store:  st,
		Admin:  &admin.Service{Store: st, Sealer: sealer, Now: clock.Now},
		Audit:  log,
		Clock:  clock,
		Sealer: sealer,
	}
}

// PostgresEnv is the variable that switches the PostgreSQL runs on.
const PostgresEnv = "INTELLIAUTH_TEST_POSTGRES"

// OpenStore opens a fresh, migrated store: PostgreSQL in a schema of its own
// when INTELLIAUTH_TEST_POSTGRES holds a DSN, else SQLite in a temp dir.
func OpenStore(t testing.TB, opts ...sqlstore.Option) store.Store {
	t.Helper()
	ctx := context.Background()
	var db interface {
		store.Store
		Migrate(context.Context) error
	}
	if dsn := os.Getenv(PostgresEnv); dsn != "" {
		pg, err := postgres.Open(ctx, PostgresSchema(t, dsn), opts...)
		if err != nil {
			t.Fatal(err)
		}
		db = pg
	} else {
		lite, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "intelliauth.db"), opts...)
		if err != nil {
			t.Fatal(err)
		}
		db = lite
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// PostgresSchema creates a schema of its own for the test in the database
// dsn names and returns a DSN whose search_path points at it; the schema is
// dropped at cleanup. Tests that start their own node on PostgreSQL use it.
func PostgresSchema(t testing.TB, dsn string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "st_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		_ = admin.Close()
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema
}

// Client is a seeded application with its plaintext secret.
type Client struct {
	ID     string
	Secret string
}

// Banking is the demo-like tenant Seed creates.
type Banking struct {
	Tenant model.Tenant
	// Reporting is strict, allowlist read:transactions users:read audit:read.
	Reporting Client
	// Legacy is permissive, allowlist read:transactions.
	Legacy Client
	// Bank is api.banking.example.com (ES256); Health is api.health.example.com (RS256).
	Bank, Health model.API
}

// Seed creates a tenant shaped like the demo's banking tenant: two APIs
// with their scopes, a strict and a permissive M2M application.
func (e *Env) Seed(t testing.TB, tenantID string) Banking {
	t.Helper()
	ctx := context.Background()
	a, actor := e.Admin, admin.CLI()
	ten, err := a.CreateTenant(ctx, actor, admin.TenantInput{ID: tenantID, Name: tenantID, Issuer: e.Issuer(tenantID)})
	must(t, err)
	bank, err := a.CreateAPI(ctx, actor, tenantID, admin.APIInput{Identifier: "api.banking.example.com", Name: "Banking API"})
	must(t, err)
	health, err := a.CreateAPI(ctx, actor, tenantID, admin.APIInput{Identifier: "api.health.example.com", Name: "Health API", SigningAlg: model.AlgRS256})
	must(t, err)
	for _, s := range []admin.ScopeInput{
		{Name: "read:transactions", Description: "Read your transactions.", API: bank.Identifier},
		{Name: "write:settings", Description: "Change your settings.", API: bank.Identifier},
		{Name: "payments:approve", Description: "Approve payments.", API: bank.Identifier},
		{Name: "read:records", Description: "Read your health records.", API: health.Identifier},
	} {
		_, err := a.CreateScope(ctx, actor, tenantID, s)
		must(t, err)
	}
	rep, err := a.CreateApplication(ctx, actor, tenantID, admin.ApplicationInput{
		ClientID: "reporting-job", Name: "Reporting job", Type: model.AppM2M,
		AllowedScopes: []string{"read:transactions", "users:read", "audit:read"}, ScopePolicy: model.PolicyStrict,
	})
	must(t, err)
	leg, err := a.CreateApplication(ctx, actor, tenantID, admin.ApplicationInput{
		ClientID: "legacy-batch", Name: "Legacy batch", Type: model.AppM2M,
		AllowedScopes: []string{"read:transactions"}, ScopePolicy: model.PolicyPermissive,
	})
	must(t, err)
	return Banking{
		Tenant:    ten,
		Reporting: Client{ID: rep.Application.ClientID, Secret: rep.Secret},
		Legacy:    Client{ID: leg.Application.ClientID, Secret: leg.Secret},
		Bank:      bank,
		Health:    health,
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// HTTPClient is a client with a timeout, for tests.
func HTTPClient() *http.Client { return &http.Client{Timeout: 10 * time.Second} }

// JTI returns the jti of an access token without verifying it (the tests
// that use it check durability, not signatures).
func JTI(t testing.TB, raw string) string {
	t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil {
		t.Fatalf("parse access token: %v", err)
	}
	var c struct {
		JTI string `json:"jti"`
	}
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil {
		t.Fatal(err)
	}
	return c.JTI
}

// AuditedJTIs returns the jti of every token_issued event of the tenant in
// st, reading the whole log page by page.
func AuditedJTIs(t testing.TB, st store.Store, tenantID string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	q := store.AuditQuery{TenantID: tenantID, Type: model.EventTokenIssued, Limit: 1000}
	for {
		evs, err := st.Audit().Search(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			var d struct {
				JTI string `json:"jti"`
			}
			if err := json.Unmarshal(e.Details, &d); err != nil {
				t.Fatalf("token_issued details: %v", err)
			}
			out[d.JTI] = true
		}
		if len(evs) < q.Limit {
			return out
		}
		q.Before = evs[len(evs)-1].ID
	}
}
