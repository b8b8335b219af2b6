package admin

import (
	"context"
	"fmt"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// EventTenantMFAPolicyChanged records a change of a tenant's second-factor
// policy (SetMFAPolicy), with the policy before and after.
const EventTenantMFAPolicyChanged = "tenant.mfa_policy_changed"

// MaxMFAGrace bounds the enrolment grace period of a required policy: long
// enough to roll a policy out to people who sign in monthly, short enough
// that "required" still means something.
const MaxMFAGrace = 90 * 24 * time.Hour

// MFAPolicyDoc is a tenant's second-factor policy as JSON (GET
// /api/v1/settings/mfa, and the before/after of its audit event).
type MFAPolicyDoc struct {
	// Policy is off, optional or required (a tenant that never set one
	// has optional).
	Policy string `json:"policy"`
	// GraceUntil, under required, is until when a user without a second
	// factor may still skip enrolling at sign-in; absent: no grace.
	GraceUntil *time.Time `json:"grace_until,omitempty"`
	// Version is the tenant's version, the precondition of a change.
	Version int64 `json:"version"`
}

// NewMFAPolicyDoc is the policy of t.
func NewMFAPolicyDoc(t model.Tenant) MFAPolicyDoc {
	return MFAPolicyDoc{Policy: string(t.MFAPolicy.Effective()), GraceUntil: timeOrNil(t.MFAGraceUntil), Version: t.Version}
}

// MFAPolicyInput is a new second-factor policy for a tenant.
type MFAPolicyInput struct {
	Policy model.MFAPolicy
	// Grace, only with model.MFARequired, lets users without a second
	// factor skip enrolling at sign-in until now + Grace (at most
	// MaxMFAGrace); 0 is none: they enrol at their next sign-in.
	Grace time.Duration
	// Version, when non-zero, must equal the tenant's stored version.
	Version int64
}

// GetMFAPolicy returns a tenant's second-factor policy.
func (s *Service) GetMFAPolicy(ctx context.Context, actor Actor, tenantID string) (MFAPolicyDoc, error) {
	t, err := s.GetTenant(ctx, actor, tenantID)
	if err != nil {
		return MFAPolicyDoc{}, err
	}
	return NewMFAPolicyDoc(t), nil
}

// SetMFAPolicy sets a tenant's second-factor policy and, for required, the
// enrolment grace period, which ends at now + in.Grace. It writes the
// tenant through store.Tenants.Update at the version it read (so the
// tenant's Rev moves and every node reloads its snapshot), with a
// tenant.mfa_policy_changed event holding the policy before and after.
// Setting what is already set writes nothing.
//
// What the policy does at sign-in is internal/login's; this only stores
// it. It does not check that any user has a factor: a required policy
// makes users without one enrol (PRODUCT.md §6c).
func (s *Service) SetMFAPolicy(ctx context.Context, actor Actor, tenantID string, in MFAPolicyInput) (MFAPolicyDoc, error) {
	if err := checkMFAPolicyInput(in); err != nil {
		return MFAPolicyDoc{}, err
	}
	var out MFAPolicyDoc
	err := s.writeAt(ctx, actor, in.Version, func(tx store.Repos, now time.Time) ([]event, error) {
		before, err := getTenant(ctx, tx, tenantID)
		if err != nil {
			return nil, err
		}
		if err := checkVersion("tenant "+tenantID, in.Version, before.Version); err != nil {
			return nil, err
		}
		after := before
		after.MFAPolicy, after.MFAGraceUntil = in.Policy, time.Time{}
		if in.Grace > 0 {
			after.MFAGraceUntil = now.Add(in.Grace)
		}
		if before.MFAPolicy.Effective() == after.MFAPolicy && before.MFAGraceUntil.Equal(after.MFAGraceUntil) {
			out = NewMFAPolicyDoc(before)
			return nil, nil
		}
		after.UpdatedAt = now
		stored, err := tx.Tenants().Update(ctx, after)
		if err != nil {
			return nil, fmt.Errorf("update the MFA policy of tenant %q: %w", tenantID, err)
		}
		out = NewMFAPolicyDoc(stored)
		return []event{{Type: EventTenantMFAPolicyChanged, TenantID: tenantID,
			Details: map[string]any{"before": NewMFAPolicyDoc(before), "after": out}}}, nil
	})
	return out, err
}

// checkMFAPolicyInput reports every problem of in at once.
func checkMFAPolicyInput(in MFAPolicyInput) error {
	var p model.Problems
	if !in.Policy.Valid() {
		p.Add("policy", fmt.Sprintf("must be off, optional or required, not %q", in.Policy))
	}
	switch {
	case in.Grace < 0:
		p.Add("grace_period", "must not be negative; give 0 for no grace period")
	case in.Grace > MaxMFAGrace:
		p.Add("grace_period", fmt.Sprintf("must be at most %s (90 days), not %s", MaxMFAGrace, in.Grace))
	case in.Grace > 0 && in.Policy.Valid() && in.Policy != model.MFARequired:
		p.Add("grace_period", fmt.Sprintf("applies only to the policy required (users enrol by its end); leave it out for %s", in.Policy))
	}
	return p.Err()
}
