package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/intelliauth/intelliauth/internal/admin"
)

// auditRetention shows or sets how long the tenant keeps raw audit events
// per class, through GET/PUT /api/v1/settings/audit-retention (scope
// audit:read). With no --*-days flag it shows; with any, it sets all three
// (a class not given goes back to its default). docs/audit.md.
func auditRetention(ctx context.Context, c *cli, args []string) error {
	var issuance, security, adminDays int
	return c.runAPI(ctx, args, apiCmd{
		name: "audit retention", output: true, scopes: auditScopes(),
		usage: "audit retention [--issuance-days N] [--security-days N] [--admin-days N] [flags]",
		flags: func(a *apiArgs) {
			a.fs.IntVar(&issuance, "issuance-days", 0, "days to keep token issued/refused/revoked events (0: default 90)")
			a.fs.IntVar(&security, "security-days", 0, "days to keep sign-in, second-factor, consent and other security events (0: default 365)")
			a.fs.IntVar(&adminDays, "admin-days", 0, "days to keep every other event: configuration changes (0: default 365)")
		},
		fields: map[string]string{"issuance_days": "issuance-days", "security_days": "security-days", "admin_days": "admin-days"},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, _ []string) error {
			r := request{method: "GET", path: "/settings/audit-retention"}
			set := false
			a.fs.Visit(func(f *flag.Flag) {
				switch f.Name {
				case "issuance-days", "security-days", "admin-days":
					set = true
				}
			})
			if set {
				r = request{method: "PUT", path: "/settings/audit-retention",
					body: map[string]int{"issuance_days": issuance, "security_days": security, "admin_days": adminDays}}
			}
			res, err := cl.do(ctx, r)
			if err != nil {
				return err
			}
			var doc admin.AuditRetentionDoc
			if err := json.Unmarshal(res.body, &doc); err != nil {
				return fmt.Errorf("%s /settings/audit-retention: decode answer: %w", r.method, err)
			}
			return c.emit(a, res, func() error {
				for _, row := range []struct {
					class    string
					set, eff int
				}{{"issuance", doc.IssuanceDays, doc.Effective.IssuanceDays}, {"security", doc.SecurityDays, doc.Effective.SecurityDays},
					{"admin", doc.AdminDays, doc.Effective.AdminDays}} {
					note := ""
					if row.set == 0 {
						note = " (default)"
					}
					fmt.Fprintf(c.stdout, "%-9s %5d days%s\n", row.class, row.eff, note)
				}
				return nil
			})
		},
	})
}
