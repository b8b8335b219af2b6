package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
)

// appPlatformClient is a client of the node's /api/v1 as its admin client,
// for setting up what another group of commands owns (users, roles).
func appPlatformClient(t *testing.T, n apiNode, scopes ...string) *apiClient {
	t.Helper()
	cl, err := dialAPI(t.Context(), conn{issuer: n.Issuer, clientID: n.API[envClientID], secret: n.API[envClientSecret]}, scopes)
	if err != nil {
		t.Fatalf("dial the platform API: %v", err)
	}
	return cl
}

// appBankScopes registers the API api.bank.example (ID bank) with read:tx and
// write:tx, which implies read:tx.
func appBankScopes(t *testing.T, env map[string]string) {
	t.Helper()
	must(t, env, "api", "create", "api.bank.example", "--id", "bank", "--name", "Bank")
	must(t, env, "scope", "create", "read:tx", "--api", "bank", "--description", "Read transactions.")
	must(t, env, "scope", "create", "write:tx", "--api", "bank", "--description", "Write transactions.", "--implies", "read:tx")
}

// appTestDoc is the part of an application's JSON the tests look at.
type appTestDoc struct {
	ClientID       string   `json:"client_id"`
	Name           string   `json:"name"`
	AllowedScopes  []string `json:"allowed_scopes"`
	AccessTokenTTL string   `json:"access_token_ttl"`
	Version        int64    `json:"version"`
	ClientSecret   string   `json:"client_secret"`
}

// TestAppWorkflow runs an application's life through the CLI over /api/v1.
func TestAppWorkflow(t *testing.T) {
	n := startAPINode(t)
	env := n.API
	appBankScopes(t, env)

	var created appTestDoc
	mustJSON(t, &created, env, "app", "create", "job", "--type", "m2m", "--scopes", "read:tx", "--output", "json")
	if len(created.ClientSecret) < 43 || created.Version != 1 {
		t.Fatalf("app create must show the secret once: %+v", created)
	}
	out := must(t, env, "app", "create", "nightly", "--type", "m2m", "--name", "Nightly")
	for _, want := range []string{"client_id       nightly", "client_secret   ", "shown only now", "app rotate-secret nightly"} {
		if !strings.Contains(out, want) {
			t.Errorf("app create table lacks %q:\n%s", want, out)
		}
	}
	if out := must(t, env, "app", "allow", "job", "write:tx", "users:read"); !strings.Contains(out, "job allowed scopes: read:tx users:read write:tx") {
		t.Fatalf("allow: %s", out)
	}
	if out := must(t, env, "app", "disallow", "job", "users:read"); !strings.Contains(out, "job allowed scopes: read:tx write:tx") {
		t.Fatalf("disallow: %s", out)
	}

	out = must(t, env, "explain", "--client", "job", "--audience", "api.bank.example", "--scope", "write:tx")
	for _, want := range []string{"write:tx", "granted", "read:tx", "implied", `token with scope "read:tx write:tx"`} {
		if !strings.Contains(out, want) {
			t.Errorf("explain table lacks %q:\n%s", want, out)
		}
	}
	var ex struct {
		Granted []string `json:"granted"`
		Error   *struct {
			Code string `json:"error"`
		} `json:"error"`
	}
	mustJSON(t, &ex, env, "explain", "--client", "job", "--scope", "write:tx", "--audience", "api.bank.example", "--output", "json")
	if len(ex.Granted) != 2 || ex.Error != nil {
		t.Fatalf("explain json: %+v", ex)
	}
	mustJSON(t, &ex, env, "explain", "--client", "job", "--scope", "read:records", "--output", "json")
	if ex.Error == nil || ex.Error.Code != "invalid_scope" {
		t.Fatalf("strict app asking beyond its allowlist: %+v", ex)
	}

	if out := must(t, env, "app", "get", "job"); !strings.Contains(out, "allowed scopes  read:tx write:tx") || !strings.Contains(out, "version         3") {
		t.Fatalf("app get: %s", out)
	}
	if out := must(t, env, "app", "list"); !strings.Contains(out, "job") || !strings.Contains(out, "nightly") || !strings.Contains(out, "page 1 of 1 (4 applications)") {
		t.Fatalf("app list (job, nightly, admin-cli and console): %s", out)
	}
	var upd appTestDoc
	mustJSON(t, &upd, env, "app", "update", "job", "--name", "Batch job", "--access-token-ttl", "10m", "--output", "json")
	if upd.Name != "Batch job" || upd.AccessTokenTTL != "10m0s" || !slices.Equal(upd.AllowedScopes, []string{"read:tx", "write:tx"}) {
		t.Fatalf("app update changes the flags given and nothing else: %+v", upd)
	}
	// Renaming a scope follows into the allowlist.
	must(t, env, "scope", "rename", "read:tx", "view:tx")
	if out := must(t, env, "app", "get", "job"); !strings.Contains(out, "view:tx write:tx") || !strings.Contains(out, "access TTL      10m0s") {
		t.Fatalf("rename must follow into the allowlist: %s", out)
	}
	if out := must(t, env, "app", "set-scopes", "job"); !strings.Contains(out, "job allowed scopes: -") {
		t.Fatalf("set-scopes with none: %s", out)
	}

	out = must(t, env, "app", "rotate-secret", "job", "--grace", "1h")
	for _, want := range []string{"client_id      job", "client_secret  ", "previous secrets stop working at", "shown only now"} {
		if !strings.Contains(out, want) {
			t.Errorf("rotate-secret lacks %q:\n%s", want, out)
		}
	}
	var rot struct {
		ClientSecret       string    `json:"client_secret"`
		PreviousValidUntil time.Time `json:"previous_valid_until"`
	}
	mustJSON(t, &rot, env, "app", "rotate-secret", "job", "--grace", "0s", "--output", "json")
	if len(rot.ClientSecret) < 43 || rot.PreviousValidUntil.After(time.Now().Add(time.Minute)) {
		t.Fatalf("rotate-secret --grace 0s: %+v", rot)
	}

	if out := must(t, env, "app", "delete", "job"); !strings.Contains(out, "deleted application job") {
		t.Fatalf("delete: %s", out)
	}
	if code, _, errOut := runCLI(t, env, "app", "get", "job"); code != 1 || !strings.Contains(errOut, "not found") {
		t.Fatalf("deleted app: exit %d, %s", code, errOut)
	}
}

