package main

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The stamp the packaging test builds with; `version` must print it back.
const (
	pkgVersion = "v0.0.0-packaging-test"
	pkgCommit  = "0123456789abcdef0123456789abcdef01234567"
	pkgDate    = "2026-01-02T03:04:05Z"
)

// TestPackaging exercises what ships: the release binary as
// scripts/build.sh builds it (the recipe the Dockerfile's build stage and
// scripts/release.sh call), the Dockerfile and .dockerignore, compose.yaml,
// the systemd unit and the release script — each as far as this machine
// allows, and skipping with the reason where a tool is missing. With a warm
// build cache it takes a few seconds; the first run compiles the module
// with -trimpath and CGO_ENABLED=0 once, which takes minutes.
func TestPackaging(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the release binary with scripts/build.sh and runs it")
	}
	if os.Getenv("INTELLIAUTH_TEST_PACKAGING") != "1" {
		// A cold release build compiles the whole module once more (minutes
		// on two cores), which would push `go test ./...` and CI past their
		// time; run it on purpose.
		t.Skip("set INTELLIAUTH_TEST_PACKAGING=1 to build the release binary and check the packaging")
	}
	if raceEnabled {
		// The release build shares nothing with a -race build's cache: it
		// would compile the module a second time inside the race run. CI
		// runs this package again without -race.
		t.Skip("the release build is not a race build; run without -race")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to run scripts/build.sh")
	}
	root := repoRoot(t)
	bin := filepath.Join(t.TempDir(), "intelliauth")
	runScript(t, root, sh, []string{"VERSION=" + pkgVersion, "COMMIT=" + pkgCommit, "DATE=" + pkgDate}, "scripts/build.sh", bin)

	t.Run("Dockerfile builds with scripts/build.sh, runs shell-less and non-root", func(t *testing.T) {
		checkDockerfile(t, root)
	})
	t.Run("dockerignore lets through every file the build needs", func(t *testing.T) {
		checkDockerignore(t, root)
	})
	t.Run("static binary runs from an empty directory", func(t *testing.T) {
		checkStaticBinary(t, bin)
	})
	t.Run("systemd unit verifies and is hardened", func(t *testing.T) {
		checkSystemdUnit(t, root, bin)
	})
	t.Run("compose: PostgreSQL and two nodes sharing it", func(t *testing.T) {
		checkCompose(t, root)
	})
	t.Run("release script, one target", func(t *testing.T) {
		checkRelease(t, root, sh)
	})
	t.Run("docker build", func(t *testing.T) {
		dockerBuild(t, root)
	})
}

// repoRoot is the module root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root %s: %v", root, err)
	}
	return root
}

// runScript runs a shell script of the repository with extra environment
// and fails the test with its output when it fails.
func runScript(t *testing.T, root, sh string, env []string, script string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute) // a cold build cache on a busy machine
	defer cancel()
	cmd := exec.CommandContext(ctx, sh, append([]string{filepath.Join(root, script)}, args...)...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", script, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, …
	args string
}

func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if s, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

// execForm parses an exec-form (JSON array) argument; the shell form would
// need /bin/sh, which the final image does not have.
func execForm(t *testing.T, what, s string) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(s), &v); err != nil || len(v) == 0 {
		t.Fatalf("%s %s is not in exec form (a JSON array): the image has no shell to run it", what, s)
	}
	return v
}

