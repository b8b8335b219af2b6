package storetest

import (
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// twins creates the same IDs in tenants "a" and "b", each entity labelled
// with its tenant so a read that crosses shows.
func twins(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	for _, id := range []string{"a", "b"} {
		tn := newTenant(id)
		tn.Domain = id + ".example.com"
		must(t, s.Tenants().Create(ctx, tn))
		api := newAPI(id, "bank")
		api.Name = "API of " + id
		must(t, s.APIs().Create(ctx, api))
		sc := newScope(id, "bank", "read", "other")
		sc.Description = "read in " + id
		must(t, s.Scopes().Create(ctx, sc))
		must(t, s.Scopes().Create(ctx, newScope(id, "bank", "other")))
		app := newApp(id, "web", "read")
		app.Name = "web of " + id
		must(t, s.Applications().Create(ctx, app))
		must(t, s.Applications().AddSecret(ctx, model.ClientSecret{TenantID: id, ClientID: "web", ID: "s1", Hash: []byte(id), CreatedAt: t0}))
		must(t, s.Keys().Create(ctx, newKey(id, "k1", model.KeyCurrent, t0)))
		must(t, s.Audit().Append(ctx, []model.AuditEvent{event(id, 1, model.EventTokenIssued, "web", "usr_1", "read")}))
	}
	must(t, s.Revocations().Revoke(ctx, model.Revocation{TenantID: "a", JTI: "j1", ExpiresAt: t0.Add(time.Hour), RevokedAt: t0}))
}

var isolationTests = []test{
	{"reads never cross tenants", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		twins(t, s)
		for _, id := range []string{"a", "b"} {
			tn, err := s.Tenants().GetByDomain(ctx, id+".example.com")
			must(t, err)
			equal(t, "tenant by domain", tn.ID, id)
			api, err := s.APIs().Get(ctx, id, "bank")
			must(t, err)
			equal(t, "API", api.Name, "API of "+id)
			api, err = s.APIs().GetByIdentifier(ctx, id, newAPI(id, "bank").Identifier)
			must(t, err)
			equal(t, "API by identifier", api.TenantID, id)
			apis, err := s.APIs().List(ctx, id)
			must(t, err)
			equal(t, "API list", len(apis), 1)
			sc, err := s.Scopes().Get(ctx, id, "read")
			must(t, err)
			equal(t, "scope", sc.Description, "read in "+id)
			all, err := s.Scopes().All(ctx, id)
			must(t, err)
			equal(t, "scopes", scopeNames(all), []string{"other", "read"})
			_, total, err := s.Scopes().List(ctx, id, "", store.Page{})
			must(t, err)
			equal(t, "scope total", total, 2)
			app, err := s.Applications().Get(ctx, id, "web")
			must(t, err)
			equal(t, "app", app.Name, "web of "+id)
			_, total, err = s.Applications().List(ctx, id, store.Page{})
			must(t, err)
			equal(t, "app total", total, 1)
			secrets, err := s.Applications().Secrets(ctx, id, "web")
			must(t, err)
			equal(t, "secrets", len(secrets), 1)
			equal(t, "secret hash", string(secrets[0].Hash), id)
			keys, err := s.Keys().List(ctx, id)
			must(t, err)
			equal(t, "keys", len(keys), 1)
			equal(t, "key tenant", keys[0].TenantID, id)
			events, err := s.Audit().Search(ctx, store.AuditQuery{TenantID: id, Scope: "read"})
			must(t, err)
			equal(t, "events", len(events), 1)
			equal(t, "event tenant", events[0].TenantID, id)
			holders, err := s.Scopes().Holders(ctx, id, "read")
			must(t, err)
			equal(t, "holders", holders, []string{"web"})
		}
		ok, err := s.Revocations().IsRevoked(ctx, "b", "j1")
		must(t, err)
		equal(t, "revocation in b", ok, false)
	}},
	{"writes never cross tenants", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		twins(t, s)
		revB := rev(t, s, "b")
		_, err := s.Scopes().Rename(ctx, "a", "other", "renamed")
		must(t, err)
		_, err = s.Scopes().Delete(ctx, "a", "read")
		must(t, err)
		app, err := s.Applications().Get(ctx, "a", "web")
		must(t, err)
		app.Name = "changed"
		_, err = s.Applications().Update(ctx, app)
		must(t, err)
		must(t, s.Applications().ExpireSecrets(ctx, "a", "web", "", t0, t0.Add(time.Hour)))
		must(t, s.Keys().SetState(ctx, "a", "k1", model.KeyPrevious))
		must(t, s.Keys().Delete(ctx, "a", "k1"))
		must(t, s.Applications().Delete(ctx, "a", "web"))

		equal(t, "rev of b", rev(t, s, "b"), revB)
		sc, err := s.Scopes().Get(ctx, "b", "read")
		must(t, err)
		equal(t, "b's implies", sc.Implies, []string{"other"})
		equal(t, "b's scope version", sc.Version, int64(1))
		_, err = s.Scopes().Get(ctx, "b", "other")
		must(t, err)
		app, err = s.Applications().Get(ctx, "b", "web")
		must(t, err)
		equal(t, "b's app", app.Name, "web of b")
		equal(t, "b's allowlist", app.AllowedScopes, []string{"read"})
		secrets, err := s.Applications().Secrets(ctx, "b", "web")
		must(t, err)
		equal(t, "b's secret", secrets[0].ExpiresAt, time.Time{})
		keys, err := s.Keys().List(ctx, "b")
		must(t, err)
		equal(t, "b's key", keys[0].State, model.KeyCurrent)
		// Same-ID writes in the wrong tenant are not found.
		wantErr(t, s.Keys().Delete(ctx, "a", "k1"), store.ErrNotFound)
		_, err = s.Scopes().Delete(ctx, "a", "read")
		wantErr(t, err, store.ErrNotFound)
	}},
}
