package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// The start-up errors an operator meets first, each checked by running the
// real binary: the message names the cause and the flag that fixes it, in
// one sentence, not as a chain of errors.

// buildBinary builds intelliauth into a directory of the test's.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	if runtime.GOOS == "windows" {
		t.Skip("signals and file modes are POSIX here")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "intelliauth")
	if out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// syncBuffer is a bytes.Buffer a process writes to while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is one run of the binary.
type proc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
	code   int
}

// cleanEnv is the test process's environment without INTELLIAUTH_*
// settings (the developer's own must not leak into the binary), plus env.
func cleanEnv(env ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "INTELLIAUTH_") {
			out = append(out, kv)
		}
	}
	return append(out, env...)
}

// start runs the binary with args; the test kills it at its end at the
// latest.
func start(t *testing.T, bin string, env []string, setup func(*exec.Cmd), args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = cleanEnv(env...)
	p.cmd.Stderr = p.stderr
	if setup != nil {
		setup(p.cmd)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		err := p.cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			p.code = ee.ExitCode()
		default:
			p.code = -2
		}
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait returns the exit code and stderr once the process ended.
func (p *proc) wait(t *testing.T) (int, string) {
	t.Helper()
	select {
	case <-p.done:
		return p.code, p.stderr.String()
	case <-time.After(60 * time.Second):
		t.Fatalf("%v did not end; stderr:\n%s", p.cmd.Args, p.stderr.String())
		return 0, ""
	}
}

// runBinary runs the binary to its end.
func runBinary(t *testing.T, bin string, env []string, setup func(*exec.Cmd), args ...string) (int, string) {
	t.Helper()
	return start(t, bin, env, setup, args...).wait(t)
}

// freeAddr is a loopback address nothing listens on (for a moment).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// waitReady polls /readyz until it answers 200, or fails the test when the
// process ends first.
func waitReady(t *testing.T, p *proc, addr string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.done:
			t.Fatalf("%v exited with %d before it was ready:\n%s", p.cmd.Args, p.code, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v not ready in time:\n%s", p.cmd.Args, p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mentions checks that stderr says each of want and none of never.
func mentions(t *testing.T, stderr string, want []string, never ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
	for _, n := range never {
		if strings.Contains(stderr, n) {
			t.Errorf("stderr says %q:\n%s", n, stderr)
		}
	}
}

// lastLine is the last non-empty line of out: the CLI's one-line error
// (the lines before it are the JSON log).
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

func TestStartupErrorsRealBinary(t *testing.T) {
	bin := buildBinary(t)
	keyEnv := "INTELLIAUTH_MASTER_KEY=" + testKey

	t.Run("port in use names the address and --addr", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		addr := ln.Addr().String()
		code, stderr := runBinary(t, bin, []string{keyEnv}, nil, "serve", "--data-dir", t.TempDir(), "--addr", addr)
		if code != 1 {
			t.Fatalf("exit %d, want 1:\n%s", code, stderr)
		}
		mentions(t, lastLine(stderr), []string{"intelliauth serve: " + addr + " is in use", "choose another with --addr"}, "bind:", "listen tcp")
	})

	t.Run("a data directory that cannot be created names it and --data-dir", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "not-a-dir")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(file, "data")
		code, stderr := runBinary(t, bin, []string{keyEnv}, nil, "serve", "--data-dir", dir)
		if code != 1 {
			t.Fatalf("exit %d, want 1:\n%s", code, stderr)
		}
		mentions(t, lastLine(stderr), []string{"the data directory " + dir + " does not exist and cannot be created", "--data-dir"}, "mkdir")
	})

	t.Run("a data directory that is a file says so", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "data")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		code, stderr := runBinary(t, bin, []string{keyEnv}, nil, "serve", "--data-dir", file)
		if code != 1 {
			t.Fatalf("exit %d, want 1:\n%s", code, stderr)
		}
		mentions(t, lastLine(stderr), []string{"the data directory " + file + " is a file, not a directory", "--data-dir"})
	})

	t.Run("a read-only data directory names it and --data-dir", func(t *testing.T) {
		// The binary runs as an unprivileged user when the test is root
		// (root writes anywhere), so it must be able to reach the binary.
		dir := filepath.Join(t.TempDir(), "data")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		setup := func(*exec.Cmd) {}
		if os.Geteuid() == 0 {
			for d := filepath.Dir(bin); d != "/" && d != "."; d = filepath.Dir(d) {
				if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o005 != 0o005 {
					_ = os.Chmod(d, fi.Mode().Perm()|0o005)
				}
			}
			for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
				if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o005 != 0o005 {
					_ = os.Chmod(d, fi.Mode().Perm()|0o005)
				}
			}
			setup = func(c *exec.Cmd) {
				c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
				c.Dir = "/"
			}
		} else if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		code, stderr := runBinary(t, bin, []string{keyEnv}, setup, "serve", "--data-dir", dir)
		if code != 1 {
			t.Fatalf("exit %d, want 1:\n%s", code, stderr)
		}
		mentions(t, lastLine(stderr), []string{"the data directory " + dir + " is not writable by this user", "choose a writable one with --data-dir"}, "permission denied:")
	})

	t.Run("Ctrl-C during start-up is interrupted, exit 130", func(t *testing.T) {
		// A "database" that accepts the connection and never answers holds
		// serve in its start-up until the signal comes.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		accepted := make(chan net.Conn, 1)
		go func() {
			if c, err := ln.Accept(); err == nil {
				accepted <- c
			}
		}()
		dsn := "postgres://intelliauth@" + ln.Addr().String() + "/db?sslmode=disable"
		p := start(t, bin, []string{keyEnv}, nil, "serve", "--database", dsn, "--addr", freeAddr(t))
		select {
		case c := <-accepted:
			defer c.Close()
		case <-p.done:
			t.Fatalf("serve ended before connecting: %d\n%s", p.code, p.stderr.String())
		case <-time.After(30 * time.Second):
			t.Fatalf("serve never connected to the database:\n%s", p.stderr.String())
		}
		if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		code, stderr := p.wait(t)
		if code != 130 {
			t.Fatalf("exit %d, want 130:\n%s", code, stderr)
		}
		if got := lastLine(stderr); got != "intelliauth serve: interrupted" {
			t.Errorf("last line %q, want \"intelliauth serve: interrupted\"", got)
		}
		mentions(t, stderr, nil, "context canceled", "savepoint")
	})
}

