package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
)

// ---- scope ----

// scopeVerbs are the subcommands of scope, in the order help lists them.
func scopeVerbs() []verb {
	return []verb{
		{"create", "register a scope of an API", scopeCreate},
		{"list", "list the scopes, by name", scopeList},
		{"get", "show one scope and what it implies", scopeGet},
		{"update", "change a scope's description, implications or MFA requirement", scopeUpdate},
		{"rename", "rename a scope everywhere it is used, in one change", scopeRename},
		{"delete", "delete a scope and remove it from every allowlist, role and consent", scopeDelete},
		{"impact", "what renaming or deleting a scope would touch", scopeImpact},
	}
}

// requiresMFAUsage is the help of --requires-mfa.
const requiresMFAUsage = "grant the scope in user flows only to a sign-in that passed a second factor (step-up); --requires-mfa=false turns it off"

func scopeCreate(ctx context.Context, c *cli, args []string) error {
	var api, desc, display string
	var implies listFlag
	var mfa bool
	return c.runAPI(ctx, args, apiCmd{
		name: "scope create", usage: "scope create <name> --api API --description TEXT [flags]",
		output: true, nargs: 1, scopes: []string{"scopes:write"},
		flags: func(a *apiArgs) {
			a.fs.StringVar(&api, "api", "", "identifier (audience) or ID of the API defining the scope (required)")
			a.fs.StringVar(&desc, "description", "", "consent text, at most 120 characters (required)")
			a.fs.StringVar(&display, "display-name", "", "short display name")
			a.fs.Var(&implies, "implies", "scopes this one implies (space or comma separated; repeatable)")
			a.fs.BoolVar(&mfa, "requires-mfa", false, requiresMFAUsage)
		},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, pos []string) error {
			var sc admin.ScopeDoc
			res, err := cl.call(ctx, request{method: "POST", path: "/scopes", body: map[string]any{
				"name": pos[0], "api": api, "description": desc, "display_name": display, "implies": nonNilList(implies),
				"requires_mfa": mfa,
			}}, &sc)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error {
				fmt.Fprintf(c.stdout, "created scope %s (API %s); it is on no allowlist yet: app allow <client_id> %s\n", sc.Name, sc.API, sc.Name)
				if sc.RequiresMFA {
					fmt.Fprintln(c.stdout, "users get it only after a second factor (they are asked to step up at sign-in)")
				}
				return nil
			})
		},
	})
}

func scopeList(ctx context.Context, c *cli, args []string) error {
	var kind string
	var p pageFlags
	return c.runAPI(ctx, args, apiCmd{
		name: "scope list", usage: "scope list [--kind oidc|platform|custom] [flags]", output: true, scopes: []string{"scopes:read"},
		flags: func(a *apiArgs) {
			a.fs.StringVar(&kind, "kind", "", "only scopes of this kind: oidc, platform or custom")
			p.register(a.fs, "scopes")
		},
		check: func(*apiArgs, []string) error {
			switch model.ScopeKind(kind) {
			case "", model.KindOIDC, model.KindPlatform, model.KindCustom:
			default:
				return fmt.Errorf("%w: --kind must be oidc, platform or custom", errUsage)
			}
			return p.check()
		},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, _ []string) error {
			q := p.query()
			if kind != "" {
				q.Set("kind", kind)
			}
			var l listPage[admin.ScopeDoc]
			res, err := cl.call(ctx, request{method: "GET", path: "/scopes", query: q}, &l)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error {
				table(c.stdout, "NAME\tKIND\tAPI\tIMPLIES\tMFA\tDESCRIPTION", func(w io.Writer) {
					for _, s := range l.Items {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Kind, dashIfEmpty(s.API), joined(s.Implies), mfaText(s.RequiresMFA), s.Description)
					}
				})
				printPage(c.stdout, l, "scopes")
				return nil
			})
		},
	})
}

func scopeGet(ctx context.Context, c *cli, args []string) error {
	return c.runAPI(ctx, args, apiCmd{
		name: "scope get", usage: "scope get <name> [flags]", output: true, nargs: 1, scopes: []string{"scopes:read"},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, pos []string) error {
			var sc admin.ScopeDoc
			res, err := cl.call(ctx, request{method: "GET", path: "/scopes/" + url.PathEscape(pos[0])}, &sc)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error { return printScope(c.stdout, sc) })
		},
	})
}

