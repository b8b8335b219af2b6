package login_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/login"
	"github.com/intelliauth/intelliauth/internal/mfa/mfatest"
	"github.com/intelliauth/intelliauth/internal/model"
)

// newPasskeyEnv is newEnv with the tenant's issuer on "localhost" rather
// than 127.0.0.1: browsers (and go-webauthn) refuse an IP address as a
// WebAuthn relying party.
func newPasskeyEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	iss := strings.Replace(e.issuer, "127.0.0.1", "localhost", 1)
	_, err := e.admin.UpdateTenant(t.Context(), admin.CLI(), tenantID, admin.TenantUpdate{Issuer: &iss})
	must(t, err)
	e.issuer = iss
	e.cat.Invalidate(tenantID)
	return e
}

// origin is the issuer's origin, which a browser puts in the client data.
func (e *env) origin() string {
	u, _ := url.Parse(e.issuer)
	return u.Scheme + "://" + u.Host
}

// authenticator is a software authenticator for the tenant's pages.
func (e *env) authenticator() *mfatest.Authenticator {
	return mfatest.NewAuthenticator(e.origin(), "localhost")
}

// registerPasskey registers a for u through the admin use-cases (the
// account page's and /api/v1's) and returns the factor's ID.
func (e *env) registerPasskey(u model.User, a *mfatest.Authenticator) string {
	e.t.Helper()
	as := admin.Actor{Type: model.ActorUser, ID: u.ID}
	opts, id, err := e.admin.BeginPasskeyRegistration(e.t.Context(), as, tenantID)
	must(e.t, err)
	resp, err := a.Register(opts)
	must(e.t, err)
	reg, err := e.admin.FinishPasskeyRegistration(e.t.Context(), as, tenantID, id, "Key", resp)
	must(e.t, err)
	return reg.Factor.ID
}

// ceremonyButton is what the page's passkey button carries for the script.
type ceremonyButton struct {
	begin, finish, target, csrf string
	stepUp                      bool
}

var buttonPattern = regexp.MustCompile(`<button type="button"[^>]* id="webauthn-start"([^>]*)>`)

