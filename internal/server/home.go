package server

import (
	"bytes"
	"html/template"
	"net/http"
	"strings"

	"github.com/intelliauth/intelliauth/internal/api"
	"github.com/intelliauth/intelliauth/oautherr"
)

// homePage is the node's root page: what the server is and where things
// are, for a person who opens the node's address in a browser. It lists no
// tenant (their names are not the visitor's business), except the demo
// tenant's console on a demo node.
var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>IntelliAuth</title>
</head>
<body>
<main>
<h1>IntelliAuth</h1>
<p>This is an IntelliAuth node: an OAuth 2.1 and OpenID Connect authorization server.</p>
{{if .}}<p>This node runs the demo. Its admin console: <a href="{{.}}">{{.}}</a> (sign in as alice).</p>
{{end}}<p>Each tenant is served under <code>/t/{tenant}/</code>: its discovery document at
<code>/t/{tenant}/.well-known/openid-configuration</code>, its admin console at <code>/t/{tenant}/console/</code>.</p>
<p>Health: <a href="/healthz">/healthz</a> · readiness: <a href="/readyz">/readyz</a></p>
</main>
</body>
</html>
`))

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if err := homePage.Execute(&buf, s.opts.DemoConsole); err != nil {
		s.log.ErrorContext(r.Context(), "root page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	_, _ = w.Write(buf.Bytes())
}

// noTenantPage is the page a browser gets for an address no tenant serves.
var noTenantPage = template.Must(template.New("notenant").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>No such tenant · IntelliAuth</title>
</head>
<body>
<main>
<h1>No such tenant</h1>
<p>{{.}}</p>
<p><a href="/">About this server</a></p>
</main>
</body>
</html>
`))

// noTenant answers a request for a tenant that does not exist in the shape
// of the surface it was meant for (issue 16: one error shape per surface):
// an RFC 6749 §5.2 JSON error under /oauth2/ and /.well-known/, an RFC 7807
// problem under /api/v1, an HTML page for everything else (a browser).
// path is the request's path relative to where the tenant would be.
func (s *Server) noTenant(w http.ResponseWriter, r *http.Request, path, detail string) {
	switch {
	case strings.HasPrefix(path, "/oauth2/") || strings.HasPrefix(path, "/.well-known/"):
		e := oautherr.New(oautherr.InvalidRequest, detail)
		e.Status = http.StatusNotFound
		oautherr.Write(w, e)
	case path == api.Prefix || strings.HasPrefix(path, api.Prefix+"/"):
		api.WriteNotFound(w, detail)
	default:
		var buf bytes.Buffer
		if err := noTenantPage.Execute(&buf, detail); err != nil {
			s.log.ErrorContext(r.Context(), "no-tenant page", "err", err)
			http.Error(w, "no such tenant", http.StatusNotFound)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write(buf.Bytes())
	}
}
