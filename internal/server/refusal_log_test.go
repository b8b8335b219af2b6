package server_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestRefusalLinesCarryClientTenantAndReason: every refusal at the token,
// introspection and authorization endpoints is logged with tenant,
// client_id and the reason — the scope decision's, client
// authentication's, else the error code — and, at debug level, the scope
// decision is logged per scope and catalog loads are logged.
func TestRefusalLinesCarryClientTenantAndReason(t *testing.T) {
	o, buf := startLogged(t)
	token, introspect := o.iss+"/oauth2/token", o.iss+"/oauth2/introspect"
	rep := basicAuth(o.b.Reporting.ID, o.b.Reporting.Secret)
	cc := func(scope string) string {
		return url.Values{"grant_type": {"client_credentials"}, "audience": {o.b.Bank.Identifier}, "scope": {scope}}.Encode()
	}
	send(t, "POST", token, rep, cc("read:transactions"))                                       // issued
	send(t, "POST", token, rep, cc("payments:approve"))                                        // not on the allowlist
	send(t, "POST", token, basicAuth(o.b.Reporting.ID, "wrong-secret-7f3a"), cc("x"))          // wrong secret
	send(t, "POST", token, basicAuth("nobody-\x01-here", "s"), cc("x"))                        // unknown client
	send(t, "POST", token, rep, "scope=read:transactions")                                     // no grant_type
	send(t, "POST", introspect, rep, "x=1")                                                    // no token
	send(t, "POST", o.iss+"/oauth2/revoke", rep, "")                                           // not a form
	send(t, "GET", o.iss+"/oauth2/authorize?client_id=no-such-app&response_type=code", "", "") // unknown client

	type want struct{ path, clientID, reason, errCode string }
	wants := []want{
		{"/oauth2/token", "reporting-job", "not_allowed", "invalid_scope"},
		{"/oauth2/token", "reporting-job", "wrong_secret", "invalid_client"},
		{"/oauth2/token", "nobody-\uFFFD-here", "unknown_client", "invalid_client"},
		{"/oauth2/token", "reporting-job", "invalid_request", "invalid_request"},
		{"/oauth2/introspect", "reporting-job", "invalid_request", "invalid_request"},
		{"/oauth2/revoke", "reporting-job", "invalid_request", "invalid_request"},
		{"/oauth2/authorize", "no-such-app", "", ""},
	}
	lines := buf.lines(t)
	for _, w := range wants {
		found := false
		for _, l := range lines {
			if (l["msg"] != "oauth request refused" && l["msg"] != "authorization request refused") || l["path"] != w.path || l["client_id"] != w.clientID ||
				(w.errCode != "" && l["error"] != w.errCode) {
				continue
			}
			found = true
			if l["tenant"] != "banking" {
				t.Errorf("%s refusal of %s: tenant = %v", w.path, w.clientID, l["tenant"])
			}
			if r, _ := l["reason"].(string); r == "" || (w.reason != "" && r != w.reason) {
				t.Errorf("%s refusal of %s: reason = %v, want %q", w.path, w.clientID, l["reason"], w.reason)
			}
		}
		if !found {
			for _, l := range lines {
				if l["path"] == w.path {
					t.Logf("%v", l)
				}
			}
			t.Errorf("no refusal line for %s with client_id %q and error %q", w.path, w.clientID, w.errCode)
		}
	}

	var decisions, loads int
	for _, l := range lines {
		switch l["msg"] {
		case "scope decision":
			if l["scope"] == "payments:approve" && l["reason"] == "not_allowed" && l["granted"] == false && l["client_id"] == "reporting-job" {
				decisions++
			}
		case "catalog loaded tenant":
			if l["tenant"] == "banking" {
				loads++
			}
		}
	}
	if decisions != 1 {
		t.Errorf("debug: %d scope decision lines for payments:approve (not_allowed), want 1", decisions)
	}
	if loads == 0 {
		t.Error("debug: no catalog load line")
	}
	if s := buf.String(); strings.Contains(s, "wrong-secret-7f3a") {
		t.Error("the log holds a presented client secret")
	}
}

// TestAPIRefusalLineNamesTheCaller: a refused /api/v1 request is logged
// with the tenant, and once the token was verified, with the client_id
// whose token it was — the same keys as the OAuth endpoints' refusals.
func TestAPIRefusalLineNamesTheCaller(t *testing.T) {
	o, buf := startLogged(t)
	rep := basicAuth(o.b.Reporting.ID, o.b.Reporting.Secret)
	code, body := send(t, "POST", o.iss+"/oauth2/token", rep, url.Values{"grant_type": {"client_credentials"}, "scope": {"users:read"}}.Encode())
	if code != 200 {
		t.Fatalf("token: %d %s", code, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(body), &tok); err != nil {
		t.Fatal(err)
	}
	// users:read but not roles:write → 403; a bad token → 401.
	if code, body := send(t, "POST", o.iss+"/api/v1/roles", "Bearer "+tok.AccessToken, ""); code != 403 {
		t.Fatalf("POST /api/v1/roles with users:read: %d %s", code, body)
	}
	if code, _ := send(t, "GET", o.iss+"/api/v1/users", "Bearer not-a-token", ""); code != 401 {
		t.Fatalf("bad token: %d", code)
	}
	var forbidden, unauthorized bool
	for _, l := range buf.lines(t) {
		if l["msg"] != "api request refused" {
			continue
		}
		switch l["path"] {
		case "/api/v1/roles":
			forbidden = l["tenant"] == "banking" && l["client_id"] == "reporting-job" && l["status"] == float64(403)
		case "/api/v1/users":
			unauthorized = l["tenant"] == "banking" && l["client_id"] == nil && l["status"] == float64(401)
		}
	}
	if !forbidden {
		t.Error("no 403 refusal line with tenant banking and client_id reporting-job")
	}
	if !unauthorized {
		t.Error("no 401 refusal line with tenant banking and no client_id")
	}
}
