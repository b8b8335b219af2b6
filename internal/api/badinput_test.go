package api_test

import (
	"strings"
	"testing"
)

// TestBadInputRFC7807: every bad request is 400 (415 for a body that is not
// JSON) with an RFC 7807 problem naming the field and a sentence to act on.
func TestBadInputRFC7807(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, "scopes:write", "applications:write", "users:write")
	valid := func(extra map[string]any) map[string]any {
		m := map[string]any{"name": "loans:read", "description": "Read your loans.", "api": "api.banking.example.com"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	huge := `{"name":"loans:read","description":"` + strings.Repeat("x", 1<<20) + `","api":"api.banking.example.com"}`
	cases := []struct {
		name        string
		method      string
		path        string
		body        any
		header      []string
		status      int
		code, field string
	}{
		{name: "unknown field refused", method: "POST", path: "/scopes", body: valid(map[string]any{"colour": "red"}), status: 400, code: "validation_failed", field: "colour"},
		{name: "wrong type", method: "POST", path: "/scopes", body: valid(map[string]any{"name": 5}), status: 400, code: "validation_failed", field: "name"},
		{name: "wrong type in an array", method: "POST", path: "/scopes", body: valid(map[string]any{"implies": "read:transactions"}), status: 400, code: "validation_failed", field: "implies"},
		{name: "oversized body (over 1 MiB)", method: "POST", path: "/scopes", body: huge, status: 400, code: "validation_failed", field: "body"},
		{name: "not JSON", method: "POST", path: "/scopes", body: `{"name": `, status: 400, code: "validation_failed", field: "body"},
		{name: "two JSON values", method: "POST", path: "/scopes", body: `{} {}`, status: 400, code: "validation_failed", field: "body"},
		{name: "empty body", method: "POST", path: "/scopes", body: ``, status: 400, code: "validation_failed", field: "body"},
		{name: "bad scope name (starts with a digit)", method: "POST", path: "/scopes", body: valid(map[string]any{"name": "1loans"}), status: 400, code: "validation_failed", field: "name"},
		{name: "bad scope name (space)", method: "POST", path: "/scopes", body: valid(map[string]any{"name": "loans read"}), status: 400, code: "validation_failed", field: "name"},
		{name: "description over 120 characters", method: "POST", path: "/scopes", body: valid(map[string]any{"description": strings.Repeat("d", 121)}), status: 400, code: "validation_failed", field: "description"},
		{name: "unknown API", method: "POST", path: "/scopes", body: valid(map[string]any{"api": "api.nowhere.example.com"}), status: 400, code: "validation_failed", field: "api"},
		{name: "rename to a bad name", method: "POST", path: "/scopes/read:transactions/rename", body: map[string]any{"new_name": "-x"}, status: 400, code: "validation_failed", field: "new_name"},
		{name: "allowlist add of an unregistered scope", method: "PATCH", path: "/applications/legacy-batch/allowed-scopes", body: map[string]any{"add": []string{"no:such"}}, header: []string{"If-Match", "*"}, status: 400, code: "validation_failed", field: "add"},
		{name: "allowlist PUT without the list", method: "PUT", path: "/applications/legacy-batch/allowed-scopes", body: map[string]any{}, header: []string{"If-Match", "*"}, status: 400, code: "validation_failed", field: "allowed_scopes"},
		{name: "bad duration", method: "POST", path: "/applications/reporting-job/secret", body: map[string]any{"grace_period": "a while"}, status: 400, code: "validation_failed", field: "grace_period"},
		{name: "weak password", method: "POST", path: "/users", body: map[string]any{"username": "zed", "password": "short"}, status: 400, code: "validation_failed", field: "password"},
		{name: "page out of range", method: "GET", path: "/users?per_page=0", status: 400, code: "validation_failed", field: "per_page"},
		{name: "RFC 9110 §13.1.1 malformed If-Match", method: "PATCH", path: "/scopes/read:transactions", body: map[string]any{}, header: []string{"If-Match", "v3"}, status: 400, code: "invalid_request"},
		{name: "RFC 9110 §13.1.1 weak If-Match never matches → 412", method: "PATCH", path: "/scopes/read:transactions", body: map[string]any{}, header: []string{"If-Match", `W/"v1"`}, status: 412, code: "precondition_failed"},
		{name: "RFC 6585 §3 PATCH without If-Match → 428", method: "PATCH", path: "/applications/legacy-batch", body: map[string]any{"name": "x"}, status: 428, code: "precondition_required"},
		{name: "not JSON media type → 415", method: "POST", path: "/scopes", body: "name=x", header: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 415, code: "unsupported_media_type"},
		{name: "conflict → 409", method: "POST", path: "/scopes", body: valid(map[string]any{"name": "read:transactions"}), status: 409, code: "conflict"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := e.callInvalid(t, c.method, c.path, tok, c.body, c.header...).want(t, c.status)
			p := res.problem(t)
			if p.Error != c.code || p.Status != c.status || p.Title == "" || !strings.HasPrefix(p.Type, "urn:intelliauth:problem:") {
				t.Errorf("RFC 7807 problem %+v, want error %s status %d", p, c.code, c.status)
			}
			if len(p.Detail) < 10 || !strings.HasSuffix(strings.TrimSpace(p.Detail), ".") {
				t.Errorf("detail %q is not a sentence", p.Detail)
			}
			if c.field != "" && p.field(c.field) == "" {
				t.Errorf("errors %+v do not name field %q", p.Errors, c.field)
			}
			if strings.Contains(string(res.Body), "argon2") || strings.Contains(string(res.Body), "sql") {
				t.Errorf("problem leaks internals: %s", res.Body)
			}
		})
	}
	t.Run("unknown path → 404 problem", func(t *testing.T) {
		p := e.callRaw(t, "GET", "/nothing-here", tok, nil).want(t, 404).problem(t)
		if p.Error != "not_found" {
			t.Errorf("%+v", p)
		}
	})
	t.Run("RFC 9110 §15.5.6 wrong method → 405 problem with Allow", func(t *testing.T) {
		res := e.callRaw(t, "PUT", "/scopes", tok, map[string]any{}).want(t, 405)
		if p := res.problem(t); p.Error != "method_not_allowed" || !strings.Contains(res.Header.Get("Allow"), "GET") {
			t.Errorf("%+v Allow %q", p, res.Header.Get("Allow"))
		}
	})
}
