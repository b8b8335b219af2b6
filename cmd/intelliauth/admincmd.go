package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/config"
)

// adminArgs are the flags every admin subcommand shares.
type adminArgs struct {
	cfg    config.Config
	tenant string
	output string
	fs     *flag.FlagSet
}

// newAdmin builds the flag set of an admin subcommand: storage flags, and
// --tenant / --output when asked for.
func (c *cli) newAdmin(name, usage string, tenant, output bool) (*adminArgs, error) {
	cfg, err := c.loadConfig()
	if err != nil {
		return nil, err
	}
	a := &adminArgs{cfg: cfg, fs: c.newFlagSet(name, usage), output: "table"}
	a.cfg.StorageFlags(a.fs)
	if tenant {
		a.fs.StringVar(&a.tenant, "tenant", "", "tenant ID (required)")
	}
	if output {
		a.fs.StringVar(&a.output, "output", "table", "output format: table or json")
	}
	return a, nil
}

// parse parses args and checks the shared flags; want is the number of
// positional arguments (-1: any).
func (a *adminArgs) parse(args []string, want int, needTenant bool) ([]string, error) {
	pos, err := parse(a.fs, args)
	if err != nil {
		return nil, err
	}
	if want >= 0 && len(pos) != want {
		a.fs.Usage()
		return nil, fmt.Errorf("%w: want %d argument(s), got %d", errUsage, want, len(pos))
	}
	if needTenant && a.tenant == "" {
		return nil, fmt.Errorf("%w: --tenant is required", errUsage)
	}
	if a.output != "table" && a.output != "json" {
		return nil, fmt.Errorf("%w: --output must be table or json", errUsage)
	}
	return pos, nil
}

// flagSet reports whether the named flag was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			found = true
		}
	})
	return found
}

// adminCmd is one operator subcommand as runAdmin runs it: what it states
// itself (its flags, their checks, its service call and printing).
type adminCmd struct {
	name, usage string
	tenant      bool // takes --tenant, and requires it
	output      bool // takes --output table|json
	nargs       int  // positional arguments wanted; -1: any
	needKey     bool // loads the master key (tenant create, keys rotate)
	// flags registers the subcommand's own flags; optional.
	flags func(a *adminArgs)
	// check validates what was parsed before anything is opened; optional.
	check func(a *adminArgs, pos []string) error
	// call makes the service call and prints its result.
	call func(a *adminArgs, svc *admin.Service, pos []string) error
}

// runAdmin runs an operator subcommand on the database: it builds and
// parses the flags, runs the checks, opens the admin service, makes the call
// and closes the service again.
//
// Only the operator commands (tenant, keys) come here: they set up what the
// platform API stands on (a tenant, its admin client, its signing keys).
// The management commands are clients of the API instead (runAPI).
func (c *cli) runAdmin(ctx context.Context, args []string, cmd adminCmd) error {
	a, err := c.newAdmin(cmd.name, cmd.usage, cmd.tenant, cmd.output)
	if err != nil {
		return err
	}
	if cmd.flags != nil {
		cmd.flags(a)
	}
	pos, err := a.parse(args, cmd.nargs, cmd.tenant)
	if err != nil {
		return err
	}
	if cmd.check != nil {
		if err := cmd.check(a, pos); err != nil {
			return err
		}
	}
	e, err := c.openAdmin(ctx, a.cfg, cmd.needKey)
	if err != nil {
		return err
	}
	defer e.Close()
	return cmd.call(a, e.svc, pos)
}

// pageFlags are the --page and --per-page flags of a list subcommand.
type pageFlags struct{ page, perPage int }

func (p *pageFlags) register(fs *flag.FlagSet, what string) {
	fs.IntVar(&p.page, "page", 1, "page number, from 1")
	fs.IntVar(&p.perPage, "per-page", admin.DefaultPageSize, what+" per page")
}

func (p *pageFlags) check() error {
	if p.page < 1 || p.perPage < 1 {
		return fmt.Errorf("%w: --page and --per-page must be at least 1", errUsage)
	}
	return nil
}

// splitList splits "a b,c" into [a b c].
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\n' })
}

// listFlag is a repeatable string flag that also splits on commas.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, splitList(v)...)
	return nil
}

// docsOf maps a list to its JSON documents.
func docsOf[T, D any](xs []T, doc func(T) D) []D {
	docs := make([]D, 0, len(xs))
	for _, x := range xs {
		docs = append(docs, doc(x))
	}
	return docs
}

func table(w io.Writer, header string, rows func(tw io.Writer)) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	rows(tw)
	_ = tw.Flush()
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// joined is a space-separated list, or "-" for none.
func joined(l []string) string { return dashIfEmpty(strings.Join(l, " ")) }

