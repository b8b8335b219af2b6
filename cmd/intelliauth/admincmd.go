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
	a, err := c.newAdmin("tenant create", "tenant create <id> --issuer URL | --public-url URL [flags]", false, true)
	if err != nil {
		return err
	}
	var in admin.TenantInput
	var publicURL string
	a.fs.StringVar(&in.Name, "name", "", "display name (default: the ID)")
	a.fs.StringVar(&in.Issuer, "issuer", "", "issuer URL, e.g. https://auth.example.com/t/acme")
	a.fs.StringVar(&publicURL, "public-url", "", "public base URL; the issuer becomes <public-url>/t/<id> [$"+config.EnvPublicURL+"]")
	a.fs.StringVar(&in.Domain, "domain", "", "custom host name that also routes to this tenant")
	a.fs.StringVar(&in.ScopePattern, "scope-pattern", "", "regular expression custom scope names must match, e.g. ^[a-z]+:[a-z]+$")
	a.fs.BoolVar(&a.cfg.AllowInsecureIssuer, "allow-insecure-issuer", a.cfg.AllowInsecureIssuer, "allow an http:// issuer off loopback")
	pos, err := a.parse(args, 1, false)
	if err != nil {
		return err
	}
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
	e, err := c.openAdmin(ctx, a.cfg, true)
	if err != nil {
		return err
	}
	defer e.Close()
	t, err := e.svc.CreateTenant(ctx, admin.CLI(), in)
	if err != nil {
		return err
	}
	if a.output == "json" {
		return writeJSON(c.stdout, admin.NewTenantDoc(t))
	}
	fmt.Fprintf(c.stdout, "created tenant %s\nissuer        %s\nplatform API  %s\n", t.ID, t.Issuer, t.Issuer+admin.PlatformAPIPath)
	return nil
}

func tenantList(ctx context.Context, c *cli, args []string) error {
	a, err := c.newAdmin("tenant list", "tenant list [flags]", false, true)
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
	ts, err := e.svc.ListTenants(ctx, admin.CLI())
	if err != nil {
		return err
	}
	if a.output == "json" {
		docs := make([]admin.TenantDoc, 0, len(ts))
		for _, t := range ts {
			docs = append(docs, admin.NewTenantDoc(t))
		}
		return writeJSON(c.stdout, docs)
	}
	table(c.stdout, "ID\tNAME\tISSUER\tDOMAIN", func(w io.Writer) {
		for _, t := range ts {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Issuer, dashIfEmpty(t.Domain))
		}
	})
	return nil
}

func tenantGet(ctx context.Context, c *cli, args []string) error {
	a, err := c.newAdmin("tenant get", "tenant get <id> [flags]", false, true)
	if err != nil {
		return err
	}
	pos, err := a.parse(args, 1, false)
	if err != nil {
		return err
	}
	e, err := c.openAdmin(ctx, a.cfg, false)
	if err != nil {
		return err
	}
	defer e.Close()
	t, err := e.svc.GetTenant(ctx, admin.CLI(), pos[0])
	if err != nil {
		return err
	}
	if a.output == "json" {
		return writeJSON(c.stdout, admin.NewTenantDoc(t))
	}
	fmt.Fprintf(c.stdout, "id             %s\nname           %s\nissuer         %s\ndomain         %s\nscope pattern  %s\nversion        %d\n",
		t.ID, t.Name, t.Issuer, dashIfEmpty(t.Domain), dashIfEmpty(t.ScopePattern), t.Version)
	return nil
}

// ---- scope ----

func runScope(ctx context.Context, c *cli, args []string) error {
	return subcommand(ctx, c, "scope", args, map[string]func(context.Context, *cli, []string) error{
		"create": scopeCreate, "list": scopeList, "get": scopeGet, "update": scopeUpdate,
		"rename": scopeRename, "delete": scopeDelete, "impact": scopeImpact,
	}, []string{"create", "list", "get", "update", "rename", "delete", "impact"})
}

