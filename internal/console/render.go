package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/logging"
)

//go:embed templates static
var files embed.FS

// site is the parsed pages and the static files, built once and never
// modified, so sharing it needs no lock.
type site struct {
	pages map[string]*template.Template
	// static maps a file name to its content; version is a hash of them
	// all, appended to their URLs so a new binary's assets are not served
	// from a stale cache.
	static  map[string][]byte
	version string
	// styles and scripts are the static .css and .js files, every page
	// loads them all (each page group has its own file; a script acts only
	// on pages that have its elements).
	styles, scripts []string
}

var assets = mustLoad()

func mustLoad() *site {
	s := &site{pages: map[string]*template.Template{}, static: map[string][]byte{}}
	funcs := template.FuncMap{
		"join": strings.Join,
		"add":  func(a, b int) int { return a + b },
	}
	pages, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, p := range pages {
		name := strings.TrimSuffix(path.Base(p), ".html")
		if name == "layout" {
			continue
		}
		s.pages[name] = template.Must(template.New(name).Funcs(funcs).Option("missingkey=error").
			ParseFS(files, "templates/layout.html", "templates/partials/*.html", p))
	}
	sum := sha256.New()
	static, err := fs.Glob(files, "static/*")
	if err != nil {
		panic(err)
	}
	for _, p := range static {
		b, err := files.ReadFile(p)
		if err != nil {
			panic(err)
		}
		s.static[path.Base(p)] = b
		sum.Write(b)
		switch path.Ext(p) {
		case ".css":
			s.styles = append(s.styles, path.Base(p))
		case ".js":
			s.scripts = append(s.scripts, path.Base(p))
		}
	}
	s.version = hex.EncodeToString(sum.Sum(nil))[:12]
	return s
}

// navItem is one link of the navigation, shown only to users who may open it.
type navItem struct {
	Label, Path string
	Op          admin.Op
}

// nav is the console's navigation, in order.
var nav = []navItem{
	{"Scopes", "/scopes", admin.OpListScopes},
	{"APIs", "/apis", admin.OpListAPIs},
	{"Applications", "/applications", admin.OpListApplications},
	{"Users", "/users", admin.OpListUsers},
	{"Groups", "/groups", admin.OpListGroups},
	{"Roles", "/roles", admin.OpListRoles},
	{"Audit", "/audit", admin.OpSearchAudit},
	{"Scope usage", "/usage", admin.OpScopeUsage},
	{"Explain", "/explain", admin.OpExplain},
	{"Tenant settings", "/settings", admin.OpGetMFAPolicy},
}

// page is what the layout template sees.
type page struct {
	Styles  []string
	Scripts []string
	Title   string
	Base    string
	Version string
	Tenant  string
	// User is the signed-in user's display name ("" on public pages).
	User    string
	CSRF    string
	Nav     []navItem
	Current string
	Notice  string
	Body    any
}

const noticeCookie = "intelliauth_console_notice"

// Notice sets a one-line message shown on the next page the browser
// opens (after the redirect that follows a successful form).
func (r *Request) Notice(w http.ResponseWriter, text string) {
	http.SetCookie(w, &http.Cookie{Name: noticeCookie, Value: encodeNotice(text), Path: r.Base + "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 60})
}

func encodeNotice(s string) string {
	if len(s) > 300 {
		s = s[:300]
	}
	return hex.EncodeToString([]byte(s))
}

// render writes a page of a signed-in user.
func (h *Handler) render(w http.ResponseWriter, r *Request, status int, name, title string, body any) {
	p := page{Title: title, Base: r.Base, Version: assets.version, Tenant: r.Snap.Tenant.Name, User: r.User.Name,
		CSRF: r.csrf, Body: body}
	if p.User == "" {
		p.User = r.User.Username
	}
	for _, n := range nav {
		if r.May(n.Op) {
			p.Nav = append(p.Nav, n)
		}
		if strings.HasPrefix(strings.TrimPrefix(r.URL.Path, r.Base), n.Path) {
			p.Current = n.Path
		}
	}
	if c, err := r.Cookie(noticeCookie); err == nil {
		if b, err := hex.DecodeString(c.Value); err == nil && len(b) <= 300 {
			p.Notice = string(b)
		}
		http.SetCookie(w, &http.Cookie{Name: noticeCookie, Value: "", Path: r.Base + "/", HttpOnly: true, MaxAge: -1})
	}
	h.write(w, r.Request, status, name, p)
}

// renderPublic writes a page shown without a session.
func (h *Handler) renderPublic(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot, status int, name, title string, body any) {
	h.write(w, r, status, name, page{Title: title, Base: base(snap), Version: assets.version, Tenant: snap.Tenant.Name, Body: body})
}

// renderError writes the page of a failure; r is nil when the user is not
// signed in (or the session could not be read).
func (h *Handler) renderError(w http.ResponseWriter, hr *http.Request, r *Request, e *pageError) {
	body := struct {
		*pageError
		RequestID string
	}{e, logging.RequestID(hr.Context())}
	if r != nil {
		h.render(w, r, e.Status, "error", e.Title, body)
		return
	}
	snap, _ := catalog.FromContext(hr.Context())
	h.write(w, hr, e.Status, "error", page{Title: e.Title, Base: base(snap), Version: assets.version, Tenant: snap.Tenant.Name, Body: body})
}

func (h *Handler) write(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.Styles, p.Scripts = assets.styles, assets.scripts
	t, ok := assets.pages[name]
	if !ok {
		h.logger().ErrorContext(r.Context(), "console: no template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		h.logger().ErrorContext(r.Context(), "console: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// static serves the console's stylesheet, script and images.
func (h *Handler) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, ok := assets.static[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case ".svg":
		w.Header().Set("Content-Type", "image/svg+xml")
	default:
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write(b)
}
