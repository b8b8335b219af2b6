package main

import (
	"bytes"
	"os"
	"path/filepath"
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

func TestUserRoleGroupWorkflow(t *testing.T) {
	env := adminEnv(t)
	must(t, env, "tenant", "create", "acme", "--public-url", "http://localhost:8080")
	must(t, env, "api", "create", "api.bank.example", "--tenant", "acme", "--id", "bank")
	must(t, env, "scope", "create", "read:tx", "--tenant", "acme", "--api", "bank", "--description", "Read transactions.")
	must(t, env, "scope", "create", "write:tx", "--tenant", "acme", "--api", "bank", "--description", "Write transactions.")

	// Built-in roles come with the tenant.
	if out := must(t, env, "role", "list", "--tenant", "acme"); !strings.Contains(out, "admin") || !strings.Contains(out, "me:read me:sessions me:write") {
		t.Fatalf("role list: %s", out)
	}
	if out := must(t, env, "role", "create", "teller", "--tenant", "acme", "--scopes", "read:tx", "--description", "Reads transactions."); !strings.Contains(out, "created role teller with scopes read:tx") {
		t.Fatalf("role create: %s", out)
	}
	code, _, errOut := runCLI(t, env, "role", "create", "clerk", "--tenant", "acme", "--scopes", "read:tx ghost:x")
	if code != 1 || !strings.Contains(errOut, "not in this tenant's scope registry: ghost:x") {
		t.Fatalf("unknown scope: exit %d, %s", code, errOut)
	}

	// Passwords come from stdin or a private file, never from a flag.
	out := mustStdin(t, env, "correct horse battery staple\n", "user", "create", "alice", "--tenant", "acme",
		"--email", "alice@example.com", "--name", "Alice Adams", "--roles", "user teller", "--password-stdin")
	if !strings.Contains(out, "created user alice (usr_") || !strings.Contains(out, "user teller") {
		t.Fatalf("user create: %s", out)
	}
	code, _, errOut = runStdin(t, env, "", "user", "create", "bob", "--tenant", "acme")
	if code != 2 || !strings.Contains(errOut, "--password-stdin") {
		t.Fatalf("no password source: exit %d, %s", code, errOut)
	}
	code, _, errOut = runStdin(t, env, "short\n", "user", "create", "bob", "--tenant", "acme", "--password-stdin")
	if code != 1 || !strings.Contains(errOut, "password: does not meet the policy: it must be at least 8 characters long") {
		t.Fatalf("short password: exit %d, %s", code, errOut)
	}
	code, _, errOut = runStdin(t, env, "x\n", "user", "create", "bob", "--tenant", "acme", "--password", "hunter22")
	if code == 0 || !strings.Contains(errOut, "flag provided but not defined: -password") {
		t.Fatalf("--password must not exist: exit %d, %s", code, errOut)
	}
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("tr0ub4dor&3 is weak\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI(t, env, "user", "create", "bob", "--tenant", "acme", "--password-file", pwFile)
	if code != 1 || !strings.Contains(errOut, "readable by others") {
		t.Fatalf("world-readable password file: exit %d, %s", code, errOut)
	}
	if err := os.Chmod(pwFile, 0o600); err != nil {
		t.Fatal(err)
	}
	var bob map[string]any
	mustJSON(t, &bob, env, "user", "create", "bob", "--tenant", "acme", "--password-file", pwFile, "--email", "bob@example.com", "--output", "json")
	if bob["username"] != "bob" || bob["has_password"] != true || bob["password"] != nil || bob["password_hash"] != nil {
		t.Fatalf("user create json: %v", bob)
	}
	bobID := bob["id"].(string)

	if out := must(t, env, "user", "list", "--tenant", "acme"); !strings.Contains(out, "alice") || !strings.Contains(out, "bob") || !strings.Contains(out, "page 1 of 1 (2 users)") {
		t.Fatalf("user list: %s", out)
	}
	var page struct {
		Users []map[string]any `json:"users"`
		Total int              `json:"total"`
	}
	mustJSON(t, &page, env, "user", "list", "--tenant", "acme", "--search", "AL", "--output", "json")
	if page.Total != 1 || page.Users[0]["username"] != "alice" {
		t.Fatalf("user list --search: %+v", page)
	}
	out = must(t, env, "user", "get", "alice", "--tenant", "acme")
	for _, want := range []string{"alice@example.com", "Alice Adams", "teller user", "me:read me:sessions me:write read:tx", "password         set"} {
		if !strings.Contains(out, want) {
			t.Errorf("user get lacks %q:\n%s", want, out)
		}
	}
	if out := must(t, env, "user", "update", "alice", "--tenant", "acme", "--name", "Alice Liddell", "--locale", "en-GB"); !strings.Contains(out, "updated user alice") {
		t.Fatalf("user update: %s", out)
	}
	var detail map[string]any
	mustJSON(t, &detail, env, "user", "get", "alice@example.com", "--tenant", "acme", "--output", "json")
	if detail["name"] != "Alice Liddell" || detail["locale"] != "en-GB" {
		t.Fatalf("after update: %v", detail)
	}

	// Roles by username or ID.
	if out := must(t, env, "role", "assign", "teller", bobID, "--tenant", "acme"); !strings.Contains(out, "bob now holds: teller") {
		t.Fatalf("role assign: %s", out)
	}
	if out := must(t, env, "role", "get", "teller", "--tenant", "acme"); !strings.Contains(out, "users        alice bob") {
		t.Fatalf("role get: %s", out)
	}
	must(t, env, "role", "update", "teller", "--tenant", "acme", "--scopes", "read:tx write:tx")
	if out := must(t, env, "role", "unassign", "teller", "bob", "--tenant", "acme"); !strings.Contains(out, "bob now holds: -") {
		t.Fatalf("role unassign: %s", out)
	}
	code, _, errOut = runCLI(t, env, "role", "delete", "admin", "--tenant", "acme")
	if code != 1 || !strings.Contains(errOut, "built-in role and cannot be deleted") {
		t.Fatalf("delete built-in: exit %d, %s", code, errOut)
	}

	// Groups give roles to their members.
	if out := must(t, env, "group", "create", "branch", "--tenant", "acme", "--roles", "teller"); !strings.Contains(out, "created group branch with roles teller") {
		t.Fatalf("group create: %s", out)
	}
	if out := must(t, env, "group", "add", "branch", "bob", "--tenant", "acme"); !strings.Contains(out, "bob is in groups: branch; holds roles: teller") {
		t.Fatalf("group add: %s", out)
	}
	if out := must(t, env, "group", "get", "branch", "--tenant", "acme"); !strings.Contains(out, "members      bob") {
		t.Fatalf("group get: %s", out)
	}
	code, _, errOut = runCLI(t, env, "role", "unassign", "teller", "bob", "--tenant", "acme")
	if code != 1 || !strings.Contains(errOut, "through group branch") {
		t.Fatalf("unassign a role held through a group: exit %d, %s", code, errOut)
	}
	if out := must(t, env, "group", "list", "--tenant", "acme", "--output", "json"); !strings.Contains(out, `"name": "branch"`) {
		t.Fatalf("group list: %s", out)
	}
	must(t, env, "group", "remove", "branch", "bob", "--tenant", "acme")
	must(t, env, "group", "delete", "branch", "--tenant", "acme")

	// Disable, set password, delete.
	if out := must(t, env, "user", "disable", "bob", "--tenant", "acme"); !strings.Contains(out, "disabled user bob") {
		t.Fatalf("user disable: %s", out)
	}
	mustJSON(t, &page, env, "user", "list", "--tenant", "acme", "--status", "disabled", "--output", "json")
	if page.Total != 1 || page.Users[0]["username"] != "bob" {
		t.Fatalf("disabled users: %+v", page)
	}
	must(t, env, "user", "enable", "bob", "--tenant", "acme")
	if out := mustStdin(t, env, "another good password\n", "user", "set-password", "bob", "--tenant", "acme", "--password-stdin", "--sign-out"); !strings.Contains(out, "sessions and refresh tokens are ended") {
		t.Fatalf("set-password: %s", out)
	}
	must(t, env, "user", "delete", "bob", "--tenant", "acme")
	code, _, errOut = runCLI(t, env, "user", "get", "bob", "--tenant", "acme")
	if code != 1 || !strings.Contains(errOut, "not found") {
		t.Fatalf("deleted user: exit %d, %s", code, errOut)
	}

	// The audit log saw everything, and never a password.
	out = must(t, env, "scope", "impact", "read:tx", "--tenant", "acme")
	if !strings.Contains(out, "roles         1: teller") {
		t.Fatalf("impact: %s", out)
	}
}
