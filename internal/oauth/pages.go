package oauth

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/logging"
	"github.com/intelliauth/intelliauth/internal/login"
	"github.com/intelliauth/intelliauth/oautherr"
)

// ResumePath is where the login and consent pages send the browser back
// to, relative to the tenant's issuer; this package serves it.
const ResumePath = login.ResumePath

// pageError is an error shown to the user as a page, never sent to the
// client: RFC 6749 §4.1.2.1 "If the request fails due to a missing,
// invalid, or mismatching redirection URI, or if the client identifier is
// missing or invalid, the authorization server SHOULD inform the resource
// owner of the error and MUST NOT automatically redirect the user-agent to
// the invalid redirection URI."
type pageError struct {
	status        int
	title, detail string
	cause         error
}

func (e *pageError) Error() string {
	s := e.title + ": " + e.detail
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

func (e *pageError) Unwrap() error { return e.cause }

func badRequestPage(title, detail string) *pageError {
	return &pageError{status: http.StatusBadRequest, title: title, detail: detail}
}

// redirectError is an authorization error returned to the client at its
// (validated) redirect URI (RFC 6749 §4.1.2.1), with state and, per RFC
// 9207 §2, iss.
type redirectError struct {
	err         *oautherr.Error
	redirectURI string
	state       string
	issuer      string
}

func (e *redirectError) Error() string { return "redirected: " + e.err.Error() }

func (e *redirectError) Unwrap() error { return e.err }

// pageHandler is a browser-facing endpoint; it returns a *pageError or a
// *redirectError, written in one place by withPage. Any other error is a
// 500 page.
type pageHandler func(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) error

func (h *Handler) withPage(f pageHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		snap, ok := catalog.FromContext(r.Context())
		if !ok {
			http.NotFound(w, r)
			return
		}
		err := f(w, r, snap)
		if err == nil {
			return
		}
		k := logging.Classify(r.Context(), err)
		if k == logging.ClientGone {
			h.Logger.DebugContext(r.Context(), "client went away",
				"tenant", snap.Tenant.ID, "path", r.URL.Path, "cause", errText(err))
			w.WriteHeader(logging.StatusClientClosedRequest)
			return
		}
		var (
			pe *pageError
			re *redirectError
		)
		switch {
		case errors.As(err, &re):
			e := re.err
			if k == logging.Unavailable {
				// RFC 6749 §4.1.2.1: "The authorization server is currently
				// unable to handle the request due to a temporary overloading
				// or maintenance of the server."
				e = oautherr.Wrap(oautherr.TemporarilyUnavailable, "the authorization server is temporarily unavailable; try again in a moment", err)
			}
			h.logRefusal(r, snap, logging.Level(k, e.Status), e.Code, e.Cause)
			q := url.Values{"error": {e.Code}}
			if e.Description != "" {
				q.Set("error_description", e.Description)
			}
			if re.state != "" {
				q.Set("state", re.state)
			}
			q.Set("iss", re.issuer)
			redirect(w, re.redirectURI, q)
		case k == logging.Unavailable:
			h.logRefusal(r, snap, logging.Level(k, http.StatusServiceUnavailable), oautherr.TemporarilyUnavailable, err)
			w.Header().Set("Retry-After", logging.RetryAfterSeconds)
			renderError(w, http.StatusServiceUnavailable, login.UnavailableTitle, login.UnavailableDetail)
		case errors.As(err, &pe):
			h.logRefusal(r, snap, logging.Level(k, pe.status), pe.title, pe.cause)
			renderError(w, pe.status, pe.title, pe.detail)
		default:
			h.logRefusal(r, snap, slog.LevelError, "server_error", err)
			renderError(w, http.StatusInternalServerError, "Something went wrong", "The server could not complete the request. Please try again.")
		}
	}
}

// logRefusal logs a refused authorization request with the client ID as
// the request presented it (made printable and short: it is not known to
// be a client of the tenant).
func (h *Handler) logRefusal(r *http.Request, snap *catalog.Snapshot, level slog.Level, code string, cause error) {
	h.Logger.Log(r.Context(), level, "authorization request refused",
		"tenant", snap.Tenant.ID, "client_id", presentedClientID(r.URL.Query().Get("client_id")), "path", r.URL.Path,
		"error", code, "reason", code, "cause", errText(cause))
}

// redirect sends the browser to target with q merged into its query. The
// query a registered redirect URI already has is kept (RFC 6749 §3.1.2:
// "MUST retain the query component"). 303 makes the browser follow with
// GET whatever method brought it here (RFC 9700 §4.12).
func redirect(w http.ResponseWriter, target string, q url.Values) {
	u, err := url.Parse(target)
	if err != nil {
		renderError(w, http.StatusInternalServerError, "Something went wrong", "The redirect address is not valid.")
		return
	}
	merged := u.Query()
	for k, vs := range q {
		merged[k] = vs
	}
	u.RawQuery = merged.Encode()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", u.String())
	w.WriteHeader(http.StatusSeeOther)
}

// renderError writes the end-user error page (internal/login's, so that
// every page the user sees looks the same).
func renderError(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Cache-Control", "no-store")
	login.RenderError(w, status, title, detail)
}
