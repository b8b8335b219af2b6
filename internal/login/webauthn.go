package login

import (
	"crypto/sha256"
	_ "embed" // the pages' script
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/logging"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// Passkeys and security keys (WebAuthn) on the sign-in pages. The pages
// carry a button that the tenant's script (AssetsPath + "webauthn.js")
// turns into a ceremony of two JSON requests, each with the page's CSRF
// token in the CSRFHeader header:
//
//	second factor (the /mfa page, after a password):
//	  POST /mfa/webauthn/begin   {target, step_up}                        → {challenge_id, options}
//	  POST /mfa/webauthn/finish  {target, step_up, challenge_id, credential} → {next}
//	passwordless (the /login page):
//	  POST /login/webauthn/begin  {target}                          → {challenge_id, options}
//	  POST /login/webauthn/finish {target, challenge_id, credential} → {next}
//	registration (the account page, signed in):
//	  POST /account/mfa/webauthn/begin  {}                          → {challenge_id, options}
//	  POST /account/mfa/webauthn/finish  a form: csrf, challenge_id, name, credential
//	                                     → the recovery codes (a first factor) or 303 to the page
//
// The account page's token is its own (the form "account" bound to the
// session, as its other forms), and its finish is an ordinary form POST of
// the page — filled in by the script — so that its answer can be a page.
// target is the page's target key (target.key: an authorization request's
// ID, or "return:" and a local path). The ceremonies themselves — the
// challenge kept in the store and taken once, the sign counter's
// compare-and-swap, the second factor's throttle — are internal/admin's
// (webauthn.go there); these handlers check the CSRF token, the session
// and the target, record the outcome (login.second_factor, or
// login.succeeded / login.failed) and open or upgrade the session. A
// refusal is {"error": sentence} with a 4xx status; the script shows the
// sentence.

// AssetsPath is where the tenant serves its pages' static files, relative
// to its issuer.
const AssetsPath = "/assets/"

// maxCeremonyBody bounds a ceremony request: a registration's attestation
// is the largest answer, a few kilobytes.
const maxCeremonyBody = 64 << 10

//go:embed static/webauthn.js
var webauthnJS []byte

// webauthnVersion names the script's content: the pages load it as
// webauthn.js?v=…, so a new build's script is never mixed up with a cached
// old one.
var webauthnVersion = func() string {
	sum := sha256.Sum256(webauthnJS)
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}()

// webauthnScript is the path of the script for the tenant's pages.
func webauthnScript(snap *catalog.Snapshot) string {
	return cookiePath(snap) + strings.TrimPrefix(AssetsPath, "/") + "webauthn.js?v=" + webauthnVersion
}

// registerWebAuthn mounts the script and the ceremonies.
func (h *Handler) registerWebAuthn(mux *http.ServeMux) {
	mux.HandleFunc("GET "+AssetsPath+"webauthn.js", serveWebAuthnScript)
	mux.HandleFunc("POST /mfa/webauthn/begin", h.withCeremony(h.secondFactorBegin))
	mux.HandleFunc("POST /mfa/webauthn/finish", h.withCeremony(h.secondFactorFinish))
	mux.HandleFunc("POST /login/webauthn/begin", h.withCeremony(h.passkeyBegin))
	mux.HandleFunc("POST /login/webauthn/finish", h.withCeremony(h.passkeyFinish))
	mux.HandleFunc("POST "+accountPage+"mfa/webauthn/begin", h.withCeremony(h.accountPasskeyBegin))
	mux.HandleFunc("POST "+accountPage+"mfa/webauthn/finish", h.withTenant(h.accountPost(h.accountPasskeyFinish)))
}

// serveWebAuthnScript serves the embedded script. It is the same for every
// tenant and changes only with the binary, so it may be cached (the pages
// name its version); its ETag lets a browser revalidate it cheaply.
func serveWebAuthnScript(w http.ResponseWriter, r *http.Request) {
	etag := `"` + webauthnVersion + `"`
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=86400")
	h.Set("ETag", etag)
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(webauthnJS)
}

// ceremonyRequest is the JSON body of a ceremony request.
type ceremonyRequest struct {
	// Target is the page's target key (target.key).
	Target string `json:"target"`
	// StepUp is "1" on a step-up's second-factor page.
	StepUp      string          `json:"step_up"`
	ChallengeID string          `json:"challenge_id"`
	Name        string          `json:"name"`
	Credential  json.RawMessage `json:"credential"`
}

// params are the page parameters the target key stands for.
func (c ceremonyRequest) params() url.Values {
	v := url.Values{}
	if ret, ok := strings.CutPrefix(c.Target, "return:"); ok {
		v.Set("return", ret)
	} else {
		v.Set("request", c.Target)
	}
	if c.StepUp == "1" {
		v.Set("step_up", "1")
	}
	return v
}

// ceremonyHandler answers one ceremony request; it writes its answer, or
// returns the error to send as {"error"}.
type ceremonyHandler func(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot, req ceremonyRequest) error

// withCeremony is withTenant for the script's JSON requests: a body of at
// most maxCeremonyBody bytes of JSON (Content-Type application/json, which
// a cross-site form cannot send), text fields that are text, and errors
// answered as JSON.
func (h *Handler) withCeremony(f ceremonyHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		snap, ok := catalog.FromContext(r.Context())
		if !ok {
			http.NotFound(w, r)
			return
		}
		h.init()
		err := h.readCeremony(w, r, snap, f)
		if err == nil {
			return
		}
		if pe := h.refusal(w, r, snap, err); pe != nil {
			msg := pe.title + "."
			if pe.detail != "" {
				msg += " " + pe.detail
			}
			writeJSON(w, pe.status, map[string]string{"error": msg})
		}
	}
}

