package storetest

import (
	"testing"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

var consentTests = []test{
	{"Grant is a union, sorted, idempotent; Get ErrNotFound when none", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1")
		must(t, s.Applications().Create(ctx, newApp("a", "web")))
		_, err := s.Consents().Get(ctx, "a", "usr_1", "web")
		wantErr(t, err, store.ErrNotFound)

		got, err := s.Consents().Grant(ctx, "a", "usr_1", "web", []string{"openid", "read", "email", "read"})
		must(t, err)
		equal(t, "first grant", got.Scopes, []string{"email", "openid", "read"})
		equal(t, "tenant", got.TenantID, "a")
		equal(t, "user", got.UserID, "usr_1")
		equal(t, "client", got.ClientID, "web")
		utc(t, "stamps", got.CreatedAt, got.UpdatedAt)
		if got.CreatedAt.IsZero() || !got.UpdatedAt.Equal(got.CreatedAt) {
			t.Fatalf("stamps of a new consent: created %v, updated %v", got.CreatedAt, got.UpdatedAt)
		}
		first := got

		again, err := s.Consents().Grant(ctx, "a", "usr_1", "web", []string{"read", "openid"})
		must(t, err)
		equal(t, "granting what is granted changes nothing", again, first)

		got, err = s.Consents().Grant(ctx, "a", "usr_1", "web", []string{"write", "email"})
		must(t, err)
		equal(t, "union", got.Scopes, []string{"email", "openid", "read", "write"})
		equal(t, "created stays", got.CreatedAt, first.CreatedAt)
		stored, err := s.Consents().Get(ctx, "a", "usr_1", "web")
		must(t, err)
		equal(t, "stored", stored, got)

		got, err = s.Consents().Grant(ctx, "a", "usr_1", "web", nil)
		must(t, err)
		equal(t, "granting nothing", got.Scopes, []string{"email", "openid", "read", "write"})
	}},
	{"concurrent grants of overlapping scopes end with their union", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1")
		must(t, s.Applications().Create(ctx, newApp("a", "web")))
		all := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}
		results := race(func(i int) (model.Consent, error) {
			mine := []string{all[i], all[i+1], "common"}
			if i%2 == 1 {
				mine = reversed(mine)
			}
			return s.Consents().Grant(ctx, "a", "usr_1", "web", mine)
		})
		for i, r := range results {
			if r.err != nil {
				t.Fatalf("racer %d: %v", i, r.err)
			}
		}
		got := consentScopes(t, s, "usr_1", "web")
		equal(t, "union", got, sorted(append(all[:racers+1], "common")))
	}},
	{"Grant for an unknown user or application is ErrNotFound", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1")
		must(t, s.Applications().Create(ctx, newApp("a", "web")))
		_, err := s.Consents().Grant(ctx, "a", "usr_9", "web", []string{"openid"})
		wantErr(t, err, store.ErrNotFound)
		_, err = s.Consents().Grant(ctx, "a", "usr_1", "nope", []string{"openid"})
		wantErr(t, err, store.ErrNotFound)
		list, err := s.Consents().ListByUser(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "nothing stored", len(list), 0)
	}},
	{"ListByUser orders by client ID; Revoke deletes one consent", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1", "usr_2")
		for _, id := range []string{"zeta", "alpha", "mid"} {
			must(t, s.Applications().Create(ctx, newApp("a", id)))
			_, err := s.Consents().Grant(ctx, "a", "usr_1", id, []string{"openid", id})
			must(t, err)
		}
		_, err := s.Consents().Grant(ctx, "a", "usr_2", "mid", []string{"profile"})
		must(t, err)
		list, err := s.Consents().ListByUser(ctx, "a", "usr_1")
		must(t, err)
		var clients []string
		for _, c := range list {
			clients = append(clients, c.ClientID)
			equal(t, "scopes of "+c.ClientID, c.Scopes, sorted([]string{"openid", c.ClientID}))
		}
		equal(t, "clients", clients, []string{"alpha", "mid", "zeta"})

		must(t, s.Consents().Revoke(ctx, "a", "usr_1", "mid"))
		wantErr(t, s.Consents().Revoke(ctx, "a", "usr_1", "mid"), store.ErrNotFound)
		_, err = s.Consents().Get(ctx, "a", "usr_1", "mid")
		wantErr(t, err, store.ErrNotFound)
		other, err := s.Consents().Get(ctx, "a", "usr_2", "mid")
		must(t, err)
		equal(t, "another user's consent stays", other.Scopes, []string{"profile"})
		list, err = s.Consents().ListByUser(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "left", len(list), 2)
		// A fresh grant after a revoke starts from nothing.
		got, err := s.Consents().Grant(ctx, "a", "usr_1", "mid", []string{"email"})
		must(t, err)
		equal(t, "after revoke", got.Scopes, []string{"email"})

		_, err = s.Consents().ListByUser(ctx, "a", "usr_9")
		wantErr(t, err, store.ErrNotFound)
	}},
	{"deleting an application removes its consents and grants", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1")
		must(t, s.Applications().Create(ctx, newApp("a", "web")))
		must(t, s.Applications().Create(ctx, newApp("a", "other")))
		for _, id := range []string{"web", "other"} {
			_, err := s.Consents().Grant(ctx, "a", "usr_1", id, []string{"openid"})
			must(t, err)
			must(t, s.AuthRequests().Create(ctx, newAuthRequest("a", "req_"+id, id)))
			must(t, s.Codes().Create(ctx, newCode("a", "code_"+id, id, "usr_1")))
			must(t, s.RefreshTokens().Create(ctx, newRefresh("a", "rt_"+id, "fam_"+id, id, "usr_1")))
		}
		must(t, s.Applications().Delete(ctx, "a", "web", 0))
		_, err := s.Consents().Get(ctx, "a", "usr_1", "web")
		wantErr(t, err, store.ErrNotFound)
		_, err = s.AuthRequests().Get(ctx, "a", "req_web")
		wantErr(t, err, store.ErrNotFound)
		_, err = s.Codes().Redeem(ctx, "a", "code_web", t0)
		wantErr(t, err, store.ErrNotFound)
		_, err = s.RefreshTokens().Get(ctx, "a", "rt_web")
		wantErr(t, err, store.ErrNotFound)
		_, err = s.Consents().Get(ctx, "a", "usr_1", "other")
		must(t, err)
		_, err = s.RefreshTokens().Get(ctx, "a", "rt_other")
		must(t, err)
		// A new application under the old client ID inherits nothing.
		must(t, s.Applications().Create(ctx, newApp("a", "web")))
		_, err = s.Consents().Get(ctx, "a", "usr_1", "web")
		wantErr(t, err, store.ErrNotFound)
	}},
}

