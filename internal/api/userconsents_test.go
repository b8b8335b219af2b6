package api_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// TestAdminWithdrawsAUsersConsent: alice approves banking-spa on its
// consent page; an admin (users:read) sees what she approved, and with
// users:write withdraws it on her behalf: her refresh token for the app
// stops working (RFC 6749 §5.2 invalid_grant), the event names the admin
// as actor and alice as subject, and her next authorization asks again.
func TestAdminWithdrawsAUsersConsent(t *testing.T) {
	e := newEnv(t)
	withMeScopes(t, e)
	spa := e.People.SPA
	alice := e.signIn(t, spa, servertest.SPARedirectURI, e.People.Alice, meScopes+" offline_access")
	if alice.Refresh == "" {
		t.Fatal("no refresh token")
	}
	var list struct {
		Items []myConsent `json:"items"`
		Total int         `json:"total"`
	}
	for _, ref := range []string{"alice", e.People.Alice.ID, "alice@example.com"} {
		e.call(t, "GET", "/users/"+url.PathEscape(ref)+"/consents", e.token(t, "users:read"), nil).want(t, 200).decode(t, &list)
		if list.Total != 1 || list.Items[0].ClientID != spa.ID || list.Items[0].Application != "Banking" ||
			!strings.Contains(strings.Join(list.Items[0].Scopes, " "), "me:read") {
			t.Fatalf("alice's consents seen by an admin as %s = %+v", ref, list)
		}
	}
	e.call(t, "GET", "/users/bob/consents", e.token(t, "users:read"), nil).want(t, 200).decode(t, &list)
	if list.Total != 0 {
		t.Fatalf("bob's consents = %+v", list)
	}
	e.call(t, "GET", "/users/nobody/consents", e.token(t, "users:read"), nil).want(t, 404)

	// Reading is not withdrawing.
	e.call(t, "DELETE", "/users/alice/consents/"+spa.ID, e.token(t, "users:read"), nil).want(t, 403)
	// Bob has no consent for the app: nothing of alice's goes.
	e.call(t, "DELETE", "/users/bob/consents/"+spa.ID, e.token(t, "users:write"), nil).want(t, 404)
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {alice.Refresh}}
	out := e.tokenRequest(t, spa, refresh)
	if out.status != 200 || out.RefreshToken == "" {
		t.Fatalf("refresh before: %d %s", out.status, out.Error)
	}
	refresh.Set("refresh_token", out.RefreshToken)

	e.call(t, "DELETE", "/users/alice/consents/"+spa.ID, e.token(t, "users:write"), nil).want(t, 204)
	if out := e.tokenRequest(t, spa, refresh); out.status != 400 || out.Error != "invalid_grant" {
		t.Fatalf("refresh after an admin withdrew the consent: %d %s", out.status, out.Error)
	}
	e.call(t, "GET", "/users/alice/consents", e.token(t, "users:read"), nil).want(t, 200).decode(t, &list)
	if list.Total != 0 {
		t.Fatalf("left: %+v", list)
	}
	e.call(t, "DELETE", "/users/alice/consents/"+spa.ID, e.token(t, "users:write"), nil).want(t, 404)

	var evs auditPage
	e.call(t, "GET", "/audit?type=consent.revoked&client_id="+spa.ID, e.token(t, "audit:read"), nil).want(t, 200).decode(t, &evs)
	if len(evs.Items) != 1 {
		t.Fatalf("consent.revoked = %+v", evs.Items)
	}
	ev := evs.Items[0]
	var d map[string]any
	if err := json.Unmarshal(ev.Details, &d); err != nil {
		t.Fatal(err)
	}
	if ev.Subject != e.People.Alice.ID || ev.Actor.Type != "client" || ev.Actor.ID != e.Admin.ID || d["refresh_families_revoked"] != 1.0 || d["via"] != nil {
		t.Fatalf("consent.revoked = %+v %s", ev, ev.Details)
	}
	_, au := e.authorizeURL(t, spa.ID, servertest.SPARedirectURI, e.PlatformAudience, "openid me:read")
	if page := alice.Browser.Visit(e.URL, au); page.Location != nil || len(page.AskedScopes(t)) == 0 {
		t.Fatalf("after the withdrawal the consent page must ask again: %d %v", page.Status, page.Location)
	}
}
