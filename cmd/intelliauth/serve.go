package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/audit"
	"github.com/intelliauth/intelliauth/internal/logging"
	"github.com/intelliauth/intelliauth/internal/playground"
	"github.com/intelliauth/intelliauth/internal/server"
	"github.com/intelliauth/intelliauth/internal/store/sqlstore"

	"go.opentelemetry.io/otel/trace"
)

// serveGCPercent is serve's GC target unless GOGC is set.
const serveGCPercent = 400

func runServe(ctx context.Context, c *cli, args []string) error {
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	fs := c.newFlagSet("serve", "serve [flags]")
	cfg.ServeFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	cfg = resolveMasterKey(cfg)
	if err := cfg.Validate(); err != nil {
		return err
	}
	// The one logger of the process: redacting, with request IDs
	// (internal/logging).
	logger := logging.New(c.stderr, logging.Options{Level: cfg.Level(), Text: cfg.LogFormat == "text"})
	logger.Info("starting", "config", cfg.String())
	if _, set := c.lookupEnv("GOGC"); !set && c.setGCPercent != nil {
		// The live heap is small (tens of MB) while the token path allocates
		// briskly; a GC target of 400% spends a little memory to save ~15% of
		// token throughput (BENCHMARKS.md). GOGC in the environment wins.
		c.setGCPercent(serveGCPercent)
	}

	if cfg.Demo || !cfg.Postgres() {
		// The data directory holds the database, the demo master key and
		// demo.json: owner only.
		if err := prepareDataDir(cfg.DataDir); err != nil {
			return err
		}
	}
	sealer, err := loadSealer(cfg, cfg.Demo)
	if err != nil {
		return err
	}
	// Tracing (OpenTelemetry over OTLP/HTTP) only when an endpoint is set:
	// otherwise neither the server nor the store is given a tracer, and
	// starts no span at all.
	var tp trace.TracerProvider
	var storeOpts []sqlstore.Option
	if cfg.OTLPEndpoint != "" {
		sdk, err := newTracerProvider(ctx, cfg.OTLPEndpoint, logger)
		if err != nil {
			return err
		}
		defer func() {
			// Flush the spans still queued, bounded: a collector that is
			// gone must not hold up the exit.
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := sdk.Shutdown(sctx); err != nil {
				logger.Warn("flush traces", "err", err)
			}
		}()
		tp = sdk
		storeOpts = append(storeOpts, sqlstore.WithTracerProvider(sdk))
	}
	db, err := openStore(ctx, cfg, storeOpts...)
	if err != nil {
		return err
	}
	defer db.Close()
	// A node whose master key opens none of the stored signing keys could
	// only answer 503: refuse to start instead, naming the tenant.
	keys, err := checkMasterKey(ctx, db, sealer)
	if err != nil {
		return err
	}
	if w := keys.Warning(); w != "" {
		logger.Error(w)
	}

	// Listen before seeding so that the demo's issuer carries the real port
	// (--addr 127.0.0.1:0 picks a free one).
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return listenError(cfg.Addr, "--addr", err)
	}
	defer ln.Close() // Serve closes it too; a second Close is harmless

	var play http.Handler
	var demoConsole string
	if cfg.Demo {
		pub := cfg
		if pub.PublicURL == "" {
			pub.Addr = ln.Addr().String()
		}
		publicURL, err := pub.ResolvedPublicURL()
		if err != nil {
			return err
		}
		svc := &admin.Service{Store: db, Sealer: sealer, Logger: logger, AllowInsecureIssuer: cfg.AllowInsecureIssuer}
		demo, err := svc.SeedDemo(ctx, admin.System("demo"), publicURL, readDemoFile(cfg.DemoFile(), logger))
		if err != nil {
			return err
		}
		if err := writeDemoFile(cfg.DemoFile(), demo); err != nil {
			return err
		}
		printDemo(c.stdout, demo, cfg.DemoFile())
		demoConsole = demo.Console
		if demo.Playground != "" {
			play = newPlayground(demo, cfg.DemoFile(), logger)
		}
	}

	if !cfg.Demo {
		if ts, err := db.Tenants().List(ctx); err == nil && len(ts) == 0 {
			logger.Warn("no tenants yet: create one with `intelliauth tenant create <id> --public-url <url>`, or start with --demo")
		}
	}
	auditLog := audit.New(db.Audit(), logger, audit.Options{})
	srv, err := server.New(ctx, server.Options{
		Store:               db,
		Sealer:              sealer,
		Audit:               auditLog,
		Logger:              logger,
		Addr:                cfg.Addr,
		TLSCert:             cfg.TLSCert,
		TLSKey:              cfg.TLSKey,
		TrustedProxies:      cfg.TrustedProxies,
		AllowInsecureIssuer: cfg.AllowInsecureIssuer,
		MaxPendingPerClient: cfg.MaxPendingPerClient,
		MaxPendingPerPeer:   cfg.MaxPendingPerPeer,
		Playground:          play,
		DemoConsole:         demoConsole,
		AccessLog:           cfg.AccessLog,
		MetricsMaxClients:   cfg.MetricsMaxClients,
		TracerProvider:      tp,
	})
	if err != nil {
		_ = auditLog.Close(context.WithoutCancel(ctx))
		return err
	}
	if cfg.DebugAddr != "" {
		stopDebug, err := serveDebug(ctx, cfg.DebugAddr, logger)
		if err != nil {
			_ = auditLog.Close(context.WithoutCancel(ctx))
			return err
		}
		defer stopDebug()
	}
	if ctx.Err() != nil {
		// Interrupted while starting: say so (cli.run), rather than serve
		// for an instant and shut down.
		_ = auditLog.Close(context.WithoutCancel(ctx))
		return ctx.Err()
	}
	if c.onListen != nil {
		c.onListen(ln.Addr().String())
	}
	// Serve returns after graceful shutdown: in-flight requests finished and
	// the audit log flushed and closed.
	return srv.Serve(ctx, ln)
}