func attr(tag, name string) string {
	m := regexp.MustCompile(` ` + name + `="([^"]*)"`).FindStringSubmatch(tag)
	if m == nil {
		return ""
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

// button returns the passkey button of a page, or fails.
func button(t *testing.T, body string) ceremonyButton {
	t.Helper()
	m := buttonPattern.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the page offers no passkey:\n%s", body)
	}
	return ceremonyButton{begin: attr(m[1], "data-begin"), finish: attr(m[1], "data-finish"), target: attr(m[1], "data-target"),
		csrf: attr(m[1], "data-csrf"), stepUp: attr(m[1], "data-step-up") == "1"}
}

// answer is a ceremony request's answer.
type answer struct {
	status int
	body   map[string]json.RawMessage
	header http.Header
}

func (a answer) str(k string) string {
	var s string
	_ = json.Unmarshal(a.body[k], &s)
	return s
}

// postJSON sends a ceremony request as the page's script does.
func (b *browser) postJSON(path, csrf string, body any) answer {
	b.e.t.Helper()
	raw, err := json.Marshal(body)
	must(b.e.t, err)
	u := b.e.issuer + "/" + path // relative to a page at the issuer's top
	if strings.HasPrefix(path, "/") {
		u = b.e.origin() + path
	}
	req, err := http.NewRequestWithContext(b.e.t.Context(), http.MethodPost, u, bytes.NewReader(raw))
	must(b.e.t, err)
	req.Header.Set("Content-Type", "application/json")
	if csrf != "" {
		req.Header.Set(login.CSRFHeader, csrf)
	}
	resp, text := b.do(req)
	out := answer{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal([]byte(text), &out.body); err != nil {
		b.e.t.Fatalf("POST %s: %d, not JSON: %q", path, resp.StatusCode, text)
	}
	return out
}

// begin starts the ceremony of a page's button.
func (b *browser) begin(btn ceremonyButton) answer {
	b.e.t.Helper()
	body := map[string]string{"target": btn.target}
	if btn.stepUp {
		body["step_up"] = "1"
	}
	return b.postJSON(btn.begin, btn.csrf, body)
}

// finish answers a ceremony begun with options, by respond.
func (b *browser) finish(btn ceremonyButton, begun answer, respond func([]byte) ([]byte, error)) answer {
	b.e.t.Helper()
	if begun.status != http.StatusOK {
		b.e.t.Fatalf("begin: %d %s", begun.status, begun.body)
	}
	cred, err := respond(begun.body["options"])
	must(b.e.t, err)
	body := map[string]any{"target": btn.target, "challenge_id": begun.str("challenge_id"), "credential": json.RawMessage(cred)}
	if btn.stepUp {
		body["step_up"] = "1" // as the script sends it with every request of the button
	}
	return b.postJSON(btn.finish, btn.csrf, body)
}

// session returns the browser's stored session.
func (b *browser) session() model.Session {
	b.e.t.Helper()
	c := b.cookie(sessionCookie())
	if c == nil {
		b.e.t.Fatal("no session cookie")
	}
	s, err := b.e.st.Sessions().Get(b.e.t.Context(), tenantID, login.SessionIDOf(c.Value))
	must(b.e.t, err)
	return s
}

// factorEvents are the login.second_factor events' details.
func (e *env) factorEvents() []map[string]any {
	e.t.Helper()
	var out []map[string]any
	for _, ev := range e.events(model.EventLoginSecondFactor) {
		var d map[string]any
		must(e.t, json.Unmarshal(ev.Details, &d))
		out = append(out, d)
	}
	return out
}

// passwordThenMFA signs in with a password for a new request and returns
// the browser at the second-factor page, with its passkey button.
func passwordThenMFA(t *testing.T, e *env, who string) (*browser, string, ceremonyButton) {
	t.Helper()
	id := e.request(nil)
	b := e.browser()
	resp, body := b.signIn(id, who, "correct horse battery")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d\n%s", resp.StatusCode, body)
	}
	resp, body = b.get("/mfa?request=" + id)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /mfa: %d\n%s", resp.StatusCode, body)
	}
	return b, id, button(t, body)
}

func TestPasskeyAsSecondFactor(t *testing.T) {
	e := newPasskeyEnv(t)
	alice := e.user("alice", "correct horse battery", model.UserActive)
	key := e.authenticator()
	factorID := e.registerPasskey(alice, key)

	id := e.request(nil)
	b := e.browser()
	b.signIn(id, "alice", "correct horse battery")
	resp, body := b.get("/mfa?request=" + id)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /mfa: %d\n%s", resp.StatusCode, body)
	}
	// The page loads the tenant's script, and its CSP allows exactly that.
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "connect-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q: want script-src 'self' and connect-src 'self', nothing inline", csp)
	}
	if !regexp.MustCompile(`<script src="/t/`+tenantID+`/assets/webauthn\.js\?v=[A-Za-z0-9_-]+" defer></script>`).MatchString(body) ||
		regexp.MustCompile(`<script>|<script [^s]`).MatchString(body) || strings.Contains(body, "onclick") {
		t.Errorf("the page must load the script from the tenant's assets, with nothing inline:\n%s", body)
	}
	btn := button(t, body)
	if btn.begin != "mfa/webauthn/begin" || btn.target != id || btn.stepUp {
		t.Fatalf("button %+v", btn)
	}

	begun := b.begin(btn)
	if begun.status != http.StatusOK || begun.str("challenge_id") == "" || !bytes.Contains(begun.body["options"], []byte(`"allowCredentials"`)) {
		t.Fatalf("begin: %d %s", begun.status, begun.body)
	}
	if cc := begun.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("begin answer Cache-Control %q, want no-store", cc)
	}
	done := b.finish(btn, begun, key.Assert)
	if done.status != http.StatusOK || done.str("next") != e.resumeURL(id) {
		t.Fatalf("finish: %d %s, want next %s", done.status, done.body, e.resumeURL(id))
	}
	// RFC 8176: the session now records the key (hwk: a device-bound key),
	// the user's verification (user) and the second factor (mfa).
	if got := b.session().AMR; !slices.Equal(got, []string{"pwd", "hwk", "user", "mfa"}) {
		t.Errorf("session amr %v, want [pwd hwk user mfa]", got)
	}
	evs := e.factorEvents()
	if len(evs) != 1 || evs[0]["factor"] != "webauthn" || evs[0]["result"] != "success" || evs[0]["request"] != id {
		t.Errorf("login.second_factor events %v", evs)
	}
	f, err := e.st.Factors().Get(t.Context(), tenantID, alice.ID, factorID)
	must(t, err)
	if f.Counter != 2 {
		t.Errorf("the key's counter is %d, want 2", f.Counter)
	}
	// The page has nothing more to ask.
	if resp, _ := b.get("/mfa?request=" + id); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("GET /mfa after the passkey: %d, want 303 on", resp.StatusCode)
	}
}