func checkDockerfile(t *testing.T, root string) {
	ins := parseDockerfile(t, filepath.Join(root, "Dockerfile"))
	var stages [][]instruction
	for _, in := range ins {
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) > 0 {
			stages[len(stages)-1] = append(stages[len(stages)-1], in)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a build stage and a run stage", len(stages))
	}

	// The build stage: go.mod's Go release, building with scripts/build.sh.
	goMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(goMod)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	build := stages[0]
	if want := "--platform=$BUILDPLATFORM golang:" + string(m[1]) + " AS build"; build[0].args != want {
		t.Errorf("build stage is FROM %s, want FROM %s (go.mod's release, cross-compiling on the builder's platform)", build[0].args, want)
	}
	if !slices.ContainsFunc(build, func(in instruction) bool {
		return in.cmd == "RUN" && strings.Contains(in.args, "scripts/build.sh /out/intelliauth") &&
			strings.Contains(in.args, `GOOS="$TARGETOS" GOARCH="$TARGETARCH"`)
	}) {
		t.Error("the build stage does not RUN scripts/build.sh for the target platform: the image would be built unlike the release binaries this test runs")
	}

	// The run stage.
	final := stages[len(stages)-1]
	base := final[0].args
	if !strings.HasPrefix(base, "gcr.io/distroless/static") && base != "scratch" {
		t.Errorf("run stage is FROM %s, want distroless/static or scratch (no shell, no libc)", base)
	}
	last := map[string]instruction{}
	env := map[string]string{}
	var binary string
	for _, in := range final {
		last[in.cmd] = in
		switch in.cmd {
		case "ENV":
			for _, kv := range strings.Fields(in.args) {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
		case "COPY":
			if f := strings.Fields(in.args); slices.Contains(f, "--from=build") && slices.Contains(f, "/out/intelliauth") {
				binary = f[len(f)-1]
			}
		}
	}
	if binary == "" {
		t.Fatal("the run stage does not COPY --from=build /out/intelliauth")
	}
	user, ok := last["USER"]
	if !ok || user.args == "root" || user.args == "0" || strings.HasPrefix(user.args, "0:") {
		t.Errorf("run stage USER is %q, want a non-root user", user.args)
	}
	if ep := execForm(t, "ENTRYPOINT", last["ENTRYPOINT"].args); ep[0] != binary {
		t.Errorf("ENTRYPOINT runs %s, want the copied binary %s", ep[0], binary)
	}
	if cmd := execForm(t, "CMD", last["CMD"].args); cmd[0] != "serve" {
		t.Errorf("CMD is %v, want serve", cmd)
	}
	hc, ok := last["HEALTHCHECK"]
	if !ok {
		t.Fatal("no HEALTHCHECK")
	}
	_, probe, ok := strings.Cut(hc.args, "CMD ")
	if !ok {
		t.Fatalf("HEALTHCHECK %s has no CMD", hc.args)
	}
	if p := execForm(t, "HEALTHCHECK CMD", probe); p[0] != binary || len(p) < 2 || p[1] != "healthcheck" {
		t.Errorf("HEALTHCHECK runs %v, want %s healthcheck (no shell or curl in the image)", p, binary)
	}
	addr, dataDir := env["INTELLIAUTH_ADDR"], env["INTELLIAUTH_DATA_DIR"]
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("ENV INTELLIAUTH_ADDR=%q: %v", addr, err)
	}
	if got := strings.Fields(last["EXPOSE"].args); !slices.Contains(got, port) {
		t.Errorf("EXPOSE %v does not include the listen port %s of INTELLIAUTH_ADDR", got, port)
	}
	if u, err := readyURL(addr, false); err != nil || !strings.HasPrefix(u, "http://127.0.0.1:"+port+"/") {
		t.Errorf("the health check's default URL for INTELLIAUTH_ADDR=%s is %q, %v; want loopback port %s", addr, u, err, port)
	}
	if dataDir == "" || !strings.Contains(last["VOLUME"].args, `"`+dataDir+`"`) {
		t.Errorf("VOLUME %s does not hold INTELLIAUTH_DATA_DIR=%q", last["VOLUME"].args, dataDir)
	}
}

// ignoreRule is one line of .dockerignore, in the subset the file uses:
// "*", a path (file or directory, with its contents), "**/name" for a
// base-name pattern anywhere, each optionally negated with "!".
type ignoreRule struct {
	negate  bool
	pattern string
}

// excluded reports whether rel (slash-separated, relative to the context)
// is left out of the build context: the last matching rule decides, as in
// Docker.
func excluded(rules []ignoreRule, rel string) bool {
	out := false
	for _, r := range rules {
		match := false
		switch {
		case r.pattern == "*":
			match = true
		case strings.HasPrefix(r.pattern, "**/"):
			name := strings.TrimPrefix(r.pattern, "**/")
			for _, part := range strings.Split(rel, "/") {
				if ok, _ := filepath.Match(name, part); ok {
					match = true
				}
			}
		default:
			match = rel == r.pattern || strings.HasPrefix(rel, r.pattern+"/")
		}
		if match {
			out = !r.negate
		}
	}
	return out
}

