package config

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/intelliauth/intelliauth/internal/token"
)

// Config is the whole configuration of an intelliauth process. Zero values of
// optional fields mean "not set"; Defaults gives the starting point.
type Config struct {
	// Addr is the listen address of serve.
	Addr string
	// DataDir holds the embedded database, the demo master key and demo.json.
	DataDir string
	// Database is empty for the embedded SQLite database at
	// <DataDir>/intelliauth.db, or a postgres:// (postgresql://) URL.
	Database string
	// PublicURL is the externally visible base URL; tenant issuers are
	// PublicURL/t/{tenant}. Empty derives it from Addr when Addr is loopback.
	PublicURL string
	// MasterKey is the base64 32-byte key that seals signing keys at rest.
	// It is a secret: never log it (String redacts it).
	MasterKey string
	// MasterKeyFile is a file holding the master key, an alternative to
	// MasterKey for secret managers that mount files. With neither set,
	// cmd/intelliauth uses <DataDir>/master.key when it exists, and serve
	// --demo creates it when it does not (the one rule is its
	// resolveMasterKey).
	MasterKeyFile string
	// TLSCert and TLSKey are PEM files; both or neither.
	TLSCert string
	TLSKey  string
	// TrustedProxies are the peers whose X-Forwarded-* headers are believed.
	TrustedProxies []netip.Prefix
	// AllowInsecureIssuer permits an http:// public URL off loopback (for a
	// TLS-terminating proxy on a private network; never on the internet).
	AllowInsecureIssuer bool
	// Demo seeds the demo tenant and generates a master key when none is set.
	Demo bool
	// DebugAddr, when set, serves net/http/pprof on this separate, loopback-
	// only address (for CPU profiles under load); empty disables it.
	DebugAddr string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// LogFormat is json or text.
	LogFormat string
	// MaxPendingPerClient and MaxPendingPerPeer bound the unfinished
	// authorization requests (nobody signed in for them yet; each is
	// stored for ten minutes) of one application, and of one client
	// address (an IPv6 client's /64), per tenant. Past either the
	// authorization endpoint answers temporarily_unavailable, so nobody
	// can fill the database with requests they never finish. Both at
	// least 1.
	MaxPendingPerClient int
	MaxPendingPerPeer   int
	// AccessLog writes one line per request (method, path without the
	// query, status, duration, bytes, tenant, peer, request_id) at Info.
	// Off by default: most deployments sit behind a proxy that already logs
	// requests, and the line costs a few percent of token throughput.
	AccessLog bool
	// MetricsMaxClients bounds the distinct client_id label values of the
	// token metrics per tenant (/metrics); clients past it are counted
	// under "other", so a tenant with thousands of clients cannot blow up
	// the scrape. At least 1.
	MetricsMaxClients int
	// OTLPEndpoint, when set, exports OpenTelemetry traces over OTLP/HTTP
	// to this collector URL (e.g. http://localhost:4318); empty disables
	// tracing. OTEL_EXPORTER_OTLP_ENDPOINT and
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, the standard variables, set it
	// too (EnvOTLPEndpoint wins).
	OTLPEndpoint string
}

// Defaults of the bounds on unfinished authorization requests: enough for
// a busy application's sign-in pages, and for many people behind one NAT
// starting to sign in within ten minutes; a row is at most a few KiB.
const (
	DefaultMaxPendingPerClient = 10000
	DefaultMaxPendingPerPeer   = 200
	// DefaultMetricsMaxClients keeps a tenant's token series to a few
	// thousand (× grant types and reasons) while naming every client of
	// most tenants.
	DefaultMetricsMaxClients = 100
)

// Defaults returns the configuration before environment and flags.
func Defaults() Config {
	return Config{
		Addr:      "127.0.0.1:8080",
		DataDir:   "./data",
		LogLevel:  "info",
		LogFormat: "json",

		MaxPendingPerClient: DefaultMaxPendingPerClient,
		MaxPendingPerPeer:   DefaultMaxPendingPerPeer,
		MetricsMaxClients:   DefaultMetricsMaxClients,
	}
}

