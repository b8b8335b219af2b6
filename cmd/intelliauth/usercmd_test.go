package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// runStdin runs one command line with stdin as standard input.
func runStdin(t *testing.T, env map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	c := &cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, lookupEnv: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}}
	code := c.run(t.Context(), args)
	return code, out.String(), errOut.String()
}

func mustStdin(t *testing.T, env map[string]string, stdin string, args ...string) string {
	t.Helper()
	code, out, errOut := runStdin(t, env, stdin, args...)
	if code != 0 {
		t.Fatalf("intelliauth %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// createUser makes a user with a good password from stdin.
func createUser(t *testing.T, env map[string]string, username string, flags ...string) {
	t.Helper()
	mustStdin(t, env, "correct horse battery staple\n", append([]string{"user", "create", username, "--password-stdin"}, flags...)...)
}

// bankScopes registers the API the role tests give scopes of.
func bankScopes(t *testing.T, env map[string]string) {
	t.Helper()
	must(t, env, "api", "create", "api.bank.example", "--id", "bank")
	must(t, env, "scope", "create", "read:tx", "--api", "bank", "--description", "Read transactions.")
	must(t, env, "scope", "create", "write:tx", "--api", "bank", "--description", "Write transactions.")
}

// versionOf reads the version of a user, role or group from its JSON.
func versionOf(t *testing.T, env map[string]string, args ...string) int64 {
	t.Helper()
	var doc struct {
		Version int64 `json:"version"`
	}
	mustJSON(t, &doc, env, append(args, "--output", "json")...)
	if doc.Version < 1 {
		t.Fatalf("intelliauth %s: no version", strings.Join(args, " "))
	}
	return doc.Version
}

func TestUserCommands(t *testing.T) {
	t.Parallel()
	env := startAPINode(t).API

	out := mustStdin(t, env, "correct horse battery staple\n", "user", "create", "alice",
		"--email", "alice@example.com", "--name", "Alice Adams", "--roles", "user", "--password-stdin")
	if !strings.Contains(out, "created user alice (usr_") || !strings.Contains(out, "with roles user") {
		t.Fatalf("user create: %s", out)
	}
	// --output json is the API's answer: the user's detail, never a password.
	var bob map[string]any
	decodeJSON(t, mustStdin(t, env, "another good password\n", "user", "create", "bob", "--email", "bob@example.com",
		"--password-stdin", "--output", "json"), &bob)
	if bob["username"] != "bob" || bob["has_password"] != true || bob["password"] != nil || bob["password_hash"] != nil {
		t.Fatalf("user create json: %v", bob)
	}
	mustFail(t, env, 1, []string{"user", "create", "alice", "--password-stdin"}, "the first line is empty")
	code, _, errOut := runStdin(t, env, "correct horse battery staple\n", "user", "create", "alice", "--password-stdin")
	if code != 1 || !strings.Contains(errOut, "taken") {
		t.Fatalf("duplicate username: exit %d, %s", code, errOut)
	}

	if out := must(t, env, "user", "list"); !strings.Contains(out, "alice") || !strings.Contains(out, "bob") || !strings.Contains(out, "page 1 of 1 (2 users)") {
		t.Fatalf("user list: %s", out)
	}
	var page listPage[map[string]any]
	mustJSON(t, &page, env, "user", "list", "--search", "AL", "--output", "json")
	if page.Total != 1 || len(page.Items) != 1 || page.Items[0]["username"] != "alice" {
		t.Fatalf("user list --search: %+v", page)
	}
	mustJSON(t, &page, env, "user", "list", "--per-page", "1", "--page", "2", "--output", "json")
	if page.Total != 2 || page.Page != 2 || page.PerPage != 1 || len(page.Items) != 1 || page.Items[0]["username"] != "bob" {
		t.Fatalf("user list page 2: %+v", page)
	}
	mustFail(t, env, 1, []string{"user", "list", "--status", "asleep"}, "status: must be active or disabled")
	mustFail(t, env, 2, []string{"user", "list", "--page", "0"}, "--page and --per-page")

	out = must(t, env, "user", "get", "alice")
	for _, want := range []string{"alice@example.com", "Alice Adams", "roles            user", "entitled scopes  me:read me:sessions me:write", "password         set"} {
		if !strings.Contains(out, want) {
			t.Errorf("user get lacks %q:\n%s", want, out)
		}
	}
	if out := must(t, env, "user", "update", "alice", "--name", "Alice Liddell", "--locale", "en-GB"); !strings.Contains(out, "updated user alice") {
		t.Fatalf("user update: %s", out)
	}
	var detail map[string]any
	mustJSON(t, &detail, env, "user", "get", "alice@example.com", "--output", "json")
	if detail["name"] != "Alice Liddell" || detail["locale"] != "en-GB" || detail["email"] != "alice@example.com" {
		t.Fatalf("after update (flags not given must stay): %v", detail)
	}
	// A stale --version changes nothing.
	v := int64(detail["version"].(float64))
	mustFail(t, env, 1, []string{"user", "update", "alice", "--name", "Mallory", "--version", strconv.FormatInt(v-1, 10)}, "changed meanwhile")
	must(t, env, "user", "update", "alice", "--name", "Alice L.", "--version", strconv.FormatInt(v, 10))
	if out := must(t, env, "user", "get", "alice"); !strings.Contains(out, "Alice L.") || strings.Contains(out, "Mallory") {
		t.Fatalf("user update --version: %s", out)
	}

	// Disable, enable, set a password, delete.
	if out := must(t, env, "user", "disable", "bob"); !strings.Contains(out, "disabled user bob") || !strings.Contains(out, "the access tokens of their grants revoked") {
		t.Fatalf("user disable: %s", out)
	}
	mustJSON(t, &page, env, "user", "list", "--status", "disabled", "--output", "json")
	if page.Total != 1 || page.Items[0]["username"] != "bob" || page.Items[0]["status"] != "disabled" {
		t.Fatalf("disabled users: %+v", page)
	}
	mustJSON(t, &detail, env, "user", "enable", "bob", "--output", "json")
	if detail["status"] != "active" {
		t.Fatalf("user enable json: %v", detail)
	}
	if out := mustStdin(t, env, "yet another good password\n", "user", "set-password", "bob", "--password-stdin", "--sign-out"); !strings.Contains(out, "refresh tokens are ended, and the access tokens of their grants revoked") {
		t.Fatalf("set-password: %s", out)
	}
	mustFail(t, env, 1, []string{"user", "delete", "bob", "--version", "99"}, "changed meanwhile")
	if out := must(t, env, "user", "delete", "bob"); !strings.Contains(out, "deleted user bob") {
		t.Fatalf("user delete: %s", out)
	}
	mustFail(t, env, 1, []string{"user", "get", "bob"}, "not found")

	// Usage errors stop before any call.
	mustFail(t, env, 2, []string{"user", "get"}, "want 1 argument(s)")
	mustFail(t, env, 2, []string{"user", "get", "alice", "--output", "yaml"}, "--output must be table or json")
	mustFail(t, env, 2, []string{"user", "hug", "alice"}, "unknown subcommand")
}

func TestPasswordSources(t *testing.T) {
	t.Parallel()
	env := startAPINode(t).API

	// No flag takes the password itself, and exactly one source is needed.
	code, _, errOut := runStdin(t, env, "x\n", "user", "create", "bob", "--password", "hunter22")
	if code == 0 || !strings.Contains(errOut, "flag provided but not defined: -password") {
		t.Fatalf("--password must not exist: exit %d, %s", code, errOut)
	}
	code, _, errOut = runStdin(t, env, "", "user", "create", "bob")
	if code != 2 || !strings.Contains(errOut, "--password-stdin") {
		t.Fatalf("no password source: exit %d, %s", code, errOut)
	}
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("tr0ub4dor&3 is weak\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runStdin(t, env, "x\n", "user", "create", "bob", "--password-stdin", "--password-file", pwFile)
	if code != 2 || !strings.Contains(errOut, "not both") {
		t.Fatalf("two password sources: exit %d, %s", code, errOut)
	}

	// A password file others can read is refused before anything is sent.
	mustFail(t, env, 1, []string{"user", "create", "bob", "--password-file", pwFile}, "readable by others")
	mustFail(t, env, 1, []string{"user", "get", "bob"}, "not found")
	if err := os.Chmod(pwFile, 0o600); err != nil {
		t.Fatal(err)
	}
	must(t, env, "user", "create", "bob", "--password-file", pwFile)
	if out := must(t, env, "user", "get", "bob"); !strings.Contains(out, "password         set") {
		t.Fatalf("user get after --password-file: %s", out)
	}
	if out := must(t, env, "user", "set-password", "bob", "--password-file", pwFile); !strings.Contains(out, "set the password of bob") || strings.Contains(out, "ended") {
		t.Fatalf("set-password from a file: %s", out)
	}

	// The server's password policy and other validation come back one
	// problem per line.
	code, _, errOut = runStdin(t, env, "short\n", "user", "create", "carol", "--email", "not-an-email", "--password-stdin")
	if code != 1 || !strings.Contains(errOut, "invalid input:\n") ||
		!strings.Contains(errOut, "\n  - password: does not meet the policy: it must be at least 8 characters long") ||
		!strings.Contains(errOut, "\n  - --email: ") {
		t.Fatalf("invalid user: exit %d, %s", code, errOut)
	}
	code, _, errOut = runStdin(t, env, "short\n", "user", "set-password", "bob", "--password-stdin")
	if code != 1 || !strings.Contains(errOut, "at least 8 characters") {
		t.Fatalf("short new password: exit %d, %s", code, errOut)
	}
}

func TestRoleCommands(t *testing.T) {
	t.Parallel()
	env := startAPINode(t).API
	bankScopes(t, env)

	// Built-in roles come with the tenant.
	if out := must(t, env, "role", "list"); !strings.Contains(out, "admin") || !strings.Contains(out, "me:read me:sessions me:write") || !strings.Contains(out, "page 1 of 1") {
		t.Fatalf("role list: %s", out)
	}
	var roles listPage[map[string]any]
	mustJSON(t, &roles, env, "role", "list", "--output", "json")
	if roles.Total < 2 || len(roles.Items) != roles.Total {
		t.Fatalf("role list json: %+v", roles)
	}
	if out := must(t, env, "role", "create", "teller", "--scopes", "read:tx", "--description", "Reads transactions."); !strings.Contains(out, "created role teller with scopes read:tx") {
		t.Fatalf("role create: %s", out)
	}
	mustFail(t, env, 1, []string{"role", "create", "clerk", "--scopes", "read:tx ghost:x"}, "invalid input:\n  - ", "not in this tenant's scope registry: ghost:x")
	mustFail(t, env, 1, []string{"role", "get", "clerk"}, "not found")

	createUser(t, env, "alice", "--roles", "teller")
	var bob map[string]any
	decodeJSON(t, mustStdin(t, env, "correct horse battery staple\n", "user", "create", "bob", "--password-stdin", "--output", "json"), &bob)
	// A user is named by ID, username or email.
	if out := must(t, env, "role", "assign", "teller", bob["id"].(string)); !strings.Contains(out, "bob now holds: teller") {
		t.Fatalf("role assign: %s", out)
	}
	if out := must(t, env, "role", "get", "teller"); !strings.Contains(out, "users        alice bob") {
		t.Fatalf("role get: %s", out)
	}
	if out := must(t, env, "user", "get", "bob"); !strings.Contains(out, "entitled scopes  read:tx") {
		t.Fatalf("user get shows the scopes the role gives: %s", out)
	}
	var after map[string]any
	mustJSON(t, &after, env, "role", "unassign", "teller", "bob", "--output", "json")
	if after["username"] != "bob" || len(after["roles"].([]any)) != 0 {
		t.Fatalf("role unassign json (the user's detail): %v", after)
	}

	// A stale --version changes nothing; the current one works.
	v := versionOf(t, env, "role", "get", "teller")
	mustFail(t, env, 1, []string{"role", "update", "teller", "--scopes", "read:tx write:tx", "--version", strconv.FormatInt(v+1, 10)}, "changed meanwhile")
	if out := must(t, env, "role", "get", "teller"); !strings.Contains(out, "scopes       read:tx\n") {
		t.Fatalf("a stale role update changed the role: %s", out)
	}
	out := must(t, env, "role", "update", "teller", "--scopes", "read:tx write:tx", "--version", strconv.FormatInt(v, 10))
	if !strings.Contains(out, "scopes       read:tx write:tx") || !strings.Contains(out, "description  Reads transactions.") {
		t.Fatalf("role update: %s", out)
	}
	if out := must(t, env, "scope", "impact", "write:tx"); !strings.Contains(out, "1: teller") {
		t.Fatalf("scope impact after role update: %s", out)
	}

	mustFail(t, env, 1, []string{"role", "delete", "admin"}, "built-in role and cannot be deleted")
	if out := must(t, env, "role", "delete", "teller"); !strings.Contains(out, "deleted role teller") {
		t.Fatalf("role delete: %s", out)
	}
	if out := must(t, env, "user", "get", "alice"); !strings.Contains(out, "roles            -") {
		t.Fatalf("a deleted role is held no more: %s", out)
	}
	mustFail(t, env, 2, []string{"role", "assign", "teller"}, "want 2 argument(s)")
}

func TestGroupCommands(t *testing.T) {
	t.Parallel()
	env := startAPINode(t).API
	bankScopes(t, env)
	must(t, env, "role", "create", "teller", "--scopes", "read:tx")
	must(t, env, "role", "create", "auditor", "--scopes", "read:tx write:tx")
	createUser(t, env, "bob", "--email", "bob@example.com")

	// Groups give roles to their members.
	if out := must(t, env, "group", "create", "branch", "--roles", "teller", "--description", "High Street"); !strings.Contains(out, "created group branch with roles teller") {
		t.Fatalf("group create: %s", out)
	}
	mustFail(t, env, 1, []string{"group", "create", "ghosts", "--roles", "phantom"}, "invalid input:\n  - ", "phantom")
	if out := must(t, env, "group", "add", "branch", "bob@example.com"); !strings.Contains(out, "bob is in groups: branch; holds roles: teller") {
		t.Fatalf("group add: %s", out)
	}
	if out := must(t, env, "group", "get", "branch"); !strings.Contains(out, "members      bob") {
		t.Fatalf("group get: %s", out)
	}
	if out := must(t, env, "user", "get", "bob"); !strings.Contains(out, "groups           branch") || !strings.Contains(out, "entitled scopes  read:tx") {
		t.Fatalf("user get shows the group's roles' scopes: %s", out)
	}
	mustFail(t, env, 1, []string{"role", "unassign", "teller", "bob"}, "through group branch")
	var groups listPage[map[string]any]
	mustJSON(t, &groups, env, "group", "list", "--output", "json")
	if groups.Total != 1 || groups.Items[0]["name"] != "branch" {
		t.Fatalf("group list json: %+v", groups)
	}
	if out := must(t, env, "group", "list"); !strings.Contains(out, "High Street") || !strings.Contains(out, "page 1 of 1 (1 groups)") {
		t.Fatalf("group list: %s", out)
	}

	// A stale --version changes nothing; the current one works.
	v := versionOf(t, env, "group", "get", "branch")
	mustFail(t, env, 1, []string{"group", "update", "branch", "--roles", "auditor", "--version", strconv.FormatInt(v+1, 10)}, "changed meanwhile")
	if out := must(t, env, "user", "get", "bob"); !strings.Contains(out, "roles            teller\n") {
		t.Fatalf("a stale group update changed the group: %s", out)
	}
	out := must(t, env, "group", "update", "branch", "--roles", "auditor", "--version", strconv.FormatInt(v, 10))
	if !strings.Contains(out, "roles        auditor") || !strings.Contains(out, "description  High Street") {
		t.Fatalf("group update: %s", out)
	}
	if out := must(t, env, "user", "get", "bob"); !strings.Contains(out, "entitled scopes  read:tx write:tx") {
		t.Fatalf("members hold the group's new roles: %s", out)
	}

	if out := must(t, env, "group", "remove", "branch", "bob"); !strings.Contains(out, "bob is in groups: -; holds roles: -") {
		t.Fatalf("group remove: %s", out)
	}
	if out := must(t, env, "group", "delete", "branch"); !strings.Contains(out, "deleted group branch") {
		t.Fatalf("group delete: %s", out)
	}
	mustFail(t, env, 1, []string{"group", "get", "branch"}, "not found")
	mustFail(t, env, 2, []string{"group", "add", "branch"}, "want 2 argument(s)")
}