func checkDockerignore(t *testing.T, root string) {
	b, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var rules []ignoreRule
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		neg := strings.HasPrefix(line, "!")
		p := strings.TrimSuffix(strings.TrimPrefix(line, "!"), "/")
		if p != "*" && !strings.HasPrefix(p, "**/") && strings.ContainsAny(p, "*?[") {
			t.Fatalf(".dockerignore line %q is outside the subset this test understands: extend excluded()", line)
		}
		rules = append(rules, ignoreRule{neg, p})
	}
	// Every Go file and embedded file of the binary's packages in this
	// module, the module files and the build script must reach the context.
	list := exec.CommandContext(t.Context(), "go", "list", "-deps",
		"-f", `{{if .Module}}{{if .Module.Main}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}
{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}
{{end}}{{end}}{{end}}`, "./cmd/intelliauth")
	list.Dir = root
	out, err := list.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	need := []string{"go.mod", "go.sum", "scripts/build.sh"}
	for _, f := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(root, f)
		if err != nil {
			t.Fatal(err)
		}
		need = append(need, filepath.ToSlash(rel))
	}
	if len(need) < 50 {
		t.Fatalf("go list found only %d files to build", len(need))
	}
	for _, f := range need {
		if excluded(rules, f) {
			t.Errorf(".dockerignore leaves out %s, which the build needs", f)
		}
	}
	for _, f := range []string{".git/HEAD", ".env", "data/master.key", "data/intelliauth.db", "docs/console.md", "cmd/intelliauth/main_test.go"} {
		if !excluded(rules, f) {
			t.Errorf(".dockerignore lets %s into the build context", f)
		}
	}
}

