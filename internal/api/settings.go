package api

import (
	"net/http"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// settingsRoutes mounts the tenant's settings. The second-factor policy is
// the users' authority (users:read / users:write): it governs how every
// user signs in. Its ETag is the tenant's version.
func (h *Handler) settingsRoutes(rt *router) {
	rt.handle("GET", Prefix+"/settings/mfa", admin.OpGetMFAPolicy, h.getMFAPolicy)
	rt.handle("PUT", Prefix+"/settings/mfa", admin.OpSetMFAPolicy, h.putMFAPolicy)
	rt.handle("GET", Prefix+"/settings/audit-retention", admin.OpGetAuditRetention, h.getAuditRetention)
	rt.handle("PUT", Prefix+"/settings/audit-retention", admin.OpSetAuditRetention, h.putAuditRetention)
}

func (h *Handler) getAuditRetention(w http.ResponseWriter, r *Request) error {
	doc, err := h.Admin.GetAuditRetention(r.Context(), r.Actor, r.TenantID())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, doc)
}

// auditRetentionPut is the body of PUT /settings/audit-retention: the days
// per class (absent or 0: the default).
type auditRetentionPut struct {
	IssuanceDays int `json:"issuance_days"`
	SecurityDays int `json:"security_days"`
	AdminDays    int `json:"admin_days"`
}

// putAuditRetention replaces the tenant's audit retention.
func (h *Handler) putAuditRetention(w http.ResponseWriter, r *Request) error {
	var in auditRetentionPut
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	doc, err := h.Admin.SetAuditRetention(r.Context(), r.Actor, r.TenantID(), store.AuditRetention{
		IssuanceDays: in.IssuanceDays, SecurityDays: in.SecurityDays, AdminDays: in.AdminDays})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, doc)
}

func (h *Handler) getMFAPolicy(w http.ResponseWriter, r *Request) error {
	p, err := h.Admin.GetMFAPolicy(r.Context(), r.Actor, r.TenantID())
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, p, p.Version)
}

// mfaPolicyPut is the body of PUT /settings/mfa: the whole policy.
type mfaPolicyPut struct {
	Policy *string `json:"policy"`
	// Grace is, for required, how long users without a second factor may
	// still skip enrolling at sign-in (absent or 0: none).
	Grace *string `json:"grace_period"`
}

// putMFAPolicy replaces the policy (If-Match required: the tenant's
// version). grace_until is computed from grace_period, never sent.
func (h *Handler) putMFAPolicy(w http.ResponseWriter, r *Request) error {
	version, err := requireIfMatch(r)
	if err != nil {
		return err
	}
	var in mfaPolicyPut
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	var d durations
	grace := d.value("grace_period", in.Grace)
	if in.Policy == nil {
		d.problems.Add("policy", "is required: off, optional or required")
	}
	if err := d.err(); err != nil {
		return err
	}
	p, err := h.Admin.SetMFAPolicy(r.Context(), r.Actor, r.TenantID(), admin.MFAPolicyInput{
		Policy: model.MFAPolicy(*in.Policy), Grace: grace, Version: version})
	if err != nil {
		return err
	}
	h.invalidate(r)
	return writeResource(w, http.StatusOK, p, p.Version)
}
