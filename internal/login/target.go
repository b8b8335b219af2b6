package login

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/model"
)

// AccountPath is the end user's account page, relative to the tenant's
// issuer; the only place a sign-in without an authorization request may
// return to.
const AccountPath = "/account/"

// target is what a sign-in (and its second factor) is for: a pending
// authorization request of an application, or — a local sign-in — one of
// the tenant's own pages (the account page), named by ret.
type target struct {
	ar  model.AuthRequest
	app *catalog.App
	// ret is the issuer-relative path a local sign-in returns to; empty
	// for an authorization request.
	ret string
}

// local reports whether the sign-in is for the tenant's own page.
func (t target) local() bool { return t.ret != "" }

// name is what the page says the user signs in to.
func (t target) name() string {
	if t.local() {
		return "your account"
	}
	return t.app.Name
}

// key binds a form's CSRF token to what it is for.
func (t target) key() string {
	if t.local() {
		return "return:" + t.ret
	}
	return t.ar.ID
}

// query is the parameter that names the target in a page's URL.
func (t target) query() url.Values {
	if t.local() {
		return url.Values{"return": {t.ret}}
	}
	return url.Values{"request": {t.ar.ID}}
}

// resume sends the browser on: back to the authorization endpoint, or to
// the local page.
func (t target) resume(w http.ResponseWriter, snap *catalog.Snapshot) {
	if t.local() {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Location", snap.Tenant.Issuer+t.ret)
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	resume(w, snap, t.ar.ID)
}

// validReturn confines a local sign-in's return path to the account page
// (no open redirect): AccountPath, or a path below it of plain segments.
func validReturn(p string) bool {
	if !strings.HasPrefix(p, AccountPath) || len(p) > 200 {
		return false
	}
	for _, seg := range strings.Split(strings.TrimPrefix(p, AccountPath), "/") {
		if seg == "." || seg == ".." {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// loadTarget reads the target from a page's parameters: request (an
// authorization request, checked by loadRequest) or return (a local path,
// checked by validReturn).
func (h *Handler) loadTarget(ctx context.Context, snap *catalog.Snapshot, params url.Values) (target, error) {
	if id := params.Get("request"); id != "" || !params.Has("return") {
		ar, app, err := h.loadRequest(ctx, snap, id)
		return target{ar: ar, app: app}, err
	}
	ret := params.Get("return")
	if !validReturn(ret) {
		return target{}, &pageError{status: http.StatusBadRequest, title: "This sign-in link is not valid",
			detail: "It does not lead to a page of this service. Open your account page again."}
	}
	return target{ret: ret}, nil
}
