package oauth

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/oautherr"
)

// maxFormBytes bounds a request body. Real token requests are well under
// 2 KiB; the bound keeps hostile bodies cheap while leaving room for the
// largest scope parameter (scope.MaxLength, 64 KiB, which form encoding may
// grow up to threefold: ':' is sent as %3A) and a token to introspect
// (token.MaxTokenSize).
const maxFormBytes = 256 << 10

// multiValued are the parameters RFC 8707 §2 allows more than once.
var multiValued = map[string]bool{"resource": true}

// readForm reads an application/x-www-form-urlencoded POST body the way RFC
// 6749 requires of the token, introspection and revocation endpoints:
// POST only (§3.2), the form media type, UTF-8 (Appendix B) without NUL
// bytes (model.ValidText: what every store can hold), no parameter
// more than once (§3.2 "MUST NOT be included more than once"), a bounded
// body. Parameters in the URL query are ignored: credentials never belong
// there.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		e := oautherr.New(oautherr.InvalidRequest, "this endpoint accepts POST only")
		e.Status = http.StatusMethodNotAllowed
		return nil, e
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, oautherr.New(oautherr.InvalidRequest, "the body must be application/x-www-form-urlencoded")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, oautherr.New(oautherr.InvalidRequest, "the body must be UTF-8")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			e := oautherr.New(oautherr.InvalidRequest, "the request body is too large")
			e.Status = http.StatusRequestEntityTooLarge
			return nil, e
		}
		return nil, oautherr.Wrap(oautherr.InvalidRequest, "the request body could not be read", err)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, oautherr.Wrap(oautherr.InvalidRequest, "the body is not a valid form", err)
	}
	if k, bad := model.InvalidParam(form); bad {
		return nil, oautherr.New(oautherr.InvalidRequest, "parameter "+safeName(k)+" is not UTF-8 text without NUL bytes (RFC 6749 Appendix B)")
	}
	for k, vs := range form {
		if len(vs) > 1 && !multiValued[k] {
			return nil, oautherr.New(oautherr.InvalidRequest, "parameter "+safeName(k)+" is repeated (RFC 6749 §3.2)")
		}
	}
	return form, nil
}

// safeName bounds a client-chosen parameter name before it is echoed.
func safeName(k string) string {
	if len(k) > 40 || strings.ContainsFunc(k, func(r rune) bool { return r < 0x21 || r > 0x7e || r == '"' || r == '\\' }) {
		return "(unnamed)"
	}
	return k
}
