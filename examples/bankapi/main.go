// Command bankapi is a small banking API protected by the IntelliAuth
// resource-server SDK (package rs): GET /transactions needs the scope
// read:transactions, POST /settings needs write:settings, and every request
// needs an access token issued by the configured issuer for the configured
// audience. See README.md for a walkthrough against `intelliauth serve
// --demo`.
//
// Usage:
//
//	bankapi [-issuer URL] [-audience ID] [-addr HOST:PORT] [-log-level LEVEL]
//
// Every flag has an environment variable (BANKAPI_ISSUER, BANKAPI_AUDIENCE,
// BANKAPI_ADDR, BANKAPI_LOG_LEVEL); a flag wins over its variable.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/intelliauth/intelliauth/rs"
)

// config is the example's whole configuration.
type config struct {
	Issuer   string
	Audience string
	Addr     string
	LogLevel slog.Level
}

// Defaults: the demo tenant of `intelliauth serve --demo`.
const (
	defaultIssuer   = "http://localhost:8080/t/banking"
	defaultAudience = "api.banking.example.com"
	defaultAddr     = "127.0.0.1:9090"
	shutdownTimeout = 10 * time.Second
)

// parseConfig reads flags over environment variables over defaults.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("bankapi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	var level string
	fs.StringVar(&c.Issuer, "issuer", env("BANKAPI_ISSUER", defaultIssuer), "IntelliAuth issuer URL (env BANKAPI_ISSUER)")
	fs.StringVar(&c.Audience, "audience", env("BANKAPI_AUDIENCE", defaultAudience), "this API's identifier, the tokens' aud (env BANKAPI_AUDIENCE)")
	fs.StringVar(&c.Addr, "addr", env("BANKAPI_ADDR", defaultAddr), "listen address (env BANKAPI_ADDR)")
	fs.StringVar(&level, "log-level", env("BANKAPI_LOG_LEVEL", "info"), "debug, info, warn or error (env BANKAPI_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if err := c.LogLevel.UnmarshalText([]byte(level)); err != nil {
		return config{}, fmt.Errorf("-log-level: %w", err)
	}
	return c, nil
}

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bankapi:", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, logger, nil); err != nil {
		logger.Error("bankapi stopped", "err", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, then shuts down gracefully. ready, if not nil,
// receives the listener's address once the API accepts connections.
func run(ctx context.Context, cfg config, logger *slog.Logger, ready chan<- string) error {
	// Discovery happens here; the JWKS is fetched on the first request.
	v, err := rs.NewVerifier(ctx, rs.Config{Issuer: cfg.Issuer, Audience: cfg.Audience})
	if err != nil {
		return fmt.Errorf("cannot reach the issuer %s (is `go run ./cmd/intelliauth serve --demo` running?): %w", cfg.Issuer, err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           newHandler(v, logger),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("bankapi listening", "addr", ln.Addr().String(), "issuer", cfg.Issuer, "audience", cfg.Audience)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("bankapi shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("bankapi stopped")
	return nil
}
