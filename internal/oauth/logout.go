package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/token"
)

// logout is OpenID Connect RP-Initiated Logout 1.0 (GET and POST).
//
//   - id_token_hint, when present, must be an ID token this tenant signed
//     (its expiry may be past: §2 "the OP SHOULD accept ID Tokens ... even
//     when expired"); its aud/azp names the client. client_id, when both
//     are given, must agree with it.
//   - post_logout_redirect_uri must exactly match one of that client's
//     PostLogoutRedirectURIs (§3: "MUST NOT perform post-logout redirection
//     if the value does not exactly match"); a bad one is shown as an error
//     page and nothing is done. state is passed back to it.
//   - The session ends at once when the hint names the signed-in user.
//     Otherwise (§2: the OP "MUST ask the End-User this question if an
//     id_token_hint was not provided or if the supplied ID Token does not
//     belong to the current OP session") the user is asked to confirm; the
//     confirmation is a same-origin POST (checked by Origin, or
//     Sec-Fetch-Site), so another site cannot sign the user out.
//   - Without a valid post_logout_redirect_uri the user sees a "signed
//     out" page.
//
// Not done: front- and back-channel logout notifications to other relying
// parties; refresh tokens (offline_access) outlive the session by design.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) error {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		return &pageError{status: http.StatusMethodNotAllowed, title: "Invalid request", detail: "The logout endpoint accepts GET and POST."}
	}
	params, err := readAuthParams(w, r)
	if err != nil {
		return err
	}
	for _, k := range []string{"id_token_hint", "post_logout_redirect_uri", "client_id", "state", "confirm"} {
		if _, dup := single(params, k); dup {
			return badRequestPage("Invalid sign-out request", "The parameter "+k+" is repeated.")
		}
	}
	invalid := func(detail string) error { return badRequestPage("Invalid sign-out request", detail) }

	var hint *idTokenHint
	if raw := params.Get("id_token_hint"); raw != "" {
		if hint, err = verifyIDTokenHint(snap, raw); err != nil {
			return &pageError{status: http.StatusBadRequest, title: "Invalid sign-out request", detail: "The application sent an ID token this service did not issue.", cause: err}
		}
	}
	clientID := params.Get("client_id")
	if hint != nil {
		if clientID != "" && clientID != hint.clientID {
			return invalid("The client_id does not match the ID token.")
		}
		clientID = hint.clientID
	}
	var app *catalog.App
	if clientID != "" {
		var ok bool
		if app, ok = snap.App(clientID); !ok {
			return invalid("The application that sent you here is not registered with this service.")
		}
	}
	target := params.Get("post_logout_redirect_uri")
	if target != "" {
		if app == nil {
			return invalid("A return address needs id_token_hint or client_id to say which application it belongs to.")
		}
		if !slices.Contains(app.PostLogoutRedirectURIs, target) {
			return invalid("The address the application asked to return to after signing out is not registered for it.")
		}
	}

	sess, user, ok, err := h.Login.CurrentSession(r, snap)
	if err != nil {
		return fmt.Errorf("read session: %w", err)
	}
	confirmed := r.Method == http.MethodPost && params.Get("confirm") == "yes" && sameOrigin(r, snap.Tenant.Issuer)
	byHint := ok && hint != nil && hint.subject == user.ID
	switch {
	case ok && (byHint || confirmed):
		if _, _, err := h.Login.EndSession(w, r, snap); err != nil {
			return fmt.Errorf("end session: %w", err)
		}
		via := "confirmation"
		if byHint {
			via = "id_token_hint"
		}
		details, _ := json.Marshal(map[string]any{"sid": sessionSID(sess.ID), "via": via})
		if err := h.Audit.Record(r.Context(), model.AuditEvent{
			TenantID: snap.Tenant.ID, Type: model.EventLogout,
			ActorType: model.ActorUser, ActorID: user.ID, ClientID: clientID,
			Subject: user.ID, Details: details,
		}); err != nil {
			h.Logger.ErrorContext(r.Context(), "audit logout", "tenant", snap.Tenant.ID, "err", err)
		}
	case ok || (r.Method == http.MethodPost && !params.Has("confirm")):
		// Ask. A cross-site POST carries no SameSite=Lax cookie, so a
		// session may exist unseen: the confirmation is same-site and will
		// see it.
		var appName string
		if app != nil {
			appName = app.Name
		}
		return renderPage(w, http.StatusOK, confirmTemplate, map[string]any{
			"Action": snap.Tenant.Issuer + "/oauth2/logout",
			"App":    appName,
			"Params": confirmParams(params),
		})
	}
	if target != "" {
		q := url.Values{}
		if s := params.Get("state"); s != "" {
			q.Set("state", s)
		}
		redirect(w, target, q)
		return nil
	}
	return renderPage(w, http.StatusOK, signedOutTemplate, nil)
}

