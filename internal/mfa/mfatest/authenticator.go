package mfatest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/fxamacker/cbor/v2"
)

// Authenticator flags (WebAuthn §6.1 authenticator data).
const (
	flagUP = 0x01
	flagUV = 0x04
	flagBE = 0x08
	flagBS = 0x10
	flagAT = 0x40
)

// Authenticator is a software WebAuthn authenticator with the client (the
// browser) around it: it writes the client data with Origin and checks that
// the options' RP ID is RPID, as a browser would. Its fields set how it
// behaves; change them between calls, not during one. It is safe for
// concurrent use.
type Authenticator struct {
	// Origin is the origin the client data claims (a browser puts the
	// page's origin there).
	Origin string
	// RPID is the relying party this authenticator answers for.
	RPID string
	// UserVerified sets the UV flag (a PIN or biometric was checked); true
	// by default.
	UserVerified bool
	// BackupEligible sets the BE and BS flags on new credentials: a synced
	// passkey rather than a device-bound key.
	BackupEligible bool
	// NoCounter keeps the sign counter at 0, as many platform
	// authenticators do.
	NoCounter bool

	mu    sync.Mutex
	creds []*credential
}

type credential struct {
	id         []byte
	key        *ecdsa.PrivateKey
	userHandle []byte
	counter    uint32
	flags      byte
}

// NewAuthenticator returns an authenticator that answers for rpID from a
// page at origin, verifying the user.
func NewAuthenticator(origin, rpID string) *Authenticator {
	return &Authenticator{Origin: origin, RPID: rpID, UserVerified: true}
}

// creationOptions is the part of {"publicKey": PublicKeyCredentialCreationOptions} it reads.
type creationOptions struct {
	PublicKey struct {
		RP struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		Challenge          string      `json:"challenge"`
		PubKeyCredParams   []credParam `json:"pubKeyCredParams"`
		ExcludeCredentials []struct {
			ID string `json:"id"`
		} `json:"excludeCredentials"`
	} `json:"publicKey"`
}

// credParam is one entry of pubKeyCredParams; -7 is ES256.
type credParam struct {
	Alg int `json:"alg"`
}

// requestOptions is the part of {"publicKey": PublicKeyCredentialRequestOptions} it reads.
type requestOptions struct {
	PublicKey struct {
		Challenge        string `json:"challenge"`
		RPID             string `json:"rpId"`
		AllowCredentials []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
	} `json:"publicKey"`
}

// coseEC2 is an ES256 public key as a COSE_Key (RFC 9053 §7.1.1).
type coseEC2 struct {
	Kty int    `cbor:"1,keyasint"`
	Alg int    `cbor:"3,keyasint"`
	Crv int    `cbor:"-1,keyasint"`
	X   []byte `cbor:"-2,keyasint"`
	Y   []byte `cbor:"-3,keyasint"`
}

// attestationObject is a "none" attestation (WebAuthn §8.7).
type attestationObject struct {
	Fmt      string         `cbor:"fmt"`
	AttStmt  map[string]any `cbor:"attStmt"`
	AuthData []byte         `cbor:"authData"`
}

var b64 = base64.RawURLEncoding

// Register answers navigator.credentials.create(options): optionsJSON is
// {"publicKey": {…}} as internal/mfa's BeginRegistration returns it. It
// makes a new ES256 credential for the options' user and returns the
// PublicKeyCredential JSON a browser sends back (clientDataJSON of type
// "webauthn.create", a "none" attestation object with the attested
// credential data). It fails, as a browser would, when the options' RP ID
// is not RPID, when ES256 is not offered, or when one of its credentials is
// excluded.
func (a *Authenticator) Register(optionsJSON []byte) ([]byte, error) {
	var o creationOptions
	if err := json.Unmarshal(optionsJSON, &o); err != nil {
		return nil, fmt.Errorf("mfatest: creation options: %w", err)
	}
	p := o.PublicKey
	if p.RP.ID != a.RPID {
		return nil, fmt.Errorf("mfatest: options for RP %q, authenticator for %q", p.RP.ID, a.RPID)
	}
	if !slices.Contains(p.PubKeyCredParams, credParam{Alg: -7}) {
		return nil, errors.New("mfatest: ES256 not offered")
	}
	userHandle, err := b64.DecodeString(p.User.ID)
	if err != nil {
		return nil, fmt.Errorf("mfatest: user.id: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ex := range p.ExcludeCredentials {
		for _, c := range a.creds {
			if ex.ID == b64.EncodeToString(c.id) {
				return nil, errors.New("mfatest: InvalidStateError: a credential of this authenticator is excluded")
			}
		}
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	c := &credential{id: make([]byte, 32), key: key, userHandle: userHandle, flags: flagUP}
	if _, err := rand.Read(c.id); err != nil {
		return nil, err
	}
	if a.UserVerified {
		c.flags |= flagUV
	}
	if a.BackupEligible {
		c.flags |= flagBE | flagBS
	}
	if !a.NoCounter {
		c.counter = 1
	}

	pub, err := key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		return nil, err
	}
	cose, err := cbor.Marshal(coseEC2{Kty: 2, Alg: -7, Crv: 1, X: pub[1:33], Y: pub[33:65]})
	if err != nil {
		return nil, err
	}
	authData := a.authData(c.flags|flagAT, c.counter)
	authData = append(authData, make([]byte, 16)...) // AAGUID: zero, as "none" allows
	authData = binary.BigEndian.AppendUint16(authData, uint16(len(c.id)))
	authData = append(authData, c.id...)
	authData = append(authData, cose...)
	attObj, err := cbor.Marshal(attestationObject{Fmt: "none", AttStmt: map[string]any{}, AuthData: authData})
	if err != nil {
		return nil, err
	}
	clientData, err := a.clientData("webauthn.create", p.Challenge)
	if err != nil {
		return nil, err
	}
	a.creds = append(a.creds, c)
	return json.Marshal(map[string]any{
		"id":    b64.EncodeToString(c.id),
		"rawId": b64.EncodeToString(c.id),
		"type":  "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(clientData),
			"attestationObject": b64.EncodeToString(attObj),
			"transports":        []string{"usb"},
		},
		"clientExtensionResults":  map[string]any{},
		"authenticatorAttachment": "cross-platform",
	})
}

