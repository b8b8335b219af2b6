package audit

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps holds the import rule of doc.go: internal/model, internal/store
// and the standard library only (plus the public scope package, which
// internal/model builds on).
func TestDeps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.CommandContext(t.Context(), goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := map[string]bool{
		"github.com/intelliauth/intelliauth/internal/audit": true,
		"github.com/intelliauth/intelliauth/internal/model": true,
		"github.com/intelliauth/intelliauth/internal/store": true,
		"github.com/intelliauth/intelliauth/scope":          true,
	}
	for _, dep := range strings.Fields(string(out)) {
		if !allowed[dep] {
			t.Errorf("internal/audit depends on %s, which doc.go forbids", dep)
		}
	}
}
