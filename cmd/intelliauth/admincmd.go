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
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
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

// set reports whether the named flag was given on the command line.
func (a *adminArgs) set(name string) bool {
	found := false
	a.fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			found = true
		}
	})
	return found
}

// ifSet returns &v when the named flag was given and nil otherwise: the
// field of an update that changes only what was asked for.
func ifSet[T any](a *adminArgs, name string, v T) *T {
	if !a.set(name) {
		return nil
	}
	return &v
}

// adminCmd is one management subcommand as runAdmin runs it: what it
// states itself (its flags, their checks, its service call and printing).
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

// runAdmin runs a management subcommand: it builds and parses the flags,
// runs the checks, opens the admin service, makes the call and closes the
// service again.
//
// Every management command reaches the admin service through here and
// nowhere else (migrate aside, which is about the database itself). When
// these commands talk to the HTTP API instead of opening the database, this
// is the one place to change: build an API client here and hand it to call.
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

func (p *pageFlags) store() store.Page {
	return store.Page{Offset: (p.page - 1) * p.perPage, Limit: p.perPage}
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

// subcommand dispatches "<group> <verb> ...".
func subcommand(ctx context.Context, c *cli, group string, args []string, verbs map[string]func(context.Context, *cli, []string) error, order []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(c.stderr, "Usage: intelliauth %s <%s> [flags]\n", group, strings.Join(order, "|"))
		if len(args) == 0 {
			return fmt.Errorf("%w: missing subcommand", errUsage)
		}
		return flag.ErrHelp
	}
	fn, ok := verbs[args[0]]
	if !ok {
		return fmt.Errorf("%w: unknown subcommand %q (want one of: %s)", errUsage, args[0], strings.Join(order, ", "))
	}
	return fn(ctx, c, args[1:])
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

func runTenant(ctx context.Context, c *cli, args []string) error {
	return subcommand(ctx, c, "tenant", args, map[string]func(context.Context, *cli, []string) error{
		"create": tenantCreate, "list": tenantList, "get": tenantGet,
	}, []string{"create", "list", "get"})
}

func tenantCreate(ctx context.Context, c *cli, args []string) error {
	var in admin.TenantInput
	var publicURL string
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
			if a.output == "json" {
				return writeJSON(c.stdout, admin.NewTenantDoc(t))
			}
			fmt.Fprintf(c.stdout, "created tenant %s\nissuer        %s\nplatform API  %s\n", t.ID, t.Issuer, t.Issuer+admin.PlatformAPIPath)
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
			fmt.Fprintf(c.stdout, "id             %s\nname           %s\nissuer         %s\ndomain         %s\nscope pattern  %s\nversion        %d\n",
				t.ID, t.Name, t.Issuer, dashIfEmpty(t.Domain), dashIfEmpty(t.ScopePattern), t.Version)
			return nil
		},
	})
}

// ---- scope ----

func runScope(ctx context.Context, c *cli, args []string) error {
	return subcommand(ctx, c, "scope", args, map[string]func(context.Context, *cli, []string) error{
		"create": scopeCreate, "list": scopeList, "get": scopeGet, "update": scopeUpdate,
		"rename": scopeRename, "delete": scopeDelete, "impact": scopeImpact,
	}, []string{"create", "list", "get", "update", "rename", "delete", "impact"})
}

func scopeCreate(ctx context.Context, c *cli, args []string) error {
	var in admin.ScopeInput
	var implies listFlag
	return c.runAdmin(ctx, args, adminCmd{
		name: "scope create", usage: "scope create <name> --tenant T --api API --description TEXT [flags]",
		tenant: true, output: true, nargs: 1,
		flags: func(a *adminArgs) {
			a.fs.StringVar(&in.API, "api", "", "identifier (audience) or ID of the API defining the scope (required)")
			a.fs.StringVar(&in.Description, "description", "", "consent text, at most 120 characters (required)")
			a.fs.StringVar(&in.DisplayName, "display-name", "", "short display name")
			a.fs.Var(&implies, "implies", "scopes this one implies (space or comma separated; repeatable)")
		},
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			in.Name, in.Implies = pos[0], implies
			sc, err := svc.CreateScope(ctx, admin.CLI(), a.tenant, in)
			if err != nil {
				return err
			}
			if a.output == "json" {
				return writeJSON(c.stdout, admin.NewScopeDoc(sc))
			}
			fmt.Fprintf(c.stdout, "created scope %s (API %s); it is on no allowlist yet: app allow <client_id> %s\n", sc.Name, sc.APIID, sc.Name)
			return nil
		},
	})
}