// verb is one subcommand of a group ("app create"): its name, the line
// group help shows for it, and its runner.
type verb struct {
	name, summary string
	run           func(ctx context.Context, c *cli, args []string) error
}

// subcommand dispatches "<group> <verb> ...". The group alone, or with -h,
// --help or help, lists the verbs with their summaries: on stdout when
// asked for, on stderr (exit 2) when the verb is missing.
func subcommand(ctx context.Context, c *cli, group string, args []string, verbs []verb) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) == 0 {
			groupUsage(c.stderr, group, verbs)
			return fmt.Errorf("%w: missing subcommand", errUsage)
		}
		groupUsage(c.stdout, group, verbs)
		return flag.ErrHelp
	}
	for _, v := range verbs {
		if v.name == args[0] {
			return v.run(ctx, c, args[1:])
		}
	}
	return fmt.Errorf("%w: unknown subcommand %q (want one of: %s)", errUsage, args[0], strings.Join(verbNames(verbs), ", "))
}

// groupUsage lists a group's subcommands, one line each.
func groupUsage(w io.Writer, group string, verbs []verb) {
	fmt.Fprintf(w, "Usage: intelliauth %s <subcommand> [flags]\n\nSubcommands:\n", group)
	width := 0
	for _, v := range verbs {
		width = max(width, len(v.name))
	}
	for _, v := range verbs {
		fmt.Fprintf(w, "  %-*s  %s\n", width, v.name, v.summary)
	}
	fmt.Fprintf(w, "\nRun 'intelliauth %s <subcommand> -h' for a subcommand's flags.\n", group)
}

func verbNames(verbs []verb) []string {
	names := make([]string, len(verbs))
	for i, v := range verbs {
		names[i] = v.name
	}
	return names
}

// ---- migrate ----

// runMigrate opens the database itself, not the admin service: migrating is
// about the database, wherever the other commands send their calls.
func runMigrate(ctx context.Context, c *cli, args []string) error {
	a, err := c.newAdmin("migrate", "migrate [flags]", false, false)
	if err != nil {
		return err
	}
	if _, err := a.parse(args, 0, false); err != nil {
		return err
	}
	e, err := c.openAdmin(ctx, a.cfg, false)
	if err != nil {
		return err
	}
	defer e.Close()
	v, err := e.db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "database %s is at schema version %d\n", a.cfg.RedactedDatabase(), v)
	return nil
}

// ---- tenant ----

// tenantVerbs are the subcommands of tenant, in the order help lists them.
func tenantVerbs() []verb {
	return []verb{
		{"create", "create a tenant with its signing keys and an admin client for this CLI", tenantCreate},
		{"list", "list the tenants, by ID", tenantList},
		{"get", "show one tenant: issuer, domain, scope pattern, MFA policy", tenantGet},
		{"admin-client", "create the tenant's admin client, or give it a new secret", tenantAdminClient},
	}
}

// printAdminClient prints an admin client's credentials as the environment
// the API commands read.
func printAdminClient(w io.Writer, ac admin.AdminClient) {
	verb := "created"
	if !ac.Created {
		verb = "gave a new secret to (the previous one stopped working)"
	}
	fmt.Fprintf(w, "\n%s the admin client %s. The management commands (scope, api, app, user, role, group,\nsettings, explain, audit, report) call the platform API with it; the secret is shown only now:\n\n", verb, ac.ClientID)
	fmt.Fprintf(w, "  export %s=%s\n  export %s=%s\n  export %s=%s\n", envIssuer, ac.Issuer, envClientID, ac.ClientID, envClientSecret, ac.ClientSecret)
}

func tenantAdminClient(ctx context.Context, c *cli, args []string) error {
	var clientID string
	return c.runAdmin(ctx, args, adminCmd{
		name: "tenant admin-client", usage: "tenant admin-client <tenant> [--client-id ID] [flags]", output: true, nargs: 1,
		flags: func(a *adminArgs) {
			a.fs.StringVar(&clientID, "client-id", admin.DefaultAdminClientID, "client_id of the admin client: created when missing, given a new secret when it exists")
		},
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			ac, err := svc.BootstrapAdminClient(ctx, admin.CLI(), pos[0], clientID)
			if err != nil {
				return err
			}
			if a.output == "json" {
				return writeJSON(c.stdout, ac)
			}
			printAdminClient(c.stdout, ac)
			return nil
		},
	})
}

