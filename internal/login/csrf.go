package login

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"

	"github.com/intelliauth/intelliauth/internal/catalog"
)

// CSRF protection is a double-submit cookie bound to the page (OWASP CSRF
// Prevention Cheat Sheet, "Signed Double-Submit Cookie" without a server
// key, plus "Fetch Metadata headers"): see the package documentation.

// csrfCookie returns the browser's CSRF cookie bytes, setting a new cookie
// when it has none (or a malformed one).
func (h *Handler) csrfCookie(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) ([]byte, error) {
	if c, err := r.Cookie(csrfCookieName(snap)); err == nil {
		if b, ok := decodeToken(c.Value); ok {
			return b, nil
		}
	}
	v, err := newToken()
	if err != nil {
		return nil, err
	}
	http.SetCookie(w, &http.Cookie{
		Name: csrfCookieName(snap), Value: v, Path: cookiePath(snap),
		HttpOnly: true, Secure: h.secure(r, snap), SameSite: http.SameSiteStrictMode,
	})
	b, _ := decodeToken(v)
	return b, nil
}

// csrfToken is the form field value for one form of one request.
func csrfToken(cookie []byte, form, requestID string) string {
	m := hmac.New(sha256.New, cookie)
	m.Write([]byte("intelliauth csrf v1\x00"))
	m.Write([]byte(form))
	m.Write([]byte{0})
	m.Write([]byte(requestID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF reports whether a POST of form for requestID carries the token
// matching its CSRF cookie, and was not marked cross-site by the browser.
func checkCSRF(r *http.Request, snap *catalog.Snapshot, form, requestID string) bool {
	return checkCSRFToken(r, snap, form, requestID, r.PostForm.Get("csrf"))
}

// CSRFHeader carries the CSRF token of a page's script requests (the
// WebAuthn ceremonies), which send JSON rather than a form.
const CSRFHeader = "X-CSRF-Token"

// checkCSRFHeader is checkCSRF for a script's request: the token comes in
// the CSRFHeader header. A cross-site page cannot set that header without
// a CORS preflight, which this server never allows.
func checkCSRFHeader(r *http.Request, snap *catalog.Snapshot, form, requestID string) bool {
	return checkCSRFToken(r, snap, form, requestID, r.Header.Get(CSRFHeader))
}

// checkCSRFToken checks got, the token a request sent, against the
// request's CSRF cookie and Sec-Fetch-Site.
func checkCSRFToken(r *http.Request, snap *catalog.Snapshot, form, requestID, got string) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default: // cross-site, same-site (a sibling host is not this page)
		return false
	}
	c, err := r.Cookie(csrfCookieName(snap))
	if err != nil {
		return false
	}
	cookie, ok := decodeToken(c.Value)
	if !ok {
		return false
	}
	if got == "" {
		return false
	}
	want := csrfToken(cookie, form, requestID)
	return hmac.Equal([]byte(got), []byte(want))
}