func scopeList(ctx context.Context, c *cli, args []string) error {
	var kind string
	var p pageFlags
	return c.runAdmin(ctx, args, adminCmd{
		name: "scope list", usage: "scope list --tenant T [flags]", tenant: true, output: true,
		flags: func(a *adminArgs) {
			a.fs.StringVar(&kind, "kind", "", "only scopes of this kind: oidc, platform or custom")
			p.register(a.fs, "scopes")
		},
		check: func(*adminArgs, []string) error {
			switch model.ScopeKind(kind) {
			case "", model.KindOIDC, model.KindPlatform, model.KindCustom:
			default:
				return fmt.Errorf("%w: --kind must be oidc, platform or custom", errUsage)
			}
			return p.check()
		},
		call: func(a *adminArgs, svc *admin.Service, _ []string) error {
			res, err := svc.ListScopes(ctx, admin.CLI(), a.tenant, model.ScopeKind(kind), p.store())
			if err != nil {
				return err
			}
			pages := (res.Total + res.Page.Limit - 1) / res.Page.Limit
			if a.output == "json" {
				return writeJSON(c.stdout, map[string]any{"scopes": docsOf(res.Scopes, admin.NewScopeDoc), "total": res.Total, "page": p.page, "per_page": res.Page.Limit, "pages": pages})
			}
			table(c.stdout, "NAME\tKIND\tAPI\tIMPLIES\tDESCRIPTION", func(w io.Writer) {
				for _, s := range res.Scopes {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", s.Name, s.Kind, dashIfEmpty(s.APIID), joined(s.Implies), s.Description)
				}
			})
			fmt.Fprintf(c.stdout, "page %d of %d (%d scopes)\n", p.page, max(pages, 1), res.Total)
			return nil
		},
	})
}

func scopeGet(ctx context.Context, c *cli, args []string) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "scope get", usage: "scope get <name> --tenant T [flags]", tenant: true, output: true, nargs: 1,
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			sc, err := svc.GetScope(ctx, admin.CLI(), a.tenant, pos[0])
			if err != nil {
				return err
			}
			return printScope(c.stdout, a.output, sc)
		},
	})
}

func printScope(w io.Writer, output string, sc model.Scope) error {
	if output == "json" {
		return writeJSON(w, admin.NewScopeDoc(sc))
	}
	fmt.Fprintf(w, "name          %s\nkind          %s\napi           %s\ndisplay name  %s\ndescription   %s\nimplies       %s\nversion       %d\n",
		sc.Name, sc.Kind, dashIfEmpty(sc.APIID), dashIfEmpty(sc.DisplayName), sc.Description, joined(sc.Implies), sc.Version)
	return nil
}

func scopeUpdate(ctx context.Context, c *cli, args []string) error {
	var desc, display, implies string
	var version int64
	return c.runAdmin(ctx, args, adminCmd{
		name: "scope update", usage: "scope update <name> --tenant T [--description TEXT] [--display-name TEXT] [--implies SCOPES] [flags]",
		tenant: true, output: true, nargs: 1,
		flags: func(a *adminArgs) {
			a.fs.StringVar(&desc, "description", "", "new consent text")
			a.fs.StringVar(&display, "display-name", "", "new display name")
			a.fs.StringVar(&implies, "implies", "", "replace the implied scopes (space or comma separated; \"\" clears)")
			a.fs.Int64Var(&version, "version", 0, "expected current version (optimistic concurrency; 0: any)")
		},
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			sc, err := svc.UpdateScope(ctx, admin.CLI(), a.tenant, pos[0], admin.ScopeUpdate{
				Version:     version,
				Description: ifSet(a, "description", desc),
				DisplayName: ifSet(a, "display-name", display),
				Implies:     ifSet(a, "implies", splitList(implies)),
			})
			if err != nil {
				return err
			}
			return printScope(c.stdout, a.output, sc)
		},
	})
}

func scopeRename(ctx context.Context, c *cli, args []string) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "scope rename", usage: "scope rename <old> <new> --tenant T [flags]", tenant: true, nargs: 2,
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			if _, err := svc.RenameScope(ctx, admin.CLI(), a.tenant, pos[0], pos[1]); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "renamed %s to %s; allowlists and implications follow\n", pos[0], pos[1])
			return nil
		},
	})
}

func scopeDelete(ctx context.Context, c *cli, args []string) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "scope delete", usage: "scope delete <name> --tenant T [flags]", tenant: true, output: true, nargs: 1,
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			imp, err := svc.DeleteScope(ctx, admin.CLI(), a.tenant, pos[0])
			if err != nil {
				return err
			}
			if a.output == "json" {
				return writeJSON(c.stdout, map[string]any{"deleted": pos[0], "removed_from": imp.Applications, "roles": imp.Roles, "consents": imp.Consents})
			}
			fmt.Fprintf(c.stdout, "deleted scope %s; removed from %d application(s): %s; %d role(s): %s; %d consent(s)\n", pos[0],
				len(imp.Applications), joined(imp.Applications), len(imp.Roles), joined(imp.Roles), imp.Consents)
			return nil
		},
	})
}

func scopeImpact(ctx context.Context, c *cli, args []string) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "scope impact", usage: "scope impact <name> --tenant T [flags]", tenant: true, output: true, nargs: 1,
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			imp, err := svc.Impact(ctx, admin.CLI(), a.tenant, pos[0])
			if err != nil {
				return err
			}
			if a.output == "json" {
				return writeJSON(c.stdout, imp)
			}
			fmt.Fprintf(c.stdout, "scope         %s (%s)\ndeletable     %t\napplications  %d: %s\nroles         %d: %s\nconsents      %d\n",
				imp.Scope.Name, imp.Scope.Kind, imp.Deletable, len(imp.Applications), joined(imp.Applications), len(imp.Roles), joined(imp.Roles), imp.Consents)
			return nil
		},
	})
}

