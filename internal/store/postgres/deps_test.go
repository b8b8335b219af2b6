package postgres

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps holds the import direction that doc.go states.
func TestDeps(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not on PATH")
	}
	out, err := exec.CommandContext(t.Context(), goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const module = "github.com/intelliauth/intelliauth/"
	allowed := map[string]bool{"internal/model": true, "internal/store": true, "scope": true, "internal/store/sqlstore": true, "internal/store/postgres": true}
	forbidden := []string{"modernc.org/sqlite"}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, module) && !allowed[strings.TrimPrefix(dep, module)] {
			t.Errorf("imports %s; only %v of this module are allowed", dep, allowed)
		}
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("imports %s", dep)
			}
		}
	}
}
