package admin

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/password"
	"github.com/intelliauth/intelliauth/internal/store"
)

const testPassword = "correct horse battery staple"

// user creates an active user with testPassword and the roles.
func (f *fixture) user(t *testing.T, username string, roles ...string) model.User {
	t.Helper()
	u, err := f.svc.CreateUser(t.Context(), f.actor, "acme", UserInput{Username: username, Email: username + "@example.com",
		Name: strings.ToUpper(username[:1]) + username[1:], Password: testPassword, Roles: roles})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestCreateTenantHasBuiltinRoles(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	roles, err := f.svc.ListRoles(t.Context(), f.actor, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(roles) != 2 || roles[0].Name != model.RoleAdmin || roles[1].Name != model.RoleUser || !roles[0].Builtin || !roles[1].Builtin {
		t.Fatalf("roles = %+v", roles)
	}
	if !slices.Equal(roles[0].Scopes, model.PlatformScopeNames()) || !slices.Equal(roles[1].Scopes, []string{"me:read", "me:sessions", "me:write"}) {
		t.Fatalf("built-in scopes: admin %v, user %v", roles[0].Scopes, roles[1].Scopes)
	}
	ev := f.events(t, "acme")[0]
	if ev.Type != model.EventTenantCreated || len(details(t, ev)["builtin_roles"].([]any)) != 2 {
		t.Fatalf("tenant.created = %s", ev.Details)
	}
	// A tenant that has them is left alone.
	n := len(f.events(t, "acme"))
	if err := f.svc.EnsureBuiltinRoles(t.Context(), f.actor, "acme"); err != nil {
		t.Fatal(err)
	}
	f.unchanged(t, "acme", n)
}

func TestCreateUser(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	u, err := f.svc.CreateUser(ctx, f.actor, "acme", UserInput{
		Username: "alice", Email: "alice@example.com", EmailVerified: true, Name: "Alice Adams", GivenName: "Alice",
		Address: model.Address{Locality: "London", Country: "GB"}, Password: testPassword, Roles: []string{"user", model.RoleAdmin, "user"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.ID, UserIDPrefix) || u.Status != model.UserActive || u.Version == 0 || u.Address.Locality != "London" {
		t.Fatalf("user = %+v", u)
	}
	if ok, err := password.Verify(u.PasswordHash, testPassword); !ok || err != nil {
		t.Fatalf("stored hash does not verify the password: %v", err)
	}
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Fatalf("hash = %q", u.PasswordHash)
	}
	d, err := f.svc.GetUser(ctx, f.actor, "acme", "ALICE")
	if err != nil {
		t.Fatal(err)
	}
	if d.User.ID != u.ID || !slices.Equal(d.Roles, []string{"admin", "user"}) || !slices.Contains(d.Scopes, "users:write") || !slices.Contains(d.Scopes, "me:read") {
		t.Fatalf("detail = %+v", d)
	}
	for _, ref := range []string{u.ID, "alice@example.com"} {
		if d, err := f.svc.GetUser(ctx, f.actor, "acme", ref); err != nil || d.User.ID != u.ID {
			t.Fatalf("get by %q: %v", ref, err)
		}
	}
	ev := f.lastEvent(t, "acme")
	if ev.Type != model.EventUserCreated || ev.Subject != u.ID || ev.ActorID != "usr_admin" {
		t.Fatalf("event = %+v", ev)
	}
	// The audit record and the JSON view never carry the password or its hash.
	if strings.Contains(string(ev.Details), testPassword) || strings.Contains(string(ev.Details), "argon2") {
		t.Fatalf("details leak the password: %s", ev.Details)
	}
	dd := details(t, ev)
	if after := dd["after"].(map[string]any); after["username"] != "alice" || after["has_password"] != true {
		t.Fatalf("details = %s", ev.Details)
	}
	if roles := dd["roles"].([]any); len(roles) != 2 {
		t.Fatalf("roles in details = %v", roles)
	}
}

func TestCreateUserRefusals(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	f.user(t, "alice")
	n := len(f.events(t, "acme"))
	cases := []struct {
		name string
		in   UserInput
		want []string
	}{
		{"every problem at once", UserInput{Username: "-bad name", Email: "not an email", Password: "short"}, []string{"username", "email", "at least 8"}},
		{"no password", UserInput{Username: "bob"}, []string{"password"}},
		{"password of invalid UTF-8", UserInput{Username: "bob", Password: "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8"}, []string{"UTF-8"}},
		{"password too long", UserInput{Username: "bob", Password: strings.Repeat("x", password.MaxLength+1)}, []string{"at most"}},
		{"unknown role", UserInput{Username: "bob", Password: testPassword, Roles: []string{"teller", "ghost"}}, []string{"ghost teller"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.svc.CreateUser(ctx, f.actor, "acme", c.in)
			wantInvalid(t, err, c.want...)
		})
	}
	for _, dup := range []UserInput{
		{Username: "ALICE", Password: testPassword},
		{Username: "alice2", Email: "Alice@Example.com", Password: testPassword},
	} {
		if _, err := f.svc.CreateUser(ctx, f.actor, "acme", dup); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate %+v: %v", dup, err)
		}
	}
	if _, err := f.svc.CreateUser(ctx, f.actor, "nope", UserInput{Username: "bob", Password: testPassword}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown tenant: %v", err)
	}
	f.unchanged(t, "acme", n)
	if page, _ := f.svc.ListUsers(ctx, f.actor, "acme", store.UserQuery{}); page.Total != 1 {
		t.Fatalf("a refused user was stored: %d users", page.Total)
	}
}

func TestListUsers(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	for _, n := range []string{"carol", "alice", "bob", "albert"} {
		f.user(t, n)
	}
	if _, err := f.svc.DisableUser(ctx, f.actor, "acme", "bob"); err != nil {
		t.Fatal(err)
	}
	usernames := func(p UserPage) []string {
		var out []string
		for _, u := range p.Users {
			out = append(out, u.Username)
		}
		return out
	}
	for _, c := range []struct {
		q     store.UserQuery
		want  []string
		total int
	}{
		{store.UserQuery{}, []string{"albert", "alice", "bob", "carol"}, 4},
		{store.UserQuery{Search: "AL"}, []string{"albert", "alice"}, 2},
		{store.UserQuery{Status: model.UserDisabled}, []string{"bob"}, 1},
		{store.UserQuery{Page: store.Page{Offset: 1, Limit: 2}}, []string{"alice", "bob"}, 4},
	} {
		p, err := f.svc.ListUsers(ctx, f.actor, "acme", c.q)
		if err != nil || !slices.Equal(usernames(p), c.want) || p.Total != c.total {
			t.Errorf("%+v: %v (total %d), %v", c.q, usernames(p), p.Total, err)
		}
	}
	_, err := f.svc.ListUsers(ctx, f.actor, "acme", store.UserQuery{Status: "zombie"})
	wantInvalid(t, err, "status")
}

func TestUpdateUser(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	u, err := f.svc.CreateUser(ctx, f.actor, "acme", UserInput{Username: "alice", Email: "alice@example.com", EmailVerified: true, Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	f.user(t, "bob")
	name, email, locale := "Alice Liddell", "alice@wonder.example", "en-GB"
	got, err := f.svc.UpdateUser(ctx, f.actor, "acme", "alice", UserUpdate{Name: &name, Email: &email, Locale: &locale, Version: u.Version})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != name || got.Email != email || got.EmailVerified || got.Locale != locale || got.Version != u.Version+1 || got.PasswordHash != u.PasswordHash {
		t.Fatalf("updated = %+v", got)
	}
	ev := f.lastEvent(t, "acme")
	d := details(t, ev)
	if ev.Type != model.EventUserUpdated || ev.Subject != u.ID || d["before"].(map[string]any)["email"] != "alice@example.com" || d["after"].(map[string]any)["name"] != name {
		t.Fatalf("event = %s %s", ev.Type, ev.Details)
	}
	n := len(f.events(t, "acme"))
	// The same values again: nothing written.
	if _, err := f.svc.UpdateUser(ctx, f.actor, "acme", u.ID, UserUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	bad, taken := "not an email", "BOB@example.com"
	_, err = f.svc.UpdateUser(ctx, f.actor, "acme", "alice", UserUpdate{Email: &bad})
	wantInvalid(t, err, "email")
	if _, err := f.svc.UpdateUser(ctx, f.actor, "acme", "alice", UserUpdate{Email: &taken}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("taken email: %v", err)
	}
	if _, err := f.svc.UpdateUser(ctx, f.actor, "acme", "alice", UserUpdate{Name: &locale, Version: u.Version}); !errors.Is(err, store.ErrPrecondition) {
		t.Fatalf("stale version: %v", err)
	}
	if _, err := f.svc.UpdateUser(ctx, f.actor, "acme", "ghost", UserUpdate{Name: &name}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	f.unchanged(t, "acme", n)
}

func TestDisableEnableUser(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	u := f.user(t, "alice")
	now := f.clock.Now()
	if err := f.st.Sessions().Create(ctx, model.Session{TenantID: "acme", ID: "sess-hash", UserID: u.ID, AuthTime: now,
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.DisableUser(ctx, f.actor, "acme", "alice")
	if err != nil || got.Status != model.UserDisabled {
		t.Fatalf("disable = %+v, %v", got, err)
	}
	if ss, _ := f.st.Sessions().ListByUser(ctx, "acme", u.ID); len(ss) != 0 {
		t.Fatalf("sessions survived disabling: %d", len(ss))
	}
	ev := f.lastEvent(t, "acme")
	if d := details(t, ev); ev.Type != model.EventUserDisabled || ev.Subject != u.ID || d["sessions_ended"] != float64(1) {
		t.Fatalf("event = %s %s", ev.Type, ev.Details)
	}
	n := len(f.events(t, "acme"))
	if _, err := f.svc.DisableUser(ctx, f.actor, "acme", u.ID); err != nil {
		t.Fatal(err)
	}
	f.unchanged(t, "acme", n)
	got, err = f.svc.EnableUser(ctx, f.actor, "acme", "alice")
	if err != nil || got.Status != model.UserActive || f.lastEvent(t, "acme").Type != model.EventUserEnabled {
		t.Fatalf("enable = %+v, %v", got, err)
	}
}

func TestSetPasswordAndDeleteUser(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	u := f.user(t, "alice", "user")
	n := len(f.events(t, "acme"))
	err := f.svc.SetPassword(ctx, f.actor, "acme", "alice", "1234567", false)
	wantInvalid(t, err, "password", "at least 8")
	if err := f.svc.SetPassword(ctx, f.actor, "acme", "ghost", "new password 1", false); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	f.unchanged(t, "acme", n)

	if err := f.svc.SetPassword(ctx, f.actor, "acme", "alice", "new password 1", true); err != nil {
		t.Fatal(err)
	}
	d, _ := f.svc.GetUser(ctx, f.actor, "acme", "alice")
	if ok, _ := password.Verify(d.User.PasswordHash, "new password 1"); !ok {
		t.Fatal("the new password does not verify")
	}
	if ok, _ := password.Verify(d.User.PasswordHash, testPassword); ok {
		t.Fatal("the old password still verifies")
	}
	ev := f.lastEvent(t, "acme")
	if ev.Type != model.EventUserPasswordSet || ev.Subject != u.ID || strings.Contains(string(ev.Details), "new password") || strings.Contains(string(ev.Details), "argon2") {
		t.Fatalf("event = %s %s", ev.Type, ev.Details)
	}

	if err := f.svc.DeleteUser(ctx, f.actor, "acme", "alice", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.GetUser(ctx, f.actor, "acme", u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted user: %v", err)
	}
	ev = f.lastEvent(t, "acme")
	if d := details(t, ev); ev.Type != model.EventUserDeleted || ev.Subject != u.ID || len(d["roles"].([]any)) != 1 {
		t.Fatalf("event = %s %s", ev.Type, ev.Details)
	}
	if err := f.svc.DeleteUser(ctx, f.actor, "acme", "alice", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestRoles(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	r, err := f.svc.CreateRole(ctx, f.actor, "acme", RoleInput{Name: "teller", Description: "Reads transactions.", Scopes: []string{"read:tx", "read:tx"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Scopes, []string{"read:tx"}) || r.Builtin {
		t.Fatalf("role = %+v", r)
	}
	ev := f.lastEvent(t, "acme")
	if ev.Type != model.EventRoleCreated || !slices.Equal(ev.Scopes, []string{"read:tx"}) {
		t.Fatalf("event = %+v", ev)
	}

	n := len(f.events(t, "acme"))
	for _, c := range []struct {
		name string
		in   RoleInput
		want []string
	}{
		{"bad name and scope token", RoleInput{Name: "Teller!", Scopes: []string{"bad scope\""}}, []string{"name", "not a valid scope name"}},
		{"unknown scopes", RoleInput{Name: "clerk", Scopes: []string{"read:tx", "ghost:x", "nope"}}, []string{"ghost:x nope"}},
		{"description too long", RoleInput{Name: "clerk", Description: strings.Repeat("d", 201)}, []string{"description"}},
	} {
		_, err := f.svc.CreateRole(ctx, f.actor, "acme", c.in)
		wantInvalid(t, err, c.want...)
	}
	if _, err := f.svc.CreateRole(ctx, f.actor, "acme", RoleInput{Name: "teller"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate role: %v", err)
	}
	err = f.svc.DeleteRole(ctx, f.actor, "acme", model.RoleAdmin, 0)
	wantInvalid(t, err, "built-in")
	ghost := []string{"ghost:x"}
	_, err = f.svc.UpdateRole(ctx, f.actor, "acme", "teller", RoleUpdate{Scopes: &ghost})
	wantInvalid(t, err, "ghost:x")
	if _, err := f.svc.UpdateRole(ctx, f.actor, "acme", "teller", RoleUpdate{Scopes: &ghost, Version: 99}); !errors.Is(err, store.ErrPrecondition) {
		t.Fatalf("stale version: %v", err)
	}
	f.unchanged(t, "acme", n)

	scopes, desc := []string{"write:tx", "read:records"}, "Writes."
	r, err = f.svc.UpdateRole(ctx, f.actor, "acme", "teller", RoleUpdate{Scopes: &scopes, Description: &desc})
	if err != nil || !slices.Equal(r.Scopes, []string{"read:records", "write:tx"}) || r.Description != desc {
		t.Fatalf("update = %+v, %v", r, err)
	}
	ev = f.lastEvent(t, "acme")
	d := details(t, ev)
	if ev.Type != model.EventRoleUpdated || len(d["added"].([]any)) != 2 || len(d["removed"].([]any)) != 1 {
		t.Fatalf("event = %s %s", ev.Type, ev.Details)
	}
	if err := f.svc.DeleteRole(ctx, f.actor, "acme", "teller", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.GetRole(ctx, f.actor, "acme", "teller"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted role: %v", err)
	}
	if err := f.svc.DeleteRole(ctx, f.actor, "acme", "teller", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestAssignRolesAndGroups(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	if _, err := f.svc.CreateRole(ctx, f.actor, "acme", RoleInput{Name: "teller", Scopes: []string{"read:tx"}}); err != nil {
		t.Fatal(err)
	}
	bob := f.user(t, "bob", "user")
	if _, err := f.svc.AssignRole(ctx, f.actor, "acme", "teller", "bob"); err != nil {
		t.Fatal(err)
	}
	ev := f.lastEvent(t, "acme")
	if ev.Type != model.EventRoleAssigned || ev.Subject != bob.ID || !slices.Equal(ev.Scopes, []string{"read:tx"}) {
		t.Fatalf("event = %+v", ev)
	}
	n := len(f.events(t, "acme"))
	if _, err := f.svc.AssignRole(ctx, f.actor, "acme", "teller", bob.ID); err != nil {
		t.Fatal(err)
	}
	f.unchanged(t, "acme", n) // already held: nothing written
	if _, err := f.svc.AssignRole(ctx, f.actor, "acme", "ghost", "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown role: %v", err)
	}
	if _, err := f.svc.AssignRole(ctx, f.actor, "acme", "teller", "ghost"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	f.unchanged(t, "acme", n)
	rd, err := f.svc.GetRole(ctx, f.actor, "acme", "teller")
	if err != nil || len(rd.Users) != 1 || rd.Users[0].Username != "bob" {
		t.Fatalf("role detail = %+v, %v", rd, err)
	}

	// Groups: roles through membership.
	_, err = f.svc.CreateGroup(ctx, f.actor, "acme", GroupInput{Name: "branch", Roles: []string{"teller", "ghost"}})
	wantInvalid(t, err, "ghost")
	_, err = f.svc.CreateGroup(ctx, f.actor, "acme", GroupInput{Name: "Bad Name"})
	wantInvalid(t, err, "name")
	f.unchanged(t, "acme", n)
	g, err := f.svc.CreateGroup(ctx, f.actor, "acme", GroupInput{Name: "branch", Description: "Branch staff", Roles: []string{"teller"}})
	if err != nil || !slices.Equal(g.Roles, []string{"teller"}) {
		t.Fatalf("group = %+v, %v", g, err)
	}
	if _, err := f.svc.CreateGroup(ctx, f.actor, "acme", GroupInput{Name: "branch"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate group: %v", err)
	}
	carol := f.user(t, "carol")
	if _, err := f.svc.AddMember(ctx, f.actor, "acme", "branch", "carol"); err != nil {
		t.Fatal(err)
	}
	ev = f.lastEvent(t, "acme")
	if ev.Type != model.EventGroupMemberAdded || ev.Subject != carol.ID {
		t.Fatalf("event = %+v", ev)
	}
	n = len(f.events(t, "acme"))
	if _, err := f.svc.AddMember(ctx, f.actor, "acme", "branch", carol.ID); err != nil {
		t.Fatal(err)
	}
	f.unchanged(t, "acme", n)
	cd, _ := f.svc.GetUser(ctx, f.actor, "acme", "carol")
	if !slices.Equal(cd.Roles, []string{"teller"}) || !slices.Equal(cd.Groups, []string{"branch"}) || !slices.Equal(cd.Scopes, []string{"read:tx"}) {
		t.Fatalf("carol through the group = %+v", cd)
	}
	// Carol holds teller only through the group: unassigning is refused
	// with a sentence that says what to do.
	_, err = f.svc.UnassignRole(ctx, f.actor, "acme", "teller", "carol")
	wantInvalid(t, err, "through group branch", "group remove")
	f.unchanged(t, "acme", n)
	gd, err := f.svc.GetGroup(ctx, f.actor, "acme", "branch")
	if err != nil || len(gd.Members) != 1 || gd.Members[0].Username != "carol" {
		t.Fatalf("group detail = %+v, %v", gd, err)
	}
	roles := []string{}
	if _, err := f.svc.UpdateGroup(ctx, f.actor, "acme", "branch", GroupUpdate{Roles: &roles}); err != nil {
		t.Fatal(err)
	}
	if cd, _ := f.svc.GetUser(ctx, f.actor, "acme", "carol"); len(cd.Scopes) != 0 {
		t.Fatalf("carol keeps %v after the group lost its role", cd.Scopes)
	}
	if _, err := f.svc.RemoveMember(ctx, f.actor, "acme", "branch", "carol"); err != nil || f.lastEvent(t, "acme").Type != model.EventGroupMemberRemoved {
		t.Fatalf("remove member: %v", err)
	}

	if _, err := f.svc.UnassignRole(ctx, f.actor, "acme", "teller", "bob"); err != nil {
		t.Fatal(err)
	}
	if ev := f.lastEvent(t, "acme"); ev.Type != model.EventRoleUnassigned || ev.Subject != bob.ID {
		t.Fatalf("event = %+v", ev)
	}
	bd, _ := f.svc.GetUser(ctx, f.actor, "acme", "bob")
	if !slices.Equal(bd.Roles, []string{"user"}) {
		t.Fatalf("bob's roles = %v", bd.Roles)
	}
	if _, err := f.svc.AddMember(ctx, f.actor, "acme", "branch", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteGroup(ctx, f.actor, "acme", "branch", 0); err != nil {
		t.Fatal(err)
	}
	ev = f.lastEvent(t, "acme")
	if d := details(t, ev); ev.Type != model.EventGroupDeleted || len(d["members"].([]any)) != 1 {
		t.Fatalf("event = %s %s", ev.Type, ev.Details)
	}
	if gs, _ := f.svc.ListGroups(ctx, f.actor, "acme"); len(gs) != 0 {
		t.Fatalf("groups = %v", gs)
	}
}