// TestWrongMasterKeyRealBinary: a node started with another master key
// than the one its data was sealed with refuses to start and names the
// tenant and the flags; with the right key — found in <data-dir>/master.key
// without --demo or any key flag, the one master-key rule — it starts and
// /readyz says ready. On SQLite and, when INTELLIAUTH_TEST_POSTGRES is set,
// PostgreSQL.
func TestWrongMasterKeyRealBinary(t *testing.T) {
	bin := buildBinary(t)
	run := func(t *testing.T, database []string) {
		data := t.TempDir()
		env := map[string]string{"INTELLIAUTH_DATA_DIR": data, "INTELLIAUTH_MASTER_KEY": testKey}
		if len(database) > 0 {
			env["INTELLIAUTH_DATABASE"] = database[1]
		}
		must(t, env, "tenant", "create", "acme", "--public-url", "http://localhost:9", "--admin-client", "")

		wrong := filepath.Join(t.TempDir(), "wrong.key")
		otherKey := strings.TrimSpace(must(t, nil, "keys", "master"))
		if err := os.WriteFile(wrong, []byte(otherKey+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		args := append([]string{"serve", "--data-dir", data, "--addr", freeAddr(t), "--master-key-file", wrong}, database...)
		code, stderr := runBinary(t, bin, nil, nil, args...)
		if code != 1 {
			t.Fatalf("wrong key: exit %d, want 1:\n%s", code, stderr)
		}
		mentions(t, lastLine(stderr), []string{
			"the master key does not open the signing keys of tenant acme",
			"this is not the key the data was created with",
			"--master-key-file", "INTELLIAUTH_MASTER_KEY",
		}, "cipher", "token:")
		if strings.Contains(stderr, `"msg":"serving"`) {
			t.Errorf("a node with the wrong key said it was serving:\n%s", stderr)
		}

		// The operator commands that seal with the key refuse it too, so a
		// tenant sealed with another key cannot creep in.
		mustFail(t, map[string]string{"INTELLIAUTH_DATA_DIR": data, "INTELLIAUTH_MASTER_KEY": otherKey, "INTELLIAUTH_DATABASE": env["INTELLIAUTH_DATABASE"]}, 1,
			[]string{"tenant", "create", "other", "--public-url", "http://localhost:9", "--admin-client", ""},
			"does not open the signing keys of tenant acme")

		// The right key, from <data-dir>/master.key: no flag, no --demo.
		if err := os.WriteFile(filepath.Join(data, "master.key"), []byte(testKey+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		addr := freeAddr(t)
		args = append([]string{"serve", "--data-dir", data, "--addr", addr}, database...)
		p := start(t, bin, nil, nil, args...)
		waitReady(t, p, addr)
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Status string                     `json:"status"`
			Checks map[string]json.RawMessage `json:"checks"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || body.Status != "ready" || len(body.Checks) != 3 {
			t.Fatalf("/readyz: %v %+v", err, body)
		}
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code, stderr := p.wait(t); code != 0 {
			t.Fatalf("graceful stop: exit %d\n%s", code, stderr)
		}
		if !strings.Contains(p.stderr.String(), "master.key") {
			t.Errorf("the start-up log does not say the key came from master.key:\n%s", p.stderr.String())
		}
	}
	t.Run("sqlite", func(t *testing.T) { run(t, nil) })
	t.Run("postgres", func(t *testing.T) {
		dsn := os.Getenv(servertest.PostgresEnv)
		if dsn == "" {
			t.Skip("set " + servertest.PostgresEnv + " to run against PostgreSQL")
		}
		run(t, []string{"--database", servertest.PostgresSchema(t, dsn)})
	})
}

// selfSignedCert writes a certificate for localhost and 127.0.0.1, signed
// by itself (a private CA, as far as any machine's trust store knows), and
// its key, as PEM files; it returns their paths.
func selfSignedCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "intelliauth test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestUntrustedServerCertificateRealBinary: a management command against a
// server whose certificate this machine does not trust says so and how to
// trust it (--ca-file, SSL_CERT_FILE), instead of an x509 error chain; with
// --ca-file (or INTELLIAUTH_CA_FILE) naming the CA it works.
func TestUntrustedServerCertificateRealBinary(t *testing.T) {
	bin := buildBinary(t)
	cert, key := selfSignedCert(t)
	n := startAPINodeWith(t, func(addr string) string { return "https://localhost:" + addr[strings.LastIndexByte(addr, ':')+1:] },
		"--tls-cert", cert, "--tls-key", key)
	var env []string
	for k, v := range n.API {
		env = append(env, k+"="+v)
	}
	// SSL_CERT_FILE must not already trust the test's CA.
	env = append(env, "SSL_CERT_FILE=/nonexistent", "SSL_CERT_DIR=/nonexistent")

	code, stderr := runBinary(t, bin, env, nil, "scope", "list")
	if code != 1 {
		t.Fatalf("untrusted: exit %d, want 1:\n%s", code, stderr)
	}
	mentions(t, lastLine(stderr), []string{"intelliauth scope: the server's certificate is not trusted by this machine", "--ca-file", "SSL_CERT_FILE"}, "x509", "tls:")

	for name, extra := range map[string][]string{
		"--ca-file":           {"--ca-file", cert},
		"INTELLIAUTH_CA_FILE": nil,
	} {
		t.Run(name, func(t *testing.T) {
			e := env
			if extra == nil {
				e = append(append([]string(nil), env...), "INTELLIAUTH_CA_FILE="+cert)
			}
			code, stderr := runBinary(t, bin, e, nil, append([]string{"scope", "list"}, extra...)...)
			if code != 0 {
				t.Fatalf("with the CA: exit %d:\n%s", code, stderr)
			}
		})
	}
	code, stderr = runBinary(t, bin, env, nil, "scope", "list", "--ca-file", key)
	if code != 1 || !strings.Contains(stderr, "holds no PEM certificate") {
		t.Errorf("--ca-file naming a key: exit %d\n%s", code, stderr)
	}
}

// TestOperatorRefusalsSayTheirSentence: the operator commands call
// internal/admin directly; a refusal prints the use-case's sentence
// (admin.Describe), never the storage chain under it.
func TestOperatorRefusalsSayTheirSentence(t *testing.T) {
	env := map[string]string{"INTELLIAUTH_DATA_DIR": t.TempDir(), "INTELLIAUTH_MASTER_KEY": testKey}
	must(t, env, "tenant", "create", "acme", "--public-url", "http://localhost:9", "--admin-client", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tenant", "create", "acme", "--public-url", "http://localhost:9", "--admin-client", ""}, `intelliauth tenant: a tenant with ID "acme" already exists` + "\n"},
		{[]string{"keys", "rotate", "--tenant", "nope"}, `intelliauth keys: tenant "nope" was not found` + "\n"},
	} {
		errOut := mustFail(t, env, 1, tc.args)
		if errOut != tc.want {
			t.Errorf("intelliauth %s:\n got %q\nwant %q", strings.Join(tc.args, " "), errOut, tc.want)
		}
	}
}
