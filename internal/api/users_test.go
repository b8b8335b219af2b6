package api_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
)

type userDetail struct {
	ID             string   `json:"id"`
	Username       string   `json:"username"`
	Email          string   `json:"email"`
	EmailVerified  bool     `json:"email_verified"`
	Status         string   `json:"status"`
	HasPassword    bool     `json:"has_password"`
	Roles          []string `json:"roles"`
	Groups         []string `json:"groups"`
	EntitledScopes []string `json:"entitled_scopes"`
	CreatedAt      string   `json:"created_at"`
	UpdatedAt      string   `json:"updated_at"`
	Version        int64    `json:"version"`
}

// TestUsersGroupsRoles drives users, groups and roles together: a user
// created with a role, put in a group, given a role directly; what they
// hold shows on the user; timestamps are RFC 3339 UTC; no hash leaves.
func TestUsersGroupsRoles(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, "users:write", "groups:write", "roles:write")
	r := e.call(t, "POST", "/users", tok, map[string]any{"username": "frank", "email": "Frank@Example.com", "email_verified": true,
		"password": "frank's long passphrase", "roles": []string{"teller"}}).want(t, 201)
	if strings.Contains(string(r.Body), "argon2") || strings.Contains(string(r.Body), "password_hash") {
		t.Fatalf("a password hash left the server: %s", r.Body)
	}
	var u userDetail
	r.decode(t, &u)
	if !strings.HasPrefix(u.ID, "usr_") || !u.HasPassword || u.Status != "active" || !slices.Equal(u.Roles, []string{"teller"}) ||
		!slices.Contains(u.EntitledScopes, "read:transactions") {
		t.Errorf("created user %+v", u)
	}
	for _, ts := range []string{u.CreatedAt, u.UpdatedAt} {
		if _, err := time.Parse(time.RFC3339, ts); err != nil || !strings.HasSuffix(ts, "Z") {
			t.Errorf("timestamp %q is not RFC 3339 UTC", ts)
		}
	}
	e.call(t, "POST", "/groups", tok, map[string]any{"name": "managers", "description": "Branch managers.", "roles": []string{"manager"}}).want(t, 201)
	var g struct {
		Members []struct {
			ID       string `json:"id"`
			Username string `json:"username"`
		} `json:"members"`
	}
	e.call(t, "PUT", "/groups/managers/members/frank@example.com", tok, nil).want(t, 200).decode(t, &g)
	if len(g.Members) != 1 || g.Members[0].ID != u.ID {
		t.Errorf("members %+v", g.Members)
	}
	// Assigning admin gives every platform scope: only a caller holding
	// them all may (the escalation rule; TestPlatformScopeEscalation…).
	e.call(t, "PUT", "/roles/admin/users/"+u.ID, e.token(t, admin.AdminClientScopes()...), nil).want(t, 200)
	e.call(t, "GET", "/users/frank", tok, nil).want(t, 200).decode(t, &u)
	if !slices.Equal(u.Groups, []string{"managers"}) || !slices.Contains(u.Roles, "manager") || !slices.Contains(u.Roles, "admin") ||
		!slices.Contains(u.EntitledScopes, "payments:approve") || !slices.Contains(u.EntitledScopes, "users:write") {
		t.Errorf("frank holds %+v", u)
	}
	// A role held only through a group cannot be unassigned directly.
	p := e.call(t, "DELETE", "/roles/manager/users/frank", tok, nil).want(t, 400).problem(t)
	if !strings.Contains(p.Detail, "managers") {
		t.Errorf("unassign through a group: %+v", p)
	}
	// Search, status filter, disable.
	var list listDoc[userDetail]
	e.call(t, "GET", "/users?q=fr", tok, nil).want(t, 200).decode(t, &list)
	if list.Total != 1 || list.Items[0].Username != "frank" {
		t.Errorf("search fr: %+v", list)
	}
	e.call(t, "POST", "/users/frank/disable", tok, nil).want(t, 200).decode(t, &u)
	if u.Status != "disabled" {
		t.Errorf("after disable: %s", u.Status)
	}
	e.call(t, "GET", "/users?status=disabled", tok, nil).want(t, 200).decode(t, &list)
	if list.Total != 1 {
		t.Errorf("disabled users: %+v", list)
	}
	// Profile update with a stale ETag is 412; a new email is unverified.
	stale := `"v` + itoa(u.Version-1) + `"`
	e.call(t, "PATCH", "/users/frank", tok, map[string]any{"name": "Frank"}, "If-Match", stale).want(t, 412)
	e.call(t, "PATCH", "/users/frank", tok, map[string]any{"email": "frank@new.example.com"}, "If-Match", `"v`+itoa(u.Version)+`"`).want(t, 200).decode(t, &u)
	if u.EmailVerified {
		t.Error("a changed email stayed verified")
	}
	e.call(t, "POST", "/users", tok, map[string]any{"username": "FRANK", "password": "another long passphrase"}).want(t, 409)
	e.call(t, "DELETE", "/users/frank", tok, nil, "If-Match", `"v1"`).want(t, 412)
	e.call(t, "DELETE", "/users/frank", tok, nil).want(t, 204)
	e.call(t, "GET", "/users/frank", tok, nil).want(t, 404)
}

