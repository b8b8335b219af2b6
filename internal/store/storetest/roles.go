package storetest

import (
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

func newRole(tenantID, name string, scopes ...string) model.Role {
	return model.Role{TenantID: tenantID, Name: name, Description: "The " + name + " role", Scopes: scopes, CreatedAt: t0, UpdatedAt: t0}
}

func roleNames(rs []model.Role) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

var roleTests = []test{
	{"create and get round-trip every field; scopes keep their order, repeats once", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		admin := newRole("a", model.RoleAdmin, "users:write", "audit:read", "users:write")
		admin.Builtin = true
		empty := newRole("a", "empty")
		empty.UpdatedAt = t0.Add(time.Second)
		for _, in := range []model.Role{admin, empty} {
			must(t, s.Roles().Create(ctx, in))
			got, err := s.Roles().Get(ctx, "a", in.Name)
			must(t, err)
			want := in
			want.CreatedAt, want.UpdatedAt, want.Version = us(in.CreatedAt), us(in.UpdatedAt), 1
			if in.Name == model.RoleAdmin {
				want.Scopes = []string{"users:write", "audit:read"}
			}
			equal(t, "role "+in.Name, got, want)
		}
		wantErr(t, s.Roles().Create(ctx, newRole("a", "empty")), store.ErrConflict)
		wantErr(t, s.Roles().Create(ctx, newRole("nope", "x")), store.ErrNotFound)
		_, err := s.Roles().Get(ctx, "a", "nope")
		wantErr(t, err, store.ErrNotFound)
		list, err := s.Roles().List(ctx, "a")
		must(t, err)
		equal(t, "list", roleNames(list), []string{"admin", "empty"})
	}},
	{"Update replaces description and scopes with a Version precondition; Builtin stays", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.Roles().Create(ctx, newRole("a", "teller", "read", "write")))
		cur, err := s.Roles().Get(ctx, "a", "teller")
		must(t, err)
		cur.Description, cur.Scopes, cur.Builtin = "changed", []string{"write", "approve"}, true
		got, err := s.Roles().Update(ctx, cur)
		must(t, err)
		equal(t, "description", got.Description, "changed")
		equal(t, "scopes", got.Scopes, []string{"write", "approve"})
		equal(t, "builtin", got.Builtin, false)
		equal(t, "version", got.Version, int64(2))
		equal(t, "created", got.CreatedAt, us(t0))
		_, err = s.Roles().Update(ctx, cur)
		wantErr(t, err, store.ErrPrecondition)
		missing := newRole("a", "nope")
		missing.Version = 1
		_, err = s.Roles().Update(ctx, missing)
		wantErr(t, err, store.ErrNotFound)
		stored, err := s.Roles().Get(ctx, "a", "teller")
		must(t, err)
		equal(t, "stored", stored, got)
	}},
	{"Delete refuses a built-in role and removes every assignment of another", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1", "usr_2")
		admin := newRole("a", model.RoleAdmin, "users:write")
		admin.Builtin = true
		must(t, s.Roles().Create(ctx, admin))
		must(t, s.Roles().Create(ctx, newRole("a", "teller", "read")))
		must(t, s.Roles().Create(ctx, newRole("a", "auditor", "audit:read")))
		must(t, s.Groups().Create(ctx, model.Group{TenantID: "a", Name: "staff", Roles: []string{"auditor", "teller", "admin"}}))
		must(t, s.Groups().AddMember(ctx, "a", "staff", "usr_2"))
		must(t, s.Roles().Assign(ctx, "a", "usr_1", "teller"))
		must(t, s.Roles().Assign(ctx, "a", "usr_1", "admin"))

		wantErr(t, s.Roles().Delete(ctx, "a", model.RoleAdmin, 0), store.ErrConflict)
		must(t, s.Roles().Delete(ctx, "a", "teller", 0))
		wantErr(t, s.Roles().Delete(ctx, "a", "teller", 0), store.ErrNotFound)
		_, err := s.Roles().Get(ctx, "a", "teller")
		wantErr(t, err, store.ErrNotFound)
		roles, err := s.Roles().OfUser(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "direct roles left", roles, []string{"admin"})
		g, err := s.Groups().Get(ctx, "a", "staff")
		must(t, err)
		equal(t, "group roles left", g.Roles, []string{"auditor", "admin"})
		roles, err = s.Roles().OfUser(ctx, "a", "usr_2")
		must(t, err)
		equal(t, "roles through the group", roles, []string{"admin", "auditor"})
		// The name is free again and the new role has no holders.
		must(t, s.Roles().Create(ctx, newRole("a", "teller")))
		holders, err := s.Roles().Holders(ctx, "a", "teller")
		must(t, err)
		equal(t, "holders of the new role", len(holders), 0)
	}},
	{"Assign and Unassign are idempotent; unknown user or role is ErrNotFound", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_2", "usr_1", "usr_3")
		must(t, s.Roles().Create(ctx, newRole("a", "teller", "read")))
		must(t, s.Roles().Create(ctx, newRole("a", "other")))
		for _, id := range []string{"usr_2", "usr_1", "usr_2"} {
			must(t, s.Roles().Assign(ctx, "a", id, "teller"))
		}
		holders, err := s.Roles().Holders(ctx, "a", "teller")
		must(t, err)
		equal(t, "holders, sorted", holders, []string{"usr_1", "usr_2"})
		holders, err = s.Roles().Holders(ctx, "a", "other")
		must(t, err)
		equal(t, "no holders", len(holders), 0)
		_, err = s.Roles().Holders(ctx, "a", "nope")
		wantErr(t, err, store.ErrNotFound)

		wantErr(t, s.Roles().Assign(ctx, "a", "usr_9", "teller"), store.ErrNotFound)
		wantErr(t, s.Roles().Assign(ctx, "a", "usr_1", "nope"), store.ErrNotFound)
		wantErr(t, s.Roles().Assign(ctx, "b", "usr_1", "teller"), store.ErrNotFound)

		must(t, s.Roles().Unassign(ctx, "a", "usr_2", "teller"))
		must(t, s.Roles().Unassign(ctx, "a", "usr_2", "teller"))
		must(t, s.Roles().Unassign(ctx, "a", "usr_3", "other"))
		wantErr(t, s.Roles().Unassign(ctx, "a", "usr_9", "teller"), store.ErrNotFound)
		wantErr(t, s.Roles().Unassign(ctx, "a", "usr_1", "nope"), store.ErrNotFound)
		holders, err = s.Roles().Holders(ctx, "a", "teller")
		must(t, err)
		equal(t, "holders after unassign", holders, []string{"usr_1"})
	}},
	{"OfUser and ScopesOfUser are direct ∪ through groups, sorted, without repeats", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1", "usr_2")
		must(t, s.Roles().Create(ctx, newRole("a", "user", "me:write", "me:read")))
		must(t, s.Roles().Create(ctx, newRole("a", "teller", "read:transactions")))
		must(t, s.Roles().Create(ctx, newRole("a", "manager", "write:settings", "read:transactions", "payments:approve")))
		must(t, s.Roles().Create(ctx, newRole("a", "unused", "x:y")))
		must(t, s.Groups().Create(ctx, model.Group{TenantID: "a", Name: "branch", Roles: []string{"teller", "user"}}))
		must(t, s.Groups().Create(ctx, model.Group{TenantID: "a", Name: "heads", Roles: []string{"manager", "teller"}}))
		must(t, s.Roles().Assign(ctx, "a", "usr_1", "user"))
		must(t, s.Roles().Assign(ctx, "a", "usr_1", "teller"))
		must(t, s.Groups().AddMember(ctx, "a", "branch", "usr_1"))
		must(t, s.Groups().AddMember(ctx, "a", "heads", "usr_1"))

		roles, err := s.Roles().OfUser(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "roles", roles, []string{"manager", "teller", "user"})
		scopes, err := s.Roles().ScopesOfUser(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "scopes", scopes, []string{"me:read", "me:write", "payments:approve", "read:transactions", "write:settings"})

		// Only through a group.
		must(t, s.Groups().AddMember(ctx, "a", "heads", "usr_2"))
		roles, err = s.Roles().OfUser(ctx, "a", "usr_2")
		must(t, err)
		equal(t, "roles via group only", roles, []string{"manager", "teller"})
		scopes, err = s.Roles().ScopesOfUser(ctx, "a", "usr_2")
		must(t, err)
		equal(t, "scopes via group only", scopes, []string{"payments:approve", "read:transactions", "write:settings"})
		direct, err := s.Roles().Holders(ctx, "a", "manager")
		must(t, err)
		equal(t, "holders are direct only", len(direct), 0)

		// A role's new scopes show at once.
		m, err := s.Roles().Get(ctx, "a", "manager")
		must(t, err)
		m.Scopes = []string{"payments:approve"}
		_, err = s.Roles().Update(ctx, m)
		must(t, err)
		scopes, err = s.Roles().ScopesOfUser(ctx, "a", "usr_2")
		must(t, err)
		equal(t, "scopes after the role changed", scopes, []string{"payments:approve", "read:transactions"})

		must(t, s.Users().Create(ctx, newUser("a", "usr_3", "nobody", "")))
		roles, err = s.Roles().OfUser(ctx, "a", "usr_3")
		must(t, err)
		equal(t, "no roles", len(roles), 0)
		scopes, err = s.Roles().ScopesOfUser(ctx, "a", "usr_3")
		must(t, err)
		equal(t, "no scopes", len(scopes), 0)
		_, err = s.Roles().OfUser(ctx, "a", "usr_9")
		wantErr(t, err, store.ErrNotFound)
		_, err = s.Roles().ScopesOfUser(ctx, "a", "usr_9")
		wantErr(t, err, store.ErrNotFound)
	}},
}