func tenantCreate(ctx context.Context, c *cli, args []string) error {
	var in admin.TenantInput
	var publicURL string
	adminClient := admin.DefaultAdminClientID
	return c.runAdmin(ctx, args, adminCmd{
		name: "tenant create", usage: "tenant create <id> --issuer URL | --public-url URL [flags]",
		output: true, nargs: 1, needKey: true,
		flags: func(a *adminArgs) {
			a.fs.StringVar(&in.Name, "name", "", "display name (default: the ID)")
			a.fs.StringVar(&in.Issuer, "issuer", "", "issuer URL, e.g. https://auth.example.com/t/acme")
			a.fs.StringVar(&publicURL, "public-url", "", "public base URL; the issuer becomes <public-url>/t/<id> [$"+config.EnvPublicURL+"]")
			a.fs.StringVar(&in.Domain, "domain", "", "custom host name that also routes to this tenant")
			a.fs.StringVar(&in.ScopePattern, "scope-pattern", "", "regular expression custom scope names must match, e.g. ^[a-z]+:[a-z]+$")
			a.fs.BoolVar(&a.cfg.AllowInsecureIssuer, "allow-insecure-issuer", a.cfg.AllowInsecureIssuer, "allow an http:// issuer off loopback")
			a.fs.StringVar(&adminClient, "admin-client", adminClient, "client_id of the m2m admin client created for the CLI (\"\": none)")
		},
		check: func(a *adminArgs, pos []string) error {
			in.ID = pos[0]
			if in.Name == "" {
				in.Name = in.ID
			}
			if in.Issuer == "" {
				if publicURL == "" {
					publicURL = a.cfg.PublicURL
				}
				if publicURL == "" {
					return fmt.Errorf("%w: give --issuer or --public-url", errUsage)
				}
				in.Issuer = strings.TrimRight(publicURL, "/") + "/t/" + in.ID
			}
			return nil
		},
		call: func(a *adminArgs, svc *admin.Service, _ []string) error {
			t, err := svc.CreateTenant(ctx, admin.CLI(), in)
			if err != nil {
				return err
			}
			var ac *admin.AdminClient
			if adminClient != "" {
				created, err := svc.BootstrapAdminClient(ctx, admin.CLI(), t.ID, adminClient)
				if err != nil {
					return fmt.Errorf("tenant %s is created, but its admin client is not (retry with `intelliauth tenant admin-client %s`): %w", t.ID, t.ID, err)
				}
				ac = &created
			}
			if a.output == "json" {
				return writeJSON(c.stdout, struct {
					admin.TenantDoc
					AdminClient *admin.AdminClient `json:"admin_client,omitempty"`
				}{admin.NewTenantDoc(t), ac})
			}
			fmt.Fprintf(c.stdout, "created tenant %s\nissuer        %s\nplatform API  %s\n", t.ID, t.Issuer, t.Issuer+admin.PlatformAPIPath)
			if ac != nil {
				printAdminClient(c.stdout, *ac)
			}
			return nil
		},
	})
}

func tenantList(ctx context.Context, c *cli, args []string) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "tenant list", usage: "tenant list [flags]", output: true,
		call: func(a *adminArgs, svc *admin.Service, _ []string) error {
			ts, err := svc.ListTenants(ctx, admin.CLI())
			if err != nil {
				return err
			}
			if a.output == "json" {
				return writeJSON(c.stdout, docsOf(ts, admin.NewTenantDoc))
			}
			table(c.stdout, "ID\tNAME\tISSUER\tDOMAIN", func(w io.Writer) {
				for _, t := range ts {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Issuer, dashIfEmpty(t.Domain))
				}
			})
			return nil
		},
	})
}

func tenantGet(ctx context.Context, c *cli, args []string) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "tenant get", usage: "tenant get <id> [flags]", output: true, nargs: 1,
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			t, err := svc.GetTenant(ctx, admin.CLI(), pos[0])
			if err != nil {
				return err
			}
			if a.output == "json" {
				return writeJSON(c.stdout, admin.NewTenantDoc(t))
			}
			fmt.Fprintf(c.stdout, "id             %s\nname           %s\nissuer         %s\ndomain         %s\nscope pattern  %s\nMFA policy     %s\n",
				t.ID, t.Name, t.Issuer, dashIfEmpty(t.Domain), dashIfEmpty(t.ScopePattern), t.MFAPolicy.Effective())
			if !t.MFAGraceUntil.IsZero() {
				fmt.Fprintf(c.stdout, "MFA grace      until %s\n", t.MFAGraceUntil.UTC().Format(time.RFC3339))
			}
			fmt.Fprintf(c.stdout, "version        %d\n", t.Version)
			return nil
		},
	})
}
