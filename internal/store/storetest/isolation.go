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
		_, err := s.Scopes().Rename(ctx, "a", "other", "renamed", 0)
		must(t, err)
		_, err = s.Scopes().Delete(ctx, "a", "read", 0)
		must(t, err)
		app, err := s.Applications().Get(ctx, "a", "web")
		must(t, err)
		app.Name = "changed"
		_, err = s.Applications().Update(ctx, app)
		must(t, err)
		must(t, s.Applications().ExpireSecrets(ctx, "a", "web", "", t0, t0.Add(time.Hour)))
		must(t, s.Keys().SetState(ctx, "a", "k1", model.KeyPrevious))
		must(t, s.Keys().Delete(ctx, "a", "k1"))
		must(t, s.Applications().Delete(ctx, "a", "web", 0))

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
		_, err = s.Scopes().Delete(ctx, "a", "read", 0)
		wantErr(t, err, store.ErrNotFound)
	}},
}

// userTwins creates the same user, role, group, consent, session,
// authorization request, code, refresh token and throttle key in tenants
// "a" and "b", each labelled with its tenant.
func userTwins(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	for i, id := range []string{"a", "b"} {
		seed(t, s, id)
		must(t, s.Scopes().Create(ctx, newScope(id, "bank", "read")))
		u := newUser(id, "usr_1", "alice", "alice@example.com")
		u.Name = "alice of " + id
		must(t, s.Users().Create(ctx, u))
		must(t, s.Roles().Create(ctx, newRole(id, "teller", "read", "only:"+id)))
		must(t, s.Roles().Assign(ctx, id, "usr_1", "teller"))
		must(t, s.Groups().Create(ctx, model.Group{TenantID: id, Name: "staff", Description: id, Roles: []string{"teller"}}))
		must(t, s.Groups().AddMember(ctx, id, "staff", "usr_1"))
		must(t, s.Applications().Create(ctx, newApp(id, "web", "read")))
		_, err := s.Consents().Grant(ctx, id, "usr_1", "web", []string{"read", "only:" + id})
		must(t, err)
		se := newSession(id, "ses_1", "usr_1", t0)
		se.IP = id
		must(t, s.Sessions().Create(ctx, se))
		ar := newAuthRequest(id, "req_1", "web")
		ar.State = id
		must(t, s.AuthRequests().Create(ctx, ar))
		c := newCode(id, "code_1", "web", "usr_1")
		c.Nonce = id
		must(t, s.Codes().Create(ctx, c))
		rt := newRefresh(id, "rt_1", "fam_1", "web", "usr_1")
		rt.Audience = id
		must(t, s.RefreshTokens().Create(ctx, rt))
		for range i + 1 {
			_, err := s.Throttles().Fail(ctx, id, "ip:1", t0, time.Minute, 10, time.Hour)
			must(t, err)
		}
	}
}

// checkUserTwinB fails unless tenant b's twins are as userTwins made them.
// It redeems b's code (the only way to read one), so it runs once per test.
func checkUserTwinB(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	u, err := s.Users().GetByLogin(ctx, "b", "ALICE")
	must(t, err)
	equal(t, "b's user", u.Name, "alice of b")
	equal(t, "b's user version", u.Version, int64(1))
	_, total, err := s.Users().List(ctx, "b", store.UserQuery{Search: "alice"})
	must(t, err)
	equal(t, "b's user list", total, 1)
	roles, err := s.Roles().OfUser(ctx, "b", "usr_1")
	must(t, err)
	equal(t, "b's roles", roles, []string{"teller"})
	scopes, err := s.Roles().ScopesOfUser(ctx, "b", "usr_1")
	must(t, err)
	equal(t, "b's entitlements", scopes, []string{"only:b", "read"})
	holders, err := s.Roles().Holders(ctx, "b", "teller")
	must(t, err)
	equal(t, "b's holders", holders, []string{"usr_1"})
	g, err := s.Groups().Get(ctx, "b", "staff")
	must(t, err)
	equal(t, "b's group", g.Description, "b")
	members, err := s.Groups().Members(ctx, "b", "staff")
	must(t, err)
	equal(t, "b's members", members, []string{"usr_1"})
	c, err := s.Consents().Get(ctx, "b", "usr_1", "web")
	must(t, err)
	equal(t, "b's consent", c.Scopes, []string{"only:b", "read"})
	se, err := s.Sessions().Get(ctx, "b", "ses_1")
	must(t, err)
	equal(t, "b's session", se.IP, "b")
	equal(t, "b's session last seen", se.LastSeen, time.Time{})
	ar, err := s.AuthRequests().Get(ctx, "b", "req_1")
	must(t, err)
	equal(t, "b's request", ar.State, "b")
	equal(t, "b's request user", ar.UserID, "")
	rt, err := s.RefreshTokens().Get(ctx, "b", "rt_1")
	must(t, err)
	equal(t, "b's refresh token", rt.Audience, "b")
	equal(t, "b's refresh token state", rt.Revoked || !rt.RotatedAt.IsZero(), false)
	th, err := s.Throttles().Get(ctx, "b", "ip:1")
	must(t, err)
	equal(t, "b's throttle", th.Failures, 2)
	impact, err := s.Scopes().Impact(ctx, "b", "read")
	must(t, err)
	equal(t, "b's impact", impact, store.ScopeImpact{Applications: []string{"web"}, Roles: []string{"teller"}, Consents: 1})
	// Read last: a redemption is a write.
	code, err := s.Codes().Redeem(ctx, "b", "code_1", t0)
	must(t, err)
	equal(t, "b's code", code.Nonce, "b")
}

