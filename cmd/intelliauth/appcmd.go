package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/policy"
	"github.com/intelliauth/intelliauth/internal/token"
)

func runApp(ctx context.Context, c *cli, args []string) error {
	return subcommand(ctx, c, "app", args, map[string]func(context.Context, *cli, []string) error{
		"create": appCreate, "list": appList, "get": appGet, "update": appUpdate, "delete": appDelete,
		"allow": appAllow, "disallow": appDisallow, "set-scopes": appSetScopes, "rotate-secret": appRotateSecret,
	}, []string{"create", "list", "get", "update", "delete", "allow", "disallow", "set-scopes", "rotate-secret"})
}

func appCreate(ctx context.Context, c *cli, args []string) error {
	var in admin.ApplicationInput
	var typ string
	var redirects, grants, scopes, logouts, origins listFlag
	return c.runAdmin(ctx, args, adminCmd{
		name: "app create", usage: "app create [client_id] --tenant T --type spa|web|native|m2m [flags]",
		tenant: true, output: true, nargs: -1,
		flags: func(a *adminArgs) {
			a.fs.StringVar(&in.Name, "name", "", "display name (default: the client ID)")
			a.fs.StringVar(&typ, "type", "", "application type: spa, web, native or m2m (required)")
			a.fs.Var(&redirects, "redirect-uri", "exact redirect URI (repeatable)")
			a.fs.Var(&logouts, "post-logout-uri", "exact post-logout redirect URI for RP-initiated logout (repeatable)")
			a.fs.Var(&origins, "origin", "browser origin allowed cross-origin (repeatable; default: the redirect URIs' origins)")
			a.fs.Var(&grants, "grant-type", "grant type (repeatable; default by type: m2m client_credentials, others authorization_code+refresh_token)")
			a.fs.Var(&scopes, "scopes", "initial allowlist (space or comma separated; repeatable)")
			a.fs.StringVar(&in.ScopePolicy, "scope-policy", model.PolicyStrict, "strict (refuse requests beyond the allowlist) or permissive (drop those scopes)")
			a.fs.StringVar(&in.Consent, "consent", model.ConsentRequired, "required or implicit (first-party)")
			a.fs.DurationVar(&in.AccessTokenTTL, "access-token-ttl", 0, "override the audience's access-token lifetime")
		},
		check: func(_ *adminArgs, pos []string) error {
			if len(pos) > 1 {
				return fmt.Errorf("%w: at most one client_id", errUsage)
			}
			if len(pos) == 1 {
				in.ClientID = pos[0]
			}
			if typ == "" {
				return fmt.Errorf("%w: --type is required (spa, web, native or m2m)", errUsage)
			}
			in.Type, in.RedirectURIs, in.GrantTypes, in.AllowedScopes = model.AppType(typ), redirects, grants, scopes
			in.PostLogoutRedirectURIs, in.AllowedOrigins = logouts, origins
			return nil
		},
		call: func(a *adminArgs, svc *admin.Service, _ []string) error {
			res, err := svc.CreateApplication(ctx, admin.CLI(), a.tenant, in)
			if err != nil {
				return err
			}
			if a.output == "json" {
				return writeJSON(c.stdout, struct {
					admin.ApplicationDoc
					ClientSecret string `json:"client_secret,omitempty"`
				}{admin.NewApplicationDoc(res.Application), res.Secret})
			}
			if err := printApp(c.stdout, "table", res.Application); err != nil {
				return err
			}
			if res.Secret != "" {
				fmt.Fprintf(c.stdout, "client_secret   %s\n\nThe secret is shown only now; it is stored hashed. Rotate it with: app rotate-secret %s\n", res.Secret, res.Application.ClientID)
			}
			return nil
		},
	})
}

