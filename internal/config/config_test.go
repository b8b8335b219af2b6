package config

import (
	"errors"
	"flag"
	"io"
	"net/netip"
	"strings"
	"testing"
)

const goodKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // 32 bytes

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c := Defaults()
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "./data" || c.LogFormat != "json" || c.LogLevel != "info" {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	if c.MaxPendingPerClient != DefaultMaxPendingPerClient || c.MaxPendingPerPeer != DefaultMaxPendingPerPeer || c.MaxPendingPerPeer < 1 {
		t.Fatalf("issue 9 defect 10: unfinished authorization requests must be bounded by default: %+v", c)
	}
	if c.Postgres() {
		t.Fatal("default database must be SQLite")
	}
	if got := c.SQLitePath(); got != "data/intelliauth.db" {
		t.Fatalf("SQLitePath = %q", got)
	}
	u, err := c.ResolvedPublicURL()
	if err != nil || u != "http://localhost:8080" {
		t.Fatalf("ResolvedPublicURL = %q, %v", u, err)
	}
	c.Demo = true
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults with --demo must be valid: %v", err)
	}
}

func TestEnvThenFlags(t *testing.T) {
	c := Defaults()
	err := c.ApplyEnv(env(map[string]string{
		EnvAddr:                "127.0.0.1:9000",
		EnvDatabase:            "postgres://u:pw@db/x",
		EnvMasterKey:           goodKey,
		EnvTrustedProxies:      "10.0.0.0/8, 192.168.1.1",
		EnvAllowInsecureIssuer: "true",
		EnvLogLevel:            "",
		EnvMaxPendingPerPeer:   "50",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" || !c.Postgres() || !c.AllowInsecureIssuer || c.LogLevel != "info" || c.MaxPendingPerPeer != 50 {
		t.Fatalf("env not applied: %+v", c)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.1/32")}
	if len(c.TrustedProxies) != 2 || c.TrustedProxies[0] != want[0] || c.TrustedProxies[1] != want[1] {
		t.Fatalf("trusted proxies = %v", c.TrustedProxies)
	}

	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.ServeFlags(fs)
	if err := fs.Parse([]string{"--addr", "127.0.0.1:7000", "--trusted-proxy", "172.16.0.0/12", "--trusted-proxy", "::1", "--max-pending-per-client", "300"}); err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:7000" || c.MaxPendingPerClient != 300 || c.MaxPendingPerPeer != 50 {
		t.Fatalf("flag did not override env: %+v", c)
	}
	if len(c.TrustedProxies) != 2 || c.TrustedProxies[0] != netip.MustParsePrefix("172.16.0.0/12") || c.TrustedProxies[1] != netip.MustParsePrefix("::1/128") {
		t.Fatalf("--trusted-proxy must replace the env list: %v", c.TrustedProxies)
	}
	if c.Database != "postgres://u:pw@db/x" {
		t.Fatal("unset flag must keep the env value")
	}
	if strings.Contains(c.String(), "pw") || strings.Contains(c.String(), goodKey) {
		t.Fatalf("String leaks a secret: %s", c)
	}
}

func TestApplyEnvReportsEveryProblem(t *testing.T) {
	c := Defaults()
	err := c.ApplyEnv(env(map[string]string{
		EnvDemo:              "maybe",
		EnvTrustedProxies:    "10.0.0.0/33,not-an-ip",
		EnvMaxPendingPerPeer: "lots",
	}))
	var ce *Error
	if !errors.As(err, &ce) || len(ce.Problems) != 4 {
		t.Fatalf("want 4 problems, got %v", err)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*Config)
		wants []string // substrings, one per expected problem
	}{
		{"good production config", func(c *Config) {
			c.MasterKey = goodKey
			c.PublicURL = "https://auth.example.com"
			c.Addr = "0.0.0.0:443"
			c.TLSCert, c.TLSKey = "c.pem", "k.pem"
		}, nil},
		{"missing master key says how to make one", func(c *Config) {}, []string{"intelliauth keys master"}},
		{"malformed master key is not echoed", func(c *Config) { c.MasterKey = "c2VjcmV0" }, []string{"decodes to 6 bytes"}},
		{"key and key file both set", func(c *Config) { c.MasterKey, c.MasterKeyFile = goodKey, "/k" }, []string{"not both"}},
		{"http issuer off loopback refused", func(c *Config) {
			c.MasterKey = goodKey
			c.PublicURL = "http://auth.example.com"
		}, []string{"http:// off loopback"}},
		{"http issuer off loopback allowed explicitly", func(c *Config) {
			c.MasterKey = goodKey
			c.PublicURL = "http://auth.internal"
			c.AllowInsecureIssuer = true
		}, nil},
		{"http loopback issuer is fine", func(c *Config) {
			c.MasterKey = goodKey
			c.PublicURL = "http://127.0.0.1:8080"
		}, nil},
		{"every problem at once", func(c *Config) {
			c.Addr = "nonsense"
			c.PublicURL = "ftp://x"
			c.TLSCert = "c.pem"
			c.LogLevel = "loud"
			c.LogFormat = "xml"
			c.Database = "mysql://x"
		}, []string{"host:port", "absolute http(s) URL", "both --tls-cert and --tls-key", "log level", "log format", "only postgres://", "no master key"}},
		{"debug listener only on loopback", func(c *Config) {
			c.MasterKey = goodKey
			c.DebugAddr = "0.0.0.0:6060"
		}, []string{"debug addr"}},
		{"wildcard addr needs a public URL", func(c *Config) {
			c.MasterKey = goodKey
			c.Addr = ":8080"
		}, []string{"every interface"}},
		{"issue 9 defect 10: unfinished authorization requests stay bounded", func(c *Config) {
			c.MasterKey = goodKey
			c.MaxPendingPerClient, c.MaxPendingPerPeer = 0, -1
		}, []string{"max pending per client 0 must be at least 1", "max pending per peer -1 must be at least 1"}},
		{"non-loopback addr needs a public URL", func(c *Config) {
			c.MasterKey = goodKey
			c.Addr = "10.1.2.3:8080"
		}, []string{"not loopback"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			tc.edit(&c)
			err := c.Validate()
			if len(tc.wants) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("want *Error, got %v", err)
			}
			if len(ce.Problems) != len(tc.wants) {
				t.Fatalf("want %d problems, got %d: %v", len(tc.wants), len(ce.Problems), err)
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "c2VjcmV0") {
				t.Error("error echoes the master key")
			}
		})
	}
}

