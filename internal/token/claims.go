package token

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/scope"
)

// AccessClaims are the claims of an access token (RFC 9068 §2.2).
//
// Times are carried in whole seconds (NumericDate, RFC 7519 §2); sub-second
// parts are dropped when signing.
type AccessClaims struct {
	// Issuer is the tenant's issuer URL ("iss").
	Issuer string
	// Subject is the user, or the client ID for client credentials ("sub").
	Subject string
	// Audience is the one API identifier the token is for ("aud"). It is
	// written as a single string: one audience per token.
	Audience string
	// ClientID is the OAuth client the token was issued to ("client_id").
	ClientID string
	// Scope is the space-separated granted scopes ("scope"); omitted when
	// empty.
	Scope string
	// JTI is the token's unique ID ("jti"), the handle for revocation.
	JTI string
	// IssuedAt ("iat") and ExpiresAt ("exp").
	IssuedAt  time.Time
	ExpiresAt time.Time
	// AuthTime is when the user authenticated ("auth_time"); zero for
	// client credentials, and then omitted.
	AuthTime time.Time
	// ACR and AMR say how the user authenticated ("acr", "amr": RFC 9068
	// §2.2.1, OIDC Core 1.0 §2, RFC 8176 values); omitted for client
	// credentials.
	ACR string
	AMR []string
}

// accessPayload is the wire form of AccessClaims as signed. Its field order
// is the claim order in the token; a struct of plain strings and integers
// (no maps, no custom marshalers) keeps encoding/json on its cached fast
// path.
type accessPayload struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience string   `json:"aud"`
	Expires  int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
	AuthTime int64    `json:"auth_time,omitempty"`
	ACR      string   `json:"acr,omitempty"`
	AMR      []string `json:"amr,omitempty"`
	JTI      string   `json:"jti"`
	ClientID string   `json:"client_id"`
	Scope    string   `json:"scope,omitempty"`
}

// accessPayloadIn is the wire form as read back, tolerant of the other
// encodings RFC 7519 allows (fractional NumericDate, "aud" as an array).
type accessPayloadIn struct {
	Issuer   string      `json:"iss"`
	Subject  string      `json:"sub"`
	Audience audience    `json:"aud"`
	Expires  numericDate `json:"exp"`
	IssuedAt numericDate `json:"iat"`
	AuthTime numericDate `json:"auth_time"`
	ACR      string      `json:"acr"`
	AMR      []string    `json:"amr"`
	JTI      string      `json:"jti"`
	ClientID string      `json:"client_id"`
	Scope    string      `json:"scope"`
}

// errClaims reports AccessClaims that would make a token RFC 9068 forbids.
var errClaims = errors.New("token: access token claims")

func (c *AccessClaims) payload() (accessPayload, error) {
	// RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat and jti are
	// REQUIRED. Refusing here means a bug upstream cannot mint a token a
	// resource server would accept with a hole in it.
	switch {
	case c.Issuer == "":
		return accessPayload{}, fmt.Errorf("%w: empty iss", errClaims)
	case c.Subject == "":
		return accessPayload{}, fmt.Errorf("%w: empty sub", errClaims)
	case c.Audience == "":
		return accessPayload{}, fmt.Errorf("%w: empty aud", errClaims)
	case c.ClientID == "":
		return accessPayload{}, fmt.Errorf("%w: empty client_id", errClaims)
	case c.JTI == "":
		return accessPayload{}, fmt.Errorf("%w: empty jti", errClaims)
	case c.IssuedAt.IsZero():
		return accessPayload{}, fmt.Errorf("%w: zero iat", errClaims)
	case !c.ExpiresAt.After(c.IssuedAt):
		return accessPayload{}, fmt.Errorf("%w: exp is not after iat", errClaims)
	}
	p := accessPayload{
		Issuer:   c.Issuer,
		Subject:  c.Subject,
		Audience: c.Audience,
		Expires:  c.ExpiresAt.Unix(),
		IssuedAt: c.IssuedAt.Unix(),
		JTI:      c.JTI,
		ClientID: c.ClientID,
		Scope:    c.Scope,
		ACR:      c.ACR,
		AMR:      c.AMR,
	}
	if !c.AuthTime.IsZero() {
		p.AuthTime = c.AuthTime.Unix()
	}
	return p, nil
}