// Environment variable names. Each field has exactly one.
const (
	EnvAddr                = "INTELLIAUTH_ADDR"
	EnvDataDir             = "INTELLIAUTH_DATA_DIR"
	EnvDatabase            = "INTELLIAUTH_DATABASE"
	EnvPublicURL           = "INTELLIAUTH_PUBLIC_URL"
	EnvMasterKey           = "INTELLIAUTH_MASTER_KEY"
	EnvMasterKeyFile       = "INTELLIAUTH_MASTER_KEY_FILE"
	EnvTLSCert             = "INTELLIAUTH_TLS_CERT"
	EnvTLSKey              = "INTELLIAUTH_TLS_KEY"
	EnvTrustedProxies      = "INTELLIAUTH_TRUSTED_PROXIES"
	EnvAllowInsecureIssuer = "INTELLIAUTH_ALLOW_INSECURE_ISSUER"
	EnvDemo                = "INTELLIAUTH_DEMO"
	EnvDebugAddr           = "INTELLIAUTH_DEBUG_ADDR"
	EnvLogLevel            = "INTELLIAUTH_LOG_LEVEL"
	EnvLogFormat           = "INTELLIAUTH_LOG_FORMAT"
	EnvMaxPendingPerClient = "INTELLIAUTH_MAX_PENDING_PER_CLIENT"
	EnvMaxPendingPerPeer   = "INTELLIAUTH_MAX_PENDING_PER_PEER"
	EnvAccessLog           = "INTELLIAUTH_ACCESS_LOG"
	EnvMetricsMaxClients   = "INTELLIAUTH_METRICS_MAX_CLIENTS"
	EnvOTLPEndpoint        = "INTELLIAUTH_OTLP_ENDPOINT"
	// EnvOTELEndpoint and EnvOTELTracesEndpoint are the OpenTelemetry
	// standard variables, read when EnvOTLPEndpoint is not set (the traces
	// one first).
	EnvOTELEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvOTELTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
)

// Error lists every configuration problem found.
type Error struct{ Problems []string }

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "configuration: " + e.Problems[0]
	}
	return "configuration has " + strconv.Itoa(len(e.Problems)) + " problems:\n  - " + strings.Join(e.Problems, "\n  - ")
}

type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &Error{Problems: p}
}

// ApplyEnv sets the fields whose environment variable lookup finds. It
// reports every malformed value at once; a value that is set but empty is
// ignored, as if unset.
func (c *Config) ApplyEnv(lookup func(string) (string, bool)) error {
	var errs problems
	str := func(name string, dst *string) {
		if v, ok := lookup(name); ok && v != "" {
			*dst = v
		}
	}
	boolean := func(name string, dst *bool) {
		if v, ok := lookup(name); ok && v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs.add("%s=%q is not a boolean (true or false)", name, v)
				return
			}
			*dst = b
		}
	}
	integer := func(name string, dst *int) {
		if v, ok := lookup(name); ok && v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs.add("%s=%q is not a whole number", name, v)
				return
			}
			*dst = n
		}
	}
	str(EnvAddr, &c.Addr)
	str(EnvDataDir, &c.DataDir)
	str(EnvDatabase, &c.Database)
	str(EnvPublicURL, &c.PublicURL)
	str(EnvMasterKey, &c.MasterKey)
	str(EnvMasterKeyFile, &c.MasterKeyFile)
	str(EnvTLSCert, &c.TLSCert)
	str(EnvTLSKey, &c.TLSKey)
	str(EnvDebugAddr, &c.DebugAddr)
	str(EnvLogLevel, &c.LogLevel)
	str(EnvLogFormat, &c.LogFormat)
	boolean(EnvAllowInsecureIssuer, &c.AllowInsecureIssuer)
	boolean(EnvDemo, &c.Demo)
	integer(EnvMaxPendingPerClient, &c.MaxPendingPerClient)
	integer(EnvMaxPendingPerPeer, &c.MaxPendingPerPeer)
	boolean(EnvAccessLog, &c.AccessLog)
	integer(EnvMetricsMaxClients, &c.MetricsMaxClients)
	str(EnvOTELEndpoint, &c.OTLPEndpoint)
	str(EnvOTELTracesEndpoint, &c.OTLPEndpoint)
	str(EnvOTLPEndpoint, &c.OTLPEndpoint)
	if v, ok := lookup(EnvTrustedProxies); ok && v != "" {
		c.TrustedProxies = nil
		for _, s := range strings.Split(v, ",") {
			p, err := ParsePrefix(strings.TrimSpace(s))
			if err != nil {
				errs.add("%s: %v", EnvTrustedProxies, err)
				continue
			}
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
	}
	return errs.err()
}

