package storetest

import (
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

var applicationTests = []test{
	{"create and get round-trip every field", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		in := model.Application{TenantID: "a", ClientID: "bank-web", Name: "Bank Web", Type: model.AppWeb,
			RedirectURIs:           []string{"https://bank.example/cb", "http://127.0.0.1:8080/cb", "com.example.app:/cb"},
			PostLogoutRedirectURIs: []string{"https://bank.example/bye", "http://127.0.0.1:8080/"},
			AllowedOrigins:         []string{"https://bank.example", "http://127.0.0.1:8080"},
			GrantTypes:             []string{model.GrantAuthorizationCode, model.GrantRefreshToken, model.GrantClientCredentials},
			AllowedScopes:          []string{"openid", "transactions:read", "accounts:read"},
			ScopePolicy:            model.PolicyPermissive,
			Consent:                model.ConsentImplicit,
			AccessTokenTTL:         5*time.Minute + time.Nanosecond,
			RefreshIdleTTL:         72 * time.Hour,
			RefreshAbsoluteTTL:     90 * 24 * time.Hour,
			CreatedAt:              t0, UpdatedAt: t0.Add(time.Second),
		}
		must(t, s.Applications().Create(ctx, in))
		got, err := s.Applications().Get(ctx, "a", "bank-web")
		must(t, err)
		want := in
		want.CreatedAt, want.UpdatedAt, want.Version = us(t0), us(t0.Add(time.Second)), 1
		equal(t, "application", got, want)

		m2m := model.Application{TenantID: "a", ClientID: "batch", Name: "Batch", Type: model.AppM2M,
			GrantTypes: []string{model.GrantClientCredentials}, ScopePolicy: model.PolicyStrict, Consent: model.ConsentRequired,
			CreatedAt: t0, UpdatedAt: t0}
		must(t, s.Applications().Create(ctx, m2m))
		got, err = s.Applications().Get(ctx, "a", "batch")
		must(t, err)
		want = m2m
		want.CreatedAt, want.UpdatedAt, want.Version = us(t0), us(t0), 1
		equal(t, "empty lists", got, want)
	}},
	{"allowlist repeats are stored once", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.Applications().Create(ctx, newApp("a", "x", "b", "a", "b", "c")))
		got, err := s.Applications().Get(ctx, "a", "x")
		must(t, err)
		equal(t, "allowlist", got.AllowedScopes, []string{"b", "a", "c"})
	}},
	{"duplicate client ID is ErrConflict; unknown tenant ErrNotFound", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.Applications().Create(ctx, newApp("a", "x")))
		wantErr(t, s.Applications().Create(ctx, newApp("a", "x")), store.ErrConflict)
		wantErr(t, s.Applications().Create(ctx, newApp("nope", "y")), store.ErrNotFound)
		_, err := s.Applications().Get(ctx, "a", "y")
		wantErr(t, err, store.ErrNotFound)
	}},
	{"Update replaces every field but tenant, client ID and CreatedAt", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.Applications().Create(ctx, newApp("a", "x", "one", "two")))
		cur, err := s.Applications().Get(ctx, "a", "x")
		must(t, err)
		next := cur
		next.Name, next.Type = "Renamed", model.AppSPA
		next.RedirectURIs = []string{"https://spa.example/cb"}
		next.PostLogoutRedirectURIs = []string{"https://spa.example/", "https://spa.example/bye"}
		next.AllowedOrigins = []string{"https://spa.example"}
		next.GrantTypes = []string{model.GrantAuthorizationCode}
		next.AllowedScopes = []string{"three", "one"}
		next.ScopePolicy, next.Consent = model.PolicyPermissive, model.ConsentImplicit
		next.AccessTokenTTL, next.RefreshIdleTTL, next.RefreshAbsoluteTTL = time.Minute, time.Hour, 2*time.Hour
		next.CreatedAt = t0.Add(time.Hour) // not replaced
		got, err := s.Applications().Update(ctx, next)
		must(t, err)
		want := next
		want.CreatedAt, want.Version, want.UpdatedAt = us(t0), 2, got.UpdatedAt
		equal(t, "updated", got, want)
		utc(t, "UpdatedAt", got.UpdatedAt)
		if !got.UpdatedAt.After(cur.UpdatedAt) {
			t.Fatalf("UpdatedAt %v not after %v", got.UpdatedAt, cur.UpdatedAt)
		}
		stored, err := s.Applications().Get(ctx, "a", "x")
		must(t, err)
		equal(t, "stored", stored, got)

		_, err = s.Applications().Update(ctx, cur)
		wantErr(t, err, store.ErrPrecondition)
		stored, err = s.Applications().Get(ctx, "a", "x")
		must(t, err)
		equal(t, "unchanged by stale update", stored, got)
		missing := newApp("a", "nope")
		missing.Version = 1
		_, err = s.Applications().Update(ctx, missing)
		wantErr(t, err, store.ErrNotFound)
	}},
	{"Delete removes the application with its secrets", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.Applications().Create(ctx, newApp("a", "x", "read")))
		must(t, s.Applications().AddSecret(ctx, model.ClientSecret{TenantID: "a", ClientID: "x", ID: "s1", Hash: []byte{1}, CreatedAt: t0}))
		must(t, s.Applications().Delete(ctx, "a", "x", 0))
		_, err := s.Applications().Get(ctx, "a", "x")
		wantErr(t, err, store.ErrNotFound)
		wantErr(t, s.Applications().Delete(ctx, "a", "x", 0), store.ErrNotFound)
		holders, err := s.Scopes().Holders(ctx, "a", "read")
		must(t, err)
		equal(t, "holders", len(holders), 0)
		// Recreated under the same ID it starts clean.
		must(t, s.Applications().Create(ctx, newApp("a", "x")))
		secrets, err := s.Applications().Secrets(ctx, "a", "x")
		must(t, err)
		equal(t, "secrets", len(secrets), 0)
	}},
	{"List pages by client ID with the total", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		ids := append(seq("app-", 23), "Zed", "_under")
		for _, id := range ids {
			must(t, s.Applications().Create(ctx, newApp("a", id, "read")))
		}
		ids = sorted(ids)
		page, total, err := s.Applications().List(ctx, "a", store.Page{})
		must(t, err)
		equal(t, "total", total, 25)
		equal(t, "page 1 (default 20)", clientIDs(page), ids[:20])
		equal(t, "allowlist loaded", page[0].AllowedScopes, []string{"read"})
		page, total, err = s.Applications().List(ctx, "a", store.Page{Offset: 20, Limit: 20})
		must(t, err)
		equal(t, "page 2", clientIDs(page), ids[20:])
		equal(t, "total on page 2", total, 25)
		page, total, err = s.Applications().List(ctx, "a", store.Page{Offset: 25, Limit: 5})
		must(t, err)
		equal(t, "past the end", len(page), 0)
		equal(t, "total past the end", total, 25)
		all, err := s.Applications().All(ctx, "a")
		must(t, err)
		equal(t, "All", clientIDs(all), ids)
	}},
}