// TestApplicationsCreateSecretRotate: creating a confidential application
// answers its secret once (never on GET); rotation answers a new one that
// works at the token endpoint while the old one keeps working for the grace
// period.
func TestApplicationsCreateSecretRotate(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, "applications:write")
	var created struct {
		ClientID     string   `json:"client_id"`
		ClientSecret string   `json:"client_secret"`
		GrantTypes   []string `json:"grant_types"`
	}
	e.call(t, "POST", "/applications", tok, map[string]any{"client_id": "nightly", "type": "m2m", "allowed_scopes": []string{"read:transactions"}}).
		want(t, 201).decode(t, &created)
	if created.ClientSecret == "" || !slices.Equal(created.GrantTypes, []string{"client_credentials"}) {
		t.Fatalf("created %+v", created)
	}
	if g := e.call(t, "GET", "/applications/nightly", tok, nil).want(t, 200); strings.Contains(string(g.Body), created.ClientSecret) || strings.Contains(string(g.Body), "secret") {
		t.Errorf("GET shows a secret: %s", g.Body)
	}
	old := created.ClientSecret
	form := "grant_type=client_credentials&audience=api.banking.example.com"
	var rot struct {
		ClientSecret       string `json:"client_secret"`
		PreviousValidUntil string `json:"previous_valid_until"`
	}
	e.call(t, "POST", "/applications/nightly/secret", tok, map[string]any{"grace_period": "1h"}).want(t, 200).decode(t, &rot)
	if rot.ClientSecret == "" || rot.ClientSecret == old || !strings.HasSuffix(rot.PreviousValidUntil, "Z") {
		t.Fatalf("rotation %+v", rot)
	}
	for name, sec := range map[string]string{"new": rot.ClientSecret, "old within grace": old} {
		if st := tokenStatus(t, e, clientOf("nightly", sec), form); st != 200 {
			t.Errorf("%s secret: token status %d", name, st)
		}
	}
	// No body: grace 0, every older secret stops now — the open-ended one
	// and the one still in its grace period (store.ExpireSecrets cuts it).
	first := rot.ClientSecret
	e.call(t, "POST", "/applications/nightly/secret", tok, nil).want(t, 200).decode(t, &rot)
	e.Clock.Advance(time.Second) // the test clock stands still
	for name, sec := range map[string]string{"previous": first, "one in its grace period": old} {
		if st := tokenStatus(t, e, clientOf("nightly", sec), form); st != 401 {
			t.Errorf("%s secret after a rotation without grace: %d, want 401", name, st)
		}
	}
	e.Clock.Advance(time.Hour)
	if st := tokenStatus(t, e, clientOf("nightly", rot.ClientSecret), form); st != 200 {
		t.Errorf("current secret: %d, want 200", st)
	}
	// A public application has no secret to rotate.
	tok = e.clientToken(t, e.Issuer, e.Admin, e.PlatformAudience, "applications:write") // the clock moved an hour
	e.call(t, "POST", "/applications/banking-spa/secret", tok, nil).want(t, 400)
	// The type cannot change.
	e.callInvalid(t, "PATCH", "/applications/nightly", tok, map[string]any{"type": "web"}, "If-Match", "*").want(t, 400)
}

// TestExplain runs the scope decision without issuing anything; a refusal
// is part of the answer.
func TestExplain(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, "applications:read")
	var ex struct {
		Audience string   `json:"audience"`
		Granted  []string `json:"granted"`
		Results  []struct {
			Scope  string `json:"scope"`
			Reason string `json:"reason"`
		} `json:"results"`
		Error *struct {
			Code string `json:"error"`
		} `json:"error"`
	}
	e.call(t, "POST", "/explain", tok, map[string]any{"client_id": "legacy-batch", "scope": "read:transactions write:settings", "audience": "api.banking.example.com"}).
		want(t, 200).decode(t, &ex)
	if !slices.Equal(ex.Granted, []string{"read:transactions"}) || ex.Error != nil || len(ex.Results) != 2 || ex.Audience != "api.banking.example.com" {
		t.Errorf("permissive explain: %+v", ex)
	}
	e.call(t, "POST", "/explain", tok, map[string]any{"client_id": "reporting-job", "scope": "write:settings", "audience": "api.banking.example.com"}).
		want(t, 200).decode(t, &ex)
	if ex.Error == nil || ex.Error.Code != "invalid_scope" || len(ex.Granted) != 0 {
		t.Errorf("strict refusal explained: %+v", ex)
	}
	p := e.callInvalid(t, "POST", "/explain", tok, map[string]any{"client_id": "nobody"}).want(t, 400).problem(t)
	if p.field("client_id") == "" {
		t.Errorf("unknown client: %+v", p)
	}
	// For a user: bob (teller) is entitled to read:transactions, not to
	// write:settings, and has consented to nothing yet.
	var forUser struct {
		Granted []string `json:"granted"`
		Results []struct {
			Scope  string `json:"scope"`
			Reason string `json:"reason"`
		} `json:"results"`
		User *struct {
			ID       string   `json:"id"`
			Entitled []string `json:"entitled"`
		} `json:"user"`
	}
	e.call(t, "POST", "/explain", tok, map[string]any{"client_id": "banking-spa", "scope": "read:transactions write:settings",
		"audience": "api.banking.example.com", "user": "bob"}).want(t, 200).decode(t, &forUser)
	reasons := map[string]string{}
	for _, r := range forUser.Results {
		reasons[r.Scope] = r.Reason
	}
	if forUser.User == nil || forUser.User.ID != e.People.Bob.ID || reasons["write:settings"] != "not_entitled" || reasons["read:transactions"] != "not_consented" {
		t.Errorf("explain for bob: %+v", forUser)
	}
	p = e.call(t, "POST", "/explain", tok, map[string]any{"client_id": "banking-spa", "user": "nobody"}).want(t, 400).problem(t)
	if p.field("user") == "" {
		t.Errorf("unknown user: %+v", p)
	}
}
