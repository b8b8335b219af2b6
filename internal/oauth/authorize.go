package oauth

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/policy"
	"github.com/intelliauth/intelliauth/oautherr"
)

// AuthRequestTTL is how long an authorization request waits for the user to
// sign in and consent.
const AuthRequestTTL = 10 * time.Minute

// Error codes of OpenID Connect Core 1.0 §3.1.2.6.
const (
	errLoginRequired           = "login_required"
	errConsentRequired         = "consent_required"
	errInteractionRequired     = "interaction_required"
	errRequestNotSupported     = "request_not_supported"
	errRequestURINotSupported  = "request_uri_not_supported"
	errRegistrationUnsupported = "registration_not_supported"
)

// Prompt values (OIDC Core 1.0 §3.1.2.1).
const (
	promptNone          = "none"
	promptLogin         = "login"
	promptConsent       = "consent"
	promptSelectAccount = "select_account"
)

// Bounds on parameters that are stored with the request and echoed. Real
// values are far smaller; the bounds keep hostile requests cheap.
const (
	maxStateLen     = 4096
	maxNonceLen     = 512
	maxLoginHintLen = 256
	// maxMaxAge is ten years in seconds.
	maxMaxAge = 10 * 365 * 24 * 3600
)

// authorize is the authorization endpoint (RFC 6749 §3.1, §4.1.1; OIDC Core
// 1.0 §3.1.2). It validates the request in the order RFC 6749 §4.1.2.1
// requires — client and redirect URI first, and any failure there is shown
// to the user, never redirected — then stores the request and hands it to
// the flow (see flow).
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) error {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		return &pageError{status: http.StatusMethodNotAllowed, title: "Invalid request", detail: "The authorization endpoint accepts GET and POST."}
	}
	params, err := readAuthParams(w, r)
	if err != nil {
		return err
	}

	// 1. The client. RFC 6749 §4.1.2.1: an invalid client_id is shown, not
	// redirected.
	clientID, dup := single(params, "client_id")
	switch {
	case dup:
		return badRequestPage("Invalid request", "The client_id parameter is repeated.")
	case clientID == "":
		return badRequestPage("Invalid request", "The request does not name an application (client_id is missing).")
	}
	snap, app, err := h.findApp(r, snap, clientID, func(a *catalog.App) bool { return true })
	if err != nil {
		return err
	}
	if app == nil {
		return badRequestPage("Unknown application", "The application that sent you here is not registered with this service.")
	}

	// 2. The redirect URI, matched exactly (RFC 9700 §4.1.3). When the
	// client registered exactly one, it may be omitted (RFC 6749 §3.1.2.3).
	redirectURI, dup := single(params, "redirect_uri")
	if dup {
		return badRequestPage("Invalid request", "The redirect_uri parameter is repeated.")
	}
	if redirectURI == "" {
		if len(app.RedirectURIs) != 1 {
			return badRequestPage("Invalid request", "The request does not say where to return to (redirect_uri is missing).")
		}
		redirectURI = app.RedirectURIs[0]
	} else if !app.MatchRedirectURI(redirectURI) {
		// A URI registered on another node a moment ago must not be refused.
		snap, app, err = h.findApp(r, snap, clientID, func(a *catalog.App) bool { return a.MatchRedirectURI(redirectURI) })
		if err != nil {
			return err
		}
		if app == nil || !app.MatchRedirectURI(redirectURI) {
			return badRequestPage("Invalid redirect address", "The address the application asked to return to is not registered for it, so you were not sent back.")
		}
	}

	// From here on, errors go back to the client.
	state, _ := single(params, "state")
	fail := func(code, desc string) error {
		return &redirectError{err: oautherr.New(code, desc), redirectURI: redirectURI, state: state, issuer: snap.Tenant.Issuer}
	}
	for k, vs := range params {
		// RFC 6749 §3.1: "Request and response parameters MUST NOT be
		// included more than once."
		if len(vs) > 1 && !multiValued[k] {
			return fail(oautherr.InvalidRequest, "parameter "+safeName(k)+" is repeated")
		}
	}
	if len(state) > maxStateLen {
		return &redirectError{err: oautherr.New(oautherr.InvalidRequest, "state is too long"), redirectURI: redirectURI, issuer: snap.Tenant.Issuer}
	}
	// OIDC Core 1.0 §6: request objects and dynamic registration are not
	// supported; say so with the codes §3.1.2.6 defines.
	switch {
	case params.Has("request"):
		return fail(errRequestNotSupported, "request objects are not supported")
	case params.Has("request_uri"):
		return fail(errRequestURINotSupported, "request_uri is not supported")
	case params.Has("registration"):
		return fail(errRegistrationUnsupported, "the registration parameter is not supported")
	}
	switch rt := params.Get("response_type"); {
	case rt == "":
		return fail(oautherr.InvalidRequest, "response_type is required")
	case rt != "code":
		// RFC 9700 §2.1.2: no implicit or hybrid flows.
		return fail(oautherr.UnsupportedResponseType, "only response_type=code is supported")
	}
	if rm := params.Get("response_mode"); rm != "" && rm != "query" {
		return fail(oautherr.InvalidRequest, "only response_mode=query is supported")
	}
	if !app.Allows(model.GrantAuthorizationCode) {
		return fail(oautherr.UnauthorizedClient, "this client may not use the authorization code flow")
	}

	// 3. PKCE (RFC 7636), S256 only and for every client (RFC 9700 §2.1.1).
	challenge, method := params.Get("code_challenge"), params.Get("code_challenge_method")
	switch {
	case challenge == "":
		return fail(oautherr.InvalidRequest, "code_challenge is required (PKCE, RFC 7636)")
	case method != "S256":
		// RFC 7636 §4.3: an absent method means plain, which is refused too
		// (§4.4.1 "transform algorithm not supported").
		return fail(oautherr.InvalidRequest, "transform algorithm not supported: use code_challenge_method=S256")
	case !validChallenge(challenge):
		return fail(oautherr.InvalidRequest, "code_challenge must be the 43-character base64url SHA-256 of the verifier")
	}

	// 4. OpenID Connect parameters.
	prompt, err := parsePrompt(params.Get("prompt"))
	if err != nil {
		return fail(oautherr.InvalidRequest, err.Error())
	}
	maxAge := int64(-1)
	if v := params.Get("max_age"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > maxMaxAge {
			return fail(oautherr.InvalidRequest, "max_age must be a non-negative number of seconds")
		}
		maxAge = n
	}
	nonce, loginHint := params.Get("nonce"), params.Get("login_hint")
	if len(nonce) > maxNonceLen {
		return fail(oautherr.InvalidRequest, "nonce is too long")
	}
	if len(loginHint) > maxLoginHintLen {
		return fail(oautherr.InvalidRequest, "login_hint is too long")
	}
	// OIDC Core 1.0 §3.1.2.1 acr_values: "Requested Authentication Context
	// Class Reference values", in order of preference; voluntary, so an
	// unknown value is not an error — the server issues what it can.
	acrValues := params.Get("acr_values")
	if len(acrValues) > maxLoginHintLen {
		return fail(oautherr.InvalidRequest, "acr_values is too long")
	}

	// 5. Scope and audience: the parts of the decision that do not depend
	// on the user run now, so that a strict application's mistake is
	// reported before anyone is asked to sign in.
	// RFC 8707 §2.1: several resource parameters make one grant for
	// several APIs; the decision runs for each (apiRequests).
	resources, err := resourceParams(params)
	if err != nil {
		return &redirectError{err: oautherr.As(err), redirectURI: redirectURI, state: state, issuer: snap.Tenant.Issuer}
	}
	aud := ""
	if len(resources) > 0 {
		aud = resources[0]
	}
	precheck := func(snap *catalog.Snapshot, app *catalog.App) error {
		parts, err := apiRequests(snap.Registry, params.Get("scope"), resources)
		if err != nil {
			return err
		}
		for _, p := range parts {
			if _, err := policy.Decide(policy.Input{
				Scope: p.scope, Audience: p.audience, App: app.Application,
				Registry: snap.Registry, User: &policy.User{}, Allowance: app.Allowance,
			}); err != nil {
				return err
			}
		}
		return nil
	}
	if err := precheck(snap, app); err != nil {
		// The snapshot may be a moment old (an allowlist changed on another
		// node): re-check the revision once before refusing.
		if fresh, ferr := h.Catalog.Recheck(r.Context(), snap.Tenant.ID); ferr == nil && fresh != snap {
			if a, ok := fresh.App(clientID); ok && a.MatchRedirectURI(redirectURI) {
				snap, app = fresh, a
				err = precheck(snap, app)
			}
		}
		if err != nil {
			return &redirectError{err: oautherr.As(err), redirectURI: redirectURI, state: state, issuer: snap.Tenant.Issuer}
		}
	}
	if len(resources) < 2 {
		resources = nil // a request of one API stores it as Audience alone
	}

	now := h.now()
	f := &flow{h: h, snap: snap, app: app, req: model.AuthRequest{
		TenantID:            snap.Tenant.ID,
		ID:                  newOpaque(),
		ClientID:            app.ClientID,
		RedirectURI:         redirectURI,
		Scope:               params.Get("scope"),
		State:               state,
		Nonce:               nonce,
		CodeChallenge:       challenge,
		CodeChallengeMethod: method,
		Audience:            aud,
		Resources:           resources,
		Prompt:              prompt,
		MaxAge:              maxAge,
		LoginHint:           loginHint,
		ACRValues:           acrValues,
		IncludeGranted:      params.Get("include_granted_scopes") == "true",
		CreatedAt:           now,
		ExpiresAt:           now.Add(AuthRequestTTL),
	}}
	return f.run(w, r)
}

