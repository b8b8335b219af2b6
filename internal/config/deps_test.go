package config

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps holds the import rule of doc.go: config may use internal/token
// (and what token uses) to check the master key, but nothing that serves,
// stores or administers.
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
	const mod = "github.com/intelliauth/intelliauth/internal/"
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range []string{"admin", "server", "oauth", "catalog", "audit", "store/sqlite", "store/postgres", "store/sqlstore"} {
			if dep == mod+f {
				t.Errorf("internal/config depends on %s, which doc.go forbids", dep)
			}
		}
	}
}
