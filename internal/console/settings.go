package console

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// The tenant's settings page (issue 11):
//
//	GET  /settings       the second-factor policy (users:read); a form to change it for users:write
//	POST /settings/mfa   set the policy and, for required, the enrolment grace period (versioned: the tenant's version)
//
// The policy governs how every user signs in, so it is the users'
// authority (admin.OpGetMFAPolicy, OpSetMFAPolicy), as on /api/v1.
func (h *Handler) settingsPages(rt *router) {
	rt.page("GET", model.ConsolePath+"/settings", admin.OpGetMFAPolicy, h.settings)
	rt.page("POST", model.ConsolePath+"/settings/mfa", admin.OpSetMFAPolicy, h.setMFAPolicy)
}

// mfaPolicyForm is the policy form as the user filled it in.
type mfaPolicyForm struct {
	Policy string
	// Grace is the grace period as typed ("72h"), "" for none.
	Grace   string
	Version int64
}

// mfaPolicyOption is one choice of the policy select.
type mfaPolicyOption struct {
	Value, Label string
}

// tenantSettingsBody is what settings.html shows.
type tenantSettingsBody struct {
	// Current is the policy stored now.
	Current admin.MFAPolicyDoc
	Form    mfaPolicyForm
	Errors  FieldErrors
	// Stale: the save was refused because the policy changed meanwhile.
	Stale   bool
	CanEdit bool
	Action  string
	Options []mfaPolicyOption
	// GraceEnded: the current grace period is over.
	GraceEnded bool
}

// GraceUntil is the end of the current grace period in UTC, "" for none.
func (b tenantSettingsBody) GraceUntil() string {
	if b.Current.GraceUntil == nil {
		return ""
	}
	return b.Current.GraceUntil.UTC().Format("2006-01-02 15:04 UTC")
}

// Meaning is a sentence on what the current policy does at sign-in.
func (b tenantSettingsBody) Meaning() string {
	switch model.MFAPolicy(b.Current.Policy) {
	case model.MFAOff:
		return "No second factor is asked at sign-in. Applications and scopes that require one still ask for it."
	case model.MFARequired:
		return "Every user needs a second factor: users without one enrol at their next sign-in."
	}
	return "Users who enrolled a second factor are asked for it at every sign-in; the others sign in with their password."
}

// Described is the aria-describedby of a field of the form: its hint and,
// when it has a problem, its error.
func (b tenantSettingsBody) Described(id string) string {
	s := id + "-hint"
	if b.Errors[fieldOf(id)] != "" {
		s += " " + id + "-error"
	}
	return s
}

// fieldOf maps an input's id to the form field whose problems it shows.
func fieldOf(id string) string {
	if id == "mfa-grace" {
		return "grace_period"
	}
	return "policy"
}

// graceLeft is the time left of p's grace period in whole hours, rounded
// up; 0 when there is none.
func graceLeft(p admin.MFAPolicyDoc, now time.Time) time.Duration {
	if p.GraceUntil == nil || !p.GraceUntil.After(now) {
		return 0
	}
	left := p.GraceUntil.Sub(now)
	return ((left + time.Hour - 1) / time.Hour) * time.Hour
}

func policyOptions() []mfaPolicyOption {
	return []mfaPolicyOption{
		{string(model.MFAOff), "Off: no second factor at sign-in"},
		{string(model.MFAOptional), "Optional: asked of users who enrolled one"},
		{string(model.MFARequired), "Required: every user (those without one enrol at their next sign-in)"},
	}
}

func (h *Handler) renderTenantSettings(w http.ResponseWriter, r *Request, status int, b tenantSettingsBody) error {
	cur, err := h.Admin.GetMFAPolicy(r.Context(), r.Actor, r.TenantID())
	if err != nil {
		return err
	}
	b.Current = cur
	if b.Form.Version == 0 {
		b.Form = mfaPolicyForm{Policy: cur.Policy, Version: cur.Version}
		// The form replaces the whole policy: it starts with what is
		// left of the grace period (whole hours, rounded up), so that
		// saving it unchanged keeps the grace rather than ending it.
		if left := graceLeft(cur, h.now()); left > 0 {
			b.Form.Grace = fmt.Sprintf("%dh", left/time.Hour)
		}
	}
	b.GraceEnded = cur.GraceUntil != nil && !cur.GraceUntil.After(h.now())
	if b.Errors == nil {
		b.Errors = FieldErrors{}
	}
	b.CanEdit, b.Action, b.Options = r.May(admin.OpSetMFAPolicy), r.Base+"/settings/mfa", policyOptions()
	h.render(w, r, status, "settings", "Tenant settings", b)
	return nil
}

// settings shows the tenant's second-factor policy.
func (h *Handler) settings(w http.ResponseWriter, r *Request) error {
	return h.renderTenantSettings(w, r, http.StatusOK, tenantSettingsBody{})
}

// setMFAPolicy saves the policy form: bad input shows the form again with
// the input kept and the problem beside its field; a policy changed
// meanwhile shows the current one and keeps the input for another try.
func (h *Handler) setMFAPolicy(w http.ResponseWriter, r *Request) error {
	version, err := formVersion(r)
	if err != nil {
		return err
	}
	f := mfaPolicyForm{Policy: r.PostFormValue("policy"), Grace: strings.TrimSpace(r.PostFormValue("grace_period")), Version: version}
	errs := FieldErrors{}
	var grace time.Duration
	// The grace period belongs to required (its hint says so): with
	// another policy the field is left out, so that moving away from
	// required does not first ask to empty it.
	if f.Grace != "" && f.Policy == string(model.MFARequired) {
		if grace, err = time.ParseDuration(f.Grace); err != nil || grace < 0 {
			errs["grace_period"] = fmt.Sprintf("%q is not a duration: write it like 72h or 168h (hours), or leave it empty for none", f.Grace)
		}
	}
	if len(errs) == 0 {
		var p admin.MFAPolicyDoc
		p, err = h.Admin.SetMFAPolicy(r.Context(), r.Actor, r.TenantID(), admin.MFAPolicyInput{
			Policy: model.MFAPolicy(f.Policy), Grace: grace, Version: version})
		if err == nil {
			msg := "Second-factor policy saved: " + p.Policy + "."
			if p.GraceUntil != nil {
				msg = fmt.Sprintf("Second-factor policy saved: required, with a grace period until %s.", p.GraceUntil.UTC().Format("2006-01-02 15:04 UTC"))
			}
			return seeOther(w, r, msg, r.Base+"/settings")
		}
		if errors.Is(err, store.ErrPrecondition) {
			cur, gerr := h.Admin.GetMFAPolicy(r.Context(), r.Actor, r.TenantID())
			if gerr != nil {
				return gerr
			}
			f.Version = cur.Version
			return h.renderTenantSettings(w, r, http.StatusConflict, tenantSettingsBody{Form: f, Stale: true})
		}
		if errs = fieldErrors(err); errs == nil {
			return err
		}
	}
	return h.renderTenantSettings(w, r, http.StatusBadRequest, tenantSettingsBody{Form: f, Errors: errs})
}
