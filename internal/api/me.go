package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/oautherr"
)

// meRoutes mounts the signed-in user's own account (PRODUCT.md §4):
// profile and password (me:read / me:write), consents (me:read /
// me:write) and browser sessions (me:sessions). Only a token from a user's
// sign-in may call them — a client-credentials token is 403 — and the user
// is always the token's subject: no route takes a user from its input, so
// nobody reads or changes another user's account through them.
func (h *Handler) meRoutes(rt *router) {
	rt.handle("GET", Prefix+"/me/profile", admin.OpMyProfile, h.myProfile)
	rt.handle("PATCH", Prefix+"/me/profile", admin.OpUpdateMyProfile, h.updateMyProfile)
	rt.handle("POST", Prefix+"/me/password", admin.OpChangeMyPassword, h.changeMyPassword)
	rt.handle("GET", Prefix+"/me/consents", admin.OpMyConsents, h.myConsents)
	rt.handle("DELETE", Prefix+"/me/consents", admin.OpRevokeAllMyConsents, h.revokeAllMyConsents)
	rt.handle("DELETE", Prefix+"/me/consents/{client_id}", admin.OpRevokeMyConsent, h.revokeMyConsent)
	rt.handle("GET", Prefix+"/me/sessions", admin.OpMySessions, h.mySessions)
	rt.handle("DELETE", Prefix+"/me/sessions", admin.OpEndAllMySessions, h.endAllMySessions)
	rt.handle("DELETE", Prefix+"/me/sessions/{id}", admin.OpEndMySession, h.endMySession)
}

// CodeTooManyRequests is the error code of a 429 (RFC 6585 §4).
const CodeTooManyRequests = "too_many_requests"

// meActor returns the actor of a me route: the user, or a 403 for a
// client's token.
func meActor(r *Request) (admin.Actor, error) {
	if _, err := r.UserID(); err != nil {
		return admin.Actor{}, err
	}
	return r.Actor, nil
}

// meError maps the me use-cases' own refusals to problems; everything else
// goes to writeError as it is.
func (h *Handler) meError(err error) error {
	var te *admin.ThrottledError
	switch {
	case errors.As(err, &te):
		retry := max(int(te.Until.Sub(h.now()).Round(time.Second)/time.Second), 1)
		what := "Too many wrong passwords: this account is locked"
		if te.Codes {
			what = "Too many wrong codes: this account's second factor is locked"
		}
		p := newProblem(http.StatusTooManyRequests, CodeTooManyRequests,
			fmt.Sprintf("%s until %s; try again after that.", what, te.Until.UTC().Format(time.RFC3339)))
		p.Title = "Too many requests"
		p.header = http.Header{"Retry-After": {strconv.Itoa(retry)}}
		p.cause = err
		return p
	case errors.Is(err, admin.ErrStepUpRequired):
		// RFC 9470 §3: the authentication behind the token is not strong
		// enough; the client signs the user in again asking for acr mfa.
		p := newProblem(http.StatusUnauthorized, CodeInsufficientUserAuthentication,
			"This change to your second factors needs a sign-in that passed one of them. Sign in again with acr_values=mfa and use the new token.")
		p.header = http.Header{"Www-Authenticate": {oautherr.BearerChallenge("", CodeInsufficientUserAuthentication,
			"a sign-in with a second factor is required", "") + `, acr_values="mfa"`}}
		p.cause = err
		return p
	}
	return err
}

func (h *Handler) myProfile(w http.ResponseWriter, r *Request) error {
	actor, err := meActor(r)
	if err != nil {
		return err
	}
	u, err := h.Admin.MyProfile(r.Context(), actor, r.TenantID())
	if err != nil {
		return h.meError(err)
	}
	return writeResource(w, http.StatusOK, admin.NewUserDoc(u), u.Version)
}

// profilePatch is the body of PATCH /me/profile: what a user may change
// about themselves. The username, the verified flags and the status are
// not here (an administrator changes them): a body naming them is a 400.
type profilePatch struct {
	Email       *string        `json:"email"`
	Name        *string        `json:"name"`
	GivenName   *string        `json:"given_name"`
	FamilyName  *string        `json:"family_name"`
	Picture     *string        `json:"picture"`
	Locale      *string        `json:"locale"`
	Address     *model.Address `json:"address"`
	PhoneNumber *string        `json:"phone_number"`
}