func printApp(w io.Writer, output string, app model.Application) error {
	if output == "json" {
		return writeJSON(w, admin.NewApplicationDoc(app))
	}
	fmt.Fprintf(w, "client_id       %s\nname            %s\ntype            %s\ngrant types     %s\nredirect URIs   %s\n", app.ClientID, app.Name, app.Type,
		strings.Join(app.GrantTypes, " "), joined(app.RedirectURIs))
	if len(app.PostLogoutRedirectURIs) > 0 {
		fmt.Fprintf(w, "post-logout     %s\n", joined(app.PostLogoutRedirectURIs))
	}
	if len(app.AllowedOrigins) > 0 {
		fmt.Fprintf(w, "origins         %s\n", joined(app.AllowedOrigins))
	}
	fmt.Fprintf(w, "allowed scopes  %s\nscope policy    %s\nconsent         %s\nversion         %d\n",
		joined(app.AllowedScopes), app.ScopePolicy, app.Consent, app.Version)
	return nil
}

func appList(ctx context.Context, c *cli, args []string) error {
	var p pageFlags
	return c.runAdmin(ctx, args, adminCmd{
		name: "app list", usage: "app list --tenant T [flags]", tenant: true, output: true,
		flags: func(a *adminArgs) { p.register(a.fs, "applications") },
		check: func(*adminArgs, []string) error { return p.check() },
		call: func(a *adminArgs, svc *admin.Service, _ []string) error {
			res, err := svc.ListApplications(ctx, admin.CLI(), a.tenant, p.store())
			if err != nil {
				return err
			}
			if a.output == "json" {
				return writeJSON(c.stdout, map[string]any{"applications": docsOf(res.Applications, admin.NewApplicationDoc), "total": res.Total, "page": p.page, "per_page": res.Page.Limit})
			}
			table(c.stdout, "CLIENT_ID\tTYPE\tPOLICY\tALLOWED SCOPES", func(w io.Writer) {
				for _, x := range res.Applications {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", x.ClientID, x.Type, x.ScopePolicy, joined(x.AllowedScopes))
				}
			})
			return nil
		},
	})
}

func appGet(ctx context.Context, c *cli, args []string) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "app get", usage: "app get <client_id> --tenant T [flags]", tenant: true, output: true, nargs: 1,
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			app, err := svc.GetApplication(ctx, admin.CLI(), a.tenant, pos[0])
			if err != nil {
				return err
			}
			return printApp(c.stdout, a.output, app)
		},
	})
}

func appUpdate(ctx context.Context, c *cli, args []string) error {
	var name, policy, consent string
	var redirects, grants, logouts, origins listFlag
	var ttl time.Duration
	var version int64
	return c.runAdmin(ctx, args, adminCmd{
		name: "app update", usage: "app update <client_id> --tenant T [flags]", tenant: true, output: true, nargs: 1,
		flags: func(a *adminArgs) {
			a.fs.StringVar(&name, "name", "", "new display name")
			a.fs.Var(&redirects, "redirect-uri", "replace the redirect URIs (repeatable)")
			a.fs.Var(&logouts, "post-logout-uri", "replace the post-logout redirect URIs (repeatable; \"\" clears)")
			a.fs.Var(&origins, "origin", "replace the allowed browser origins (repeatable; \"\" clears)")
			a.fs.Var(&grants, "grant-type", "replace the grant types (repeatable)")
			a.fs.StringVar(&policy, "scope-policy", "", "strict or permissive")
			a.fs.StringVar(&consent, "consent", "", "required or implicit")
			a.fs.DurationVar(&ttl, "access-token-ttl", 0, "access-token lifetime override (0: the audience's)")
			a.fs.Int64Var(&version, "version", 0, "expected current version (0: any)")
		},
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			app, err := svc.UpdateApplication(ctx, admin.CLI(), a.tenant, pos[0], admin.ApplicationUpdate{
				Version:                version,
				Name:                   ifSet(a, "name", name),
				RedirectURIs:           ifSet(a, "redirect-uri", []string(redirects)),
				PostLogoutRedirectURIs: ifSet(a, "post-logout-uri", []string(logouts)),
				AllowedOrigins:         ifSet(a, "origin", []string(origins)),
				GrantTypes:             ifSet(a, "grant-type", []string(grants)),
				ScopePolicy:            ifSet(a, "scope-policy", policy),
				Consent:                ifSet(a, "consent", consent),
				AccessTokenTTL:         ifSet(a, "access-token-ttl", ttl),
			})
			if err != nil {
				return err
			}
			return printApp(c.stdout, a.output, app)
		},
	})
}