// ---- api ----

func runAPI(ctx context.Context, c *cli, args []string) error {
	return subcommand(ctx, c, "api", args, map[string]func(context.Context, *cli, []string) error{
		"create": apiCreate, "list": apiList, "get": apiGet, "update": apiUpdate, "delete": apiDelete,
	}, []string{"create", "list", "get", "update", "delete"})
}

func apiCreate(ctx context.Context, c *cli, args []string) error {
	var in admin.APIInput
	return c.runAdmin(ctx, args, adminCmd{
		name: "api create", usage: "api create <identifier> --tenant T [flags]", tenant: true, output: true, nargs: 1,
		flags: func(a *adminArgs) {
			a.fs.StringVar(&in.ID, "id", "", "stable API ID (default: generated)")
			a.fs.StringVar(&in.Name, "name", "", "display name (default: the identifier)")
			a.fs.StringVar(&in.SigningAlg, "alg", model.AlgES256, "access-token signing algorithm: ES256 or RS256")
			a.fs.DurationVar(&in.AccessTokenTTL, "ttl", model.DefaultAccessTokenTTL, "access-token lifetime (1m–24h)")
		},
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			in.Identifier = pos[0]
			api, err := svc.CreateAPI(ctx, admin.CLI(), a.tenant, in)
			if err != nil {
				return err
			}
			return printAPI(c.stdout, a.output, api)
		},
	})
}

func printAPI(w io.Writer, output string, api model.API) error {
	if output == "json" {
		return writeJSON(w, admin.NewAPIDoc(api))
	}
	fmt.Fprintf(w, "id          %s\nidentifier  %s\nname        %s\nalg         %s\nttl         %s\nplatform    %t\nversion     %d\n",
		api.ID, api.Identifier, api.Name, api.SigningAlg, api.AccessTokenTTL, api.Platform, api.Version)
	return nil
}

func apiList(ctx context.Context, c *cli, args []string) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "api list", usage: "api list --tenant T [flags]", tenant: true, output: true,
		call: func(a *adminArgs, svc *admin.Service, _ []string) error {
			apis, err := svc.ListAPIs(ctx, admin.CLI(), a.tenant)
			if err != nil {
				return err
			}
			if a.output == "json" {
				return writeJSON(c.stdout, docsOf(apis, admin.NewAPIDoc))
			}
			table(c.stdout, "IDENTIFIER\tID\tNAME\tALG\tTTL", func(w io.Writer) {
				for _, x := range apis {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", x.Identifier, x.ID, x.Name, x.SigningAlg, x.AccessTokenTTL)
				}
			})
			return nil
		},
	})
}

func apiGet(ctx context.Context, c *cli, args []string) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "api get", usage: "api get <identifier|id> --tenant T [flags]", tenant: true, output: true, nargs: 1,
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			api, err := svc.GetAPI(ctx, admin.CLI(), a.tenant, pos[0])
			if err != nil {
				return err
			}
			return printAPI(c.stdout, a.output, api)
		},
	})
}

func apiUpdate(ctx context.Context, c *cli, args []string) error {
	var ident, name, alg string
	var ttl time.Duration
	var version int64
	return c.runAdmin(ctx, args, adminCmd{
		name: "api update", usage: "api update <identifier|id> --tenant T [--identifier X] [--name N] [--alg A] [--ttl D] [flags]",
		tenant: true, output: true, nargs: 1,
		flags: func(a *adminArgs) {
			a.fs.StringVar(&ident, "identifier", "", "new audience identifier")
			a.fs.StringVar(&name, "name", "", "new display name")
			a.fs.StringVar(&alg, "alg", "", "new signing algorithm: ES256 or RS256")
			a.fs.DurationVar(&ttl, "ttl", 0, "new access-token lifetime")
			a.fs.Int64Var(&version, "version", 0, "expected current version (0: any)")
		},
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			api, err := svc.UpdateAPI(ctx, admin.CLI(), a.tenant, pos[0], admin.APIUpdate{
				Version:        version,
				Identifier:     ifSet(a, "identifier", ident),
				Name:           ifSet(a, "name", name),
				SigningAlg:     ifSet(a, "alg", alg),
				AccessTokenTTL: ifSet(a, "ttl", ttl),
			})
			if err != nil {
				return err
			}
			return printAPI(c.stdout, a.output, api)
		},
	})
}

func apiDelete(ctx context.Context, c *cli, args []string) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "api delete", usage: "api delete <identifier|id> --tenant T [flags]", tenant: true, nargs: 1,
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			if err := svc.DeleteAPI(ctx, admin.CLI(), a.tenant, pos[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "deleted API %s\n", pos[0])
			return nil
		},
	})
}
