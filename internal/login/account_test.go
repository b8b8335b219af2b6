package login_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	xhtml "golang.org/x/net/html"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/login"
	"github.com/intelliauth/intelliauth/internal/mfa/mfatest"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/password"
)

// accountIn signs name in (on a request of banking-spa, as the authorize
// endpoint would send them) and returns their browser.
func (e *env) accountIn(name, pw string) *browser {
	e.t.Helper()
	b := e.browser()
	if resp, body := b.signIn(e.request(nil), name, pw); resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("sign-in of %s: %d\n%s", name, resp.StatusCode, body)
	}
	return b
}

// accountPage loads the account page, which must answer 200.
func (b *browser) accountPage() string {
	b.e.t.Helper()
	resp, body := b.get("/account/")
	if resp.StatusCode != http.StatusOK {
		b.e.t.Fatalf("GET /account/: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	return body
}

// act posts an account form (path below /account/) with the page's CSRF
// token.
func (b *browser) act(page, path string, form url.Values) (*http.Response, string) {
	b.e.t.Helper()
	form.Set("csrf", csrf(b.e.t, page))
	return b.post("/account/"+path, form)
}

// wantDone checks a change's answer: 303 to the page with its notice.
func wantDone(t *testing.T, resp *http.Response, body, notice string) {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "/account/?done="+notice) {
		t.Fatalf("want 303 to the page with done=%s, got %d %q\n%s", notice, resp.StatusCode, resp.Header.Get("Location"), body)
	}
}

// sessionOf is the stored session ID of the browser's session cookie.
func (b *browser) sessionOf() string {
	b.e.t.Helper()
	c := b.cookie(sessionCookie())
	if c == nil {
		b.e.t.Fatal("no session cookie")
	}
	return login.SessionIDOf(c.Value)
}

func TestAccountNeedsASignedInSession(t *testing.T) {
	e := newEnv(t)
	e.user("alice", "correct horse battery", model.UserActive)
	b := e.browser()
	for _, c := range []struct{ method, path string }{{"GET", "/account/"}, {"POST", "/account/profile"}, {"POST", "/account/apps/withdraw"}} {
		var resp *http.Response
		if c.method == "GET" {
			resp, _ = b.get(c.path)
		} else {
			resp, _ = b.post(c.path, url.Values{"name": {"x"}})
		}
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != e.issuer+"/login?return=%2Faccount%2F" {
			t.Errorf("%s %s without a session: %d %q, want 303 to the local sign-in", c.method, c.path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if resp, _ := b.get("/account"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != e.issuer+"/account/" {
		t.Errorf("/account: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A disabled user's session is no session.
	b = e.accountIn("alice", "correct horse battery")
	b.accountPage()
	u, err := e.st.Users().GetByLogin(t.Context(), tenantID, "alice")
	must(t, err)
	u.Status = model.UserDisabled
	_, err = e.st.Users().Update(t.Context(), u)
	must(t, err)
	if resp, _ := b.get("/account/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a disabled user's page: %d", resp.StatusCode)
	}
}

var (
	codeSecret = regexp.MustCompile(`<code class="secret">([A-Z2-7]+)</code>`)
	codeItem   = regexp.MustCompile(`<li><code>([a-z0-9-]+)</code></li>`)
	hiddenOf   = func(name string) *regexp.Regexp {
		return regexp.MustCompile(`<input type="hidden" name="` + name + `" value="([^"]+)">`)
	}
)

// accessible checks the page's controls: every visible input has a label
// (for=its id) or an aria-label, every button a name, and ids are unique.
func accessible(t *testing.T, page string) {
	t.Helper()
	doc, err := xhtml.Parse(strings.NewReader(page))
	must(t, err)
	labels, ids := map[string]bool{}, map[string]int{}
	var inputs, buttons []*xhtml.Node
	var walk func(*xhtml.Node)
	walk = func(n *xhtml.Node) {
		if n.Type == xhtml.ElementNode {
			a := map[string]string{}
			for _, at := range n.Attr {
				a[at.Key] = at.Val
			}
			if id := a["id"]; id != "" {
				ids[id]++
			}
			switch n.Data {
			case "label":
				labels[a["for"]] = true
			case "input":
				if a["type"] != "hidden" && !slices.ContainsFunc(n.Attr, func(at xhtml.Attribute) bool { return at.Key == "hidden" }) {
					inputs = append(inputs, n)
				}
			case "button":
				buttons = append(buttons, n)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	attr := func(n *xhtml.Node, k string) string {
		for _, a := range n.Attr {
			if a.Key == k {
				return a.Val
			}
		}
		return ""
	}
	for _, in := range inputs {
		if !labels[attr(in, "id")] && attr(in, "aria-label") == "" {
			t.Errorf("input %q has no label", attr(in, "name"))
		}
	}
	for _, bt := range buttons {
		if (bt.FirstChild == nil || strings.TrimSpace(bt.FirstChild.Data) == "") && attr(bt, "aria-label") == "" {
			t.Errorf("a button has no accessible name")
		}
		if l := attr(bt, "aria-label"); l != "" && bt.FirstChild != nil && !strings.Contains(l, strings.TrimSpace(bt.FirstChild.Data)) {
			t.Errorf("WCAG 2.5.3: button %q's name %q does not contain its visible text", bt.FirstChild.Data, l)
		}
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("id %q is used %d times", id, n)
		}
	}
}

func TestAccountPageShowsTheUsersOwn(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", "correct horse battery", model.UserActive)
	bob := e.user("bob", "tr0ub4dor and three", model.UserActive)
	_, err := e.st.Consents().Grant(t.Context(), tenantID, alice.ID, clientID, []string{"openid", "payments:approve"})
	must(t, err)
	_, err = e.st.Consents().Grant(t.Context(), tenantID, bob.ID, clientID, []string{"write:settings"})
	must(t, err)
	b := e.accountIn("alice", "correct horse battery")
	resp, page := b.get("/account/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /account/: %d", resp.StatusCode)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "img-src 'none'", "form-action 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("headers: %v", resp.Header)
	}
	if m := styleBlock.FindStringSubmatch(page); m == nil || !strings.Contains(csp, "style-src 'sha256-") {
		t.Error("no stylesheet allowed by hash")
	}
	if loc := externalURL.FindString(page); loc != "" {
		t.Errorf("page refers to something outside: %q", loc)
	}
	for _, want := range []string{"alice@example.com", "This device", "Banking &lt;SPA&gt;", "Approve payments",
		"Approve payments &lt;b&gt;on your behalf&lt;/b&gt;.", `aria-label="Withdraw access of Banking &lt;SPA&gt;"`, "You have no second factor"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// Bob's consent is not alice's.
	if strings.Contains(page, "Change your settings") || strings.Contains(page, "bob@example.com") {
		t.Error("alice's page shows bob's data")
	}
	accessible(t, page)
}

func TestAccountFormsCSRF(t *testing.T) {
	e := newEnv(t)
	e.user("alice", "correct horse battery", model.UserActive)
	e.user("bob", "tr0ub4dor and three", model.UserActive)
	a := e.accountIn("alice", "correct horse battery")
	page := a.accountPage()
	bobPage := e.accountIn("bob", "tr0ub4dor and three").accountPage()
	try := func(what string, form url.Values, header ...string) {
		t.Helper()
		if len(header) == 2 {
			a.header.Set(header[0], header[1])
			defer a.header.Del(header[0])
		}
		resp, _ := a.post("/account/profile", form)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", what, resp.StatusCode)
		}
	}
	try("no token", url.Values{"name": {"Mallory"}})
	try("bob's page's token", url.Values{"name": {"Mallory"}, "csrf": {csrf(t, bobPage)}})
	try("cross-site", url.Values{"name": {"Mallory"}, "csrf": {csrf(t, page)}}, "Sec-Fetch-Site", "cross-site")
	u, err := e.st.Users().GetByLogin(t.Context(), tenantID, "alice")
	must(t, err)
	if u.Name != "Alice" {
		t.Fatalf("a forged form changed the name to %q", u.Name)
	}
	resp, body := a.act(page, "profile", url.Values{"name": {"Alice Liddell"}})
	wantDone(t, resp, body, "profile")
}

func TestAccountProfileAndPassword(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", "correct horse battery", model.UserActive)
	e.user("bob", "tr0ub4dor and three", model.UserActive)
	b := e.accountIn("alice", "correct horse battery")
	page := b.accountPage()

	resp, body := b.act(page, "profile", url.Values{"name": {"Alice Liddell"}, "email": {"bob@example.com"}, "locality": {"Oxford"}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "taken") || !strings.Contains(body, `value="Alice Liddell"`) {
		t.Fatalf("bob's email: %d\n%s", resp.StatusCode, body)
	}
	resp, body = b.act(page, "profile", url.Values{"email": {"not an address"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `aria-invalid="true"`) || !strings.Contains(body, "plain address") {
		t.Fatalf("bad email: %d\n%s", resp.StatusCode, body)
	}
	resp, body = b.act(page, "profile", url.Values{"name": {"Alice Liddell"}, "locality": {"Oxford"}, "country": {"GB"}})
	wantDone(t, resp, body, "profile")
	if _, page = b.get("/account/?done=profile"); !strings.Contains(page, "Your profile was saved.") || !strings.Contains(page, `value="Oxford"`) {
		t.Fatalf("after saving:\n%s", page)
	}
	u, err := e.st.Users().Get(t.Context(), tenantID, alice.ID)
	must(t, err)
	if u.Name != "Alice Liddell" || u.Address.Locality != "Oxford" || u.Email != "alice@example.com" {
		t.Fatalf("stored: %+v", u)
	}
	evs := e.events(model.EventUserUpdated)
	if len(evs) != 1 || evs[0].ActorType != model.ActorUser || evs[0].ActorID != alice.ID || !strings.Contains(string(evs[0].Details), `"via":"account"`) {
		t.Fatalf("user.updated = %+v", evs)
	}
	// A stale form (the profile changed since it was shown): 412, not lost.
	resp, body = b.act(page, "profile", url.Values{"version": {"1"}, "name": {"Old tab"}})
	if resp.StatusCode != http.StatusPreconditionFailed || !strings.Contains(body, "another window") {
		t.Fatalf("stale form: %d\n%s", resp.StatusCode, body)
	}

	resp, body = b.act(page, "password", url.Values{"current_password": {"a wrong guess"}, "new_password": {"a brand new passphrase"}, "confirm_password": {"a brand new passphrase"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "not your current password") {
		t.Fatalf("wrong current password: %d\n%s", resp.StatusCode, body)
	}
	resp, body = b.act(page, "password", url.Values{"current_password": {"correct horse battery"}, "new_password": {"a brand new passphrase"}, "confirm_password": {"another"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "differ") {
		t.Fatalf("confirmation differs: %d\n%s", resp.StatusCode, body)
	}
	resp, body = b.act(page, "password", url.Values{"current_password": {"correct horse battery"}, "new_password": {"a brand new passphrase"}, "confirm_password": {"a brand new passphrase"}})
	wantDone(t, resp, body, "password")
	u, err = e.st.Users().Get(t.Context(), tenantID, alice.ID)
	must(t, err)
	if ok, _ := password.Verify(u.PasswordHash, "a brand new passphrase"); !ok {
		t.Fatal("the new password does not verify")
	}
	// Still signed in (no sign-out asked).
	b.accountPage()
}

func TestAccountFactors(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", "correct horse battery", model.UserActive)
	b := e.accountIn("alice", "correct horse battery")
	page := b.accountPage()

	resp, enrol := b.act(page, "mfa/totp", url.Values{"name": {"Phone"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(enrol, `src="data:image/png;base64,`) {
		t.Fatalf("enrol: %d\n%s", resp.StatusCode, enrol)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src data:;") || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("enrolment page: CSP %q, Cache-Control %q", csp, resp.Header.Get("Cache-Control"))
	}
	accessible(t, enrol)
	m := codeSecret.FindStringSubmatch(enrol)
	if m == nil {
		t.Fatalf("no secret on the enrolment page:\n%s", enrol)
	}
	secret, factor := m[1], hiddenOf("factor").FindStringSubmatch(enrol)[1]

	// A wrong code: the page again, the factor pending.
	resp, body := b.act(enrol, "mfa/confirm", url.Values{"factor": {factor}, "code": {mfatest.TOTPCode(secret, e.clock.Now().Add(-time.Hour))}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "The code is not valid") || !strings.Contains(body, "Not set up yet") {
		t.Fatalf("wrong code: %d\n%s", resp.StatusCode, body)
	}
	if strings.Contains(body, secret) {
		t.Fatal("the secret is shown again after the enrolment page")
	}
	resp, codes := b.act(enrol, "mfa/confirm", url.Values{"factor": {factor}, "code": {mfatest.TOTPCode(secret, e.clock.Now())}})
	if resp.StatusCode != http.StatusOK || len(codeItem.FindAllString(codes, -1)) != 10 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("confirm: %d\n%s", resp.StatusCode, codes)
	}
	evs := e.events(model.EventMFAEnrolled)
	if len(evs) != 1 || evs[0].Subject != alice.ID || !strings.Contains(string(evs[0].Details), `"via":"account"`) || strings.Contains(string(evs[0].Details), secret) {
		t.Fatalf("mfa.enrolled = %+v", evs)
	}

	// The account has a second factor now, and this session has not
	// passed one: the page sends the browser to the second-factor step.
	resp, _ = b.get("/account/")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != e.issuer+"/mfa?return=%2Faccount%2F" {
		t.Fatalf("a session without a second factor: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The second-factor page records it on the session.
	must(t, e.st.Sessions().SetAMR(t.Context(), tenantID, b.sessionOf(), []string{model.AMRPassword, model.AMROTP, model.AMRMulti}))
	page = b.accountPage()
	if !strings.Contains(page, "10 unused recovery codes left") || !strings.Contains(page, "Phone") {
		t.Fatalf("after enrolment:\n%s", page)
	}
	accessible(t, page)

	resp, body = b.act(page, "mfa/rename", url.Values{"factor": {factor}, "name": {strings.Repeat("x", 65)}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "The name must be 1–64 characters") {
		t.Fatalf("long name: %d\n%s", resp.StatusCode, body)
	}
	resp, body = b.act(page, "mfa/rename", url.Values{"factor": {factor}, "name": {"Old phone"}})
	wantDone(t, resp, body, "renamed")

	resp, fresh := b.act(page, "mfa/recovery-codes", url.Values{})
	newCodes := codeItem.FindAllStringSubmatch(fresh, -1)
	if resp.StatusCode != http.StatusOK || len(newCodes) != 10 || strings.Contains(codes, newCodes[0][1]) {
		t.Fatalf("regenerate: %d\n%s", resp.StatusCode, fresh)
	}

	// Under a required policy the last factor stays.
	tn, err := e.st.Tenants().Get(t.Context(), tenantID)
	must(t, err)
	tn.MFAPolicy = model.MFARequired
	tn, err = e.st.Tenants().Update(t.Context(), tn)
	must(t, err)
	e.cat.Invalidate(tenantID)
	page = b.accountPage()
	if !strings.Contains(page, "This service requires one.") {
		t.Error("the page does not say the policy requires a factor")
	}
	resp, body = b.act(page, "mfa/remove", url.Values{"factor": {factor}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "This is your last second factor") {
		t.Fatalf("remove the last: %d\n%s", resp.StatusCode, body)
	}
	tn.MFAPolicy = model.MFAOptional
	_, err = e.st.Tenants().Update(t.Context(), tn)
	must(t, err)
	e.cat.Invalidate(tenantID)
	resp, body = b.act(page, "mfa/remove", url.Values{"factor": {factor}})
	wantDone(t, resp, body, "removed")
	if page = b.accountPage(); !strings.Contains(page, "You have no second factor") || strings.Contains(page, "Recovery codes") {
		t.Fatalf("after removing:\n%s", page)
	}
	for typ, n := range map[string]int{model.EventMFARenamed: 1, model.EventMFARecoveryCodes: 1, model.EventMFARemoved: 1} {
		if evs := e.events(typ); len(evs) != n || !strings.Contains(string(evs[0].Details), `"via":"account"`) {
			t.Errorf("%s: %+v", typ, evs)
		}
	}
}

func TestAccountSessionsAndApplications(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", "correct horse battery", model.UserActive)
	here := e.accountIn("alice", "correct horse battery")
	there := e.accountIn("alice", "correct horse battery")
	there.header.Set("User-Agent", "Phone browser/1.0")
	there.accountPage()
	page := here.accountPage()
	if n := strings.Count(page, `name="session"`); n != 2 || strings.Count(page, "This device") != 1 {
		t.Fatalf("%d sessions listed:\n%s", n, page)
	}
	// The other session's form is the one whose button says End session.
	sessions := regexp.MustCompile(`(?s)name="session" value="([^"]+)">\s*<button[^>]*>(Sign out|End session)</button>`).FindAllStringSubmatch(page, -1)
	var other string
	for _, s := range sessions {
		if s[2] == "End session" {
			other = s[1]
		}
	}
	if other == "" {
		t.Fatalf("no other session to end:\n%s", page)
	}
	resp, body := here.act(page, "sessions/end", url.Values{"session": {other}})
	wantDone(t, resp, body, "ended")
	if resp, _ := there.get("/account/"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "/login?return=") {
		t.Fatalf("the ended session still opens the page: %d", resp.StatusCode)
	}
	if evs := e.events(model.EventLogout); len(evs) != 1 || !strings.Contains(string(evs[0].Details), `"via":"account"`) {
		t.Fatalf("logout = %+v", evs)
	}
	resp, body = here.act(page, "sessions/end", url.Values{"session": {other}})
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("ending it again: %d\n%s", resp.StatusCode, body)
	}

	// Withdraw banking-spa: the consent and its refresh tokens go.
	_, err := e.st.Consents().Grant(t.Context(), tenantID, alice.ID, clientID, []string{"openid", "read:transactions"})
	must(t, err)
	now := e.clock.Now()
	rt := model.RefreshToken{TenantID: tenantID, Hash: strings.Repeat("ab", 32), FamilyID: "fam-1", ClientID: clientID, UserID: alice.ID,
		Scopes: []string{"openid", "offline_access"}, Audience: "api.banking.example.com", AuthTime: now, CreatedAt: now,
		ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(24 * time.Hour)}
	must(t, e.st.RefreshTokens().Create(t.Context(), rt))
	page = here.accountPage()
	resp, body = here.act(page, "apps/withdraw", url.Values{"client_id": {clientID}})
	wantDone(t, resp, body, "withdrawn")
	if cs, err := e.st.Consents().ListByUser(t.Context(), tenantID, alice.ID); err != nil || len(cs) != 0 {
		t.Fatalf("consents after withdrawal: %v %v", cs, err)
	}
	got, err := e.st.RefreshTokens().Get(t.Context(), tenantID, rt.Hash)
	must(t, err)
	if !got.Revoked {
		t.Fatal("the application's refresh token survived the withdrawal")
	}
	evs := e.events(model.EventConsentRevoked)
	if len(evs) != 1 || evs[0].ClientID != clientID || evs[0].ActorID != alice.ID {
		t.Fatalf("consent.revoked = %+v", evs)
	}
	var d map[string]any
	must(t, json.Unmarshal(evs[0].Details, &d))
	if d["via"] != "account" || d["refresh_families_revoked"] != float64(1) {
		t.Fatalf("consent.revoked details = %v", d)
	}
	if page = here.accountPage(); !strings.Contains(page, html.EscapeString("No application holds access you granted.")) {
		t.Fatalf("after withdrawal:\n%s", page)
	}

	// Signing out here ends this session and clears the cookie.
	own := regexp.MustCompile(`name="session" value="([^"]+)">\s*<button[^>]*>Sign out`).FindStringSubmatch(page)
	resp, body = here.act(page, "sessions/end", url.Values{"session": {own[1]}})
	if resp.StatusCode != http.StatusSeeOther || here.cookie(sessionCookie()) != nil {
		t.Fatalf("sign out: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := here.get("/account/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after signing out: %d", resp.StatusCode)
	}
}

// The consent page's "withdraw later" leads to the account page (a link
// relative to the page, so to this tenant's).
func TestConsentPageLinksTheAccountPage(t *testing.T) {
	e := newEnv(t)
	e.user("alice", "correct horse battery", model.UserActive)
	b, id := consentFlow(t, e, "openid read:transactions", []string{"openid", "read:transactions"})
	_, page := b.get("/consent?request=" + id)
	m := regexp.MustCompile(`You can withdraw this access later, on <a href="([^"]+)">`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no link to the account page:\n%s", page)
	}
	base, _ := url.Parse(e.issuer + "/consent")
	ref, _ := url.Parse(m[1])
	if got := base.ResolveReference(ref).String(); got != e.issuer+"/account/" {
		t.Fatalf("the link leads to %s", got)
	}
}

func TestAccountNamesDevices(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0":                                                        "Firefox on Windows",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1": "Safari on iOS",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36":                   "Chrome on Android",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0":            "Edge on macOS",
		"Go-http-client/1.1":    "Go-http-client/1.1",
		"":                      "Unknown browser",
		strings.Repeat("x", 80): strings.Repeat("x", 59) + "…",
	} {
		if got := login.DeviceName(ua); got != want {
			t.Errorf("DeviceName(%.40q) = %q, want %q", ua, got, want)
		}
	}
}

// setPolicy sets the tenant's MFA policy.
func (e *env) setPolicy(p model.MFAPolicy) {
	e.t.Helper()
	tn, err := e.st.Tenants().Get(e.t.Context(), tenantID)
	must(e.t, err)
	tn.MFAPolicy = p
	_, err = e.st.Tenants().Update(e.t.Context(), tn)
	must(e.t, err)
	e.cat.Invalidate(tenantID)
}

// confirmedTOTP gives u a confirmed authenticator app and returns its
// secret; the clock moves on a step, so the next code is not a replay.
func (e *env) confirmedTOTP(u model.User) string {
	e.t.Helper()
	actor := admin.Actor{Type: model.ActorUser, ID: u.ID}
	enr, err := e.admin.EnrolTOTP(e.t.Context(), actor, tenantID, "Phone")
	must(e.t, err)
	_, err = e.admin.ConfirmTOTP(e.t.Context(), actor, tenantID, enr.FactorID, mfatest.TOTPCode(enr.Secret, e.clock.Now()))
	must(e.t, err)
	e.clock.Advance(30 * time.Second)
	return enr.Secret
}

// Under the tenant policy off a user's factor is not asked at sign-in, but
// it still guards what only a second factor unlocks (a step-up). The
// account page manages the factors themselves, so a session that has not
// passed one may not use it whatever the policy: with the password alone,
// anyone could make new recovery codes (or add an authenticator app of
// their own, or remove the user's) and pass the step-up with them.
func TestAccountAsksForTheFactorUnderPolicyOff(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", "correct horse battery", model.UserActive)
	secret := e.confirmedTOTP(alice)
	e.setPolicy(model.MFAOff)
	b := e.accountIn("alice", "correct horse battery")
	toMFA := e.issuer + "/mfa?return=%2Faccount%2F"

	if resp, _ := b.get("/account/"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != toMFA {
		t.Fatalf("GET /account/ with the password alone: %d %q, want 303 to %s", resp.StatusCode, resp.Header.Get("Location"), toMFA)
	}
	resp, body := b.post("/account/mfa/recovery-codes", url.Values{})
	if resp.StatusCode != http.StatusSeeOther || codeItem.MatchString(body) {
		t.Fatalf("new recovery codes with the password alone: %d\n%s", resp.StatusCode, body)
	}
	if evs := e.events(model.EventMFARecoveryCodes); len(evs) != 0 {
		t.Fatalf("recovery codes regenerated: %+v", evs)
	}

	// The second-factor page asks for the factor (no loop back to the
	// account page), and it cannot be skipped.
	resp, body = b.get("/mfa?return=/account/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="action" value="totp"`) || strings.Contains(body, `value="skip"`) {
		t.Fatalf("GET /mfa?return=/account/: %d %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	resp, body = b.post("/mfa", url.Values{"return": {"/account/"}, "csrf": {csrf(t, body)}, "action": {"totp"},
		"code": {mfatest.TOTPCode(secret, e.clock.Now())}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != e.issuer+"/account/" {
		t.Fatalf("the right code: %d %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	b.accountPage()
}