var secretTests = []test{
	{"AddSecret and Secrets newest first", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.Applications().Create(ctx, newApp("a", "x")))
		old := model.ClientSecret{TenantID: "a", ClientID: "x", ID: "s1", Hash: []byte{0, 1, 2, 255}, CreatedAt: t0}
		cur := model.ClientSecret{TenantID: "a", ClientID: "x", ID: "s2", Hash: []byte("hash-two"), CreatedAt: t0.Add(time.Hour)}
		must(t, s.Applications().AddSecret(ctx, old))
		must(t, s.Applications().AddSecret(ctx, cur))
		got, err := s.Applications().Secrets(ctx, "a", "x")
		must(t, err)
		old.CreatedAt, cur.CreatedAt = us(old.CreatedAt), us(cur.CreatedAt)
		equal(t, "secrets", got, []model.ClientSecret{cur, old})
	}},
	{"AllSecrets is Secrets of every application of the tenant, in one call", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		seed(t, s, "b")
		for _, id := range []string{"x", "y", "none"} {
			must(t, s.Applications().Create(ctx, newApp("a", id)))
		}
		must(t, s.Applications().Create(ctx, newApp("b", "x")))
		add := func(tenant, client, id string, at time.Time) {
			must(t, s.Applications().AddSecret(ctx, model.ClientSecret{TenantID: tenant, ClientID: client, ID: id, Hash: []byte(tenant + id), CreatedAt: at}))
		}
		add("a", "x", "x1", t0)
		add("a", "x", "x2", t0.Add(time.Hour))
		add("a", "y", "y1", t0)
		add("b", "x", "bx", t0)
		got, err := s.Applications().AllSecrets(ctx, "a")
		must(t, err)
		for _, client := range []string{"x", "y", "none"} {
			want, err := s.Applications().Secrets(ctx, "a", client)
			must(t, err)
			if len(want) == 0 {
				want = nil
			}
			equal(t, "secrets of "+client, got[client], want)
		}
		equal(t, "applications with secrets", len(got), 2)
		none, err := s.Applications().AllSecrets(ctx, "nope")
		must(t, err)
		equal(t, "an unknown tenant", len(none), 0)
	}},
	{"AddSecret is ErrNotFound for a missing application, ErrConflict for a taken ID", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.Applications().Create(ctx, newApp("a", "x")))
		sec := model.ClientSecret{TenantID: "a", ClientID: "nope", ID: "s1", Hash: []byte{1}, CreatedAt: t0}
		wantErr(t, s.Applications().AddSecret(ctx, sec), store.ErrNotFound)
		sec.ClientID = "x"
		must(t, s.Applications().AddSecret(ctx, sec))
		wantErr(t, s.Applications().AddSecret(ctx, sec), store.ErrConflict)
		_, err := s.Applications().Secrets(ctx, "a", "nope")
		wantErr(t, err, store.ErrNotFound)
	}},
	{"ExpireSecrets gives a grace period to all but the kept one, cuts longer ones short, then prunes", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.Applications().Create(ctx, newApp("a", "x")))
		add := func(id string, i int) {
			must(t, s.Applications().AddSecret(ctx, model.ClientSecret{TenantID: "a", ClientID: "x", ID: id, Hash: []byte{byte(i)},
				CreatedAt: t0.Add(time.Duration(i) * time.Minute)}))
		}
		add("s1", 1)
		add("s2", 2)
		// First rotation: s1 gets a short grace period.
		must(t, s.Applications().ExpireSecrets(ctx, "a", "x", "s2", t0.Add(time.Minute), t0))
		add("s3", 3)
		// Second rotation: s2 gets one; s1 keeps its earlier expiry.
		grace := t0.Add(24 * time.Hour)
		must(t, s.Applications().ExpireSecrets(ctx, "a", "x", "s3", grace, t0))
		got, err := s.Applications().Secrets(ctx, "a", "x")
		must(t, err)
		expiries := map[string]time.Time{}
		for _, sec := range got {
			expiries[sec.ID] = sec.ExpiresAt
		}
		equal(t, "expiries", expiries, map[string]time.Time{"s1": us(t0.Add(time.Minute)), "s2": us(grace), "s3": {}})
		if !got[0].ActiveAt(grace.Add(time.Hour)) || got[1].ActiveAt(grace) {
			t.Fatalf("ActiveAt: %+v", got)
		}
		// Later: s1 expired before now and is deleted; s2 is still in grace.
		must(t, s.Applications().ExpireSecrets(ctx, "a", "x", "s3", grace, t0.Add(time.Hour)))
		got, err = s.Applications().Secrets(ctx, "a", "x")
		must(t, err)
		ids := make([]string, len(got))
		for i, sec := range got {
			ids[i] = sec.ID
		}
		equal(t, "after prune", ids, []string{"s3", "s2"})
		// A rotation with no grace (the secret leaked) also ends s2, which
		// was still in its grace period: no earlier secret outlives it.
		add("s4", 4)
		later := t0.Add(2 * time.Hour)
		must(t, s.Applications().ExpireSecrets(ctx, "a", "x", "s4", later, later))
		got, err = s.Applications().Secrets(ctx, "a", "x")
		must(t, err)
		for _, sec := range got {
			if sec.ID != "s4" && sec.ActiveAt(later) {
				t.Fatalf("%s still works after a rotation with no grace: expires %v", sec.ID, sec.ExpiresAt)
			}
		}
		wantErr(t, s.Applications().ExpireSecrets(ctx, "a", "nope", "", grace, t0), store.ErrNotFound)
	}},
}
