package server_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/server"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store/sqlite"
	"github.com/intelliauth/intelliauth/internal/token"
)

// readyz is the decoded body of /readyz.
type readyz struct {
	Status string `json:"status"`
	Checks map[string]struct {
		OK      bool   `json:"ok"`
		Reason  string `json:"reason"`
		Warning string `json:"warning"`
	} `json:"checks"`
}

func getReadyz(t *testing.T, env *servertest.Env) (int, readyz) {
	t.Helper()
	resp, err := servertest.HTTPClient().Get(env.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r readyz
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("/readyz: %v", err)
	}
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("/readyz Content-Type %q", resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, r
}

func healthz(t *testing.T, env *servertest.Env) int {
	t.Helper()
	resp, err := servertest.HTTPClient().Get(env.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func otherSealer(t *testing.T) *token.Sealer {
	t.Helper()
	key := make([]byte, token.MasterKeySize)
	_, _ = rand.Read(key)
	s, err := token.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestReadyzTellsTheTruthAboutTheMasterKey: a node whose master key opens
// none of the stored signing keys is not ready, and says why; one whose key
// opens some tenants' keys and not another's (that tenant was created with
// another key) stays ready for the rest, with a warning; /healthz stays a
// liveness probe throughout.
func TestReadyzTellsTheTruthAboutTheMasterKey(t *testing.T) {
	env := servertest.Start(t)
	if code, r := getReadyz(t, env); code != http.StatusOK || r.Status != "ready" || !r.Checks["storage"].OK || !r.Checks["migrations"].OK || !r.Checks["keys"].OK {
		t.Fatalf("an empty node: %d %+v", code, r)
	}

	// A tenant whose keys were sealed with another master key than the
	// node's: the node's key opens nothing, so it is the wrong key.
	stranger := &admin.Service{Store: env.Store, Sealer: otherSealer(t), Now: env.Clock.Now}
	if _, err := stranger.CreateTenant(t.Context(), admin.CLI(), admin.TenantInput{ID: "elsewhere", Name: "Elsewhere", Issuer: env.Issuer("elsewhere")}); err != nil {
		t.Fatal(err)
	}
	code, r := getReadyz(t, env)
	if code != http.StatusServiceUnavailable || r.Status != "not ready" {
		t.Fatalf("wrong master key: %d %+v, want 503 not ready", code, r)
	}
	keys := r.Checks["keys"]
	if keys.OK || !strings.Contains(keys.Reason, "opens none of the stored signing keys") || !strings.Contains(keys.Reason, "right one") {
		t.Errorf("keys check %+v does not say the master key is wrong and what to do", keys)
	}
	if strings.Contains(keys.Reason, "elsewhere") {
		t.Errorf("/readyz is public and names a tenant: %q", keys.Reason)
	}
	if !r.Checks["storage"].OK || !r.Checks["migrations"].OK {
		t.Errorf("storage and migrations are fine: %+v", r.Checks)
	}
	if c := healthz(t, env); c != http.StatusOK {
		t.Errorf("/healthz = %d: liveness does not depend on readiness", c)
	}

	// A tenant the node's key opens: the key is the deployment's, the
	// stranger tenant is the odd one out.
	env.Seed(t, "banking")
	code, r = getReadyz(t, env)
	if code != http.StatusOK || r.Status != "ready" || !r.Checks["keys"].OK || !strings.Contains(r.Checks["keys"].Warning, "1 tenant") {
		t.Fatalf("right key with one odd tenant: %d %+v, want 200 with a warning", code, r)
	}
}

// TestReadyzMigrations: a database whose schema lacks this binary's last
// migration is not ready, and /readyz says which versions and what to run.
func TestReadyzMigrations(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "intelliauth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	latest, err := db.SchemaVersion(ctx)
	if err != nil || v != 0 || latest < 2 {
		t.Fatalf("schema versions %d → %d: %v", v, latest, err)
	}
	old, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "old.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = old.Close() })
	if err := old.MigrateTo(ctx, latest-1); err != nil {
		t.Fatal(err)
	}
	env := servertest.StartOn(t, old, func(o *server.Options) { o.AllowInsecureIssuer = true })
	code, r := getReadyz(t, env)
	m := r.Checks["migrations"]
	if code != http.StatusServiceUnavailable || m.OK || !strings.Contains(m.Reason, "intelliauth migrate") {
		t.Fatalf("schema behind: %d %+v, want 503 naming intelliauth migrate", code, r)
	}
	if err := old.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if code, r := getReadyz(t, env); code != http.StatusOK {
		t.Fatalf("after migrating: %d %+v", code, r)
	}
}