func TestResolvedPublicURL(t *testing.T) {
	cases := []struct {
		addr, public, cert, want string
		wantErr                  bool
	}{
		{addr: "127.0.0.1:8080", want: "http://localhost:8080"},
		{addr: "[::1]:9000", want: "http://localhost:9000"},
		{addr: "localhost:1", cert: "c", want: "https://localhost:1"},
		{addr: "0.0.0.0:80", public: "https://a.example/", want: "https://a.example"},
		{addr: "0.0.0.0:80", wantErr: true},
	}
	for _, tc := range cases {
		c := Defaults()
		c.Addr, c.PublicURL, c.TLSCert = tc.addr, tc.public, tc.cert
		got, err := c.ResolvedPublicURL()
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("%s %s: got %q, %v; want %q", tc.addr, tc.public, got, err, tc.want)
		}
	}
}

func TestIsLoopbackHost(t *testing.T) {
	for h, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "app.localhost": true, "127.0.0.1": true, "127.9.9.9": true,
		"::1": true, "[::1]": true, "::ffff:127.0.0.1": true,
		"example.com": false, "10.0.0.1": false, "0.0.0.0": false, "": false, "localhost.example.com": false,
	} {
		if got := IsLoopbackHost(h); got != want {
			t.Errorf("IsLoopbackHost(%q) = %v", h, got)
		}
	}
}

