package mfa

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/intelliauth/intelliauth/internal/model"
)

// Ceremony timeouts sent to the browser and enforced on the session data.
// go-webauthn checks that expiry against the wall clock, not an injected
// one, so it is only a backstop: the caller's own record of the ceremony
// (model.MFAChallenge.ExpiresAt, on its injected clock) is what a test
// moves, and should not outlive these.
const (
	// RegistrationTimeout bounds a registration: finding the key, a PIN,
	// perhaps a name.
	RegistrationTimeout = 5 * time.Minute
	// LoginTimeout bounds a sign-in ceremony.
	LoginTimeout = 3 * time.Minute
)

// WebAuthn runs the WebAuthn ceremonies of one relying party: one issuer
// (one tenant's host). It is safe for concurrent use and holds no state
// between calls: each Begin returns the session data that the caller keeps
// (model.MFAChallenge.Data) and hands to the matching Finish, once.
//
// The four ceremonies:
//
//	BeginRegistration → navigator.credentials.create → FinishRegistration → store.Factors.Create
//	BeginLogin → navigator.credentials.get → FinishLogin → store.Factors.Use                (second factor)
//	BeginDiscoverableLogin → navigator.credentials.get → FinishDiscoverableLogin → Factors.Use (passwordless)
//
// Attestation is not asked for ("none"): any authenticator may register,
// and nothing is claimed about its make. No FIDO metadata is consulted.
type WebAuthn struct {
	wa *webauthn.WebAuthn
}

// NewWebAuthn configures the relying party of an issuer URL: the RP ID is
// the issuer's host without its port (WebAuthn §5.1.3: a registrable domain
// suffix of the origin's effective domain), the only accepted origin is the
// issuer's scheme://host[:port], and displayName is what authenticators show
// for the site (the host when empty). An issuer whose host is an IP address
// is refused: browsers refuse WebAuthn there (use "localhost" in tests).
//
// Registration asks for a discoverable credential when the authenticator
// can make one (residentKey "preferred"), so a key registered as a second
// factor can also sign in without a password; user verification is
// "preferred" for a second factor and "required" for a passwordless sign-in.
func NewWebAuthn(issuer, displayName string) (*WebAuthn, error) {
	u, err := url.Parse(issuer)
	if err != nil {
		return nil, fmt.Errorf("mfa: issuer %q: %w", issuer, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" {
		return nil, fmt.Errorf("mfa: issuer %q is not an http(s) URL with a host", issuer)
	}
	if net.ParseIP(u.Hostname()) != nil {
		return nil, fmt.Errorf("mfa: issuer %q: an IP address cannot be a WebAuthn RP ID", issuer)
	}
	host := u.Host
	if p := u.Port(); (u.Scheme == "https" && p == "443") || (u.Scheme == "http" && p == "80") {
		host = u.Hostname() // a browser's origin omits the default port
	}
	if displayName == "" {
		displayName = u.Hostname()
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  u.Hostname(),
		RPDisplayName:         displayName,
		RPOrigins:             []string{u.Scheme + "://" + host},
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationPreferred,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: LoginTimeout, TimeoutUVD: LoginTimeout},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: RegistrationTimeout, TimeoutUVD: RegistrationTimeout},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("mfa: WebAuthn relying party for %q: %w", issuer, err)
	}
	return &WebAuthn{wa: wa}, nil
}

// RPID is the relying party ID: the issuer's host.
func (w *WebAuthn) RPID() string { return w.wa.Config.RPID }

// Origin is the one origin a ceremony's client data may carry.
func (w *WebAuthn) Origin() string { return w.wa.Config.RPOrigins[0] }

// BeginRegistration starts registering a new authenticator for user, whose
// current factors are factors. It returns the options for
// navigator.credentials.create as JSON ({"publicKey": {…}}, binary fields
// base64url, as PublicKeyCredential.parseCreationOptionsFromJSON takes the
// inner object) and the session data to keep for FinishRegistration. The
// user's registered credentials are excluded, so an authenticator is not
// registered twice.
func (w *WebAuthn) BeginRegistration(user model.User, factors []model.Factor) (options, session []byte, err error) {
	wu, err := newWAUser(user, factors)
	if err != nil {
		return nil, nil, err
	}
	exclude := make([]protocol.CredentialDescriptor, 0, len(wu.creds))
	for _, c := range wu.creds {
		exclude = append(exclude, c.Descriptor())
	}
	creation, sd, err := w.wa.BeginRegistration(wu, webauthn.WithExclusions(exclude))
	if err != nil {
		return nil, nil, fmt.Errorf("mfa: begin registration: %w", err)
	}
	return marshalCeremony(creation, sd)
}

