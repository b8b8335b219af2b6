package server

import (
	"bytes"
	"html/template"
	"net/http"
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
