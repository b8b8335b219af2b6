package console_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store"
)

// The scopes and APIs pages over plain HTTP, where no browser is needed:
// bad input, forged forms, missing scopes, and the audit trail. They run
// on PostgreSQL when INTELLIAUTH_TEST_POSTGRES is set (servertest), else
// on SQLite.

// scopesSession is a console session over plain HTTP: servertest's
// cookie-keeping browser, signed in through the tenant's login page.
type scopesSession struct {
	t    *testing.T
	e    *servertest.Env
	b    *servertest.Browser
	base string
}

// scopesSignIn signs username in to the demo tenant's console.
func scopesSignIn(t *testing.T, e *servertest.Env, username, password string) *scopesSession {
	t.Helper()
	s := &scopesSession{t: t, e: e, b: servertest.NewBrowser(t), base: consoleURL(e)}
	login := s.b.Visit(e.URL, s.base+"/")
	home := s.b.SignIn(e.URL, login, username, password)
	if !strings.HasPrefix(home.URL.String(), s.base+"/") {
		t.Fatalf("signing in as %s ended at %s (%d):\n%s", username, home.URL, home.Status, home.Body)
	}
	return s
}

func demoSignIn(t *testing.T, e *servertest.Env, demo admin.Demo, username string) *scopesSession {
	t.Helper()
	u, ok := demo.User(username)
	if !ok {
		t.Fatalf("no demo user %s", username)
	}
	return scopesSignIn(t, e, username, u.Password)
}

// get opens path under the console.
func (s *scopesSession) get(path string) *servertest.Page {
	s.t.Helper()
	return s.b.Visit(s.e.URL, s.base+path)
}

// form returns the form of p whose action is path (under the console,
// query included), with what a browser would send from its selects and
// textareas too (servertest reads inputs only).
func (s *scopesSession) form(p *servertest.Page, path string) *servertest.Form {
	s.t.Helper()
	var doc *html.Node
	for i, f := range p.Forms() {
		if f.Action.String() != s.base+path {
			continue
		}
		if doc == nil {
			var err error
			if doc, err = html.Parse(strings.NewReader(p.Body)); err != nil {
				s.t.Fatal(err)
			}
		}
		n := 0
		for el := range doc.Descendants() {
			if el.Type != html.ElementNode || el.Data != "form" {
				continue
			}
			if n++; n-1 != i {
				continue
			}
			for c := range el.Descendants() {
				if c.Type != html.ElementNode || attr(c, "name") == "" {
					continue
				}
				switch c.Data {
				case "textarea":
					f.Values.Set(attr(c, "name"), textareaValue(c))
				case "select":
					f.Values.Set(attr(c, "name"), selected(c))
				}
			}
		}
		return f
	}
	s.t.Fatalf("%s (%d) has no form to %s:\n%s", p.URL, p.Status, path, p.Body)
	return nil
}

// textareaValue is a textarea's text as a browser submits it: the HTML
// parser already dropped the newline that may follow the start tag.
func textareaValue(n *html.Node) string {
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}

// selected is the value of a select's selected option, else its first.
func selected(n *html.Node) string {
	first, found := "", false
	for c := range n.Descendants() {
		if c.Type != html.ElementNode || c.Data != "option" {
			continue
		}
		if !found {
			first, found = attr(c, "value"), true
		}
		for _, a := range c.Attr {
			if a.Key == "selected" {
				return attr(c, "value")
			}
		}
	}
	return first
}

// submit opens page, fills in its form to path with set and sends it.
func (s *scopesSession) submit(page, path string, set func(url.Values)) *servertest.Page {
	s.t.Helper()
	return s.b.Submit(s.e.URL, s.form(s.get(page), path), set)
}

// post sends exactly v to path (a forged form: no CSRF token unless v
// holds one).
func (s *scopesSession) post(path string, v url.Values) *servertest.Page {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.base+path, strings.NewReader(v.Encode()))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return s.b.Do(s.e.URL, req)
}

// csrf is the session's CSRF token, from the sign-out form every page has.
func (s *scopesSession) csrf() string {
	s.t.Helper()
	return s.form(s.get("/"), "/signout").Values.Get("csrf")
}

// node finds the element with id in an HTML document.
func node(body, id string) *html.Node {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return nil
	}
	var find func(*html.Node) *html.Node
	find = func(n *html.Node) *html.Node {
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				if a.Key == "id" && a.Val == id {
					return n
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if f := find(c); f != nil {
				return f
			}
		}
		return nil
	}
	return find(doc)
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

