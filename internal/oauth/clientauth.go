package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/model"
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
	// The form was checked by readForm; the header is checked here, so that
	// no client id as presented reaches a store (or an audit event) as
	// bytes PostgreSQL refuses.
	if !model.ValidText(id) || !model.ValidText(sec) {
		return credentials{}, errClientAuth(authBasic, "Basic credentials are not UTF-8 text without NUL bytes")
	}
	if bodySecret != "" {
		return credentials{}, oautherr.New(oautherr.InvalidRequest, "use one client authentication method, not Basic and client_secret together")
	}
	if bodyID != "" && bodyID != id {
		return credentials{}, errClientAuth(authBasic, "client_id in the body differs from Basic")
	}
	return credentials{clientID: id, secret: sec, method: authBasic}, nil
}

// Reasons of a failed client authentication, in the details of
// oauth.client_authentication_failed.
const (
	reasonMalformed     = "malformed_credentials" // Authorization header not Basic, not base64, no ':', not form-encoded, or two client IDs
	reasonMissingID     = "missing_client_id"
	reasonUnknownClient = "unknown_client"
	reasonWrongSecret   = "wrong_secret"   // confidential client, no active secret matches
	reasonMissingSecret = "missing_secret" // confidential client presented none
	reasonPublicSecret  = "secret_for_public_client"
)

// authenticate identifies the client in the tenant. Confidential clients
// must present an active secret; public clients must present none. A miss
// re-checks the tenant revision once (catalog.Recheck, rate-limited), so that
// a client or secret created on another node a moment ago is not refused.
// On failure it also returns the reason, for the audit event.
func (h *Handler) authenticate(ctx context.Context, snap *catalog.Snapshot, c credentials) (*catalog.Snapshot, *catalog.App, string, error) {
	if c.clientID == "" {
		return snap, nil, reasonMissingID, errClientAuth(c.method, "no client identification")
	}
	for attempt := 0; ; attempt++ {
		app, ok := snap.App(c.clientID)
		reason := reasonUnknownClient
		if ok {
			if reason = verifyClient(app, c, h.now()); reason == "" {
				return snap, app, "", nil
			}
		} else {
			// Spend the same work as a real comparison, so response time does
			// not reveal which client IDs exist.
			secret.Equal(nil, c.secret)
		}
		if attempt > 0 {
			return snap, nil, reason, errClientAuth(c.method, "unknown client or wrong secret")
		}
		fresh, err := h.Catalog.Recheck(ctx, snap.Tenant.ID)
		if err != nil {
			return snap, nil, "", oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", err)
		}
		if fresh == snap {
			return snap, nil, reason, errClientAuth(c.method, "unknown client or wrong secret")
		}
		snap = fresh
	}
}

// verifyClient checks the presented credentials against the application:
// "" if they hold, else the reason they do not.
func verifyClient(app *catalog.App, c credentials, now time.Time) string {
	if !app.Type.Confidential() {
		// Public clients (RFC 6749 §2.1) have no secret to present.
		if c.method == authNone {
			return ""
		}
		return reasonPublicSecret
	}
	if c.method == authNone {
		return reasonMissingSecret
	}
	ok := false
	for _, s := range app.Secrets {
		// No early exit: every active secret costs the same.
		if s.ActiveAt(now) && secret.Equal(s.Hash, c.secret) {
			ok = true
		}
	}
	if !ok {
		return reasonWrongSecret
	}
	return ""
}