func checkStaticBinary(t *testing.T, bin string) {
	if runtime.GOOS == "linux" {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Error("the binary has an ELF interpreter: it is dynamically linked, and would not run on distroless/static or scratch")
			}
		}
		f.Close()
	}
	// An empty working directory and an environment of nothing but a home:
	// nothing from the checkout, the Go toolchain or the developer's shell.
	empty := t.TempDir()
	env := []string{"HOME=" + empty}
	run := func(args ...string) (int, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir, cmd.Env = empty, env
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("%s: %v", strings.Join(args, " "), err)
		}
		return cmd.ProcessState.ExitCode(), string(out)
	}

	code, out := run("version")
	if code != 0 {
		t.Fatalf("version: exit %d\n%s", code, out)
	}
	for _, want := range []string{"intelliauth " + pkgVersion, "commit  " + pkgCommit, "date    " + pkgDate, runtime.Version()} {
		if !strings.Contains(out, want) {
			t.Errorf("version does not print %q (the -ldflags -X stamp):\n%s", want, out)
		}
	}
	if code, out2 := run("--version"); code != 0 || out2 != out {
		t.Errorf("--version: exit %d, output %q; want the same as version", code, out2)
	}

	// serve --demo from the empty directory, probed by the binary's own
	// health check as the container's HEALTHCHECK does.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ready := "http://" + addr + "/readyz"
	var stdout, stderr bytes.Buffer
	srv := exec.Command(bin, "serve", "--demo", "--addr", addr)
	srv.Dir, srv.Env, srv.Stdout, srv.Stderr = empty, env, &stdout, &stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	defer func() {
		if srv.ProcessState == nil {
			_ = srv.Process.Kill()
			<-exited
		}
	}()
	deadline := time.Now().Add(40 * time.Second)
	for {
		code, out := run("healthcheck", "--url", ready, "--timeout", "2s")
		if code == 0 {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("serve --demo exited (%v) before it was ready\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthcheck still fails after 40s: exit %d: %s\nserve stderr:\n%s", code, out, &stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	resp, err := http.Get(ready)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /readyz: %d after healthcheck said ready", resp.StatusCode)
	}
	// The demo's relative data directory landed in the empty directory.
	for _, f := range []string{"data/intelliauth.db", "data/master.key", "data/demo.json"} {
		if _, err := os.Stat(filepath.Join(empty, f)); err != nil {
			t.Errorf("serve --demo from an empty directory: %v", err)
		}
	}

	// SIGTERM: a graceful stop, exit 0; then the health check says not ready.
	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("serve after SIGTERM: %v\n%s", err, &stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop within 20s of SIGTERM")
	}
	if code, out := run("healthcheck", "--url", ready, "--timeout", "2s"); code != 1 || !strings.Contains(out, "not ready") {
		t.Errorf("healthcheck of a stopped node: exit %d, %q; want 1 and 'not ready'", code, out)
	}
}

// hardening lists settings of the unit that must stay as they are: who the
// service runs as, what it may write, what it may not do, and how the
// master key reaches it. A key may appear twice (SystemCallFilter).
var hardening = [][2]string{
	{"DynamicUser", "yes"},
	{"StateDirectory", "intelliauth"},
	{"ProtectSystem", "strict"},
	{"ProtectHome", "yes"},
	{"PrivateTmp", "yes"},
	{"PrivateDevices", "yes"},
	{"NoNewPrivileges", "yes"},
	{"CapabilityBoundingSet", ""},
	{"RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"},
	{"SystemCallFilter", "@system-service"},
	{"SystemCallArchitectures", "native"},
	{"MemoryDenyWriteExecute", "yes"},
	{"RestrictSUIDSGID", "yes"},
	{"ProtectKernelTunables", "yes"},
	{"ProtectKernelModules", "yes"},
	{"ProtectControlGroups", "yes"},
	{"LockPersonality", "yes"},
	{"UMask", "0077"},
	{"LoadCredential", "master.key:/etc/intelliauth/master.key"},
	{"ExecStart", "/usr/local/bin/intelliauth serve"},
	{"EnvironmentFile", "/etc/intelliauth/intelliauth.env"},
	{"Environment", "INTELLIAUTH_MASTER_KEY_FILE=%d/master.key"},
	{"KillSignal", "SIGTERM"},
	{"RestrictNamespaces", "yes"},
	{"ProtectKernelLogs", "yes"},
	{"ProtectClock", "yes"},
	{"RestrictRealtime", "yes"},
	{"SystemCallErrorNumber", "EPERM"},
	{"StateDirectoryMode", "0700"},
	{"AmbientCapabilities", ""},
	{"PrivateUsers", "yes"},
	{"ProtectHostname", "yes"},
	{"ProtectProc", "invisible"},
	{"RemoveIPC", "yes"},
	{"PrivateMounts", "yes"},
	{"DevicePolicy", "closed"},
	{"ProcSubset", "pid"},
	{"Type", "exec"},
	{"Restart", "on-failure"},
	{"Environment", "INTELLIAUTH_DATA_DIR=%S/intelliauth"},
	{"SystemCallFilter", "~@privileged"},
}

func checkSystemdUnit(t *testing.T, root, bin string) {
	path := filepath.Join(root, "packaging", "intelliauth.service")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	settings := map[string][]string{}
	for _, line := range strings.Split(unit, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && !strings.HasPrefix(line, "#") {
			settings[k] = append(settings[k], v)
		}
	}
	for _, kv := range hardening {
		if !slices.Contains(settings[kv[0]], kv[1]) {
			t.Errorf("the unit lacks %s=%s (has %q)", kv[0], kv[1], settings[kv[0]])
		}
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the unit's settings were checked, not verified by systemd")
	}
	// verify checks that ExecStart's binary exists: point it at the one
	// just built, in a copy of the unit (same name, so the same unit type).
	const execPath = "/usr/local/bin/intelliauth"
	if !strings.Contains(unit, "ExecStart="+execPath+" ") {
		t.Fatalf("the unit's ExecStart is not %s", execPath)
	}
	cp := filepath.Join(t.TempDir(), "intelliauth.service")
	if err := os.WriteFile(cp, []byte(strings.ReplaceAll(unit, "ExecStart="+execPath, "ExecStart="+bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	// verify prints unknown keys and unparsable values as warnings and
	// still exits 0: any output is a failure.
	out, err := exec.CommandContext(t.Context(), analyze, "verify", "--man=no", cp).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The offline security review scores the exposure from 0 (locked
	// down) to 10; 2.0 and under is systemd's "OK" band.
	out, err = exec.CommandContext(t.Context(), analyze, "security", "--offline=true", "--no-pager", "--threshold=20", cp).CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Skipf("systemd-analyze security --offline is not supported here: %v", err)
		}
		t.Errorf("systemd-analyze security: the unit's exposure is over 2.0: %v\n%s", err, out)
	}
}

func checkCompose(t *testing.T, root string) {
	b, err := os.ReadFile(filepath.Join(root, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Services map[string]struct {
			Build       any               `yaml:"build"`
			Image       string            `yaml:"image"`
			Environment map[string]string `yaml:"environment"`
			Ports       []string          `yaml:"ports"`
			DependsOn   map[string]struct {
				Condition string `yaml:"condition"`
			} `yaml:"depends_on"`
			Healthcheck map[string]any `yaml:"healthcheck"`
			ReadOnly    bool           `yaml:"read_only"`
			CapDrop     []string       `yaml:"cap_drop"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &file); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	db, ok := file.Services["postgres"]
	if !ok || !strings.HasPrefix(db.Image, "postgres:") || db.Healthcheck == nil {
		t.Fatalf("compose.yaml needs a postgres service from a postgres image with a health check; got %+v", db)
	}
	var nodes []string
	var dsn, key, public string
	for name, s := range file.Services {
		if name == "postgres" {
			continue
		}
		if s.Build != "." {
			t.Errorf("service %s is neither PostgreSQL nor a node built from this Dockerfile: nothing else belongs in front of the nodes", name)
			continue
		}
		nodes = append(nodes, name)
		e := s.Environment
		// ${VAR} is filled in by compose from .env: parse with a stand-in.
		u, err := url.Parse(regexp.MustCompile(`\$\{[^}]*\}`).ReplaceAllString(e["INTELLIAUTH_DATABASE"], "secret"))
		if err != nil || u.Scheme != "postgres" || u.Hostname() != "postgres" {
			t.Errorf("node %s: INTELLIAUTH_DATABASE %q does not point at the postgres service", name, e["INTELLIAUTH_DATABASE"])
		}
		if dsn == "" {
			dsn, key, public = e["INTELLIAUTH_DATABASE"], e["INTELLIAUTH_MASTER_KEY"], e["INTELLIAUTH_PUBLIC_URL"]
		} else if e["INTELLIAUTH_DATABASE"] != dsn || e["INTELLIAUTH_MASTER_KEY"] != key || e["INTELLIAUTH_PUBLIC_URL"] != public {
			t.Errorf("node %s does not share the database, master key and public URL of the others", name)
		}
		if !strings.HasPrefix(key, "${") {
			t.Errorf("node %s: the master key %q is not taken from the environment or .env: a key in the file would be committed", name, key)
		}
		if public == "" {
			t.Errorf("node %s has no INTELLIAUTH_PUBLIC_URL: a node listening on every interface needs one", name)
		}
		if s.DependsOn["postgres"].Condition != "service_healthy" {
			t.Errorf("node %s does not wait for a healthy postgres", name)
		}
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("node %s publishes %s beyond loopback", name, p)
			}
		}
		if !s.ReadOnly || !slices.Contains(s.CapDrop, "ALL") {
			t.Errorf("node %s: want read_only and cap_drop ALL", name)
		}
	}
	if len(nodes) != 2 {
		t.Errorf("compose.yaml has nodes %v, want two", nodes)
	}
	if strings.Contains(string(b), "POSTGRES_PASSWORD: ") && !strings.Contains(string(b), "POSTGRES_PASSWORD: \"${") {
		t.Error("the PostgreSQL password is written in compose.yaml, not taken from .env")
	}
}

func checkRelease(t *testing.T, root, sh string) {
	script, err := os.ReadFile(filepath.Join(root, "scripts", "release.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64", "windows/arm64"} {
		if !strings.Contains(string(script), target) {
			t.Errorf("scripts/release.sh does not build %s by default", target)
		}
	}
	// One target, this machine's, so the build cache of the binary above
	// serves it.
	dist := t.TempDir()
	target := runtime.GOOS + "/" + runtime.GOARCH
	runScript(t, root, sh, []string{"RELEASE_TARGETS=" + target, "DIST=" + dist, "VERSION=v9.8.7", "COMMIT=" + pkgCommit, "DATE=" + pkgDate}, "scripts/release.sh")
	name := fmt.Sprintf("intelliauth_v9.8.7_%s_%s", runtime.GOOS, runtime.GOARCH)
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(string(sums)); len(f) != 2 || len(f[0]) != 64 || f[1] != name {
		t.Fatalf("SHA256SUMS = %q, want one line: the SHA-256 of %s and its name", sums, name)
	}
	if sha, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.CommandContext(t.Context(), sha, "-c", "SHA256SUMS")
		cmd.Dir = dist
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c SHA256SUMS: %v\n%s", err, out)
		}
	}
	out, err := exec.CommandContext(t.Context(), filepath.Join(dist, name), "version").Output()
	if err != nil || !strings.Contains(string(out), "intelliauth v9.8.7\n") {
		t.Errorf("%s version: %v\n%s", name, err, out)
	}
}

// dockerBuild builds the image when a Docker daemon answers here and
// INTELLIAUTH_TEST_DOCKER=1 asks for it (it pulls golang and distroless
// images: minutes, and a registry this machine may not reach), then checks
// the image's version and health check.
func dockerBuild(t *testing.T, root string) {
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("no docker command: the image is not built here (the Dockerfile was checked statically)")
	}
	if out, err := exec.CommandContext(t.Context(), docker, "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("no Docker daemon answers here, so the image cannot be built (the Dockerfile was checked statically): %s", bytes.TrimSpace(out))
	}
	if os.Getenv("INTELLIAUTH_TEST_DOCKER") != "1" {
		t.Skip("set INTELLIAUTH_TEST_DOCKER=1 to build the image (pulls base images; minutes)")
	}
	tag := "intelliauth:packaging-test"
	build := exec.CommandContext(t.Context(), docker, "build", "-t", tag, "--build-arg", "VERSION="+pkgVersion, "--build-arg", "COMMIT="+pkgCommit, root)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	out, err := exec.CommandContext(t.Context(), docker, "run", "--rm", tag, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "intelliauth "+pkgVersion) {
		t.Errorf("docker run %s version: %v\n%s", tag, err, out)
	}
}