// scopeHolders sets up tenant "a" where scope "read" is held by two
// applications, two roles and two consents, "other" by one of each.
func scopeHolders(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	seedUsers(t, s, "a", "usr_1", "usr_2")
	for _, n := range []string{"read", "other", "unused"} {
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", n)))
	}
	must(t, s.Applications().Create(ctx, newApp("a", "zeta", "read")))
	must(t, s.Applications().Create(ctx, newApp("a", "alpha", "other", "read")))
	must(t, s.Roles().Create(ctx, newRole("a", "teller", "read")))
	must(t, s.Roles().Create(ctx, newRole("a", "manager", "other", "read", "write")))
	must(t, s.Roles().Create(ctx, newRole("a", "auditor", "audit")))
	_, err := s.Consents().Grant(ctx, "a", "usr_1", "zeta", []string{"openid", "read"})
	must(t, err)
	_, err = s.Consents().Grant(ctx, "a", "usr_2", "alpha", []string{"read", "other"})
	must(t, err)
	_, err = s.Consents().Grant(ctx, "a", "usr_2", "zeta", []string{"openid"})
	must(t, err)
}

func roleVersion(t *testing.T, s store.Store, name string) int64 {
	t.Helper()
	r, err := s.Roles().Get(t.Context(), "a", name)
	must(t, err)
	return r.Version
}

func consentScopes(t *testing.T, s store.Store, userID, clientID string) []string {
	t.Helper()
	c, err := s.Consents().Get(t.Context(), "a", userID, clientID)
	must(t, err)
	return c.Scopes
}

