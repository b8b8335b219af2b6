package api

import (
	"encoding/json"
	"net/http"

	"github.com/intelliauth/intelliauth/internal/admin"
)

// webauthnRoutes mounts the registration of a passkey or security key
// (issue 11) for the signed-in user, in two requests around the browser's
// navigator.credentials.create: begin returns the options and the ID of the
// ceremony (kept by the server for 5 minutes, finished once), finish sends
// the browser's answer with a name. me:write, as every enrolment; a
// client-credentials token is 403. The factor is then listed, renamed and
// removed with the other factors under /me/mfa.
func (h *Handler) webauthnRoutes(rt *router) {
	rt.handle("POST", Prefix+"/me/mfa/webauthn/register", admin.OpBeginPasskeyRegistration, h.beginPasskeyRegistration)
	rt.handle("POST", Prefix+"/me/mfa/webauthn/register/finish", admin.OpFinishPasskeyRegistration, h.finishPasskeyRegistration)
}

// defaultPasskeyName names a passkey registered without a name.
const defaultPasskeyName = "Passkey"

// passkeyCeremony is the answer of POST /me/mfa/webauthn/register.
type passkeyCeremony struct {
	ChallengeID string `json:"challenge_id"`
	// Options is {"publicKey": PublicKeyCredentialCreationOptions} with
	// binary members base64url, as go-webauthn writes it.
	Options json.RawMessage `json:"options"`
}

// beginPasskeyRegistration answers POST /me/mfa/webauthn/register: 200
// with the ceremony (no-store); 409 when the user holds the most factors
// an account may, or when the tenant's issuer is an IP address.
func (h *Handler) beginPasskeyRegistration(w http.ResponseWriter, r *Request) error {
	actor, err := meActor(r)
	if err != nil {
		return err
	}
	opts, id, err := h.Admin.BeginPasskeyRegistration(r.Context(), actor, r.TenantID())
	if err != nil {
		return h.meError(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, passkeyCeremony{ChallengeID: id, Options: opts})
}

// passkeyAnswer is the body of POST /me/mfa/webauthn/register/finish.
type passkeyAnswer struct {
	ChallengeID string  `json:"challenge_id"`
	Name        *string `json:"name"`
	// Credential is the PublicKeyCredential as JSON
	// (PublicKeyCredential.toJSON), passed to go-webauthn as it is.
	Credential json.RawMessage `json:"credential"`
}

// passkeyRegistration is the answer of a finished registration.
type passkeyRegistration struct {
	Factor        admin.FactorView `json:"factor"`
	RecoveryCodes []string         `json:"recovery_codes,omitempty"`
}

// finishPasskeyRegistration answers POST /me/mfa/webauthn/register/finish:
// 201 with the new factor, and the recovery codes when it is the user's
// first (no-store). A ceremony that expired, was already finished or is
// not the caller's is 400 on challenge_id; an answer that fails
// verification (another origin, another challenge, a bad signature) 400 on
// credential; a bad name 400 on name.
func (h *Handler) finishPasskeyRegistration(w http.ResponseWriter, r *Request) error {
	actor, err := meActor(r)
	if err != nil {
		return err
	}
	var in passkeyAnswer
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.ChallengeID == "" {
		return invalidField("challenge_id", "is required: the challenge_id POST /me/mfa/webauthn/register answered")
	}
	if len(in.Credential) == 0 || string(in.Credential) == "null" {
		return invalidField("credential", "is required: the PublicKeyCredential navigator.credentials.create returned, as JSON")
	}
	name := defaultPasskeyName
	if in.Name != nil {
		name = *in.Name
	}
	res, err := h.Admin.FinishPasskeyRegistration(r.Context(), actor, r.TenantID(), in.ChallengeID, name, in.Credential)
	if err != nil {
		return h.meError(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, passkeyRegistration{Factor: res.Factor, RecoveryCodes: res.RecoveryCodes})
}
