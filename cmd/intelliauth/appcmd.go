package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/policy"
)

// The app and explain commands call /api/v1/applications and /api/v1/explain;
// the issuer names the tenant. Reads need applications:read, changes
// applications:write — and each command's token carries only that one.

// appVerbs are the subcommands of app, in the order help lists them.
func appVerbs() []verb {
	return []verb{
		{"create", "register an application (spa, web, native or m2m); prints its secret once", appCreate},
		{"list", "list the applications, by client_id", appList},
		{"get", "show one application", appGet},
		{"update", "change an application's settings", appUpdate},
		{"delete", "delete an application", appDelete},
		{"allow", "add scopes to an application's allowlist", appAllow},
		{"disallow", "remove scopes from an application's allowlist", appDisallow},
		{"set-scopes", "replace an application's allowlist", appSetScopes},
		{"rotate-secret", "give a confidential application a new secret, the old one valid for a grace period", appRotateSecret},
	}
}

// appPath is the API path of one application (or of a sub-resource).
func appPath(clientID string, sub ...string) string {
	p := "/applications/" + url.PathEscape(clientID)
	for _, s := range sub {
		p += "/" + s
	}
	return p
}

// appCreateBody is the body of POST /applications; empty members are left
// out so the server applies its defaults (grant types by type, the
// audience's token lifetime).
type appCreateBody struct {
	ClientID               string   `json:"client_id,omitempty"`
	Name                   string   `json:"name,omitempty"`
	Type                   string   `json:"type"`
	RedirectURIs           []string `json:"redirect_uris,omitempty"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	AllowedOrigins         []string `json:"allowed_origins,omitempty"`
	GrantTypes             []string `json:"grant_types,omitempty"`
	AllowedScopes          []string `json:"allowed_scopes,omitempty"`
	ScopePolicy            string   `json:"scope_policy,omitempty"`
	Consent                string   `json:"consent,omitempty"`
	MFA                    string   `json:"mfa,omitempty"`
	AccessTokenTTL         *string  `json:"access_token_ttl,omitempty"`
	RefreshIdleTTL         *string  `json:"refresh_idle_ttl,omitempty"`
	RefreshAbsoluteTTL     *string  `json:"refresh_absolute_ttl,omitempty"`
}

// appTTLFlags are the lifetime overrides of create and update.
type appTTLFlags struct{ access, idle, absolute time.Duration }

func (f *appTTLFlags) register(a *apiArgs, zero string) {
	a.fs.DurationVar(&f.access, "access-token-ttl", 0, "access-token lifetime override ("+zero+"the audience's)")
	a.fs.DurationVar(&f.idle, "refresh-idle-ttl", 0, "refresh-token idle lifetime override ("+zero+"the tenant's default)")
	a.fs.DurationVar(&f.absolute, "refresh-absolute-ttl", 0, "refresh-token absolute lifetime override ("+zero+"the tenant's default)")
}

// durationIfSet is the duration of a flag as the API writes it, nil when
// the flag was not given.
func durationIfSet(a *apiArgs, name string, d time.Duration) *string {
	if !a.set(name) {
		return nil
	}
	s := d.String()
	return &s
}

// appMFAUsage is the help of --mfa.
const appMFAUsage = "second factor at sign-in: inherit (the tenant's policy, see: settings mfa) or required (every sign-in to this application)"

func appCreate(ctx context.Context, c *cli, args []string) error {
	var in appCreateBody
	var redirects, grants, scopes, logouts, origins listFlag
	var ttl appTTLFlags
	return c.runAPI(ctx, args, apiCmd{
		name: "app create", usage: "app create [client_id] --type spa|web|native|m2m [flags]",
		output: true, nargs: -1, scopes: []string{"applications:write"},
		flags: func(a *apiArgs) {
			a.fs.StringVar(&in.Name, "name", "", "display name (default: the client ID)")
			a.fs.StringVar(&in.Type, "type", "", "application type: spa, web, native or m2m (required)")
			a.fs.Var(&redirects, "redirect-uri", "exact redirect URI (repeatable)")
			a.fs.Var(&logouts, "post-logout-uri", "exact post-logout redirect URI for RP-initiated logout (repeatable)")
			a.fs.Var(&origins, "origin", "browser origin allowed cross-origin (repeatable; default: the redirect URIs' origins)")
			a.fs.Var(&grants, "grant-type", "grant type (repeatable; default by type: m2m client_credentials, others authorization_code+refresh_token)")
			a.fs.Var(&scopes, "scopes", "initial allowlist (space or comma separated; repeatable)")
			a.fs.StringVar(&in.ScopePolicy, "scope-policy", model.PolicyStrict, "strict (refuse requests beyond the allowlist) or permissive (drop those scopes)")
			a.fs.StringVar(&in.Consent, "consent", model.ConsentRequired, "required or implicit (first-party)")
			a.fs.StringVar(&in.MFA, "mfa", model.AppMFAInherit, appMFAUsage)
			ttl.register(a, "default: ")
		},
		check: func(a *apiArgs, pos []string) error {
			if len(pos) > 1 {
				return fmt.Errorf("%w: at most one client_id", errUsage)
			}
			if len(pos) == 1 {
				in.ClientID = pos[0]
			}
			if in.Type == "" {
				return fmt.Errorf("%w: --type is required (spa, web, native or m2m)", errUsage)
			}
			in.RedirectURIs, in.GrantTypes, in.AllowedScopes = redirects, grants, scopes
			in.PostLogoutRedirectURIs, in.AllowedOrigins = logouts, origins
			in.AccessTokenTTL = durationIfSet(a, "access-token-ttl", ttl.access)
			in.RefreshIdleTTL = durationIfSet(a, "refresh-idle-ttl", ttl.idle)
			in.RefreshAbsoluteTTL = durationIfSet(a, "refresh-absolute-ttl", ttl.absolute)
			return nil
		},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, _ []string) error {
			var created struct {
				admin.ApplicationDoc
				ClientSecret string `json:"client_secret"`
			}
			res, err := cl.call(ctx, request{method: "POST", path: "/applications", body: in}, &created)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error {
				printApp(c.stdout, created.ApplicationDoc)
				if created.ClientSecret != "" {
					fmt.Fprintf(c.stdout, "client_secret   %s\n\nThe secret is shown only now; it is stored hashed. Rotate it with: app rotate-secret %s\n",
						created.ClientSecret, created.ClientID)
				}
				return nil
			})
		},
	})
}

// printApp prints an application. An m2m application has no user: its
// redirect URIs, consent mode and second-factor setting mean nothing, so
// they are not shown (--output json still has them, as the API sends
// them).
func printApp(w io.Writer, app admin.ApplicationDoc) {
	m2m := app.Type == string(model.AppM2M)
	fmt.Fprintf(w, "client_id       %s\nname            %s\ntype            %s\ngrant types     %s\n", app.ClientID, app.Name, app.Type,
		strings.Join(app.GrantTypes, " "))
	if !m2m {
		fmt.Fprintf(w, "redirect URIs   %s\n", joined(app.RedirectURIs))
	}
	if len(app.PostLogoutURIs) > 0 {
		fmt.Fprintf(w, "post-logout     %s\n", joined(app.PostLogoutURIs))
	}
	if len(app.AllowedOrigins) > 0 {
		fmt.Fprintf(w, "origins         %s\n", joined(app.AllowedOrigins))
	}
	fmt.Fprintf(w, "allowed scopes  %s\nscope policy    %s\n", joined(app.AllowedScopes), app.ScopePolicy)
	if !m2m {
		fmt.Fprintf(w, "consent         %s\nmfa             %s\n", app.Consent, app.MFA)
	}
	for _, t := range []struct{ label, v string }{
		{"access TTL      ", app.AccessTokenTTL}, {"refresh idle    ", app.RefreshIdleTTL}, {"refresh max     ", app.RefreshAbsoluteTTL},
	} {
		if t.v != "" {
			fmt.Fprintf(w, "%s%s\n", t.label, t.v)
		}
	}
	fmt.Fprintf(w, "version         %d\n", app.Version)
}

func appList(ctx context.Context, c *cli, args []string) error {
	var p pageFlags
	return c.runAPI(ctx, args, apiCmd{
		name: "app list", usage: "app list [flags]", output: true, scopes: []string{"applications:read"},
		flags: func(a *apiArgs) { p.register(a.fs, "applications") },
		check: func(*apiArgs, []string) error { return p.check() },
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, _ []string) error {
			var l listPage[admin.ApplicationDoc]
			res, err := cl.call(ctx, request{method: "GET", path: "/applications", query: p.query()}, &l)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error {
				table(c.stdout, "CLIENT_ID\tTYPE\tPOLICY\tALLOWED SCOPES", func(w io.Writer) {
					for _, x := range l.Items {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", x.ClientID, x.Type, x.ScopePolicy, joined(x.AllowedScopes))
					}
				})
				printPage(c.stdout, l, "applications")
				return nil
			})
		},
	})
}

func appGet(ctx context.Context, c *cli, args []string) error {
	return c.runAPI(ctx, args, apiCmd{
		name: "app get", usage: "app get <client_id> [flags]", output: true, nargs: 1, scopes: []string{"applications:read"},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, pos []string) error {
			var app admin.ApplicationDoc
			res, err := cl.call(ctx, request{method: "GET", path: appPath(pos[0])}, &app)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error { printApp(c.stdout, app); return nil })
		},
	})
}

func appUpdate(ctx context.Context, c *cli, args []string) error {
	var name, policy, consent, mfa string
	var redirects, grants, logouts, origins listFlag
	var ttl appTTLFlags
	var version int64
	return c.runAPI(ctx, args, apiCmd{
		name: "app update", usage: "app update <client_id> [flags]", output: true, nargs: 1, scopes: []string{"applications:write"},
		flags: func(a *apiArgs) {
			a.fs.StringVar(&name, "name", "", "new display name")
			a.fs.Var(&redirects, "redirect-uri", "replace the redirect URIs (repeatable)")
			a.fs.Var(&logouts, "post-logout-uri", "replace the post-logout redirect URIs (repeatable; \"\" clears)")
			a.fs.Var(&origins, "origin", "replace the allowed browser origins (repeatable; \"\" clears)")
			a.fs.Var(&grants, "grant-type", "replace the grant types (repeatable)")
			a.fs.StringVar(&policy, "scope-policy", "", "strict or permissive")
			a.fs.StringVar(&consent, "consent", "", "required or implicit")
			a.fs.StringVar(&mfa, "mfa", "", appMFAUsage)
			ttl.register(a, "0: ")
			versionFlag(a, &version)
		},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, pos []string) error {
			// Only the flags given go into the PATCH: absent members stay.
			body := map[string]any{}
			setIf(a, body, "name", "name", name)
			setIf(a, body, "redirect-uri", "redirect_uris", nonNilList(redirects))
			setIf(a, body, "post-logout-uri", "post_logout_redirect_uris", nonNilList(logouts))
			setIf(a, body, "origin", "allowed_origins", nonNilList(origins))
			setIf(a, body, "grant-type", "grant_types", nonNilList(grants))
			setIf(a, body, "scope-policy", "scope_policy", policy)
			setIf(a, body, "consent", "consent", consent)
			setIf(a, body, "mfa", "mfa", mfa)
			setIf(a, body, "access-token-ttl", "access_token_ttl", ttl.access.String())
			setIf(a, body, "refresh-idle-ttl", "refresh_idle_ttl", ttl.idle.String())
			setIf(a, body, "refresh-absolute-ttl", "refresh_absolute_ttl", ttl.absolute.String())
			var app admin.ApplicationDoc
			res, err := cl.call(ctx, request{method: "PATCH", path: appPath(pos[0]), body: body, ifMatch: ifMatch(version)}, &app)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error { printApp(c.stdout, app); return nil })
		},
	})
}

func appDelete(ctx context.Context, c *cli, args []string) error {
	var version int64
	return c.runAPI(ctx, args, apiCmd{
		name: "app delete", usage: "app delete <client_id> [flags]", nargs: 1, scopes: []string{"applications:write"},
		flags: func(a *apiArgs) { versionFlag(a, &version) },
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, pos []string) error {
			if _, err := cl.do(ctx, request{method: "DELETE", path: appPath(pos[0]), ifMatch: ifMatchIfSet(version)}); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "deleted application %s\n", pos[0])
			return nil
		},
	})
}

// allowlistDoc is the answer of the allowed-scopes routes.
type allowlistDoc struct {
	ClientID      string   `json:"client_id"`
	AllowedScopes []string `json:"allowed_scopes"`
	Version       int64    `json:"version"`
}

// allowlistRequest builds the call of one allowlist change from the scopes
// named on the command line.
type allowlistRequest func(clientID string, scopes []string, version int64) request

// appAllowlist runs allow, disallow or set-scopes: each is ONE write on the
// server, checked against --version (If-Match; * when not given).
func appAllowlist(ctx context.Context, c *cli, args []string, verb, usage string, minScopes int, build allowlistRequest) error {
	var version int64
	var scopes []string
	return c.runAPI(ctx, args, apiCmd{
		name: "app " + verb, usage: usage, output: true, nargs: -1, scopes: []string{"applications:write"},
		flags: func(a *apiArgs) { versionFlag(a, &version) },
		check: func(a *apiArgs, pos []string) error {
			if len(pos) < 1+minScopes {
				a.fs.Usage()
				return fmt.Errorf("%w: need a client_id and at least %d scope(s)", errUsage, minScopes)
			}
			for _, p := range pos[1:] {
				scopes = append(scopes, splitList(p)...)
			}
			return nil
		},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, pos []string) error {
			var l allowlistDoc
			res, err := cl.call(ctx, build(pos[0], scopes, version), &l)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error {
				fmt.Fprintf(c.stdout, "%s allowed scopes: %s\n", l.ClientID, joined(l.AllowedScopes))
				return nil
			})
		},
	})
}

func appAllow(ctx context.Context, c *cli, args []string) error {
	return appAllowlist(ctx, c, args, "allow", "app allow <client_id> <scope>... [flags]", 1,
		func(id string, scopes []string, v int64) request {
			return request{method: "PATCH", path: appPath(id, "allowed-scopes"), body: map[string][]string{"add": scopes}, ifMatch: ifMatch(v)}
		})
}

func appDisallow(ctx context.Context, c *cli, args []string) error {
	return appAllowlist(ctx, c, args, "disallow", "app disallow <client_id> <scope>... [flags]", 1,
		func(id string, scopes []string, v int64) request {
			return request{method: "PATCH", path: appPath(id, "allowed-scopes"), body: map[string][]string{"remove": scopes}, ifMatch: ifMatch(v)}
		})
}

func appSetScopes(ctx context.Context, c *cli, args []string) error {
	return appAllowlist(ctx, c, args, "set-scopes", "app set-scopes <client_id> [scope]... [flags] (no scopes empties the allowlist)", 0,
		func(id string, scopes []string, v int64) request {
			return request{method: "PUT", path: appPath(id, "allowed-scopes"), body: map[string][]string{"allowed_scopes": nonNilList(scopes)}, ifMatch: ifMatch(v)}
		})
}

func appRotateSecret(ctx context.Context, c *cli, args []string) error {
	var grace time.Duration
	return c.runAPI(ctx, args, apiCmd{
		name: "app rotate-secret", usage: "app rotate-secret <client_id> [--grace 24h] [flags]", output: true, nargs: 1,
		scopes: []string{"applications:write"},
		flags: func(a *apiArgs) {
			a.fs.DurationVar(&grace, "grace", 24*time.Hour, "how long the previous secret keeps working (0: stops now; at most 720h)")
		},
		check: func(*apiArgs, []string) error {
			if grace < 0 {
				return fmt.Errorf("%w: --grace must not be negative", errUsage)
			}
			return nil
		},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, pos []string) error {
			var r struct {
				ClientID           string    `json:"client_id"`
				ClientSecret       string    `json:"client_secret"`
				PreviousValidUntil time.Time `json:"previous_valid_until"`
			}
			res, err := cl.call(ctx, request{method: "POST", path: appPath(pos[0], "secret"),
				body: map[string]string{"grace_period": grace.String()}}, &r)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error {
				fmt.Fprintf(c.stdout, "client_id      %s\nclient_secret  %s\nprevious secrets stop working at %s\n\nThe secret is shown only now; it is stored hashed.\n",
					r.ClientID, r.ClientSecret, r.PreviousValidUntil.Format(time.RFC3339))
				return nil
			})
		},
	})
}

// ---- explain ----

func runExplain(ctx context.Context, c *cli, args []string) error {
	var in struct {
		ClientID string `json:"client_id"`
		Audience string `json:"audience,omitempty"`
		Scope    string `json:"scope"`
		User     string `json:"user,omitempty"`
		MFA      bool   `json:"mfa,omitempty"`
	}
	return c.runAPI(ctx, args, apiCmd{
		fields: map[string]string{"client_id": "client"},
		name:   "explain", usage: "explain --client ID [--audience AUD] [--scope \"a b\"] [--user USER [--mfa]] [flags]",
		output: true, nargs: 0, scopes: []string{"applications:read"},
		flags: func(a *apiArgs) {
			a.fs.StringVar(&in.ClientID, "client", "", "client_id of the application (required)")
			a.fs.StringVar(&in.Audience, "audience", "", "target API identifier (like the audience/resource parameter)")
			a.fs.StringVar(&in.Scope, "scope", "", "the scope parameter as a client would send it")
			a.fs.StringVar(&in.User, "user", "", "username, email or user ID: explain that user's authorization-code request (their roles and consent count)")
			a.fs.BoolVar(&in.MFA, "mfa", false, "with --user: the user's sign-in passed a second factor (else a scope that requires one is dropped with step_up_required)")
		},
		check: func(*apiArgs, []string) error {
			if in.ClientID == "" {
				return fmt.Errorf("%w: --client is required", errUsage)
			}
			if in.MFA && in.User == "" {
				return fmt.Errorf("%w: --mfa describes a user's sign-in; give --user too", errUsage)
			}
			return nil
		},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, _ []string) error {
			var ex admin.Explanation
			res, err := cl.call(ctx, request{method: "POST", path: "/explain", body: in}, &ex)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error { printExplanation(c.stdout, ex); return nil })
		},
	})
}

func printExplanation(w io.Writer, ex admin.Explanation) {
	fmt.Fprintf(w, "client    %s (%s)\naudience  %s\n", ex.ClientID, ex.ScopePolicy, dashIfEmpty(ex.Audience))
	if u := ex.User; u != nil {
		fmt.Fprintf(w, "user      %s (%s, %s)\nentitled  %s\n", u.Username, u.ID, u.Status, joined(u.Entitled))
		if u.MFA {
			fmt.Fprintln(w, "sign-in   with a second factor")
		} else {
			fmt.Fprintln(w, "sign-in   password only (--mfa: with a second factor)")
		}
		if u.Consent == model.ConsentImplicit {
			fmt.Fprintln(w, "consented - (implicit consent: none needed)")
		} else {
			fmt.Fprintf(w, "consented %s\n", joined(u.Consented))
		}
	}
	fmt.Fprintln(w)
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
	if ex.TokenSize > 0 {
		fmt.Fprintf(w, "token size: %d bytes%s\n", ex.TokenSize, budgetVerdict(ex))
	}
}

// budgetVerdict says how an explained token stands against its API's
// token-size budget ("" when the API has none).
func budgetVerdict(ex admin.Explanation) string {
	if ex.OverBudget == nil {
		return ""
	}
	if *ex.OverBudget {
		return fmt.Sprintf(", OVER the API's budget of %d bytes by %d", ex.TokenSizeBudget, ex.TokenSize-ex.TokenSizeBudget)
	}
	return fmt.Sprintf(", within the API's budget of %d bytes", ex.TokenSizeBudget)
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
	case policy.StepUpRequired:
		return "step_up_required: needs a sign-in with a second factor (the user would be asked to step up)"
	case policy.NotConsented:
		return "not_consented: the user has not approved it"
	case policy.NotInGrant:
		return "not_in_grant: a refresh may not widen the grant"
	}
	return string(r)
}
