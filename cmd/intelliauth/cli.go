package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"syscall"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/config"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store/postgres"
	"github.com/intelliauth/intelliauth/internal/store/sqlite"
	"github.com/intelliauth/intelliauth/internal/store/sqlstore"
	"github.com/intelliauth/intelliauth/internal/token"
)

// cli holds what every subcommand writes to and reads from; tests build one
// with buffers and a fake environment.
type cli struct {
	// stdin is read by --password-stdin; nil reads as empty.
	stdin          io.Reader
	stdout, stderr io.Writer
	lookupEnv      func(string) (string, bool)
	// setGCPercent is debug.SetGCPercent in the binary; nil in tests, which
	// share one process.
	setGCPercent func(int) int
	// onListen, when set, is told the address serve listens on (tests).
	onListen func(addr string)
}

// command is one top-level command: a name, a one-line summary and its
// runner; a group (app, scope, …) has verbs instead, and its run
// dispatches to them.
type command struct {
	name, summary string
	run           func(ctx context.Context, c *cli, args []string) error
	verbs         []verb
}

// group is the command of a group of subcommands; its summary ends with
// their names, from the one list that dispatches them.
func group(name, summary string, verbs []verb) command {
	return command{
		name: name, summary: summary + " (" + strings.Join(verbNames(verbs), "|") + ")", verbs: verbs,
		run: func(ctx context.Context, c *cli, args []string) error { return subcommand(ctx, c, name, args, verbs) },
	}
}

func commands() []command {
	return []command{
		{name: "serve", summary: "run the authorization server", run: runServe},
		{name: "migrate", summary: "apply database migrations", run: runMigrate},
		group("tenant", "create and list tenants; give one an admin client", tenantVerbs()),
		group("scope", "manage the scope registry", scopeVerbs()),
		group("api", "manage APIs / audiences", apiVerbs()),
		group("app", "manage applications", appVerbs()),
		group("user", "manage end users", userVerbs()),
		group("role", "manage roles and assignments", roleVerbs()),
		group("group", "manage groups and members", groupVerbs()),
		group("settings", "the tenant's settings: its second-factor policy", settingsVerbs()),
		group("keys", "signing and master keys", keysVerbs()),
		{name: "explain", summary: "show the scope decision for an app, audience and scopes", run: runExplain},
		group("audit", "search or export the audit log", auditVerbs()),
		group("report", "reports on the audit log", reportVerbs()),
		{name: "bench", summary: "benchmark token issuance or introspection against a running server, beside the ES256 signing ceiling", run: runBench},
		{name: "healthcheck", summary: "exit 0 when a node's /readyz answers 2xx, 1 otherwise (for container health checks)", run: runHealthcheck},
		{name: "version", summary: "print the version, commit, build date and Go version (also --version)", run: runVersion},
	}
}

// errUsage marks an error whose message is usage help; the exit code is 2.
var errUsage = errors.New("usage")

func (c *cli) run(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		c.usage(c.stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = append([]string{"version"}, args[1:]...)
	}
	for _, cmd := range commands() {
		if cmd.name != args[0] {
			continue
		}
		err := cmd.run(ctx, c, args[1:])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case ctx.Err() != nil:
			// A signal (or the caller) stopped the command before it
			// finished: what failed is the cancellation's doing, not a
			// fault to report as a chain of "context canceled".
			word, code := interrupted(ctx)
			fmt.Fprintf(c.stderr, "intelliauth %s: %s\n", cmd.name, word)
			return code
		case errors.Is(err, errUsage):
			fmt.Fprintf(c.stderr, "intelliauth %s: %v\n", cmd.name, err)
			return 2
		default:
			fmt.Fprintf(c.stderr, "intelliauth %s: %s\n", cmd.name, describe(err))
			return 1
		}
	}
	fmt.Fprintf(c.stderr, "intelliauth: unknown command %q\n\n", args[0])
	c.usage(c.stderr)
	return 2
}

// interrupted is the word and the exit code of a command stopped by ctx:
// 128 plus the signal's number, as shells report it (130 for Ctrl-C, 143
// for SIGTERM); 130 when ctx was cancelled without a signal.
func interrupted(ctx context.Context) (string, int) {
	var sc signalCause
	if errors.As(context.Cause(ctx), &sc) && sc.sig == syscall.SIGTERM {
		return "terminated", 128 + int(syscall.SIGTERM)
	}
	return "interrupted", 128 + int(syscall.SIGINT)
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprintln(w, "IntelliAuth — a scope-centred OAuth 2.1 / OpenID Connect authorization server.")
	fmt.Fprintln(w, "\nUsage: intelliauth <command> [flags]\n\nCommands:")
	width := 0
	for _, cmd := range commands() {
		width = max(width, len(cmd.name))
	}
	for _, cmd := range commands() {
		fmt.Fprintf(w, "  %-*s  %s\n", width, cmd.name, cmd.summary)
	}
	fmt.Fprintln(w, "\nRun 'intelliauth <command> -h' for a command's flags, or its subcommands with one line each.")
}

