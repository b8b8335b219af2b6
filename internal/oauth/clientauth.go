package oauth

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/secret"
	"github.com/intelliauth/intelliauth/oautherr"
)

// Client authentication methods (RFC 7591 §2 names).
const (
	authBasic = "client_secret_basic"
	authPost  = "client_secret_post"
	authNone  = "none"
)

// credentials are what the request presented to identify its client.
type credentials struct {
	clientID string
	secret   string
	method   string
}

// errClientAuth is the one answer to every failed client authentication, so
// that the response never tells which part (client, secret) was wrong.
func errClientAuth(method string, cause string) *oautherr.Error {
	e := oautherr.New(oautherr.InvalidClient, "client authentication failed")
	e.Basic = method == authBasic
	e.Cause = errString(cause)
	return e
}

type errString string

func (e errString) Error() string { return string(e) }

// readCredentials extracts client credentials per RFC 6749 §2.3.1: HTTP
// Basic with form-urlencoded id and secret, or client_id/client_secret in
// the body; never both ("MUST NOT use more than one authentication method").
func readCredentials(r *http.Request, form url.Values) (credentials, error) {
	bodyID, bodySecret := form.Get("client_id"), form.Get("client_secret")
	h := r.Header.Get("Authorization")
	if h == "" {
		if bodySecret != "" {
			return credentials{clientID: bodyID, secret: bodySecret, method: authPost}, nil
		}
		return credentials{clientID: bodyID, method: authNone}, nil
	}
	scheme, payload, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return credentials{}, errClientAuth(authBasic, "unsupported Authorization scheme")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(payload))
	if err != nil {
		return credentials{}, errClientAuth(authBasic, "Basic credentials are not base64")
	}
	rawID, rawSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return credentials{}, errClientAuth(authBasic, "Basic credentials lack ':'")
	}
	// RFC 6749 §2.3.1: id and secret are encoded with
	// application/x-www-form-urlencoded before Basic encoding.
	id, err1 := url.QueryUnescape(rawID)
	sec, err2 := url.QueryUnescape(rawSecret)
	if err1 != nil || err2 != nil || id == "" {
		return credentials{}, errClientAuth(authBasic, "Basic credentials are not form-encoded")
	}
	if bodySecret != "" {
		return credentials{}, oautherr.New(oautherr.InvalidRequest, "use one client authentication method, not Basic and client_secret together")
	}
	if bodyID != "" && bodyID != id {
		return credentials{}, errClientAuth(authBasic, "client_id in the body differs from Basic")
	}
	return credentials{clientID: id, secret: sec, method: authBasic}, nil
}

// authenticate identifies the client in the tenant. Confidential clients
// must present an active secret; public clients must present none. A miss
// re-checks the tenant revision once, so that a client or secret created on
// another node a moment ago is not refused.
func (h *Handler) authenticate(ctx context.Context, snap *catalog.Snapshot, c credentials) (*catalog.Snapshot, *catalog.App, error) {
	if c.clientID == "" {
		return snap, nil, errClientAuth(c.method, "no client identification")
	}
	for attempt := 0; ; attempt++ {
		app, ok := snap.App(c.clientID)
		if ok && verifyClient(app, c, h.now()) {
			return snap, app, nil
		}
		if !ok {
			// Spend the same work as a real comparison, so response time does
			// not reveal which client IDs exist.
			secret.Equal(nil, c.secret)
		}
		if attempt > 0 {
			return snap, nil, errClientAuth(c.method, "unknown client or wrong secret")
		}
		fresh, err := h.Catalog.Recheck(ctx, snap.Tenant.ID)
		if err != nil {
			return snap, nil, oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", err)
		}
		if fresh == snap {
			return snap, nil, errClientAuth(c.method, "unknown client or wrong secret")
		}
		snap = fresh
	}
}

// verifyClient checks the presented credentials against the application.
func verifyClient(app *catalog.App, c credentials, now time.Time) bool {
	if !app.Type.Confidential() {
		// Public clients (RFC 6749 §2.1) have no secret to present.
		return c.method == authNone
	}
	if c.method == authNone {
		return false
	}
	ok := false
	for _, s := range app.Secrets {
		// No early exit: every active secret costs the same.
		if s.ActiveAt(now) && secret.Equal(s.Hash, c.secret) {
			ok = true
		}
	}
	return ok
}

// authenticatedForm is the first step of the token, introspection and
// revocation endpoints: read the form, then authenticate the client
// (RFC 6749 §2.3, RFC 7662 §2.1, RFC 7009 §2.1). It returns the snapshot the
// client was found in, which may be fresher than the one passed in.
func (h *Handler) authenticatedForm(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) (url.Values, credentials, *catalog.Snapshot, *catalog.App, error) {
	form, err := readForm(w, r)
	if err != nil {
		return nil, credentials{}, snap, nil, err
	}
	creds, err := readCredentials(r, form)
	if err != nil {
		return form, creds, snap, nil, err
	}
	snap, app, err := h.authenticate(r.Context(), snap, creds)
	return form, creds, snap, app, err
}