var groupTests = []test{
	{"create, get, list and update with roles; unknown role is ErrNotFound", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.Roles().Create(ctx, newRole("a", "teller")))
		must(t, s.Roles().Create(ctx, newRole("a", "manager")))
		in := model.Group{TenantID: "a", Name: "staff", Description: "Branch staff", Roles: []string{"teller", "manager", "teller"},
			CreatedAt: t0, UpdatedAt: t0.Add(time.Second)}
		must(t, s.Groups().Create(ctx, in))
		got, err := s.Groups().Get(ctx, "a", "staff")
		must(t, err)
		want := in
		want.Roles, want.CreatedAt, want.UpdatedAt, want.Version = []string{"teller", "manager"}, us(t0), us(t0.Add(time.Second)), 1
		equal(t, "group", got, want)
		must(t, s.Groups().Create(ctx, model.Group{TenantID: "a", Name: "empty"}))
		e, err := s.Groups().Get(ctx, "a", "empty")
		must(t, err)
		equal(t, "no roles", e.Roles, []string(nil))

		wantErr(t, s.Groups().Create(ctx, model.Group{TenantID: "a", Name: "staff"}), store.ErrConflict)
		wantErr(t, s.Groups().Create(ctx, model.Group{TenantID: "a", Name: "bad", Roles: []string{"teller", "nope"}}), store.ErrNotFound)
		_, err = s.Groups().Get(ctx, "a", "bad")
		wantErr(t, err, store.ErrNotFound)
		wantErr(t, s.Groups().Create(ctx, model.Group{TenantID: "nope", Name: "x"}), store.ErrNotFound)

		list, err := s.Groups().List(ctx, "a")
		must(t, err)
		equal(t, "list", len(list), 2)
		equal(t, "list order", []string{list[0].Name, list[1].Name}, []string{"empty", "staff"})

		got.Description, got.Roles = "changed", []string{"manager"}
		upd, err := s.Groups().Update(ctx, got)
		must(t, err)
		equal(t, "updated roles", upd.Roles, []string{"manager"})
		equal(t, "updated description", upd.Description, "changed")
		equal(t, "version", upd.Version, int64(2))
		_, err = s.Groups().Update(ctx, got)
		wantErr(t, err, store.ErrPrecondition)
		upd.Roles = []string{"manager", "nope"}
		_, err = s.Groups().Update(ctx, upd)
		wantErr(t, err, store.ErrNotFound)
		stored, err := s.Groups().Get(ctx, "a", "staff")
		must(t, err)
		equal(t, "unchanged by the failed update", stored.Roles, []string{"manager"})
		equal(t, "version after the failed update", stored.Version, int64(2))
		_, err = s.Groups().Update(ctx, model.Group{TenantID: "a", Name: "nope", Version: 1})
		wantErr(t, err, store.ErrNotFound)
	}},
	{"members are idempotent and sorted; Delete removes the group's roles and memberships", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_2", "usr_1", "usr_3")
		must(t, s.Roles().Create(ctx, newRole("a", "teller", "read")))
		must(t, s.Groups().Create(ctx, model.Group{TenantID: "a", Name: "zeta", Roles: []string{"teller"}}))
		must(t, s.Groups().Create(ctx, model.Group{TenantID: "a", Name: "alpha"}))
		for _, id := range []string{"usr_2", "usr_1", "usr_2"} {
			must(t, s.Groups().AddMember(ctx, "a", "zeta", id))
		}
		must(t, s.Groups().AddMember(ctx, "a", "alpha", "usr_1"))
		members, err := s.Groups().Members(ctx, "a", "zeta")
		must(t, err)
		equal(t, "members", members, []string{"usr_1", "usr_2"})
		groups, err := s.Groups().OfUser(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "groups of usr_1", groups, []string{"alpha", "zeta"})
		groups, err = s.Groups().OfUser(ctx, "a", "usr_3")
		must(t, err)
		equal(t, "groups of usr_3", len(groups), 0)
		_, err = s.Groups().OfUser(ctx, "a", "usr_9")
		wantErr(t, err, store.ErrNotFound)
		_, err = s.Groups().Members(ctx, "a", "nope")
		wantErr(t, err, store.ErrNotFound)

		wantErr(t, s.Groups().AddMember(ctx, "a", "zeta", "usr_9"), store.ErrNotFound)
		wantErr(t, s.Groups().AddMember(ctx, "a", "nope", "usr_1"), store.ErrNotFound)
		must(t, s.Groups().RemoveMember(ctx, "a", "zeta", "usr_2"))
		must(t, s.Groups().RemoveMember(ctx, "a", "zeta", "usr_2"))
		wantErr(t, s.Groups().RemoveMember(ctx, "a", "zeta", "usr_9"), store.ErrNotFound)
		wantErr(t, s.Groups().RemoveMember(ctx, "a", "nope", "usr_1"), store.ErrNotFound)
		members, err = s.Groups().Members(ctx, "a", "zeta")
		must(t, err)
		equal(t, "members after remove", members, []string{"usr_1"})

		roles, err := s.Roles().OfUser(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "roles through zeta", roles, []string{"teller"})
		must(t, s.Groups().Delete(ctx, "a", "zeta", 0))
		wantErr(t, s.Groups().Delete(ctx, "a", "zeta", 0), store.ErrNotFound)
		roles, err = s.Roles().OfUser(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "roles after the group is gone", len(roles), 0)
		groups, err = s.Groups().OfUser(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "groups after delete", groups, []string{"alpha"})
		// The role itself stays.
		_, err = s.Roles().Get(ctx, "a", "teller")
		must(t, err)
		// A new group under the old name starts empty.
		must(t, s.Groups().Create(ctx, model.Group{TenantID: "a", Name: "zeta"}))
		members, err = s.Groups().Members(ctx, "a", "zeta")
		must(t, err)
		equal(t, "members of the new group", len(members), 0)
	}},
}
