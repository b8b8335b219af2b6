package console_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/store/postgres"
	"github.com/intelliauth/intelliauth/internal/store/sqlite"
)

// appsBackend opens a fresh migrated store of one backend.
type appsBackend struct {
	name string
	open func(t *testing.T) store.Store
}

// appsBackends are SQLite always, and PostgreSQL when
// INTELLIAUTH_TEST_POSTGRES names one (skipped otherwise).
func appsBackends() []appsBackend {
	return []appsBackend{
		{"SQLite", func(t *testing.T) store.Store {
			db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "apps.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			if err := db.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			return db
		}},
		{"PostgreSQL", func(t *testing.T) store.Store {
			dsn := os.Getenv(servertest.PostgresEnv)
			if dsn == "" {
				t.Skip(servertest.PostgresEnv + " is not set")
			}
			db, err := postgres.Open(t.Context(), servertest.PostgresSchema(t, dsn))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			if err := db.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			return db
		}},
	}
}

// appsStartOn starts a node on st with the demo tenant seeded.
func appsStartOn(t *testing.T, st store.Store) (*servertest.Env, admin.Demo) {
	t.Helper()
	e := servertest.StartOn(t, st)
	demo, err := e.Admin.SeedDemo(t.Context(), admin.CLI(), e.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.Server.Catalog().Invalidate(admin.DemoTenantID)
	return e, demo
}

// appsGet opens a console path with the signed-in client pb.
func appsGet(t *testing.T, e *servertest.Env, pb *servertest.Browser, path string) *servertest.Page {
	t.Helper()
	return pb.Visit(e.URL, consoleURL(e)+path)
}

// appsApp reads an application from the store.
func appsApp(t *testing.T, e *servertest.Env, clientID string) model.Application {
	t.Helper()
	a, err := e.Store.Applications().Get(t.Context(), admin.DemoTenantID, clientID)
	if err != nil {
		t.Fatalf("application %s: %v", clientID, err)
	}
	return a
}

// appsCount is the number of applications of the demo tenant.
func appsCount(t *testing.T, e *servertest.Env) int {
	t.Helper()
	p, err := e.Admin.ListApplications(t.Context(), admin.CLI(), admin.DemoTenantID, store.Page{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return p.Total
}

// appsEvents are the audit events of a type about one application.
func appsEvents(t *testing.T, e *servertest.Env, typ, clientID string) []model.AuditEvent {
	t.Helper()
	evs, err := e.Store.Audit().Search(t.Context(), store.AuditQuery{TenantID: admin.DemoTenantID, Type: typ, ClientID: clientID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// appsUserID is the ID of a demo user.
func appsUserID(t *testing.T, e *servertest.Env, username string) string {
	t.Helper()
	u, err := e.Admin.GetUser(t.Context(), admin.CLI(), admin.DemoTenantID, username)
	if err != nil {
		t.Fatal(err)
	}
	return u.User.ID
}

// checkScopesChangedByAlice checks that exactly one application.scopes_changed
// event about clientID was written after the ones in before, by alice
// through the console, adding add and removing remove.
func checkScopesChangedByAlice(t *testing.T, e *servertest.Env, clientID string, before int, add, remove []string) {
	t.Helper()
	evs := appsEvents(t, e, model.EventAppScopesChanged, clientID)
	if len(evs) != before+1 {
		t.Fatalf("%d application.scopes_changed events about %s, want %d (one per save)", len(evs), clientID, before+1)
	}
	ev := evs[0] // newest first
	var d struct {
		Added     []string `json:"added"`
		Removed   []string `json:"removed"`
		ViaClient string   `json:"via_client"`
	}
	if err := json.Unmarshal(ev.Details, &d); err != nil {
		t.Fatal(err)
	}
	if ev.ActorType != model.ActorUser || ev.ActorID != appsUserID(t, e, "alice") || d.ViaClient != model.ConsoleClientID {
		t.Errorf("event actor %s/%s via %q, want alice's user ID via console", ev.ActorType, ev.ActorID, d.ViaClient)
	}
	if !slices.Equal(d.Added, add) || !slices.Equal(d.Removed, remove) {
		t.Errorf("event added %v removed %v, want %v and %v", d.Added, d.Removed, add, remove)
	}
}

// appsText is the page's HTML with character references decoded, for
// comparing text ("+ openid", not "&#43; openid").
func appsText(p *servertest.Page) string { return html.UnescapeString(p.Body) }

// appsMain is the page's main element, for failure messages.
func appsMain(p *servertest.Page) string {
	s := p.Body
	if i := strings.Index(s, "<main"); i >= 0 {
		s = s[i:]
	}
	if i := strings.Index(s, "</main>"); i >= 0 {
		s = s[:i]
	}
	return s
}

// appsForm returns the form of page p posting to a path ending in suffix.
func appsForm(t *testing.T, p *servertest.Page, suffix string) *servertest.Form {
	t.Helper()
	return formWithAction(t, p, suffix)
}

// TestApplicationFormsKeepBadInputWithFieldErrors: bad input in the create
// form and the Settings tab comes back with the user's input kept, the
// message next to its field (aria-invalid, aria-describedby), and nothing
// created or changed — on SQLite and on PostgreSQL (which refuses a NUL
// byte that SQLite would store: the console must stop it first).
func TestApplicationFormsKeepBadInputWithFieldErrors(t *testing.T) {
	for _, be := range appsBackends() {
		t.Run(be.name, func(t *testing.T) {
			e, demo := appsStartOn(t, be.open(t))
			pb, _ := signInHTTP(t, e, demo, "alice")
			apps := appsCount(t, e)

			newPage := appsGet(t, e, pb, "/applications/new")
			if newPage.Status != http.StatusOK {
				t.Fatalf("new application form: %d\n%s", newPage.Status, appsMain(newPage))
			}
			f := appsForm(t, newPage, "/console/applications")
			// A redirect URI over plain http off loopback, and client
			// credentials for a public type.
			res := pb.Submit(e.URL, f, func(v url.Values) {
				v.Set("name", "Shop front")
				v.Set("client_id", "shop-front")
				v.Set("type", "spa")
				v.Set("redirect_uris", "http://shop.example.com/callback")
				v["grant_types"] = []string{"authorization_code", "client_credentials"}
				v.Set("scope_policy", "strict")
				v.Set("consent", "required")
			})
			if res.Status != http.StatusBadRequest {
				t.Fatalf("bad create: %d, want 400\n%s", res.Status, appsMain(res))
			}
			for _, want := range []string{
				`id="app-redirect_uris-error"`, "http is allowed only for loopback redirect URIs",
				`id="app-grant_types-error"`, "client_credentials needs a confidential application",
				`aria-describedby="app-redirect_uris-hint app-redirect_uris-error" aria-invalid="true"`,
				// the input, kept
				`value="shop-front"`, `value="Shop front"`, ">http://shop.example.com/callback</textarea>",
				`value="client_credentials" checked`, `<option value="spa" selected>`,
			} {
				if !strings.Contains(appsText(res), want) {
					t.Errorf("the answer to a bad create lacks %s", want)
				}
			}
			// Text no store keeps as given: refused at the edge (the
			// console's router, as /api/v1's), naming the field.
			res = pb.Submit(e.URL, appsForm(t, res, "/console/applications"), func(v url.Values) {
				v.Set("name", "Shop\x00front")
				v.Set("type", "web")
				v.Set("redirect_uris", "https://shop.example.com/callback")
				v.Del("grant_types")
			})
			if res.Status != http.StatusBadRequest || !strings.Contains(appsText(res), "The value of name is not UTF-8 text or holds a NUL character") {
				t.Fatalf("a NUL in the name: %d\n%s", res.Status, appsMain(res))
			}
			if n := appsCount(t, e); n != apps {
				t.Fatalf("%d applications after bad creates, want %d", n, apps)
			}

			// Settings: a lifetime that is not a duration, a bad origin.
			before := appsApp(t, e, "banking-spa")
			page := appsGet(t, e, pb, "/applications/banking-spa/settings")
			res = pb.Submit(e.URL, appsForm(t, page, "/settings"), func(v url.Values) {
				v.Set("name", "Demo Bank (renamed)")
				v.Set("redirect_uris", "http://localhost:5173/callback")
				v["grant_types"] = []string{"authorization_code", "refresh_token"}
				v.Set("access_token_ttl", "five minutes")
				v.Set("allowed_origins", "https://bank.example.com/path")
			})
			if res.Status != http.StatusBadRequest {
				t.Fatalf("bad settings: %d, want 400\n%s", res.Status, appsMain(res))
			}
			for _, want := range []string{`id="app-access_token_ttl-error"`, `"five minutes" is not a duration`, `value="five minutes"`, `value="Demo Bank (renamed)"`} {
				if !strings.Contains(appsText(res), want) {
					t.Errorf("the answer to bad settings lacks %s", want)
				}
			}
			// The lifetime fixed, the origin still bad: admin's own problem.
			res = pb.Submit(e.URL, appsForm(t, res, "/settings"), func(v url.Values) {
				v.Set("redirect_uris", "http://localhost:5173/callback")
				v["grant_types"] = []string{"authorization_code", "refresh_token"}
				v.Set("access_token_ttl", "5m")
				v.Set("allowed_origins", "https://bank.example.com/path")
			})
			if res.Status != http.StatusBadRequest || !strings.Contains(appsText(res), `id="app-allowed_origins-error"`) || !strings.Contains(appsText(res), `>https://bank.example.com/path</textarea>`) {
				t.Fatalf("bad origin: %d\n%s", res.Status, appsMain(res))
			}
			if after := appsApp(t, e, "banking-spa"); after.Version != before.Version || after.Name != before.Name {
				t.Fatalf("banking-spa changed by refused edits: version %d → %d, name %q", before.Version, after.Version, after.Name)
			}
		})
	}
}

// TestApplicationFormsNeedTheCSRFToken: a create, an allowlist save and a
// rotation posted without the session's CSRF token are refused (403) with
// nothing changed.
func TestApplicationFormsNeedTheCSRFToken(t *testing.T) {
	e, demo := startConsole(t)
	pb, _ := signInHTTP(t, e, demo, "alice")
	apps := appsCount(t, e)
	before := appsApp(t, e, "reporting-job")

	page := appsGet(t, e, pb, "/applications/new")
	res := pb.Submit(e.URL, appsForm(t, page, "/console/applications"), func(v url.Values) {
		v.Del("csrf")
		v.Set("name", "Forged")
		v.Set("type", "m2m")
	})
	if res.Status != http.StatusForbidden {
		t.Fatalf("create without CSRF token: %d, want 403", res.Status)
	}
	access := appsGet(t, e, pb, "/applications/reporting-job/access")
	res = pb.Submit(e.URL, appsForm(t, access, "/allowlist"), func(v url.Values) {
		v.Del("csrf")
		v.Set("do", "save")
		v.Add("add", "payments:approve")
	})
	if res.Status != http.StatusForbidden {
		t.Fatalf("allowlist save without CSRF token: %d, want 403", res.Status)
	}
	creds := appsGet(t, e, pb, "/applications/reporting-job/credentials")
	res = pb.Submit(e.URL, appsForm(t, creds, "/credentials"), func(v url.Values) {
		v.Set("csrf", "x"+v.Get("csrf"))
		v.Set("grace", "0s")
	})
	if res.Status != http.StatusForbidden || strings.Contains(appsText(res), `class="secret"`) {
		t.Fatalf("rotation with a wrong CSRF token: %d", res.Status)
	}
	if n := appsCount(t, e); n != apps {
		t.Errorf("%d applications, want %d", n, apps)
	}
	if after := appsApp(t, e, "reporting-job"); after.Version != before.Version {
		t.Errorf("reporting-job changed: version %d → %d (%v)", before.Version, after.Version, after.AllowedScopes)
	}
	if evs := appsEvents(t, e, model.EventAppSecretRotated, "reporting-job"); len(evs) != 0 {
		t.Errorf("%d secret rotations", len(evs))
	}
}

// TestApplicationPagesNeedApplicationsScope: a user whose only platform
// scope is users:read gets 403 on every application page, and a POST to
// them carrying her own valid CSRF token (a forged form) is refused with
// nothing changed.
func TestApplicationPagesNeedApplicationsScope(t *testing.T) {
	e, demo := startConsole(t)
	ctx := t.Context()
	if _, err := e.Admin.CreateRole(ctx, admin.CLI(), admin.DemoTenantID, admin.RoleInput{Name: "user-reader", Description: "Reads users.", Scopes: []string{"users:read"}}); err != nil {
		t.Fatal(err)
	}
	const pw = "carol-Reads-Users-42"
	if _, err := e.Admin.CreateUser(ctx, admin.CLI(), admin.DemoTenantID, admin.UserInput{Username: "carol", Email: "carol@example.com", Name: "Carol Reader", Password: pw, Roles: []string{"user-reader"}}); err != nil {
		t.Fatal(err)
	}
	e.Server.Catalog().Invalidate(admin.DemoTenantID)
	demo.Users = append(demo.Users, admin.DemoUser{Username: "carol", Password: pw})
	pb, home := signInHTTP(t, e, demo, "carol")
	if strings.Contains(appsText(home), "/console/applications") {
		t.Error("carol's home links to Applications")
	}
	for _, p := range []string{"/applications", "/applications/new", "/applications/reporting-job/settings", "/applications/reporting-job/access",
		"/applications/reporting-job/credentials", "/applications/reporting-job/usage", "/applications/reporting-job", "/applications/console/delete"} {
		if res := appsGet(t, e, pb, p); res.Status != http.StatusForbidden || !strings.Contains(appsText(res), "needs the platform scope") {
			t.Errorf("carol GET %s: %d, want 403 naming the scope", p, res.Status)
		}
	}
	// Her CSRF token is valid (from her own sign-out form): only the scope
	// stops these.
	csrf := formWithAction(t, home, "/console/signout").Values.Get("csrf")
	before := appsApp(t, e, "reporting-job")
	apps := appsCount(t, e)
	for path, form := range map[string]url.Values{
		"/applications":                           {"name": {"Forged"}, "type": {"m2m"}},
		"/applications/reporting-job/allowlist":   {"do": {"save"}, "add": {"payments:approve"}, "version": {strconv.FormatInt(before.Version, 10)}},
		"/applications/reporting-job/access":      {"scope_policy": {"permissive"}, "consent": {"required"}, "version": {strconv.FormatInt(before.Version, 10)}},
		"/applications/reporting-job/settings":    {"name": {"Forged"}, "grant_types": {"client_credentials"}, "version": {strconv.FormatInt(before.Version, 10)}},
		"/applications/reporting-job/credentials": {"grace": {"0s"}},
		"/applications/reporting-job/delete":      {"version": {strconv.FormatInt(before.Version, 10)}},
	} {
		form.Set("csrf", csrf)
		req, _ := http.NewRequest(http.MethodPost, consoleURL(e)+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if res := pb.Do(e.URL, req); res.Status != http.StatusForbidden {
			t.Errorf("carol POST %s: %d, want 403", path, res.Status)
		}
	}
	after := appsApp(t, e, "reporting-job")
	if after.Version != before.Version || appsCount(t, e) != apps {
		t.Errorf("a refused POST changed something: version %d → %d, %d → %d applications", before.Version, after.Version, apps, appsCount(t, e))
	}
	if evs := appsEvents(t, e, model.EventAppSecretRotated, "reporting-job"); len(evs) != 0 {
		t.Errorf("%d secret rotations", len(evs))
	}
}

// TestApplicationListPagesTwentyAtATime: 25 more applications make two
// pages of 20 with First / Previous / Next / Last; type and scope policy
// are columns.
func TestApplicationListPagesTwentyAtATime(t *testing.T) {
	e, demo := startConsole(t)
	for i := range 25 {
		if _, err := e.Admin.CreateApplication(t.Context(), admin.CLI(), admin.DemoTenantID, admin.ApplicationInput{
			ClientID: "batch-" + strconv.Itoa(100+i), Type: model.AppM2M, ScopePolicy: model.PolicyPermissive}); err != nil {
			t.Fatal(err)
		}
	}
	total := appsCount(t, e)
	pb, _ := signInHTTP(t, e, demo, "alice")
	first := appsGet(t, e, pb, "/applications")
	if first.Status != http.StatusOK || !strings.Contains(appsText(first), "page 1 of 2") || strings.Count(appsText(first), `<th scope="row">`) != 20 {
		t.Fatalf("page 1: %d, %d rows\n%s", first.Status, strings.Count(appsText(first), `<th scope="row">`), appsMain(first))
	}
	for _, want := range []string{`<th scope="col">Type</th>`, `<th scope="col">Scope policy</th>`, "<td>m2m</td>", "<td>permissive</td>", `rel="next"`, ">Last</a>"} {
		if !strings.Contains(appsText(first), want) {
			t.Errorf("page 1 lacks %s", want)
		}
	}
	last := appsGet(t, e, pb, "/applications?page=9")
	if !strings.Contains(appsText(last), "page 2 of 2") || strings.Count(appsText(last), `<th scope="row">`) != total-20 || !strings.Contains(appsText(last), ">First</a>") {
		t.Fatalf("past the end: want the last page with %d rows\n%s", total-20, appsMain(last))
	}
}

// TestAllowlistEditorWithoutJavaScript drives the editor as a browser
// without scripts does: every button posts the form; the stage action
// re-renders it with the change pending (hidden add/remove fields, the
// summary) and writes nothing; an unknown typed name is refused with
// admin's reason and the pending changes kept; Save writes them all in
// ONE application.scopes_changed event by alice via the console.
func TestAllowlistEditorWithoutJavaScript(t *testing.T) {
	e, demo := startConsole(t)
	pb, _ := signInHTTP(t, e, demo, "alice")
	before := appsApp(t, e, "reporting-job")
	events := len(appsEvents(t, e, model.EventAppScopesChanged, "reporting-job"))

	page := appsGet(t, e, pb, "/applications/reporting-job/access")
	if page.Status != http.StatusOK {
		t.Fatalf("access tab: %d\n%s", page.Status, appsMain(page))
	}
	for _, want := range []string{`aria-current="page">Access</a>`, `<select multiple size="14" id="allowlist-available"`, `<optgroup label="Banking API"`,
		`<option value="payments:approve"`, `<datalist id="allowlist-suggestions">`, "No pending changes."} {
		if !strings.Contains(appsText(page), want) {
			t.Errorf("access tab lacks %s", want)
		}
	}
	stage := func(p *servertest.Page, set func(url.Values)) *servertest.Page {
		t.Helper()
		return pb.Submit(e.URL, appsForm(t, p, "/allowlist"), set)
	}
	// Allow selected.
	page = stage(page, func(v url.Values) {
		v.Set("do", "allow")
		v["available"] = []string{"payments:approve", "write:settings"}
	})
	if page.Status != http.StatusOK || !strings.Contains(appsText(page), "+ payments:approve, + write:settings") ||
		!strings.Contains(appsText(page), `<input type="hidden" name="add" value="payments:approve">`) {
		t.Fatalf("after Allow selected: %d\n%s", page.Status, appsMain(page))
	}
	if !strings.Contains(appsText(page), `id="allowlist-allow" autofocus`) {
		t.Error("after Allow selected the focus is not back on the button")
	}
	// Remove selected: one pending add taken back, one scope removed.
	page = stage(page, func(v url.Values) {
		v.Set("do", "remove")
		v["allowed"] = []string{"write:settings", "audit:read"}
	})
	if !strings.Contains(appsText(page), "+ payments:approve, − audit:read") {
		t.Fatalf("after Remove selected:\n%s", appsMain(page))
	}
	// Filter without a script: the server hides what does not match.
	page = stage(page, func(v url.Values) {
		v.Set("do", "filter")
		v.Set("filter", "record")
	})
	if !strings.Contains(appsText(page), `<option value="read:records" title="Read health records — View your medical records and test results." data-display="Read health records">`) ||
		!strings.Contains(appsText(page), `<option value="openid" title=`) || !strings.Contains(appsText(page), `hidden>openid</option>`) {
		t.Errorf("filter 'record' did not hide the others:\n%s", appsMain(page))
	}
	// Type a name: an unknown one is refused with admin's words, the
	// pending changes stay.
	page = stage(page, func(v url.Values) {
		v.Set("do", "add")
		v.Set("filter", "")
		v.Set("name", "payments:refund")
	})
	if page.Status != http.StatusBadRequest || !strings.Contains(appsText(page), "not in this tenant's scope registry: payments:refund") ||
		!strings.Contains(appsText(page), `aria-invalid="true"`) || !strings.Contains(appsText(page), `value="payments:refund"`) ||
		!strings.Contains(appsText(page), "+ payments:approve, − audit:read") {
		t.Fatalf("unknown typed name: %d\n%s", page.Status, appsMain(page))
	}
	page = stage(page, func(v url.Values) {
		v.Set("do", "add")
		v.Set("name", "bad scope")
	})
	if !strings.Contains(appsText(page), `"bad scope" is not a valid scope name (RFC 6749 §3.3)`) {
		t.Fatalf("invalid typed name:\n%s", appsMain(page))
	}
	page = stage(page, func(v url.Values) {
		v.Set("do", "add")
		v.Set("name", "openid")
	})
	if page.Status != http.StatusOK || !strings.Contains(appsText(page), "+ openid, + payments:approve, − audit:read") {
		t.Fatalf("typed openid:\n%s", appsMain(page))
	}
	if now := appsApp(t, e, "reporting-job"); now.Version != before.Version {
		t.Fatalf("staging wrote the allowlist: %v", now.AllowedScopes)
	}
	// Save.
	res := stage(page, func(v url.Values) { v.Set("do", "save") })
	if res.Status != http.StatusOK || !strings.HasSuffix(res.URL.Path, "/applications/reporting-job/access") ||
		!strings.Contains(appsText(res), "Allowed scopes of Reporting job saved: + openid, + payments:approve, − audit:read.") {
		t.Fatalf("save: %d at %s\n%s", res.Status, res.URL, appsMain(res))
	}
	after := appsApp(t, e, "reporting-job")
	if want := []string{"openid", "payments:approve", "read:transactions", "users:read"}; !slices.Equal(after.AllowedScopes, want) {
		t.Fatalf("allowlist %v, want %v", after.AllowedScopes, want)
	}
	checkScopesChangedByAlice(t, e, "reporting-job", events, []string{"openid", "payments:approve"}, []string{"audit:read"})
}

// TestUsageTabRemovesNeverGrantedThroughTheEditorSave: the Usage tab
// flags the allowed scopes never granted in the window; its "Remove from
// allowlist" posts the editor's save: one application.scopes_changed
// event, and back to the Usage tab.
func TestUsageTabRemovesNeverGrantedThroughTheEditorSave(t *testing.T) {
	e, demo := startConsole(t)
	// One grant of read:transactions to reporting-job.
	rj, _ := demo.App("reporting-job")
	tokenForm := url.Values{"grant_type": {"client_credentials"}, "scope": {"read:transactions"}}
	req, _ := http.NewRequest(http.MethodPost, e.Issuer(admin.DemoTenantID)+"/oauth2/token", strings.NewReader(tokenForm.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(rj.ClientID, rj.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("client credentials: %d", resp.StatusCode)
	}
	pb, _ := signInHTTP(t, e, demo, "alice")
	events := len(appsEvents(t, e, model.EventAppScopesChanged, "reporting-job"))
	page := appsGet(t, e, pb, "/applications/reporting-job/usage?window=7")
	if page.Status != http.StatusOK || !strings.Contains(appsText(page), `aria-current="page">7 days</a>`) {
		t.Fatalf("usage tab: %d\n%s", page.Status, appsMain(page))
	}
	if strings.Count(appsText(page), "Never granted") != 2 || !strings.Contains(appsText(page), `aria-label="Remove audit:read from allowlist"`) ||
		strings.Contains(appsText(page), `aria-label="Remove read:transactions from allowlist"`) {
		t.Fatalf("usage tab should flag audit:read and users:read only:\n%s", appsMain(page))
	}
	var f *servertest.Form
	for _, fm := range page.Forms() {
		if fm.Values.Get("remove") == "audit:read" && len(fm.Values["remove"]) == 1 {
			f = fm
		}
	}
	if f == nil {
		t.Fatal("no Remove from allowlist form for audit:read")
	}
	res := pb.Submit(e.URL, f, func(v url.Values) { v.Set("do", "save") })
	if res.Status != http.StatusOK || !strings.Contains(res.URL.String(), "/usage?window=7") || !strings.Contains(appsText(res), "− audit:read") {
		t.Fatalf("remove from allowlist: %d at %s\n%s", res.Status, res.URL, appsMain(res))
	}
	if a := appsApp(t, e, "reporting-job"); slices.Contains(a.AllowedScopes, "audit:read") {
		t.Fatalf("audit:read still allowed: %v", a.AllowedScopes)
	}
	checkScopesChangedByAlice(t, e, "reporting-job", events, []string{}, []string{"audit:read"})
}

// TestConsoleApplicationCannotBeDeleted: the console is listed like any
// application; deleting it is refused with admin's reason, and it stays.
func TestConsoleApplicationCannotBeDeleted(t *testing.T) {
	e, demo := startConsole(t)
	pb, _ := signInHTTP(t, e, demo, "alice")
	list := appsGet(t, e, pb, "/applications")
	if !strings.Contains(appsText(list), "<code>console</code>") {
		t.Fatalf("the console is not listed:\n%s", appsMain(list))
	}
	page := appsGet(t, e, pb, "/applications/console/delete")
	res := pb.Submit(e.URL, appsForm(t, page, "/delete"), nil)
	if res.Status != http.StatusBadRequest || !strings.Contains(appsText(res), "it cannot be deleted") {
		t.Fatalf("delete console: %d\n%s", res.Status, appsMain(res))
	}
	appsApp(t, e, model.ConsoleClientID)
	// Another application can be.
	page = appsGet(t, e, pb, "/applications/legacy-batch/delete")
	res = pb.Submit(e.URL, appsForm(t, page, "/delete"), nil)
	if res.Status != http.StatusOK || !strings.Contains(appsText(res), "Application Legacy batch (legacy-batch) deleted") {
		t.Fatalf("delete legacy-batch: %d\n%s", res.Status, appsMain(res))
	}
	if _, err := e.Store.Applications().Get(t.Context(), admin.DemoTenantID, "legacy-batch"); err == nil {
		t.Fatal("legacy-batch still exists")
	}
}

// TestStaleSettingsEditLosesNothing: the Settings tab and the Access tab's
// policy form were opened before another admin changed the application;
// saving says it was changed by someone else since you opened it, shows
// both versions, keeps the input and carries the current version, so
// saving again applies it.
func TestStaleSettingsEditLosesNothing(t *testing.T) {
	e, demo := startConsole(t)
	pb, _ := signInHTTP(t, e, demo, "alice")
	settings := appsGet(t, e, pb, "/applications/reporting-job/settings")
	access := appsGet(t, e, pb, "/applications/reporting-job/access")
	other := "Nightly reports"
	if _, err := e.Admin.UpdateApplication(t.Context(), admin.CLI(), admin.DemoTenantID, "reporting-job", admin.ApplicationUpdate{Name: &other}); err != nil {
		t.Fatal(err)
	}
	edit := func(v url.Values) {
		v.Set("name", "Reporting job v2")
		v["grant_types"] = []string{"client_credentials"}
		v.Set("access_token_ttl", "2m")
	}
	res := pb.Submit(e.URL, appsForm(t, settings, "/settings"), edit)
	txt := appsText(res)
	if res.Status != http.StatusConflict || !strings.Contains(txt, "changed by someone else since you opened it") ||
		!strings.Contains(txt, "<th scope=\"row\">Name</th><td>Reporting job v2</td><td>Nightly reports</td>") ||
		!strings.Contains(txt, `value="Reporting job v2"`) || !strings.Contains(txt, `value="2m"`) {
		t.Fatalf("stale settings: %d\n%s", res.Status, appsMain(res))
	}
	if a := appsApp(t, e, "reporting-job"); a.Name != other {
		t.Fatalf("the stale edit was written: %q", a.Name)
	}
	res = pb.Submit(e.URL, appsForm(t, res, "/settings"), func(v url.Values) {
		v["grant_types"] = []string{"client_credentials"}
	})
	if a := appsApp(t, e, "reporting-job"); res.Status != http.StatusOK || a.Name != "Reporting job v2" || a.AccessTokenTTL != 2*time.Minute {
		t.Fatalf("re-applied settings: %d, name %q, ttl %s\n%s", res.Status, a.Name, a.AccessTokenTTL, appsMain(res))
	}

	res = pb.Submit(e.URL, appsForm(t, access, "/access"), func(v url.Values) {
		v.Set("scope_policy", "permissive")
		v.Set("consent", "required")
	})
	txt = appsText(res)
	if res.Status != http.StatusConflict || !strings.Contains(txt, "<th scope=\"row\">Scope policy</th><td>permissive</td><td>strict</td>") ||
		!strings.Contains(txt, `value="permissive" checked`) {
		t.Fatalf("stale policy: %d\n%s", res.Status, appsMain(res))
	}
	res = pb.Submit(e.URL, appsForm(t, res, "/access"), func(v url.Values) {
		v.Set("scope_policy", "permissive")
		v.Set("consent", "required")
	})
	if a := appsApp(t, e, "reporting-job"); res.Status != http.StatusOK || a.ScopePolicy != model.PolicyPermissive {
		t.Fatalf("re-applied policy: %d, policy %s\n%s", res.Status, a.ScopePolicy, appsMain(res))
	}
}