// readDemoFile returns the previous demo.json, or nil when there is none or
// it cannot be read (then the demo's secrets are rotated).
func readDemoFile(path string, logger *slog.Logger) *admin.Demo {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	var d admin.Demo
	if err == nil {
		err = json.Unmarshal(b, &d)
	}
	if err != nil {
		logger.Warn("ignoring unreadable demo file; the demo secrets will be rotated", "path", path, "err", err)
		return nil
	}
	return &d
}

// writeDemoFile writes the demo atomically with mode 0600 (it holds client
// secrets): a temporary file renamed into place, so a reader never sees half.
func writeDemoFile(path string, d admin.Demo) error {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".demo-*.json")
	if err != nil {
		return fmt.Errorf("write demo file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write demo file: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write demo file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write demo file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write demo file: %w", err)
	}
	return nil
}

// demoCurl is the copy-pasteable command that gets a token for the demo's
// strict M2M app (client_secret_basic, RFC 6749 §2.3.1).
func demoCurl(d admin.Demo) string {
	app, _ := d.App("reporting-job")
	return fmt.Sprintf("curl -s -u '%s:%s' \\\n    -d grant_type=client_credentials \\\n    -d audience=api.banking.example.com \\\n    -d scope=read:transactions \\\n    %s/oauth2/token",
		app.ClientID, app.ClientSecret, d.Issuer)
}

// playgroundScope is what the playground asks banking-spa's sign-in for.
const playgroundScope = "openid profile email offline_access read:transactions"

// newPlayground builds the demo's playground: a sign-in for banking-spa
// that shows the tokens it gets (internal/playground).
func newPlayground(d admin.Demo, demoFile string, logger *slog.Logger) *playground.Handler {
	var who []string
	for _, u := range d.Users {
		who = append(who, fmt.Sprintf("%s (%s)", u.Username, strings.Join(u.Roles, ", ")))
	}
	return &playground.Handler{
		TenantID: admin.DemoTenantID, ClientID: admin.DemoSPAClientID, Audience: admin.DemoAudience, Scope: playgroundScope,
		Hint:   "Demo users: " + strings.Join(who, " and ") + ". Their passwords were printed by serve --demo and are in " + demoFile + ".",
		Logger: logger,
	}
}