// field is a form field of a page as a person (and a screen reader) meets
// it: its value, whether it is marked invalid, and the message it is
// described by.
type field struct {
	Value, Error string
	Invalid      bool
}

func fieldOn(t *testing.T, p *servertest.Page, id string) field {
	t.Helper()
	n := node(p.Body, id)
	if n == nil {
		t.Fatalf("%s has no field %s:\n%s", p.URL, id, p.Body)
	}
	f := field{Value: attr(n, "value"), Invalid: attr(n, "aria-invalid") == "true"}
	switch n.Data {
	case "textarea":
		f.Value = textareaValue(n)
	case "select":
		f.Value = selected(n)
	}
	for _, ref := range strings.Fields(attr(n, "aria-describedby")) {
		if strings.HasSuffix(ref, "-error") {
			f.Error = text(node(p.Body, ref))
		}
	}
	return f
}

// TestScopeFormsRefuseBadInputInPlace: bad input on the scope and API
// forms comes back with the API's message beside the field (aria-invalid,
// aria-describedby), the input kept, and nothing changed in the store.
func TestScopeFormsRefuseBadInputInPlace(t *testing.T) {
	e, demo := startConsole(t)
	s := demoSignIn(t, e, demo, "alice")
	ctx := t.Context()
	good := func(v url.Values) {
		v.Set("name", "loans:read")
		v.Set("api", "banking")
		v.Set("display_name", "Read loans")
		v.Set("description", "View your loans.")
		v.Set("implies", "")
	}
	cases := []struct {
		name   string
		set    func(url.Values)
		status int
		field  string
		msg    string // a part of the message
	}{
		{"RFC 6749 §3.3 name starting with a digit", func(v url.Values) { v.Set("name", "1loans") }, 400, "name",
			`scope name "1loans" must be 1–64 characters, start with a letter, then letters, digits or _ : . - /`},
		{"RFC 6749 §3.3 name with a space", func(v url.Values) { v.Set("name", "loans read") }, 400, "name", "must be 1–64 characters"},
		{"empty name", func(v url.Values) { v.Set("name", "") }, 400, "name", "must be 1–64 characters"},
		{"description over 120 characters", func(v url.Values) { v.Set("description", strings.Repeat("d", 121)) }, 400, "description",
			"is 121 characters; the limit is 120"},
		{"no description", func(v url.Values) { v.Set("description", "") }, 400, "description", "is required"},
		{"no API", func(v url.Values) { v.Set("api", "") }, 400, "api", "is required"},
		{"an API of another tenant's name", func(v url.Values) { v.Set("api", "api.nowhere.example.com") }, 400, "api", "no API"},
		{"the platform API", func(v url.Values) { v.Set("api", model.PlatformAPIID) }, 400, "api", "predefined"},
		{"implies an unknown scope", func(v url.Values) { v.Set("implies", "no:such") }, 400, "implies", "unknown scopes: no:such"},
		{"implies a scope of another API", func(v url.Values) { v.Set("implies", "read:records") }, 400, "implies", "another API"},
		{"a name that is taken", func(v url.Values) { v.Set("name", "read:transactions") }, 409, "name", "already exists"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := s.submit("/scopes/new", "/scopes/new", func(v url.Values) { good(v); c.set(v) })
			if p.Status != c.status {
				t.Fatalf("status %d, want %d:\n%s", p.Status, c.status, p.Body)
			}
			f := fieldOn(t, p, c.field)
			if !f.Invalid || !strings.Contains(f.Error, c.msg) {
				t.Errorf("field %s: invalid=%v, message %q; want one containing %q", c.field, f.Invalid, f.Error, c.msg)
			}
			want := url.Values{}
			good(want)
			c.set(want)
			for _, id := range []string{"name", "api", "display_name", "description", "implies"} {
				got := fieldOn(t, p, id).Value
				if id == "api" && (want.Get(id) == "api.nowhere.example.com" || want.Get(id) == model.PlatformAPIID) {
					continue // not among the choices
				}
				if got != want.Get(id) {
					t.Errorf("field %s shows %q, want the input %q kept", id, got, want.Get(id))
				}
			}
		})
	}
	// The very sentence /api/v1 gives for the field (validation_failed's
	// errors[].message), with nothing before it.
	p := s.submit("/scopes/new", "/scopes/new", func(v url.Values) { good(v); v.Set("name", "1loans") })
	if f := fieldOn(t, p, "name"); f.Error != cases[0].msg {
		t.Errorf("the name's message is %q, want exactly %q", f.Error, cases[0].msg)
	}
	if _, err := e.Admin.GetScope(ctx, admin.CLI(), admin.DemoTenantID, "loans:read"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after refused forms, loans:read: %v, want not found", err)
	}
	if p, _ := e.Admin.ListScopes(ctx, admin.CLI(), admin.DemoTenantID, model.KindCustom, store.Page{}); p.Total != 4 {
		t.Errorf("%d custom scopes after refused forms, want the demo's 4", p.Total)
	}

	// Text no store can hold is refused before any use-case.
	p = s.submit("/scopes/new", "/scopes/new", func(v url.Values) { good(v); v.Set("description", "nul \x00 byte") })
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "NUL") {
		t.Errorf("a NUL in the description: %d\n%s", p.Status, p.Body)
	}
	p = s.submit("/scopes/new", "/scopes/new", func(v url.Values) { good(v); v.Set("display_name", "bad \xff utf-8") })
	if p.Status != http.StatusBadRequest {
		t.Errorf("invalid UTF-8 in the display name: %d", p.Status)
	}
	if p := s.get("/scopes/edit?name=read%00x"); p.Status != http.StatusBadRequest {
		t.Errorf("a NUL in ?name=: %d, want 400", p.Status)
	}

	// Edit: a description too long, kept, nothing saved.
	before, err := e.Admin.GetScope(ctx, admin.CLI(), admin.DemoTenantID, "read:transactions")
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", 121)
	p = s.submit("/scopes/edit?name=read%3Atransactions", "/scopes/edit?name=read%3Atransactions", func(v url.Values) {
		v.Set("description", long)
		v.Set("implies", "no:such")
	})
	if p.Status != http.StatusBadRequest {
		t.Fatalf("edit with a long description: %d\n%s", p.Status, p.Body)
	}
	if f := fieldOn(t, p, "description"); !f.Invalid || f.Value != long || !strings.Contains(f.Error, "is 121 characters") {
		t.Errorf("description after a refused edit: %+v", f)
	}
	if f := fieldOn(t, p, "implies"); !f.Invalid || f.Value != "no:such" {
		t.Errorf("implies after a refused edit: %+v", f)
	}
	// The form still carries the version it was opened at.
	if v := s.form(p, "/scopes/edit?name=read%3Atransactions").Values.Get("version"); v != jsonInt(before.Version) {
		t.Errorf("the re-shown form's version is %s, want %d", v, before.Version)
	}
	// Rename to a bad name.
	p = s.submit("/scopes/edit?name=read%3Atransactions", "/scopes/rename?name=read%3Atransactions", func(v url.Values) { v.Set("new_name", "-x") })
	if p.Status != http.StatusBadRequest {
		t.Fatalf("rename to -x: %d\n%s", p.Status, p.Body)
	}
	if f := fieldOn(t, p, "new_name"); !f.Invalid || f.Value != "-x" || !strings.Contains(f.Error, `scope name "-x" must be`) {
		t.Errorf("new name after a refused rename: %+v", f)
	}
	// Rename onto a name that is taken.
	p = s.submit("/scopes/edit?name=read%3Atransactions", "/scopes/rename?name=read%3Atransactions", func(v url.Values) { v.Set("new_name", "write:settings") })
	if f := fieldOn(t, p, "new_name"); p.Status != http.StatusConflict || !f.Invalid || !strings.Contains(f.Error, "already exists") {
		t.Errorf("rename onto write:settings: %d %+v", p.Status, f)
	}
	after, err := e.Admin.GetScope(ctx, admin.CLI(), admin.DemoTenantID, "read:transactions")
	if err != nil || after.Version != before.Version || after.Description != before.Description {
		t.Errorf("read:transactions changed by refused forms: %+v (err %v), was %+v", after, err, before)
	}

	// APIs: a bad lifetime, an identifier with a space, a lifetime out of range.
	apiCases := []struct {
		name  string
		set   func(url.Values)
		field string
		msg   string
	}{
		{"lifetime that is not a duration", func(v url.Values) { v.Set("access_token_ttl", "a while") }, "access_token_ttl", `"a while" is not a duration`},
		{"lifetime over 24h", func(v url.Values) { v.Set("access_token_ttl", "25h") }, "access_token_ttl", "between 1m and 24h"},
		{"identifier with a space", func(v url.Values) { v.Set("identifier", "api loans") }, "identifier", "without spaces"},
		{"no identifier", func(v url.Values) { v.Set("identifier", "") }, "identifier", "must be 1–255 characters"},
		{"unknown algorithm", func(v url.Values) { v.Set("signing_alg", "HS256") }, "signing_alg", "must be ES256 or RS256"},
		{"identifier taken", func(v url.Values) { v.Set("identifier", admin.DemoAudience) }, "identifier", "already exists"},
	}
	for _, c := range apiCases {
		t.Run("API "+c.name, func(t *testing.T) {
			p := s.submit("/apis/new", "/apis/new", func(v url.Values) {
				v.Set("identifier", "api.loans.example.com")
				v.Set("name", "Loans API")
				v.Set("signing_alg", "ES256")
				v.Set("access_token_ttl", "15m")
				c.set(v)
			})
			if p.Status != http.StatusBadRequest && p.Status != http.StatusConflict {
				t.Fatalf("status %d:\n%s", p.Status, p.Body)
			}
			if f := fieldOn(t, p, c.field); !f.Invalid || !strings.Contains(f.Error, c.msg) {
				t.Errorf("field %s: %+v, want a message containing %q", c.field, f, c.msg)
			}
			if f := fieldOn(t, p, "name"); f.Value != "Loans API" {
				t.Errorf("name shows %q, want the input kept", f.Value)
			}
		})
	}
	apis, err := e.Admin.ListAPIs(ctx, admin.CLI(), admin.DemoTenantID)
	if err != nil || len(apis) != 3 {
		t.Errorf("after refused API forms: %d APIs (err %v), want the demo's 3", len(apis), err)
	}
	// API edit: a bad lifetime keeps the input and changes nothing.
	p = s.submit("/apis/edit?id=banking", "/apis/edit?id=banking", func(v url.Values) {
		v.Set("name", "Renamed")
		v.Set("access_token_ttl", "0s")
	})
	if f := fieldOn(t, p, "access_token_ttl"); p.Status != http.StatusBadRequest || !f.Invalid || f.Value != "0s" || fieldOn(t, p, "name").Value != "Renamed" {
		t.Errorf("API edit with a 0s lifetime: %d %+v", p.Status, f)
	}
	if a, _ := e.Admin.GetAPI(ctx, admin.CLI(), admin.DemoTenantID, "banking"); a.Name != "Banking API" || a.Version != 1 {
		t.Errorf("banking API after a refused edit: %+v", a)
	}
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestScopeFormsWithoutCSRFAreRefused: a form sent without the session's
// CSRF token, with another one, or from another site, is refused with 403
// and nothing changes.
func TestScopeFormsWithoutCSRFAreRefused(t *testing.T) {
	e, demo := startConsole(t)
	s := demoSignIn(t, e, demo, "alice")
	ctx := t.Context()
	before, err := e.Admin.GetScope(ctx, admin.CLI(), admin.DemoTenantID, "write:settings")
	if err != nil {
		t.Fatal(err)
	}
	create := url.Values{"name": {"loans:read"}, "api": {"banking"}, "description": {"View your loans."}}
	forms := []struct {
		path string
		v    url.Values
	}{
		{"/scopes/new", create},
		{"/scopes/edit?name=write%3Asettings", url.Values{"version": {jsonInt(before.Version)}, "description": {"Forged."}}},
		{"/scopes/rename?name=write%3Asettings", url.Values{"version": {jsonInt(before.Version)}, "new_name": {"forged:name"}}},
		{"/scopes/delete?name=write%3Asettings", url.Values{"version": {jsonInt(before.Version)}, "confirm": {"write:settings"}}},
		{"/apis/new", url.Values{"identifier": {"api.forged.example.com"}, "signing_alg": {"ES256"}, "access_token_ttl": {"1h"}}},
		{"/apis/edit?id=banking", url.Values{"version": {"1"}, "name": {"Forged"}, "signing_alg": {"ES256"}, "access_token_ttl": {"1h"}}},
	}
	for _, f := range forms {
		for _, token := range []string{"", "not-the-token"} {
			v := url.Values{}
			for k, vs := range f.v {
				v[k] = vs
			}
			if token != "" {
				v.Set("csrf", token)
			}
			if p := s.post(f.path, v); p.Status != http.StatusForbidden {
				t.Errorf("POST %s with csrf %q: %d, want 403", f.path, token, p.Status)
			}
		}
	}
	// The right token from another site (a cross-site form post).
	v := url.Values{"csrf": {s.csrf()}}
	for k, vs := range create {
		v[k] = vs
	}
	req, _ := http.NewRequest(http.MethodPost, s.base+"/scopes/new", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if p := s.b.Do(e.URL, req); p.Status != http.StatusForbidden {
		t.Errorf("a cross-site POST with the right token: %d, want 403", p.Status)
	}

	after, err := e.Admin.GetScope(ctx, admin.CLI(), admin.DemoTenantID, "write:settings")
	if err != nil || after.Version != before.Version || after.Description != before.Description {
		t.Errorf("write:settings after forged forms: %+v, %v", after, err)
	}
	for _, name := range []string{"loans:read", "forged:name"} {
		if _, err := e.Admin.GetScope(ctx, admin.CLI(), admin.DemoTenantID, name); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s after forged forms: %v, want not found", name, err)
		}
	}
	apis, _ := e.Admin.ListAPIs(ctx, admin.CLI(), admin.DemoTenantID)
	for _, a := range apis {
		if a.Identifier == "api.forged.example.com" || a.Name == "Forged" {
			t.Errorf("forged API change: %+v", a)
		}
	}
	// The check can fail: the same create with the token goes through.
	if p := s.post("/scopes/new", v); p.Status != http.StatusOK || !strings.Contains(p.Body, "Scope loans:read created") {
		t.Fatalf("the same form with the token, from this site: %d\n%s", p.Status, p.Body)
	}
}

