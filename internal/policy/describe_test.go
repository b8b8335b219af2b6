package policy

import (
	"errors"
	"testing"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/oautherr"
	"github.com/intelliauth/intelliauth/scope"
)

// TestRefusalSaysWhyPerScope: the error_description of a refused request
// states the reason for each offending scope (RFC 6749 §5.2: printable
// ASCII, no '"' or '\'), naming only this tenant's things.
func TestRefusalSaysWhyPerScope(t *testing.T) {
	reg := fixture()
	grant := scope.New("read:transactions")
	for _, tc := range []struct {
		name string
		in   Input
		code string
		want string
	}{
		{"RFC 6749 §5.2 not on the allowlist → invalid_scope naming the app",
			Input{Scope: "read:transactions payments:approve", Registry: reg, App: app(model.PolicyStrict, "read:transactions")},
			oautherr.InvalidScope, "payments:approve is not on c1's allowlist"},
		{"RFC 6749 §5.2 a typo → the nearest registered name",
			Input{Scope: "read:transaction", Registry: reg, App: app(model.PolicyStrict, "read:transactions")},
			oautherr.InvalidScope, "read:transaction is not a scope of this tenant (did you mean read:transactions?)"},
		{"RFC 6749 §5.2 nothing near → no suggestion",
			Input{Scope: "zzzzzz", Registry: reg, App: app(model.PolicyStrict, "read:transactions")},
			oautherr.InvalidScope, "zzzzzz is not a scope of this tenant"},
		{"RFC 6749 §5.2 another API's scope → both APIs named",
			Input{Scope: "read:transactions", Audience: "api.health.example.com", Registry: reg, App: app(model.PolicyStrict, "read:transactions")},
			oautherr.InvalidScope, "read:transactions belongs to api.banking.example.com, not api.health.example.com"},
		{"RFC 6749 §5.2 several at once, each with its reason",
			Input{Scope: "payments:approve read:transaction", Registry: reg, App: app(model.PolicyStrict, "read:transactions")},
			oautherr.InvalidScope, "payments:approve is not on c1's allowlist; read:transaction is not a scope of this tenant (did you mean read:transactions?)"},
		{"RFC 6749 §6 a refresh may not widen its grant",
			Input{Scope: "read:transactions write:settings", Registry: reg, App: app(model.PolicyStrict, "read:transactions", "write:settings"), Ceiling: &grant},
			oautherr.InvalidScope, "write:settings was not in the original grant (a refresh may narrow a grant, never widen it)"},
		{"RFC 8707 §2 an unknown audience → the tenant's APIs",
			Input{Scope: "read:transactions", Audience: "api.nowhere", Registry: reg, App: app(model.PolicyStrict, "read:transactions")},
			oautherr.InvalidTarget, "the audience api.nowhere is not an API of this tenant (known: api.banking.example.com, api.health.example.com, https://example.test/t/banking/api/v1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decide(tc.in)
			var oe *oautherr.Error
			if !errors.As(err, &oe) || oe.Code != tc.code {
				t.Fatalf("err = %v, want %s", err, tc.code)
			}
			if oe.Description != tc.want {
				t.Errorf("error_description\n got %q\nwant %q", oe.Description, tc.want)
			}
			for _, r := range oe.Description {
				if !(r == 0x20 || r == 0x21 || (r >= 0x23 && r <= 0x5b) || (r >= 0x5d && r <= 0x7e)) {
					t.Errorf("error_description holds %q, outside RFC 6749 §5.2's set", r)
				}
			}
		})
	}
}

func TestDistanceIsBounded(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"read:transaction", "read:transactions", 1}, {"raed:records", "read:records", 2}, {"abc", "xyz", 3}, {"", "abcd", 3}} {
		if got := distance(tc.a, tc.b, 3); got != tc.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestNoteSaysWhyNothingWasGranted: a permissive application whose request
// keeps no scope gets a decision (a token, RFC 6749 §5.1, with an empty
// scope) whose Note gives each dropped scope's reason; a decision that
// grants something has no Note.
func TestNoteSaysWhyNothingWasGranted(t *testing.T) {
	reg := fixture()
	d, err := Decide(Input{Scope: "payments:approve read:transaction", Audience: "api.banking.example.com", Registry: reg, App: app(model.PolicyPermissive, "read:transactions")})
	if err != nil {
		t.Fatal(err)
	}
	if !d.Granted.Empty() {
		t.Fatalf("granted %v", d.Granted.Names())
	}
	want := "every requested scope was dropped: payments:approve is not on c1's allowlist; read:transaction is not a scope of this tenant (did you mean read:transactions?)"
	if d.Note != want {
		t.Errorf("note\n got %q\nwant %q", d.Note, want)
	}
	d, err = Decide(Input{Scope: "payments:approve read:transactions", Registry: reg, App: app(model.PolicyPermissive, "read:transactions")})
	if err != nil || d.Note != "" {
		t.Errorf("a decision that grants read:transactions: note %q, err %v", d.Note, err)
	}
}
