package admin

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/intelliauth/intelliauth/internal/model"
)

// TestOpsTable: the table of who may do what names a platform scope for
// every Op, lists each Op once, and knows nothing else.
func TestOpsTable(t *testing.T) {
	ops := Ops()
	if len(ops) == 0 {
		t.Fatal("Ops() is empty")
	}
	platform := model.PlatformScopeNames()
	for i, op := range ops {
		if i > 0 && ops[i-1] >= op {
			t.Errorf("Ops() not sorted or duplicated at %q after %q", op, ops[i-1])
		}
		if s := op.Scope(); !slices.Contains(platform, s) {
			t.Errorf("%s requires %q, which is not a platform scope (%v)", op, s, platform)
		}
	}
	if s := Op("scopes.nonexistent").Scope(); s != "" {
		t.Errorf("an unknown Op requires %q, want none", s)
	}
}

// TestEventDetailsVia: the application an actor acted through joins the
// details object as via_client; other members, and details that are not
// an object, are left as they were.
func TestEventDetailsVia(t *testing.T) {
	obj := event{Type: "x", Details: map[string]any{"via": "me/profile", "after": map[string]any{"name": "<b>"}}}
	cases := []struct {
		name string
		e    event
		via  string
		want string
	}{
		{"object with via", obj, "console", `{"after":{"name":"\u003cb\u003e"},"via":"me/profile","via_client":"console"}`},
		{"object without via", obj, "", `{"after":{"name":"\u003cb\u003e"},"via":"me/profile"}`},
		{"empty object", event{Details: map[string]any{}}, "console", `{"via_client":"console"}`},
		{"null details", event{}, "console", `null`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := eventDetails(c.e, c.via)
			if err != nil || string(got) != c.want {
				t.Errorf("eventDetails = %s (%v), want %s", got, err, c.want)
			}
			if !json.Valid(got) {
				t.Errorf("not JSON: %s", got)
			}
		})
	}
	if _, err := eventDetails(event{Type: "x", Details: map[string]any{viaMember: "a"}}, "b"); err == nil {
		t.Error("details that already hold via_client were overwritten, want an error")
	}
}