// TestAppStaleVersion: --version is If-Match, so an allowlist change based
// on what someone else has changed since fails with 412 and changes nothing.
func TestAppStaleVersion(t *testing.T) {
	n := startAPINode(t)
	env := n.API
	appBankScopes(t, env)
	must(t, env, "app", "create", "job", "--type", "m2m", "--scopes", "read:tx")
	var app appTestDoc
	mustJSON(t, &app, env, "app", "get", "job", "--output", "json")
	must(t, env, "app", "allow", "job", "write:tx", "--version", "1")

	for _, args := range [][]string{
		{"app", "allow", "job", "users:read", "--version", "1"},
		{"app", "disallow", "job", "read:tx", "--version", "1"},
		{"app", "set-scopes", "job", "users:read", "--version", "1"},
		{"app", "update", "job", "--name", "Lost update", "--version", "1"},
		{"app", "delete", "job", "--version", "1"},
	} {
		code, out, errOut := runCLI(t, env, args...)
		// The message names the current and the stale version (the
		// allowlist route writes them as entity tags).
		stale := strings.Contains(errOut, `is at "v2", not "v1"`) || strings.Contains(errOut, "is at version 2, not 1")
		if code != 1 || out != "" || !stale || !strings.Contains(errOut, "changed meanwhile") {
			t.Errorf("%s: exit %d, stdout %s, stderr %s", strings.Join(args, " "), code, out, errOut)
		}
	}
	mustJSON(t, &app, env, "app", "get", "job", "--output", "json")
	if app.Version != 2 || app.Name != "job" || !slices.Equal(app.AllowedScopes, []string{"read:tx", "write:tx"}) {
		t.Fatalf("refused changes must change nothing: %+v", app)
	}
	if out := must(t, env, "app", "allow", "job", "users:read", "--version", "2"); !strings.Contains(out, "read:tx users:read write:tx") {
		t.Fatalf("allow at the current version: %s", out)
	}
}

