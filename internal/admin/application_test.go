package admin

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/secret"
	"github.com/intelliauth/intelliauth/internal/store"
)

// liveSecret reports whether plain authenticates the client now.
func (f *fixture) liveSecret(t *testing.T, clientID, plain string) bool {
	t.Helper()
	secrets, err := f.st.Applications().Secrets(t.Context(), "acme", clientID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if s.ActiveAt(f.clock.Now()) && secret.Equal(s.Hash, plain) {
			return true
		}
	}
	return false
}

func TestCreateApplicationDefaults(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	m2m, err := f.svc.CreateApplication(ctx, f.actor, "acme", ApplicationInput{ClientID: "job", Name: "Job", Type: model.AppM2M, AllowedScopes: []string{"write:tx", "read:tx", "read:tx"}})
	if err != nil {
		t.Fatal(err)
	}
	a := m2m.Application
	if !slices.Equal(a.GrantTypes, []string{model.GrantClientCredentials}) || a.ScopePolicy != model.PolicyStrict || a.Consent != model.ConsentRequired {
		t.Fatalf("m2m defaults: %+v", a)
	}
	if !slices.Equal(a.AllowedScopes, []string{"read:tx", "write:tx"}) {
		t.Fatalf("allowlist = %v", a.AllowedScopes)
	}
	if len(m2m.Secret) < 43 || !f.liveSecret(t, "job", m2m.Secret) {
		t.Fatalf("m2m secret %q is not a stored 256-bit secret", m2m.Secret)
	}
	ev := f.lastEvent(t, "acme")
	if ev.Type != model.EventApplicationCreated || ev.ClientID != "job" || strings.Contains(string(ev.Details), m2m.Secret) {
		t.Fatalf("event = %+v", ev)
	}

	spa, err := f.svc.CreateApplication(ctx, f.actor, "acme", ApplicationInput{Type: model.AppSPA, RedirectURIs: []string{"http://localhost:3000/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	if spa.Secret != "" || spa.Application.ClientID == "" || !slices.Equal(spa.Application.GrantTypes, []string{model.GrantAuthorizationCode, model.GrantRefreshToken}) {
		t.Fatalf("spa: %+v", spa)
	}
	if s, _ := f.st.Applications().Secrets(ctx, "acme", spa.Application.ClientID); len(s) != 0 {
		t.Fatal("a public client got a secret")
	}
	web, err := f.svc.CreateApplication(ctx, f.actor, "acme", ApplicationInput{ClientID: "web", Type: model.AppWeb, RedirectURIs: []string{"https://app.example/cb"}})
	if err != nil || web.Secret == "" {
		t.Fatalf("web: %+v, %v", web, err)
	}
}

func TestCreateApplicationRefusals(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	if _, err := f.svc.CreateApplication(ctx, f.actor, "acme", ApplicationInput{ClientID: "job", Type: model.AppM2M}); err != nil {
		t.Fatal(err)
	}
	n := len(f.events(t, "acme"))
	cases := []struct {
		name     string
		in       ApplicationInput
		mentions []string
	}{
		{"unknown scopes are named", ApplicationInput{ClientID: "a", Type: model.AppM2M, AllowedScopes: []string{"read:tx", "nope:1", "nope:2"}}, []string{"nope:1 nope:2"}},
		{"spa without redirect URI", ApplicationInput{ClientID: "a", Type: model.AppSPA}, []string{"redirect URI"}},
		{"spa cannot use client_credentials", ApplicationInput{ClientID: "a", Type: model.AppSPA, GrantTypes: []string{model.GrantClientCredentials}}, []string{"confidential"}},
		{"unknown type and policy", ApplicationInput{ClientID: "a", Type: "robot", ScopePolicy: "lenient"}, []string{"type", "scope_policy"}},
		{"http redirect off loopback", ApplicationInput{ClientID: "a", Type: model.AppWeb, RedirectURIs: []string{"http://app.example/cb"}}, []string{"loopback"}},
		{"client id with a colon", ApplicationInput{ClientID: "a:b", Type: model.AppM2M}, []string{"client_id"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.CreateApplication(ctx, f.actor, "acme", tc.in)
			wantInvalid(t, err, tc.mentions...)
			if _, err := f.st.Applications().Get(ctx, "acme", tc.in.ClientID); !errors.Is(err, store.ErrNotFound) {
				t.Fatal("refused application was stored")
			}
		})
	}
	if _, err := f.svc.CreateApplication(ctx, f.actor, "acme", ApplicationInput{ClientID: "job", Type: model.AppM2M}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate client id: %v", err)
	}
	f.unchanged(t, "acme", n)
}

func TestAllowlist(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	c, err := f.svc.CreateApplication(ctx, f.actor, "acme", ApplicationInput{ClientID: "job", Type: model.AppM2M, AllowedScopes: []string{"read:tx"}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.svc.AddAllowedScopes(ctx, f.actor, "acme", "job", []string{"write:tx", "users:read"}, c.Application.Version)
	if err != nil || !slices.Equal(a.AllowedScopes, []string{"read:tx", "users:read", "write:tx"}) {
		t.Fatalf("add = %v, %v", a.AllowedScopes, err)
	}
	ev := f.lastEvent(t, "acme")
	d := details(t, ev)
	if ev.Type != model.EventAppScopesChanged || ev.ClientID != "job" || len(d["added"].([]any)) != 2 || len(d["removed"].([]any)) != 0 {
		t.Fatalf("add event = %s %s", ev.Type, ev.Details)
	}
	a, err = f.svc.RemoveAllowedScopes(ctx, f.actor, "acme", "job", []string{"read:tx", "not-held"}, 0)
	if err != nil || !slices.Equal(a.AllowedScopes, []string{"users:read", "write:tx"}) {
		t.Fatalf("remove = %v, %v", a.AllowedScopes, err)
	}
	if d := details(t, f.lastEvent(t, "acme")); d["removed"].([]any)[0] != "read:tx" {
		t.Fatalf("remove event = %v", d)
	}
	a, err = f.svc.SetAllowedScopes(ctx, f.actor, "acme", "job", []string{"read:records"}, a.Version)
	if err != nil || !slices.Equal(a.AllowedScopes, []string{"read:records"}) {
		t.Fatalf("set = %v, %v", a.AllowedScopes, err)
	}
	if ev := f.lastEvent(t, "acme"); !slices.Equal(ev.Scopes, []string{"read:records", "users:read", "write:tx"}) {
		t.Fatalf("set event scopes = %v", ev.Scopes)
	}

	n := len(f.events(t, "acme"))
	// No change: nothing written.
	if _, err := f.svc.SetAllowedScopes(ctx, f.actor, "acme", "job", []string{"read:records"}, 0); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.AddAllowedScopes(ctx, f.actor, "acme", "job", []string{"read:tx", "ghost", "phantom"}, 0)
	wantInvalid(t, err, "ghost phantom")
	_, err = f.svc.SetAllowedScopes(ctx, f.actor, "acme", "job", []string{"bad scope\""}, 0)
	wantInvalid(t, err, "not a valid scope name")
	if _, err := f.svc.SetAllowedScopes(ctx, f.actor, "acme", "job", []string{"read:tx"}, a.Version-1); !errors.Is(err, store.ErrPrecondition) {
		t.Fatalf("stale version: %v", err)
	}
	if _, err := f.svc.SetAllowedScopes(ctx, f.actor, "acme", "nobody", []string{"read:tx"}, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown app: %v", err)
	}
	f.unchanged(t, "acme", n)
	got, _ := f.svc.GetApplication(ctx, f.actor, "acme", "job")
	if !slices.Equal(got.AllowedScopes, []string{"read:records"}) {
		t.Fatalf("refused changes altered the allowlist: %v", got.AllowedScopes)
	}
}

func TestRotateSecret(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	c, err := f.svc.CreateApplication(ctx, f.actor, "acme", ApplicationInput{ClientID: "job", Type: model.AppM2M})
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.svc.RotateSecret(ctx, f.actor, "acme", "job", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if r.Secret == c.Secret || !f.liveSecret(t, "job", r.Secret) || !f.liveSecret(t, "job", c.Secret) {
		t.Fatal("both secrets must work during the grace period")
	}
	ev := f.lastEvent(t, "acme")
	if ev.Type != model.EventAppSecretRotated || strings.Contains(string(ev.Details), r.Secret) || strings.Contains(string(ev.Details), c.Secret) {
		t.Fatalf("event = %s %s", ev.Type, ev.Details)
	}
	f.clock.Advance(time.Hour + time.Second)
	if f.liveSecret(t, "job", c.Secret) || !f.liveSecret(t, "job", r.Secret) {
		t.Fatal("after the grace period only the new secret works")
	}
	r2, err := f.svc.RotateSecret(ctx, f.actor, "acme", "job", 0)
	if err != nil || f.liveSecret(t, "job", r.Secret) || !f.liveSecret(t, "job", r2.Secret) {
		t.Fatalf("grace 0 ends the old secret at once (%v)", err)
	}

	if _, err := f.svc.CreateApplication(ctx, f.actor, "acme", ApplicationInput{ClientID: "spa", Type: model.AppSPA, RedirectURIs: []string{"http://localhost/cb"}}); err != nil {
		t.Fatal(err)
	}
	n := len(f.events(t, "acme"))
	_, err = f.svc.RotateSecret(ctx, f.actor, "acme", "spa", 0)
	wantInvalid(t, err, "public")
	_, err = f.svc.RotateSecret(ctx, f.actor, "acme", "job", -time.Second)
	wantInvalid(t, err, "grace")
	f.unchanged(t, "acme", n)
}

func TestUpdateAndDeleteApplication(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	c, err := f.svc.CreateApplication(ctx, f.actor, "acme", ApplicationInput{ClientID: "job", Type: model.AppM2M})
	if err != nil {
		t.Fatal(err)
	}
	perm, name := model.PolicyPermissive, "Nightly job"
	a, err := f.svc.UpdateApplication(ctx, f.actor, "acme", "job", ApplicationUpdate{ScopePolicy: &perm, Name: &name, Version: c.Application.Version})
	if err != nil || a.ScopePolicy != perm || a.Name != name {
		t.Fatalf("update = %+v, %v", a, err)
	}
	ev := f.lastEvent(t, "acme")
	if d := details(t, ev); ev.Type != model.EventApplicationUpdated || d["before"].(map[string]any)["scope_policy"] != "strict" {
		t.Fatalf("event = %s %s", ev.Type, ev.Details)
	}
	n := len(f.events(t, "acme"))
	bad := []string{model.GrantAuthorizationCode}
	_, err = f.svc.UpdateApplication(ctx, f.actor, "acme", "job", ApplicationUpdate{GrantTypes: &bad})
	wantInvalid(t, err, "not m2m")
	f.unchanged(t, "acme", n)

	page, err := f.svc.ListApplications(ctx, f.actor, "acme", store.Page{})
	if err != nil || page.Total != 2 { // job and the tenant's console
		t.Fatalf("list = %+v, %v", page, err)
	}
	if err := f.svc.DeleteApplication(ctx, f.actor, "acme", "job", 0); err != nil {
		t.Fatal(err)
	}
	if ev := f.lastEvent(t, "acme"); ev.Type != model.EventApplicationDeleted {
		t.Fatalf("event = %s", ev.Type)
	}
	if err := f.svc.DeleteApplication(ctx, f.actor, "acme", "job", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}
