package api_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// meScopes are what a self-service app asks for.
const meScopes = "openid me:read me:write me:sessions"

// withMeScopes puts the me:* scopes on banking-spa's and admin-tool's
// allowlists.
func withMeScopes(t *testing.T, e *env) {
	t.Helper()
	for _, c := range []string{e.People.SPA.ID, e.People.AdminTool.ID} {
		if _, err := e.Env.Admin.AddAllowedScopes(t.Context(), admin.CLI(), e.Tenant, c, []string{"me:read", "me:write", "me:sessions"}, 0); err != nil {
			t.Fatal(err)
		}
	}
	e.Server.Catalog().Invalidate(e.Tenant)
}

// signedIn is a user's browser after an authorization-code flow, with the
// token response.
type signedIn struct {
	Browser *servertest.Browser
	Access  string
	ID      string
	Refresh string
}

// signIn runs the authorization-code flow (PKCE S256) in a new browser for
// the platform API's audience, answering the consent page if one shows.
func (e *env) signIn(t *testing.T, c servertest.Client, redirectURI string, u servertest.User, scope string) signedIn {
	t.Helper()
	b := servertest.NewBrowser(t)
	verifier, au := e.authorizeURL(t, c.ID, redirectURI, e.PlatformAudience, scope)
	page := b.SignIn(e.URL, b.Visit(e.URL, au), u.Username, u.Password)
	if page.Location == nil {
		page = b.Consent(e.URL, page, true)
	}
	out := e.tokenRequest(t, c, url.Values{"grant_type": {"authorization_code"}, "code": {page.Location.Query().Get("code")},
		"redirect_uri": {redirectURI}, "code_verifier": {verifier}})
	if out.status != 200 {
		t.Fatalf("code exchange: %d %s", out.status, out.Error)
	}
	return signedIn{Browser: b, Access: out.AccessToken, ID: out.IDToken, Refresh: out.RefreshToken}
}

type tokenOut struct {
	status       int
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
}

func (e *env) tokenRequest(t *testing.T, c servertest.Client, form url.Values) tokenOut {
	t.Helper()
	form.Set("client_id", c.ID)
	req, err := newFormRequest(t, e.Issuer+"/oauth2/token", form.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if c.Secret != "" {
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	}
	resp, err := servertest.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out tokenOut
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	out.status = resp.StatusCode
	return out
}

// sid returns the sid claim of an ID token (unverified: this test's own
// token endpoint issued it).
func sid(t *testing.T, idToken string) string {
	t.Helper()
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", idToken)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(b, &c); err != nil || c.SID == "" {
		t.Fatalf("ID token without sid: %s (%v)", b, err)
	}
	return c.SID
}

// authorizeAgain visits the authorize endpoint in b: it answers with a code
// while b's session lives, and with the login page once it is gone.
func (e *env) authorizeAgain(t *testing.T, b *servertest.Browser, c servertest.Client, redirectURI string) (code bool, page *servertest.Page) {
	t.Helper()
	_, au := e.authorizeURL(t, c.ID, redirectURI, e.PlatformAudience, "openid")
	page = b.Visit(e.URL, au)
	if page.Location != nil && page.Location.Query().Get("code") != "" {
		return true, page
	}
	if f := page.Forms(); len(f) != 1 || f[0].Values["password"] == nil {
		t.Fatalf("authorize answered neither a code nor the login page: %d %v\n%s", page.Status, page.Location, page.Body)
	}
	return false, page
}

type profile struct {
	ID                  string         `json:"id"`
	Username            string         `json:"username"`
	Email               string         `json:"email"`
	EmailVerified       bool           `json:"email_verified"`
	Name                string         `json:"name"`
	Locale              string         `json:"locale"`
	Address             *model.Address `json:"address"`
	PhoneNumber         string         `json:"phone_number"`
	PhoneNumberVerified bool           `json:"phone_number_verified"`
	Version             int64          `json:"version"`
}

