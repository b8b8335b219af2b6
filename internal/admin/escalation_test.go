package admin

import (
	"errors"
	"slices"
	"testing"

	"github.com/intelliauth/intelliauth/internal/model"
)

// TestPlatformScopeEscalationActors (issue 9, defect 4: "applications:write
// is equivalent to every platform scope"): the rule holds for every actor
// by its token's scopes; only the operator's explicit System actor holds
// every platform scope — a system-typed actor built any other way does not.
// The HTTP attack itself is in internal/api's escalation_test.go.
func TestPlatformScopeEscalationActors(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	if _, err := f.svc.CreateApplication(ctx, f.actor, "acme", ApplicationInput{ClientID: "ops", Type: model.AppM2M, AllowedScopes: []string{"applications:write"}}); err != nil {
		t.Fatal(err)
	}
	refused := func(t *testing.T, err error, missing ...string) {
		t.Helper()
		var ie *InsufficientScopeError
		if !errors.As(err, &ie) || !errors.Is(err, ErrInsufficientScope) || !slices.Equal(ie.Missing, missing) {
			t.Fatalf("err = %v, want an InsufficientScopeError missing %v", err, missing)
		}
	}
	n := len(f.events(t, "acme"))

	client := Actor{Type: model.ActorClient, ID: "ops", Scopes: []string{"applications:write", "applications:read"}}
	_, err := f.svc.AddAllowedScopes(ctx, client, "acme", "ops", []string{"users:write", "read:tx"}, 0)
	refused(t, err, "users:write")
	// Not the operator: a system-typed actor without System's power.
	pretender := Actor{Type: model.ActorSystem, ID: "cli"}
	_, err = f.svc.AddAllowedScopes(ctx, pretender, "acme", "ops", []string{"users:write"}, 0)
	refused(t, err, "users:write")
	_, err = f.svc.RotateSecret(ctx, pretender, "acme", "ops", 0)
	refused(t, err, "applications:write")
	_, err = f.svc.CreateTenant(ctx, client, TenantInput{ID: "beta", Name: "Beta", Issuer: "http://localhost:8080/t/beta"})
	var ie *InsufficientScopeError
	if !errors.As(err, &ie) || ie.Action != "creating the built-in role admin" {
		t.Fatalf("tenant creation by a client: %v", err)
	}
	if _, err := f.svc.GetTenant(ctx, f.actor, "beta"); err == nil {
		t.Fatal("a refused tenant creation left the tenant behind")
	}
	f.unchanged(t, "acme", n)

	// The operator's actor may, explicitly.
	if _, err := f.svc.AddAllowedScopes(ctx, System("bootstrap"), "acme", "ops", []string{"users:write"}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.RotateSecret(ctx, CLI(), "acme", "ops", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateTenant(ctx, CLI(), TenantInput{ID: "beta", Name: "Beta", Issuer: "http://localhost:8080/t/beta"}); err != nil {
		t.Fatal(err)
	}
	// Now ops holds users:write, so a token without it cannot take ops over.
	_, err = f.svc.RotateSecret(ctx, client, "acme", "ops", 0)
	refused(t, err, "users:write")
	// Removing is always allowed.
	if _, err := f.svc.RemoveAllowedScopes(ctx, client, "acme", "ops", []string{"users:write"}, 0); err != nil {
		t.Fatal(err)
	}
}
