package console_test

import (
	"testing"

	"github.com/intelliauth/intelliauth/internal/api"
	"github.com/intelliauth/intelliauth/internal/console"
)

// TestEveryActionNeedsTheScopeOfItsAPIRoute: the console and /api/v1 read
// one table (admin.Op.Scope); every console page or action names a
// use-case that an API route also exposes, so that who may do what in
// the console is who may do it through the API.
func TestEveryActionNeedsTheScopeOfItsAPIRoute(t *testing.T) {
	apiScope := map[string]string{}
	for _, r := range (&api.Handler{}).Routes() {
		if r.Op != "" {
			apiScope[string(r.Op)] = r.Scope
		}
	}
	routes := (&console.Handler{}).Routes()
	if len(routes) == 0 {
		t.Fatal("the console mounts no page")
	}
	for _, r := range routes {
		if r.Op == "" {
			if r.Method != "GET" {
				t.Errorf("%s %s changes something without naming its use-case", r.Method, r.Path)
			}
			continue
		}
		want, ok := apiScope[string(r.Op)]
		if !ok {
			t.Errorf("%s %s: use-case %s has no /api/v1 route", r.Method, r.Path, r.Op)
			continue
		}
		if got := r.Op.Scope(); got != want {
			t.Errorf("%s %s needs %s; the API route of %s needs %s", r.Method, r.Path, got, r.Op, want)
		}
	}
}
