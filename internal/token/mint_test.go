package token

import (
	"reflect"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/scope"
)

// TestMintAccess: the access token of a grant is signed with the current
// key of its API's algorithm (ES256 when it names none), for the API's
// identifier, with the granted scopes, a fresh jti, and the lifetime of
// AccessTTL: the application's, else the API's, else the default (RFC 9068
// §2.2).
func TestMintAccess(t *testing.T) {
	kr, _, _ := newTestKeyring(t)
	app := model.Application{ClientID: "spa"}
	for _, tc := range []struct {
		name    string
		appTTL  time.Duration
		api     model.API
		wantAlg string
		wantTTL time.Duration
	}{
		{"API's alg and TTL", 0, model.API{Identifier: "api.health.example", SigningAlg: model.AlgRS256, AccessTokenTTL: 10 * time.Minute}, model.AlgRS256, 10 * time.Minute},
		{"application's TTL wins", 2 * time.Minute, model.API{Identifier: "api.bank.example", SigningAlg: model.AlgES256, AccessTokenTTL: 10 * time.Minute}, model.AlgES256, 2 * time.Minute},
		{"defaults", 0, model.API{Identifier: "api.bank.example"}, model.AlgES256, model.DefaultAccessTokenTTL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app.AccessTokenTTL = tc.appTTL
			g := AccessGrant{Issuer: "http://localhost:8080/t/banking", App: &app, API: &tc.api, Subject: "usr_1",
				Granted: scope.New("read:tx", "openid"), AuthTime: testNow.Add(-time.Minute), AMR: []string{"pwd", "otp", "mfa"}, Now: testNow}
			raw, c, err := kr.MintAccess(g)
			if err != nil {
				t.Fatal(err)
			}
			if got := AccessTTL(&app, &tc.api); got != tc.wantTTL {
				t.Errorf("AccessTTL = %s, want %s", got, tc.wantTTL)
			}
			header, _ := segments(t, raw)
			if header["alg"] != tc.wantAlg || header["kid"] != kr.KeyID(tc.wantAlg) {
				t.Errorf("header %v, want alg %s kid %s", header, tc.wantAlg, kr.KeyID(tc.wantAlg))
			}
			got, err := kr.VerifyAccessToken(raw)
			if err != nil {
				t.Fatal(err)
			}
			want := AccessClaims{Issuer: g.Issuer, Subject: "usr_1", Audience: tc.api.Identifier, ClientID: "spa", Scope: "openid read:tx",
				JTI: c.JTI, IssuedAt: testNow, ExpiresAt: testNow.Add(tc.wantTTL), AuthTime: testNow.Add(-time.Minute),
				// RFC 9068 §2.2.1: acr and amr of the user's authentication.
				ACR: "mfa", AMR: []string{"pwd", "otp", "mfa"}}
			if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(c, want) || len(c.JTI) != 22 {
				t.Errorf("claims %+v (returned %+v), want %+v", got, c, want)
			}
		})
	}
	// Two mints of one grant differ only in jti and signature: same length.
	g := AccessGrant{Issuer: "https://id.example", App: &app, API: &model.API{Identifier: "a"}, Subject: "s", Now: testNow}
	a, ca, _ := kr.MintAccess(g)
	b, cb, _ := kr.MintAccess(g)
	if ca.JTI == cb.JTI || len(a) != len(b) {
		t.Errorf("two mints: jti %s %s, lengths %d %d", ca.JTI, cb.JTI, len(a), len(b))
	}
}