// TestAppPlatformScopeEscalation (issue 9, defect 4): the CLI drives the
// API, so an admin client allowed only applications:write cannot give
// itself users:write nor take over admin-cli; the full admin client can,
// its token asking for the granted scopes only when the change needs them.
func TestAppPlatformScopeEscalation(t *testing.T) {
	n := startAPINode(t)
	env := n.API
	var ops appTestDoc
	mustJSON(t, &ops, env, "app", "create", "ops", "--type", "m2m", "--scopes", "applications:write", "--output", "json")
	opsEnv := map[string]string{}
	for k, v := range env {
		opsEnv[k] = v
	}
	opsEnv[envClientID], opsEnv[envClientSecret] = "ops", ops.ClientSecret
	for _, args := range [][]string{
		{"app", "allow", "ops", "users:write"},
		{"app", "rotate-secret", "admin-cli"},
		{"app", "create", "puppet", "--type", "m2m", "--scopes", "roles:write"},
	} {
		code, out, errOut := runCLI(t, opsEnv, args...)
		if code != 1 || out != "" || !strings.Contains(errOut, "your access token does not carry") ||
			!strings.Contains(errOut, "invalid_scope") || !strings.Contains(errOut, "an admin can allow it: intelliauth app allow ops") {
			t.Errorf("%s as ops: exit %d, stdout %q, stderr %s", strings.Join(args, " "), code, out, errOut)
		}
	}
	var got appTestDoc
	mustJSON(t, &got, env, "app", "get", "ops", "--output", "json")
	if !slices.Equal(got.AllowedScopes, []string{"applications:write"}) {
		t.Fatalf("ops gave itself %v", got.AllowedScopes)
	}
	must(t, env, "scope", "list") // admin-cli's secret still works
	if out := must(t, opsEnv, "app", "allow", "ops", "applications:read"); !strings.Contains(out, "applications:read applications:write") {
		t.Fatalf("an implied scope: %s", out)
	}
	if out := must(t, env, "app", "allow", "ops", "users:write"); !strings.Contains(out, "users:write") {
		t.Fatalf("admin-cli holds users:write: %s", out)
	}
}

// TestAppTokenScopes: each command's token asks for only the scope its call
// needs, so an admin client without applications:write can still read.
func TestAppTokenScopes(t *testing.T) {
	n := startAPINode(t)
	env := n.API
	readOnly := slices.DeleteFunc(admin.AdminClientScopes(), func(s string) bool { return s == "applications:write" })
	if out := must(t, env, "app", "set-scopes", "admin-cli", strings.Join(readOnly, " ")); strings.Contains(out, "applications:write") {
		t.Fatalf("set-scopes: %s", out)
	}
	code, _, errOut := runCLI(t, env, "app", "create", "job", "--type", "m2m")
	if code != 1 || !strings.Contains(errOut, "invalid_scope") || !strings.Contains(errOut, "needs applications:write") {
		t.Fatalf("app create without applications:write: exit %d, %s", code, errOut)
	}
	if out := must(t, env, "app", "list"); !strings.Contains(out, "admin-cli") {
		t.Fatalf("app list needs only applications:read: %s", out)
	}
	if out := must(t, env, "explain", "--client", "admin-cli", "--audience", n.Issuer+"/api/v1", "--scope", "applications:read"); !strings.Contains(out, "granted") {
		t.Fatalf("explain needs only applications:read: %s", out)
	}
	var page struct {
		Items []struct {
			Scopes []string `json:"scopes"`
		} `json:"items"`
	}
	mustJSON(t, &page, env, "audit", "search", "--type", "oauth.token_issued", "--client", "admin-cli", "--limit", "3", "--output", "json")
	want := [][]string{{"audit:read"}, {"applications:read"}, {"applications:read"}} // newest first
	if len(page.Items) != len(want) {
		t.Fatalf("audit of the admin client's tokens: %+v", page)
	}
	for i, e := range page.Items {
		if !slices.Equal(e.Scopes, want[i]) {
			t.Errorf("token %d carries %v, want only %v", i, e.Scopes, want[i])
		}
	}
}

