package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestAPITokenSizeBudgetCLI: api create and api update set an API's
// token-size budget with --token-size-budget, get and list show it, a bad
// value is refused naming the flag, and explain prints the size of the
// token it would mint against the budget.
func TestAPITokenSizeBudgetCLI(t *testing.T) {
	n := startAPINode(t)
	env := n.API
	if out := must(t, env, "api", "create", "api.bank.example", "--id", "bank", "--token-size-budget", "2048"); !strings.Contains(out, "budget      2048 bytes") {
		t.Fatalf("api create --token-size-budget: %s", out)
	}
	must(t, env, "scope", "create", "read:tx", "--api", "bank", "--description", "Read transactions.")
	must(t, env, "scope", "create", "write:tx", "--api", "bank", "--description", "Write transactions.")
	must(t, env, "app", "create", "job", "--type", "m2m", "--scopes", "read:tx write:tx")

	code, _, errOut := runCLI(t, env, "api", "update", "bank", "--token-size-budget", "100")
	if code != 1 || !strings.Contains(errOut, "--token-size-budget") || !strings.Contains(errOut, "256") {
		t.Fatalf("a budget of 100: exit %d, %s", code, errOut)
	}
	if out := must(t, env, "api", "get", "bank"); !strings.Contains(out, "budget      2048 bytes") || !strings.Contains(out, "version     1") {
		t.Fatalf("a refused update changed the API: %s", out)
	}
	if out := must(t, env, "api", "list"); !regexp.MustCompile(`api\.bank\.example\s+bank\s+.*2048 bytes`).MatchString(out) {
		t.Fatalf("api list lacks the budget: %s", out)
	}

	out := must(t, env, "explain", "--client", "job", "--audience", "api.bank.example", "--scope", "read:tx")
	m := regexp.MustCompile(`token size: (\d+) bytes, within the API's budget of 2048 bytes`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("explain does not show the token size within the budget:\n%s", out)
	}
	// A budget below that token: explain says by how much it is over.
	must(t, env, "api", "update", "bank", "--token-size-budget", "300")
	out = must(t, env, "explain", "--client", "job", "--audience", "api.bank.example", "--scope", "read:tx write:tx")
	if !regexp.MustCompile(`token size: \d+ bytes, OVER the API's budget of 300 bytes by \d+`).MatchString(out) {
		t.Fatalf("explain does not flag the token over budget:\n%s", out)
	}
	if out := must(t, env, "api", "update", "bank", "--token-size-budget", "0"); !strings.Contains(out, "budget      none") {
		t.Fatalf("api update --token-size-budget 0: %s", out)
	}
	out = must(t, env, "explain", "--client", "job", "--audience", "api.bank.example", "--scope", "read:tx")
	if !regexp.MustCompile(`token size: \d+ bytes\n`).MatchString(out) || strings.Contains(out, "budget") {
		t.Fatalf("explain without a budget:\n%s", out)
	}
}