// scopeHolderTests cover what issue 3 added to the registry: roles and
// consents follow a scope's rename and delete, and Impact counts them.
var scopeHolderTests = []test{
	{"Impact lists the applications and roles and counts the consents holding a scope", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		scopeHolders(t, s)
		for name, want := range map[string]store.ScopeImpact{
			"read":   {Applications: []string{"alpha", "zeta"}, Roles: []string{"manager", "teller"}, Consents: 2},
			"other":  {Applications: []string{"alpha"}, Roles: []string{"manager"}, Consents: 1},
			"unused": {},
			"nope":   {},
		} {
			got, err := s.Scopes().Impact(ctx, "a", name)
			must(t, err)
			equal(t, "impact of "+name, got, want)
		}
		got, err := s.Scopes().Impact(ctx, "b", "read")
		must(t, err)
		equal(t, "impact in another tenant", got, store.ScopeImpact{})
	}},
	{"Rename rewrites role and consent scopes, merging with the new name", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		scopeHolders(t, s)
		// A role and a consent that already hold the new name keep it once.
		must(t, s.Roles().Create(ctx, newRole("a", "both", "read", "view")))
		_, err := s.Consents().Grant(ctx, "a", "usr_1", "zeta", []string{"view"})
		must(t, err)
		before := rev(t, s, "a")
		_, err = s.Scopes().Rename(ctx, "a", "read", "view", 0)
		must(t, err)
		if rev(t, s, "a") <= before {
			t.Fatal("Rename did not bump Rev")
		}
		for name, want := range map[string]struct {
			scopes  []string
			version int64
		}{
			"teller":  {[]string{"view"}, 2},
			"manager": {[]string{"other", "view", "write"}, 2},
			"both":    {[]string{"view"}, 2},
			"auditor": {[]string{"audit"}, 1},
		} {
			r, err := s.Roles().Get(ctx, "a", name)
			must(t, err)
			equal(t, name+" scopes", r.Scopes, want.scopes)
			equal(t, name+" version", r.Version, want.version)
		}
		equal(t, "consent usr_1/zeta", consentScopes(t, s, "usr_1", "zeta"), []string{"openid", "view"})
		equal(t, "consent usr_2/alpha", consentScopes(t, s, "usr_2", "alpha"), []string{"other", "view"})
		equal(t, "consent usr_2/zeta", consentScopes(t, s, "usr_2", "zeta"), []string{"openid"})
		impact, err := s.Scopes().Impact(ctx, "a", "read")
		must(t, err)
		equal(t, "old name's impact", impact, store.ScopeImpact{})
		impact, err = s.Scopes().Impact(ctx, "a", "view")
		must(t, err)
		equal(t, "new name's impact", impact, store.ScopeImpact{Applications: []string{"alpha", "zeta"},
			Roles: []string{"both", "manager", "teller"}, Consents: 2})
		scopes, err := s.Roles().ScopesOfUser(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "entitlements follow", len(scopes), 0)
		must(t, s.Roles().Assign(ctx, "a", "usr_1", "teller"))
		scopes, err = s.Roles().ScopesOfUser(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "entitlements follow", scopes, []string{"view"})
	}},
	{"a failed Rename leaves roles and consents alone", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		scopeHolders(t, s)
		_, err := s.Scopes().Rename(ctx, "a", "read", "other", 0)
		wantErr(t, err, store.ErrConflict)
		equal(t, "teller", roleVersion(t, s, "teller"), int64(1))
		r, err := s.Roles().Get(ctx, "a", "manager")
		must(t, err)
		equal(t, "manager scopes", r.Scopes, []string{"other", "read", "write"})
		equal(t, "consent", consentScopes(t, s, "usr_2", "alpha"), []string{"other", "read"})
	}},
	{"Delete removes the scope from roles and consents in the same transaction", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		scopeHolders(t, s)
		removed, err := s.Scopes().Delete(ctx, "a", "read", 0)
		must(t, err)
		equal(t, "removed from applications", removed, []string{"alpha", "zeta"})
		for name, want := range map[string]struct {
			scopes  []string
			version int64
		}{
			"teller":  {nil, 2},
			"manager": {[]string{"other", "write"}, 2},
			"auditor": {[]string{"audit"}, 1},
		} {
			r, err := s.Roles().Get(ctx, "a", name)
			must(t, err)
			equal(t, name+" scopes", r.Scopes, want.scopes)
			equal(t, name+" version", r.Version, want.version)
		}
		equal(t, "consent usr_1/zeta", consentScopes(t, s, "usr_1", "zeta"), []string{"openid"})
		equal(t, "consent usr_2/alpha", consentScopes(t, s, "usr_2", "alpha"), []string{"other"})
		impact, err := s.Scopes().Impact(ctx, "a", "read")
		must(t, err)
		equal(t, "impact after delete", impact, store.ScopeImpact{})
		// Recreated, the scope is held by nothing.
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "read")))
		impact, err = s.Scopes().Impact(ctx, "a", "read")
		must(t, err)
		equal(t, "impact of the new scope", impact, store.ScopeImpact{})
	}},
	{"inside InTx, a rolled-back Delete restores roles and consents with everything else", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		scopeHolders(t, s)
		err := s.InTx(ctx, func(r store.Repos) error {
			if _, err := r.Scopes().Delete(ctx, "a", "read", 0); err != nil {
				return err
			}
			impact, err := r.Scopes().Impact(ctx, "a", "read")
			if err != nil {
				return err
			}
			equal(t, "impact inside", impact, store.ScopeImpact{})
			return errAbort
		})
		wantErr(t, err, errAbort)
		impact, err := s.Scopes().Impact(ctx, "a", "read")
		must(t, err)
		equal(t, "impact after rollback", impact, store.ScopeImpact{Applications: []string{"alpha", "zeta"},
			Roles: []string{"manager", "teller"}, Consents: 2})
	}},
}