func printScope(w io.Writer, sc admin.ScopeDoc) error {
	fmt.Fprintf(w, "name          %s\nkind          %s\napi           %s\ndisplay name  %s\ndescription   %s\nimplies       %s\nrequires MFA  %s\nversion       %d\n",
		sc.Name, sc.Kind, dashIfEmpty(sc.API), dashIfEmpty(sc.DisplayName), sc.Description, joined(sc.Implies), mfaText(sc.RequiresMFA), sc.Version)
	return nil
}

// mfaText shows whether a scope requires a second factor.
func mfaText(required bool) string {
	if required {
		return "yes"
	}
	return "no"
}

func scopeUpdate(ctx context.Context, c *cli, args []string) error {
	var desc, display, implies string
	var mfa bool
	var version int64
	return c.runAPI(ctx, args, apiCmd{
		name: "scope update", usage: "scope update <name> [--description TEXT] [--display-name TEXT] [--implies SCOPES] [--requires-mfa[=false]] [flags]",
		output: true, nargs: 1, scopes: []string{"scopes:write"},
		flags: func(a *apiArgs) {
			a.fs.StringVar(&desc, "description", "", "new consent text")
			a.fs.StringVar(&display, "display-name", "", "new display name")
			a.fs.StringVar(&implies, "implies", "", "replace the implied scopes (space or comma separated; \"\" clears)")
			a.fs.BoolVar(&mfa, "requires-mfa", false, requiresMFAUsage)
			versionFlag(a, &version)
		},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, pos []string) error {
			body := map[string]any{}
			setIf(a, body, "description", "description", desc)
			setIf(a, body, "display-name", "display_name", display)
			setIf(a, body, "implies", "implies", nonNilList(splitList(implies)))
			setIf(a, body, "requires-mfa", "requires_mfa", mfa)
			var sc admin.ScopeDoc
			res, err := cl.call(ctx, request{method: "PATCH", path: "/scopes/" + url.PathEscape(pos[0]), body: body, ifMatch: ifMatch(version)}, &sc)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error { return printScope(c.stdout, sc) })
		},
	})
}

func scopeRename(ctx context.Context, c *cli, args []string) error {
	var version int64
	return c.runAPI(ctx, args, apiCmd{
		name: "scope rename", usage: "scope rename <old> <new> [flags]", output: true, nargs: 2, scopes: []string{"scopes:write"},
		flags: func(a *apiArgs) { versionFlag(a, &version) },
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, pos []string) error {
			res, err := cl.call(ctx, request{method: "POST", path: "/scopes/" + url.PathEscape(pos[0]) + "/rename",
				body: map[string]string{"new_name": pos[1]}, ifMatch: ifMatchIfSet(version)}, nil)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error {
				fmt.Fprintf(c.stdout, "renamed %s to %s; allowlists, roles, consents and implications follow\n", pos[0], pos[1])
				return nil
			})
		},
	})
}

func scopeDelete(ctx context.Context, c *cli, args []string) error {
	var version int64
	return c.runAPI(ctx, args, apiCmd{
		name: "scope delete", usage: "scope delete <name> [flags]", output: true, nargs: 1, scopes: []string{"scopes:write"},
		flags: func(a *apiArgs) { versionFlag(a, &version) },
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, pos []string) error {
			var imp admin.ScopeImpact
			res, err := cl.call(ctx, request{method: "DELETE", path: "/scopes/" + url.PathEscape(pos[0]), ifMatch: ifMatchIfSet(version)}, &imp)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error {
				fmt.Fprintf(c.stdout, "deleted scope %s; removed from %d application(s): %s; %d role(s): %s; %d consent(s)\n", pos[0],
					len(imp.Applications), joined(imp.Applications), len(imp.Roles), joined(imp.Roles), imp.Consents)
				return nil
			})
		},
	})
}