// findApp looks the client up, re-checking the tenant's revision once when
// the cached snapshot does not have it or ok refuses it.
func (h *Handler) findApp(r *http.Request, snap *catalog.Snapshot, clientID string, ok func(*catalog.App) bool) (*catalog.Snapshot, *catalog.App, error) {
	if a, found := snap.App(clientID); found && ok(a) {
		return snap, a, nil
	}
	fresh, err := h.Catalog.Recheck(r.Context(), snap.Tenant.ID)
	if err != nil {
		return snap, nil, &pageError{status: http.StatusServiceUnavailable, title: "Something went wrong", detail: "The service could not load its configuration. Please try again.", cause: err}
	}
	a, found := fresh.App(clientID)
	if !found {
		return fresh, nil, nil
	}
	return fresh, a, nil
}

// readAuthParams returns the request's parameters: the query of a GET, the
// form body of a POST (OIDC Core 1.0 §3.1.2.1: "Authorization Servers MUST
// support the use of the HTTP GET and POST methods"). A request that cannot
// be read is shown as an error page: its client is not known yet.
func readAuthParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	raw := r.URL.RawQuery
	if r.Method == http.MethodPost {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, badRequestPage("Invalid request", "The request must be sent as a form.")
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
		if err != nil {
			return nil, badRequestPage("Invalid request", "The request is too large or could not be read.")
		}
		raw = string(body)
	}
	params, err := url.ParseQuery(raw)
	if err != nil {
		return nil, badRequestPage("Invalid request", "The request's parameters are malformed.")
	}
	if _, bad := model.InvalidParam(params); bad {
		return nil, badRequestPage("Invalid request", "The request's parameters are not UTF-8 text (or hold a NUL byte); go back to the application and start again.")
	}
	return params, nil
}