func TestMeProfileIsTheTokensUserOnly(t *testing.T) {
	e := newEnv(t)
	withMeScopes(t, e)
	alice := e.signIn(t, e.People.AdminTool, servertest.AdminToolRedirect, e.People.Alice, meScopes)
	bob := e.signIn(t, e.People.AdminTool, servertest.AdminToolRedirect, e.People.Bob, meScopes)

	var a, b profile
	res := e.call(t, "GET", "/me/profile", alice.Access, nil).want(t, 200).decode(t, &a)
	e.call(t, "GET", "/me/profile", bob.Access, nil).want(t, 200).decode(t, &b)
	if a.ID != e.People.Alice.ID || a.Username != "alice" || b.ID != e.People.Bob.ID || !a.EmailVerified {
		t.Fatalf("alice sees %+v, bob sees %+v", a, b)
	}
	if strings.Contains(string(res.Body), "argon2") {
		t.Fatalf("a password hash left the server: %s", res.Body)
	}
	etag := res.Header.Get("ETag")
	if etag != `"v`+strconv.FormatInt(a.Version, 10)+`"` {
		t.Fatalf("ETag %q for version %d", etag, a.Version)
	}

	// RFC 9110 §13.1.1: If-Match required, stale refused.
	e.callInvalid(t, "PATCH", "/me/profile", alice.Access, map[string]any{"name": "Alice"}).want(t, 428)
	e.call(t, "PATCH", "/me/profile", alice.Access, map[string]any{"name": "Alice"}, "If-Match", `"v999"`).want(t, 412)
	// A new email is unverified; the username is not the user's to change.
	res = e.call(t, "PATCH", "/me/profile", alice.Access, map[string]any{"name": "Alice Liddell", "email": "alice@liddell.example",
		"address": map[string]any{"locality": "Oxford", "country": "GB"}}, "If-Match", etag).want(t, 200).decode(t, &a)
	if a.Name != "Alice Liddell" || a.Email != "alice@liddell.example" || a.EmailVerified || a.Address == nil || a.Address.Locality != "Oxford" ||
		res.Header.Get("ETag") == etag {
		t.Fatalf("after PATCH: %+v ETag %s", a, res.Header.Get("ETag"))
	}
	p := e.callInvalid(t, "PATCH", "/me/profile", alice.Access, map[string]any{"username": "queen"}, "If-Match", "*").want(t, 400).problem(t)
	if p.field("username") == "" {
		t.Errorf("username change: %+v", p)
	}
	p = e.call(t, "PATCH", "/me/profile", alice.Access, map[string]any{"email": "bob@example.com"}, "If-Match", "*").want(t, 409).problem(t)
	if !strings.Contains(p.Detail, "taken") {
		t.Errorf("bob's email: %+v", p)
	}
	p = e.call(t, "PATCH", "/me/profile", alice.Access, map[string]any{"email": "not an address"}, "If-Match", "*").want(t, 400).problem(t)
	if p.field("email") == "" {
		t.Errorf("bad email: %+v", p)
	}
	// Bob is untouched, and sees himself only.
	e.call(t, "GET", "/me/profile", bob.Access, nil).want(t, 200).decode(t, &b)
	if b.Email != "bob@example.com" || b.Name != "Bob Brown" {
		t.Fatalf("bob changed: %+v", b)
	}
	// The change is audited as the user.
	var evs auditPage
	e.call(t, "GET", "/audit?type=user.updated&subject="+e.People.Alice.ID, e.token(t, "audit:read"), nil).want(t, 200).decode(t, &evs)
	if len(evs.Items) != 1 || evs.Items[0].Actor.Type != "user" || evs.Items[0].Actor.ID != e.People.Alice.ID {
		t.Fatalf("user.updated = %+v", evs.Items)
	}

	// A client-credentials token has no user: 403 with a reason to act on.
	p = e.call(t, "GET", "/me/profile", e.token(t, "me:read"), nil).want(t, 403).problem(t)
	if p.Error != "forbidden" || !strings.Contains(p.Detail, "user sign-in") {
		t.Errorf("client token: %+v", p)
	}
	// me:read does not write.
	readOnly := e.signIn(t, e.People.AdminTool, servertest.AdminToolRedirect, e.People.Bob, "openid me:read")
	if p := e.call(t, "PATCH", "/me/profile", readOnly.Access, map[string]any{"name": "B"}, "If-Match", "*").want(t, 403).problem(t); p.Scope != "me:write" {
		t.Errorf("me:read token writing: %+v", p)
	}
}