func scopeImpact(ctx context.Context, c *cli, args []string) error {
	return c.runAPI(ctx, args, apiCmd{
		name: "scope impact", usage: "scope impact <name> [flags]", output: true, nargs: 1, scopes: []string{"scopes:read"},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, pos []string) error {
			var imp admin.ScopeImpact
			res, err := cl.call(ctx, request{method: "GET", path: "/scopes/" + url.PathEscape(pos[0]) + "/impact"}, &imp)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error {
				fmt.Fprintf(c.stdout, "scope              %s (%s)\ndeletable          %t\napplications       %d: %s\nroles              %d: %s\nconsents           %d\ngrants in 30 days  %d\n",
					imp.Scope.Name, imp.Scope.Kind, imp.Deletable, len(imp.Applications), joined(imp.Applications), len(imp.Roles), joined(imp.Roles), imp.Consents, imp.GrantsLast30Days)
				return nil
			})
		},
	})
}

// ---- api ----

// apiVerbs are the subcommands of api, in the order help lists them.
func apiVerbs() []verb {
	return []verb{
		{"create", "register an API (an audience of tokens)", apiCreate},
		{"list", "list the APIs, by identifier", apiList},
		{"get", "show one API", apiGet},
		{"update", "change an API's identifier, name, signing algorithm, token lifetime or size budget", apiUpdate},
		{"delete", "delete an API that has no scopes left", apiDelete},
	}
}

// tokenSizeBudgetUsage is the help of --token-size-budget.
var tokenSizeBudgetUsage = fmt.Sprintf("access-token size budget in bytes: 0 for none, else %d–%d; a longer token is still issued, flagged in explain and its token_issued event and counted", model.MinTokenSizeBudget, model.MaxTokenSizeBudget)

func apiCreate(ctx context.Context, c *cli, args []string) error {
	var id, name, alg string
	var ttl time.Duration
	var budget int
	return c.runAPI(ctx, args, apiCmd{
		name: "api create", usage: "api create <identifier> [flags]", output: true, nargs: 1, scopes: []string{"scopes:write"},
		flags: func(a *apiArgs) {
			a.fs.StringVar(&id, "id", "", "stable API ID (default: generated)")
			a.fs.StringVar(&name, "name", "", "display name (default: the identifier)")
			a.fs.StringVar(&alg, "alg", model.AlgES256, "access-token signing algorithm: ES256 or RS256")
			a.fs.DurationVar(&ttl, "ttl", model.DefaultAccessTokenTTL, "access-token lifetime (1m–24h)")
			a.fs.IntVar(&budget, "token-size-budget", 0, tokenSizeBudgetUsage)
		},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, pos []string) error {
			var api admin.APIDoc
			res, err := cl.call(ctx, request{method: "POST", path: "/apis", body: map[string]any{
				"identifier": pos[0], "id": id, "name": name, "signing_alg": alg, "access_token_ttl": ttl.String(),
				"token_size_budget": budget,
			}}, &api)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error { return printAPI(c.stdout, api) })
		},
	})
}

func printAPI(w io.Writer, api admin.APIDoc) error {
	fmt.Fprintf(w, "id          %s\nidentifier  %s\nname        %s\nalg         %s\nttl         %s\nbudget      %s\nplatform    %t\nversion     %d\n",
		api.ID, api.Identifier, api.Name, api.SigningAlg, api.AccessTokenTTL, budgetText(api.TokenSizeBudget), api.Platform, api.Version)
	return nil
}

// budgetText shows a token-size budget: "512 bytes", or "none".
func budgetText(b int) string {
	if b == 0 {
		return "none"
	}
	return fmt.Sprintf("%d bytes", b)
}

func apiList(ctx context.Context, c *cli, args []string) error {
	var p pageFlags
	return c.runAPI(ctx, args, apiCmd{
		name: "api list", usage: "api list [flags]", output: true, scopes: []string{"scopes:read"},
		flags: func(a *apiArgs) { p.register(a.fs, "APIs") },
		check: func(*apiArgs, []string) error { return p.check() },
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, _ []string) error {
			var l listPage[admin.APIDoc]
			res, err := cl.call(ctx, request{method: "GET", path: "/apis", query: p.query()}, &l)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error {
				table(c.stdout, "IDENTIFIER\tID\tNAME\tALG\tTTL\tBUDGET", func(w io.Writer) {
					for _, x := range l.Items {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", x.Identifier, x.ID, x.Name, x.SigningAlg, x.AccessTokenTTL, budgetText(x.TokenSizeBudget))
					}
				})
				printPage(c.stdout, l, "APIs")
				return nil
			})
		},
	})
}

