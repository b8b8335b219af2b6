package admin

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/secret"
)

func TestBootstrapAdminClient(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()

	ac, err := f.svc.BootstrapAdminClient(ctx, f.actor, "acme", "")
	if err != nil {
		t.Fatal(err)
	}
	if ac.ClientID != DefaultAdminClientID || !ac.Created || ac.Issuer != "http://localhost:8080/t/acme" || len(ac.ClientSecret) < 43 {
		t.Fatalf("created %+v", ac)
	}
	app, err := f.svc.GetApplication(ctx, f.actor, "acme", DefaultAdminClientID)
	if err != nil {
		t.Fatal(err)
	}
	// Every platform scope but me:* — those need a signed-in user.
	if app.Type != model.AppM2M || app.ScopePolicy != model.PolicyStrict || !slices.Contains(app.AllowedScopes, "scopes:write") ||
		!slices.Contains(app.AllowedScopes, "audit:read") || slices.ContainsFunc(app.AllowedScopes, func(s string) bool { return strings.HasPrefix(s, "me:") }) {
		t.Fatalf("admin client %+v", app)
	}

	// Again: the same client, a new secret, the narrowed allowlist kept.
	if _, err := f.svc.SetAllowedScopes(ctx, f.actor, "acme", DefaultAdminClientID, []string{"scopes:read"}, 0); err != nil {
		t.Fatal(err)
	}
	again, err := f.svc.BootstrapAdminClient(ctx, f.actor, "acme", DefaultAdminClientID)
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || again.ClientSecret == ac.ClientSecret {
		t.Fatalf("re-key %+v", again)
	}
	app, _ = f.svc.GetApplication(ctx, f.actor, "acme", DefaultAdminClientID)
	if !slices.Equal(app.AllowedScopes, []string{"scopes:read"}) {
		t.Fatalf("re-keying must keep the allowlist: %v", app.AllowedScopes)
	}
	secrets, err := f.st.Applications().Secrets(ctx, "acme", DefaultAdminClientID)
	if err != nil {
		t.Fatal(err)
	}
	now := f.clock.Now()
	var live []model.ClientSecret
	for _, s := range secrets {
		if s.ExpiresAt.IsZero() || s.ExpiresAt.After(now) {
			live = append(live, s)
		}
	}
	if len(live) != 1 || !secret.Equal(live[0].Hash, again.ClientSecret) {
		t.Fatalf("only the new secret may work: %+v", live)
	}

	// Not for a workload's m2m client named by mistake: its secret would
	// stop working now.
	if _, err := f.svc.CreateApplication(ctx, f.actor, "acme", ApplicationInput{ClientID: "batch", Type: model.AppM2M,
		AllowedScopes: []string{"read:tx"}}); err != nil {
		t.Fatal(err)
	}
	before := len(f.events(t, "acme"))
	if _, err := f.svc.BootstrapAdminClient(ctx, f.actor, "acme", "batch"); err == nil || !strings.Contains(err.Error(), "not an admin client") {
		t.Fatalf("re-keying a workload's client: %v", err)
	}
	f.unchanged(t, "acme", before)

	// Not for a browser or web app: an admin client uses client credentials.
	if _, err := f.svc.CreateApplication(ctx, f.actor, "acme", ApplicationInput{ClientID: "web", Type: model.AppWeb,
		RedirectURIs: []string{"https://app.example/cb"}}); err != nil {
		t.Fatal(err)
	}
	before = len(f.events(t, "acme"))
	var ve *model.ValidationError
	if _, err := f.svc.BootstrapAdminClient(ctx, f.actor, "acme", "web"); !errors.As(err, &ve) || !strings.Contains(err.Error(), "must be m2m") {
		t.Fatalf("web app as admin client: %v", err)
	}
	f.unchanged(t, "acme", before)
	if _, err := f.svc.BootstrapAdminClient(ctx, f.actor, "nope", ""); err == nil {
		t.Fatal("unknown tenant must fail")
	}
}