// ParsePrefix parses a CIDR, or a single address as its /32 or /128.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR (e.g. 10.0.0.0/8)", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR (e.g. 10.0.0.0/8)", s)
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// StorageFlags registers the flags every subcommand that opens the database
// needs. Each flag's default is the field's current value, so calling it
// after Defaults and ApplyEnv makes flags override the environment.
func (c *Config) StorageFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "data directory (embedded database, demo master key, demo.json) [$"+EnvDataDir+"]")
	fs.StringVar(&c.Database, "database", c.Database, "database: empty for SQLite in the data directory, or a postgres:// URL [$"+EnvDatabase+"]")
	fs.StringVar(&c.MasterKey, "master-key", c.MasterKey, "base64 32-byte master key sealing signing keys; prefer the environment variable [$"+EnvMasterKey+"]")
	fs.StringVar(&c.MasterKeyFile, "master-key-file", c.MasterKeyFile, "file holding the base64 master key [$"+EnvMasterKeyFile+"]")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn or error [$"+EnvLogLevel+"]")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: json or text [$"+EnvLogFormat+"]")
}

// ServeFlags registers the flags of serve: StorageFlags and the listener's.
func (c *Config) ServeFlags(fs *flag.FlagSet) {
	c.StorageFlags(fs)
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address [$"+EnvAddr+"]")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "public base URL; tenant issuers are <public-url>/t/<tenant> (default http://localhost:PORT on loopback) [$"+EnvPublicURL+"]")
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "TLS certificate PEM file (with --tls-key) [$"+EnvTLSCert+"]")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "TLS private key PEM file (with --tls-cert) [$"+EnvTLSKey+"]")
	fs.Var(&prefixList{dst: &c.TrustedProxies}, "trusted-proxy", "CIDR of a reverse proxy whose X-Forwarded-* headers are trusted; repeatable [$"+EnvTrustedProxies+", comma-separated]")
	fs.BoolVar(&c.AllowInsecureIssuer, "allow-insecure-issuer", c.AllowInsecureIssuer, "allow an http:// public URL off loopback [$"+EnvAllowInsecureIssuer+"]")
	fs.StringVar(&c.DebugAddr, "debug-addr", c.DebugAddr, "loopback address serving /debug/pprof/ for profiling (empty: off) [$"+EnvDebugAddr+"]")
	fs.IntVar(&c.MaxPendingPerClient, "max-pending-per-client", c.MaxPendingPerClient, "most unfinished authorization requests of one application [$"+EnvMaxPendingPerClient+"]")
	fs.IntVar(&c.MaxPendingPerPeer, "max-pending-per-peer", c.MaxPendingPerPeer, "most unfinished authorization requests from one client address (IPv6: /64) [$"+EnvMaxPendingPerPeer+"]")
	fs.BoolVar(&c.AccessLog, "access-log", c.AccessLog, "log one line per request: method, path (never the query), status, duration, bytes, tenant, request_id [$"+EnvAccessLog+"]")
	fs.IntVar(&c.MetricsMaxClients, "metrics-max-clients", c.MetricsMaxClients, "most client_id label values per tenant in /metrics; more clients count as \"other\" [$"+EnvMetricsMaxClients+"]")
	fs.StringVar(&c.OTLPEndpoint, "otlp-endpoint", c.OTLPEndpoint, "export OpenTelemetry traces over OTLP/HTTP to this URL, e.g. http://localhost:4318 (empty: tracing off) [$"+EnvOTLPEndpoint+", $"+EnvOTELEndpoint+"]")
	fs.BoolVar(&c.Demo, "demo", c.Demo, "seed the demo tenant, generate a master key in the data directory, write demo.json [$"+EnvDemo+"]")
}

// prefixList is a repeatable CIDR flag. The first use on the command line
// replaces what the environment set, so flags override the environment.
type prefixList struct {
	dst     *[]netip.Prefix
	touched bool
}

