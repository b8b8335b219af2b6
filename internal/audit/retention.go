package audit

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// Class is a retention class of audit events: how long a tenant keeps raw
// events of a class is one setting (store.AuditRetention). The daily
// per-application per-scope grant counters are not raw events: they are
// kept for good, so the scope-usage report outlives any retention.
type Class string

// The retention classes. A type not listed is Admin, the class kept longest
// by default, so that a new kind of event is never pruned early by
// omission.
const (
	// Issuance: token issued, refused, revoked — the bulk of the log.
	Issuance Class = "issuance"
	// Security: sign-ins, second factors, consents, client authentication
	// failures, refresh-token reuse, code replay.
	Security Class = "security"
	// Admin: every configuration change (who changed what, before/after).
	Admin Class = "admin"
)

// Default retention per class, in days.
const (
	DefaultIssuanceDays = 90
	DefaultSecurityDays = 365
	DefaultAdminDays    = 365
	// MaxRetentionDays bounds a setting (ten years).
	MaxRetentionDays = 3650
)

// classTypes lists the event types of the classes other than Admin.
func classTypes() map[Class][]string {
	return map[Class][]string{
		Issuance: {model.EventTokenIssued, model.EventTokenRefused, model.EventTokenRevoked},
		Security: {model.EventRefreshTokenReused, model.EventClientAuthFailed, model.EventCodeReplayed,
			model.EventLoginSucceeded, model.EventLoginFailed, model.EventLoginLocked, model.EventLoginSecondFactor,
			model.EventLoginStepUp, model.EventLogout, model.EventConsentGranted, model.EventConsentRevoked,
			model.EventMFAEnrolled, model.EventMFARenamed, model.EventMFARemoved, model.EventMFARecoveryCodes, model.EventMFAReset},
	}
}

// ClassOf returns the retention class of an event type.
func ClassOf(eventType string) Class {
	for c, types := range classTypes() {
		for _, t := range types {
			if t == eventType {
				return c
			}
		}
	}
	return Admin
}

// Retention is a tenant's effective retention per class: its settings with
// the defaults filled in.
type Retention struct {
	IssuanceDays int `json:"issuance_days"`
	SecurityDays int `json:"security_days"`
	AdminDays    int `json:"admin_days"`
}

// Effective fills the zero fields of r with the defaults.
func Effective(r store.AuditRetention) Retention {
	or := func(v, d int) int {
		if v > 0 {
			return v
		}
		return d
	}
	return Retention{IssuanceDays: or(r.IssuanceDays, DefaultIssuanceDays), SecurityDays: or(r.SecurityDays, DefaultSecurityDays),
		AdminDays: or(r.AdminDays, DefaultAdminDays)}
}

// CheckRetention reports every setting out of range (0 means the default).
func CheckRetention(r store.AuditRetention) error {
	var p model.Problems
	for _, f := range []struct {
		name string
		days int
	}{{"issuance_days", r.IssuanceDays}, {"security_days", r.SecurityDays}, {"admin_days", r.AdminDays}} {
		if f.days < 0 || f.days > MaxRetentionDays {
			p.Add(f.name, fmt.Sprintf("must be between 1 and %d days, or 0 for the default; got %d", MaxRetentionDays, f.days))
		}
	}
	return p.Err()
}

// PruneOptions tune Prune.
type PruneOptions struct {
	// Batch is the events per transaction (0: the store's default, 1,000).
	Batch int
	// MaxBatches bounds one call per tenant and class, so one janitor run
	// never works for long; the rest waits for the next run (0: 100).
	MaxBatches int
}

// Prune deletes the tenant's raw events past their class's retention at
// now, in short batches (each its own transaction, so group commits of the
// token endpoint wait for one batch at most), and returns how many it
// deleted. The grant counters are left alone.
func Prune(ctx context.Context, st store.Store, logger *slog.Logger, tenantID string, now time.Time, opts PruneOptions) (int, error) {
	if opts.MaxBatches <= 0 {
		opts.MaxBatches = 100
	}
	set, err := st.Audit().Retention(ctx, tenantID)
	if err != nil {
		return 0, err
	}
	eff := Effective(set)
	types := classTypes()
	var notAdmin []string
	for _, c := range []Class{Issuance, Security} {
		notAdmin = append(notAdmin, types[c]...)
	}
	total := 0
	for _, step := range []struct {
		days int
		p    store.AuditPrune
	}{
		{eff.IssuanceDays, store.AuditPrune{Types: types[Issuance]}},
		{eff.SecurityDays, store.AuditPrune{Types: types[Security]}},
		{eff.AdminDays, store.AuditPrune{Types: notAdmin, ExceptTypes: true}},
	} {
		p := step.p
		p.TenantID, p.Before, p.Limit = tenantID, now.Add(-time.Duration(step.days)*24*time.Hour), opts.Batch
		limit := opts.Batch
		if limit <= 0 {
			limit = 1000
		}
		for range opts.MaxBatches {
			n, err := st.Audit().Prune(ctx, p)
			total += n
			if err != nil {
				return total, err
			}
			if n < limit {
				break
			}
		}
	}
	if total > 0 && logger != nil {
		logger.LogAttrs(ctx, slog.LevelInfo, "pruned audit events past retention", slog.String("tenant", tenantID), slog.Int("events", total))
	}
	return total, nil
}