// Assert answers navigator.credentials.get(options): optionsJSON is
// {"publicKey": {…}} as BeginLogin or BeginDiscoverableLogin returns it. It
// signs with the first of its credentials that allowCredentials lists, or,
// when the list is empty (a discoverable sign-in), with its newest
// credential, and returns the PublicKeyCredential JSON with the user handle.
// The counter goes up by one first, unless NoCounter is set.
func (a *Authenticator) Assert(optionsJSON []byte) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, challenge, err := a.pick(optionsJSON)
	if err != nil {
		return nil, err
	}
	if !a.NoCounter {
		c.counter++
	}
	return a.sign(c, challenge, c.counter)
}

// AssertWithCounter is Assert with the given sign counter, leaving the
// credential's own counter alone: an older counter is what a clone of the
// key would send.
func (a *Authenticator) AssertWithCounter(optionsJSON []byte, counter uint32) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, challenge, err := a.pick(optionsJSON)
	if err != nil {
		return nil, err
	}
	return a.sign(c, challenge, counter)
}

// Counter is the sign counter of the credential with that base64url ID, or
// 0 if the authenticator has none.
func (a *Authenticator) Counter(credentialID string) uint32 {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.creds {
		if b64.EncodeToString(c.id) == credentialID {
			return c.counter
		}
	}
	return 0
}

// pick finds the credential that answers the options.
func (a *Authenticator) pick(optionsJSON []byte) (*credential, string, error) {
	var o requestOptions
	if err := json.Unmarshal(optionsJSON, &o); err != nil {
		return nil, "", fmt.Errorf("mfatest: request options: %w", err)
	}
	p := o.PublicKey
	if p.RPID != a.RPID {
		return nil, "", fmt.Errorf("mfatest: options for RP %q, authenticator for %q", p.RPID, a.RPID)
	}
	if len(p.AllowCredentials) == 0 {
		if len(a.creds) == 0 {
			return nil, "", errors.New("mfatest: NotAllowedError: no credential")
		}
		return a.creds[len(a.creds)-1], p.Challenge, nil
	}
	for _, allowed := range p.AllowCredentials {
		for _, c := range a.creds {
			if allowed.ID == b64.EncodeToString(c.id) {
				return c, p.Challenge, nil
			}
		}
	}
	return nil, "", errors.New("mfatest: NotAllowedError: no allowed credential")
}

// sign builds the assertion: signature over authenticatorData ||
// SHA-256(clientDataJSON) (WebAuthn §6.3.3), ASN.1 DER as ES256 requires.
func (a *Authenticator) sign(c *credential, challenge string, counter uint32) ([]byte, error) {
	flags := byte(flagUP)
	if a.UserVerified {
		flags |= flagUV
	}
	flags |= c.flags & (flagBE | flagBS)
	authData := a.authData(flags, counter)
	clientData, err := a.clientData("webauthn.get", challenge)
	if err != nil {
		return nil, err
	}
	hash := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(slices.Clone(authData), hash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id":    b64.EncodeToString(c.id),
		"rawId": b64.EncodeToString(c.id),
		"type":  "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(clientData),
			"authenticatorData": b64.EncodeToString(authData),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(c.userHandle),
		},
		"clientExtensionResults":  map[string]any{},
		"authenticatorAttachment": "cross-platform",
	})
}

// authData is rpIdHash || flags || signCount (WebAuthn §6.1).
func (a *Authenticator) authData(flags byte, counter uint32) []byte {
	rpHash := sha256.Sum256([]byte(a.RPID))
	out := append(rpHash[:], flags)
	return binary.BigEndian.AppendUint32(out, counter)
}

// clientData is the client's CollectedClientData JSON (WebAuthn §5.8.1).
func (a *Authenticator) clientData(typ, challenge string) ([]byte, error) {
	return json.Marshal(map[string]any{
		"type":        typ,
		"challenge":   challenge,
		"origin":      a.Origin,
		"crossOrigin": false,
	})
}
