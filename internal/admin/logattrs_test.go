package admin

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/model"
)

// TestAdminChangeLinesNameTheResource: every "admin change" log line says
// which resource changed (kind and identifier) and carries the indexed
// fields under the keys the other packages log them with.
func TestAdminChangeLinesNameTheResource(t *testing.T) {
	f := newFixture(t)
	var buf bytes.Buffer
	f.svc.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
	f.withTenant(t)
	ctx := t.Context()
	if _, err := f.svc.CreateApplication(ctx, f.actor, "acme", ApplicationInput{ClientID: "batch", Name: "Batch", Type: model.AppM2M,
		AllowedScopes: []string{"read:tx"}, ScopePolicy: model.PolicyStrict}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateRole(ctx, f.actor, "acme", RoleInput{Name: "teller", Description: "Tellers.", Scopes: []string{"read:tx"}}); err != nil {
		t.Fatal(err)
	}

	want := map[string]map[string]string{
		model.EventTenantCreated:      {"resource": "tenant acme"},
		model.EventAPICreated:         {"resource": "api api.bank.example", "audience": "api.bank.example"},
		model.EventScopeCreated:       {"resource": "scope read:tx"},
		model.EventApplicationCreated: {"resource": "application batch", "client_id": "batch"},
		model.EventRoleCreated:        {"resource": "role teller"},
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] != "admin change" {
			continue
		}
		ev, _ := m["event"].(string)
		if m["resource"] == nil || m["resource"] == "" {
			t.Errorf("admin change %s names no resource: %s", ev, line)
		}
		w, ok := want[ev]
		if !ok || seen[ev] {
			continue
		}
		seen[ev] = true
		for k, v := range w {
			if m[k] != v {
				t.Errorf("admin change %s: %s = %v, want %q", ev, k, m[k], v)
			}
		}
	}
	for ev := range want {
		if !seen[ev] {
			t.Errorf("no admin change line for %s", ev)
		}
	}
}