// TestScopeWritesNeedScopesWrite: a user whose roles give scopes:read
// but not scopes:write reads the scope and API pages without any control
// to change them, and a forged write (with her own valid CSRF token) is
// refused with 403, changing nothing. A user with no platform scope may
// not even read them.
func TestScopeWritesNeedScopesWrite(t *testing.T) {
	e, demo := startConsole(t)
	ctx := t.Context()
	if _, err := e.Admin.CreateRole(ctx, admin.CLI(), admin.DemoTenantID, admin.RoleInput{Name: "scope-reader",
		Description: "Reads the scope registry.", Scopes: []string{"scopes:read"}}); err != nil {
		t.Fatal(err)
	}
	const pw = "carol's long passphrase"
	if _, err := e.Admin.CreateUser(ctx, admin.CLI(), admin.DemoTenantID, admin.UserInput{Username: "carol", Email: "carol@example.com",
		Name: "Carol Reader", Password: pw, Roles: []string{"scope-reader"}}); err != nil {
		t.Fatal(err)
	}
	s := scopesSignIn(t, e, "carol", pw)

	list := s.get("/scopes")
	if list.Status != http.StatusOK || !strings.Contains(list.Body, "read:transactions") {
		t.Fatalf("carol's scope list: %d\n%s", list.Status, list.Body)
	}
	for _, control := range []string{"Create scope", ">Edit<", ">Delete<", "/scopes/new"} {
		if strings.Contains(list.Body, control) {
			t.Errorf("carol's scope list offers %s", control)
		}
	}
	one := s.get("/scopes/edit?name=read%3Atransactions")
	if one.Status != http.StatusOK || len(one.Forms()) != 1 { // the sign-out form only
		t.Errorf("carol's scope page: %d, %d forms, want 200 and no edit form", one.Status, len(one.Forms()))
	}
	api := s.get("/apis/edit?id=banking")
	if api.Status != http.StatusOK || len(api.Forms()) != 1 || !strings.Contains(api.Body, "payments:approve") {
		t.Errorf("carol's API page: %d, %d forms", api.Status, len(api.Forms()))
	}
	for _, path := range []string{"/scopes/new", "/apis/new"} {
		if p := s.get(path); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "scopes:write") {
			t.Errorf("GET %s: %d, want 403 naming scopes:write", path, p.Status)
		}
	}

	before, _ := e.Admin.GetScope(ctx, admin.CLI(), admin.DemoTenantID, "write:settings")
	token := s.csrf()
	forms := []struct {
		path string
		v    url.Values
	}{
		{"/scopes/new", url.Values{"name": {"loans:read"}, "api": {"banking"}, "description": {"View your loans."}}},
		{"/scopes/edit?name=write%3Asettings", url.Values{"version": {jsonInt(before.Version)}, "description": {"Carol was here."}}},
		{"/scopes/rename?name=write%3Asettings", url.Values{"version": {jsonInt(before.Version)}, "new_name": {"carol:name"}}},
		{"/scopes/delete?name=write%3Asettings", url.Values{"version": {jsonInt(before.Version)}, "confirm": {"write:settings"}}},
		{"/apis/new", url.Values{"identifier": {"api.carol.example.com"}, "signing_alg": {"ES256"}, "access_token_ttl": {"1h"}}},
		{"/apis/edit?id=banking", url.Values{"version": {"1"}, "name": {"Carol's"}, "signing_alg": {"ES256"}, "access_token_ttl": {"1h"}}},
	}
	for _, f := range forms {
		f.v.Set("csrf", token)
		if p := s.post(f.path, f.v); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "scopes:write") {
			t.Errorf("carol's POST %s: %d, want 403 naming scopes:write", f.path, p.Status)
		}
	}
	after, err := e.Admin.GetScope(ctx, admin.CLI(), admin.DemoTenantID, "write:settings")
	if err != nil || after.Version != before.Version {
		t.Errorf("write:settings after carol's forms: %+v, %v", after, err)
	}
	for _, name := range []string{"loans:read", "carol:name"} {
		if _, err := e.Admin.GetScope(ctx, admin.CLI(), admin.DemoTenantID, name); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s after carol's forms: %v", name, err)
		}
	}
	if a, _ := e.Admin.GetAPI(ctx, admin.CLI(), admin.DemoTenantID, "banking"); a.Version != 1 {
		t.Errorf("banking API after carol's forms: %+v", a)
	}
	if apis, _ := e.Admin.ListAPIs(ctx, admin.CLI(), admin.DemoTenantID); len(apis) != 3 {
		t.Errorf("%d APIs after carol's forms, want 3", len(apis))
	}

	// bob has no platform scope at all.
	bob := demoSignIn(t, e, demo, "bob")
	for _, path := range []string{"/scopes", "/apis", "/scopes/edit?name=read%3Atransactions", "/scopes/delete?name=read%3Atransactions"} {
		if p := bob.get(path); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "scopes:read") {
			t.Errorf("bob GET %s: %d, want 403 naming scopes:read", path, p.Status)
		}
	}
}

