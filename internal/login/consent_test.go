package login_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/login"
	"github.com/intelliauth/intelliauth/internal/model"
)

// consentFlow signs alice in on a request that asks for ask, the way the
// authorize endpoint would set AskScopes after sign-in.
func consentFlow(t *testing.T, e *env, scope string, ask []string) (*browser, string) {
	t.Helper()
	b := e.browser()
	id := e.request(func(ar *model.AuthRequest) { ar.Scope = scope })
	if resp, body := b.signIn(id, "alice", "correct horse battery"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d\n%s", resp.StatusCode, body)
	}
	ar := e.authRequest(id)
	ar.AskScopes = ask
	must(t, e.st.AuthRequests().Update(t.Context(), ar))
	return b, id
}

var (
	checkbox = regexp.MustCompile(`<input type="checkbox"[^>]*>`)
	askList  = regexp.MustCompile(`(?s)<ul class="ask">(.*?)</ul>`)
	granted  = regexp.MustCompile(`(?s)<ul class="granted">(.*?)</ul>`)
)

func TestConsentPageListsWhatIsNotConsentedYet(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", "correct horse battery", model.UserActive)
	_, err := e.st.Consents().Grant(t.Context(), tenantID, alice.ID, clientID, []string{"profile"})
	must(t, err)
	b, id := consentFlow(t, e, "openid profile read:transactions payments:approve",
		[]string{"read:transactions", "openid", "profile", "payments:approve"})

	resp, body := b.get("/consent?request=" + id)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /consent: %d\n%s", resp.StatusCode, body)
	}
	m := askList.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no list of scopes to answer:\n%s", body)
	}
	ask := m[1]
	boxes := checkbox.FindAllString(ask, -1)
	if len(boxes) != 3 {
		t.Fatalf("%d checkboxes, want 3 (openid, read:transactions, payments:approve):\n%s", len(boxes), ask)
	}
	// openid first, ticked and disabled, carried by a hidden field.
	if !strings.Contains(boxes[0], "checked disabled") || strings.Contains(boxes[0], "name=") ||
		!strings.Contains(ask, `<input type="hidden" name="scope" value="openid">`) {
		t.Errorf("openid must be shown ticked and not untickable: %s", boxes[0])
	}
	for _, b := range boxes[1:] {
		if !strings.Contains(b, "checked") || strings.Contains(b, "disabled") || !strings.Contains(b, `name="scope"`) {
			t.Errorf("other scopes are ticked by default and can be unticked: %s", b)
		}
	}
	for _, want := range []string{
		"Sign you in", "Confirm your identity to this application.", // openid from the registry
		"View your transactions", "See the transactions of your accounts.",
		"Approve payments", "Approve payments &lt;b&gt;on your behalf&lt;/b&gt;.", // descriptions are escaped
	} {
		if !strings.Contains(ask, want) {
			t.Errorf("the list lacks %q", want)
		}
	}
	if strings.Contains(ask, "Your profile") {
		t.Error("profile was consented before and is asked again")
	}
	g := granted.FindStringSubmatch(body)
	if g == nil || !strings.Contains(g[1], "Your profile") || strings.Contains(g[1], "View your transactions") {
		t.Errorf("already granted: %v", g)
	}
	for _, want := range []string{"Banking &lt;SPA&gt;", "alice", `value="allow"`, `value="deny"`} {
		if !strings.Contains(body, want) {
			t.Errorf("consent page lacks %q", want)
		}
	}
}