func (h *Handler) readCeremony(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot, f ceremonyHandler) error {
	unreadable := &pageError{status: http.StatusBadRequest, title: "The request could not be read", detail: "Reload the page and try again."}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		unreadable.status, unreadable.cause = http.StatusUnsupportedMediaType, fmt.Errorf("content type %q", r.Header.Get("Content-Type"))
		return unreadable
	}
	var req ceremonyRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxCeremonyBody))
	if err := dec.Decode(&req); err != nil {
		unreadable.cause = err
		return unreadable
	}
	for _, s := range []string{req.Target, req.StepUp, req.ChallengeID, req.Name} {
		if !model.ValidText(s) || len(s) > 1024 {
			unreadable.cause = errors.New("a member is not UTF-8 text without NUL bytes, or too long")
			return unreadable
		}
	}
	return f(w, r, snap, req)
}

// writeJSON writes v as the answer of a ceremony request.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// begun answers a Begin: the ceremony's ID and the options for the
// browser.
func begun(w http.ResponseWriter, options []byte, challengeID string) error {
	writeJSON(w, http.StatusOK, map[string]any{"challenge_id": challengeID, "options": json.RawMessage(options)})
	return nil
}

// next answers with where the browser goes on.
func next(w http.ResponseWriter, snap *catalog.Snapshot, t target) error {
	writeJSON(w, http.StatusOK, map[string]string{"next": t.nextURL(snap)})
	return nil
}

// nextURL is where target.resume sends the browser.
func (t target) nextURL(snap *catalog.Snapshot) string {
	if t.local() {
		return snap.Tenant.Issuer + t.ret
	}
	return snap.Tenant.Issuer + ResumePath + "?" + url.Values{"request": {t.ar.ID}}.Encode()
}

// refused answers a refused ceremony with its sentence.
func refused(w http.ResponseWriter, status int, msg string) error {
	writeJSON(w, status, map[string]string{"error": msg})
	return nil
}

// Messages of refused passkey ceremonies.
const (
	msgPasskeyThrottled = "Too many failed attempts; try again in a few minutes."
	msgPasskeyNone      = "You have no passkey or security key on this account; use another way."
	msgPasskeyUnknown   = "This passkey is not registered with this service; sign in with your password, or use another passkey."
	msgPasskeyDisabled  = "This passkey cannot sign in here. Sign in with your password, or ask an administrator."
	msgPasskeysOff      = "Passkeys cannot be used at this address; sign in with your password."
)