// FinishRegistration verifies the browser's answer to BeginRegistration's
// options (body: the PublicKeyCredential as JSON, as
// PublicKeyCredential.toJSON gives it) against session: challenge, origin,
// RP ID, user presence, the algorithm, and a "none" or verifiable
// attestation. It returns the new factor with TenantID, UserID, Type,
// CredentialID (base64url), Credential (webauthn.Credential as JSON),
// Counter and Confirmed set; the caller sets ID, Name and the times and
// stores it (store.Factors.Create refuses a credential ID already
// registered in the tenant).
//
// A failed verification wraps ErrVerification. The session data is not
// checked for reuse: the caller takes (deletes) it before calling.
func (w *WebAuthn) FinishRegistration(user model.User, factors []model.Factor, session, body []byte) (model.Factor, error) {
	wu, err := newWAUser(user, factors)
	if err != nil {
		return model.Factor{}, err
	}
	sd, err := unmarshalSession(session)
	if err != nil {
		return model.Factor{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return model.Factor{}, verificationError("registration response", err)
	}
	cred, err := w.wa.CreateCredential(wu, sd, parsed)
	if err != nil {
		return model.Factor{}, verificationError("registration", err)
	}
	raw, err := json.Marshal(cred)
	if err != nil {
		return model.Factor{}, fmt.Errorf("mfa: credential JSON: %w", err)
	}
	return model.Factor{
		TenantID:     user.TenantID,
		UserID:       user.ID,
		Type:         model.FactorWebAuthn,
		CredentialID: base64.RawURLEncoding.EncodeToString(cred.ID),
		Credential:   raw,
		Counter:      int64(cred.Authenticator.SignCount),
		Confirmed:    true,
	}, nil
}

// BeginLogin starts a second-factor sign-in of user, who has already given
// a password: allowCredentials lists the user's WebAuthn factors, user
// verification is preferred. ErrNoCredentials if the user has none.
// It returns the options for navigator.credentials.get as JSON
// ({"publicKey": {…}}) and the session data to keep for FinishLogin.
func (w *WebAuthn) BeginLogin(user model.User, factors []model.Factor) (options, session []byte, err error) {
	wu, err := newWAUser(user, factors)
	if err != nil {
		return nil, nil, err
	}
	if len(wu.creds) == 0 {
		return nil, nil, ErrNoCredentials
	}
	assertion, sd, err := w.wa.BeginLogin(wu, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, nil, fmt.Errorf("mfa: begin login: %w", err)
	}
	return marshalCeremony(assertion, sd)
}

// BeginDiscoverableLogin starts a passwordless sign-in: allowCredentials is
// empty, so the browser offers the passkeys it holds for this RP ID, and
// user verification is required (a PIN or a biometric is the second factor
// the passkey brings). It returns the options JSON and the session data to
// keep for FinishDiscoverableLogin.
func (w *WebAuthn) BeginDiscoverableLogin() (options, session []byte, err error) {
	assertion, sd, err := w.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, nil, fmt.Errorf("mfa: begin discoverable login: %w", err)
	}
	return marshalCeremony(assertion, sd)
}

// Assertion is a verified WebAuthn sign-in.
type Assertion struct {
	// User is the user signed in: the one given to FinishLogin, or the one
	// the lookup of FinishDiscoverableLogin returned.
	User model.User
	// FactorID is the factor whose credential signed.
	FactorID string
	// Counter is the authenticator's new sign counter and Credential the
	// updated credential (backup state, counter) as JSON: the caller stores
	// both with store.Factors.Use(…, Counter, Credential, now), whose
	// compare-and-swap refuses a counter not above the stored one (a
	// concurrent use of the same assertion, or of a clone), except 0 after 0
	// for authenticators that keep no counter.
	Counter    int64
	Credential []byte
	// AMR holds the RFC 8176 methods the ceremony shows: "swk" for a
	// credential that may be copied to other devices (backup eligible: a
	// synced passkey), "hwk" otherwise (bound to one authenticator), and
	// "user" when the authenticator verified the user (PIN, biometric).
	AMR []string
	// MultiFactor reports whether the authenticator verified the user (the
	// UV flag): the credential alone then proved two factors, possession and
	// knowledge or inherence, and the caller adds "mfa" to a passwordless
	// sign-in's amr. A second-factor sign-in is multi-factor anyway.
	MultiFactor bool
}

