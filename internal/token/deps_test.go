package token

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps holds the import rule of doc.go: internal/model, internal/store,
// the public scope package, go-jose and the standard library only.
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
	const self = "github.com/intelliauth/intelliauth/internal/token"
	allowed := map[string]bool{
		self: true,
		"github.com/intelliauth/intelliauth/internal/model": true,
		// internal/store itself, never a backend below it.
		"github.com/intelliauth/intelliauth/internal/store": true,
		"github.com/intelliauth/intelliauth/scope":          true,
	}
	const jose = "github.com/go-jose/go-jose/v4"
	for _, dep := range strings.Fields(string(out)) {
		if !allowed[dep] && dep != jose && !strings.HasPrefix(dep, jose+"/") {
			t.Errorf("internal/token depends on %s, which doc.go forbids", dep)
		}
	}
}
