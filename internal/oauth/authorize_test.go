package oauth

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/policy"
	"github.com/intelliauth/intelliauth/scope"
)

func TestS256(t *testing.T) {
	// RFC 7636 Appendix B.
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	if !validVerifier(verifier) || !validChallenge(challenge) {
		t.Fatal("RFC 7636 Appendix B values refused")
	}
	if !s256Matches(verifier, challenge) {
		t.Error("RFC 7636 §4.6: Appendix B verifier does not match its challenge")
	}
	if s256Matches(verifier+"x", challenge) || s256Matches(verifier, challenge[:42]+"A") {
		t.Error("a wrong verifier matched")
	}
	for _, v := range []string{"", "short", string(make([]byte, 129)), verifier[:42], verifier + "!", verifier + " "} {
		if validVerifier(v) {
			t.Errorf("RFC 7636 §4.1 accepted verifier %q", v)
		}
	}
	for _, c := range []string{"", challenge + "A", challenge[:42], challenge[:42] + "="} {
		if validChallenge(c) {
			t.Errorf("RFC 7636 §4.2 accepted challenge %q", c)
		}
	}
}

func TestParsePrompt(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{"none", "none", true},
		{"login consent", "login consent", true},
		{"consent consent", "consent", true},
		{"select_account", "select_account", true},
		{"none login", "", false},
		{"login  consent", "", false},
		{"create", "", false},
		{"Login", "", false},
	}
	for _, c := range cases {
		got, err := parsePrompt(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("OIDC Core §3.1.2.1 prompt %q = %q, %v; want %q ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestAtHash(t *testing.T) {
	// OIDC Core 1.0 Appendix A.3 (RS256, SHA-256): access token and at_hash.
	const at = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
	if got := atHash(at); got != "77QmUPtjPfzWtF2AnpK9RQ" {
		t.Errorf("at_hash = %q, want 77QmUPtjPfzWtF2AnpK9RQ", got)
	}
}

func TestOpaque(t *testing.T) {
	a, b := newOpaque(), newOpaque()
	if len(a) != 43 || a == b {
		t.Errorf("newOpaque: %q %q", a, b)
	}
	if hashOpaque(a) == a || len(hashOpaque(a)) != 64 {
		t.Error("hashOpaque")
	}
	if codeRequestID(hashOpaque(a)) == hashOpaque(a) {
		t.Error("the kept request's name is the code hash")
	}
}

func TestUserClaimsPerScope(t *testing.T) {
	reg := policy.NewRegistry(model.PredefinedOIDCScopes(), nil)
	u := model.User{
		ID: "usr_1", Username: "alice", Email: "a@example.com", EmailVerified: true, Name: "Alice",
		Address: model.Address{Country: "GB"}, PhoneNumber: "+44", PhoneNumberVerified: false,
		UpdatedAt: time.Unix(1700000000, 0),
	}
	cases := []struct {
		scopes string
		want   []string
	}{
		{"openid", nil},
		{"openid profile", []string{"name", "preferred_username", "updated_at"}},
		{"openid email", []string{"email", "email_verified"}},
		{"openid address", []string{"address"}},
		{"openid phone", []string{"phone_number", "phone_number_verified"}},
		{"openid profile email address phone offline_access read:x", []string{"address", "email", "email_verified", "name", "phone_number", "phone_number_verified", "preferred_username", "updated_at"}},
	}
	for _, c := range cases {
		got := userClaims(reg, scope.New(strings.Fields(c.scopes)...), u)
		keys := slices.Sorted(maps.Keys(got))
		if !slices.Equal(keys, c.want) {
			t.Errorf("OIDC Core §5.4 %q releases %v, want %v", c.scopes, keys, c.want)
		}
	}
	if got := userClaims(reg, scope.New("email"), model.User{}); len(got) != 0 {
		t.Errorf("empty profile released %v (OIDC Core §5.3.2: omit)", got)
	}
}
