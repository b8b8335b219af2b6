package playground

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
)

//go:embed templates
var templateFS embed.FS

// assets are the parsed pages and the stylesheet, built once and never
// modified.
type assets struct {
	pages map[string]*template.Template
	css   template.CSS
	// styleSrc is the CSP source allowing exactly the inline stylesheet.
	styleSrc string
}

var site = mustLoad()

func mustLoad() *assets {
	css, err := templateFS.ReadFile("templates/style.css")
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(css)
	a := &assets{pages: map[string]*template.Template{}, css: template.CSS(css),
		styleSrc: "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"}
	for _, name := range []string{"home", "result", "error"} {
		a.pages[name] = template.Must(template.New(name).Option("missingkey=error").
			ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return a
}

// result is what the result page shows.
type result struct {
	Issuer, Start, Home, SignOut string
	// Account is the tenant's account page.
	Account string
	// Subject and Name come from the verified ID token.
	Subject, Name string
	TokenType     string
	ExpiresIn     int64
	// RefreshToken says whether one was issued; its value is never shown.
	RefreshToken                   bool
	Requested, Granted, NotGranted []string
	Access                         decoded
	ID                             *decoded
	// RawAccessToken is shown for trying it against the example API.
	RawAccessToken string
}

// csp allows the one inline stylesheet and nothing else: no script, no
// image, no form, no frame, no base.
func csp() string {
	return "default-src 'none'; style-src " + site.styleSrc + "; img-src 'none'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
}

func render(w http.ResponseWriter, status int, page, title string, body any) {
	var buf bytes.Buffer
	err := site.pages[page].ExecuteTemplate(&buf, "layout", struct {
		Title string
		CSS   template.CSS
		Body  any
	}{title, site.css, body})
	if err != nil {
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Security-Policy", csp())
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderError shows a failure with a way to start again. title and detail
// are shown as text; they must not carry a code or a token.
func renderError(w http.ResponseWriter, status int, title, detail, issuer string) {
	render(w, status, "error", title+" — IntelliAuth playground", struct{ Title, Detail, Start, Home string }{
		title, detail, issuer + StartPath, issuer + Path})
}
