package secret

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps holds the import rule of doc.go: the standard library only.
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
	for _, dep := range strings.Fields(string(out)) {
		if dep != "github.com/intelliauth/intelliauth/internal/secret" {
			t.Errorf("internal/secret depends on %s; it must use the standard library only", dep)
		}
	}
}
