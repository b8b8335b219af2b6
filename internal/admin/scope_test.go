package admin

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

func TestCreateScope(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	sc, err := f.svc.CreateScope(ctx, f.actor, "acme", ScopeInput{Name: "approve:tx", DisplayName: "Approve", Description: "Approve payments.", API: "api.bank.example", Implies: []string{"read:tx", "openid", "read:tx"}})
	if err != nil {
		t.Fatal(err)
	}
	if sc.Kind != model.KindCustom || sc.APIID != "bank" || !slices.Equal(sc.Implies, []string{"read:tx", "openid"}) {
		t.Fatalf("scope = %+v", sc)
	}
	ev := f.lastEvent(t, "acme")
	if ev.Type != model.EventScopeCreated || !slices.Equal(ev.Scopes, []string{"approve:tx"}) || ev.Audience != "api.bank.example" {
		t.Fatalf("event = %+v", ev)
	}
	// PRODUCT.md §4: a new custom scope is on no allowlist.
	imp, err := f.svc.Impact(ctx, f.actor, "acme", "approve:tx")
	if err != nil || len(imp.Applications) != 0 || !imp.Deletable {
		t.Fatalf("impact = %+v, %v", imp, err)
	}
}

func TestCreateScopeRefusals(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	pattern := `^[a-z]+:[a-z]+$`
	if _, err := f.svc.UpdateTenant(ctx, f.actor, "acme", TenantUpdate{ScopePattern: &pattern}); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", model.MaxDescription+1)
	cases := []struct {
		name     string
		in       ScopeInput
		mentions []string
	}{
		{"missing description and API", ScopeInput{Name: "a:b"}, []string{"description", "api"}},
		{"description over 120 characters", ScopeInput{Name: "a:b", Description: long, API: "bank"}, []string{"121 characters"}},
		{"name must start with a letter", ScopeInput{Name: "1abc", Description: "d", API: "bank"}, []string{"start with a letter"}},
		{"name longer than 64", ScopeInput{Name: "a:" + strings.Repeat("b", 63), Description: "d", API: "bank"}, []string{"1–64"}},
		{"tenant naming pattern", ScopeInput{Name: "Read_Tx", Description: "d", API: "bank"}, []string{"naming pattern"}},
		{"unknown API", ScopeInput{Name: "a:b", Description: "d", API: "api.nope"}, []string{`no API "api.nope"`}},
		{"platform API", ScopeInput{Name: "a:b", Description: "d", API: model.PlatformAPIID}, []string{"platform API"}},
		{"implies unknown scope", ScopeInput{Name: "a:b", Description: "d", API: "bank", Implies: []string{"x:y"}}, []string{"unknown scopes: x:y"}},
		{"implies another API's scope", ScopeInput{Name: "a:b", Description: "d", API: "bank", Implies: []string{"read:records", "users:read"}}, []string{"read:records users:read"}},
		{"implies itself", ScopeInput{Name: "a:b", Description: "d", API: "bank", Implies: []string{"a:b"}}, []string{"imply itself"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := len(f.events(t, "acme"))
			_, err := f.svc.CreateScope(ctx, f.actor, "acme", tc.in)
			wantInvalid(t, err, tc.mentions...)
			f.unchanged(t, "acme", n)
			if _, err := f.st.Scopes().Get(ctx, "acme", tc.in.Name); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("refused scope was stored (%v)", err)
			}
		})
	}
	n := len(f.events(t, "acme"))
	if _, err := f.svc.CreateScope(ctx, f.actor, "acme", ScopeInput{Name: "read:tx", Description: "dup", API: "bank"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := f.svc.CreateScope(ctx, f.actor, "nope", ScopeInput{Name: "a:b", Description: "d", API: "bank"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown tenant: %v", err)
	}
	f.unchanged(t, "acme", n)
}

func TestUpdateScope(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	desc, display := "Read every transaction.", "Transactions"
	sc, err := f.svc.UpdateScope(ctx, f.actor, "acme", "read:tx", ScopeUpdate{Description: &desc, DisplayName: &display})
	if err != nil || sc.Description != desc || sc.DisplayName != display {
		t.Fatalf("update = %+v, %v", sc, err)
	}
	ev := f.lastEvent(t, "acme")
	d := details(t, ev)
	if ev.Type != model.EventScopeUpdated || d["before"].(map[string]any)["description"] != "Read transactions." || d["after"].(map[string]any)["description"] != desc {
		t.Fatalf("event = %s %s", ev.Type, ev.Details)
	}
	// Predefined: description yes, implies no.
	pd := "Read the users of this tenant."
	if _, err := f.svc.UpdateScope(ctx, f.actor, "acme", "users:read", ScopeUpdate{Description: &pd}); err != nil {
		t.Fatal(err)
	}
	n := len(f.events(t, "acme"))
	imp := []string{"users:read"}
	_, err = f.svc.UpdateScope(ctx, f.actor, "acme", "users:write", ScopeUpdate{Implies: &imp})
	wantInvalid(t, err, "predefined")
	empty := ""
	_, err = f.svc.UpdateScope(ctx, f.actor, "acme", "read:tx", ScopeUpdate{Description: &empty})
	wantInvalid(t, err, "description")
	foreign := []string{"read:records"}
	_, err = f.svc.UpdateScope(ctx, f.actor, "acme", "write:tx", ScopeUpdate{Implies: &foreign})
	wantInvalid(t, err, "another API")
	_, err = f.svc.UpdateScope(ctx, f.actor, "acme", "read:tx", ScopeUpdate{Description: &desc, Version: sc.Version - 1})
	if !errors.Is(err, store.ErrPrecondition) {
		t.Fatalf("stale version: %v", err)
	}
	f.unchanged(t, "acme", n)
}

func TestRenameScopePropagates(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	if _, err := f.svc.CreateApplication(ctx, f.actor, "acme", ApplicationInput{ClientID: "job", Type: model.AppM2M, AllowedScopes: []string{"read:tx"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateRole(ctx, f.actor, "acme", RoleInput{Name: "teller", Scopes: []string{"read:tx"}}); err != nil {
		t.Fatal(err)
	}
	sc, err := f.svc.RenameScope(ctx, f.actor, "acme", "read:tx", "view:tx", 0)
	if err != nil || sc.Name != "view:tx" {
		t.Fatalf("rename = %+v, %v", sc, err)
	}
	app, _ := f.svc.GetApplication(ctx, f.actor, "acme", "job")
	if !slices.Equal(app.AllowedScopes, []string{"view:tx"}) {
		t.Fatalf("allowlist after rename = %v", app.AllowedScopes)
	}
	w, _ := f.svc.GetScope(ctx, f.actor, "acme", "write:tx")
	if !slices.Equal(w.Implies, []string{"view:tx"}) {
		t.Fatalf("implies after rename = %v", w.Implies)
	}
	ev := f.lastEvent(t, "acme")
	d := details(t, ev)
	if r, _ := f.svc.GetRole(ctx, f.actor, "acme", "teller"); !slices.Equal(r.Role.Scopes, []string{"view:tx"}) {
		t.Fatalf("role after rename = %v", r.Role.Scopes)
	}
	if ev.Type != model.EventScopeRenamed || d["from"] != "read:tx" || d["to"] != "view:tx" || len(d["applications"].([]any)) != 1 ||
		fmt.Sprint(d["roles"]) != "[teller]" {
		t.Fatalf("event = %s %s", ev.Type, ev.Details)
	}

	n := len(f.events(t, "acme"))
	_, err = f.svc.RenameScope(ctx, f.actor, "acme", "openid", "oid", 0)
	wantInvalid(t, err, "predefined")
	if _, err := f.svc.RenameScope(ctx, f.actor, "acme", "view:tx", "write:tx", 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("rename onto an existing name: %v", err)
	}
	_, err = f.svc.RenameScope(ctx, f.actor, "acme", "view:tx", "9bad", 0)
	wantInvalid(t, err, "start with a letter")
	if _, err := f.svc.RenameScope(ctx, f.actor, "acme", "nope", "x", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown scope: %v", err)
	}
	f.unchanged(t, "acme", n)
}

func TestDeleteScope(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	for _, id := range []string{"b-job", "a-job"} {
		if _, err := f.svc.CreateApplication(ctx, f.actor, "acme", ApplicationInput{ClientID: id, Type: model.AppM2M, AllowedScopes: []string{"read:tx", "write:tx"}}); err != nil {
			t.Fatal(err)
		}
	}
	// A role and a user's consent hold the scope too (PRODUCT.md §4: a
	// delete removes it from every application, role and consent).
	for _, r := range []RoleInput{{Name: "teller", Scopes: []string{"read:tx"}}, {Name: "auditor", Scopes: []string{"read:tx", "read:records"}}} {
		if _, err := f.svc.CreateRole(ctx, f.actor, "acme", r); err != nil {
			t.Fatal(err)
		}
	}
	u := f.user(t, "alice", "teller")
	if _, err := f.st.Consents().Grant(ctx, "acme", u.ID, "a-job", []string{"read:tx", "write:tx"}); err != nil {
		t.Fatal(err)
	}
	imp, err := f.svc.Impact(ctx, f.actor, "acme", "read:tx")
	if err != nil || !slices.Equal(imp.Applications, []string{"a-job", "b-job"}) || !slices.Equal(imp.Roles, []string{"auditor", "teller"}) || imp.Consents != 1 {
		t.Fatalf("impact = %+v, %v", imp, err)
	}
	removed, err := f.svc.DeleteScope(ctx, f.actor, "acme", "read:tx", 0)
	if err != nil || !slices.Equal(removed.Applications, []string{"a-job", "b-job"}) || !slices.Equal(removed.Roles, []string{"auditor", "teller"}) || removed.Consents != 1 {
		t.Fatalf("delete = %+v, %v", removed, err)
	}
	app, _ := f.svc.GetApplication(ctx, f.actor, "acme", "a-job")
	if !slices.Equal(app.AllowedScopes, []string{"write:tx"}) {
		t.Fatalf("allowlist = %v", app.AllowedScopes)
	}
	if r, _ := f.svc.GetRole(ctx, f.actor, "acme", "auditor"); !slices.Equal(r.Role.Scopes, []string{"read:records"}) {
		t.Fatalf("role scopes after delete = %v", r.Role.Scopes)
	}
	if c, err := f.st.Consents().Get(ctx, "acme", u.ID, "a-job"); err != nil || !slices.Equal(c.Scopes, []string{"write:tx"}) {
		t.Fatalf("consent after delete = %v, %v", c.Scopes, err)
	}
	ev := f.lastEvent(t, "acme")
	d := details(t, ev)
	if ev.Type != model.EventScopeDeleted || len(d["removed_from"].([]any)) != 2 || len(d["roles"].([]any)) != 2 || d["consents"] != float64(1) {
		t.Fatalf("event = %s %s", ev.Type, ev.Details)
	}

	n := len(f.events(t, "acme"))
	_, err = f.svc.DeleteScope(ctx, f.actor, "acme", "openid", 0)
	wantInvalid(t, err, "predefined", "cannot be deleted")
	_, err = f.svc.DeleteScope(ctx, f.actor, "acme", "users:read", 0)
	wantInvalid(t, err, "predefined")
	if _, err := f.svc.DeleteScope(ctx, f.actor, "acme", "read:tx", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	f.unchanged(t, "acme", n)
	imp, err = f.svc.Impact(ctx, f.actor, "acme", "openid")
	if err != nil || imp.Deletable {
		t.Fatalf("openid impact = %+v, %v", imp, err)
	}
}

func TestListScopesAlphabeticalPaged(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	for _, n := range []string{"zeta:x", "alpha:x", "mid:x"} {
		if _, err := f.svc.CreateScope(ctx, f.actor, "acme", ScopeInput{Name: n, Description: "d", API: "bank"}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := f.svc.ListScopes(ctx, f.actor, "acme", model.KindCustom, store.Page{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 6 || len(page.Scopes) != 2 || page.Scopes[0].Name != "alpha:x" || page.Scopes[1].Name != "mid:x" {
		t.Fatalf("page 1 = %d %v", page.Total, names(page.Scopes))
	}
	page, _ = f.svc.ListScopes(ctx, f.actor, "acme", model.KindCustom, store.Page{Offset: 4, Limit: 2})
	if got := names(page.Scopes); !slices.Equal(got, []string{"write:tx", "zeta:x"}) {
		t.Fatalf("last page = %v", got)
	}
	page, _ = f.svc.ListScopes(ctx, f.actor, "acme", "", store.Page{})
	if page.Page.Limit != DefaultPageSize || len(page.Scopes) != DefaultPageSize {
		t.Fatalf("default page size: %d scopes, limit %d", len(page.Scopes), page.Page.Limit)
	}
	if !slices.IsSorted(names(page.Scopes)) {
		t.Fatal("not alphabetical")
	}
}

func names(scopes []model.Scope) []string {
	var out []string
	for _, s := range scopes {
		out = append(out, s.Name)
	}
	return out
}