func scopeCreate(ctx context.Context, c *cli, args []string) error {
	a, err := c.newAdmin("scope create", "scope create <name> --tenant T --api API --description TEXT [flags]", true, true)
	if err != nil {
		return err
	}
	var in admin.ScopeInput
	var implies listFlag
	a.fs.StringVar(&in.API, "api", "", "identifier (audience) or ID of the API defining the scope (required)")
	a.fs.StringVar(&in.Description, "description", "", "consent text, at most 120 characters (required)")
	a.fs.StringVar(&in.DisplayName, "display-name", "", "short display name")
	a.fs.Var(&implies, "implies", "scopes this one implies (space or comma separated; repeatable)")
	pos, err := a.parse(args, 1, true)
	if err != nil {
		return err
	}
	in.Name, in.Implies = pos[0], implies
	e, err := c.openAdmin(ctx, a.cfg, false)
	if err != nil {
		return err
	}
	defer e.Close()
	sc, err := e.svc.CreateScope(ctx, admin.CLI(), a.tenant, in)
	if err != nil {
		return err
	}
	if a.output == "json" {
		return writeJSON(c.stdout, admin.NewScopeDoc(sc))
	}
	fmt.Fprintf(c.stdout, "created scope %s (API %s); it is on no allowlist yet: app allow <client_id> %s\n", sc.Name, sc.APIID, sc.Name)
	return nil
}

func scopeList(ctx context.Context, c *cli, args []string) error {
	a, err := c.newAdmin("scope list", "scope list --tenant T [flags]", true, true)
	if err != nil {
		return err
	}
	var kind string
	var page, perPage int
	a.fs.StringVar(&kind, "kind", "", "only scopes of this kind: oidc, platform or custom")
	a.fs.IntVar(&page, "page", 1, "page number, from 1")
	a.fs.IntVar(&perPage, "per-page", admin.DefaultPageSize, "scopes per page")
	if _, err := a.parse(args, 0, true); err != nil {
		return err
	}
	switch model.ScopeKind(kind) {
	case "", model.KindOIDC, model.KindPlatform, model.KindCustom:
	default:
		return fmt.Errorf("%w: --kind must be oidc, platform or custom", errUsage)
	}
	if page < 1 || perPage < 1 {
		return fmt.Errorf("%w: --page and --per-page must be at least 1", errUsage)
	}
	e, err := c.openAdmin(ctx, a.cfg, false)
	if err != nil {
		return err
	}
	defer e.Close()
	res, err := e.svc.ListScopes(ctx, admin.CLI(), a.tenant, model.ScopeKind(kind), store.Page{Offset: (page - 1) * perPage, Limit: perPage})
	if err != nil {
		return err
	}
	pages := (res.Total + res.Page.Limit - 1) / res.Page.Limit
	if a.output == "json" {
		docs := make([]admin.ScopeDoc, 0, len(res.Scopes))
		for _, s := range res.Scopes {
			docs = append(docs, admin.NewScopeDoc(s))
		}
		return writeJSON(c.stdout, map[string]any{"scopes": docs, "total": res.Total, "page": page, "per_page": res.Page.Limit, "pages": pages})
	}
	table(c.stdout, "NAME\tKIND\tAPI\tIMPLIES\tDESCRIPTION", func(w io.Writer) {
		for _, s := range res.Scopes {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", s.Name, s.Kind, dashIfEmpty(s.APIID), dashIfEmpty(strings.Join(s.Implies, " ")), s.Description)
		}
	})
	fmt.Fprintf(c.stdout, "page %d of %d (%d scopes)\n", page, max(pages, 1), res.Total)
	return nil
}

func scopeGet(ctx context.Context, c *cli, args []string) error {
	a, err := c.newAdmin("scope get", "scope get <name> --tenant T [flags]", true, true)
	if err != nil {
		return err
	}
	pos, err := a.parse(args, 1, true)
	if err != nil {
		return err
	}
	e, err := c.openAdmin(ctx, a.cfg, false)
	if err != nil {
		return err
	}
	defer e.Close()
	sc, err := e.svc.GetScope(ctx, admin.CLI(), a.tenant, pos[0])
	if err != nil {
		return err
	}
	return printScope(c.stdout, a.output, sc)
}

func printScope(w io.Writer, output string, sc model.Scope) error {
	if output == "json" {
		return writeJSON(w, admin.NewScopeDoc(sc))
	}
	fmt.Fprintf(w, "name          %s\nkind          %s\napi           %s\ndisplay name  %s\ndescription   %s\nimplies       %s\nversion       %d\n",
		sc.Name, sc.Kind, dashIfEmpty(sc.APIID), dashIfEmpty(sc.DisplayName), sc.Description, dashIfEmpty(strings.Join(sc.Implies, " ")), sc.Version)
	return nil
}