func (p *prefixList) String() string {
	if p == nil || p.dst == nil {
		return ""
	}
	var s []string
	for _, x := range *p.dst {
		s = append(s, x.String())
	}
	return strings.Join(s, ",")
}

func (p *prefixList) Set(v string) error {
	if !p.touched {
		*p.dst, p.touched = nil, true
	}
	for _, s := range strings.Split(v, ",") {
		x, err := ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return err
		}
		*p.dst = append(*p.dst, x)
	}
	return nil
}

// Postgres reports whether Database names a PostgreSQL server.
func (c Config) Postgres() bool {
	return strings.HasPrefix(c.Database, "postgres://") || strings.HasPrefix(c.Database, "postgresql://")
}

// SQLitePath is the embedded database file: Database if it names a file,
// else <DataDir>/intelliauth.db. Meaningless when Postgres is true.
func (c Config) SQLitePath() string {
	if c.Database != "" && !c.Postgres() {
		return strings.TrimPrefix(c.Database, "sqlite:")
	}
	return filepath.Join(c.DataDir, "intelliauth.db")
}

// DemoFile is where serve --demo writes what it printed.
func (c Config) DemoFile() string { return filepath.Join(c.DataDir, "demo.json") }

// DefaultMasterKeyFile is the master key file used when no key is
// configured and it exists; serve --demo creates it.
func (c Config) DefaultMasterKeyFile() string { return filepath.Join(c.DataDir, "master.key") }

// ResolvedPublicURL returns PublicURL without a trailing slash or, when it
// is empty, the URL derived from Addr: http(s)://localhost:PORT for a
// loopback Addr. A non-loopback Addr without PublicURL is an error, because
// the server cannot know the name clients reach it by.
func (c Config) ResolvedPublicURL() (string, error) {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/"), nil
	}
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return "", fmt.Errorf("addr %q is not host:port", c.Addr)
	}
	if !IsLoopbackHost(host) {
		return "", fmt.Errorf("addr %q is not a loopback address, so the public URL cannot be guessed: set --public-url (%s)", c.Addr, EnvPublicURL)
	}
	scheme := "http"
	if c.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://localhost:" + port, nil
}

// IsLoopbackHost reports whether host (a name or an IP, without port) is
// localhost or a loopback address.
func IsLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// Validate checks a configuration for serve and reports every problem at
// once. Subcommands that only open the database use ValidateStorage.
func (c Config) Validate() error {
	errs := c.storageProblems()
	if c.MasterKey == "" && c.MasterKeyFile == "" && !c.Demo {
		errs.add("no master key: generate one with `intelliauth keys master` and pass it as %s (or --master-key / --master-key-file, or put it in %s); --demo generates one there", EnvMasterKey, c.DefaultMasterKeyFile())
	}
	if host, port, err := net.SplitHostPort(c.Addr); err != nil {
		errs.add("addr %q must be host:port (e.g. 127.0.0.1:8080)", c.Addr)
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		errs.add("addr %q has an invalid port", c.Addr)
	} else if c.PublicURL == "" && !IsLoopbackHost(host) && host != "" {
		errs.add("addr %q is not loopback: set the public URL clients use (--public-url or %s)", c.Addr, EnvPublicURL)
	} else if c.PublicURL == "" && host == "" {
		errs.add("addr %q listens on every interface: set the public URL clients use (--public-url or %s)", c.Addr, EnvPublicURL)
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
			errs.add("public URL %q must be an absolute http(s) URL such as https://auth.example.com", c.PublicURL)
		case u.RawQuery != "" || u.Fragment != "":
			errs.add("public URL %q must not have a query or fragment", c.PublicURL)
		case u.Scheme == "http" && !IsLoopbackHost(u.Hostname()) && !c.AllowInsecureIssuer:
			errs.add("public URL %q uses http:// off loopback; issuers must be https (RFC 8414 §2, RFC 9700). Serve TLS (--tls-cert/--tls-key) or sit behind a TLS proxy and set an https public URL; --allow-insecure-issuer overrides this for private networks", c.PublicURL)
		}
	}
	if c.DebugAddr != "" {
		// Profiles expose memory contents and cost CPU: never off-host.
		if host, _, err := net.SplitHostPort(c.DebugAddr); err != nil || !IsLoopbackHost(host) {
			errs.add("debug addr %q must be a loopback host:port (e.g. 127.0.0.1:6060)", c.DebugAddr)
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs.add("TLS needs both --tls-cert and --tls-key (only one is set)")
	}
	if c.MaxPendingPerClient < 1 {
		errs.add("max pending per client %d must be at least 1 (--max-pending-per-client or %s; default %d)", c.MaxPendingPerClient, EnvMaxPendingPerClient, DefaultMaxPendingPerClient)
	}
	if c.MetricsMaxClients < 1 {
		errs.add("metrics max clients %d must be at least 1 (--metrics-max-clients or %s; default %d)", c.MetricsMaxClients, EnvMetricsMaxClients, DefaultMetricsMaxClients)
	}
	if c.OTLPEndpoint != "" {
		if u, err := url.Parse(c.OTLPEndpoint); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			errs.add("OTLP endpoint %q must be an http(s) URL such as http://localhost:4318 (--otlp-endpoint or %s)", redactURL(c.OTLPEndpoint), EnvOTLPEndpoint)
		}
	}
	if c.MaxPendingPerPeer < 1 {
		errs.add("max pending per peer %d must be at least 1 (--max-pending-per-peer or %s; default %d)", c.MaxPendingPerPeer, EnvMaxPendingPerPeer, DefaultMaxPendingPerPeer)
	}
	return errs.err()
}

