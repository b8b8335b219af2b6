package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/store/sqlstore"
	"github.com/intelliauth/intelliauth/internal/store/storetest"
)

// testDSNEnv names the variable that switches the PostgreSQL tests on; CI
// always sets it (postgres://postgres@127.0.0.1:5432/test?sslmode=disable).
const testDSNEnv = "INTELLIAUTH_TEST_POSTGRES"

// freshSchema creates an empty schema for one test and returns a DSN whose
// search_path points at it; the schema is dropped when the test ends.
func freshSchema(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(testDSNEnv)
	if dsn == "" {
		t.Skipf("%s is not set; skipping PostgreSQL tests", testDSNEnv)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	admin := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { _ = admin.Close() })
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// t.Context is done by now.
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(t, dsn, schema)
}

func withSearchPath(t testing.TB, dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

func openFresh(t testing.TB) *sqlstore.DB {
	t.Helper()
	db, err := Open(t.Context(), freshSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

func requirePostgres(t testing.TB) {
	if os.Getenv(testDSNEnv) == "" {
		t.Skipf("%s is not set; skipping PostgreSQL tests", testDSNEnv)
	}
}

func TestConformance(t *testing.T) {
	requirePostgres(t)
	storetest.RunTests(t, func(t *testing.T) store.Store { return openFresh(t) })
}

func TestMigrations(t *testing.T) {
	requirePostgres(t)
	storetest.RunMigrationTests(t, func(t *testing.T) storetest.MigrationEnv {
		dsn := freshSchema(t)
		open := func(t *testing.T) *sqlstore.DB {
			db, err := Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return db
		}
		db := open(t)
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			t.Fatal(err)
		}
		raw := stdlib.OpenDB(*cfg)
		t.Cleanup(func() { _ = raw.Close() })
		return storetest.MigrationEnv{
			Store:    db,
			Migrator: db,
			Exec: func(ctx context.Context, query string, args ...any) error {
				_, err := raw.ExecContext(ctx, query, args...)
				return err
			},
			Another: func(t *testing.T) storetest.Migrator { return open(t) },
		}
	})
}

// Text order must be byte order, as in SQLite and Go, whatever the
// database's locale: pagination and audit cursors depend on it.
func TestCollationIsByteOrder(t *testing.T) {
	requirePostgres(t)
	db := openFresh(t)
	ctx := t.Context()
	for _, id := range []string{"b", "B", "_", "a-1", "a1", "Z"} {
		if err := db.Tenants().Create(ctx, model.Tenant{ID: id, Name: id, Issuer: "http://x/t/" + id}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Tenants().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tn := range got {
		ids = append(ids, tn.ID)
	}
	want := []string{"B", "Z", "_", "a-1", "a1", "b"}
	if !slices.Equal(ids, want) {
		t.Fatalf("order %q, want %q", ids, want)
	}
}

// An applied migration edited afterwards must stop the server, not be
// skipped.
func TestMigrationEditedAfterApplyIsRefused(t *testing.T) {
	requirePostgres(t)
	ctx := t.Context()
	dsn := freshSchema(t)
	db, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	d := Dialect()
	orig, err := fs.ReadFile(d.Migrations, "0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	d.Migrations = fstest.MapFS{"0001_init.sql": {Data: append(orig, "\n-- edited\n"...)}}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	edited, err := sqlstore.New(d, stdlib.OpenDB(*cfg), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer edited.Close()
	if err := edited.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "changed after it was applied") {
		t.Fatalf("Migrate with an edited migration: %v", err)
	}
}

func TestOpenRefusesABadDSN(t *testing.T) {
	if _, err := Open(t.Context(), "postgres://%zz"); err == nil {
		t.Fatal("Open accepted a malformed DSN")
	}
}

// BenchmarkAuditAppend measures one group commit of 64 events, each with
// three scopes.
func BenchmarkAuditAppend(b *testing.B) {
	requirePostgres(b)
	db := openFresh(b)
	ctx := b.Context()
	const batch = 64
	details := json.RawMessage(`{"requested":["openid","read:transactions","write:settings"],"granted":["openid","read:transactions"],"dropped":[{"scope":"write:settings","reason":"not on the allowlist"}]}`)
	events := make([]model.AuditEvent, batch)
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		for i := range events {
			n++
			events[i] = model.AuditEvent{ID: fmt.Sprintf("01J%020d", n), TenantID: "bench", Type: model.EventTokenIssued,
				Time: time.Now(), ActorType: model.ActorClient, ActorID: "web", ClientID: "web", Subject: "usr_1",
				Audience: "api.bank.example.com", Scopes: []string{"openid", "read:transactions", "profile"}, Details: details}
		}
		if err := db.Audit().Append(ctx, events); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}

// TestAuditAtSize measures the audit log at $INTELLIAUTH_AUDIT_SIZE events
// (storetest.MeasureAudit): bytes on disk per event (tables, indexes and
// TOAST of every audit table) and query latencies.
func TestAuditAtSize(t *testing.T) {
	requirePostgres(t)
	dsn := freshSchema(t)
	db, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	storetest.MeasureAudit(t, db, func() (int64, error) {
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return 0, err
		}
		raw := stdlib.OpenDB(*cfg)
		defer raw.Close()
		if _, err := raw.ExecContext(t.Context(), `VACUUM ANALYZE`); err != nil {
			return 0, err
		}
		var n int64
		err = raw.QueryRowContext(t.Context(), `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c
			JOIN pg_namespace ns ON ns.oid = c.relnamespace
			WHERE ns.nspname = current_schema() AND c.relkind = 'r' AND c.relname LIKE 'audit%'`).Scan(&n)
		return n, err
	})
}
