package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/token"
)

// testKey is a fixed master key for tests (32 zero-to-31 bytes).
var testKey = func() string {
	b := make([]byte, token.MasterKeySize)
	for i := range b {
		b[i] = byte(i)
	}
	return base64.StdEncoding.EncodeToString(b)
}()

// runCLI runs one command line in-process with an environment of its own
// (never the developer's INTELLIAUTH_* variables).
func runCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	return runCLICtx(t.Context(), env, nil, args...)
}

func runCLICtx(ctx context.Context, env map[string]string, onListen func(string), args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	c := &cli{stdout: &out, stderr: &errOut, onListen: onListen, lookupEnv: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}}
	code := c.run(ctx, args)
	return code, out.String(), errOut.String()
}

// must runs a command that must succeed and returns its stdout.
func must(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	code, out, errOut := runCLI(t, env, args...)
	if code != 0 {
		t.Fatalf("intelliauth %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func mustJSON(t *testing.T, v any, env map[string]string, args ...string) {
	t.Helper()
	out := must(t, env, args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("intelliauth %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestUsage(t *testing.T) {
	if code, out, _ := runCLI(t, nil); code != 2 || !strings.Contains(out, "serve") {
		t.Fatalf("no arguments: exit %d, %q", code, out)
	}
	if code, _, _ := runCLI(t, nil, "help"); code != 0 {
		t.Fatalf("help: exit %d", code)
	}
	if code, _, errOut := runCLI(t, nil, "frobnicate"); code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Fatalf("unknown command: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, nil, "scope", "explode"); code != 2 || !strings.Contains(errOut, "unknown subcommand") {
		t.Fatalf("unknown subcommand: exit %d, %q", code, errOut)
	}
	if code, _, _ := runCLI(t, nil, "serve", "--no-such-flag"); code != 2 && code != 1 {
		t.Fatalf("unknown flag: exit %d", code)
	}
}

func TestKeysMaster(t *testing.T) {
	a := strings.TrimSpace(must(t, nil, "keys", "master"))
	b := strings.TrimSpace(must(t, nil, "keys", "master"))
	if a == b {
		t.Fatal("two master keys are equal")
	}
	if _, err := token.ParseMasterKey(a); err != nil {
		t.Fatalf("printed master key does not parse: %v", err)
	}
}

func TestServeRefusesBadConfigAtOnce(t *testing.T) {
	code, _, errOut := runCLI(t, map[string]string{"INTELLIAUTH_PUBLIC_URL": "http://auth.example.com"},
		"serve", "--data-dir", t.TempDir(), "--tls-cert", "x.pem", "--log-format", "xml")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"no master key", "intelliauth keys master", "http:// off loopback", "--tls-key", "log format"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not mention %q:\n%s", want, errOut)
		}
	}
}

// mustFail runs a command that must exit with code and mention each of
// mentions on stderr.
func mustFail(t *testing.T, env map[string]string, code int, args []string, mentions ...string) string {
	t.Helper()
	got, out, errOut := runCLI(t, env, args...)
	if got != code {
		t.Fatalf("intelliauth %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), got, code, out, errOut)
	}
	for _, m := range mentions {
		if !strings.Contains(errOut, m) {
			t.Errorf("intelliauth %s: stderr lacks %q:\n%s", strings.Join(args, " "), m, errOut)
		}
	}
	return errOut
}

// failCase is a command line that must fail with code and say mentions on
// stderr.
type failCase struct {
	name     string
	args     []string
	code     int
	mentions []string
}

// runFailCases runs each case as a subtest with mustFail.
func runFailCases(t *testing.T, env map[string]string, cases []failCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { mustFail(t, env, tc.code, tc.args, tc.mentions...) })
	}
}

// TestGroupHelp: every group lists each of its subcommands with one line —
// alone (a usage error, exit 2, on stderr) or with --help (exit 0, on
// stdout) — and every subcommand answers -h with its flags.
func TestGroupHelp(t *testing.T) {
	groups := 0
	for _, cmd := range commands() {
		if cmd.verbs == nil {
			continue
		}
		groups++
		t.Run(cmd.name, func(t *testing.T) {
			check := func(how, out string) {
				t.Helper()
				if !strings.Contains(out, "Usage: intelliauth "+cmd.name+" <subcommand>") {
					t.Errorf("%s: no usage line:\n%s", how, out)
				}
				for _, v := range cmd.verbs {
					if v.summary == "" || strings.Contains(v.summary, "\n") {
						t.Errorf("%s %s: the summary must be one line: %q", cmd.name, v.name, v.summary)
					}
					found := false
					for l := range strings.Lines(out) {
						if f := strings.Fields(l); len(f) > 1 && f[0] == v.name && strings.Contains(l, v.summary) {
							found = true
						}
					}
					if !found {
						t.Errorf("%s: %s is not listed with its summary:\n%s", how, v.name, out)
					}
				}
			}
			code, out, errOut := runCLI(t, nil, cmd.name)
			if code != 2 || out != "" {
				t.Errorf("intelliauth %s: exit %d, stdout %q; want 2 and the help on stderr", cmd.name, code, out)
			}
			check("intelliauth "+cmd.name, errOut)
			for _, h := range []string{"--help", "-h", "help"} {
				code, out, _ := runCLI(t, nil, cmd.name, h)
				if code != 0 {
					t.Errorf("intelliauth %s %s: exit %d", cmd.name, h, code)
				}
				check("intelliauth "+cmd.name+" "+h, out)
			}
			for _, v := range cmd.verbs {
				if code, _, errOut := runCLI(t, nil, cmd.name, v.name, "-h"); code != 0 || !strings.Contains(errOut, "Usage: intelliauth "+cmd.name+" "+v.name) {
					t.Errorf("intelliauth %s %s -h: exit %d\n%s", cmd.name, v.name, code, errOut)
				}
			}
		})
	}
	if groups < 11 {
		t.Fatalf("%d groups, want every one (tenant, scope, api, app, user, role, group, settings, keys, audit, report)", groups)
	}
	// The top-level help names each group's subcommands from the same list.
	_, out, _ := runCLI(t, nil, "help")
	if !strings.Contains(out, "manage applications (create|list|get|update|delete|allow|disallow|set-scopes|rotate-secret)") {
		t.Errorf("top-level help:\n%s", out)
	}
}