func scopeUpdate(ctx context.Context, c *cli, args []string) error {
	a, err := c.newAdmin("scope update", "scope update <name> --tenant T [--description TEXT] [--display-name TEXT] [--implies SCOPES] [flags]", true, true)
	if err != nil {
		return err
	}
	var desc, display, implies string
	var version int64
	a.fs.StringVar(&desc, "description", "", "new consent text")
	a.fs.StringVar(&display, "display-name", "", "new display name")
	a.fs.StringVar(&implies, "implies", "", "replace the implied scopes (space or comma separated; \"\" clears)")
	a.fs.Int64Var(&version, "version", 0, "expected current version (optimistic concurrency; 0: any)")
	pos, err := a.parse(args, 1, true)
	if err != nil {
		return err
	}
	upd := admin.ScopeUpdate{Version: version}
	if a.set("description") {
		upd.Description = &desc
	}
	if a.set("display-name") {
		upd.DisplayName = &display
	}
	if a.set("implies") {
		l := splitList(implies)
		upd.Implies = &l
	}
	e, err := c.openAdmin(ctx, a.cfg, false)
	if err != nil {
		return err
	}
	defer e.Close()
	sc, err := e.svc.UpdateScope(ctx, admin.CLI(), a.tenant, pos[0], upd)
	if err != nil {
		return err
	}
	return printScope(c.stdout, a.output, sc)
}

func scopeRename(ctx context.Context, c *cli, args []string) error {
	a, err := c.newAdmin("scope rename", "scope rename <old> <new> --tenant T [flags]", true, false)
	if err != nil {
		return err
	}
	pos, err := a.parse(args, 2, true)
	if err != nil {
		return err
	}
	e, err := c.openAdmin(ctx, a.cfg, false)
	if err != nil {
		return err
	}
	defer e.Close()
	if _, err := e.svc.RenameScope(ctx, admin.CLI(), a.tenant, pos[0], pos[1]); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "renamed %s to %s; allowlists and implications follow\n", pos[0], pos[1])
	return nil
}

func scopeDelete(ctx context.Context, c *cli, args []string) error {
	a, err := c.newAdmin("scope delete", "scope delete <name> --tenant T [flags]", true, true)
	if err != nil {
		return err
	}
	pos, err := a.parse(args, 1, true)
	if err != nil {
		return err
	}
	e, err := c.openAdmin(ctx, a.cfg, false)
	if err != nil {
		return err
	}
	defer e.Close()
	removed, err := e.svc.DeleteScope(ctx, admin.CLI(), a.tenant, pos[0])
	if err != nil {
		return err
	}
	if a.output == "json" {
		return writeJSON(c.stdout, map[string]any{"deleted": pos[0], "removed_from": removed})
	}
	fmt.Fprintf(c.stdout, "deleted scope %s; removed from %d application(s): %s\n", pos[0], len(removed), dashIfEmpty(strings.Join(removed, " ")))
	return nil
}

func scopeImpact(ctx context.Context, c *cli, args []string) error {
	a, err := c.newAdmin("scope impact", "scope impact <name> --tenant T [flags]", true, true)
	if err != nil {
		return err
	}
	pos, err := a.parse(args, 1, true)
	if err != nil {
		return err
	}
	e, err := c.openAdmin(ctx, a.cfg, false)
	if err != nil {
		return err
	}
	defer e.Close()
	imp, err := e.svc.Impact(ctx, admin.CLI(), a.tenant, pos[0])
	if err != nil {
		return err
	}
	if a.output == "json" {
		return writeJSON(c.stdout, imp)
	}
	fmt.Fprintf(c.stdout, "scope         %s (%s)\ndeletable     %t\napplications  %d: %s\n", imp.Scope.Name, imp.Scope.Kind, imp.Deletable,
		len(imp.Applications), dashIfEmpty(strings.Join(imp.Applications, " ")))
	return nil
}

// ---- api ----

func runAPI(ctx context.Context, c *cli, args []string) error {
	return subcommand(ctx, c, "api", args, map[string]func(context.Context, *cli, []string) error{
		"create": apiCreate, "list": apiList, "get": apiGet, "update": apiUpdate, "delete": apiDelete,
	}, []string{"create", "list", "get", "update", "delete"})
}