func appDelete(ctx context.Context, c *cli, args []string) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "app delete", usage: "app delete <client_id> --tenant T [flags]", tenant: true, nargs: 1,
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			if err := svc.DeleteApplication(ctx, admin.CLI(), a.tenant, pos[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "deleted application %s\n", pos[0])
			return nil
		},
	})
}

// allowlistChange runs one of the three allowlist use-cases.
type allowlistChange func(s *admin.Service, ctx context.Context, actor admin.Actor, tenantID, clientID string, scopes []string, version int64) (model.Application, error)

func appAllowlist(ctx context.Context, c *cli, args []string, verb, usage string, change allowlistChange, minScopes int) error {
	var version int64
	var scopes []string
	return c.runAdmin(ctx, args, adminCmd{
		name: "app " + verb, usage: usage, tenant: true, output: true, nargs: -1,
		flags: func(a *adminArgs) {
			a.fs.Int64Var(&version, "version", 0, "expected current version of the application (0: any)")
		},
		check: func(a *adminArgs, pos []string) error {
			if len(pos) < 1+minScopes {
				a.fs.Usage()
				return fmt.Errorf("%w: need a client_id and at least %d scope(s)", errUsage, minScopes)
			}
			for _, p := range pos[1:] {
				scopes = append(scopes, splitList(p)...)
			}
			return nil
		},
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			app, err := change(svc, ctx, admin.CLI(), a.tenant, pos[0], scopes, version)
			if err != nil {
				return err
			}
			if a.output == "json" {
				return writeJSON(c.stdout, admin.NewApplicationDoc(app))
			}
			fmt.Fprintf(c.stdout, "%s allowed scopes: %s\n", app.ClientID, joined(app.AllowedScopes))
			return nil
		},
	})
}

func appAllow(ctx context.Context, c *cli, args []string) error {
	return appAllowlist(ctx, c, args, "allow", "app allow <client_id> <scope>... --tenant T", (*admin.Service).AddAllowedScopes, 1)
}

func appDisallow(ctx context.Context, c *cli, args []string) error {
	return appAllowlist(ctx, c, args, "disallow", "app disallow <client_id> <scope>... --tenant T", (*admin.Service).RemoveAllowedScopes, 1)
}

func appSetScopes(ctx context.Context, c *cli, args []string) error {
	return appAllowlist(ctx, c, args, "set-scopes", "app set-scopes <client_id> [scope]... --tenant T (no scopes empties the allowlist)", (*admin.Service).SetAllowedScopes, 0)
}

func appRotateSecret(ctx context.Context, c *cli, args []string) error {
	var grace time.Duration
	return c.runAdmin(ctx, args, adminCmd{
		name: "app rotate-secret", usage: "app rotate-secret <client_id> --tenant T [--grace 24h]", tenant: true, output: true, nargs: 1,
		flags: func(a *adminArgs) {
			a.fs.DurationVar(&grace, "grace", 24*time.Hour, "how long the previous secret keeps working (0: stops now)")
		},
		call: func(a *adminArgs, svc *admin.Service, pos []string) error {
			r, err := svc.RotateSecret(ctx, admin.CLI(), a.tenant, pos[0], grace)
			if err != nil {
				return err
			}
			if a.output == "json" {
				return writeJSON(c.stdout, map[string]any{"client_id": pos[0], "client_secret": r.Secret, "secret_id": r.SecretID, "previous_valid_until": r.PreviousValidUntil})
			}
			fmt.Fprintf(c.stdout, "client_id      %s\nclient_secret  %s\nprevious secrets stop working at %s\n\nThe secret is shown only now; it is stored hashed.\n",
				pos[0], r.Secret, r.PreviousValidUntil.Format(time.RFC3339))
			return nil
		},
	})
}

// ---- keys ----

func runKeys(ctx context.Context, c *cli, args []string) error {
	return subcommand(ctx, c, "keys", args, map[string]func(context.Context, *cli, []string) error{
		"list": keysList, "rotate": keysRotate, "master": keysMaster,
	}, []string{"list", "rotate", "master"})
}

func printKeys(w io.Writer, output string, keys []admin.KeyDoc) error {
	if output == "json" {
		return writeJSON(w, keys)
	}
	table(w, "KID\tALG\tSTATE", func(tw io.Writer) {
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", k.KID, k.Alg, k.State)
		}
	})
	return nil
}