var userIsolationTests = []test{
	{"user reads never cross tenants", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		userTwins(t, s)
		u, err := s.Users().Get(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "a's user", u.Name, "alice of a")
		scopes, err := s.Roles().ScopesOfUser(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "a's entitlements", scopes, []string{"only:a", "read"})
		list, err := s.Consents().ListByUser(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "a's consents", len(list), 1)
		equal(t, "a's consent", list[0].Scopes, []string{"only:a", "read"})
		sessions, err := s.Sessions().ListByUser(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "a's sessions", len(sessions), 1)
		equal(t, "a's session", sessions[0].IP, "a")
		th, err := s.Throttles().Get(ctx, "a", "ip:1")
		must(t, err)
		equal(t, "a's throttle", th.Failures, 1)
		checkUserTwinB(t, s)
	}},
	{"user writes never cross tenants", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		userTwins(t, s)
		u, err := s.Users().Get(ctx, "a", "usr_1")
		must(t, err)
		u.Name = "changed"
		_, err = s.Users().Update(ctx, u)
		must(t, err)
		must(t, s.Users().SetPassword(ctx, "a", "usr_1", "x"))
		r, err := s.Roles().Get(ctx, "a", "teller")
		must(t, err)
		r.Scopes = nil
		_, err = s.Roles().Update(ctx, r)
		must(t, err)
		g, err := s.Groups().Get(ctx, "a", "staff")
		must(t, err)
		g.Description = "changed"
		_, err = s.Groups().Update(ctx, g)
		must(t, err)
		_, err = s.Consents().Grant(ctx, "a", "usr_1", "web", []string{"more"})
		must(t, err)
		must(t, s.Sessions().Touch(ctx, "a", "ses_1", t0.Add(time.Hour)))
		ar, err := s.AuthRequests().Get(ctx, "a", "req_1")
		must(t, err)
		ar.UserID, ar.Denied = "usr_1", true
		must(t, s.AuthRequests().Update(ctx, ar))
		_, err = s.Codes().Redeem(ctx, "a", "code_1", t0)
		must(t, err)
		must(t, s.Codes().SetIssued(ctx, "a", "code_1", "jti", t0, "fam_1"))
		_, err = s.RefreshTokens().Rotate(ctx, "a", "rt_1", newRefresh("a", "rt_2", "", "", ""), t0)
		must(t, err)
		must(t, s.RefreshTokens().RevokeFamily(ctx, "a", "fam_1"))
		_, err = s.RefreshTokens().RevokeByUser(ctx, "a", "usr_1", "")
		must(t, err)
		_, err = s.Throttles().Fail(ctx, "a", "ip:1", t0, time.Minute, 1, time.Hour)
		must(t, err)
		_, err = s.Scopes().Rename(ctx, "a", "read", "view", 0)
		must(t, err)
		checkUserTwinB(t, s)

		// Then every delete in a, and b checked again by hand.
		must(t, s.Throttles().Reset(ctx, "a", "ip:1"))
		_, err = s.Scopes().Delete(ctx, "a", "view", 0)
		must(t, err)
		must(t, s.Roles().Unassign(ctx, "a", "usr_1", "teller"))
		must(t, s.Groups().RemoveMember(ctx, "a", "staff", "usr_1"))
		must(t, s.Groups().Delete(ctx, "a", "staff", 0))
		must(t, s.Roles().Delete(ctx, "a", "teller", 0))
		must(t, s.Consents().Revoke(ctx, "a", "usr_1", "web"))
		must(t, s.Sessions().Delete(ctx, "a", "ses_1"))
		must(t, s.AuthRequests().Delete(ctx, "a", "req_1"))
		must(t, s.Users().Delete(ctx, "a", "usr_1", 0))
		must(t, s.Applications().Delete(ctx, "a", "web", 0))
		u, err = s.Users().Get(ctx, "b", "usr_1")
		must(t, err)
		equal(t, "b's user after a's deletes", u.Name, "alice of b")
		holders, err := s.Roles().Holders(ctx, "b", "teller")
		must(t, err)
		equal(t, "b's holders", holders, []string{"usr_1"})
		members, err := s.Groups().Members(ctx, "b", "staff")
		must(t, err)
		equal(t, "b's members", members, []string{"usr_1"})
		c, err := s.Consents().Get(ctx, "b", "usr_1", "web")
		must(t, err)
		equal(t, "b's consent", c.Scopes, []string{"only:b", "read"})
		for what, err := range map[string]error{
			"session": func() error { _, err := s.Sessions().Get(ctx, "b", "ses_1"); return err }(),
			"request": func() error { _, err := s.AuthRequests().Get(ctx, "b", "req_1"); return err }(),
			"token":   func() error { _, err := s.RefreshTokens().Get(ctx, "b", "rt_1"); return err }(),
		} {
			if err != nil {
				t.Fatalf("b's %s: %v", what, err)
			}
		}
		th, err := s.Throttles().Get(ctx, "b", "ip:1")
		must(t, err)
		equal(t, "b's throttle", th.Failures, 2)
		code, err := s.Codes().Redeem(ctx, "b", "code_1", t0)
		wantErr(t, err, store.ErrReused) // redeemed by checkUserTwinB, still there
		equal(t, "b's code", code.Nonce, "b")
	}},
}
