package admin

import (
	"context"
	"fmt"
	"time"

	"github.com/intelliauth/intelliauth/internal/audit"
	"github.com/intelliauth/intelliauth/internal/store"
)

// EventAuditRetentionChanged records a change of a tenant's audit retention
// (SetAuditRetention), with the settings before and after. It is an admin
// change, so it is kept as long as the admin class.
const EventAuditRetentionChanged = "tenant.audit_retention_changed"

// AuditRetentionDoc is a tenant's audit retention as JSON (GET and PUT
// /api/v1/settings/audit-retention): per class of event, the days raw
// events are kept, 0 meaning the default, and the effective days.
type AuditRetentionDoc struct {
	// IssuanceDays keeps token issued/refused/revoked events.
	IssuanceDays int `json:"issuance_days"`
	// SecurityDays keeps sign-ins, second factors, consents, client
	// authentication failures, refresh-token reuse and code replay.
	SecurityDays int `json:"security_days"`
	// AdminDays keeps every other event: configuration changes.
	AdminDays int `json:"admin_days"`
	// Effective is the days applied, defaults filled in.
	Effective audit.Retention `json:"effective"`
}

func newAuditRetentionDoc(r store.AuditRetention) AuditRetentionDoc {
	return AuditRetentionDoc{IssuanceDays: r.IssuanceDays, SecurityDays: r.SecurityDays, AdminDays: r.AdminDays, Effective: audit.Effective(r)}
}

// GetAuditRetention returns a tenant's audit retention.
func (s *Service) GetAuditRetention(ctx context.Context, actor Actor, tenantID string) (AuditRetentionDoc, error) {
	st, err := s.view(ctx, actor, tenantID)
	if err != nil {
		return AuditRetentionDoc{}, err
	}
	r, err := st.Audit().Retention(ctx, tenantID)
	if err != nil {
		return AuditRetentionDoc{}, fmt.Errorf("audit retention: %w", err)
	}
	return newAuditRetentionDoc(r), nil
}

// SetAuditRetention replaces a tenant's audit retention (each class 1 to
// audit.MaxRetentionDays days, or 0 for the default) with a
// tenant.audit_retention_changed event. The janitor applies it on its next
// run; the daily grant counters of the scope-usage report are never pruned.
// Setting what is already set writes nothing.
func (s *Service) SetAuditRetention(ctx context.Context, actor Actor, tenantID string, in store.AuditRetention) (AuditRetentionDoc, error) {
	if err := audit.CheckRetention(in); err != nil {
		return AuditRetentionDoc{}, err
	}
	var out AuditRetentionDoc
	err := s.write(ctx, actor, func(tx store.Repos, _ time.Time) ([]event, error) {
		if _, err := getTenant(ctx, tx, tenantID); err != nil {
			return nil, err
		}
		before, err := tx.Audit().Retention(ctx, tenantID)
		if err != nil {
			return nil, fmt.Errorf("audit retention: %w", err)
		}
		out = newAuditRetentionDoc(in)
		if before == in {
			return nil, nil
		}
		if err := tx.Audit().SetRetention(ctx, tenantID, in); err != nil {
			return nil, fmt.Errorf("set audit retention: %w", err)
		}
		return []event{{Type: EventAuditRetentionChanged, TenantID: tenantID,
			Details: map[string]any{"before": newAuditRetentionDoc(before), "after": out}}}, nil
	})
	return out, err
}