func (p *accessPayloadIn) claims() AccessClaims {
	return AccessClaims{
		Issuer:    p.Issuer,
		Subject:   p.Subject,
		Audience:  string(p.Audience),
		ClientID:  p.ClientID,
		Scope:     p.Scope,
		JTI:       p.JTI,
		IssuedAt:  p.IssuedAt.time(),
		ExpiresAt: p.Expires.time(),
		AuthTime:  p.AuthTime.time(),
		ACR:       p.ACR,
		AMR:       p.AMR,
	}
}

// numericDate is seconds since the epoch (RFC 7519 §2), read from an
// integer or, as RFC 7519 allows, a fraction (truncated).
type numericDate int64

func (d *numericDate) UnmarshalJSON(b []byte) error {
	if i, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		*d = numericDate(i)
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f < -1<<62 || f > 1<<62 {
		return fmt.Errorf("token: NumericDate %s is not a number of seconds", b)
	}
	*d = numericDate(f)
	return nil
}

func (d numericDate) time() time.Time {
	if d == 0 {
		return time.Time{}
	}
	return time.Unix(int64(d), 0).UTC()
}

// audience is "aud": written as one string (RFC 9068 §3 prefers a single
// audience), read as a string or an array of exactly one (RFC 7519 §4.1.3
// allows both forms).
type audience string

func (a *audience) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '[' {
		var list []string
		if err := json.Unmarshal(b, &list); err != nil {
			return fmt.Errorf("token: aud: %w", err)
		}
		if len(list) != 1 {
			return fmt.Errorf("token: aud has %d values; want exactly one", len(list))
		}
		*a = audience(list[0])
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		return errors.New("token: aud is null")
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("token: aud: %w", err)
	}
	*a = audience(s)
	return nil
}

// NewJTI returns a fresh token ID: 128 random bits, base64url without
// padding (22 characters). 128 bits make a collision across every token a
// deployment will ever issue negligible, so revocation by jti is sound.
func NewJTI() string {
	var b [16]byte
	// crypto/rand.Read never fails since Go 1.24; it crashes the program
	// rather than return predictable bytes.
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// AccessGrant is what one access token is minted for: the token endpoint's
// decision (the application, the audience API and the granted scopes) and
// the grant's subject. MintAccess turns it into the claims and the token;
// the token endpoint and explain both call it, so that explain's token is
// the one the endpoint would issue.
type AccessGrant struct {
	// Issuer is the tenant's issuer URL.
	Issuer string
	// App is the client the token is issued to; its AccessTokenTTL, when
	// set, wins over the API's.
	App *model.Application
	// API is the audience (the decision's target API): its identifier, its
	// signing algorithm and its AccessTokenTTL.
	API *model.API
	// Subject is the user, or the client ID for client credentials.
	Subject string
	// Granted is the decision's granted scopes, implications included.
	Granted scope.Set
	// AuthTime is when the user authenticated; zero for client credentials.
	AuthTime time.Time
	// AMR is how the user authenticated (RFC 8176); nil for client
	// credentials. The token's acr is derived from it (model.ACR).
	AMR []string
	// Now is the instant of issue.
	Now time.Time
}

// AccessTTL is an access token's lifetime for an application and an API:
// the application's when it sets one, else the API's, else
// model.DefaultAccessTokenTTL.
func AccessTTL(app *model.Application, api *model.API) time.Duration {
	switch {
	case app.AccessTokenTTL > 0:
		return app.AccessTokenTTL
	case api.AccessTokenTTL > 0:
		return api.AccessTokenTTL
	}
	return model.DefaultAccessTokenTTL
}

// MintAccess signs the RFC 9068 access token of g with the keyring's
// current key for g.API's algorithm (ES256 when it names none), under a
// fresh jti. It returns the compact JWS and the claims it carries.
func (k *Keyring) MintAccess(g AccessGrant) (string, AccessClaims, error) {
	alg := g.API.SigningAlg
	if alg == "" {
		alg = model.AlgES256
	}
	c := AccessClaims{
		Issuer:    g.Issuer,
		Subject:   g.Subject,
		Audience:  g.API.Identifier,
		ClientID:  g.App.ClientID,
		Scope:     g.Granted.String(),
		JTI:       NewJTI(),
		IssuedAt:  g.Now,
		ExpiresAt: g.Now.Add(AccessTTL(g.App, g.API)),
		AuthTime:  g.AuthTime,
	}
	if len(g.AMR) > 0 {
		c.AMR, c.ACR = g.AMR, model.ACR(g.AMR)
	}
	raw, err := k.SignAccessToken(alg, c)
	if err != nil {
		return "", AccessClaims{}, err
	}
	return raw, c, nil
}