func TestSQLitePathAndDatabaseKinds(t *testing.T) {
	c := Defaults()
	c.DataDir = "/var/lib/ia"
	if c.SQLitePath() != "/var/lib/ia/intelliauth.db" {
		t.Fatal(c.SQLitePath())
	}
	c.Database = "/tmp/x.db"
	if c.Postgres() || c.SQLitePath() != "/tmp/x.db" {
		t.Fatal("file path database")
	}
	c.Database = "postgresql://h/db"
	if !c.Postgres() {
		t.Fatal("postgresql:// is PostgreSQL")
	}
}

// TestAccessLogSetting: the access log is off by default, switched on by
// INTELLIAUTH_ACCESS_LOG, and --access-log=false overrides the environment.
func TestAccessLogSetting(t *testing.T) {
	c := Defaults()
	if c.AccessLog {
		t.Fatal("the access log is on by default; README says off")
	}
	if err := c.ApplyEnv(env(map[string]string{EnvAccessLog: "true"})); err != nil || !c.AccessLog {
		t.Fatalf("%s=true: AccessLog %v, err %v", EnvAccessLog, c.AccessLog, err)
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.ServeFlags(fs)
	if err := fs.Parse([]string{"--access-log=false"}); err != nil || c.AccessLog {
		t.Fatalf("--access-log=false: AccessLog %v, err %v", c.AccessLog, err)
	}
	if err := c.ApplyEnv(env(map[string]string{EnvAccessLog: "loud"})); err == nil {
		t.Error("a non-boolean INTELLIAUTH_ACCESS_LOG is accepted")
	}
}

// TestObservabilitySettings: the client label cap has a default and is
// bounded below; tracing is off by default, on from the flag, our variable
// or the standard OTEL_* ones (ours first, then the traces-specific one),
// and a malformed endpoint is a configuration problem that names the flag.
func TestObservabilitySettings(t *testing.T) {
	c := Defaults()
	if c.MetricsMaxClients != DefaultMetricsMaxClients || c.OTLPEndpoint != "" {
		t.Fatalf("defaults: metrics max clients %d, OTLP endpoint %q", c.MetricsMaxClients, c.OTLPEndpoint)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"none: off", nil, ""},
		{"standard base endpoint", map[string]string{EnvOTELEndpoint: "http://otel:4318"}, "http://otel:4318"},
		{"traces endpoint wins over the base one", map[string]string{EnvOTELEndpoint: "http://a:4318", EnvOTELTracesEndpoint: "http://b:4318/v1/traces"}, "http://b:4318/v1/traces"},
		{"ours wins over both", map[string]string{EnvOTELEndpoint: "http://a:4318", EnvOTELTracesEndpoint: "http://b:4318", EnvOTLPEndpoint: "http://c:4318"}, "http://c:4318"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			if err := c.ApplyEnv(env(tc.env)); err != nil {
				t.Fatal(err)
			}
			if c.OTLPEndpoint != tc.want {
				t.Errorf("OTLPEndpoint = %q, want %q", c.OTLPEndpoint, tc.want)
			}
		})
	}

	c = Defaults()
	c.Demo = true
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c.ServeFlags(fs)
	if err := fs.Parse([]string{"--otlp-endpoint", "collector:4318", "--metrics-max-clients", "0"}); err != nil {
		t.Fatal(err)
	}
	err := c.Validate()
	if err == nil {
		t.Fatal("an endpoint without scheme and a cap of 0 were accepted")
	}
	for _, want := range []string{"--otlp-endpoint", "--metrics-max-clients"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems do not name %s: %v", want, err)
		}
	}
	c.OTLPEndpoint, c.MetricsMaxClients = "https://user:pw@collector:4318", 5
	if err := c.Validate(); err != nil {
		t.Fatalf("valid settings refused: %v", err)
	}
	if s := c.String(); strings.Contains(s, "pw") || !strings.Contains(s, "metrics_max_clients=5") {
		t.Errorf("String() = %q: must show the cap and hide the endpoint's password", s)
	}
}
