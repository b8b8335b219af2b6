package sqlite

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// TestOutageIsErrUnavailable (issue 9 defect 8): a write lock another
// process holds beyond the busy timeout, and a closed database, are
// store.ErrUnavailable — what the HTTP layer answers 503 with Retry-After
// for — while an ordinary refusal (a taken name) is not.
func TestOutageIsErrUnavailable(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the busy timeout")
	}
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "intelliauth.db")
	db := openPath(t, path)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	ten := model.Tenant{ID: "acme", Name: "Acme", Issuer: "https://auth.acme.example/t/acme", CreatedAt: now, UpdatedAt: now}
	if err := db.Tenants().Create(ctx, ten); err != nil {
		t.Fatal(err)
	}
	if err := db.Tenants().Create(ctx, ten); !errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("a taken ID: %v, want ErrConflict and not ErrUnavailable", err)
	}

	// Another process (a CLI run, say) holds the write lock.
	other, err := openPool(path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	ten2 := ten
	ten2.ID, ten2.Issuer = "other", "https://auth.acme.example/t/other"
	start := time.Now()
	err = db.Tenants().Create(ctx, ten2)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("write under a lock held for %v: %v, want ErrUnavailable", time.Since(start).Round(time.Second), err)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Tenants().Get(ctx, "acme"); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("read of a closed database: %v, want ErrUnavailable", err)
	}
	if err := db.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("ping of a closed database: %v, want ErrUnavailable", err)
	}
}