// A ceremony is taken once: an answer refused, or replayed into another
// sign-in, finds no challenge; an older sign counter (a clone) is refused
// and audited; an answer for another origin is refused.
func TestPasskeySecondFactorRefusals(t *testing.T) {
	e := newPasskeyEnv(t)
	alice := e.user("alice", "correct horse battery", model.UserActive)
	key := e.authenticator()
	e.registerPasskey(alice, key)

	b, _, btn := passwordThenMFA(t, e, "alice")
	// WebAuthn §7.2 step 13: the client data's origin is the issuer's.
	begun := b.begin(btn)
	if got := b.finish(btn, begun, fromOrigin(key, "http://evil.localhost:1234")); got.status != http.StatusUnauthorized || got.str("error") == "" {
		t.Fatalf("another origin: %d %s, want 401 with a sentence", got.status, got.body)
	}
	// The refused answer spent the ceremony: a right answer to it is too late.
	if got := b.finish(btn, begun, key.Assert); got.status != http.StatusUnauthorized || !strings.Contains(got.str("error"), "expired or was already used") {
		t.Fatalf("the same ceremony again: %d %s", got.status, got.body)
	}
	// A clone: the counter it signs with is not above the stored one.
	stored := uint32(e.firstFactor(alice).Counter)
	got := b.finish(btn, b.begin(btn), func(o []byte) ([]byte, error) { return key.AssertWithCounter(o, stored) })
	if got.status != http.StatusUnauthorized || !strings.Contains(got.str("error"), "copied") {
		t.Fatalf("WebAuthn §6.1.1 cloned key: %d %s", got.status, got.body)
	}
	if s := b.session(); model.HasMFA(s.AMR) {
		t.Fatalf("a refused key upgraded the session: %v", s.AMR)
	}
	var reasons []string
	for _, d := range e.factorEvents() {
		if d["result"] == "failure" && d["factor"] == "webauthn" {
			reasons = append(reasons, fmt.Sprint(d["reason"]))
		}
	}
	if want := []string{admin.ReasonInvalid, admin.ReasonExpiredChallenge, admin.ReasonCloned}; !sameSet(reasons, want) {
		t.Errorf("failures audited %v, want %v", reasons, want)
	}

	// A good answer captured in one sign-in is worthless in another.
	begun = b.begin(btn)
	captured := b.finish(btn, begun, key.Assert)
	if captured.status != http.StatusOK {
		t.Fatalf("finish: %d %s", captured.status, captured.body)
	}
	b2, _, btn2 := passwordThenMFA(t, e, "alice")
	replay := b2.postJSON(btn2.finish, btn2.csrf, map[string]any{"target": btn2.target, "challenge_id": begun.str("challenge_id"), "credential": json.RawMessage(mustAnswer(t, key, begun))})
	if replay.status != http.StatusUnauthorized {
		t.Fatalf("a replayed ceremony in another sign-in: %d %s", replay.status, replay.body)
	}
	if model.HasMFA(b2.session().AMR) {
		t.Fatal("a replay upgraded the session")
	}
}

