package login

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

//go:embed templates
var templateFS embed.FS

// assets are the parsed pages and the stylesheet. They are built once and
// never modified, so sharing them needs no lock.
type assets struct {
	pages map[string]*template.Template
	css   template.CSS
	// styleSrc is the CSP source that allows exactly the inline stylesheet.
	styleSrc string
}

var site = mustLoad()

func mustLoad() *assets {
	css, err := templateFS.ReadFile("templates/style.css")
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(css)
	a := &assets{
		pages:    map[string]*template.Template{},
		css:      template.CSS(css),
		styleSrc: "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'",
	}
	for _, name := range []string{"login", "consent", "error", "mfa", "mfa_enrol", "recovery_codes"} {
		a.pages[name] = template.Must(template.New(name).Option("missingkey=error").
			ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return a
}

// layout is what the layout template sees.
type layout struct {
	Title string
	CSS   template.CSS
	// Script is the path of the page's script (extras.script), or "".
	Script string
	Body   any
}

// extras are what a page may load beyond its inline stylesheet.
type extras struct {
	// images allows data: images (a TOTP enrolment's QR code, rendered by
	// the server into the page).
	images bool
	// scripts allows the pages' own scripts, served by the tenant under
	// AssetsPath (WebAuthn needs the browser's JavaScript API).
	scripts bool
	// script is the path of the script the page loads (webauthnScript);
	// it needs scripts.
	script string
}

// csp returns the page's Content-Security-Policy. formAction lists where
// its forms may go, "" for a page without a form.
func csp(formAction string, x extras) string {
	if formAction == "" {
		formAction = "'none'"
	}
	img, script := "'none'", ""
	if x.images {
		img = "data:"
	}
	if x.scripts {
		script = "; script-src 'self'; connect-src 'self'"
	}
	return "default-src 'none'; style-src " + site.styleSrc + "; img-src " + img + script + "; form-action " + formAction +
		"; frame-ancestors 'none'; base-uri 'none'"
}

var (
	hostPattern   = regexp.MustCompile(`^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$`)
	schemePattern = regexp.MustCompile(`^[a-z][a-z0-9+.-]*$`)
)

// formAction is 'self' plus the origin of the client's redirect URI: the
// answer to a form ends in a redirect there, and browsers hold redirects
// after a submission to form-action (CSP Level 3 §6.3.1). A native app's
// private-use scheme (RFC 8252 §7.1) becomes a scheme source. Anything that
// does not parse cleanly is left out rather than written into the header.
func formAction(redirectURI string) string {
	u, err := url.Parse(redirectURI)
	if err != nil || !schemePattern.MatchString(u.Scheme) {
		return "'self'"
	}
	switch u.Scheme {
	case "http", "https":
		if !hostPattern.MatchString(u.Host) {
			return "'self'"
		}
		return "'self' " + u.Scheme + "://" + u.Host
	default:
		return "'self' " + u.Scheme + ":"
	}
}

// render writes a page with the headers every end-user page carries.
func render(w http.ResponseWriter, status int, page, title, formSrc string, body any) {
	renderWith(w, status, page, title, formSrc, extras{}, body)
}

// renderWith is render for a page that needs extras.
func renderWith(w http.ResponseWriter, status int, page, title, formSrc string, x extras, body any) {
	var buf bytes.Buffer
	l := layout{Title: title, CSS: site.css, Body: body}
	if x.scripts {
		l.Script = x.script
	}
	err := site.pages[page].ExecuteTemplate(&buf, "layout", l)
	if err != nil {
		// A template bug, not the user's: a bare 500 without details.
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Security-Policy", csp(formSrc, x))
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// RenderError writes the HTML error page shown when the server must not
// redirect (unknown client, bad redirect URI: RFC 6749 §4.1.2.1) or cannot
// go on. title and detail are shown as text (escaped); they must not carry
// internal causes.
func RenderError(w http.ResponseWriter, status int, title, detail string) {
	if strings.TrimSpace(title) == "" {
		title = http.StatusText(status)
	}
	render(w, status, "error", title, "", struct{ Title, Detail string }{title, detail})
}