// TestScopeChangesAreAuditedAsTheSignedInUser: every change made from the
// scopes and APIs pages is an audit event whose actor is alice (her user
// ID) and whose details say it came through the console.
func TestScopeChangesAreAuditedAsTheSignedInUser(t *testing.T) {
	e, demo := startConsole(t)
	s := demoSignIn(t, e, demo, "alice")
	ctx := t.Context()
	alice, err := e.Admin.GetUser(ctx, admin.CLI(), admin.DemoTenantID, "alice")
	if err != nil {
		t.Fatal(err)
	}

	p := s.submit("/apis/new", "/apis/new", func(v url.Values) {
		v.Set("identifier", "api.loans.example.com")
		v.Set("name", "Loans API")
		v.Set("signing_alg", "RS256")
		v.Set("access_token_ttl", "15m")
	})
	a, err := e.Admin.GetAPI(ctx, admin.CLI(), admin.DemoTenantID, "api.loans.example.com")
	if err != nil || a.Name != "Loans API" || a.SigningAlg != "RS256" || a.AccessTokenTTL.String() != "15m0s" {
		t.Fatalf("API after the create form (%d at %s): %+v, %v", p.Status, p.URL, a, err)
	}
	if !strings.Contains(p.Body, "API Loans API created") {
		t.Errorf("no notice after creating the API:\n%s", p.Body)
	}
	apiPage := "/apis/edit?id=" + url.QueryEscape(a.ID)
	s.submit(apiPage, apiPage, func(v url.Values) { v.Set("access_token_ttl", "30m") })
	if a, _ = e.Admin.GetAPI(ctx, admin.CLI(), admin.DemoTenantID, a.ID); a.AccessTokenTTL.String() != "30m0s" || a.Name != "Loans API" {
		t.Errorf("API after the edit form: %+v", a)
	}

	s.submit("/scopes/new?api="+url.QueryEscape(a.ID), "/scopes/new", func(v url.Values) {
		if v.Get("api") != a.ID {
			t.Errorf("the create form opened from the API page preselects %q, want %s", v.Get("api"), a.ID)
		}
		v.Set("name", "loans:read")
		v.Set("description", "View your loans.")
	})
	s.submit("/scopes/edit?name=loans%3Aread", "/scopes/edit?name=loans%3Aread", func(v url.Values) { v.Set("display_name", "Read loans") })
	s.submit("/scopes/edit?name=loans%3Aread", "/scopes/rename?name=loans%3Aread", func(v url.Values) { v.Set("new_name", "loans:view") })
	p = s.submit("/scopes/delete?name=loans%3Aview", "/scopes/delete?name=loans%3Aview", func(v url.Values) { v.Set("confirm", "loans:view") })
	if !strings.HasPrefix(p.URL.String(), s.base+"/scopes") || !strings.Contains(p.Body, "Scope loans:view deleted") {
		t.Errorf("after the delete: %s\n%s", p.URL, p.Body)
	}

	for _, typ := range []string{model.EventAPICreated, model.EventAPIUpdated, model.EventScopeCreated, model.EventScopeUpdated,
		model.EventScopeRenamed, model.EventScopeDeleted} {
		all, err := e.Store.Audit().Search(ctx, store.AuditQuery{TenantID: admin.DemoTenantID, Type: typ})
		var evs []model.AuditEvent
		for _, ev := range all {
			if ev.ActorType != model.ActorSystem { // the demo's seeding
				evs = append(evs, ev)
			}
		}
		if err != nil || len(evs) != 1 {
			t.Errorf("%s: %d events besides the demo's (err %v), want 1", typ, len(evs), err)
			continue
		}
		ev := evs[0]
		var d struct {
			ViaClient string `json:"via_client"`
		}
		_ = json.Unmarshal(ev.Details, &d)
		if ev.ActorType != model.ActorUser || ev.ActorID != alice.User.ID || d.ViaClient != model.ConsoleClientID {
			t.Errorf("%s: actor %s %s via %q, want user %s via %s", typ, ev.ActorType, ev.ActorID, d.ViaClient, alice.User.ID, model.ConsoleClientID)
		}
	}
}