// secondFactorBegin starts a passkey as the second step of a sign-in.
func (h *Handler) secondFactorBegin(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot, req ceremonyRequest) error {
	if !checkCSRFHeader(r, snap, "mfa", req.Target) {
		return errCSRF
	}
	st, err := h.loadMFA(r, snap, req.params())
	if err != nil {
		return err
	}
	if st.done() {
		return next(w, snap, st.t)
	}
	if !slices.ContainsFunc(st.need.Factors, func(f model.Factor) bool { return f.Type == model.FactorWebAuthn }) {
		return refused(w, http.StatusBadRequest, msgPasskeyNone)
	}
	opts, id, err := h.Admin.BeginPasskeySecondFactor(r.Context(), snap.Tenant.ID, st.user.ID)
	if err != nil {
		return h.secondFactorRefused(w, r, snap, st, err)
	}
	return begun(w, opts, id)
}

// secondFactorFinish checks the passkey's answer; on success the session
// gains the authenticator's methods (hwk or swk, and user when it
// verified the user) and "mfa".
func (h *Handler) secondFactorFinish(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot, req ceremonyRequest) error {
	if !checkCSRFHeader(r, snap, "mfa", req.Target) {
		return errCSRF
	}
	st, err := h.loadMFA(r, snap, req.params())
	if err != nil {
		return err
	}
	if st.done() {
		return next(w, snap, st.t)
	}
	a, err := h.Admin.FinishPasskeySecondFactor(r.Context(), snap.Tenant.ID, st.user.ID, req.ChallengeID, req.Credential)
	if err != nil {
		return h.secondFactorRefused(w, r, snap, st, err)
	}
	if err := h.passed(r.Context(), snap, st, string(model.FactorWebAuthn), a.AMR...); err != nil {
		return err
	}
	return next(w, snap, st.t)
}

// secondFactorRefused audits a refused second-factor passkey and answers
// with its sentence: 429 once the user's second-factor throttle is
// engaged, 401 for an answer that was refused.
func (h *Handler) secondFactorRefused(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot, st mfaState, err error) error {
	var pe *admin.PasskeyError
	status, msg, reason := http.StatusUnauthorized, "", ""
	switch {
	case errors.Is(err, admin.ErrThrottled):
		status, msg, reason = http.StatusTooManyRequests, msgPasskeyThrottled, "throttled"
	case errors.As(err, &pe):
		msg, reason = pe.Message(), pe.Reason
		if pe.Reason == admin.ReasonNoCredentials {
			status, msg = http.StatusBadRequest, msgPasskeyNone
		}
	case errors.Is(err, admin.ErrPasskeysUnavailable):
		return refused(w, http.StatusBadRequest, msgPasskeysOff)
	default:
		return internalError(err)
	}
	h.logger().Log(r.Context(), logging.Level(logging.Classify(r.Context(), err), status), "second-factor passkey refused",
		"tenant", snap.Tenant.ID, "user_id", st.user.ID, "reason", reason, "cause", err.Error())
	if err := h.recordFactor(r.Context(), snap, st, string(model.FactorWebAuthn), "failure", reason); err != nil {
		return internalError(err)
	}
	return refused(w, status, msg)
}

// passkeyBegin starts a passwordless sign-in for the sign-in page's
// target.
func (h *Handler) passkeyBegin(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot, req ceremonyRequest) error {
	if !checkCSRFHeader(r, snap, "login", req.Target) {
		return errCSRF
	}
	if _, err := h.loadTarget(r.Context(), snap, req.params()); err != nil {
		return err
	}
	opts, id, err := h.Admin.BeginPasskeySignIn(r.Context(), snap.Tenant.ID)
	if errors.Is(err, admin.ErrPasskeysUnavailable) {
		return refused(w, http.StatusBadRequest, msgPasskeysOff)
	}
	if err != nil {
		return internalError(err)
	}
	return begun(w, opts, id)
}

