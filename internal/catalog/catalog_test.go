package catalog_test

import (
	"errors"
	"log/slog"
	"sync"
	"testing"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store"
)

func TestCatalog(t *testing.T) {
	env := servertest.Start(t)
	b := env.Seed(t, "banking")
	ctx := t.Context()
	c := catalog.New(env.Store, env.Sealer, slog.New(slog.DiscardHandler))

	s1, err := c.Tenant(ctx, "banking")
	if err != nil {
		t.Fatal(err)
	}
	if app, ok := s1.App(b.Reporting.ID); !ok || len(app.Secrets) != 1 {
		t.Fatalf("snapshot lacks reporting-job with its secret: %+v", app)
	}
	if _, ok := s1.Registry.API("api.banking.example.com"); !ok {
		t.Fatal("snapshot lacks the banking API")
	}
	t.Run("web origins of the tenant's applications", func(t *testing.T) {
		if _, err := env.Admin.UpdateApplication(ctx, admin.CLI(), "banking", "legacy-batch", admin.ApplicationUpdate{
			AllowedOrigins: &[]string{"https://App.Example.com"},
		}); err != nil {
			t.Fatal(err)
		}
		s, err := c.Fresh(ctx, "banking")
		if err != nil {
			t.Fatal(err)
		}
		if !s.AllowsOrigin("https://app.example.com") || !s.AllowsOrigin("HTTPS://APP.EXAMPLE.COM") {
			t.Error("an application's allowed origin is not allowed (origins compare case-insensitively)")
		}
		if s.AllowsOrigin("https://evil.example.com") || s.AllowsOrigin("") {
			t.Error("an origin of no application is allowed")
		}
		s1 = s
	})

	t.Run("unknown tenant is ErrNotFound", func(t *testing.T) {
		if _, err := c.Tenant(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("cached until the revision moves", func(t *testing.T) {
		s, err := c.Tenant(ctx, "banking")
		if err != nil || s != s1 {
			t.Fatalf("second lookup reloaded: %v", err)
		}
		f, err := c.Fresh(ctx, "banking")
		if err != nil || f != s1 {
			t.Fatalf("Fresh reloaded an unchanged tenant: %v", err)
		}
	})
	t.Run("Fresh sees a change made behind its back", func(t *testing.T) {
		if _, err := env.Admin.AddAllowedScopes(ctx, admin.CLI(), "banking", "legacy-batch", []string{"write:settings"}, 0); err != nil {
			t.Fatal(err)
		}
		if s, _ := c.Tenant(ctx, "banking"); s != s1 {
			t.Fatal("cached lookup should not query the database")
		}
		f, err := c.Fresh(ctx, "banking")
		if err != nil || f == s1 || f.Rev <= s1.Rev {
			t.Fatalf("Fresh did not reload: %v", err)
		}
		app, _ := f.App("legacy-batch")
		if len(app.AllowedScopes) != 2 {
			t.Errorf("allowlist = %v", app.AllowedScopes)
		}
	})
	t.Run("Refresh drops snapshots whose revision moved", func(t *testing.T) {
		before, _ := c.Tenant(ctx, "banking")
		if err := c.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if s, _ := c.Tenant(ctx, "banking"); s != before {
			t.Fatal("Refresh dropped an up-to-date snapshot")
		}
		if _, err := env.Admin.RotateKeys(ctx, admin.CLI(), "banking"); err != nil {
			t.Fatal(err)
		}
		if err := c.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		after, err := c.Tenant(ctx, "banking")
		if err != nil || after == before {
			t.Fatalf("stale snapshot kept after Refresh: %v", err)
		}
	})
	t.Run("concurrent first lookups agree", func(t *testing.T) {
		c2 := catalog.New(env.Store, env.Sealer, slog.New(slog.DiscardHandler))
		var wg sync.WaitGroup
		snaps := make([]*catalog.Snapshot, 16)
		for i := range snaps {
			wg.Go(func() {
				s, err := c2.Tenant(ctx, "banking")
				if err != nil {
					t.Error(err)
				}
				snaps[i] = s
			})
		}
		wg.Wait()
		for _, s := range snaps {
			if s == nil || s.Rev != snaps[0].Rev {
				t.Fatal("concurrent loads disagree")
			}
		}
	})
	t.Run("custom domain routes to its tenant", func(t *testing.T) {
		if _, err := c.TenantByDomain(ctx, "login.example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown domain: %v", err)
		}
		_, err := env.Admin.CreateTenant(ctx, admin.CLI(), admin.TenantInput{ID: "custom", Name: "Custom", Issuer: "https://login.example.com", Domain: "login.example.com"})
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.TenantByDomain(ctx, "login.example.com")
		if err != nil || s.Tenant.ID != "custom" {
			t.Fatalf("domain lookup: %v", err)
		}
	})
}
