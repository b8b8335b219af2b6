package api

import (
	"net/http"

	"github.com/intelliauth/intelliauth/internal/admin"
)

// mfaRoutes mounts second factors (issue 11): the signed-in user's own
// under /me/mfa (me:read lists, me:write enrols, confirms, renames,
// removes and regenerates recovery codes — a client-credentials token is
// 403, as on every me route), and an admin's view and reset of any user's
// under /users/{user}/mfa (users:read / users:write). No answer holds a
// factor's secret except the enrolment's, which is the one moment the user
// needs it; the answers carrying a secret or recovery codes are no-store.
func (h *Handler) mfaRoutes(rt *router) {
	rt.handle("GET", Prefix+"/me/mfa", admin.OpMyFactors, h.myFactors)
	rt.handle("POST", Prefix+"/me/mfa/totp", admin.OpEnrolTOTP, h.enrolTOTP)
	rt.handle("POST", Prefix+"/me/mfa/totp/{id}/confirm", admin.OpConfirmTOTP, h.confirmTOTP)
	rt.handle("PATCH", Prefix+"/me/mfa/{id}", admin.OpRenameMyFactor, h.renameMyFactor)
	rt.handle("DELETE", Prefix+"/me/mfa/{id}", admin.OpRemoveMyFactor, h.removeMyFactor)
	rt.handle("POST", Prefix+"/me/mfa/recovery-codes", admin.OpRegenerateRecoveryCodes, h.regenerateRecoveryCodes)
	rt.handle("GET", Prefix+"/users/{user}/mfa", admin.OpUserFactors, h.userFactors)
	rt.handle("DELETE", Prefix+"/users/{user}/mfa", admin.OpResetUserFactors, h.resetUserFactors)
}

// defaultFactorName names an authenticator app enrolled without a name.
const defaultFactorName = "Authenticator app"

func (h *Handler) myFactors(w http.ResponseWriter, r *Request) error {
	actor, err := meActor(r)
	if err != nil {
		return err
	}
	list, err := h.Admin.MyFactors(r.Context(), actor, r.TenantID())
	if err != nil {
		return h.meError(err)
	}
	return writeJSON(w, http.StatusOK, list)
}

// factorName is the body of POST /me/mfa/totp and PATCH /me/mfa/{id}.
type factorName struct {
	Name *string `json:"name"`
}

// totpEnrolment is the answer of POST /me/mfa/totp.
type totpEnrolment struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Secret     string `json:"secret"`
	OTPAuthURI string `json:"otpauth_uri"`
	// QRPNG is the QR code of OTPAuthURI, a PNG image, in base64
	// (encoding/json's []byte).
	QRPNG []byte `json:"qr_png"`
}

// enrolTOTP answers POST /me/mfa/totp: 201 with the unconfirmed factor's
// ID and its secret (text, otpauth URI, QR code PNG), no-store.
func (h *Handler) enrolTOTP(w http.ResponseWriter, r *Request) error {
	actor, err := meActor(r)
	if err != nil {
		return err
	}
	var in factorName
	if err := decodeOptionalJSON(r, &in); err != nil {
		return err
	}
	name := defaultFactorName
	if in.Name != nil {
		name = *in.Name
	}
	enr, err := h.Admin.EnrolTOTP(r.Context(), actor, r.TenantID(), name)
	if err != nil {
		return h.meError(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, totpEnrolment{ID: enr.FactorID, Name: enr.Name, Secret: enr.Secret, OTPAuthURI: enr.URI, QRPNG: enr.QRPNG})
}

// codeBody is the body of POST /me/mfa/totp/{id}/confirm.
type codeBody struct {
	Code string `json:"code"`
}

// totpConfirmation is the answer of a confirmation.
type totpConfirmation struct {
	Factor        admin.FactorView `json:"factor"`
	RecoveryCodes []string         `json:"recovery_codes,omitempty"`
}

// confirmTOTP answers POST /me/mfa/totp/{id}/confirm: 200 with the
// confirmed factor, and the recovery codes when it is the user's first
// (no-store); a wrong, malformed or replayed code is 400 on code.
func (h *Handler) confirmTOTP(w http.ResponseWriter, r *Request) error {
	actor, err := meActor(r)
	if err != nil {
		return err
	}
	var in codeBody
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	res, err := h.Admin.ConfirmTOTP(r.Context(), actor, r.TenantID(), r.PathValue("id"), in.Code)
	if err != nil {
		return h.meError(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, totpConfirmation{Factor: res.Factor, RecoveryCodes: res.RecoveryCodes})
}

func (h *Handler) renameMyFactor(w http.ResponseWriter, r *Request) error {
	actor, err := meActor(r)
	if err != nil {
		return err
	}
	var in factorName
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Name == nil {
		return invalidField("name", "is required")
	}
	v, err := h.Admin.RenameMyFactor(r.Context(), actor, r.TenantID(), r.PathValue("id"), *in.Name)
	if err != nil {
		return h.meError(err)
	}
	return writeJSON(w, http.StatusOK, v)
}

// removeMyFactor answers DELETE /me/mfa/{id}: 204; 409 for the last
// factor while the tenant requires one.
func (h *Handler) removeMyFactor(w http.ResponseWriter, r *Request) error {
	actor, err := meActor(r)
	if err != nil {
		return err
	}
	if err := h.Admin.RemoveMyFactor(r.Context(), actor, r.TenantID(), r.PathValue("id")); err != nil {
		return h.meError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// recoveryCodes is the answer of POST /me/mfa/recovery-codes.
type recoveryCodes struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// regenerateRecoveryCodes answers POST /me/mfa/recovery-codes: a new set
// (no-store), the old one invalid; 409 without a confirmed factor.
func (h *Handler) regenerateRecoveryCodes(w http.ResponseWriter, r *Request) error {
	actor, err := meActor(r)
	if err != nil {
		return err
	}
	codes, err := h.Admin.RegenerateRecoveryCodes(r.Context(), actor, r.TenantID())
	if err != nil {
		return h.meError(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, recoveryCodes{RecoveryCodes: codes})
}

func (h *Handler) userFactors(w http.ResponseWriter, r *Request) error {
	list, err := h.Admin.UserFactors(r.Context(), r.Actor, r.TenantID(), r.PathValue("user"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list)
}

// resetUserFactors answers DELETE /users/{user}/mfa: 200 with how many
// factors went and how many sessions ended.
func (h *Handler) resetUserFactors(w http.ResponseWriter, r *Request) error {
	res, err := h.Admin.ResetUserFactors(r.Context(), r.Actor, r.TenantID(), r.PathValue("user"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}
