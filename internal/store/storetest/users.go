package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// newUser returns an active user with every profile field set.
func newUser(tenantID, id, username, email string) model.User {
	return model.User{TenantID: tenantID, ID: id, Username: username, Email: email, EmailVerified: true,
		Name: "Name of " + username, GivenName: "Given", FamilyName: "Family", Picture: "https://example.com/" + id + ".png",
		Locale: "en-GB", Address: model.Address{Formatted: "1 Main St\nSpringfield", StreetAddress: "1 Main St",
			Locality: "Springfield", Region: "SP", PostalCode: "12345", Country: "GB"},
		PhoneNumber: "+44 20 7946 0000", PhoneNumberVerified: true,
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA", Status: model.UserActive,
		CreatedAt: t0, UpdatedAt: t0}
}

// seedUsers seeds tenant with an API "bank" and the given users, each
// named by ID with username = ID and email ID@example.com.
func seedUsers(t *testing.T, s store.Store, tenantID string, ids ...string) {
	t.Helper()
	seed(t, s, tenantID)
	for _, id := range ids {
		must(t, s.Users().Create(t.Context(), newUser(tenantID, id, id, id+"@example.com")))
	}
}

var userTests = []test{
	{"create and get round-trip every field", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		full := newUser("a", "usr_1", "Alice.Smith", "Alice@Example.com")
		bare := model.User{TenantID: "a", ID: "usr_2", Username: "bob", Status: model.UserDisabled, CreatedAt: t0, UpdatedAt: t0.Add(time.Second)}
		for _, in := range []model.User{full, bare} {
			must(t, s.Users().Create(ctx, in))
			got, err := s.Users().Get(ctx, "a", in.ID)
			must(t, err)
			want := in
			want.CreatedAt, want.UpdatedAt, want.Version = us(in.CreatedAt), us(in.UpdatedAt), 1
			equal(t, "user "+in.ID, got, want)
		}
	}},
	{"username and email are unique without regard to case: ErrConflict", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.Users().Create(ctx, newUser("a", "usr_1", "alice", "alice@example.com")))
		for name, u := range map[string]model.User{
			"same ID":             newUser("a", "usr_1", "other", "other@example.com"),
			"username, one case":  newUser("a", "usr_2", "alice", "x@example.com"),
			"username, any case":  newUser("a", "usr_2", "ALICE", "x@example.com"),
			"email, another case": newUser("a", "usr_2", "alice2", "Alice@EXAMPLE.com"),
		} {
			if err := s.Users().Create(ctx, u); err == nil {
				t.Fatalf("%s: created", name)
			} else {
				wantErr(t, err, store.ErrConflict)
			}
		}
		// Empty emails do not collide with each other.
		must(t, s.Users().Create(ctx, newUser("a", "usr_3", "carol", "")))
		must(t, s.Users().Create(ctx, newUser("a", "usr_4", "dave", "")))
		// Nor does the same name in another tenant.
		must(t, s.Tenants().Create(ctx, newTenant("b")))
		must(t, s.Users().Create(ctx, newUser("b", "usr_1", "alice", "alice@example.com")))
		wantErr(t, s.Users().Create(ctx, newUser("nope", "usr_9", "zed", "")), store.ErrNotFound)
	}},
	{"GetByLogin finds by username or email without regard to case; username wins", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.Users().Create(ctx, newUser("a", "usr_1", "Alice", "alice@example.com")))
		must(t, s.Users().Create(ctx, newUser("a", "usr_2", "bob@example.com", "robert@example.com")))
		must(t, s.Users().Create(ctx, newUser("a", "usr_3", "bobby", "bob@example.com")))
		for login, want := range map[string]string{
			"alice": "usr_1", "ALICE": "usr_1", "Alice@Example.COM": "usr_1",
			"robert@example.com": "usr_2", "BOB@example.com": "usr_2", "bobby": "usr_3",
		} {
			u, err := s.Users().GetByLogin(ctx, "a", login)
			must(t, err)
			equal(t, "user for "+login, u.ID, want)
		}
		for _, login := range []string{"", "alic", "alice%", "al_ce", "usr_1"} {
			_, err := s.Users().GetByLogin(ctx, "a", login)
			wantErr(t, err, store.ErrNotFound)
		}
		_, err := s.Users().GetByLogin(ctx, "b", "alice")
		wantErr(t, err, store.ErrNotFound)
	}},
	{"List orders by username, pages with the total, searches prefixes and filters by status", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		var names []string
		for i, n := range append(seq("u", 25), "Zed", "alice", "al_x", "bob") {
			u := newUser("a", fmt.Sprintf("usr_%02d", i), n, strings.ToLower(n)+"@example.com")
			if n == "bob" {
				u.Email, u.Name, u.Status = "robert@mail.example", "Alfred Bob", model.UserDisabled
			}
			must(t, s.Users().Create(ctx, u))
			names = append(names, n)
		}
		names = sorted(names)
		usernames := func(us []model.User) []string {
			var out []string
			for _, u := range us {
				out = append(out, u.Username)
			}
			return out
		}
		page, total, err := s.Users().List(ctx, "a", store.UserQuery{})
		must(t, err)
		equal(t, "total", total, 29)
		equal(t, "page 1 (default 20)", usernames(page), names[:20])
		page, total, err = s.Users().List(ctx, "a", store.UserQuery{Page: store.Page{Offset: 20, Limit: 20}})
		must(t, err)
		equal(t, "page 2", usernames(page), names[20:])
		equal(t, "total on page 2", total, 29)
		page, total, err = s.Users().List(ctx, "a", store.UserQuery{Page: store.Page{Offset: 100}})
		must(t, err)
		equal(t, "past the end", len(page), 0)
		equal(t, "total past the end", total, 29)

		for _, c := range []struct {
			q    store.UserQuery
			want []string
		}{
			{store.UserQuery{Search: "AL"}, []string{"al_x", "alice", "bob"}}, // bob by name "Alfred Bob"
			{store.UserQuery{Search: "al_"}, []string{"al_x"}},                // '_' is literal
			{store.UserQuery{Search: "a%"}, nil},                              // '%' is literal
			{store.UserQuery{Search: "robert@"}, []string{"bob"}},             // by email
			{store.UserQuery{Search: "bob"}, []string{"bob"}},
			{store.UserQuery{Search: "lice"}, nil}, // prefix, not substring
			{store.UserQuery{Status: model.UserDisabled}, []string{"bob"}},
			{store.UserQuery{Search: "al", Status: model.UserActive}, []string{"al_x", "alice"}},
			{store.UserQuery{Search: "u01", Page: store.Page{Limit: 3}}, []string{"u010", "u011", "u012"}},
		} {
			page, total, err := s.Users().List(ctx, "a", c.q)
			must(t, err)
			equal(t, fmt.Sprintf("%+v", c.q), usernames(page), c.want)
			if c.q.Page.Limit == 0 {
				equal(t, fmt.Sprintf("total of %+v", c.q), total, len(c.want))
			} else {
				equal(t, fmt.Sprintf("total of %+v", c.q), total, 10)
			}
		}
		page, total, err = s.Users().List(ctx, "empty", store.UserQuery{})
		must(t, err)
		equal(t, "unknown tenant", len(page)+total, 0)
	}},
	{"Update replaces the profile but not the password, with a Version precondition", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1", "usr_2")
		cur, err := s.Users().Get(ctx, "a", "usr_1")
		must(t, err)
		next := newUser("a", "usr_1", "renamed", "New@example.com")
		next.Name, next.EmailVerified, next.Address, next.Status = "New Name", false, model.Address{Country: "FR"}, model.UserDisabled
		next.PasswordHash, next.CreatedAt = "ignored", t0.Add(time.Hour) // not replaced
		next.Version = cur.Version
		got, err := s.Users().Update(ctx, next)
		must(t, err)
		want := next
		want.PasswordHash, want.CreatedAt, want.UpdatedAt, want.Version = cur.PasswordHash, cur.CreatedAt, got.UpdatedAt, 2
		equal(t, "updated", got, want)
		stored, err := s.Users().Get(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "stored", stored, got)
		utc(t, "UpdatedAt", got.UpdatedAt)

		_, err = s.Users().Update(ctx, next) // Version 1 again
		wantErr(t, err, store.ErrPrecondition)
		taken := got
		taken.Username = "USR_2"
		_, err = s.Users().Update(ctx, taken)
		wantErr(t, err, store.ErrConflict)
		taken = got
		taken.Email = "usr_2@EXAMPLE.com"
		_, err = s.Users().Update(ctx, taken)
		wantErr(t, err, store.ErrConflict)
		missing := newUser("a", "usr_9", "nine", "")
		missing.Version = 1
		_, err = s.Users().Update(ctx, missing)
		wantErr(t, err, store.ErrNotFound)
		stored, err = s.Users().Get(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "unchanged by the failures", stored, got)
	}},
	{"SetPassword replaces the hash and bumps Version", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1")
		must(t, s.Users().SetPassword(ctx, "a", "usr_1", "$argon2id$new"))
		got, err := s.Users().Get(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "hash", got.PasswordHash, "$argon2id$new")
		equal(t, "version", got.Version, int64(2))
		stale := newUser("a", "usr_1", "usr_1", "usr_1@example.com")
		stale.Version = 1
		_, err = s.Users().Update(ctx, stale)
		wantErr(t, err, store.ErrPrecondition)
		wantErr(t, s.Users().SetPassword(ctx, "a", "usr_9", "x"), store.ErrNotFound)
	}},
	{"Delete removes the user and everything of theirs, and nobody else's", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1", "usr_2")
		must(t, s.Applications().Create(ctx, newApp("a", "web", "read")))
		must(t, s.Roles().Create(ctx, newRole("a", "teller", "read")))
		must(t, s.Groups().Create(ctx, model.Group{TenantID: "a", Name: "staff", Roles: []string{"teller"}}))
		for _, id := range []string{"usr_1", "usr_2"} {
			must(t, s.Roles().Assign(ctx, "a", id, "teller"))
			must(t, s.Groups().AddMember(ctx, "a", "staff", id))
			_, err := s.Consents().Grant(ctx, "a", id, "web", []string{"read"})
			must(t, err)
			must(t, s.Sessions().Create(ctx, newSession("a", "ses_"+id, id, t0)))
			ar := newAuthRequest("a", "req_"+id, "web")
			ar.UserID = id
			must(t, s.AuthRequests().Create(ctx, ar))
			must(t, s.Codes().Create(ctx, newCode("a", "code_"+id, "web", id)))
			must(t, s.RefreshTokens().Create(ctx, newRefresh("a", "rt_"+id, "fam_"+id, "web", id)))
		}
		must(t, s.Users().Delete(ctx, "a", "usr_1", 0))
		wantErr(t, s.Users().Delete(ctx, "a", "usr_1", 0), store.ErrNotFound)

		_, err := s.Users().Get(ctx, "a", "usr_1")
		wantErr(t, err, store.ErrNotFound)
		holders, err := s.Roles().Holders(ctx, "a", "teller")
		must(t, err)
		equal(t, "role holders", holders, []string{"usr_2"})
		members, err := s.Groups().Members(ctx, "a", "staff")
		must(t, err)
		equal(t, "members", members, []string{"usr_2"})
		_, err = s.Consents().Get(ctx, "a", "usr_1", "web")
		wantErr(t, err, store.ErrNotFound)
		_, err = s.Sessions().Get(ctx, "a", "ses_usr_1")
		wantErr(t, err, store.ErrNotFound)
		_, err = s.AuthRequests().Get(ctx, "a", "req_usr_1")
		wantErr(t, err, store.ErrNotFound)
		_, err = s.Codes().Redeem(ctx, "a", "code_usr_1", t0)
		wantErr(t, err, store.ErrNotFound)
		_, err = s.RefreshTokens().Get(ctx, "a", "rt_usr_1")
		wantErr(t, err, store.ErrNotFound)
		impact, err := s.Scopes().Impact(ctx, "a", "read")
		must(t, err)
		equal(t, "consents left holding the scope", impact.Consents, 1)

		// The other user keeps everything.
		_, err = s.Consents().Get(ctx, "a", "usr_2", "web")
		must(t, err)
		_, err = s.Sessions().Get(ctx, "a", "ses_usr_2")
		must(t, err)
		_, err = s.AuthRequests().Get(ctx, "a", "req_usr_2")
		must(t, err)
		_, err = s.RefreshTokens().Get(ctx, "a", "rt_usr_2")
		must(t, err)
		_, err = s.Codes().Redeem(ctx, "a", "code_usr_2", t0)
		must(t, err)
		// The ID and the names are free again.
		must(t, s.Users().Create(ctx, newUser("a", "usr_1", "usr_1", "usr_1@example.com")))
		roles, err := s.Roles().OfUser(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "roles of the new user", len(roles), 0)
	}},
}