func mustAnswer(t *testing.T, a *mfatest.Authenticator, begun answer) []byte {
	t.Helper()
	cred, err := a.Assert(begun.body["options"])
	must(t, err)
	return cred
}

// firstFactor is the user's first factor as stored.
func (e *env) firstFactor(u model.User) model.Factor {
	e.t.Helper()
	fs, err := e.st.Factors().List(e.t.Context(), tenantID, u.ID)
	must(e.t, err)
	if len(fs) == 0 {
		e.t.Fatal("no factor")
	}
	return fs[0]
}

// fromOrigin answers with a's credential from a page at origin (a phishing
// site relaying the ceremony).
func fromOrigin(a *mfatest.Authenticator, origin string) func([]byte) ([]byte, error) {
	return func(o []byte) ([]byte, error) {
		own := a.Origin
		a.Origin = origin
		defer func() { a.Origin = own }()
		return a.Assert(o)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// The ceremony requests are the page's: without its CSRF token in the
// header, with a form's content type, or marked cross-site, they are
// refused before anything is looked at.
func TestPasskeyCeremoniesNeedThePagesCSRFToken(t *testing.T) {
	e := newPasskeyEnv(t)
	alice := e.user("alice", "correct horse battery", model.UserActive)
	e.registerPasskey(alice, e.authenticator())
	b, id, btn := passwordThenMFA(t, e, "alice")

	if got := b.postJSON(btn.begin, "", map[string]string{"target": id}); got.status != http.StatusForbidden || got.str("error") == "" {
		t.Errorf("no token: %d %s, want 403 with a sentence", got.status, got.body)
	}
	if got := b.postJSON(btn.begin, btn.csrf, map[string]string{"target": e.request(nil)}); got.status != http.StatusForbidden {
		t.Errorf("another request's target: %d, want 403", got.status)
	}
	_, loginPage := b.get("/login?request=" + id)
	if got := b.postJSON(btn.begin, csrf(t, loginPage), map[string]string{"target": id}); got.status != http.StatusForbidden {
		t.Errorf("the sign-in form's token: %d, want 403", got.status)
	}
	b.header.Set("Sec-Fetch-Site", "cross-site")
	if got := b.begin(btn); got.status != http.StatusForbidden {
		t.Errorf("Sec-Fetch-Site: cross-site: %d, want 403", got.status)
	}
	b.header.Del("Sec-Fetch-Site")
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.issuer+"/"+btn.begin, strings.NewReader(url.Values{"target": {id}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(login.CSRFHeader, btn.csrf)
	if resp, _ := b.do(req); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("a form post: %d, want 415", resp.StatusCode)
	}
	if got := b.begin(btn); got.status != http.StatusOK {
		t.Errorf("the page's own request: %d %s", got.status, got.body)
	}
}

// Passwordless: the login page's passkey signs the credential's user in,
// exactly as a password does (a new session, the request bound), with the
// authenticator's methods and "mfa" (the passkey verified the user).
func TestPasswordlessSignInWithADiscoverablePasskey(t *testing.T) {
	e := newPasskeyEnv(t)
	alice := e.user("alice", "correct horse battery", model.UserActive)
	e.user("bob", "correct horse battery", model.UserActive)
	key := e.authenticator()
	key.BackupEligible = true // a synced passkey: swk
	e.registerPasskey(alice, key)

	id := e.request(nil)
	b := e.browser()
	b.setCookie(sessionCookie(), "planted-by-an-attacker-0123456789abcdefghijklm")
	resp, body := b.get("/login?request=" + id)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Sign in with a passkey") {
		t.Fatalf("GET /login: %d\n%s", resp.StatusCode, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("login page CSP %q does not allow its script", csp)
	}
	btn := button(t, body)
	if btn.begin != "login/webauthn/begin" || btn.target != id || btn.csrf != csrf(t, body) {
		t.Fatalf("button %+v", btn)
	}
	begun := b.begin(btn)
	if bytes.Contains(begun.body["options"], []byte(`"allowCredentials"`)) {
		t.Errorf("discoverable options name credentials: %s", begun.body["options"])
	}
	done := b.finish(btn, begun, key.Assert)
	if done.status != http.StatusOK || done.str("next") != e.resumeURL(id) {
		t.Fatalf("finish: %d %s", done.status, done.body)
	}
	s := b.session()
	if s.UserID != alice.ID || !slices.Equal(s.AMR, []string{"swk", "user", "mfa"}) {
		t.Errorf("session of %s with amr %v, want alice with [swk user mfa] (RFC 8176)", s.UserID, s.AMR)
	}
	if c := b.cookie(sessionCookie()); c.Value == "planted-by-an-attacker-0123456789abcdefghijklm" {
		t.Error("the planted session cookie was kept (session fixation)")
	}
	ar := e.authRequest(id)
	if ar.UserID != alice.ID || ar.SessionID != s.ID || ar.AuthTime.IsZero() {
		t.Errorf("request bound to %q/%q, want alice's new session", ar.UserID, ar.SessionID)
	}
	evs := e.events(model.EventLoginSucceeded)
	if len(evs) != 1 || evs[0].Subject != alice.ID {
		t.Fatalf("login.succeeded %+v", evs)
	}
	var d map[string]any
	must(t, json.Unmarshal(evs[0].Details, &d))
	if d["method"] != "passkey" {
		t.Errorf("login.succeeded details %v, want method passkey", d)
	}
	// A sign-in for the account page goes back there.
	b2 := e.browser()
	_, body = b2.get("/login?return=" + url.QueryEscape(login.AccountPath))
	btn = button(t, body)
	if btn.target != "return:"+login.AccountPath {
		t.Fatalf("local target %q", btn.target)
	}
	if done := b2.finish(btn, b2.begin(btn), key.Assert); done.status != http.StatusOK || done.str("next") != e.issuer+login.AccountPath {
		t.Fatalf("local sign-in: %d %s", done.status, done.body)
	}
}

func TestPasswordlessRefusals(t *testing.T) {
	e := newPasskeyEnv(t)
	alice := e.user("alice", "correct horse battery", model.UserActive)
	key := e.authenticator()
	e.registerPasskey(alice, key)
	id := e.request(nil)
	b := e.browser()
	_, body := b.get("/login?request=" + id)
	btn := button(t, body)

	cases := []struct {
		name    string
		respond func([]byte) ([]byte, error)
		reason  string
	}{
		{"a key registered nowhere", e.authenticator().Assert, admin.ReasonUnknownCredential},
		{"WebAuthn §7.2 step 13: another origin", fromOrigin(key, "https://evil.example"), admin.ReasonInvalid},
		{"WebAuthn §6.1.1: a clone's counter", func(o []byte) ([]byte, error) { return key.AssertWithCounter(o, 1) }, admin.ReasonCloned},
	}
	// The stray key needs a credential of its own.
	cases[0].respond = func(o []byte) ([]byte, error) {
		stray := e.authenticator()
		if _, err := stray.Register([]byte(`{"publicKey":{"rp":{"id":"localhost"},"user":{"id":"dXNyX3g"},"challenge":"AA","pubKeyCredParams":[{"alg":-7}]}}`)); err != nil {
			return nil, err
		}
		return stray.Assert(o)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := b.finish(btn, b.begin(btn), c.respond)
			if got.status != http.StatusUnauthorized || got.str("error") == "" {
				t.Fatalf("%d %s, want 401 with a sentence", got.status, got.body)
			}
			if b.cookie(sessionCookie()) != nil {
				t.Fatal("a refused passkey opened a session")
			}
			evs := e.events(model.EventLoginFailed)
			var d map[string]any
			must(t, json.Unmarshal(evs[0].Details, &d))
			if d["reason"] != c.reason || d["method"] != "passkey" || d["request"] != id {
				t.Errorf("login.failed details %v, want reason %s, method passkey", d, c.reason)
			}
		})
	}
	// A challenge is taken once: the same answer twice.
	begun := b.begin(btn)
	cred := mustAnswer(t, key, begun)
	send := func() answer {
		return b.postJSON(btn.finish, btn.csrf, map[string]any{"target": btn.target, "challenge_id": begun.str("challenge_id"), "credential": json.RawMessage(cred)})
	}
	if got := send(); got.status != http.StatusOK {
		t.Fatalf("first use: %d %s", got.status, got.body)
	}
	if got := send(); got.status != http.StatusUnauthorized || !strings.Contains(got.str("error"), "expired or was already used") {
		t.Fatalf("replay: %d %s, want 401", got.status, got.body)
	}
	// A disabled user's passkey signs nobody in.
	_, err := e.admin.DisableUser(t.Context(), admin.CLI(), tenantID, alice.ID)
	must(t, err)
	b3 := e.browser()
	_, body = b3.get("/login?request=" + id)
	btn = button(t, body)
	if got := b3.finish(btn, b3.begin(btn), key.Assert); got.status != http.StatusUnauthorized || b3.cookie(sessionCookie()) != nil {
		t.Fatalf("disabled user: %d %s", got.status, got.body)
	}
	if evs := e.events(model.EventLoginFailed); evs[0].Subject != alice.ID {
		t.Errorf("the disabled user's failure names %q", evs[0].Subject)
	}
}

// The script is the tenant's, cacheable, and revalidated by its ETag; a
// tenant on an IP address (where browsers refuse passkeys) offers none.
func TestWebAuthnScriptAndWhereItIsOffered(t *testing.T) {
	e := newPasskeyEnv(t)
	b := e.browser()
	resp, js := b.get(login.AssetsPath + "webauthn.js")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "max-age=") || resp.Header.Get("ETag") == "" ||
		!strings.Contains(js, "navigator.credentials.get") || !strings.Contains(js, "X-CSRF-Token") {
		t.Fatalf("script: %d %v\n%.200s", resp.StatusCode, resp.Header, js)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.issuer+login.AssetsPath+"webauthn.js", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	if resp, _ := b.do(req); resp.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %d, want 304", resp.StatusCode)
	}

	ip := newEnv(t) // issuer on 127.0.0.1
	resp, body := ip.browser().get("/login?request=" + ip.request(nil))
	if strings.Contains(body, "passkey") || strings.Contains(body, "<script") || strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src") {
		t.Errorf("an IP issuer's login page offers passkeys:\n%s", body)
	}
}

