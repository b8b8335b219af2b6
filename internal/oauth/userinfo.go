package oauth

import (
	"mime"
	"net/http"
	"strings"

	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/token"
	"github.com/intelliauth/intelliauth/oautherr"
	"github.com/intelliauth/intelliauth/scope"
)

// userinfo is the OIDC Core 1.0 §5.3 UserInfo endpoint, GET and POST. The
// access token comes in the Authorization header (RFC 6750 §2.1) or, for
// POST, in the form body (§2.2) — not both, and never in the URL (§2.3 is
// not supported: URLs end up in logs). It must be an access token of this
// tenant that the tenant's one check (token.AccessCheck) finds valid — so
// its application and user still exist and the user is active — whose
// scope holds openid and whose subject is a user; the response is sub plus
// the claims of the token's OIDC scopes, read from the user's current
// profile.
//
// Not checked: the token's audience. Any API's token that carries openid
// was granted the user's identity, whichever API it is for.
func (h *Handler) userinfo(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) error {
	challenge := func(code, desc, scope string) {
		w.Header().Set("WWW-Authenticate", oautherr.BearerChallenge("", code, desc, scope))
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		e := oautherr.New(oautherr.InvalidRequest, "use GET or POST")
		e.Status = http.StatusMethodNotAllowed
		return e
	}
	raw, err := bearerToken(w, r)
	if err != nil {
		challenge(oautherr.InvalidRequest, oautherr.As(err).Description, "")
		return err
	}
	if raw == "" {
		// RFC 6750 §3.1: without credentials the challenge has no error.
		challenge("", "", "")
		e := oautherr.New(oautherr.InvalidToken, "an access token is required")
		return e
	}
	invalid := func(cause string) error {
		challenge(oautherr.InvalidToken, "the access token is invalid or expired", "")
		e := oautherr.New(oautherr.InvalidToken, "the access token is invalid or expired")
		e.Cause = errString(cause)
		return e
	}
	acc, reason, err := h.accessCheck(snap).CheckAnyAudience(r.Context(), raw)
	if err != nil {
		return oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", err)
	}
	if reason != token.Valid {
		return invalid("inactive access token: " + reason.String())
	}
	granted, err := scope.Parse(acc.Claims.Scope)
	if err != nil {
		return invalid("malformed scope claim")
	}
	if !granted.Has(model.ScopeOpenID) {
		// OIDC Core 1.0 §5.3.3 / RFC 6750 §3.1.
		challenge(oautherr.InsufficientScope, "the access token lacks the openid scope", model.ScopeOpenID)
		return oautherr.New(oautherr.InsufficientScope, "the access token lacks the openid scope")
	}
	u := acc.User
	if u == nil {
		// A client-credentials token: its subject is the client.
		return invalid("the access token was issued to a client, not a user")
	}
	claims := userClaims(snap.Registry, granted, *u)
	claims["sub"] = u.ID
	writeJSON(w, http.StatusOK, claims)
	return nil
}

// bearerToken reads an RFC 6750 bearer token from the Authorization header
// or, for a form POST, the access_token body parameter. "" without error
// means none was presented.
func bearerToken(w http.ResponseWriter, r *http.Request) (string, error) {
	var header string
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			return "", oautherr.New(oautherr.InvalidRequest, "use the Bearer authorization scheme")
		}
		header = strings.TrimSpace(tok)
	}
	if r.URL.Query().Has("access_token") {
		return "", oautherr.New(oautherr.InvalidRequest, "send the access token in the Authorization header, not the URL")
	}
	if r.Method != http.MethodPost {
		return header, nil
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return header, nil
	}
	form, err := readForm(w, r)
	if err != nil {
		return "", err
	}
	body := form.Get("access_token")
	if body != "" && header != "" {
		// RFC 6750 §2: "Clients MUST NOT use more than one method to
		// transmit the token in each request."
		return "", oautherr.New(oautherr.InvalidRequest, "send the access token one way only")
	}
	if body != "" {
		return body, nil
	}
	return header, nil
}
