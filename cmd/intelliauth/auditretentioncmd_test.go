package main

import (
	"strings"
	"testing"
)

// TestAuditRetentionCommand: audit retention shows the defaults, sets the
// days per class (a class not given goes back to its default), and a value
// out of range is refused naming its flag.
func TestAuditRetentionCommand(t *testing.T) {
	n := startAPINode(t)
	type doc struct {
		IssuanceDays int `json:"issuance_days"`
		AdminDays    int `json:"admin_days"`
		Effective    struct {
			IssuanceDays int `json:"issuance_days"`
			SecurityDays int `json:"security_days"`
			AdminDays    int `json:"admin_days"`
		} `json:"effective"`
	}
	var d doc
	mustJSON(t, &d, n.API, "audit", "retention", "--output", "json")
	if d.IssuanceDays != 0 || d.Effective.IssuanceDays != 90 || d.Effective.SecurityDays != 365 {
		t.Fatalf("defaults: %+v", d)
	}
	mustJSON(t, &d, n.API, "audit", "retention", "--issuance-days", "30", "--admin-days", "800", "--output", "json")
	if d.IssuanceDays != 30 || d.AdminDays != 800 || d.Effective.AdminDays != 800 {
		t.Fatalf("after setting: %+v", d)
	}
	out := must(t, n.API, "audit", "retention")
	for _, want := range []string{"issuance     30 days", "security    365 days (default)", "admin       800 days"} {
		if !strings.Contains(out, want) {
			t.Errorf("table %q lacks %q", out, want)
		}
	}
	runFailCases(t, n.API, []failCase{
		{"negative days", []string{"audit", "retention", "--issuance-days", "-1"}, 1, []string{"--issuance-days"}},
		{"over ten years", []string{"audit", "retention", "--admin-days", "4000"}, 1, []string{"--admin-days", "3650"}},
	})
}