func TestMePasswordNeedsTheCurrentOne(t *testing.T) {
	e := newEnv(t)
	withMeScopes(t, e)
	dora := e.CreateUser(t, e.Tenant, model.User{Username: "dora", Email: "dora@example.com"}, "dora's first passphrase", model.RoleUser)
	s := e.signIn(t, e.People.AdminTool, servertest.AdminToolRedirect, dora, meScopes)
	const next = "dora's second passphrase"

	p := e.call(t, "POST", "/me/password", s.Access, map[string]any{"current_password": "a wrong guess", "new_password": next}).want(t, 400).problem(t)
	if !strings.Contains(p.field("current_password"), "not your current password") {
		t.Fatalf("wrong current password: %+v", p)
	}
	p = e.call(t, "POST", "/me/password", s.Access, map[string]any{"current_password": dora.Password, "new_password": "short"}).want(t, 400).problem(t)
	if p.field("new_password") == "" {
		t.Fatalf("short new password: %+v", p)
	}
	e.call(t, "POST", "/me/password", s.Access, map[string]any{"current_password": dora.Password, "new_password": next}).want(t, 204)

	// The new password signs in; the old one no longer does.
	dora.Password = next
	e.signIn(t, e.People.AdminTool, servertest.AdminToolRedirect, dora, "openid")
	b := servertest.NewBrowser(t)
	_, au := e.authorizeURL(t, e.People.AdminTool.ID, servertest.AdminToolRedirect, e.PlatformAudience, "openid")
	if page := b.SignIn(e.URL, b.Visit(e.URL, au), "dora", "dora's first passphrase"); page.Status != http.StatusUnauthorized {
		t.Fatalf("old password: %d %v", page.Status, page.Location)
	}
}

// OWASP Authentication Cheat Sheet: wrong current passwords are throttled
// with the login page's per-account budget (5 in 15 minutes by default):
// once locked, 429 with Retry-After (RFC 6585 §4), and the login page is
// locked for the account too.
func TestMePasswordThrottledRFC6585(t *testing.T) {
	e := newEnv(t)
	withMeScopes(t, e)
	erin := e.CreateUser(t, e.Tenant, model.User{Username: "erin"}, "erin's first passphrase", model.RoleUser)
	s := e.signIn(t, e.People.AdminTool, servertest.AdminToolRedirect, erin, meScopes)
	body := map[string]any{"current_password": "guess", "new_password": "erin's second passphrase"}
	for range 5 {
		e.call(t, "POST", "/me/password", s.Access, body).want(t, 400)
	}
	body["current_password"] = erin.Password
	res := e.call(t, "POST", "/me/password", s.Access, body).want(t, 429)
	p := res.problem(t)
	if p.Error != "too_many_requests" || !strings.Contains(p.Detail, "locked until") {
		t.Errorf("locked: %+v", p)
	}
	if n, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || n < 1 {
		t.Errorf("Retry-After = %q", res.Header.Get("Retry-After"))
	}
	b := servertest.NewBrowser(t)
	_, au := e.authorizeURL(t, e.People.AdminTool.ID, servertest.AdminToolRedirect, e.PlatformAudience, "openid")
	if page := b.SignIn(e.URL, b.Visit(e.URL, au), "erin", erin.Password); page.Status != http.StatusTooManyRequests {
		t.Errorf("the login page must be locked for erin too: %d", page.Status)
	}
	e.Clock.Advance(16 * time.Minute)
	e.call(t, "POST", "/me/password", s.Access, body).want(t, 204)
}

