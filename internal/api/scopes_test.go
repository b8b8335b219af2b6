package api_test

import (
	"net/http"
	"testing"
)

// scopeDoc is a scope as the API returns it.
type scopeDoc struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"display_name"`
	Description string   `json:"description"`
	Kind        string   `json:"kind"`
	API         string   `json:"api"`
	Implies     []string `json:"implies"`
	Version     int64    `json:"version"`
}

type listDoc[T any] struct {
	Items   []T `json:"items"`
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
	Total   int `json:"total"`
}

func TestScopesListAlphabeticalPaged(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, "scopes:read")
	var all listDoc[scopeDoc]
	e.call(t, "GET", "/scopes", tok, nil).want(t, 200).decode(t, &all)
	if all.Page != 1 || all.PerPage != 20 || len(all.Items) != 20 || all.Total <= 20 {
		t.Fatalf("default page = page %d per_page %d items %d total %d, want 1/20/20/>20", all.Page, all.PerPage, len(all.Items), all.Total)
	}
	for i := 1; i < len(all.Items); i++ {
		if all.Items[i-1].Name >= all.Items[i].Name {
			t.Errorf("not alphabetical: %s before %s", all.Items[i-1].Name, all.Items[i].Name)
		}
	}
	var custom listDoc[scopeDoc]
	e.call(t, "GET", "/scopes?kind=custom&per_page=2&page=2", tok, nil).want(t, 200).decode(t, &custom)
	if custom.Total != 4 || len(custom.Items) != 2 || custom.Items[0].Name != "read:transactions" || custom.Items[1].Name != "write:settings" {
		t.Errorf("custom page 2 = %+v", custom)
	}
	p := e.callInvalid(t, "GET", "/scopes?per_page=101", tok, nil).want(t, 400).problem(t)
	if p.field("per_page") == "" {
		t.Errorf("per_page=101: %+v", p)
	}
	p = e.callInvalid(t, "GET", "/scopes?kind=weird", tok, nil).want(t, 400).problem(t)
	if p.field("kind") == "" {
		t.Errorf("kind=weird: %+v", p)
	}
}

func TestScopeGetETagAndPatchRFC9110IfMatch(t *testing.T) {
	e := newEnv(t)
	w := e.token(t, "scopes:write")
	r := e.call(t, "GET", "/scopes/read:transactions", w, nil).want(t, 200)
	var sc scopeDoc
	r.decode(t, &sc)
	tag := r.Header.Get("ETag")
	if tag == "" || tag != `"v`+itoa(sc.Version)+`"` {
		t.Fatalf("ETag = %q for version %d", tag, sc.Version)
	}
	// RFC 6585 §3: no If-Match → 428.
	p := e.callInvalid(t, "PATCH", "/scopes/read:transactions", w, map[string]any{"display_name": "Transactions"}).want(t, 428).problem(t)
	if p.Error != "precondition_required" {
		t.Errorf("428 error = %q", p.Error)
	}
	r = e.call(t, "PATCH", "/scopes/read:transactions", w, map[string]any{"display_name": "Transactions"}, "If-Match", tag).want(t, 200)
	var up scopeDoc
	r.decode(t, &up)
	if up.DisplayName != "Transactions" || up.Version == sc.Version || r.Header.Get("ETag") == tag {
		t.Errorf("after PATCH: %+v etag %s", up, r.Header.Get("ETag"))
	}
	// RFC 9110 §15.5.13: the old tag is stale now → 412.
	p = e.call(t, "PATCH", "/scopes/read:transactions", w, map[string]any{"display_name": "Stale"}, "If-Match", tag).want(t, 412).problem(t)
	if p.Error != "precondition_failed" {
		t.Errorf("412 error = %q", p.Error)
	}
	// If-Match: * overwrites whatever is stored.
	e.call(t, "PATCH", "/scopes/read:transactions", w, map[string]any{"description": "Read the transactions of your accounts."}, "If-Match", "*").want(t, 200)
	e.call(t, "GET", "/scopes/no:such", w, nil).want(t, http.StatusNotFound)
}

type apiDoc struct {
	ID             string `json:"id"`
	Identifier     string `json:"identifier"`
	Name           string `json:"name"`
	SigningAlg     string `json:"signing_alg"`
	AccessTokenTTL string `json:"access_token_ttl"`
	Platform       bool   `json:"platform"`
	Version        int64  `json:"version"`
}

func TestAPIsCRUD(t *testing.T) {
	e := newEnv(t)
	w := e.token(t, "scopes:write")
	var list listDoc[apiDoc]
	e.call(t, "GET", "/apis", w, nil).want(t, 200).decode(t, &list)
	if list.Total != 3 {
		t.Fatalf("APIs total = %d, want 3 (platform, banking, health)", list.Total)
	}
	var created apiDoc
	r := e.call(t, "POST", "/apis", w, map[string]any{"identifier": "api.loans.example.com", "name": "Loans", "access_token_ttl": "15m"}).want(t, 201)
	r.decode(t, &created)
	if created.AccessTokenTTL != "15m0s" || created.SigningAlg != "ES256" || r.Header.Get("Location") == "" {
		t.Errorf("created %+v", created)
	}
	g := e.call(t, "GET", "/apis/"+created.ID, w, nil).want(t, 200)
	var patched apiDoc
	e.call(t, "PATCH", "/apis/api.loans.example.com", w, map[string]any{"name": "Loans API", "signing_alg": "RS256"}, "If-Match", g.Header.Get("ETag")).
		want(t, 200).decode(t, &patched)
	if patched.Name != "Loans API" || patched.SigningAlg != "RS256" {
		t.Errorf("patched %+v", patched)
	}
	p := e.callInvalid(t, "POST", "/apis", w, map[string]any{"identifier": "api.x.example.com", "access_token_ttl": "soon"}).want(t, 400).problem(t)
	if p.field("access_token_ttl") == "" {
		t.Errorf("bad duration: %+v", p)
	}
	e.call(t, "POST", "/apis", w, map[string]any{"identifier": "api.loans.example.com"}).want(t, 409)
	e.call(t, "DELETE", "/apis/"+created.ID, w, nil, "If-Match", g.Header.Get("ETag")).want(t, 412)
	// An API that still defines scopes cannot go.
	e.call(t, "DELETE", "/apis/"+e.Bank.Bank.ID, w, nil).want(t, 409)
	e.call(t, "DELETE", "/apis/"+created.ID, w, nil).want(t, 204)
	e.call(t, "GET", "/apis/"+created.ID, w, nil).want(t, 404)
}

func TestScopeCreateRenameImpactDelete(t *testing.T) {
	e := newEnv(t)
	w := e.token(t, "scopes:write")
	var sc scopeDoc
	e.call(t, "POST", "/scopes", w, map[string]any{"name": "loans:read", "description": "Read your loans.", "api": "api.banking.example.com"}).
		want(t, 201).decode(t, &sc)
	var imp struct {
		Applications []string `json:"applications"`
		Deletable    bool     `json:"deletable"`
	}
	e.call(t, "GET", "/scopes/loans:read/impact", w, nil).want(t, 200).decode(t, &imp)
	if len(imp.Applications) != 0 || !imp.Deletable {
		t.Errorf("impact of a new scope: %+v", imp)
	}
	e.call(t, "POST", "/scopes/loans:read/rename", w, map[string]any{"new_name": "loans:view"}).want(t, 200).decode(t, &sc)
	if sc.Name != "loans:view" {
		t.Errorf("renamed: %+v", sc)
	}
	// A name with a "/" travels percent-encoded in the path.
	e.call(t, "POST", "/scopes", w, map[string]any{"name": "files/read", "description": "Read your files.", "api": "api.banking.example.com"}).want(t, 201)
	var slash scopeDoc
	r := e.call(t, "GET", "/scopes/files%2Fread", w, nil).want(t, 200)
	r.decode(t, &slash)
	if slash.Name != "files/read" {
		t.Errorf("GET files%%2Fread = %+v", slash)
	}
	e.call(t, "PATCH", "/scopes/files%2Fread", w, map[string]any{"display_name": "Files"}, "If-Match", r.Header.Get("ETag")).want(t, 200)
	e.call(t, "DELETE", "/scopes/loans:view", w, nil).want(t, 200)
	e.call(t, "GET", "/scopes/loans:view", w, nil).want(t, 404)
	p := e.call(t, "DELETE", "/scopes/openid", w, nil).want(t, 400).problem(t)
	if p.Error != "validation_failed" {
		t.Errorf("delete predefined: %+v", p)
	}
}