// updateMyProfile answers PATCH /me/profile; If-Match is required, as for
// every versioned resource (precondition.go).
func (h *Handler) updateMyProfile(w http.ResponseWriter, r *Request) error {
	actor, err := meActor(r)
	if err != nil {
		return err
	}
	version, err := requireIfMatch(r)
	if err != nil {
		return err
	}
	var in profilePatch
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	u, err := h.Admin.UpdateMyProfile(r.Context(), actor, r.TenantID(), admin.ProfileUpdate{
		Email: in.Email, Name: in.Name, GivenName: in.GivenName, FamilyName: in.FamilyName, Picture: in.Picture,
		Locale: in.Locale, Address: in.Address, PhoneNumber: in.PhoneNumber, Version: version})
	if err != nil {
		return h.meError(err)
	}
	h.invalidate(r)
	return writeResource(w, http.StatusOK, admin.NewUserDoc(u), u.Version)
}

// passwordChange is the body of POST /me/password.
type passwordChange struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
	// SignOut also ends every browser session and revokes every
	// refresh-token family of the user.
	SignOut bool `json:"sign_out"`
}

// changeMyPassword answers POST /me/password: 204, 400 naming
// current_password when it is wrong, 429 with Retry-After while wrong
// guesses lock the account.
func (h *Handler) changeMyPassword(w http.ResponseWriter, r *Request) error {
	actor, err := meActor(r)
	if err != nil {
		return err
	}
	var in passwordChange
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := h.Admin.ChangeMyPassword(r.Context(), actor, r.TenantID(), admin.PasswordChange{
		Current: in.CurrentPassword, New: in.NewPassword, SignOut: in.SignOut}); err != nil {
		return h.meError(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) myConsents(w http.ResponseWriter, r *Request) error {
	actor, err := meActor(r)
	if err != nil {
		return err
	}
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	cs, err := h.Admin.MyConsents(r.Context(), actor, r.TenantID())
	if err != nil {
		return h.meError(err)
	}
	return writeJSON(w, http.StatusOK, paginate(cs, p))
}

// revokeMyConsent answers DELETE /me/consents/{client_id}: 204, or 404
// when the user has no consent for the application.
func (h *Handler) revokeMyConsent(w http.ResponseWriter, r *Request) error {
	actor, err := meActor(r)
	if err != nil {
		return err
	}
	if err := h.Admin.RevokeMyConsent(r.Context(), actor, r.TenantID(), r.PathValue("client_id")); err != nil {
		return h.meError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// revoked is the answer of the bulk DELETEs: how many went.
type revoked struct {
	Revoked int `json:"revoked"`
}

func (h *Handler) revokeAllMyConsents(w http.ResponseWriter, r *Request) error {
	actor, err := meActor(r)
	if err != nil {
		return err
	}
	n, err := h.Admin.RevokeAllMyConsents(r.Context(), actor, r.TenantID())
	if err != nil {
		return h.meError(err)
	}
	return writeJSON(w, http.StatusOK, revoked{Revoked: n})
}

func (h *Handler) mySessions(w http.ResponseWriter, r *Request) error {
	actor, err := meActor(r)
	if err != nil {
		return err
	}
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	ss, err := h.Admin.MySessions(r.Context(), actor, r.TenantID())
	if err != nil {
		return h.meError(err)
	}
	return writeJSON(w, http.StatusOK, paginate(ss, p))
}

// endMySession answers DELETE /me/sessions/{id}: 204, or 404 for an ID
// that is not one of the user's live sessions (another user's included).
func (h *Handler) endMySession(w http.ResponseWriter, r *Request) error {
	actor, err := meActor(r)
	if err != nil {
		return err
	}
	if err := h.Admin.EndMySession(r.Context(), actor, r.TenantID(), r.PathValue("id")); err != nil {
		return h.meError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ended is the answer of DELETE /me/sessions.
type ended struct {
	Ended int `json:"ended"`
}

func (h *Handler) endAllMySessions(w http.ResponseWriter, r *Request) error {
	actor, err := meActor(r)
	if err != nil {
		return err
	}
	n, err := h.Admin.EndAllMySessions(r.Context(), actor, r.TenantID())
	if err != nil {
		return h.meError(err)
	}
	return writeJSON(w, http.StatusOK, ended{Ended: n})
}
