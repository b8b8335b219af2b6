package storetest

import (
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

var apiTests = []test{
	{"create and get round-trip every field", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		must(t, s.Tenants().Create(ctx, newTenant("a")))
		for _, in := range []model.API{
			{TenantID: "a", ID: model.PlatformAPIID, Identifier: "http://localhost:8080/t/a/api/v1", Name: "Platform",
				SigningAlg: model.AlgES256, AccessTokenTTL: time.Hour, Platform: true, CreatedAt: t0, UpdatedAt: t0},
			{TenantID: "a", ID: "bank", Identifier: "https://api.bank.example.com/", Name: "Bank",
				SigningAlg: model.AlgRS256, AccessTokenTTL: 90*time.Second + 5*time.Nanosecond, TokenSizeBudget: 1024, CreatedAt: t0, UpdatedAt: t0},
		} {
			must(t, s.APIs().Create(ctx, in))
			want := in
			want.CreatedAt, want.UpdatedAt, want.Version = us(t0), us(t0), 1
			got, err := s.APIs().Get(ctx, "a", in.ID)
			must(t, err)
			equal(t, "by ID", got, want)
			got, err = s.APIs().GetByIdentifier(ctx, "a", in.Identifier)
			must(t, err)
			equal(t, "by identifier", got, want)
		}
	}},
	{"duplicate ID or identifier is ErrConflict", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		dupID := newAPI("a", "bank")
		dupID.Identifier = "other"
		wantErr(t, s.APIs().Create(ctx, dupID), store.ErrConflict)
		dupIdent := newAPI("a", "other")
		dupIdent.Identifier = newAPI("a", "bank").Identifier
		wantErr(t, s.APIs().Create(ctx, dupIdent), store.ErrConflict)
	}},
	{"missing API is ErrNotFound; unknown tenant on create too", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		_, err := s.APIs().Get(ctx, "a", "nope")
		wantErr(t, err, store.ErrNotFound)
		_, err = s.APIs().GetByIdentifier(ctx, "a", "nope")
		wantErr(t, err, store.ErrNotFound)
		wantErr(t, s.APIs().Create(ctx, newAPI("nope", "x")), store.ErrNotFound)
	}},
	{"List orders by identifier", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		must(t, s.Tenants().Create(ctx, newTenant("a")))
		for id, ident := range map[string]string{"1": "https://z.example", "2": "api.b.example", "3": "Api.c.example", "4": "api.a.example"} {
			a := newAPI("a", id)
			a.Identifier = ident
			must(t, s.APIs().Create(ctx, a))
		}
		got, err := s.APIs().List(ctx, "a")
		must(t, err)
		var idents []string
		for _, a := range got {
			idents = append(idents, a.Identifier)
		}
		equal(t, "identifiers", idents, []string{"Api.c.example", "api.a.example", "api.b.example", "https://z.example"})
	}},
	{"Update replaces identifier, name, alg, TTL and token-size budget with optimistic concurrency", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.APIs().Create(ctx, newAPI("a", "other")))
		cur, err := s.APIs().Get(ctx, "a", "bank")
		must(t, err)
		equal(t, "budget before", cur.TokenSizeBudget, 0)
		cur.Identifier, cur.Name, cur.SigningAlg, cur.AccessTokenTTL = "https://bank.example/", "Bank v2", model.AlgRS256, 2*time.Hour
		cur.TokenSizeBudget = model.MaxTokenSizeBudget
		got, err := s.APIs().Update(ctx, cur)
		must(t, err)
		equal(t, "version", got.Version, int64(2))
		equal(t, "identifier", got.Identifier, "https://bank.example/")
		equal(t, "alg", got.SigningAlg, model.AlgRS256)
		equal(t, "ttl", got.AccessTokenTTL, 2*time.Hour)
		equal(t, "budget", got.TokenSizeBudget, model.MaxTokenSizeBudget)
		// Back to no budget.
		got.TokenSizeBudget = 0
		got, err = s.APIs().Update(ctx, got)
		must(t, err)
		equal(t, "budget removed", got.TokenSizeBudget, 0)
		listed, err := s.APIs().List(ctx, "a")
		must(t, err)
		for _, a := range listed {
			if a.ID == "bank" {
				equal(t, "listed budget", a.TokenSizeBudget, 0)
			}
		}
		equal(t, "created", got.CreatedAt, us(t0))
		_, err = s.APIs().GetByIdentifier(ctx, "a", newAPI("a", "bank").Identifier)
		wantErr(t, err, store.ErrNotFound)
		_, err = s.APIs().Update(ctx, cur)
		wantErr(t, err, store.ErrPrecondition)
		taken, err := s.APIs().Get(ctx, "a", "other")
		must(t, err)
		taken.Identifier = "https://bank.example/"
		_, err = s.APIs().Update(ctx, taken)
		wantErr(t, err, store.ErrConflict)
		missing := newAPI("a", "nope")
		missing.Version = 1
		_, err = s.APIs().Update(ctx, missing)
		wantErr(t, err, store.ErrNotFound)
	}},
	{"Delete is ErrConflict while scopes name the API", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "read")))
		wantErr(t, s.APIs().Delete(ctx, "a", "bank", 0), store.ErrConflict)
		_, err := s.APIs().Get(ctx, "a", "bank")
		must(t, err)
		_, err = s.Scopes().Delete(ctx, "a", "read", 0)
		must(t, err)
		must(t, s.APIs().Delete(ctx, "a", "bank", 0))
		_, err = s.APIs().Get(ctx, "a", "bank")
		wantErr(t, err, store.ErrNotFound)
		wantErr(t, s.APIs().Delete(ctx, "a", "bank", 0), store.ErrNotFound)
	}},
}
