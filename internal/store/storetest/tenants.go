package storetest

import (
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

var tenantTests = []test{
	{"create and get round-trip every field", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		in := newTenant("banking")
		in.Domain = "auth.bank.example"
		in.ScopePattern = `^[a-z]+:[a-z]+$`
		in.Rev, in.Version = 42, 42 // ignored: a new tenant starts at 1
		must(t, s.Tenants().Create(ctx, in))
		got, err := s.Tenants().Get(ctx, "banking")
		must(t, err)
		want := in
		want.CreatedAt, want.UpdatedAt = us(t0), us(t0)
		want.Rev, want.Version = 1, 1
		equal(t, "tenant", got, want)
	}},
	{"create with zero times stamps now in UTC", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		before := time.Now().Add(-time.Second)
		in := newTenant("a")
		in.CreatedAt, in.UpdatedAt = time.Time{}, time.Time{}
		must(t, s.Tenants().Create(ctx, in))
		got, err := s.Tenants().Get(ctx, "a")
		must(t, err)
		utc(t, "tenant", got.CreatedAt, got.UpdatedAt)
		if got.CreatedAt.Before(before) || got.CreatedAt.After(time.Now().Add(time.Second)) {
			t.Fatalf("CreatedAt = %v, want about now", got.CreatedAt)
		}
		equal(t, "UpdatedAt", got.UpdatedAt, got.CreatedAt)
	}},
	{"duplicate ID is ErrConflict", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		must(t, s.Tenants().Create(ctx, newTenant("a")))
		wantErr(t, s.Tenants().Create(ctx, newTenant("a")), store.ErrConflict)
	}},
	{"duplicate domain, in any case, is ErrConflict; empty domains do not collide", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, b := newTenant("a"), newTenant("b")
		a.Domain, b.Domain = "auth.example.com", "AUTH.Example.com"
		must(t, s.Tenants().Create(ctx, a))
		wantErr(t, s.Tenants().Create(ctx, b), store.ErrConflict)
		must(t, s.Tenants().Create(ctx, newTenant("c")))
		must(t, s.Tenants().Create(ctx, newTenant("d")))
	}},
	{"missing tenant is ErrNotFound", func(t *testing.T, s store.Store) {
		_, err := s.Tenants().Get(t.Context(), "nope")
		wantErr(t, err, store.ErrNotFound)
	}},
	{"GetByDomain matches the host without regard to case", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a := newTenant("a")
		a.Domain = "login.example.com"
		must(t, s.Tenants().Create(ctx, a))
		must(t, s.Tenants().Create(ctx, newTenant("b")))
		for _, host := range []string{"login.example.com", "Login.Example.COM"} {
			got, err := s.Tenants().GetByDomain(ctx, host)
			must(t, err)
			equal(t, "tenant of "+host, got.ID, "a")
		}
		for _, host := range []string{"", "example.com", "login.example.com.evil"} {
			_, err := s.Tenants().GetByDomain(ctx, host)
			wantErr(t, err, store.ErrNotFound)
		}
	}},
	{"List orders by ID", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		for _, id := range []string{"m", "b", "z", "a1", "a"} {
			must(t, s.Tenants().Create(ctx, newTenant(id)))
		}
		got, err := s.Tenants().List(ctx)
		must(t, err)
		ids := make([]string, len(got))
		for i, tn := range got {
			ids[i] = tn.ID
		}
		equal(t, "IDs", ids, []string{"a", "a1", "b", "m", "z"})
	}},
	{"Update replaces name, domain and pattern, bumps Version and Rev", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		in := newTenant("a")
		in.Domain = "old.example.com"
		must(t, s.Tenants().Create(ctx, in))
		cur, err := s.Tenants().Get(ctx, "a")
		must(t, err)
		cur.Name, cur.Domain, cur.ScopePattern = "Renamed", "new.example.com", "^x$"
		cur.Issuer = "http://elsewhere/t/a" // an operator moved the public URL
		got, err := s.Tenants().Update(ctx, cur)
		must(t, err)
		equal(t, "version", got.Version, int64(2))
		equal(t, "rev", got.Rev, int64(2))
		equal(t, "name", got.Name, "Renamed")
		equal(t, "domain", got.Domain, "new.example.com")
		equal(t, "pattern", got.ScopePattern, "^x$")
		equal(t, "issuer", got.Issuer, "http://elsewhere/t/a")
		equal(t, "created", got.CreatedAt, us(t0))
		utc(t, "updated", got.UpdatedAt)
		if !got.UpdatedAt.After(got.CreatedAt) {
			t.Fatalf("UpdatedAt %v not after CreatedAt %v", got.UpdatedAt, got.CreatedAt)
		}
		stored, err := s.Tenants().Get(ctx, "a")
		must(t, err)
		equal(t, "stored", stored, got)
		_, err = s.Tenants().GetByDomain(ctx, "old.example.com")
		wantErr(t, err, store.ErrNotFound)
		// Clearing the domain frees it.
		got.Domain = ""
		_, err = s.Tenants().Update(ctx, got)
		must(t, err)
		b := newTenant("b")
		b.Domain = "new.example.com"
		must(t, s.Tenants().Create(ctx, b))
	}},
	{"Update with a stale Version is ErrPrecondition and changes nothing", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		must(t, s.Tenants().Create(ctx, newTenant("a")))
		cur, err := s.Tenants().Get(ctx, "a")
		must(t, err)
		_, err = s.Tenants().Update(ctx, cur)
		must(t, err)
		cur.Name = "lost update"
		_, err = s.Tenants().Update(ctx, cur)
		wantErr(t, err, store.ErrPrecondition)
		got, err := s.Tenants().Get(ctx, "a")
		must(t, err)
		equal(t, "name", got.Name, "Tenant a")
		equal(t, "rev", got.Rev, int64(2))
	}},
	{"Update of a missing tenant is ErrNotFound", func(t *testing.T, s store.Store) {
		tn := newTenant("nope")
		tn.Version = 1
		_, err := s.Tenants().Update(t.Context(), tn)
		wantErr(t, err, store.ErrNotFound)
	}},
	{"Update to a taken domain is ErrConflict", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a := newTenant("a")
		a.Domain = "a.example.com"
		must(t, s.Tenants().Create(ctx, a))
		must(t, s.Tenants().Create(ctx, newTenant("b")))
		b, err := s.Tenants().Get(ctx, "b")
		must(t, err)
		b.Domain = "A.example.com"
		_, err = s.Tenants().Update(ctx, b)
		wantErr(t, err, store.ErrConflict)
	}},
	{"Revs lists every tenant", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		must(t, s.Tenants().Create(ctx, newTenant("a")))
		must(t, s.Tenants().Create(ctx, newTenant("b")))
		must(t, s.Scopes().Create(ctx, model.Scope{TenantID: "b", Name: "openid", Kind: model.KindOIDC}))
		revs, err := s.Tenants().Revs(ctx)
		must(t, err)
		equal(t, "revs", revs, map[string]int64{"a": 1, "b": 2})
	}},
}