func apiGet(ctx context.Context, c *cli, args []string) error {
	return c.runAPI(ctx, args, apiCmd{
		name: "api get", usage: "api get <identifier|id> [flags]", output: true, nargs: 1, scopes: []string{"scopes:read"},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, pos []string) error {
			var api admin.APIDoc
			res, err := cl.call(ctx, request{method: "GET", path: "/apis/" + url.PathEscape(pos[0])}, &api)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error { return printAPI(c.stdout, api) })
		},
	})
}

func apiUpdate(ctx context.Context, c *cli, args []string) error {
	var ident, name, alg string
	var ttl time.Duration
	var budget int
	var version int64
	return c.runAPI(ctx, args, apiCmd{
		name: "api update", usage: "api update <identifier|id> [--identifier X] [--name N] [--alg A] [--ttl D] [--token-size-budget N] [flags]",
		output: true, nargs: 1, scopes: []string{"scopes:write"},
		flags: func(a *apiArgs) {
			a.fs.StringVar(&ident, "identifier", "", "new audience identifier")
			a.fs.StringVar(&name, "name", "", "new display name")
			a.fs.StringVar(&alg, "alg", "", "new signing algorithm: ES256 or RS256")
			a.fs.DurationVar(&ttl, "ttl", 0, "new access-token lifetime")
			a.fs.IntVar(&budget, "token-size-budget", 0, "new "+tokenSizeBudgetUsage)
			versionFlag(a, &version)
		},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, pos []string) error {
			body := map[string]any{}
			setIf(a, body, "identifier", "identifier", ident)
			setIf(a, body, "name", "name", name)
			setIf(a, body, "alg", "signing_alg", alg)
			setIf(a, body, "ttl", "access_token_ttl", ttl.String())
			setIf(a, body, "token-size-budget", "token_size_budget", budget)
			var api admin.APIDoc
			res, err := cl.call(ctx, request{method: "PATCH", path: "/apis/" + url.PathEscape(pos[0]), body: body, ifMatch: ifMatch(version)}, &api)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error { return printAPI(c.stdout, api) })
		},
	})
}

func apiDelete(ctx context.Context, c *cli, args []string) error {
	var version int64
	return c.runAPI(ctx, args, apiCmd{
		name: "api delete", usage: "api delete <identifier|id> [flags]", nargs: 1, scopes: []string{"scopes:write"},
		flags: func(a *apiArgs) { versionFlag(a, &version) },
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, pos []string) error {
			if _, err := cl.do(ctx, request{method: "DELETE", path: "/apis/" + url.PathEscape(pos[0]), ifMatch: ifMatchIfSet(version)}); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "deleted API %s\n", pos[0])
			return nil
		},
	})
}

// ---- shared by the API commands ----

// versionFlag registers --version, the optimistic-concurrency check.
func versionFlag(a *apiArgs, v *int64) {
	a.fs.Int64Var(v, "version", 0, "expected current version (sent as If-Match; a stale one fails with 412 and changes nothing; 0: any)")
}

// ifMatchIfSet is the If-Match of a delete or rename: none unless --version
// was given (they accept one but do not require it).
func ifMatchIfSet(version int64) string {
	if version == 0 {
		return ""
	}
	return ifMatch(version)
}

// setIf puts v under member in a PATCH body when the flag was given: absent
// members stay as they are.
func setIf(a *apiArgs, body map[string]any, flagName, member string, v any) {
	if a.set(flagName) {
		body[member] = v
	}
}

// nonNilList sends an empty JSON array rather than null.
func nonNilList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// query is the page of a list request.
func (p *pageFlags) query() url.Values {
	return url.Values{"page": {strconv.Itoa(p.page)}, "per_page": {strconv.Itoa(p.perPage)}}
}

// printPage prints where a table of a list is and, while later pages
// remain, how to get the next one (as audit search does with its cursor).
func printPage[T any](w io.Writer, l listPage[T], what string) {
	fmt.Fprintf(w, "page %d of %d (%d %s)\n", l.Page, l.pages(), l.Total, what)
	if l.Page < l.pages() {
		fmt.Fprintf(w, "more: --page %d (the same command with it shows the next page)\n", l.Page+1)
	}
}