type myConsent struct {
	ClientID    string   `json:"client_id"`
	Application string   `json:"application"`
	Scopes      []string `json:"scopes"`
}

func TestMeConsentsAreTheUsersOwn(t *testing.T) {
	e := newEnv(t)
	withMeScopes(t, e)
	spa := e.People.SPA
	alice := e.signIn(t, spa, servertest.SPARedirectURI, e.People.Alice, meScopes+" offline_access")
	bob := e.signIn(t, e.People.AdminTool, servertest.AdminToolRedirect, e.People.Bob, meScopes) // implicit consent: none stored
	if alice.Refresh == "" {
		t.Fatal("no refresh token")
	}
	var list struct {
		Items []myConsent `json:"items"`
		Total int         `json:"total"`
	}
	e.call(t, "GET", "/me/consents", alice.Access, nil).want(t, 200).decode(t, &list)
	if list.Total != 1 || list.Items[0].ClientID != spa.ID || list.Items[0].Application != "Banking" || !strings.Contains(strings.Join(list.Items[0].Scopes, " "), "me:read") {
		t.Fatalf("alice's consents = %+v", list)
	}
	e.call(t, "GET", "/me/consents", bob.Access, nil).want(t, 200).decode(t, &list)
	if list.Total != 0 {
		t.Fatalf("bob sees %+v", list)
	}
	// Bob cannot withdraw alice's consent: he has none for the app.
	e.call(t, "DELETE", "/me/consents/"+spa.ID, bob.Access, nil).want(t, 404)
	e.call(t, "GET", "/me/consents", alice.Access, nil).want(t, 200).decode(t, &list)
	if list.Total != 1 {
		t.Fatal("bob's request touched alice's consent")
	}

	// Alice withdraws it: her refresh token for the app stops working
	// (RFC 6749 §5.2 invalid_grant), and the next authorization asks again.
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {alice.Refresh}}
	out := e.tokenRequest(t, spa, refresh)
	if out.status != 200 || out.RefreshToken == "" {
		t.Fatalf("refresh before: %d %s", out.status, out.Error)
	}
	refresh.Set("refresh_token", out.RefreshToken) // rotated
	e.call(t, "DELETE", "/me/consents/"+spa.ID, alice.Access, nil).want(t, 204)
	if out := e.tokenRequest(t, spa, refresh); out.status != 400 || out.Error != "invalid_grant" {
		t.Fatalf("refresh after the consent was withdrawn: %d %s", out.status, out.Error)
	}
	// The access tokens of the withdrawn grant went with it (RFC 7009
	// §2.1), the one this request carried and the refresh's included.
	e.call(t, "GET", "/me/consents", alice.Access, nil).want(t, 401)
	e.call(t, "GET", "/me/consents", out.AccessToken, nil).want(t, 401)
	// Alice carries on in another application (implicit consent).
	self := e.signIn(t, e.People.AdminTool, servertest.AdminToolRedirect, e.People.Alice, meScopes)
	e.call(t, "GET", "/me/consents", self.Access, nil).want(t, 200).decode(t, &list)
	if list.Total != 0 {
		t.Fatalf("left: %+v", list)
	}
	e.call(t, "DELETE", "/me/consents/"+spa.ID, self.Access, nil).want(t, 404)
	var evs auditPage
	e.call(t, "GET", "/audit?type=consent.revoked&client_id="+spa.ID, e.token(t, "audit:read"), nil).want(t, 200).decode(t, &evs)
	if len(evs.Items) != 1 || evs.Items[0].Subject != e.People.Alice.ID {
		t.Fatalf("consent.revoked = %+v", evs.Items)
	}
	_, au := e.authorizeURL(t, spa.ID, servertest.SPARedirectURI, e.PlatformAudience, "openid me:read")
	if page := alice.Browser.Visit(e.URL, au); page.Location != nil || len(page.AskedScopes(t)) == 0 {
		t.Fatalf("after withdrawal the consent page must ask again: %d %v", page.Status, page.Location)
	}

	// Withdraw all: a count, none left.
	var n struct {
		Revoked int `json:"revoked"`
	}
	e.call(t, "DELETE", "/me/consents", self.Access, nil).want(t, 200).decode(t, &n)
	if n.Revoked != 0 {
		t.Fatalf("revoked %d", n.Revoked)
	}
}

