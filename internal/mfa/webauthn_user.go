package mfa

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/intelliauth/intelliauth/internal/model"
)

// waUser adapts a model.User and its factors to webauthn.User. Only the
// user's confirmed WebAuthn factors are its credentials, in the order given.
type waUser struct {
	user  model.User
	creds []webauthn.Credential
	// factorIDs[i] is the ID of the factor creds[i] was decoded from.
	factorIDs []string
}

var _ webauthn.User = (*waUser)(nil)

// newWAUser decodes the user's WebAuthn factors. A factor's stored Counter,
// not the copy inside its Credential JSON, is the sign counter a login
// compares against: it is the value the store's compare-and-swap keeps.
// A factor whose Credential does not decode, or whose credential ID differs
// from its CredentialID, is an error (a corrupt record, never skipped).
func newWAUser(u model.User, factors []model.Factor) (*waUser, error) {
	w := &waUser{user: u}
	for _, f := range factors {
		if f.Type != model.FactorWebAuthn || !f.Confirmed || f.UserID != u.ID {
			continue
		}
		var c webauthn.Credential
		if err := json.Unmarshal(f.Credential, &c); err != nil {
			return nil, fmt.Errorf("mfa: factor %s: credential: %w", f.ID, err)
		}
		if base64.RawURLEncoding.EncodeToString(c.ID) != f.CredentialID {
			return nil, fmt.Errorf("mfa: factor %s: credential ID does not match the stored one", f.ID)
		}
		if f.Counter < 0 || f.Counter > math.MaxUint32 {
			return nil, fmt.Errorf("mfa: factor %s: sign counter %d out of range", f.ID, f.Counter)
		}
		c.Authenticator.SignCount = uint32(f.Counter)
		c.Authenticator.CloneWarning = false
		w.creds = append(w.creds, c)
		w.factorIDs = append(w.factorIDs, f.ID)
	}
	return w, nil
}

// WebAuthnID is the user handle: the user's ID ("usr_…", at most 64 bytes,
// no personal data, as WebAuthn §14.6.1 asks).
func (w *waUser) WebAuthnID() []byte { return []byte(w.user.ID) }

// WebAuthnName is the username, which the authenticator shows to tell
// accounts apart.
func (w *waUser) WebAuthnName() string { return w.user.Username }

// WebAuthnDisplayName is the user's name, or the username when none is set.
func (w *waUser) WebAuthnDisplayName() string {
	if w.user.Name != "" {
		return w.user.Name
	}
	return w.user.Username
}

// WebAuthnCredentials are the user's registered credentials.
func (w *waUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }

// factorID is the ID of the factor holding the credential with that raw ID,
// or "" if the user has none.
func (w *waUser) factorID(rawID []byte) string {
	id := base64.RawURLEncoding.EncodeToString(rawID)
	for i, c := range w.creds {
		if base64.RawURLEncoding.EncodeToString(c.ID) == id {
			return w.factorIDs[i]
		}
	}
	return ""
}
