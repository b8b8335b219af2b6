package login

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// The second step of a sign-in (and a step-up): GET /mfa shows the ways
// the user can prove a second factor — a code from an authenticator app, a
// passkey or security key, a recovery code — or, for a user who has none
// and may enrol, the way to set one up; POST /mfa checks the answer. A
// passed factor is recorded on the session (Session.AMR gains the
// factor's method and "mfa"), so the authorization endpoint, to which the
// browser goes back, sees it; declining a factor that was only asked for
// a step-up records MFASkipped on the request instead.
//
// Codes are checked by internal/admin (the one place that opens TOTP
// secrets and spends codes, once each, with the per-user throttle shared
// by every node); this page shows the outcome.

// Messages of the second-factor page.
const (
	msgBadCode      = "That code is not right. Check your authenticator app and try again."
	msgBadRecovery  = "That recovery code is not right, or it was already used."
	msgCodeThrottle = "Too many wrong codes; try again in a few minutes."
	msgMustVerify   = "A second factor is required to continue."
	msgCodeReplayed = "That code was already used. Wait for the next one and try again."
	msgEnrolGone    = "This set-up has expired; start again to get a new QR code."
	msgEnrolTooMany = "Too many set-ups were started for this account and not finished; try again in an hour."
)

// mfaView is what the second-factor templates see.
type mfaView struct {
	Target, RequestID, Return, CSRF, Error string
	// TargetKey names the target for the page's script (WebAuthn).
	TargetKey string
	StepUp    bool
	// The ways offered.
	TOTP, WebAuthn, Recovery, Enrol, Skippable bool
	// Required: the user has no factor and must set one up.
	Required bool
	// NoWay: nothing can be offered here (no factor, enrolment only on the
	// account page).
	NoWay      bool
	AccountURL string
	// Enrolment. QR is a data: URL the server made from a PNG it rendered
	// (html/template would refuse a data: URL given as a string).
	QR               template.URL
	Secret, FactorID string
}

// sessionFor returns the session and user the target was signed in with.
func (h *Handler) sessionFor(r *http.Request, snap *catalog.Snapshot, t target) (model.Session, model.User, error) {
	if !t.local() {
		return h.requestSession(r, snap, t.ar)
	}
	s, u, ok, err := h.CurrentSession(r, snap)
	if err != nil {
		return s, u, internalError(err)
	}
	if !ok {
		return s, u, &pageError{status: http.StatusForbidden, title: "Sign in first",
			detail: "Your session has ended. Open your account page again to sign in."}
	}
	return s, u, nil
}

// mfaState loads what the second-factor page needs for one request.
type mfaState struct {
	t      target
	sess   model.Session
	user   model.User
	need   Need
	stepUp bool
	// recovery reports whether the user has unused recovery codes.
	recovery bool
}

func (h *Handler) loadMFA(r *http.Request, snap *catalog.Snapshot, params map[string][]string) (mfaState, error) {
	ctx := r.Context()
	t, err := h.loadTarget(ctx, snap, params)
	if err != nil {
		return mfaState{}, err
	}
	sess, u, err := h.sessionFor(r, snap, t)
	if err != nil {
		return mfaState{}, err
	}
	st := mfaState{t: t, sess: sess, user: u, stepUp: first(params, "step_up") == "1"}
	if model.HasMFA(sess.AMR) {
		return st, nil
	}
	if st.need, err = h.SecondFactorNeed(ctx, snap, t.app, u, st.stepUp); err != nil {
		return st, internalError(err)
	}
	codes, err := h.Store.Factors().RecoveryCodes(ctx, snap.Tenant.ID, u.ID)
	if err != nil {
		return st, internalError(fmt.Errorf("recovery codes: %w", err))
	}
	st.recovery = slices.ContainsFunc(codes, func(c model.RecoveryCode) bool { return c.UsedAt.IsZero() })
	return st, nil
}