// single returns a parameter's value and whether it was repeated.
func single(params url.Values, name string) (string, bool) {
	vs := params[name]
	if len(vs) == 0 {
		return "", false
	}
	return vs[0], len(vs) > 1
}

// validChallenge checks an S256 code_challenge: BASE64URL(SHA256(verifier))
// without padding is always 43 characters of the base64url alphabet
// (RFC 7636 §4.2).
func validChallenge(c string) bool {
	return len(c) == 43 && strings.IndexFunc(c, func(r rune) bool { return !isBase64URL(r) }) < 0
}

func isBase64URL(r rune) bool {
	return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_'
}

// parsePrompt checks the prompt parameter (OIDC Core 1.0 §3.1.2.1): a
// space-separated list of none, login, consent and select_account, where
// "none" must stand alone. It returns the values space-joined, or "".
func parsePrompt(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	seen := map[string]bool{}
	var out []string
	for _, p := range strings.Split(raw, " ") {
		switch p {
		case promptNone, promptLogin, promptConsent, promptSelectAccount:
		case "":
			return "", errors.New("prompt values must be separated by single spaces")
		default:
			return "", errors.New("prompt value " + strconv.Quote(safeName(p)) + " is not supported")
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if seen[promptNone] && len(out) > 1 {
		// "If this parameter contains none with any other value, an error is
		// returned."
		return "", errors.New("prompt=none cannot be combined with other values")
	}
	return strings.Join(out, " "), nil
}

// hasPrompt reports whether the stored prompt holds value.
func hasPrompt(prompt, value string) bool {
	for _, p := range strings.Fields(prompt) {
		if p == value {
			return true
		}
	}
	return false
}
