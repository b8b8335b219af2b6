package console_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/intelliauth/intelliauth/internal/admin"
)

// TestVersionedFormsWithoutVersionRefused: every edit or delete form of the
// people pages carries the version it was shown at (If-Match); a form
// without it is refused with nothing changed, never taken as "whatever is
// stored", which would overwrite someone else's change without a word.
func TestVersionedFormsWithoutVersionRefused(t *testing.T) {
	for name, open := range peopleBackends(t) {
		t.Run(name, func(t *testing.T) {
			e, demo := startConsoleOn(t, open(t))
			ctx, cli := t.Context(), admin.CLI()
			alice, _ := demo.User("alice")
			c := peopleSignIn(t, e, "alice", alice.Password)
			if _, err := e.Admin.CreateGroup(ctx, cli, admin.DemoTenantID, admin.GroupInput{Name: "tellers", Description: "Counter staff."}); err != nil {
				t.Fatal(err)
			}
			bob := peopleUser(t, e, "bob").User
			events := len(peopleEvents(t, e, ""))
			for _, tc := range []struct {
				path string
				form url.Values
			}{
				{"/users/" + bob.ID, url.Values{"username": {"bob"}, "email": {"overwritten@example.com"}, "name": {"Over Written"}}},
				{"/users/" + bob.ID + "/delete", nil},
				{"/groups/tellers", url.Values{"description": {"Overwritten."}}},
				{"/groups/tellers/delete", nil},
				{"/roles/teller", url.Values{"description": {"Overwritten."}, "scopes": {"read:transactions"}}},
				{"/roles/teller/delete", nil},
			} {
				for _, v := range []string{"", "0", "x"} {
					form := url.Values{}
					for k, vs := range tc.form {
						form[k] = vs
					}
					if v != "" {
						form.Set("version", v)
					}
					p := c.post(t, tc.path, form)
					if p.Status != http.StatusBadRequest {
						t.Errorf("POST %s with version %q: %d, want 400:\n%s", tc.path, v, p.Status, p.Body)
					}
				}
			}
			if n := len(peopleEvents(t, e, "")); n != events {
				t.Errorf("%d audit events written by forms without a version", n-events)
			}
			if cur := peopleUser(t, e, "bob").User; cur.Version != bob.Version || cur.Email != bob.Email {
				t.Errorf("bob changed: %+v", cur)
			}
			if g, err := e.Admin.GetGroup(ctx, cli, admin.DemoTenantID, "tellers"); err != nil || g.Group.Description != "Counter staff." {
				t.Errorf("tellers: %+v %v", g.Group, err)
			}
			if r, err := e.Admin.GetRole(ctx, cli, admin.DemoTenantID, "teller"); err != nil || r.Role.Description == "Overwritten." {
				t.Errorf("teller: %+v %v", r.Role, err)
			}
		})
	}
}