// ValidateStorage checks what opening the database needs, and the master
// key's format when one is set, reporting every problem at once. Whether a
// master key is needed at all is up to the subcommand.
func (c Config) ValidateStorage() error { return c.storageProblems().err() }

func (c Config) storageProblems() problems {
	var errs problems
	if c.DataDir == "" && (!c.Postgres() || c.Demo) {
		errs.add("data directory must not be empty (--data-dir or %s)", EnvDataDir)
	}
	if c.Database != "" && !c.Postgres() && strings.Contains(c.Database, "://") {
		errs.add("database %q: only postgres:// URLs or an SQLite file path are supported", redactURL(c.Database))
	}
	if c.MasterKey != "" {
		if _, err := token.ParseMasterKey(c.MasterKey); err != nil {
			// The token package's messages never echo the key.
			errs.add("%s; or run: intelliauth keys master", strings.TrimPrefix(err.Error(), "token: "))
		}
		if c.MasterKeyFile != "" {
			errs.add("set either the master key or the master key file, not both")
		}
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		errs.add("log level %q must be debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		errs.add("log format %q must be json or text", c.LogFormat)
	}
	return errs
}

// redactURL hides the password of a database URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// RedactedDatabase is Database with any password hidden, for logs.
func (c Config) RedactedDatabase() string {
	if c.Database == "" {
		return "sqlite:" + c.SQLitePath()
	}
	if c.Postgres() {
		return redactURL(c.Database)
	}
	return "sqlite:" + c.SQLitePath()
}

// Level returns LogLevel as a slog level; an invalid level is info
// (Validate reports it). The logger itself is internal/logging's, which
// the composition root builds from Level and LogFormat.
func (c Config) Level() slog.Level {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return slog.LevelInfo
	}
	return lvl
}

// String describes the configuration for logs, without secrets.
func (c Config) String() string {
	mk := "unset"
	switch {
	case c.MasterKey != "":
		mk = "set (redacted)"
	case c.MasterKeyFile != "":
		mk = "file " + c.MasterKeyFile
	}
	return fmt.Sprintf("addr=%s data_dir=%s database=%s public_url=%s master_key=%s tls=%t trusted_proxies=%d allow_insecure_issuer=%t demo=%t access_log=%t metrics_max_clients=%d otlp_endpoint=%s",
		c.Addr, c.DataDir, c.RedactedDatabase(), c.PublicURL, mk, c.TLSCert != "", len(c.TrustedProxies), c.AllowInsecureIssuer, c.Demo, c.AccessLog,
		c.MetricsMaxClients, otlpForLog(c.OTLPEndpoint))
}

// otlpForLog is the OTLP endpoint for logs: "off" when unset, else without
// any password.
func otlpForLog(endpoint string) string {
	if endpoint == "" {
		return "off"
	}
	return redactURL(endpoint)
}
