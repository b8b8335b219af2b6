package console_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/store/sqlite"
)

// peopleBackends opens the stores the plain-HTTP tests of the Users,
// Groups and Roles pages run on: SQLite always, PostgreSQL when
// servertest.PostgresEnv names one.
func peopleBackends(t *testing.T) map[string]func(*testing.T) store.Store {
	return map[string]func(*testing.T) store.Store{
		"sqlite": func(t *testing.T) store.Store {
			db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "console.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			if err := db.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			return db
		},
		"postgres": func(t *testing.T) store.Store {
			if testing.Short() || !postgresConfigured() {
				t.Skip("set " + servertest.PostgresEnv + " to run on PostgreSQL")
			}
			return servertest.OpenStore(t)
		},
	}
}

func postgresConfigured() bool { return os.Getenv(servertest.PostgresEnv) != "" }

// startConsoleOn is startConsole over st.
func startConsoleOn(t *testing.T, st store.Store) (*servertest.Env, admin.Demo) {
	t.Helper()
	e := servertest.StartOn(t, st)
	demo, err := e.Admin.SeedDemo(t.Context(), admin.CLI(), e.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.Server.Catalog().Invalidate(admin.DemoTenantID)
	return e, demo
}

// peopleClient is a console session over plain HTTP: a cookie-keeping
// client signed in as one user, and the session's CSRF token.
type peopleClient struct {
	*servertest.Browser
	e    *servertest.Env
	CSRF string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// peopleSignIn signs in to the banking console over plain HTTP, through
// the tenant's login page, as username with password.
func peopleSignIn(t *testing.T, e *servertest.Env, username, password string) *peopleClient {
	t.Helper()
	b := servertest.NewBrowser(t)
	page := b.Visit(e.URL, consoleURL(e)+"/")
	page = b.SignIn(e.URL, page, username, password)
	if page.Status != http.StatusOK && page.Status != http.StatusForbidden || !strings.HasPrefix(page.URL.String(), consoleURL(e)+"/") {
		t.Fatalf("signing in to the console as %s ended at %s (%d):\n%s", username, page.URL, page.Status, page.Body)
	}
	m := csrfField.FindStringSubmatch(page.Body)
	if m == nil {
		t.Fatalf("no CSRF token on the console home:\n%s", page.Body)
	}
	return &peopleClient{Browser: b, e: e, CSRF: m[1]}
}

// get opens a console page.
func (c *peopleClient) get(t *testing.T, path string) *servertest.Page {
	t.Helper()
	return c.Visit(c.e.URL, consoleURL(c.e)+path)
}

// post sends a form to a console path with the session's CSRF token
// (unless form sets csrf itself), following the redirect that answers a
// success.
func (c *peopleClient) post(t *testing.T, path string, form url.Values) *servertest.Page {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", c.CSRF)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, consoleURL(c.e)+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.e.URL)
	return c.Do(c.e.URL, req)
}

// peopleUser returns a demo tenant user by username.
func peopleUser(t *testing.T, e *servertest.Env, ref string) admin.UserDetail {
	t.Helper()
	d, err := e.Admin.GetUser(t.Context(), admin.CLI(), admin.DemoTenantID, ref)
	if err != nil {
		t.Fatalf("user %s: %v", ref, err)
	}
	return d
}

// peopleEvents returns the demo tenant's audit events of type typ, newest
// first.
func peopleEvents(t *testing.T, e *servertest.Env, typ string) []model.AuditEvent {
	t.Helper()
	evs, err := e.Store.Audit().Search(t.Context(), store.AuditQuery{TenantID: admin.DemoTenantID, Type: typ, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// wantConsoleEvent checks that there is an event of type typ (about
// subject, when one is given) made by alice, and that every such event
// records the console as the application she acted through; it returns the
// details of the newest. (The test clock stands still, so the seed's
// events share alice's timestamps: they are told apart by actor.)
func wantConsoleEvent(t *testing.T, e *servertest.Env, typ, subject string) map[string]any {
	t.Helper()
	alice := peopleUser(t, e, "alice").User
	var out map[string]any
	for _, ev := range peopleEvents(t, e, typ) {
		if ev.ActorID != alice.ID || (subject != "" && ev.Subject != subject) {
			continue
		}
		var d map[string]any
		if err := json.Unmarshal(ev.Details, &d); err != nil {
			t.Fatalf("%s details: %v", typ, err)
		}
		if ev.ActorType != model.ActorUser || d["via_client"] != model.ConsoleClientID {
			t.Fatalf("%s by alice: actor type %s, details %s; want a user acting via the console", typ, ev.ActorType, ev.Details)
		}
		if out == nil {
			out = d
		}
	}
	if out == nil {
		t.Fatalf("no %s event by alice (%s) about %q: %+v", typ, alice.ID, subject, peopleEvents(t, e, typ))
	}
	return out
}

// readOnlyUser creates, through admin as the operator, a role with only
// users:read and a user holding it (and nothing else), and returns the
// user's password.
func readOnlyUser(t *testing.T, e *servertest.Env, username string) string {
	t.Helper()
	return userWithScopes(t, e, username, "users:read")
}

// userWithScopes creates a role holding scopes and a user holding only it.
func userWithScopes(t *testing.T, e *servertest.Env, username string, scopes ...string) string {
	t.Helper()
	ctx, cli := t.Context(), admin.CLI()
	role := username + "-role"
	if _, err := e.Admin.CreateRole(ctx, cli, admin.DemoTenantID, admin.RoleInput{Name: role, Scopes: scopes}); err != nil {
		t.Fatal(err)
	}
	pw := username + "'s long passphrase"
	if _, err := e.Admin.CreateUser(ctx, cli, admin.DemoTenantID, admin.UserInput{Username: username, Password: pw, Roles: []string{role}}); err != nil {
		t.Fatal(err)
	}
	e.Server.Catalog().Invalidate(admin.DemoTenantID)
	return pw
}

// countUsers is how many users the demo tenant has.
func countUsers(t *testing.T, e *servertest.Env) int {
	t.Helper()
	p, err := e.Admin.ListUsers(t.Context(), admin.CLI(), admin.DemoTenantID, store.UserQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return p.Total
}

// TestUsersBadInputKeepsIt: forms sent with bad input come back with the
// input kept and each problem beside its field (aria-invalid, described by
// the message), the same messages as /api/v1's, and nothing changes — on
// SQLite and on PostgreSQL.
func TestUsersBadInputKeepsIt(t *testing.T) {
	for name, open := range peopleBackends(t) {
		t.Run(name, func(t *testing.T) {
			e, demo := startConsoleOn(t, open(t))
			alice, _ := demo.User("alice")
			c := peopleSignIn(t, e, "alice", alice.Password)
			users, events := countUsers(t, e), len(peopleEvents(t, e, ""))
			bob := peopleUser(t, e, "bob").User

			// A new user: three problems at once, each by its field.
			p := c.post(t, "/users", url.Values{"username": {"-bad name"}, "email": {"not an email"}, "name": {"Zed"}, "password": {"short"}, "roles": {"teller"}})
			wantStatus(t, p, http.StatusBadRequest)
			for _, id := range []string{"user-username", "user-email", "user-password"} {
				wantInvalid(t, p, id)
			}
			wantValue(t, p, "user-username", "-bad name")
			wantValue(t, p, "user-email", "not an email")
			wantValue(t, p, "user-name", "Zed")
			if !regexp.MustCompile(`id="user-roles-\d+" name="roles" value="teller" checked`).MatchString(p.Body) {
				t.Error("the ticked role was not kept")
			}
			if strings.Contains(p.Body, `value="short"`) {
				t.Error("the refused password was sent back in the page")
			}
			for _, msg := range []string{"must be a plain address such as alice@example.com", "at least 8 characters"} {
				if !strings.Contains(p.Body, msg) {
					t.Errorf("the page lacks the message %q", msg)
				}
			}

			// A taken username: said at the top, input kept.
			p = c.post(t, "/users", url.Values{"username": {"BOB"}, "password": {"a long enough passphrase"}})
			wantStatus(t, p, http.StatusConflict)
			if !strings.Contains(p.Body, "is taken") {
				t.Errorf("a taken username:\n%s", p.Body)
			}
			wantValue(t, p, "user-username", "BOB")

			// A profile edit with a bad email, on the user's page.
			p = c.post(t, "/users/"+bob.ID, url.Values{"username": {"bob"}, "email": {"bob@"}, "name": {"Robert"}, "version": {fmt.Sprint(bob.Version)}})
			wantStatus(t, p, http.StatusBadRequest)
			wantInvalid(t, p, "profile-email")
			wantValue(t, p, "profile-email", "bob@")
			wantValue(t, p, "profile-name", "Robert")

			// A weak password set by an admin.
			p = c.post(t, "/users/"+bob.ID+"/password", url.Values{"password": {"short"}, "sign_out": {"1"}})
			wantStatus(t, p, http.StatusBadRequest)
			wantInvalid(t, p, "user-new-password")
			if !strings.Contains(p.Body, `id="user-sign-out" name="sign_out" value="1" checked`) {
				t.Error("the sign-out choice was not kept")
			}

			// A group and a role with bad names; a role with a scope the
			// registry does not know.
			p = c.post(t, "/groups", url.Values{"name": {"Bad Group"}, "description": {"Kept."}, "roles": {"teller"}})
			wantStatus(t, p, http.StatusBadRequest)
			wantInvalid(t, p, "group-name")
			wantValue(t, p, "group-description", "Kept.")
			p = c.post(t, "/roles", url.Values{"name": {"9lives"}, "description": {"Kept too."}, "scopes": {"read:transactions"}})
			wantStatus(t, p, http.StatusBadRequest)
			wantInvalid(t, p, "role-name")
			wantValue(t, p, "role-description", "Kept too.")
			if !strings.Contains(p.Body, `name="scopes" value="read:transactions" checked`) {
				t.Error("the ticked scope was not kept")
			}
			teller, terr := e.Admin.GetRole(t.Context(), admin.CLI(), admin.DemoTenantID, "teller")
			if terr != nil {
				t.Fatal(terr)
			}
			p = c.post(t, "/roles/teller", url.Values{"description": {"Changed."}, "scopes": {"read:transactions", "no:such-scope"},
				"version": {fmt.Sprint(teller.Role.Version)}})
			wantStatus(t, p, http.StatusBadRequest)
			if !strings.Contains(p.Body, "not in this tenant&#39;s scope registry: no:such-scope") ||
				!strings.Contains(p.Body, `name="scopes" value="no:such-scope" checked`) {
				t.Errorf("an unknown scope on a role:\n%s", p.Body)
			}
			wantValue(t, p, "role-description", "Changed.")

			// Bytes no store can hold: a 400 naming the field, not a
			// database error.
			p = c.post(t, "/users", url.Values{"username": {"nul\x00byte"}, "password": {"a long enough passphrase"}})
			wantStatus(t, p, http.StatusBadRequest)
			p = c.get(t, "/users?q=%ff")
			wantStatus(t, p, http.StatusBadRequest)

			if n := countUsers(t, e); n != users {
				t.Errorf("users: %d, want %d", n, users)
			}
			if n := len(peopleEvents(t, e, "")); n != events {
				t.Errorf("audit events: %d, want %d (nothing changed)", n, events)
			}
			if got := peopleUser(t, e, "bob").User; got != bob {
				t.Errorf("bob changed: %+v", got)
			}
			if r, err := e.Admin.GetRole(t.Context(), admin.CLI(), admin.DemoTenantID, "teller"); err != nil || r.Role.Description == "Changed." {
				t.Errorf("teller changed: %+v %v", r.Role, err)
			}
		})
	}
}

func wantStatus(t *testing.T, p *servertest.Page, status int) {
	t.Helper()
	if p.Status != status {
		t.Fatalf("%s: status %d, want %d\n%s", p.URL, p.Status, status, p.Body)
	}
}

// wantInvalid checks that the input id is marked invalid and described by
// its message.
func wantInvalid(t *testing.T, p *servertest.Page, id string) {
	t.Helper()
	input := regexp.MustCompile(`<input[^>]* id="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(p.Body)
	if !strings.Contains(input, `aria-invalid="true"`) || !strings.Contains(input, id+"-error") ||
		!strings.Contains(p.Body, `<p class="field-error" id="`+id+`-error">`) {
		t.Errorf("%s: input %s is not marked invalid with its message: %s", p.URL, id, input)
	}
}

// wantValue checks that the input id holds value.
func wantValue(t *testing.T, p *servertest.Page, id, value string) {
	t.Helper()
	input := regexp.MustCompile(`<input[^>]* id="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(p.Body)
	want := `value="` + strings.NewReplacer(`&`, "&amp;", `"`, "&#34;", `'`, "&#39;", "<", "&lt;", ">", "&gt;").Replace(value) + `"`
	if !strings.Contains(input, want) {
		t.Errorf("%s: input %s = %s, want %s", p.URL, id, input, want)
	}
}

// TestUsersFormsWithoutCSRFRefused: a form sent without the session's
// CSRF token (or with another one) is refused, and nothing changes.
func TestUsersFormsWithoutCSRFRefused(t *testing.T) {
	e, demo := startConsole(t)
	alice, _ := demo.User("alice")
	c := peopleSignIn(t, e, "alice", alice.Password)
	bob := peopleUser(t, e, "bob")
	users, events := countUsers(t, e), len(peopleEvents(t, e, ""))
	for _, csrf := range []string{"", "forged-" + c.CSRF} {
		for path, form := range map[string]url.Values{
			"/users/" + bob.User.ID + "/disable": {},
			"/users":                             {"username": {"mallory"}, "password": {"mallory's passphrase"}},
			"/users/" + bob.User.ID + "/roles":   {"role": {"admin"}},
			"/roles/teller":                      {"scopes": {"users:write"}},
			"/groups":                            {"name": {"forged"}},
		} {
			form.Set("csrf", csrf)
			p := c.post(t, path, form)
			if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "Form expired") {
				t.Errorf("POST %s with csrf %q: %d\n%s", path, csrf, p.Status, p.Body)
			}
		}
	}
	if got := peopleUser(t, e, "bob"); got.User.Status != model.UserActive || slices.Contains(got.Roles, "admin") {
		t.Errorf("bob changed: %+v", got)
	}
	if n := countUsers(t, e); n != users {
		t.Errorf("users: %d, want %d", n, users)
	}
	if n := len(peopleEvents(t, e, "")); n != events {
		t.Errorf("audit events: %d, want %d", n, events)
	}
}

// TestUsersReadOnlyForgedPostsRefused: a user whose only platform scope is
// users:read reads the Users pages; a form forged with their own valid
// CSRF token to any write is refused (403 naming the scope), and nothing
// changes.
func TestUsersReadOnlyForgedPostsRefused(t *testing.T) {
	e, _ := startConsole(t)
	pw := readOnlyUser(t, e, "rita")
	c := peopleSignIn(t, e, "rita", pw)
	bob := peopleUser(t, e, "bob")
	if _, err := e.Store.Consents().Grant(t.Context(), admin.DemoTenantID, bob.User.ID, admin.DemoSPAClientID, []string{"openid", "read:transactions"}); err != nil {
		t.Fatal(err)
	}
	users, events := countUsers(t, e), len(peopleEvents(t, e, ""))

	p := c.get(t, "/users/"+bob.User.ID)
	wantStatus(t, p, http.StatusOK)
	for _, control := range []string{"/disable", "/password", "/roles\"", "/delete", "Save profile", "Withdraw consent for", "New user"} {
		if strings.Contains(p.Body, control) {
			t.Errorf("rita's view of bob offers %q", control)
		}
	}
	if !strings.Contains(p.Body, admin.DemoSPAClientID) {
		t.Error("rita does not see bob's consents")
	}

	forged := map[string]url.Values{
		"/users":                                           {"username": {"mallory"}, "password": {"mallory's passphrase"}},
		"/users/" + bob.User.ID:                            {"username": {"bobby"}, "version": {fmt.Sprint(bob.User.Version)}},
		"/users/" + bob.User.ID + "/disable":               {},
		"/users/" + bob.User.ID + "/password":              {"password": {"rita knows this one"}},
		"/users/" + bob.User.ID + "/roles":                 {"role": {"admin"}},
		"/users/" + bob.User.ID + "/roles/teller/unassign": {},
		"/users/" + bob.User.ID + "/groups":                {"group": {"tellers"}},
		"/users/" + bob.User.ID + "/consents/" + admin.DemoSPAClientID + "/withdraw": {},
		"/users/" + bob.User.ID + "/delete":                                          {"version": {fmt.Sprint(bob.User.Version)}},
		"/roles":                                                                     {"name": {"forged"}},
		"/roles/teller":                                                              {"scopes": {"users:write"}},
		"/groups":                                                                    {"name": {"forged"}},
	}
	for path, form := range forged {
		p := c.post(t, path, form)
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "This needs the platform scope") {
			t.Errorf("rita's forged POST %s: %d\n%s", path, p.Status, p.Body)
		}
	}
	if got := peopleUser(t, e, "bob"); got.User != bob.User || !slices.Equal(got.Roles, bob.Roles) || !slices.Equal(got.Groups, bob.Groups) {
		t.Errorf("bob changed: %+v", got)
	}
	if _, err := e.Store.Consents().Get(t.Context(), admin.DemoTenantID, bob.User.ID, admin.DemoSPAClientID); err != nil {
		t.Errorf("bob's consent: %v", err)
	}
	if n := countUsers(t, e); n != users {
		t.Errorf("users: %d, want %d", n, users)
	}
	if n := len(peopleEvents(t, e, "")); n != events {
		t.Errorf("audit events: %d, want %d", n, events)
	}
}

// TestRolesEscalationRefusedInPlace: a user allowed roles:write but not
// audit:read cannot put audit:read on a role (PRODUCT.md §4: no caller
// grants a platform scope it does not hold); the page says why in admin's
// words, keeps the input, and the role is unchanged.
func TestRolesEscalationRefusedInPlace(t *testing.T) {
	e, _ := startConsole(t)
	pw := userWithScopes(t, e, "ron", "roles:write")
	c := peopleSignIn(t, e, "ron", pw)
	before, err := e.Admin.GetRole(t.Context(), admin.CLI(), admin.DemoTenantID, "teller")
	if err != nil {
		t.Fatal(err)
	}
	p := c.post(t, "/roles/teller", url.Values{"description": {"Tellers, who also read the audit log."},
		"scopes": {"read:transactions", "audit:read"}, "version": {fmt.Sprint(before.Role.Version)}})
	wantStatus(t, p, http.StatusForbidden)
	want := (&admin.InsufficientScopeError{Action: "adding audit:read to role teller", Missing: []string{"audit:read"}}).Error()
	if !strings.Contains(p.Body, strings.ReplaceAll(want, "'", "&#39;")) {
		t.Errorf("the page does not carry admin's sentence %q:\n%s", want, p.Body)
	}
	if !strings.Contains(p.Body, `name="scopes" value="audit:read" checked`) {
		t.Error("the ticked scope was not kept")
	}
	wantValue(t, p, "role-description", "Tellers, who also read the audit log.")
	after, err := e.Admin.GetRole(t.Context(), admin.CLI(), admin.DemoTenantID, "teller")
	if err != nil || after.Role.Version != before.Role.Version || slices.Contains(after.Role.Scopes, "audit:read") {
		t.Fatalf("teller changed: %+v %v", after.Role, err)
	}
	// Removing is always allowed.
	p = c.post(t, "/roles/teller", url.Values{"description": {before.Role.Description}, "version": {fmt.Sprint(before.Role.Version)}})
	wantStatus(t, p, http.StatusOK)
	if after, _ := e.Admin.GetRole(t.Context(), admin.CLI(), admin.DemoTenantID, "teller"); len(after.Role.Scopes) != 0 {
		t.Fatalf("teller after removing its scopes: %+v", after.Role)
	}
}

// TestRolesStaleEditLosesNothing: a role edited through the API after the
// page was shown (store.ErrPrecondition) is not overwritten: the page says
// it changed since it was opened, shows both versions, keeps the input
// with the current version, and sending it again applies it.
func TestRolesStaleEditLosesNothing(t *testing.T) {
	e, demo := startConsole(t)
	alice, _ := demo.User("alice")
	c := peopleSignIn(t, e, "alice", alice.Password)
	shown := c.get(t, "/roles/teller")
	m := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(shown.Body)
	if m == nil {
		t.Fatalf("no version on the role page:\n%s", shown.Body)
	}
	desc := "Changed meanwhile."
	if _, err := e.Admin.UpdateRole(t.Context(), admin.CLI(), admin.DemoTenantID, "teller", admin.RoleUpdate{Description: &desc}); err != nil {
		t.Fatal(err)
	}
	mine := url.Values{"description": {"Mine."}, "scopes": {"read:transactions", "write:settings"}, "version": {m[1]}}
	p := c.post(t, "/roles/teller", mine)
	wantStatus(t, p, http.StatusConflict)
	for _, s := range []string{"changed by someone else since you opened it", "Changed meanwhile.", "read:transactions write:settings"} {
		if !strings.Contains(p.Body, s) {
			t.Errorf("the stale edit's page lacks %q", s)
		}
	}
	wantValue(t, p, "role-description", "Mine.")
	if !strings.Contains(p.Body, `name="scopes" value="write:settings" checked`) {
		t.Error("the ticked scope was not kept")
	}
	cur, _ := e.Admin.GetRole(t.Context(), admin.CLI(), admin.DemoTenantID, "teller")
	if cur.Role.Description != desc || slices.Contains(cur.Role.Scopes, "write:settings") {
		t.Fatalf("the stale edit was written: %+v", cur.Role)
	}
	if !strings.Contains(p.Body, fmt.Sprintf(`name="version" value="%d"`, cur.Role.Version)) {
		t.Fatalf("the form does not carry the current version %d", cur.Role.Version)
	}
	// Re-applied onto the current version.
	mine.Set("version", fmt.Sprint(cur.Role.Version))
	wantStatus(t, c.post(t, "/roles/teller", mine), http.StatusOK)
	cur, _ = e.Admin.GetRole(t.Context(), admin.CLI(), admin.DemoTenantID, "teller")
	if cur.Role.Description != "Mine." || !slices.Equal(cur.Role.Scopes, []string{"read:transactions", "write:settings"}) {
		t.Fatalf("after re-applying: %+v", cur.Role)
	}
	d := wantConsoleEvent(t, e, model.EventRoleUpdated, "")
	if fmt.Sprint(d["added"]) != "[write:settings]" {
		t.Errorf("role.updated details: %v", d)
	}

	// A stale delete deletes nothing and shows the current state.
	stale := fmt.Sprint(cur.Role.Version - 1)
	p = c.post(t, "/roles/teller/delete", url.Values{"version": {stale}})
	wantStatus(t, p, http.StatusConflict)
	if !strings.Contains(p.Body, "changed by someone else since you opened it") {
		t.Errorf("a stale delete:\n%s", p.Body)
	}
	if _, err := e.Admin.GetRole(t.Context(), admin.CLI(), admin.DemoTenantID, "teller"); err != nil {
		t.Fatalf("a stale delete deleted: %v", err)
	}
}

// TestUsersAndGroupsStaleEdits: a user's profile and a group changed
// elsewhere after their page was shown are not overwritten by the page's
// form: each says so beside both versions, keeps the input with the
// current version, and sending it again applies it.
func TestUsersAndGroupsStaleEdits(t *testing.T) {
	e, demo := startConsole(t)
	alice, _ := demo.User("alice")
	c := peopleSignIn(t, e, "alice", alice.Password)
	ctx, cli := t.Context(), admin.CLI()
	version := regexp.MustCompile(`name="version" value="(\d+)"`)

	bob := peopleUser(t, e, "bob").User
	shown := version.FindStringSubmatch(c.get(t, "/users/"+bob.ID).Body)
	if _, err := e.Admin.DisableUser(ctx, cli, admin.DemoTenantID, "bob"); err != nil {
		t.Fatal(err)
	}
	mine := url.Values{"username": {"bob"}, "email": {"robert@example.com"}, "name": {"Robert Brown"}, "version": {shown[1]}}
	p := c.post(t, "/users/"+bob.ID, mine)
	wantStatus(t, p, http.StatusConflict)
	if !strings.Contains(p.Body, "changed by someone else since you opened it") || !strings.Contains(p.Body, "bob@example.com") {
		t.Errorf("the stale profile edit's page:\n%s", p.Body)
	}
	wantValue(t, p, "profile-email", "robert@example.com")
	wantValue(t, p, "profile-name", "Robert Brown")
	cur := peopleUser(t, e, "bob").User
	if cur.Email != bob.Email || cur.Name != bob.Name {
		t.Fatalf("the stale edit was written: %+v", cur)
	}
	mine.Set("version", version.FindStringSubmatch(p.Body)[1])
	wantStatus(t, c.post(t, "/users/"+bob.ID, mine), http.StatusOK)
	if cur = peopleUser(t, e, "bob").User; cur.Email != "robert@example.com" || cur.Name != "Robert Brown" || cur.Status != model.UserDisabled {
		t.Fatalf("after re-applying: %+v", cur)
	}
	wantConsoleEvent(t, e, model.EventUserUpdated, bob.ID)

	if _, err := e.Admin.CreateGroup(ctx, cli, admin.DemoTenantID, admin.GroupInput{Name: "tellers", Roles: []string{"teller"}}); err != nil {
		t.Fatal(err)
	}
	shown = version.FindStringSubmatch(c.get(t, "/groups/tellers").Body)
	meanwhile := "Renamed meanwhile."
	if _, err := e.Admin.UpdateGroup(ctx, cli, admin.DemoTenantID, "tellers", admin.GroupUpdate{Description: &meanwhile}); err != nil {
		t.Fatal(err)
	}
	mine = url.Values{"description": {"Counter staff."}, "roles": {"teller", "user"}, "version": {shown[1]}}
	p = c.post(t, "/groups/tellers", mine)
	wantStatus(t, p, http.StatusConflict)
	if !strings.Contains(p.Body, "changed by someone else since you opened it") || !strings.Contains(p.Body, meanwhile) ||
		!strings.Contains(p.Body, `name="roles" value="user" checked`) {
		t.Errorf("the stale group edit's page:\n%s", p.Body)
	}
	wantValue(t, p, "group-description", "Counter staff.")
	mine.Set("version", version.FindStringSubmatch(p.Body)[1])
	wantStatus(t, c.post(t, "/groups/tellers", mine), http.StatusOK)
	g, err := e.Admin.GetGroup(ctx, cli, admin.DemoTenantID, "tellers")
	if err != nil || g.Group.Description != "Counter staff." || !slices.Equal(g.Group.Roles, []string{"teller", "user"}) {
		t.Fatalf("tellers after re-applying: %+v %v", g.Group, err)
	}
}