type mySession struct {
	ID        string `json:"id"`
	UserAgent string `json:"user_agent"`
}

func TestMeSessionsBobCannotEndAlices(t *testing.T) {
	e := newEnv(t)
	withMeScopes(t, e)
	tool := e.People.AdminTool
	alice := e.signIn(t, tool, servertest.AdminToolRedirect, e.People.Alice, meScopes)
	bob := e.signIn(t, tool, servertest.AdminToolRedirect, e.People.Bob, meScopes)
	aliceSID, bobSID := sid(t, alice.ID), sid(t, bob.ID)

	var list struct {
		Items []mySession `json:"items"`
		Total int         `json:"total"`
	}
	e.call(t, "GET", "/me/sessions", alice.Access, nil).want(t, 200).decode(t, &list)
	if list.Total != 1 || list.Items[0].ID != aliceSID {
		t.Fatalf("alice's sessions = %+v, want the one whose ID tokens carry sid %s", list, aliceSID)
	}
	e.call(t, "GET", "/me/sessions", bob.Access, nil).want(t, 200).decode(t, &list)
	if list.Total != 1 || list.Items[0].ID != bobSID {
		t.Fatalf("bob's sessions = %+v", list)
	}

	// Bob cannot see or end alice's session: 404, and it lives on.
	e.call(t, "DELETE", "/me/sessions/"+aliceSID, bob.Access, nil).want(t, 404)
	if code, _ := e.authorizeAgain(t, alice.Browser, tool, servertest.AdminToolRedirect); !code {
		t.Fatal("bob's request ended alice's session")
	}

	// Alice ends it: her browser's next authorization needs a sign-in.
	e.call(t, "DELETE", "/me/sessions/"+aliceSID, alice.Access, nil).want(t, 204)
	if code, _ := e.authorizeAgain(t, alice.Browser, tool, servertest.AdminToolRedirect); code {
		t.Fatal("an ended session still authorizes without a sign-in")
	}
	e.call(t, "DELETE", "/me/sessions/"+aliceSID, alice.Access, nil).want(t, 404)
	if code, _ := e.authorizeAgain(t, bob.Browser, tool, servertest.AdminToolRedirect); !code {
		t.Fatal("bob's session ended with alice's")
	}
	var evs auditPage
	e.call(t, "GET", "/audit?type=logout&subject="+e.People.Alice.ID, e.token(t, "audit:read"), nil).want(t, 200).decode(t, &evs)
	if len(evs.Items) != 1 || !strings.Contains(string(evs.Items[0].Details), aliceSID) {
		t.Fatalf("logout = %+v", evs.Items)
	}

	// Bob signs out everywhere: his two browsers.
	e.signIn(t, tool, servertest.AdminToolRedirect, e.People.Bob, "openid")
	var n struct {
		Ended int `json:"ended"`
	}
	e.call(t, "DELETE", "/me/sessions", bob.Access, nil).want(t, 200).decode(t, &n)
	if n.Ended != 2 {
		t.Fatalf("ended %d, want 2", n.Ended)
	}
	if code, _ := e.authorizeAgain(t, bob.Browser, tool, servertest.AdminToolRedirect); code {
		t.Fatal("bob's browser is still signed in")
	}
	e.call(t, "GET", "/me/sessions", bob.Access, nil).want(t, 200).decode(t, &list)
	if list.Total != 0 {
		t.Fatalf("left: %+v", list)
	}
}