// describe renders an error for an operator: validation problems one per
// line, storage sentinels with a hint.
func describe(err error) string {
	var ve *model.ValidationError
	if errors.As(err, &ve) {
		return describeProblems(ve.Problems)
	}
	var ap *apiProblem
	if errors.As(err, &ap) {
		switch {
		case len(ap.Errors) > 0:
			return describeProblems(ap.Errors)
		case ap.Status == 412:
			// The API speaks of ETags and If-Match; the CLI of --version.
			return ap.Detail + "\n  (the --version given is stale: the command's `get` shows the current version)"
		case ap.Code == "insufficient_scope":
			return ap.Detail + "\n  (the admin client's token lacks " + ap.Scope + ")"
		}
		return ap.Detail
	}
	// The operator commands call internal/admin directly: a refusal says
	// its own sentence (admin.Describe), not the chain under it.
	if d := admin.Describe(err); d.Kind != admin.KindInternal && d.Message != "" {
		return d.Message
	}
	// config.Error already lists one problem per line.
	return err.Error()
}

// describeProblems lists validation problems one per line.
func describeProblems(ps []model.Problem) string {
	var b strings.Builder
	b.WriteString("invalid input:")
	for _, p := range ps {
		b.WriteString("\n  - ")
		if p.Field != "" {
			b.WriteString(p.Field + ": ")
		}
		b.WriteString(p.Message)
	}
	return b.String()
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func (c *cli) newFlagSet(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("intelliauth "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: intelliauth %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags that may appear before, between or after positional
// arguments (the standard flag package stops at the first positional), and
// returns the positionals.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			// The flag package has printed the problem and the usage.
			return nil, fmt.Errorf("%w: %w", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// loadConfig returns the defaults overridden by the environment; the
// caller registers flags on top.
func (c *cli) loadConfig() (config.Config, error) {
	cfg := config.Defaults()
	if err := cfg.ApplyEnv(c.lookupEnv); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// openStore opens and migrates the configured database.
func openStore(ctx context.Context, cfg config.Config, opts ...sqlstore.Option) (*sqlstore.DB, error) {
	var db *sqlstore.DB
	var err error
	if cfg.Postgres() {
		db, err = postgres.Open(ctx, cfg.Database, opts...)
	} else {
		// The data directory holds the database and key material: owner only.
		if err := prepareDataDir(cfg.DataDir); err != nil {
			return nil, err
		}
		db, err = sqlite.Open(ctx, cfg.SQLitePath(), opts...)
	}
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", cfg.RedactedDatabase(), err)
	}
	if err := db.Migrate(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("migrate database %s: %w", cfg.RedactedDatabase(), err)
	}
	return db, nil
}

// resolveMasterKey applies the one master-key rule of every command that
// needs the key (serve and the operator commands), the rule the README's
// configuration table states:
//
//  1. a key given with --master-key or INTELLIAUTH_MASTER_KEY;
//  2. else the file named by --master-key-file or
//     INTELLIAUTH_MASTER_KEY_FILE, which must exist (serve --demo creates it);
//  3. else <data-dir>/master.key when it exists, which serve --demo creates
//     when it is missing;
//  4. else there is no key, and a command that needs one says how to make it.
//
// It returns cfg with MasterKeyFile set in case 3 (and for --demo), so that
// Validate and the start-up log see where the key comes from.
func resolveMasterKey(cfg config.Config) config.Config {
	if cfg.MasterKey != "" || cfg.MasterKeyFile != "" {
		return cfg
	}
	path := cfg.DefaultMasterKeyFile()
	if _, err := os.Stat(path); err == nil || cfg.Demo {
		cfg.MasterKeyFile = path
	}
	return cfg
}

// loadSealer returns the master-key sealer of the key resolveMasterKey
// finds. With create (serve --demo) a missing key file is generated;
// otherwise it must exist.
func loadSealer(cfg config.Config, create bool) (*token.Sealer, error) {
	cfg = resolveMasterKey(cfg)
	var key []byte
	var err error
	switch {
	case cfg.MasterKey != "":
		key, err = token.ParseMasterKey(cfg.MasterKey)
	case cfg.MasterKeyFile != "":
		if !create {
			if _, serr := os.Stat(cfg.MasterKeyFile); errors.Is(serr, fs.ErrNotExist) {
				return nil, fmt.Errorf("master key file %s does not exist: give the file the key is in with --master-key-file (or %s)", cfg.MasterKeyFile, config.EnvMasterKeyFile)
			}
		}
		key, err = token.LoadOrCreateMasterKeyFile(cfg.MasterKeyFile)
	default:
		return nil, fmt.Errorf("no master key: set %s (generate one with `intelliauth keys master`), --master-key or --master-key-file, or put it in %s", config.EnvMasterKey, cfg.DefaultMasterKeyFile())
	}
	if err != nil {
		return nil, err
	}
	return token.NewSealer(key)
}

// env is an open store and admin service for one admin subcommand.
type env struct {
	db  *sqlstore.DB
	svc *admin.Service
	cfg config.Config
}

// openAdmin validates the storage configuration, opens the store and builds
// the admin service. needKey loads the master key (tenant create, keys
// rotate).
func (c *cli) openAdmin(ctx context.Context, cfg config.Config, needKey bool) (*env, error) {
	if err := cfg.ValidateStorage(); err != nil {
		return nil, err
	}
	var sealer *token.Sealer
	if needKey {
		var err error
		if sealer, err = loadSealer(cfg, false); err != nil {
			return nil, err
		}
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if sealer != nil {
		// Whatever it seals (a new tenant's keys, rotated keys) must open
		// with the key the rest of the data was sealed with.
		if _, err := checkMasterKey(ctx, db, sealer); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	svc := &admin.Service{Store: db, Sealer: sealer, Logger: slog.New(slog.DiscardHandler), AllowInsecureIssuer: cfg.AllowInsecureIssuer}
	return &env{db: db, svc: svc, cfg: cfg}, nil
}

func (e *env) Close() { _ = e.db.Close() }

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