// TestScopePagesTakeAnyScopeName: a scope is named in the query, so a
// name holding "/" and one that reads like a page ("new") each have their
// page, edit form and delete page.
func TestScopePagesTakeAnyScopeName(t *testing.T) {
	e, demo := startConsole(t)
	ctx := t.Context()
	s := demoSignIn(t, e, demo, "alice")
	for _, name := range []string{"new", "files/read", "edit"} {
		if _, err := e.Admin.CreateScope(ctx, admin.CLI(), admin.DemoTenantID, admin.ScopeInput{Name: name, API: admin.DemoAudience,
			Description: "A scope named " + name + "."}); err != nil {
			t.Fatal(err)
		}
		q := "?name=" + url.QueryEscape(name)
		if p := s.get("/scopes/edit" + q); p.Status != http.StatusOK || fieldOn(t, p, "new_name").Value != name {
			t.Errorf("the page of %s: %d", name, p.Status)
		}
		s.submit("/scopes/edit"+q, "/scopes/edit"+q, func(v url.Values) { v.Set("display_name", "Named "+name) })
		if sc, err := e.Admin.GetScope(ctx, admin.CLI(), admin.DemoTenantID, name); err != nil || sc.DisplayName != "Named "+name {
			t.Errorf("%s after its edit form: %+v, %v", name, sc, err)
		}
		if p := s.get("/scopes/delete" + q); p.Status != http.StatusOK || s.form(p, "/scopes/delete"+q).Values.Get("version") == "" {
			t.Errorf("the delete page of %s: %d", name, p.Status)
		}
	}
	list := s.get("/scopes")
	if !strings.Contains(list.Body, `href="/t/banking/console/scopes/edit?name=files%2fread"`) &&
		!strings.Contains(list.Body, `href="/t/banking/console/scopes/edit?name=files%2Fread"`) {
		t.Errorf("the list does not link files/read's page:\n%s", list.Body)
	}
	if p := s.get("/scopes/edit?name=no%3Asuch"); p.Status != http.StatusNotFound {
		t.Errorf("an unknown scope's page: %d, want 404", p.Status)
	}
	if p := s.get("/scopes/edit"); p.Status != http.StatusNotFound {
		t.Errorf("the scope page without a name: %d, want 404", p.Status)
	}
}