// passkeyFinish checks a passwordless answer and signs the passkey's user
// in, as a password sign-in does (openSession), with the authenticator's
// methods as amr — and "mfa" when it verified the user (the passkey then
// proved two factors) — then the browser goes on to the target.
func (h *Handler) passkeyFinish(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot, req ceremonyRequest) error {
	ctx := r.Context()
	if !checkCSRFHeader(r, snap, "login", req.Target) {
		return errCSRF
	}
	t, err := h.loadTarget(ctx, snap, req.params())
	if err != nil {
		return err
	}
	ip := h.clientIP(r)
	a, err := h.Admin.FinishPasskeySignIn(ctx, snap.Tenant.ID, req.ChallengeID, req.Credential)
	if err != nil {
		var pe *admin.PasskeyError
		if !errors.As(err, &pe) {
			if errors.Is(err, admin.ErrPasskeysUnavailable) {
				return refused(w, http.StatusBadRequest, msgPasskeysOff)
			}
			return internalError(err)
		}
		h.count(snap.Tenant.ID, OutcomePasskeyFailed)
		h.logger().InfoContext(ctx, "passkey sign-in refused", "tenant", snap.Tenant.ID, "user_id", pe.UserID, "reason", pe.Reason, "cause", err.Error())
		details, _ := json.Marshal(map[string]any{"reason": pe.Reason, "ip": ip, "request": t.ar.ID, "method": methodPasskey})
		if err := h.record(ctx, model.AuditEvent{
			TenantID: snap.Tenant.ID, Type: model.EventLoginFailed,
			ActorType: ActorIP, ActorID: ip, ClientID: t.ar.ClientID, Subject: pe.UserID, Details: details,
		}); err != nil {
			return internalError(err)
		}
		msg := pe.Message()
		switch pe.Reason {
		case admin.ReasonUnknownCredential:
			msg = msgPasskeyUnknown
		case admin.ReasonDisabled:
			msg = msgPasskeyDisabled
		}
		return refused(w, http.StatusUnauthorized, msg)
	}
	amr := slices.Clone(a.AMR)
	if a.MultiFactor {
		amr = append(amr, model.AMRMulti)
	}
	if err := h.openSession(w, r, snap, t, a.User, ip, methodPasskey, amr); err != nil {
		return err
	}
	return next(w, snap, t)
}

// accountPasskeyBegin starts registering a passkey from the account page.
func (h *Handler) accountPasskeyBegin(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot, _ ceremonyRequest) error {
	a, first, err := h.accountOf(w, r, snap)
	if err != nil {
		return err
	}
	if first != "" {
		return &pageError{status: http.StatusUnauthorized, title: "Sign in first",
			detail: "Your session has ended, or it needs a second factor. Reload the page to sign in again."}
	}
	if !checkCSRFHeader(r, snap, "account", a.sid) {
		return errAccountCSRF
	}
	opts, id, err := h.Admin.BeginPasskeyRegistration(r.Context(), a.actor, snap.Tenant.ID)
	switch {
	case errors.Is(err, store.ErrConflict):
		// Too many factors, or an issuer on an IP address.
		return refused(w, http.StatusConflict, accountSentence(refusalSentence(err, "a passkey cannot be added now")))
	case err != nil:
		return internalError(err)
	}
	return begun(w, opts, id)
}

// accountPasskeyFinish registers the passkey the script's form carries:
// the recovery codes when it is the user's first factor, shown once,
// else back to the page with its notice; a refusal shows the page with the
// reason.
func (h *Handler) accountPasskeyFinish(w http.ResponseWriter, r *http.Request, a *account) (int, pageState, error) {
	f := r.PostForm
	res, err := h.Admin.FinishPasskeyRegistration(r.Context(), a.actor, a.snap.Tenant.ID, f.Get("challenge_id"), f.Get("name"), []byte(f.Get("credential")))
	if err != nil {
		return accountRefusal("factors", err)
	}
	// As for an authenticator app, the session's own authentication is
	// not raised by a factor enrolled in it.
	if len(res.RecoveryCodes) > 0 {
		h.showCodes(w, a, "Your passkey is registered",
			"Save these recovery codes: if you lose your passkey, each one signs you in once. They are shown only now — print them or keep them in a password manager.",
			res.RecoveryCodes)
		return 0, pageState{}, nil
	}
	return accountDone(w, a, "passkey")
}
