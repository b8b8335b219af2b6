package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/store/storetest"
)

func openTemp(t testing.TB) store.Store {
	t.Helper()
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "intelliauth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestConformance(t *testing.T) {
	storetest.RunTests(t, func(t *testing.T) store.Store { return openTemp(t) })
}
