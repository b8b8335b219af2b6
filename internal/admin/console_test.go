package admin

import (
	"errors"
	"slices"
	"testing"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/secret"
	"github.com/intelliauth/intelliauth/internal/store"
)

// TestEnsureConsoleLeavesATenantsOwnConsoleApplicationAlone: a tenant that
// registered an application with client ID "console" before the console
// existed keeps it as it is (migration 0006 does not touch it); preparing
// the console must not add the console's redirect URIs or a secret derived
// from the master key to that client, but refuse with a reason.
func TestEnsureConsoleLeavesATenantsOwnConsoleApplicationAlone(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	// The tenant's own "console", in place of the one CreateTenant made
	// (as 0006 leaves it for a tenant that had one).
	cur, err := f.st.Applications().Get(ctx, "acme", model.ConsoleClientID)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.Applications().Delete(ctx, "acme", model.ConsoleClientID, cur.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateApplication(ctx, CLI(), "acme", ApplicationInput{ClientID: model.ConsoleClientID, Name: "Call-centre console",
		Type: model.AppWeb, RedirectURIs: []string{"https://callcentre.example/cb"}, GrantTypes: []string{model.GrantAuthorizationCode}}); err != nil {
		t.Fatal(err)
	}
	before, err := f.st.Applications().Get(ctx, "acme", model.ConsoleClientID)
	if err != nil {
		t.Fatal(err)
	}
	secretsBefore, err := f.st.Applications().Secrets(ctx, "acme", model.ConsoleClientID)
	if err != nil {
		t.Fatal(err)
	}
	n := len(f.events(t, "acme"))

	_, err = f.svc.EnsureConsole(ctx, "acme")
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("EnsureConsole over the tenant's own application: %v, want ErrConflict", err)
	}
	after, err := f.st.Applications().Get(ctx, "acme", model.ConsoleClientID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != before.Version || !slices.Equal(after.RedirectURIs, before.RedirectURIs) {
		t.Errorf("the tenant's application was changed: %+v, was %+v", after, before)
	}
	secrets, err := f.st.Applications().Secrets(ctx, "acme", model.ConsoleClientID)
	if err != nil {
		t.Fatal(err)
	}
	if len(secrets) != len(secretsBefore) {
		t.Errorf("secrets: %d, was %d", len(secrets), len(secretsBefore))
	}
	for _, s := range secrets {
		if secret.Equal(s.Hash, ConsoleSecret(f.svc.Sealer, "acme")) {
			t.Error("the console's derived secret was added to the tenant's application")
		}
	}
	f.unchanged(t, "acme", n)

	// The console CreateTenant made is prepared as before.
	if _, err := f.svc.CreateTenant(ctx, f.actor, TenantInput{ID: "beta", Name: "Beta", Issuer: "http://localhost:8080/t/beta"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.EnsureConsole(ctx, "beta"); err != nil {
		t.Fatalf("EnsureConsole of a new tenant: %v", err)
	}
}
