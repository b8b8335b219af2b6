package storetest

import (
	"testing"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

var scopeTests = []test{
	{"create and get round-trip every field", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		oidc := model.PredefinedOIDCScopes()[1] // profile, with claims
		oidc.TenantID, oidc.CreatedAt, oidc.UpdatedAt = "a", t0, t0
		custom := newScope("a", "bank", "transactions:write", "transactions:read", "accounts:read")
		for _, in := range []model.Scope{oidc, custom} {
			must(t, s.Scopes().Create(ctx, in))
			got, err := s.Scopes().Get(ctx, "a", in.Name)
			must(t, err)
			want := in
			want.CreatedAt, want.UpdatedAt, want.Version = us(t0), us(t0), 1
			equal(t, "scope "+in.Name, got, want)
		}
	}},
	{"implies keep their order and repeats are stored once", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "x", "c", "a", "b", "a")))
		got, err := s.Scopes().Get(ctx, "a", "x")
		must(t, err)
		equal(t, "implies", got.Implies, []string{"c", "a", "b"})
	}},
	{"duplicate name is ErrConflict", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "read")))
		wantErr(t, s.Scopes().Create(ctx, newScope("a", "bank", "read")), store.ErrConflict)
	}},
	{"names are case-sensitive", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "read")))
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "Read")))
		_, err := s.Scopes().Get(ctx, "a", "READ")
		wantErr(t, err, store.ErrNotFound)
	}},
	{"unknown API or tenant is ErrNotFound", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		wantErr(t, s.Scopes().Create(ctx, newScope("a", "nope", "read")), store.ErrNotFound)
		wantErr(t, s.Scopes().Create(ctx, newScope("nope", "bank", "read")), store.ErrNotFound)
		_, err := s.Scopes().Get(ctx, "a", "read")
		wantErr(t, err, store.ErrNotFound)
	}},
	{"Update replaces display name, description, implies and claims only", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.APIs().Create(ctx, newAPI("a", "other")))
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "x", "y", "z")))
		cur, err := s.Scopes().Get(ctx, "a", "x")
		must(t, err)
		cur.DisplayName, cur.Description, cur.Implies = "New", "New text", []string{"z", "w"}
		cur.Kind, cur.APIID = model.KindPlatform, "other" // not replaced
		got, err := s.Scopes().Update(ctx, cur)
		must(t, err)
		equal(t, "display", got.DisplayName, "New")
		equal(t, "description", got.Description, "New text")
		equal(t, "implies", got.Implies, []string{"z", "w"})
		equal(t, "kind", got.Kind, model.KindCustom)
		equal(t, "api", got.APIID, "bank")
		equal(t, "version", got.Version, int64(2))
		equal(t, "created", got.CreatedAt, us(t0))
		stored, err := s.Scopes().Get(ctx, "a", "x")
		must(t, err)
		equal(t, "stored", stored, got)

		oidc := model.Scope{TenantID: "a", Name: "email", Kind: model.KindOIDC, Claims: []string{"email"}}
		must(t, s.Scopes().Create(ctx, oidc))
		oidc.Version, oidc.Claims = 1, []string{"email", "email_verified"}
		got, err = s.Scopes().Update(ctx, oidc)
		must(t, err)
		equal(t, "claims", got.Claims, []string{"email", "email_verified"})
		got.Claims = nil
		got, err = s.Scopes().Update(ctx, got)
		must(t, err)
		equal(t, "claims cleared", got.Claims, []string(nil))
	}},
	{"Update with a stale Version is ErrPrecondition, of a missing scope ErrNotFound", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "x")))
		cur, err := s.Scopes().Get(ctx, "a", "x")
		must(t, err)
		_, err = s.Scopes().Update(ctx, cur)
		must(t, err)
		cur.Description = "lost"
		_, err = s.Scopes().Update(ctx, cur)
		wantErr(t, err, store.ErrPrecondition)
		got, err := s.Scopes().Get(ctx, "a", "x")
		must(t, err)
		equal(t, "description", got.Description, "Lets the app use x")
		missing := newScope("a", "bank", "nope")
		missing.Version = 1
		_, err = s.Scopes().Update(ctx, missing)
		wantErr(t, err, store.ErrNotFound)
	}},
	{"List pages by name in byte order with the total, filtered by kind", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		var custom []string
		for _, n := range append(seq("s:", 40), "Zeta", "alpha", "B.x", "b_y") {
			custom = append(custom, n)
			must(t, s.Scopes().Create(ctx, newScope("a", "bank", n)))
		}
		for _, sc := range model.PredefinedOIDCScopes() {
			sc.TenantID = "a"
			must(t, s.Scopes().Create(ctx, sc))
		}
		custom = sorted(custom)
		page, total, err := s.Scopes().List(ctx, "a", model.KindCustom, store.Page{})
		must(t, err)
		equal(t, "total", total, 44)
		equal(t, "page 1 (default 20)", scopeNames(page), custom[:20])
		page, total, err = s.Scopes().List(ctx, "a", model.KindCustom, store.Page{Offset: 40, Limit: 20})
		must(t, err)
		equal(t, "last page", scopeNames(page), custom[40:])
		equal(t, "total on last page", total, 44)
		page, total, err = s.Scopes().List(ctx, "a", model.KindCustom, store.Page{Offset: 100, Limit: 20})
		must(t, err)
		equal(t, "past the end", len(page), 0)
		equal(t, "total past the end", total, 44)
		page, total, err = s.Scopes().List(ctx, "a", model.KindOIDC, store.Page{Limit: 3})
		must(t, err)
		equal(t, "oidc", scopeNames(page), []string{"address", "email", "offline_access"})
		equal(t, "oidc total", total, 6)
		page, total, err = s.Scopes().List(ctx, "a", "", store.Page{Limit: 1000})
		must(t, err)
		equal(t, "every kind", total, 50)
		equal(t, "every kind, sorted", scopeNames(page), sorted(scopeNames(page)))
		all, err := s.Scopes().All(ctx, "a")
		must(t, err)
		equal(t, "All", scopeNames(all), scopeNames(page))
		page, total, err = s.Scopes().List(ctx, "empty", "", store.Page{})
		must(t, err)
		equal(t, "unknown tenant", len(page)+total, 0)
	}},
	{"Holders lists the applications whose allowlist holds the scope, sorted", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "read")))
		must(t, s.Applications().Create(ctx, newApp("a", "zeta", "read")))
		must(t, s.Applications().Create(ctx, newApp("a", "alpha", "other", "read")))
		must(t, s.Applications().Create(ctx, newApp("a", "mid", "other")))
		got, err := s.Scopes().Holders(ctx, "a", "read")
		must(t, err)
		equal(t, "holders", got, []string{"alpha", "zeta"})
		got, err = s.Scopes().Holders(ctx, "a", "unused")
		must(t, err)
		equal(t, "no holders", len(got), 0)
	}},
	{"Rename rewrites allowlists and implies, and bumps their versions", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "acct:read")))
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "acct:write", "acct:read")))
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "admin", "other", "acct:read", "acct:write")))
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "unrelated", "other")))
		must(t, s.Applications().Create(ctx, newApp("a", "app1", "openid", "acct:read", "acct:write")))
		must(t, s.Applications().Create(ctx, newApp("a", "app2", "acct:write")))
		// Allowlists may hold names the registry does not (yet) know.
		must(t, s.Applications().Create(ctx, newApp("a", "app3", "accounts:read", "acct:read")))

		got, err := s.Scopes().Rename(ctx, "a", "acct:read", "accounts:read", 0)
		must(t, err)
		equal(t, "name", got.Name, "accounts:read")
		equal(t, "version", got.Version, int64(2))
		equal(t, "description kept", got.Description, "Lets the app use acct:read")
		_, err = s.Scopes().Get(ctx, "a", "acct:read")
		wantErr(t, err, store.ErrNotFound)

		for name, want := range map[string][]string{
			"acct:write": {"accounts:read"},
			"admin":      {"other", "accounts:read", "acct:write"},
			"unrelated":  {"other"},
		} {
			sc, err := s.Scopes().Get(ctx, "a", name)
			must(t, err)
			equal(t, name+" implies", sc.Implies, want)
			wantVersion := int64(2)
			if name == "unrelated" {
				wantVersion = 1
			}
			equal(t, name+" version", sc.Version, wantVersion)
		}
		for id, want := range map[string]struct {
			allowed []string
			version int64
		}{
			"app1": {[]string{"openid", "accounts:read", "acct:write"}, 2},
			"app2": {[]string{"acct:write"}, 1},
			"app3": {[]string{"accounts:read"}, 2}, // held both names: kept once
		} {
			app, err := s.Applications().Get(ctx, "a", id)
			must(t, err)
			equal(t, id+" allowlist", app.AllowedScopes, want.allowed)
			equal(t, id+" version", app.Version, want.version)
		}
		holders, err := s.Scopes().Holders(ctx, "a", "accounts:read")
		must(t, err)
		equal(t, "holders", holders, []string{"app1", "app3"})
		holders, err = s.Scopes().Holders(ctx, "a", "acct:read")
		must(t, err)
		equal(t, "old holders", len(holders), 0)

		// The renamed scope keeps its own implies.
		got, err = s.Scopes().Rename(ctx, "a", "admin", "bank:admin", 0)
		must(t, err)
		equal(t, "renamed implies", got.Implies, []string{"other", "accounts:read", "acct:write"})
	}},
	{"Rename to a taken name is ErrConflict and changes nothing; of a missing scope ErrNotFound", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "a")))
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "b", "a")))
		must(t, s.Applications().Create(ctx, newApp("a", "app", "a")))
		r := rev(t, s, "a")
		_, err := s.Scopes().Rename(ctx, "a", "a", "b", 0)
		wantErr(t, err, store.ErrConflict)
		app, err := s.Applications().Get(ctx, "a", "app")
		must(t, err)
		equal(t, "allowlist", app.AllowedScopes, []string{"a"})
		equal(t, "app version", app.Version, int64(1))
		b, err := s.Scopes().Get(ctx, "a", "b")
		must(t, err)
		equal(t, "implies", b.Implies, []string{"a"})
		equal(t, "rev", rev(t, s, "a"), r)
		_, err = s.Scopes().Rename(ctx, "a", "nope", "new", 0)
		wantErr(t, err, store.ErrNotFound)
	}},
	{"Delete removes the scope from allowlists and implies and reports the holders", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "read")))
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "write", "read", "other")))
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "other")))
		must(t, s.Applications().Create(ctx, newApp("a", "zeta", "write", "read")))
		must(t, s.Applications().Create(ctx, newApp("a", "alpha", "read")))
		must(t, s.Applications().Create(ctx, newApp("a", "beta", "write")))
		impact, err := s.Scopes().Holders(ctx, "a", "read")
		must(t, err)
		removed, err := s.Scopes().Delete(ctx, "a", "read", 0)
		must(t, err)
		equal(t, "removed from", removed, []string{"alpha", "zeta"})
		equal(t, "holders before = removed", impact, removed)
		_, err = s.Scopes().Get(ctx, "a", "read")
		wantErr(t, err, store.ErrNotFound)
		w, err := s.Scopes().Get(ctx, "a", "write")
		must(t, err)
		equal(t, "implies", w.Implies, []string{"other"})
		equal(t, "implier version", w.Version, int64(2))
		for id, want := range map[string][]string{"zeta": {"write"}, "alpha": nil, "beta": {"write"}} {
			app, err := s.Applications().Get(ctx, "a", id)
			must(t, err)
			equal(t, id+" allowlist", app.AllowedScopes, want)
			wantVersion := int64(2)
			if id == "beta" {
				wantVersion = 1
			}
			equal(t, id+" version", app.Version, wantVersion)
		}
		removed, err = s.Scopes().Delete(ctx, "a", "other", 0)
		must(t, err)
		equal(t, "no holders", len(removed), 0)
		_, err = s.Scopes().Delete(ctx, "a", "read", 0)
		wantErr(t, err, store.ErrNotFound)
		// The name is free again, and a new scope under it is on no allowlist.
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "read")))
		holders, err := s.Scopes().Holders(ctx, "a", "read")
		must(t, err)
		equal(t, "new scope holders", len(holders), 0)
	}},
}