// confirmParams are the request's parameters carried through the
// confirmation form.
func confirmParams(params url.Values) [][2]string {
	var out [][2]string
	for _, k := range []string{"id_token_hint", "post_logout_redirect_uri", "client_id", "state"} {
		if v := params.Get(k); v != "" {
			out = append(out, [2]string{k, v})
		}
	}
	return out
}

// sameOrigin reports whether a POST came from a page of the issuer's
// origin: the Origin header when the browser sent one, else Fetch
// Metadata.
func sameOrigin(r *http.Request, issuer string) bool {
	u, err := url.Parse(issuer)
	if err != nil {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		return strings.EqualFold(o, u.Scheme+"://"+u.Host)
	}
	return r.Header.Get("Sec-Fetch-Site") == "same-origin"
}

// idTokenHint is what logout needs from a verified id_token_hint.
type idTokenHint struct {
	subject  string
	clientID string
}

// verifyIDTokenHint checks that raw is an ID token signed by one of the
// tenant's published keys, for this issuer, naming one client. Expiry is
// not checked.
func verifyIDTokenHint(snap *catalog.Snapshot, raw string) (*idTokenHint, error) {
	if len(raw) > token.MaxTokenSize {
		return nil, errors.New("id_token_hint is too long")
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return nil, fmt.Errorf("parse id_token_hint: %w", err)
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); strings.Contains(strings.ToLower(typ), token.TypeAccessToken) {
		return nil, errors.New("id_token_hint is an access token")
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(snap.Keys.JWKS(), &set); err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	keys := set.Key(h.KeyID)
	if len(keys) != 1 || keys[0].Algorithm != h.Algorithm {
		return nil, fmt.Errorf("unknown kid %q", h.KeyID)
	}
	var c struct {
		jwt.Claims
		AZP string `json:"azp"`
	}
	if err := tok.Claims(keys[0].Key, &c); err != nil {
		return nil, fmt.Errorf("verify id_token_hint: %w", err)
	}
	if c.Issuer != snap.Tenant.Issuer || c.Subject == "" {
		return nil, errors.New("id_token_hint was not issued by this tenant")
	}
	client := c.AZP
	if client == "" {
		if len(c.Audience) != 1 {
			return nil, errors.New("id_token_hint names no single client")
		}
		client = c.Audience[0]
	} else if !c.Audience.Contains(client) {
		return nil, errors.New("id_token_hint azp is not an audience")
	}
	return &idTokenHint{subject: c.Subject, clientID: client}, nil
}

var confirmTemplate = template.Must(template.New("confirm").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign out</title></head>
<body><main><h1>Sign out?</h1>
<p>{{if .App}}{{.App}} asks to sign you out.{{else}}Do you want to sign out?{{end}}</p>
<form method="post" action="{{.Action}}">
{{range .Params}}<input type="hidden" name="{{index . 0}}" value="{{index . 1}}">
{{end}}<input type="hidden" name="confirm" value="yes">
<button type="submit">Sign out</button>
</form></main></body></html>
`))

var signedOutTemplate = template.Must(template.New("signedout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Signed out</title></head>
<body><main><h1>You are signed out</h1><p>You can close this window.</p></main></body></html>
`))

// renderPage writes an HTML page.
func renderPage(w http.ResponseWriter, status int, t *template.Template, data any) error {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// The status line is out: a failure now can only be logged by the
	// server as a broken response.
	_ = t.Execute(w, data)
	return nil
}
