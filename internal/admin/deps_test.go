package admin

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps holds the import rule of doc.go: admin sits above the domain
// packages and below every surface (oauth, server, api, console) and never
// reaches a database driver or the configuration.
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
	const mod = "github.com/intelliauth/intelliauth/"
	forbidden := []string{
		mod + "internal/oauth", mod + "internal/server", mod + "internal/api", mod + "internal/console",
		mod + "internal/config", mod + "internal/catalog", mod + "internal/store/",
		"modernc.org/sqlite", "github.com/jackc/pgx",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") || (strings.HasSuffix(f, "/") && strings.HasPrefix(dep, f)) {
				t.Errorf("internal/admin depends on %s, which doc.go forbids", dep)
			}
		}
	}
}