func keysList(ctx context.Context, c *cli, args []string) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "keys list", usage: "keys list --tenant T [flags]", tenant: true, output: true,
		call: func(a *adminArgs, svc *admin.Service, _ []string) error {
			keys, err := svc.ListKeys(ctx, admin.CLI(), a.tenant)
			if err != nil {
				return err
			}
			return printKeys(c.stdout, a.output, keys)
		},
	})
}

func keysRotate(ctx context.Context, c *cli, args []string) error {
	return c.runAdmin(ctx, args, adminCmd{
		name: "keys rotate", usage: "keys rotate --tenant T [flags]", tenant: true, output: true, needKey: true,
		call: func(a *adminArgs, svc *admin.Service, _ []string) error {
			keys, err := svc.RotateKeys(ctx, admin.CLI(), a.tenant)
			if err != nil {
				return err
			}
			if a.output == "table" {
				fmt.Fprintln(c.stdout, "rotated: the published next key now signs; the old one stays published as previous.")
			}
			return printKeys(c.stdout, a.output, keys)
		},
	})
}

// keysMaster prints a fresh master key; it touches no database.
func keysMaster(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("keys master", "keys master")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	b := make([]byte, token.MasterKeySize)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, base64.StdEncoding.EncodeToString(b))
	return nil
}

// ---- explain ----

func runExplain(ctx context.Context, c *cli, args []string) error {
	var client, audience, scope string
	return c.runAdmin(ctx, args, adminCmd{
		name: "explain", usage: "explain --tenant T --client ID [--audience AUD] --scope \"a b\" [flags]", tenant: true, output: true,
		flags: func(a *adminArgs) {
			a.fs.StringVar(&client, "client", "", "client_id of the application (required)")
			a.fs.StringVar(&audience, "audience", "", "target API identifier (like the audience/resource parameter)")
			a.fs.StringVar(&scope, "scope", "", "the scope parameter as a client would send it")
		},
		check: func(*adminArgs, []string) error {
			if client == "" {
				return fmt.Errorf("%w: --client is required", errUsage)
			}
			return nil
		},
		call: func(a *adminArgs, svc *admin.Service, _ []string) error {
			ex, err := svc.Explain(ctx, admin.CLI(), a.tenant, client, audience, scope)
			if err != nil {
				return err
			}
			if a.output == "json" {
				return writeJSON(c.stdout, ex)
			}
			printExplanation(c.stdout, ex)
			return nil
		},
	})
}

func printExplanation(w io.Writer, ex admin.Explanation) {
	fmt.Fprintf(w, "client    %s (%s)\naudience  %s\n\n", ex.ClientID, ex.ScopePolicy, dashIfEmpty(ex.Audience))
	table(w, "SCOPE\tGRANTED\tREASON", func(tw io.Writer) {
		for _, r := range ex.Results {
			g := "no"
			if r.Granted {
				g = "yes"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Scope, g, explainReason(r.Reason))
		}
	})
	if ex.Error != nil {
		fmt.Fprintf(w, "\nresult: refused with %s: %s\n", ex.Error.Code, ex.Error.Description)
	} else {
		fmt.Fprintf(w, "\nresult: token with scope %q\n", strings.Join(ex.Granted, " "))
	}
}

// explainReason turns a reason code into a sentence for the table.
func explainReason(r policy.Reason) string {
	switch r {
	case policy.Granted:
		return "granted: requested and allowed"
	case policy.Default:
		return "default: no scope requested, allowlisted for this audience"
	case policy.Implied:
		return "implied by a granted scope"
	case policy.NotRegistered:
		return "not_registered: unknown to this tenant"
	case policy.WrongAudience:
		return "wrong_audience: defined by another API"
	case policy.NotAllowed:
		return "not_allowed: not on the allowlist nor implied by it"
	case policy.NoUser:
		return "no_user: an OIDC scope needs a user"
	case policy.NotEntitled:
		return "not_entitled: the user's roles do not give it"
	case policy.NotConsented:
		return "not_consented: the user has not approved it"
	case policy.NotInGrant:
		return "not_in_grant: a refresh may not widen the grant"
	}
	return string(r)
}