// The account page registers a passkey: the script's begin (JSON, the
// page's token in the header), then the page's own form carries the
// authenticator's answer and a name; a first factor's answer is the
// recovery codes, shown once.
func TestAccountRegistersAPasskey(t *testing.T) {
	e := newPasskeyEnv(t)
	alice := e.user("alice", "correct horse battery", model.UserActive)
	b := e.accountIn("alice", "correct horse battery")
	page := b.accountPage()
	accessible(t, page)
	btn := button(t, page)
	if btn.begin != "/t/"+tenantID+"/account/mfa/webauthn/begin" || !strings.Contains(page, `action="/t/`+tenantID+`/account/mfa/webauthn/finish" data-finish-form`) {
		t.Fatalf("button %+v, or no finishing form:\n%s", btn, page)
	}
	resp, _ := b.get("/account/")
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "form-action 'self'") {
		t.Errorf("account page CSP %q", csp)
	}

	register := func(key *mfatest.Authenticator, name string) (*http.Response, string) {
		t.Helper()
		begun := b.postJSON(btn.begin, btn.csrf, map[string]string{})
		if begun.status != http.StatusOK {
			t.Fatalf("begin: %d %s", begun.status, begun.body)
		}
		cred, err := key.Register(begun.body["options"])
		must(t, err)
		return b.act(page, "mfa/webauthn/finish", url.Values{"challenge_id": {begun.str("challenge_id")}, "name": {name}, "credential": {string(cred)}})
	}
	laptop := e.authenticator()
	resp, body := register(laptop, "Laptop")
	if resp.StatusCode != http.StatusOK || strings.Count(body, "<li><code>") != 10 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("first passkey: %d, want the 10 recovery codes, no-store:\n%s", resp.StatusCode, body)
	}
	// Enrolling does not raise the session: the page now asks for the new
	// factor first, which the passkey gives (a local target).
	resp, _ = b.get("/account/")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != e.issuer+"/mfa?return=%2Faccount%2F" {
		t.Fatalf("after enrolling: %d %q, want the second-factor page", resp.StatusCode, loc)
	}
	_, body = b.get("/mfa?return=%2Faccount%2F")
	mfaBtn := button(t, body)
	if done := b.finish(mfaBtn, b.begin(mfaBtn), laptop.Assert); done.status != http.StatusOK || done.str("next") != e.issuer+"/account/" {
		t.Fatalf("second factor for the account page: %d %s", done.status, done.body)
	}
	page = b.accountPage()
	if !strings.Contains(page, "Laptop") || !strings.Contains(page, "Security key or passkey") {
		t.Errorf("the page does not list the passkey:\n%s", page)
	}
	resp, body = register(e.authenticator(), "Phone")
	wantDone(t, resp, body, "passkey")
	fs, err := e.st.Factors().List(t.Context(), tenantID, alice.ID)
	must(t, err)
	var names []string
	for _, f := range fs {
		if f.Type == model.FactorWebAuthn && f.Confirmed {
			names = append(names, f.Name)
		}
	}
	if !sameSet(names, []string{"Laptop", "Phone"}) {
		t.Fatalf("passkeys %v, want Laptop and Phone", names)
	}
	var via []string
	for _, ev := range e.events(model.EventMFAEnrolled) {
		var d map[string]any
		must(t, json.Unmarshal(ev.Details, &d))
		via = append(via, fmt.Sprint(d["via"]))
	}
	if !slices.Equal(via, []string{"account", "account"}) {
		t.Errorf("mfa.enrolled via %v, want the account page", via)
	}

	// A phishing page's answer is refused on the page, with the reason.
	resp, body = register(mfatest.NewAuthenticator("https://evil.example", "localhost"), "Evil")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "The passkey&#39;s answer could not be verified") {
		t.Errorf("another origin: %d\n%s", resp.StatusCode, body)
	}
	// The begin needs the page's token, and a session.
	if got := b.postJSON(btn.begin, "", map[string]string{}); got.status != http.StatusForbidden {
		t.Errorf("begin without the token: %d", got.status)
	}
	if got := e.browser().postJSON(btn.begin, btn.csrf, map[string]string{}); got.status != http.StatusUnauthorized {
		t.Errorf("begin without a session: %d %s", got.status, got.body)
	}
}