// authenticatedForm is the first step of the token, introspection and
// revocation endpoints: read the form, then authenticate the client
// (RFC 6749 §2.3, RFC 7662 §2.1, RFC 7009 §2.1). It returns the snapshot the
// client was found in, which may be fresher than the one passed in.
func (h *Handler) authenticatedForm(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) (url.Values, credentials, *catalog.Snapshot, *catalog.App, error) {
	form, err := readForm(w, r)
	if err != nil {
		// The log line still names the client the Authorization header
		// presents, if it can be read.
		c, _ := readCredentials(r, nil)
		return nil, credentials{}, snap, nil, refused(err, presentedClientID(c.clientID), "")
	}
	creds, err := readCredentials(r, form)
	if err != nil {
		reason := ""
		if oautherr.As(err).Code == oautherr.InvalidClient {
			reason = reasonMalformed
			h.recordAuthFailure(r, snap, creds, reason)
		}
		return form, creds, snap, nil, refused(err, presentedClientID(form.Get("client_id")), reason)
	}
	snap, app, reason, err := h.authenticate(r.Context(), snap, creds)
	if reason != "" {
		h.recordAuthFailure(r, snap, creds, reason)
	}
	return form, creds, snap, app, refused(err, presentedClientID(creds.clientID), reason)
}

// Bounds of oauth.client_authentication_failed.
const (
	// maxPresentedID bounds the client ID recorded as presented (bytes).
	maxPresentedID = 128
)

// authFailureDetails is the details document of
// oauth.client_authentication_failed. Suppressed counts the failures of the
// same client ID from the same peer that were not written since this key's
// previous event; SuppressedOther those of other keys of the tenant that no
// key carries any more (see audit.Throttle).
type authFailureDetails struct {
	ClientID        string `json:"client_id"`
	Method          string `json:"method"`
	Reason          string `json:"reason"`
	Peer            string `json:"peer"`
	Endpoint        string `json:"endpoint"`
	Suppressed      int64  `json:"suppressed"`
	SuppressedOther int64  `json:"suppressed_other"`
}

// recordAuthFailure writes oauth.client_authentication_failed — at most once
// per window per tenant, client ID and peer, and within a per-tenant cap
// (h.authFailures), so a flood of bad credentials is a bounded number of
// events that count every failure. The client ID is recorded as presented,
// made valid UTF-8 without control characters and cut to maxPresentedID
// bytes, because it is not a known client's. A failure to write is logged:
// the refusal stands either way.
func (h *Handler) recordAuthFailure(r *http.Request, snap *catalog.Snapshot, c credentials, reason string) {
	if h.Metrics != nil {
		h.Metrics.ClientAuthFailed(snap.Tenant.ID, reason)
	}
	id, peer := presentedClientID(c.clientID), h.clientIP(r)
	a := h.authFailures.Admit(h.now(), snap.Tenant.ID, id+"\x00"+peer)
	if !a.Write {
		return
	}
	method := c.method
	if method == "" {
		method = authBasic // only a malformed Authorization header has none
	}
	details, _ := json.Marshal(authFailureDetails{
		ClientID: id, Method: method, Reason: reason, Peer: peer, Endpoint: path.Base(r.URL.Path),
		Suppressed: a.Suppressed, SuppressedOther: a.SuppressedOther,
	})
	ev := model.AuditEvent{
		TenantID:  snap.Tenant.ID,
		Type:      model.EventClientAuthFailed,
		ActorType: model.ActorClient,
		ActorID:   id,
		ClientID:  id,
		Details:   details,
	}
	// A client that hangs up must not keep its failure out of the log.
	if err := h.Audit.Record(context.WithoutCancel(r.Context()), ev); err != nil {
		h.Logger.WarnContext(r.Context(), "audit client_authentication_failed", "tenant", snap.Tenant.ID,
			"client_id", id, "reason", reason, "suppressed", a.Suppressed+a.SuppressedOther, "err", err)
	}
}

// presentedClientID makes a client ID as presented safe to store and show:
// valid UTF-8, control characters replaced, at most maxPresentedID bytes.
func presentedClientID(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return '\uFFFD'
		}
		return r
	}, s)
	if len(s) <= maxPresentedID {
		return s
	}
	cut := maxPresentedID
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// clientIP is the request's peer under the server's proxy trust rules
// (ClientIP), else the host of r.RemoteAddr.
func (h *Handler) clientIP(r *http.Request) string {
	if h.ClientIP != nil {
		if ip := h.ClientIP(r); ip != "" {
			return ip
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return presentedClientID(r.RemoteAddr)
	}
	return host
}