// PRODUCT.md §2 step 6: the user may untick any scope but openid; unticked
// ones are dropped.
func TestConsentUntickDropsScope(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", "correct horse battery", model.UserActive)
	b, id := consentFlow(t, e, "openid read:transactions write:settings", []string{"openid", "read:transactions", "write:settings"})
	_, body := b.get("/consent?request=" + id)

	// Tick read:transactions only; leave out openid (it is granted anyway)
	// and slip in a scope that was never asked.
	resp, _ := b.post("/consent", url.Values{"request": {id}, "csrf": {csrf(t, body)}, "action": {"allow"},
		"scope": {"read:transactions", "payments:approve"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != e.resumeURL(id) {
		t.Fatalf("Allow: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	c, err := e.st.Consents().Get(t.Context(), tenantID, alice.ID, clientID)
	must(t, err)
	if !slices.Equal(c.Scopes, []string{"openid", "read:transactions"}) {
		t.Errorf("consent = %v, want [openid read:transactions]", c.Scopes)
	}
	if ar := e.authRequest(id); !ar.ConsentDone || ar.Denied {
		t.Errorf("request after Allow: done %v denied %v", ar.ConsentDone, ar.Denied)
	}
	evs := e.events(model.EventConsentGranted)
	if len(evs) != 1 {
		t.Fatalf("consent.granted events: %d", len(evs))
	}
	var d struct{ Granted, Unticked []string }
	must(t, json.Unmarshal(evs[0].Details, &d))
	if !slices.Equal(d.Granted, []string{"openid", "read:transactions"}) || !slices.Equal(d.Unticked, []string{"write:settings"}) ||
		!slices.Equal(evs[0].Scopes, d.Granted) || evs[0].Subject != alice.ID || evs[0].ClientID != clientID {
		t.Errorf("consent.granted event %+v %s", evs[0], evs[0].Details)
	}

	// Answered: a second submission changes nothing.
	resp, _ = b.post("/consent", url.Values{"request": {id}, "csrf": {csrf(t, body)}, "action": {"allow"}, "scope": {"write:settings"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("second Allow: %d", resp.StatusCode)
	}
	c, _ = e.st.Consents().Get(t.Context(), tenantID, alice.ID, clientID)
	if slices.Contains(c.Scopes, "write:settings") {
		t.Error("a second submission of an answered request granted more")
	}
}

// RFC 6749 §4.1.2.1: Deny ends in access_denied, which the authorization
// endpoint sends; here the request is marked.
func TestConsentDeny(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", "correct horse battery", model.UserActive)
	b, id := consentFlow(t, e, "openid read:transactions", []string{"openid", "read:transactions"})
	_, body := b.get("/consent?request=" + id)
	resp, _ := b.post("/consent", url.Values{"request": {id}, "csrf": {csrf(t, body)}, "action": {"deny"}, "scope": {"openid", "read:transactions"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != e.resumeURL(id) {
		t.Fatalf("Deny: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if ar := e.authRequest(id); !ar.ConsentDone || !ar.Denied {
		t.Errorf("request after Deny: done %v denied %v", ar.ConsentDone, ar.Denied)
	}
	if _, err := e.st.Consents().Get(t.Context(), tenantID, alice.ID, clientID); err == nil {
		t.Error("Deny stored a consent")
	}
}

func TestConsentRequiresTheRequestsSession(t *testing.T) {
	e := newEnv(t)
	e.user("alice", "correct horse battery", model.UserActive)
	e.user("bob", "another good one", model.UserActive)
	_, id := consentFlow(t, e, "openid", []string{"openid"})

	// A browser without a session.
	stranger := e.browser()
	if resp, _ := stranger.get("/consent?request=" + id); resp.StatusCode != http.StatusForbidden {
		t.Errorf("no session: %d, want 403", resp.StatusCode)
	}
	// Bob, signed in on a request of his own, opens alice's request.
	bob := e.browser()
	bob.signIn(e.request(nil), "bob", "another good one")
	resp, _ := bob.get("/consent?request=" + id)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("another user's session: %d, want 403", resp.StatusCode)
	}
	// …nor answer it, even with a valid CSRF token for it.
	cookie, ok := login.DecodeToken(bob.cookie("ia_csrf_" + tenantID).Value)
	if !ok {
		t.Fatal("bob has no CSRF cookie")
	}
	resp, body := bob.post("/consent", url.Values{"request": {id}, "csrf": {login.CSRFToken(cookie, "consent", id)}, "action": {"allow"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Sign in first") {
		t.Errorf("answering another's request: %d, want 403", resp.StatusCode)
	}
	if e.authRequest(id).ConsentDone {
		t.Error("alice's request was answered by bob")
	}
}