// A step-up (the request asks for a scope that requires a second factor)
// passed with a passkey is recorded as such: login.step_up "passed" with
// the factor, beside login.second_factor.
func TestPasskeyPassesAStepUp(t *testing.T) {
	e := newPasskeyEnv(t)
	alice := e.user("alice", "correct horse battery", model.UserActive)
	key := e.authenticator()
	e.registerPasskey(alice, key)
	id := e.request(func(ar *model.AuthRequest) { ar.Scope = "openid payments:approve" })
	b := e.browser()
	b.signIn(id, "alice", "correct horse battery")
	_, body := b.get("/mfa?request=" + id + "&step_up=1")
	btn := button(t, body)
	if !btn.stepUp {
		t.Fatalf("the step-up page's button does not say so:\n%s", body)
	}
	if done := b.finish(btn, b.begin(btn), key.Assert); done.status != http.StatusOK {
		t.Fatalf("finish: %d %s", done.status, done.body)
	}
	evs := e.events(model.EventLoginStepUp)
	if len(evs) != 1 {
		t.Fatalf("login.step_up events: %d, want 1", len(evs))
	}
	var d map[string]any
	must(t, json.Unmarshal(evs[0].Details, &d))
	if d["outcome"] != "passed" || d["factor"] != "webauthn" || d["request"] != id {
		t.Errorf("login.step_up details %v", d)
	}
}