func apiCreate(ctx context.Context, c *cli, args []string) error {
	a, err := c.newAdmin("api create", "api create <identifier> --tenant T [flags]", true, true)
	if err != nil {
		return err
	}
	var in admin.APIInput
	a.fs.StringVar(&in.ID, "id", "", "stable API ID (default: generated)")
	a.fs.StringVar(&in.Name, "name", "", "display name (default: the identifier)")
	a.fs.StringVar(&in.SigningAlg, "alg", model.AlgES256, "access-token signing algorithm: ES256 or RS256")
	a.fs.DurationVar(&in.AccessTokenTTL, "ttl", model.DefaultAccessTokenTTL, "access-token lifetime (1m–24h)")
	pos, err := a.parse(args, 1, true)
	if err != nil {
		return err
	}
	in.Identifier = pos[0]
	e, err := c.openAdmin(ctx, a.cfg, false)
	if err != nil {
		return err
	}
	defer e.Close()
	api, err := e.svc.CreateAPI(ctx, admin.CLI(), a.tenant, in)
	if err != nil {
		return err
	}
	return printAPI(c.stdout, a.output, api)
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
	a, err := c.newAdmin("api list", "api list --tenant T [flags]", true, true)
	if err != nil {
		return err
	}
	if _, err := a.parse(args, 0, true); err != nil {
		return err
	}
	e, err := c.openAdmin(ctx, a.cfg, false)
	if err != nil {
		return err
	}
	defer e.Close()
	apis, err := e.svc.ListAPIs(ctx, admin.CLI(), a.tenant)
	if err != nil {
		return err
	}
	if a.output == "json" {
		docs := make([]admin.APIDoc, 0, len(apis))
		for _, x := range apis {
			docs = append(docs, admin.NewAPIDoc(x))
		}
		return writeJSON(c.stdout, docs)
	}
	table(c.stdout, "IDENTIFIER\tID\tNAME\tALG\tTTL", func(w io.Writer) {
		for _, x := range apis {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", x.Identifier, x.ID, x.Name, x.SigningAlg, x.AccessTokenTTL)
		}
	})
	return nil
}

func apiGet(ctx context.Context, c *cli, args []string) error {
	a, err := c.newAdmin("api get", "api get <identifier|id> --tenant T [flags]", true, true)
	if err != nil {
		return err
	}
	pos, err := a.parse(args, 1, true)
	if err != nil {
		return err
	}
	e, err := c.openAdmin(ctx, a.cfg, false)
	if err != nil {
		return err
	}
	defer e.Close()
	api, err := e.svc.GetAPI(ctx, admin.CLI(), a.tenant, pos[0])
	if err != nil {
		return err
	}
	return printAPI(c.stdout, a.output, api)
}

func apiUpdate(ctx context.Context, c *cli, args []string) error {
	a, err := c.newAdmin("api update", "api update <identifier|id> --tenant T [--identifier X] [--name N] [--alg A] [--ttl D] [flags]", true, true)
	if err != nil {
		return err
	}
	var ident, name, alg string
	var ttl time.Duration
	var version int64
	a.fs.StringVar(&ident, "identifier", "", "new audience identifier")
	a.fs.StringVar(&name, "name", "", "new display name")
	a.fs.StringVar(&alg, "alg", "", "new signing algorithm: ES256 or RS256")
	a.fs.DurationVar(&ttl, "ttl", 0, "new access-token lifetime")
	a.fs.Int64Var(&version, "version", 0, "expected current version (0: any)")
	pos, err := a.parse(args, 1, true)
	if err != nil {
		return err
	}
	upd := admin.APIUpdate{Version: version}
	if a.set("identifier") {
		upd.Identifier = &ident
	}
	if a.set("name") {
		upd.Name = &name
	}
	if a.set("alg") {
		upd.SigningAlg = &alg
	}
	if a.set("ttl") {
		upd.AccessTokenTTL = &ttl
	}
	e, err := c.openAdmin(ctx, a.cfg, false)
	if err != nil {
		return err
	}
	defer e.Close()
	api, err := e.svc.UpdateAPI(ctx, admin.CLI(), a.tenant, pos[0], upd)
	if err != nil {
		return err
	}
	return printAPI(c.stdout, a.output, api)
}

func apiDelete(ctx context.Context, c *cli, args []string) error {
	a, err := c.newAdmin("api delete", "api delete <identifier|id> --tenant T [flags]", true, false)
	if err != nil {
		return err
	}
	pos, err := a.parse(args, 1, true)
	if err != nil {
		return err
	}
	e, err := c.openAdmin(ctx, a.cfg, false)
	if err != nil {
		return err
	}
	defer e.Close()
	if err := e.svc.DeleteAPI(ctx, admin.CLI(), a.tenant, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "deleted API %s\n", pos[0])
	return nil
}
