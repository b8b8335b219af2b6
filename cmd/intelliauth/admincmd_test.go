package main

import (
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// adminEnv is the environment of an operator session on a fresh data dir.
func adminEnv(t *testing.T) map[string]string {
	return map[string]string{"INTELLIAUTH_DATA_DIR": t.TempDir(), "INTELLIAUTH_MASTER_KEY": testKey}
}

// TestOperatorCommands covers what stays on the database: tenants, the
// admin client that lets the other commands in, keys and migrations.
func TestOperatorCommands(t *testing.T) {
	env := adminEnv(t)
	must(t, env, "migrate")
	out := must(t, env, "tenant", "create", "acme", "--public-url", "http://localhost:8080", "--name", "Acme")
	for _, want := range []string{"http://localhost:8080/t/acme", "export INTELLIAUTH_ISSUER=http://localhost:8080/t/acme",
		"export INTELLIAUTH_CLIENT_ID=admin-cli", "export INTELLIAUTH_CLIENT_SECRET=", "shown only now"} {
		if !strings.Contains(out, want) {
			t.Errorf("tenant create lacks %q:\n%s", want, out)
		}
	}
	var tenants []map[string]any
	mustJSON(t, &tenants, env, "tenant", "list", "--output", "json")
	if len(tenants) != 1 || tenants[0]["issuer"] != "http://localhost:8080/t/acme" {
		t.Fatalf("tenant list: %v", tenants)
	}
	if out := must(t, env, "tenant", "get", "acme"); !strings.Contains(out, "Acme") {
		t.Fatalf("tenant get: %s", out)
	}
	if out := must(t, env, "tenant", "create", "bare", "--public-url", "http://localhost:8080", "--admin-client", ""); strings.Contains(out, "export") {
		t.Fatalf("--admin-client \"\" must make no client: %s", out)
	}
	var ac struct {
		ID      string `json:"client_id"`
		Secret  string `json:"client_secret"`
		Created bool   `json:"created"`
	}
	mustJSON(t, &ac, env, "tenant", "admin-client", "bare", "--output", "json")
	if ac.ID != "admin-cli" || !ac.Created || len(ac.Secret) < 43 {
		t.Fatalf("tenant admin-client on a tenant without one: %+v", ac)
	}
	if out := must(t, env, "keys", "rotate", "--tenant", "acme"); strings.Count(out, "current") != 2 || !strings.Contains(out, "previous") {
		t.Fatalf("keys rotate: %s", out)
	}
	// Operator commands refuse what they cannot do, before touching anything.
	cases := []failCase{
		{"http issuer off loopback", []string{"tenant", "create", "x", "--issuer", "http://auth.example.com/t/x"}, 1, []string{"http:// off loopback"}},
		{"bad output", []string{"tenant", "list", "--output", "yaml"}, 2, []string{"table or json"}},
		{"admin client of an unknown tenant", []string{"tenant", "admin-client", "nope"}, 1, []string{`"nope"`, "not found"}},
	}
	runFailCases(t, env, cases)
	// Without a master key, commands that seal keys explain how to get one.
	noKey := map[string]string{"INTELLIAUTH_DATA_DIR": t.TempDir()}
	code, _, errOut := runCLI(t, noKey, "tenant", "create", "x", "--issuer", "https://a.example/t/x")
	if code != 1 || !strings.Contains(errOut, "intelliauth keys master") {
		t.Fatalf("no master key: exit %d %s", code, errOut)
	}
}

// TestScopeAndAPICommands runs the scope lifecycle through the CLI, which
// sends every change through /api/v1 as the admin client.
func TestScopeAndAPICommands(t *testing.T) {
	n := startAPINode(t)
	env := n.API
	must(t, env, "api", "create", "api.bank.example", "--id", "bank", "--name", "Bank")
	if out := must(t, env, "api", "create", "api.health.example", "--alg", "RS256", "--ttl", "10m"); !strings.Contains(out, "RS256") || !strings.Contains(out, "10m0s") {
		t.Fatalf("api create: %s", out)
	}
	// Flags after the positional argument work too.
	must(t, env, "scope", "create", "read:tx", "--api", "api.bank.example", "--description", "Read transactions.")
	if out := must(t, env, "scope", "create", "write:tx", "--api", "bank", "--description", "Write transactions.", "--implies", "read:tx"); !strings.Contains(out, "on no allowlist yet") {
		t.Fatalf("scope create: %s", out)
	}
	if out := must(t, env, "scope", "list", "--kind", "custom"); !strings.Contains(out, "read:tx") || !strings.Contains(out, "page 1 of 1 (2 scopes)") {
		t.Fatalf("scope list: %s", out)
	}
	// --output json is the API's answer: the list envelope.
	var page struct {
		Items []struct {
			Name    string `json:"name"`
			Version int64  `json:"version"`
		} `json:"items"`
		Page, PerPage, Total int
	}
	mustJSON(t, &page, env, "scope", "list", "--per-page", "5", "--page", "2", "--output", "json")
	if len(page.Items) != 5 || page.Total != 24 {
		t.Fatalf("scope list page 2 of 5: %+v", page)
	}

	var sc struct {
		Description string `json:"description"`
		Version     int64  `json:"version"`
	}
	mustJSON(t, &sc, env, "scope", "update", "read:tx", "--description", "Read every transaction.", "--output", "json")
	if sc.Description != "Read every transaction." || sc.Version != 2 {
		t.Fatalf("scope update: %+v", sc)
	}
	// A stale --version (RFC 9110 §13.1.1 If-Match) changes nothing.
	code, _, errOut := runCLI(t, env, "scope", "update", "read:tx", "--description", "Lost update.", "--version", "1")
	if code != 1 || !strings.Contains(errOut, "at version 2, not 1") {
		t.Fatalf("stale version: exit %d, %s", code, errOut)
	}
	if out := must(t, env, "scope", "get", "read:tx"); !strings.Contains(out, "Read every transaction.") || !strings.Contains(out, "version       2") {
		t.Fatalf("a refused update must change nothing: %s", out)
	}
	must(t, env, "scope", "update", "read:tx", "--description", "Read all transactions.", "--version", "2")

	must(t, env, "scope", "rename", "read:tx", "view:tx")
	if out := must(t, env, "scope", "get", "write:tx"); !strings.Contains(out, "implies       view:tx") {
		t.Fatalf("rename must follow into implications: %s", out)
	}
	if out := must(t, env, "scope", "impact", "view:tx"); !strings.Contains(out, "deletable          true") {
		t.Fatalf("impact: %s", out)
	}
	if out := must(t, env, "scope", "delete", "view:tx"); !strings.Contains(out, "deleted scope view:tx; removed from 0 application(s)") {
		t.Fatalf("delete: %s", out)
	}
	if out := must(t, env, "api", "update", "bank", "--name", "Banking"); !strings.Contains(out, "Banking") {
		t.Fatalf("api update: %s", out)
	}
	if out := must(t, env, "api", "list"); !strings.Contains(out, "api.health.example") || !strings.Contains(out, n.Issuer+"/api/v1") {
		t.Fatalf("api list: %s", out)
	}
	must(t, env, "scope", "delete", "write:tx")
	must(t, env, "api", "delete", "bank")
	code, _, errOut = runCLI(t, env, "api", "get", "bank")
	if code != 1 || !strings.Contains(errOut, "not found") {
		t.Fatalf("deleted API: exit %d, %s", code, errOut)
	}

	// The changes went through the API: the audit log names the admin
	// client as their actor, as it would any admin tool (the database path
	// recorded the CLI itself).
	out := must(t, n.API, "audit", "search", "--type", "scope.created", "--output", "json")
	if strings.Count(out, `"id": "admin-cli"`) != 2 || strings.Contains(out, `"type": "cli"`) {
		t.Fatalf("audit of scope.created must name the admin client as actor:\n%s", out)
	}
}

// TestAPICommandErrors checks that each kind of failure reads as what to do,
// with exit 2 for usage and 1 for a refusal.
func TestAPICommandErrors(t *testing.T) {
	n := startAPINode(t)
	with := func(k, v string) map[string]string {
		e := maps.Clone(n.API)
		if v == "" {
			delete(e, k)
		} else {
			e[k] = v
		}
		return e
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/t/acme"
	ln.Close()
	other := strings.TrimSuffix(n.Issuer, "/acme") + "/nope"
	// The connection: each case changes one thing of the admin client's
	// environment.
	connCases := []struct {
		failCase
		env map[string]string
	}{
		{failCase{"no credentials at all", []string{"scope", "list"}, 2,
			[]string{"no platform API credentials", "tenant create", "serve --demo"}}, map[string]string{"INTELLIAUTH_DATA_DIR": t.TempDir()}},
		{failCase{"no secret", []string{"scope", "list"}, 2, []string{"missing the client secret"}}, with("INTELLIAUTH_CLIENT_SECRET", "")},
		{failCase{"wrong secret (RFC 6749 §5.2 invalid_client)", []string{"scope", "list"}, 1,
			[]string{"refused client admin-cli: invalid_client", "tenant admin-client"}}, with("INTELLIAUTH_CLIENT_SECRET", "wrong")},
		{failCase{"another tenant's issuer", []string{"scope", "list"}, 1, []string{"is " + other + " the issuer of a tenant"}}, with("INTELLIAUTH_ISSUER", other)},
		{failCase{"server down", []string{"scope", "list"}, 1, []string{"cannot reach", "is the server running"}}, with("INTELLIAUTH_ISSUER", closed)},
		{failCase{"http issuer off loopback", []string{"scope", "list"}, 2, []string{"clear text"}}, with("INTELLIAUTH_ISSUER", "http://auth.example.com/t/acme")},
		{failCase{"issuer not a URL", []string{"scope", "list"}, 2, []string{"not an http(s) URL"}}, with("INTELLIAUTH_ISSUER", "acme")},
	}
	for _, tc := range connCases {
		t.Run(tc.name, func(t *testing.T) {
			if errOut := mustFail(t, tc.env, tc.code, tc.args, tc.mentions...); strings.Contains(errOut, n.API["INTELLIAUTH_CLIENT_SECRET"]) {
				t.Errorf("an error message shows the client secret:\n%s", errOut)
			}
		})
	}
	runFailCases(t, n.API, []failCase{
		{"every scope problem at once", []string{"scope", "create", "9x"}, 1, []string{"invalid input", "name:", "description:", "api:"}},
		{"predefined scope cannot be deleted", []string{"scope", "delete", "openid"}, 1, []string{"predefined", "cannot be deleted"}},
		{"platform API cannot be deleted", []string{"api", "delete", "platform"}, 1, []string{"cannot be deleted"}},
		{"unknown scope", []string{"scope", "get", "nope:x"}, 1, []string{`"nope:x"`, "not found"}},
		{"bad kind", []string{"scope", "list", "--kind", "magic"}, 2, []string{"--kind must be"}},
		{"bad output", []string{"scope", "list", "--output", "yaml"}, 2, []string{"table or json"}},
		{"--tenant is gone: the issuer names the tenant", []string{"scope", "list", "--tenant", "acme"}, 2, []string{"flag provided but not defined: -tenant"}},
		{"too many arguments", []string{"scope", "get", "a", "b"}, 2, []string{"want 1 argument(s), got 2"}},
	})
}

// TestAdminClientRotation: tenant admin-client is the operator's way back in;
// the old secret stops working at once.
func TestAdminClientRotation(t *testing.T) {
	n := startAPINode(t)
	must(t, n.API, "scope", "list")
	var ac struct {
		Secret  string `json:"client_secret"`
		Created bool   `json:"created"`
	}
	mustJSON(t, &ac, n.DB, "tenant", "admin-client", n.Tenant, "--output", "json")
	if ac.Created || ac.Secret == "" || ac.Secret == n.API["INTELLIAUTH_CLIENT_SECRET"] {
		t.Fatalf("re-keying an existing admin client: %+v", ac)
	}
	// The operator changed the database, not this node: the node sees it
	// when it next polls tenant revisions (every second; refusals re-check
	// at once, acceptances wait for the poll).
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _, errOut := runCLI(t, n.API, "scope", "list")
		if code == 1 && strings.Contains(errOut, "invalid_client") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the old secret must stop working: exit %d %s", code, errOut)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The new secret, from a 0600 file and from flags that override the
	// environment.
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte(ac.Secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := maps.Clone(n.API)
	env["INTELLIAUTH_ISSUER"] = "https://wrong.example/t/acme"
	must(t, env, "scope", "get", "openid", "--issuer", n.Issuer, "--client-secret-file", file)
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, env, "scope", "get", "openid", "--issuer", n.Issuer, "--client-secret-file", file); code != 1 || !strings.Contains(errOut, "chmod 600") {
		t.Fatalf("a world-readable secret file must be refused: exit %d %s", code, errOut)
	}
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	env := adminEnv(t)
	must(t, env, "tenant", "create", "acme", "--issuer", "https://auth.example.com/t/acme")
	if out := must(t, env, "tenant", "list"); !strings.Contains(out, "acme") {
		t.Fatalf("env data dir: %s", out)
	}
	if out := must(t, env, "tenant", "list", "--data-dir", t.TempDir()); strings.Contains(out, "acme") {
		t.Fatalf("--data-dir must override %s: %s", "INTELLIAUTH_DATA_DIR", out)
	}
}

// TestDemoCredentialsTrusted: the demo.json fallback is used only for a
// file as serve --demo writes it (0600, a loopback issuer), so a demo.json
// from elsewhere cannot send the CLI — and the passwords some commands
// carry — to another server.
func TestDemoCredentialsTrusted(t *testing.T) {
	write := func(t *testing.T, issuer string, mode os.FileMode) string {
		t.Helper()
		dir := t.TempDir()
		doc := `{"issuer": "` + issuer + `", "apis": [], "users": [], "applications": [{"client_id": "admin-cli", "client_secret": "s3cret-from-the-file", "type": "m2m"}]}`
		if err := os.WriteFile(filepath.Join(dir, "demo.json"), []byte(doc), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, "demo.json"), mode); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	runFailCases(t, map[string]string{}, []failCase{
		{"readable by others", []string{"scope", "list", "--data-dir", write(t, "http://127.0.0.1:1/t/banking", 0o644)}, 1,
			[]string{"readable by others", "not used"}},
		{"issuer off loopback", []string{"scope", "list", "--data-dir", write(t, "https://auth.evil.example/t/banking", 0o600)}, 1,
			[]string{`"https://auth.evil.example/t/banking"`, "not on this machine's loopback"}},
	})
	// A good file is used, and says so on stderr (here the server is down).
	code, _, errOut := runCLI(t, map[string]string{}, "scope", "list", "--data-dir", write(t, "http://127.0.0.1:1/t/banking", 0o600))
	if code != 1 || !strings.Contains(errOut, "using the demo's admin-cli credentials from") || !strings.Contains(errOut, "cannot reach") ||
		strings.Contains(errOut, "s3cret-from-the-file") {
		t.Fatalf("a good demo.json: exit %d %s", code, errOut)
	}
}
