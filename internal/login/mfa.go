package login

import (
	"context"
	"fmt"

	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/model"
)

// Need is what a sign-in must still do about a second factor
// (SecondFactorNeed).
type Need struct {
	// Due: the sign-in must pass a second factor before it goes on.
	Due bool
	// Enrol: the user has no second factor and may set one up now.
	Enrol bool
	// Skippable: the user may go on without one. The request then goes on
	// without what needed it: a scope that requires a second factor is
	// dropped with step_up_required, acr is "pwd".
	Skippable bool
	// Factors are the user's confirmed second factors.
	Factors []model.Factor
}

// SecondFactorNeed decides, for a user whose session has not passed a
// second factor, whether this sign-in needs one — the one rule behind the
// second step of a sign-in, a step-up and the account page:
//
//   - the tenant's policy is optional or required and the user has a
//     factor: every sign-in passes it (not skippable);
//   - the application requires one (Application.MFA), or the tenant's
//     policy is required: a user without a factor enrols first; skippable
//     only under the tenant's policy while its enrolment grace lasts;
//   - stepUp (a requested scope requires a second factor, or acr_values
//     asks for "mfa"): asked, skippable — the request goes on without
//     what needed it.
//
// A user without a factor may enrol during sign-in unless the tenant's
// policy is off (and the application does not require one); under off,
// factors are enrolled on the account page only. app is nil for the
// account page, where a user who has a factor passes it whatever the
// policy: the page manages the factors themselves, and a password alone
// must not make new recovery codes or add a factor of its own, which would
// then pass any step-up the user's factor guards.
func (h *Handler) SecondFactorNeed(ctx context.Context, snap *catalog.Snapshot, app *catalog.App, user model.User, stepUp bool) (Need, error) {
	all, err := h.Store.Factors().List(ctx, snap.Tenant.ID, user.ID)
	if err != nil {
		return Need{}, fmt.Errorf("second factors of %s: %w", user.ID, err)
	}
	var n Need
	for _, f := range all {
		if f.Confirmed {
			n.Factors = append(n.Factors, f)
		}
	}
	policy := snap.Tenant.MFAPolicy.Effective()
	appRequires := app != nil && app.MFA == model.AppMFARequired
	has := len(n.Factors) > 0
	always := has && (policy != model.MFAOff || app == nil)
	required := appRequires || policy == model.MFARequired
	n.Due = always || required || stepUp
	n.Enrol = !has && (policy != model.MFAOff || appRequires)
	inGrace := policy == model.MFARequired && h.now().Before(snap.Tenant.MFAGraceUntil)
	n.Skippable = !always && !appRequires && (policy != model.MFARequired || inGrace)
	return n, nil
}