func first(params map[string][]string, k string) string {
	if v := params[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// done reports whether the page has nothing to ask: the session passed a
// second factor, or the sign-in does not need one.
func (st mfaState) done() bool { return model.HasMFA(st.sess.AMR) || !st.need.Due }

func (h *Handler) mfaPage(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) error {
	st, err := h.loadMFA(r, snap, r.URL.Query())
	if err != nil {
		return err
	}
	if st.done() {
		st.t.resume(w, snap)
		return nil
	}
	return h.showMFA(w, r, snap, st, http.StatusOK, "")
}

func (h *Handler) view(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot, st mfaState, msg string) (mfaView, error) {
	cookie, err := h.csrfCookie(w, r, snap)
	if err != nil {
		return mfaView{}, internalError(err)
	}
	v := mfaView{
		Target: st.t.name(), RequestID: st.t.ar.ID, Return: st.t.ret, TargetKey: st.t.key(),
		CSRF: csrfToken(cookie, "mfa", st.t.key()), Error: msg, StepUp: st.stepUp,
		Enrol: st.need.Enrol, Skippable: st.need.Skippable, Recovery: st.recovery,
		AccountURL: snap.Tenant.Issuer + AccountPath,
	}
	for _, f := range st.need.Factors {
		switch f.Type {
		case model.FactorTOTP:
			v.TOTP = true
		case model.FactorWebAuthn:
			v.WebAuthn = true
		}
	}
	// "Use a recovery code" is offered to every user who has a factor
	// (the codes come with the first one), whether or not any is left:
	// the page does not tell how many remain.
	v.Recovery = v.Recovery || len(st.need.Factors) > 0
	v.Required = v.Enrol && !v.Skippable
	v.NoWay = !v.TOTP && !v.WebAuthn && !v.Enrol && !v.Recovery
	return v, nil
}

func (h *Handler) showMFA(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot, st mfaState, status int, msg string) error {
	v, err := h.view(w, r, snap, st, msg)
	if err != nil {
		return err
	}
	renderWith(w, status, "mfa", "Verify it's you", formAction(st.t.ar.RedirectURI), extras{scripts: v.WebAuthn, script: webauthnScript(snap)}, v)
	return nil
}

// mfaSubmit checks an answer of the second-factor page.
func (h *Handler) mfaSubmit(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) error {
	ctx := r.Context()
	st, err := h.loadMFA(r, snap, r.PostForm)
	if err != nil {
		return err
	}
	if !checkCSRF(r, snap, "mfa", st.t.key()) {
		return errCSRF
	}
	if st.done() {
		st.t.resume(w, snap)
		return nil
	}
	tenant, code := snap.Tenant.ID, strings.TrimSpace(r.PostForm.Get("code"))
	actor := admin.PageActor(st.user.ID, "login").WithAMR(st.sess.AMR)
	switch r.PostForm.Get("action") {
	case "skip":
		if !st.need.Skippable {
			return h.showMFA(w, r, snap, st, http.StatusBadRequest, msgMustVerify)
		}
		if !st.t.local() {
			ar := st.t.ar
			ar.MFASkipped = true
			if err := h.Store.AuthRequests().Update(ctx, ar); err != nil {
				return internalError(fmt.Errorf("record skipped second factor: %w", err))
			}
		}
		if st.stepUp {
			if err := h.recordStepUp(ctx, snap, st, "declined", ""); err != nil {
				return internalError(err)
			}
		}
		st.t.resume(w, snap)
		return nil
	case "totp":
		err := h.Admin.CheckTOTP(ctx, tenant, st.user.ID, code)
		return h.answered(w, r, snap, st, string(model.FactorTOTP), model.AMROTP, err, msgBadCode)
	case "recovery":
		err := h.Admin.UseRecoveryCode(ctx, tenant, st.user.ID, code)
		return h.answered(w, r, snap, st, "recovery_code", model.AMROTP, err, msgBadRecovery)
	case "enrol":
		if !st.need.Enrol {
			return h.showMFA(w, r, snap, st, http.StatusBadRequest, "")
		}
		enr, err := h.Admin.EnrolTOTP(ctx, actor, tenant, "Authenticator app")
		if errors.Is(err, store.ErrConflict) {
			// The most factors an account may hold, counting set-ups
			// started and never finished (pruned after an hour).
			return h.showMFA(w, r, snap, st, http.StatusConflict, msgEnrolTooMany)
		}
		if err != nil {
			return internalError(err)
		}
		return h.showEnrol(w, r, snap, st, enr, http.StatusOK, "")
	case "confirm":
		if !st.need.Enrol {
			return h.showMFA(w, r, snap, st, http.StatusBadRequest, "")
		}
		factor := r.PostForm.Get("factor")
		res, err := h.Admin.ConfirmTOTP(ctx, actor, tenant, factor, code)
		if err != nil {
			return h.enrolRefused(w, r, snap, st, factor, err)
		}
		if err := h.passed(ctx, snap, st, string(model.FactorTOTP), model.AMROTP); err != nil {
			return err
		}
		next := snap.Tenant.Issuer + ResumePath + "?" + st.t.query().Encode()
		if st.t.local() {
			next = snap.Tenant.Issuer + st.t.ret
		}
		render(w, http.StatusOK, "recovery_codes", "Save your recovery codes", "", struct {
			Codes []string
			Next  string
		}{res.RecoveryCodes, next})
		return nil
	}
	return h.showMFA(w, r, snap, st, http.StatusBadRequest, "")
}

// answered finishes a code check: on success the session gains the factor
// and the browser goes on; a wrong code is audited and the page shown
// again (429 once the user's throttle engages).
func (h *Handler) answered(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot, st mfaState, factor, amr string, err error, wrong string) error {
	ctx := r.Context()
	if err == nil {
		if err := h.passed(ctx, snap, st, factor, amr); err != nil {
			return err
		}
		st.t.resume(w, snap)
		return nil
	}
	status, msg, reason := http.StatusUnauthorized, wrong, "invalid_code"
	switch {
	case errors.Is(err, admin.ErrThrottled):
		status, msg, reason = http.StatusTooManyRequests, msgCodeThrottle, "throttled"
	case errors.Is(err, admin.ErrCodeReplayed):
		msg, reason = msgCodeReplayed, "replayed"
	case errors.Is(err, admin.ErrInvalidCode):
	default:
		return internalError(err)
	}
	if err := h.recordFactor(ctx, snap, st, factor, "failure", reason); err != nil {
		return internalError(err)
	}
	return h.showMFA(w, r, snap, st, status, msg)
}

// enrolRefused answers a refused confirmation of a set-up: a wrong (or
// spent) code shows the confirming form again for the same factor — the
// app holds its secret already, which is not shown again — with a way to
// start again; a set-up that is gone (pruned after an hour unconfirmed)
// says to start again.
func (h *Handler) enrolRefused(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot, st mfaState, factorID string, err error) error {
	switch {
	case errors.Is(err, admin.ErrInvalidCode):
		msg, reason := msgBadCode, "invalid_code"
		if errors.Is(err, admin.ErrCodeReplayed) {
			msg, reason = msgCodeReplayed, "replayed"
		}
		if err := h.recordFactor(r.Context(), snap, st, string(model.FactorTOTP), "failure", reason); err != nil {
			return internalError(err)
		}
		return h.showEnrol(w, r, snap, st, admin.TOTPEnrolment{FactorID: factorID}, http.StatusUnauthorized, msg)
	case errors.Is(err, store.ErrNotFound):
		return h.showMFA(w, r, snap, st, http.StatusBadRequest, msgEnrolGone)
	}
	return internalError(err)
}

// passed records a second factor on the session (its methods amr, and
// "mfa") and in the audit log.
func (h *Handler) passed(ctx context.Context, snap *catalog.Snapshot, st mfaState, factor string, amr ...string) error {
	methods := slices.Clone(st.sess.AMR)
	for _, m := range append(slices.Clone(amr), model.AMRMulti) {
		if !slices.Contains(methods, m) {
			methods = append(methods, m)
		}
	}
	if err := h.Store.Sessions().SetAMR(ctx, snap.Tenant.ID, st.sess.ID, methods); err != nil {
		return internalError(fmt.Errorf("record second factor on the session: %w", err))
	}
	if err := h.recordFactor(ctx, snap, st, factor, "success", ""); err != nil {
		return internalError(err)
	}
	if st.stepUp {
		if err := h.recordStepUp(ctx, snap, st, "passed", factor); err != nil {
			return internalError(err)
		}
	}
	return nil
}

func (h *Handler) recordFactor(ctx context.Context, snap *catalog.Snapshot, st mfaState, factor, result, reason string) error {
	if result == "success" {
		h.count(snap.Tenant.ID, OutcomeMFAPassed)
	} else {
		h.count(snap.Tenant.ID, OutcomeMFAFailed)
	}
	d := map[string]any{"factor": factor, "result": result, "request": st.t.ar.ID}
	if reason != "" {
		d["reason"] = reason
	}
	details, _ := json.Marshal(d)
	return h.record(ctx, model.AuditEvent{
		TenantID: snap.Tenant.ID, Type: model.EventLoginSecondFactor,
		ActorType: model.ActorUser, ActorID: st.user.ID, ClientID: st.t.ar.ClientID, Subject: st.user.ID, Details: details,
	})
}

func (h *Handler) recordStepUp(ctx context.Context, snap *catalog.Snapshot, st mfaState, outcome, factor string) error {
	d := map[string]any{"outcome": outcome, "request": st.t.ar.ID, "scope": st.t.ar.Scope}
	if factor != "" {
		d["factor"] = factor
	}
	details, _ := json.Marshal(d)
	return h.record(ctx, model.AuditEvent{
		TenantID: snap.Tenant.ID, Type: model.EventLoginStepUp,
		ActorType: model.ActorUser, ActorID: st.user.ID, ClientID: st.t.ar.ClientID, Subject: st.user.ID, Details: details,
	})
}

// showEnrol shows a TOTP enrolment: the QR code and the key, and the form
// that confirms it with a code; without the QR code (a retry after a wrong
// code), the form alone and a way to start again.
func (h *Handler) showEnrol(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot, st mfaState, enr admin.TOTPEnrolment, status int, msg string) error {
	v, err := h.view(w, r, snap, st, msg)
	if err != nil {
		return err
	}
	v.Secret, v.FactorID = enr.Secret, enr.FactorID
	if len(enr.QRPNG) > 0 {
		v.QR = template.URL(enr.QRDataURL())
	}
	renderWith(w, status, "mfa_enrol", "Set up an authenticator app", formAction(st.t.ar.RedirectURI), extras{images: v.QR != ""}, v)
	return nil
}