// TestExplainUser: with --user the decision is that user's authorization-code
// request, so roles and consent count.
func TestExplainUser(t *testing.T) {
	n := startAPINode(t)
	env := n.API
	appBankScopes(t, env)
	must(t, env, "app", "create", "portal", "--type", "web", "--redirect-uri", "http://localhost:3000/cb", "--scopes", "openid read:tx write:tx")

	// Users and roles are another group of commands: set them up over HTTP.
	cl := appPlatformClient(t, n, "roles:write", "users:write")
	if _, err := cl.call(t.Context(), request{method: "POST", path: "/roles", body: map[string]any{
		"name": "teller", "description": "Reads transactions.", "scopes": []string{"read:tx"}}}, nil); err != nil {
		t.Fatalf("create role: %v", err)
	}
	var user struct {
		ID string `json:"id"`
	}
	if _, err := cl.call(t.Context(), request{method: "POST", path: "/users", body: map[string]any{
		"username": "alice", "email": "alice@example.com", "password": "correct horse battery staple", "roles": []string{"teller"}}}, &user); err != nil {
		t.Fatalf("create user: %v", err)
	}

	args := []string{"explain", "--client", "portal", "--audience", "api.bank.example", "--scope", "read:tx write:tx"}
	out := must(t, env, append(args, "--user", "alice@example.com")...)
	for _, want := range []string{"user      alice (" + user.ID + ", active)", "entitled  read:tx", "consented -\n",
		"not_consented: the user has not approved it", "not_entitled: the user's roles do not give it"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain --user lacks %q:\n%s", want, out)
		}
	}
	var ex struct {
		Granted []string `json:"granted"`
		Results []struct {
			Scope  string `json:"scope"`
			Reason string `json:"reason"`
		} `json:"results"`
		User *struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	mustJSON(t, &ex, env, append(args, "--user", user.ID, "--output", "json")...)
	reasons := map[string]string{}
	for _, r := range ex.Results {
		reasons[r.Scope] = r.Reason
	}
	if ex.User == nil || ex.User.ID != user.ID || reasons["read:tx"] != "not_consented" || reasons["write:tx"] != "not_entitled" {
		t.Fatalf("explain --user json: %+v", ex)
	}
	// First-party consent: the entitled scope is granted, the other is not.
	must(t, env, "app", "update", "portal", "--consent", "implicit")
	mustJSON(t, &ex, env, append(args, "--user", "alice", "--output", "json")...)
	if !slices.Equal(ex.Granted, []string{"read:tx"}) {
		t.Fatalf("implicit consent grants what the roles give: %+v", ex)
	}
	// Without --user it is the client-credentials decision: no user reasons.
	if out := must(t, env, args...); strings.Contains(out, "not_entitled") || strings.Contains(out, "user   ") {
		t.Fatalf("explain without --user: %s", out)
	}
	code, _, errOut := runCLI(t, env, append(args, "--user", "bob")...)
	if code != 1 || !strings.Contains(errOut, `no user "bob"`) {
		t.Fatalf("unknown user: exit %d, %s", code, errOut)
	}
}

// TestAppCommandErrors: usage mistakes exit 2 before any call, refusals 1.
func TestAppCommandErrors(t *testing.T) {
	n := startAPINode(t)
	cases := []failCase{
		{"type is required", []string{"app", "create", "x"}, 2, []string{"--type is required"}},
		{"one client_id", []string{"app", "create", "x", "y", "--type", "m2m"}, 2, []string{"at most one client_id"}},
		{"allow needs a scope", []string{"app", "allow", "admin-cli"}, 2, []string{"at least 1 scope"}},
		{"--tenant is gone", []string{"app", "list", "--tenant", "acme"}, 2, []string{"flag provided but not defined: -tenant"}},
		{"bad page", []string{"app", "list", "--page", "0"}, 2, []string{"--page"}},
		{"negative grace", []string{"app", "rotate-secret", "admin-cli", "--grace", "-1h"}, 2, []string{"--grace"}},
		{"explain needs --client", []string{"explain", "--scope", "openid"}, 2, []string{"--client is required"}},
		{"unknown scope in the allowlist", []string{"app", "create", "j", "--type", "m2m", "--scopes", "nope:a nope:b"}, 1, []string{"invalid input", "nope:a nope:b"}},
		{"unknown scope to allow", []string{"app", "allow", "admin-cli", "nope:a"}, 1, []string{"invalid input", "nope:a"}},
		{"unknown application", []string{"app", "get", "ghost"}, 1, []string{"ghost", "not found"}},
		{"explain an unknown application", []string{"explain", "--client", "ghost"}, 1, []string{"--client: ", "ghost"}},
		{"grace beyond the limit", []string{"app", "rotate-secret", "admin-cli", "--grace", "1000h"}, 1, []string{"grace_period", "720h"}},
	}
	runFailCases(t, n.API, cases)
}