// FinishLogin verifies the browser's answer (body: the PublicKeyCredential
// JSON) to BeginLogin's options for user: the credential is one of the
// user's, and the challenge, origin, RP ID, user presence and signature are
// right. ErrUnknownCredential if the credential is not one of the user's,
// ErrCloned if the sign counter did not increase (WebAuthn §6.1.1: "a signal
// that the authenticator may be cloned"), ErrVerification for any other
// failure.
func (w *WebAuthn) FinishLogin(user model.User, factors []model.Factor, session, body []byte) (Assertion, error) {
	wu, err := newWAUser(user, factors)
	if err != nil {
		return Assertion{}, err
	}
	sd, err := unmarshalSession(session)
	if err != nil {
		return Assertion{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return Assertion{}, verificationError("login response", err)
	}
	if wu.factorID(parsed.RawID) == "" {
		return Assertion{}, fmt.Errorf("%w: credential %s", ErrUnknownCredential, parsed.ID)
	}
	cred, err := w.wa.ValidateLogin(wu, sd, parsed)
	if err != nil {
		return Assertion{}, verificationError("login", err)
	}
	return assertionOf(wu, cred, parsed)
}

// FinishDiscoverableLogin verifies the browser's answer to
// BeginDiscoverableLogin's options. lookup finds the account from the
// response's user handle (the user ID) and credential ID (base64url): it
// returns the user and the user's factors, and should return an error
// wrapping ErrUnknownCredential when no factor has that credential ID (any
// error it returns is returned wrapped). The user handle must be the
// user's ID, the credential one of the user's factors, and the user must
// have been verified. Errors as FinishLogin.
//
// It does not check the user's status (disabled, locked): the caller does,
// as for a password sign-in.
func (w *WebAuthn) FinishDiscoverableLogin(session, body []byte, lookup func(userHandle []byte, credentialID string) (model.User, []model.Factor, error)) (Assertion, error) {
	sd, err := unmarshalSession(session)
	if err != nil {
		return Assertion{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return Assertion{}, verificationError("login response", err)
	}
	var (
		found     *waUser
		lookupErr error
	)
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		u, factors, err := lookup(userHandle, base64.RawURLEncoding.EncodeToString(rawID))
		if err != nil {
			lookupErr = fmt.Errorf("mfa: passkey lookup: %w", err)
			return nil, lookupErr
		}
		wu, err := newWAUser(u, factors)
		if err != nil {
			lookupErr = err
			return nil, err
		}
		if wu.factorID(rawID) == "" {
			lookupErr = fmt.Errorf("%w: credential %s", ErrUnknownCredential, parsed.ID)
			return nil, lookupErr
		}
		found = wu
		return wu, nil
	}
	_, cred, err := w.wa.ValidatePasskeyLogin(handler, sd, parsed)
	if lookupErr != nil {
		return Assertion{}, lookupErr
	}
	if err != nil {
		return Assertion{}, verificationError("passwordless login", err)
	}
	return assertionOf(found, cred, parsed)
}

// assertionOf turns a validated credential into an Assertion, refusing a
// clone.
func assertionOf(wu *waUser, cred *webauthn.Credential, parsed *protocol.ParsedCredentialAssertionData) (Assertion, error) {
	if cred.Authenticator.CloneWarning {
		return Assertion{}, fmt.Errorf("%w: credential %s: sign counter %d not above the stored %d",
			ErrCloned, parsed.ID, parsed.Response.AuthenticatorData.Counter, cred.Authenticator.SignCount)
	}
	raw, err := json.Marshal(cred)
	if err != nil {
		return Assertion{}, fmt.Errorf("mfa: credential JSON: %w", err)
	}
	flags := parsed.Response.AuthenticatorData.Flags
	amr := []string{model.AMRHardware}
	if flags.HasBackupEligible() {
		amr = []string{model.AMRSoftware}
	}
	if flags.HasUserVerified() {
		amr = append(amr, model.AMRUser)
	}
	return Assertion{
		User:        wu.user,
		FactorID:    wu.factorID(cred.ID),
		Counter:     int64(cred.Authenticator.SignCount),
		Credential:  raw,
		AMR:         amr,
		MultiFactor: flags.HasUserVerified(),
	}, nil
}

// marshalCeremony encodes a Begin's options and session data as JSON.
func marshalCeremony(options any, sd *webauthn.SessionData) (opts, session []byte, err error) {
	if opts, err = json.Marshal(options); err != nil {
		return nil, nil, fmt.Errorf("mfa: options JSON: %w", err)
	}
	if session, err = json.Marshal(sd); err != nil {
		return nil, nil, fmt.Errorf("mfa: session JSON: %w", err)
	}
	return opts, session, nil
}

// unmarshalSession decodes session data a Begin returned. Malformed data is
// the caller's fault (it is never the browser's), so it is not
// ErrVerification.
func unmarshalSession(session []byte) (webauthn.SessionData, error) {
	var sd webauthn.SessionData
	if err := json.Unmarshal(session, &sd); err != nil {
		return webauthn.SessionData{}, fmt.Errorf("mfa: WebAuthn session data: %w", err)
	}
	if sd.Challenge == "" {
		return webauthn.SessionData{}, errors.New("mfa: WebAuthn session data has no challenge")
	}
	return sd, nil
}

// verificationError wraps a failed ceremony as ErrVerification (or
// ErrUnknownCredential), keeping the library's developer detail, which
// names the failed check, for the log.
func verificationError(what string, err error) error {
	sentinel := ErrVerification
	var unknown *protocol.ErrorUnknownCredential
	if errors.As(err, &unknown) {
		sentinel = ErrUnknownCredential
	}
	var perr *protocol.Error
	if errors.As(err, &perr) && perr.DevInfo != "" {
		return fmt.Errorf("%w: %s: %w (%s)", sentinel, what, err, perr.DevInfo)
	}
	return fmt.Errorf("%w: %s: %w", sentinel, what, err)
}
