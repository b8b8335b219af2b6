package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/api"
)

// TestOpenAPIDescribesEveryRoute holds the document and the router to each
// other: every registered route is a documented operation requiring the
// same platform scope (OAuth 2 security requirement "platform"), and every
// documented operation is registered.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	doc, _ := loadDoc()
	type op struct{ method, path string }
	documented := map[op]string{}
	for path, item := range doc.Paths.Map() {
		for method, o := range item.Operations() {
			scope := "(none)"
			if o.Security != nil && len(*o.Security) > 0 {
				if s := (*o.Security)[0]["platform"]; len(s) == 1 {
					scope = s[0]
				} else {
					t.Errorf("%s %s: security requirement %v must name exactly one platform scope", method, path, (*o.Security)[0])
				}
			} else if o.Security == nil {
				t.Errorf("%s %s: no security requirement (use [] for a public operation)", method, path)
			}
			documented[op{method, path}] = scope
		}
	}
	routes := (&api.Handler{}).Routes()
	registered := map[op]bool{}
	for _, r := range routes {
		k := op{r.Method, r.Path}
		registered[k] = true
		want := r.Scope
		if want == "" {
			want = "(none)"
		}
		got, ok := documented[k]
		switch {
		case !ok:
			t.Errorf("route %s %s is not in openapi.json", r.Method, r.Path)
		case got != want:
			t.Errorf("route %s %s requires %s, openapi.json says %s", r.Method, r.Path, want, got)
		}
	}
	for k := range documented {
		if !registered[k] {
			t.Errorf("openapi.json documents %s %s, which is not registered", k.method, k.path)
		}
	}
}

// TestOpenAPIServedWithTenantIssuer: the document needs no token and names
// the tenant's issuer as its server and OAuth endpoints.
func TestOpenAPIServedWithTenantIssuer(t *testing.T) {
	e := newEnv(t)
	r := e.call(t, "GET", "/openapi.json", "", nil).want(t, 200)
	var doc struct {
		OpenAPI string `json:"openapi"`
		Servers []struct {
			URL string `json:"url"`
		} `json:"servers"`
	}
	r.decode(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") || len(doc.Servers) != 1 || doc.Servers[0].URL != e.Issuer {
		t.Errorf("served document: openapi %q servers %+v, want the issuer %s", doc.OpenAPI, doc.Servers, e.Issuer)
	}
	if strings.Contains(string(r.Body), api.DocIssuer) {
		t.Error("served document still holds the placeholder issuer")
	}
	var raw map[string]json.RawMessage
	r.decode(t, &raw)
	if raw["paths"] == nil || raw["components"] == nil {
		t.Error("served document has no paths or components")
	}
}
