package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
)

// The settings commands call /api/v1/settings; the issuer names the
// tenant. The second-factor policy is the users' authority: reading it
// needs users:read, changing it users:write.

// settingsVerbs are the subcommands of settings, in the order help lists them.
func settingsVerbs() []verb {
	return []verb{
		{"mfa", "show the tenant's second-factor policy", settingsMFA},
		{"set-mfa", "set the second-factor policy: off, optional or required", settingsSetMFA},
	}
}

func settingsMFA(ctx context.Context, c *cli, args []string) error {
	return c.runAPI(ctx, args, apiCmd{
		name: "settings mfa", usage: "settings mfa [flags]", output: true, nargs: 0, scopes: []string{"users:read"},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, _ []string) error {
			var p admin.MFAPolicyDoc
			res, err := cl.call(ctx, request{method: "GET", path: "/settings/mfa"}, &p)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error { printMFAPolicy(c.stdout, p); return nil })
		},
	})
}

func settingsSetMFA(ctx context.Context, c *cli, args []string) error {
	var policy string
	var grace time.Duration
	var version int64
	return c.runAPI(ctx, args, apiCmd{
		name: "settings set-mfa", usage: "settings set-mfa --policy off|optional|required [--grace 72h] [flags]",
		output: true, nargs: 0, scopes: []string{"users:write"}, fields: map[string]string{"grace_period": "grace"},
		flags: func(a *apiArgs) {
			a.fs.StringVar(&policy, "policy", "", "off (no second factor at sign-in), optional (asked of users who enrolled one) or required (every user; those without one enrol at their next sign-in) (required)")
			a.fs.DurationVar(&grace, "grace", 0, "with --policy required: how long users without a second factor may still skip enrolling, from now (at most 2160h; 0: none)")
			versionFlag(a, &version)
		},
		check: func(a *apiArgs, _ []string) error {
			if !a.set("policy") {
				return fmt.Errorf("%w: --policy is required: off, optional or required", errUsage)
			}
			if grace < 0 {
				return fmt.Errorf("%w: --grace must not be negative", errUsage)
			}
			return nil
		},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, _ []string) error {
			body := map[string]any{"policy": policy}
			if grace > 0 {
				body["grace_period"] = grace.String()
			}
			var p admin.MFAPolicyDoc
			res, err := cl.call(ctx, request{method: "PUT", path: "/settings/mfa", body: body, ifMatch: ifMatch(version)}, &p)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error { printMFAPolicy(c.stdout, p); return nil })
		},
	})
}

// printMFAPolicy prints a tenant's second-factor policy with what it means.
func printMFAPolicy(w io.Writer, p admin.MFAPolicyDoc) {
	fmt.Fprintf(w, "policy   %s\n", p.Policy)
	switch model.MFAPolicy(p.Policy) {
	case model.MFAOff:
		fmt.Fprintln(w, "         no second factor is asked at sign-in (applications and scopes that require one still ask)")
	case model.MFAOptional:
		fmt.Fprintln(w, "         users who enrolled a second factor are asked for it at sign-in")
	case model.MFARequired:
		fmt.Fprintln(w, "         every user needs a second factor; those without one enrol at their next sign-in")
	}
	if p.GraceUntil != nil {
		fmt.Fprintf(w, "grace    until %s (until then users may skip enrolling)\n", p.GraceUntil.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(w, "version  %d\n", p.Version)
}