// printDemo writes the human-readable demo banner: the browser flow first
// (where the playground is and who can sign in), then the M2M side.
func printDemo(w io.Writer, d admin.Demo, path string) {
	fmt.Fprintf(w, "\nIntelliAuth demo is ready.\n\n")
	if d.Playground != "" {
		fmt.Fprintf(w, "Sign in with a browser:\n\n  open %s\n\n", d.Playground)
		fmt.Fprintln(w, "  and sign in as one of the demo users (username / password):")
	} else {
		fmt.Fprintln(w, "(No playground: its redirect URI needs an https or loopback public URL.)")
		fmt.Fprintln(w, "Demo users (username / password):")
	}
	width := 0
	for _, u := range d.Users {
		width = max(width, len(u.Username))
	}
	for _, u := range d.Users {
		fmt.Fprintf(w, "    %-*s / %s   roles: %s\n", width, u.Username, u.Password, strings.Join(u.Roles, " "))
	}
	if d.Playground != "" {
		fmt.Fprintln(w, "\n  It signs you in to banking-spa with PKCE, asks for your consent, and shows the ID and")
		fmt.Fprintln(w, "  access tokens it gets, decoded.")
	}
	if admin := d.AdminUser(); admin != "" {
		fmt.Fprintf(w, "\nAdmin console (scopes, allowlists, users, audit, explain):\n\n  open %s\n\n  and sign in as %s.\n", d.Console, admin)
	}
	fmt.Fprintf(w, "\nYour account (second factors, sessions, connected applications):\n\n  open %s/account/\n", d.Issuer)
	fmt.Fprintf(w, "\nIssuer      %s\n", d.Issuer)
	fmt.Fprintf(w, "Discovery   %s/.well-known/openid-configuration\n", d.Issuer)
	fmt.Fprintf(w, "Authorize   %s/oauth2/authorize\n", d.Issuer)
	fmt.Fprintf(w, "Token       %s/oauth2/token\n\n", d.Issuer)
	fmt.Fprintln(w, "APIs")
	for _, a := range d.APIs {
		fmt.Fprintf(w, "  %-26s %s\n", a.Identifier, strings.Join(a.Scopes, " "))
		if len(a.RequiresMFA) > 0 {
			fmt.Fprintf(w, "  %-26s (a second factor is needed for: %s)\n", "", strings.Join(a.RequiresMFA, " "))
		}
	}
	fmt.Fprintln(w, "\nApplications")
	for _, a := range d.Applications {
		fmt.Fprintf(w, "  %s (%s, %s", a.ClientID, a.Type, a.ScopePolicy)
		if len(a.RedirectURIs) > 0 {
			fmt.Fprintf(w, ", consent %s", a.Consent)
		}
		fmt.Fprintln(w, ")")
		if a.ClientSecret != "" {
			fmt.Fprintf(w, "    client_secret   %s\n", a.ClientSecret)
		}
		for i, r := range a.RedirectURIs {
			label := ""
			if i == 0 {
				label = "redirect URIs"
			}
			fmt.Fprintf(w, "    %-15s %s\n", label, r)
		}
		fmt.Fprintf(w, "    allowed scopes  %s\n", strings.Join(a.AllowedScopes, " "))
	}
	fmt.Fprintf(w, "\nGet an access token for reporting-job:\n\n  %s\n\n", demoCurl(d))
	fmt.Fprintf(w, "Manage the tenant from the CLI: the management commands call the platform API as %s,\nwhose credentials they read from %s when none are given:\n\n", admin.DefaultAdminClientID, path)
	fmt.Fprintln(w, "  go run ./cmd/intelliauth scope list")
	fmt.Fprintln(w, "  go run ./cmd/intelliauth explain --client legacy-batch --audience api.banking.example.com --scope \"read:transactions payments:approve\"")
	fmt.Fprintf(w, "\nEverything above is in %s (mode 0600).\n\n", path)
}

// serveDebug serves net/http/pprof on its own loopback listener, apart from
// the public handler, so profiles are never reachable through the issuer.
func serveDebug(ctx context.Context, addr string, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, listenError(addr, "--debug-addr", err)
	}
	// Lock contention and blocking are where a latency tail hides (a
	// connection pool's queue, a mutex): sample them while profiling is on.
	// Both cost a little on every contended lock, so only with --debug-addr.
	runtime.SetMutexProfileFraction(100)
	runtime.SetBlockProfileRate(int((100 * time.Microsecond).Nanoseconds()))
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() { _ = hs.Serve(ln) }()
	logger.Info("debug listener (pprof)", "addr", ln.Addr().String())
	return func() { _ = hs.Close() }, nil
}
