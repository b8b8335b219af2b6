package playground

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// algs are the signature algorithms the playground accepts, as the
// tenant's discovery document lists them (never "none", never HMAC).
var algs = []jose.SignatureAlgorithm{jose.ES256, jose.RS256}

// jwks fetches the tenant's public keys.
func (h *Handler) jwks(ctx context.Context, issuer string) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, issuer+"/.well-known/jwks.json", nil)
	if err != nil {
		return set, err
	}
	resp, err := h.client().Do(req)
	if err != nil {
		return set, fmt.Errorf("JWKS request: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return set, fmt.Errorf("the JWKS endpoint answered %s", resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&set); err != nil {
		return set, fmt.Errorf("the JWKS is not JSON: %w", err)
	}
	return set, nil
}

// decoded is a verified JWT as the result page shows it.
type decoded struct {
	// Header and Claims are pretty-printed JSON.
	Header, Claims string
	// KeyID and Alg name the key that verified the signature.
	KeyID, Alg string
	// Times are the time claims in words (exp, iat, auth_time, nbf).
	Times  []timeClaim
	claims map[string]any
}

type timeClaim struct{ Name, At, Rel string }

// decode verifies raw's signature with the key its kid names in keys and
// returns its header and claims. Claims are not checked here.
func decode(raw string, keys jose.JSONWebKeySet, now time.Time) (decoded, error) {
	jws, err := jose.ParseSignedCompact(raw, algs)
	if err != nil {
		return decoded{}, fmt.Errorf("not a compact JWS signed with %v: %w", algs, err)
	}
	if len(jws.Signatures) != 1 {
		return decoded{}, errors.New("not exactly one signature")
	}
	hdr := jws.Signatures[0].Header
	found := keys.Key(hdr.KeyID)
	if len(found) == 0 {
		return decoded{}, fmt.Errorf("no key %q in the issuer's JWKS", hdr.KeyID)
	}
	payload, err := jws.Verify(found[0].Key)
	if err != nil {
		return decoded{}, fmt.Errorf("the signature does not verify with key %q: %w", hdr.KeyID, err)
	}
	rawHeader, err := base64.RawURLEncoding.DecodeString(strings.SplitN(raw, ".", 2)[0])
	if err != nil {
		return decoded{}, err
	}
	d := decoded{KeyID: hdr.KeyID, Alg: hdr.Algorithm, Header: pretty(rawHeader), Claims: pretty(payload)}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&d.claims); err != nil {
		return decoded{}, fmt.Errorf("the claims are not a JSON object: %w", err)
	}
	for _, name := range []string{"iat", "auth_time", "nbf", "exp"} {
		n, ok := d.claims[name].(json.Number)
		if !ok {
			continue
		}
		secs, err := n.Int64()
		if err != nil {
			continue
		}
		at := time.Unix(secs, 0).UTC()
		d.Times = append(d.Times, timeClaim{Name: name, At: at.Format(time.RFC3339), Rel: relative(at, now)})
	}
	return d, nil
}

// checkIDToken makes the checks of OIDC Core 1.0 §3.1.3.7 that the
// signature does not cover: iss, aud (and azp), exp, and the nonce this
// browser sent (§3.1.2.1, against replayed or injected tokens).
func checkIDToken(c map[string]any, issuer, clientID, nonce string, now time.Time) error {
	if c["iss"] != issuer {
		return fmt.Errorf("iss is %v, not %s", c["iss"], issuer)
	}
	var aud []string
	switch a := c["aud"].(type) {
	case string:
		aud = []string{a}
	case []any:
		for _, x := range a {
			if s, ok := x.(string); ok {
				aud = append(aud, s)
			}
		}
	}
	if !slices.Contains(aud, clientID) {
		return fmt.Errorf("aud %v does not name %s", aud, clientID)
	}
	if azp, ok := c["azp"].(string); (len(aud) > 1 || ok) && azp != clientID {
		return fmt.Errorf("azp is %q, not %s", azp, clientID)
	}
	exp, ok := c["exp"].(json.Number)
	secs, err := exp.Int64()
	if !ok || err != nil || !now.Before(time.Unix(secs, 0).Add(time.Minute)) {
		return errors.New("the ID token has expired or has no exp")
	}
	if n, _ := c["nonce"].(string); n != nonce {
		return errors.New("its nonce is not the one this browser sent (a replayed or injected ID token)")
	}
	return nil
}

// pretty indents a JSON document, or returns it as it is.
func pretty(raw []byte) string {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}

// relative says when at is, seen from now, in words.
func relative(at, now time.Time) string {
	d := at.Sub(now).Round(time.Second)
	switch {
	case d > 0:
		return "in " + d.String()
	case d < 0:
		return (-d).String() + " ago"
	default:
		return "now"
	}
}