// TestListsSortedAndPaged: every paged list is sorted by its first column
// (client_id, name, identifier, username), the same on every page, and a
// page with more after it ends with the --page that shows them; following
// those hints walks the whole list, each item once.
func TestListsSortedAndPaged(t *testing.T) {
	n := startAPINode(t)
	env := n.API
	appBankScopes(t, env)
	must(t, env, "api", "create", "api.audit.example", "--id", "audit")
	must(t, env, "api", "create", "api.zoo.example", "--id", "zoo")
	for _, id := range []string{"zeta", "alpha", "mid-job"} {
		must(t, env, "app", "create", id, "--type", "m2m")
	}
	for _, name := range []string{"zed", "amy", "kim"} {
		createUser(t, env, name)
	}
	for _, name := range []string{"tellers", "auditors", "managers"} {
		must(t, env, "role", "create", name, "--scopes", "read:tx")
		must(t, env, "group", "create", name+"-group", "--roles", name)
	}
	for _, list := range [][]string{
		{"app", "list"}, {"scope", "list"}, {"api", "list"}, {"user", "list"}, {"role", "list"}, {"group", "list"},
	} {
		t.Run(strings.Join(list, " "), func(t *testing.T) {
			var keys []string
			page, pages := 1, 0
			for ; ; pages++ {
				if pages > 50 {
					t.Fatal("the walk does not end")
				}
				out := must(t, env, append(list, "--per-page", "2", "--page", fmt.Sprint(page))...)
				lines := strings.Split(strings.TrimSpace(out), "\n")
				var more string
				for i, l := range lines[1:] {
					if strings.HasPrefix(l, "page ") {
						if i+2 < len(lines) {
							more = lines[i+2]
						}
						break
					}
					keys = append(keys, strings.Fields(l)[0])
				}
				next, ok := strings.CutPrefix(more, "more: --page ")
				if !ok {
					if more != "" || !strings.Contains(out, fmt.Sprintf("page %d of %d", page, page)) {
						t.Fatalf("the last page has no more: line:\n%s", out)
					}
					break
				}
				next, _, _ = strings.Cut(next, " ")
				if next != fmt.Sprint(page+1) {
					t.Fatalf("page %d points at --page %s:\n%s", page, next, out)
				}
				page++
			}
			if pages < 1 || !slices.IsSorted(keys) || len(slices.Compact(slices.Clone(keys))) != len(keys) {
				t.Fatalf("%d pages, items %v: want at least 2 pages, sorted, each once", pages+1, keys)
			}
		})
	}
}

// TestAppGetM2MHasNoConsent: an m2m application has no user, so app get
// shows no consent mode, second factor or redirect URIs; a web one does.
func TestAppGetM2MHasNoConsent(t *testing.T) {
	n := startAPINode(t)
	env := n.API
	must(t, env, "app", "create", "job", "--type", "m2m")
	must(t, env, "app", "create", "portal", "--type", "web", "--redirect-uri", "https://portal.example/cb")
	for _, args := range [][]string{{"app", "get", "job"}, {"app", "list"}} {
		if out := must(t, env, args...); strings.Contains(out, "consent") || strings.Contains(strings.ToLower(out), "mfa") || strings.Contains(out, "redirect") {
			t.Errorf("%v shows a user-facing setting of an m2m application:\n%s", args, out)
		}
	}
	if out := must(t, env, "app", "get", "portal"); !strings.Contains(out, "consent         required") || !strings.Contains(out, "redirect URIs   https://portal.example/cb") {
		t.Errorf("app get of a web application:\n%s", out)
	}
}
