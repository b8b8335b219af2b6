package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/mfa"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// Passkeys and security keys (WebAuthn, issue 11). The four ceremonies of
// internal/mfa run here with their server side in the store, so the
// account page, /api/v1/me/mfa and the sign-in pages (internal/login)
// share one rule for each:
//
//	BeginPasskeyRegistration  → navigator.credentials.create → FinishPasskeyRegistration   (me:write)
//	BeginPasskeySecondFactor  → navigator.credentials.get    → FinishPasskeySecondFactor   (after a password)
//	BeginPasskeySignIn        → navigator.credentials.get    → FinishPasskeySignIn         (passwordless)
//
//   - The relying party is the tenant's issuer: its host is the RP ID, its
//     origin the only origin accepted (mfa.NewWebAuthn). A tenant whose
//     issuer is an IP address cannot use passkeys (ErrPasskeysUnavailable).
//   - A Begin stores the ceremony's session data as a model.MFAChallenge
//     (random ID, purpose, user, expiry on the injected clock: 5 minutes to
//     register, 3 to sign in) that any node can finish; the Finish takes
//     (deletes) it before verifying, so an answer is accepted once — a
//     replay, or a second try after a refusal, finds no challenge. A
//     challenge of another purpose or another user is refused as if it
//     were gone.
//   - A sign-in stores the authenticator's new sign counter with the
//     store's compare-and-swap (Factors.Use): a counter that did not go up
//     — a cloned authenticator, or the same assertion used twice at once —
//     is refused (WebAuthn §6.1.1).
//   - A second-factor answer counts against the user's second-factor
//     throttle before it is checked, as a TOTP code does (CheckTOTP: one
//     budget per user, "mfa:<user ID>"); a success clears it. A
//     passwordless sign-in has no user to count against until the
//     signature is verified, and a signature cannot be guessed: it is not
//     throttled, only audited by the caller.
//   - The sign-in use-cases record no event: the sign-in pages record
//     login.second_factor, login.succeeded or login.failed with what they
//     know of the request. A registration records mfa.enrolled (the
//     factor's ID, type and name, never key material).

// Purposes of the WebAuthn ceremonies in flight (model.MFAChallenge.Purpose).
const (
	PurposeRegister     = "register"
	PurposeSignIn       = "login"
	PurposeSecondFactor = "second-factor"
)

// ErrPasskeysUnavailable: the tenant's issuer is an IP address, which no
// browser accepts as a WebAuthn relying party. It wraps store.ErrConflict
// (409), with the sentence to show.
var ErrPasskeysUnavailable error = &Error{Public: "passkeys need this service to be reached by a host name, not an IP address; ask an administrator to change the tenant's issuer", Err: store.ErrConflict}

// Reasons of a refused passkey ceremony (PasskeyError.Reason), as the
// audit log records them.
const (
	// ReasonExpiredChallenge: no such ceremony in flight — it expired, was
	// already finished (a replay), or is another user's or purpose's.
	ReasonExpiredChallenge = "expired_challenge"
	// ReasonUnknownCredential: the credential is not registered (to this
	// user, for a second factor).
	ReasonUnknownCredential = "unknown_credential"
	// ReasonCloned: the sign counter did not go up.
	ReasonCloned = "cloned_authenticator"
	// ReasonInvalid: the answer failed verification (challenge, origin, RP
	// ID, signature, user presence or verification).
	ReasonInvalid = "invalid_credential"
	// ReasonNoCredentials: the user has no passkey to sign in with.
	ReasonNoCredentials = "no_credentials"
	// ReasonDisabled: the passkey's user is not active.
	ReasonDisabled = "disabled"
)

// PasskeyError is a refused passkey ceremony. Reason is for the audit log;
// Message is the sentence a user may see. The wrapped *model.ValidationError
// (errors.As) names the field ("challenge_id" or "credential") with what is
// wrong with it, for /api/v1 and the account page; the mfa sentinel
// (mfa.ErrCloned, mfa.ErrVerification, …), and store.ErrNotFound for a
// ceremony that is gone, are wrapped too (errors.Is).
type PasskeyError struct {
	Reason string
	// UserID is the user the credential belongs to, when it is known (a
	// passwordless sign-in refused after the lookup).
	UserID   string
	sentence string
	ve       *model.ValidationError
	cause    error
}

func (e *PasskeyError) Error() string {
	if e.cause != nil {
		return e.sentence + " (" + e.Reason + ": " + e.cause.Error() + ")"
	}
	return e.sentence + " (" + e.Reason + ")"
}

// Unwrap returns the validation error and the cause.
func (e *PasskeyError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.ve}
	}
	return []error{e.ve, e.cause}
}

// Message is the sentence a user may see.
func (e *PasskeyError) Message() string { return e.sentence }

// passkeyRefused builds a refusal: problem is what is wrong with field (a
// predicate: "has expired …"), sentence the same for a person.
func passkeyRefused(reason, field, problem, sentence string, cause error) *PasskeyError {
	return &PasskeyError{Reason: reason, sentence: sentence, cause: cause,
		ve: &model.ValidationError{Problems: model.Problems{{Field: field, Message: problem}}}}
}

// clonedProblem is what is wrong with a clone's answer.
const clonedProblem = "comes from a security key that may have been copied, so it was refused; use another factor and ask an administrator to check it"

func challengeGone(cause error) *PasskeyError {
	return passkeyRefused(ReasonExpiredChallenge, "challenge_id", "has expired or was already used; start again",
		"This passkey request has expired or was already used; start again.", cause)
}

// ceremonyRefused maps a failed mfa Finish to a PasskeyError; any other
// error (a corrupt stored credential, the store) is returned as it is.
func ceremonyRefused(err error) error {
	switch {
	case errors.Is(err, mfa.ErrCloned):
		return passkeyRefused(ReasonCloned, "credential", clonedProblem,
			mfa.ErrCloned.Error(), err)
	case errors.Is(err, mfa.ErrUnknownCredential):
		return passkeyRefused(ReasonUnknownCredential, "credential", "is not a passkey or security key registered to the account",
			mfa.ErrUnknownCredential.Error(), err)
	case errors.Is(err, mfa.ErrVerification):
		return passkeyRefused(ReasonInvalid, "credential", "could not be verified (another site's, another request's, or damaged); try again",
			"The passkey's answer could not be verified; try again.", err)
	}
	return err
}

// relyingParty is the tenant's WebAuthn relying party.
func relyingParty(t model.Tenant) (*mfa.WebAuthn, error) {
	rp, err := mfa.NewWebAuthn(t.Issuer, t.Name)
	if err != nil {
		return nil, fmt.Errorf("%w (%w)", ErrPasskeysUnavailable, err)
	}
	return rp, nil
}

// PasskeysAvailable reports whether passkeys can be used with an issuer:
// browsers refuse an IP address as a relying party (use "localhost" in
// tests). The sign-in pages offer passkeys only where this holds.
func PasskeysAvailable(issuer string) bool {
	_, err := mfa.NewWebAuthn(issuer, "")
	return err == nil
}

// validChallengeID bounds what reaches the store.
func validChallengeID(id string) bool {
	return id != "" && len(id) <= 128 && model.ValidText(id)
}

// putChallenge stores a ceremony's session data under a new random ID.
func putChallenge(ctx context.Context, tx store.Repos, tenantID, userID, purpose string, data []byte, now time.Time) (string, error) {
	id, err := randomID("wac_", 20)
	if err != nil {
		return "", err
	}
	ttl := mfa.LoginTimeout
	if purpose == PurposeRegister {
		ttl = mfa.RegistrationTimeout
	}
	if err := tx.Factors().PutChallenge(ctx, model.MFAChallenge{TenantID: tenantID, ID: id, UserID: userID,
		Purpose: purpose, Data: data, ExpiresAt: now.Add(ttl)}); err != nil {
		return "", fmt.Errorf("store WebAuthn challenge: %w", err)
	}
	return id, nil
}

// takeChallenge takes (deletes) the ceremony id of userID and purpose,
// once: a challenge that is gone, expired, or another user's or purpose's
// is a PasskeyError (ReasonExpiredChallenge). Taking happens before the
// answer is verified and is not undone by a refusal, so no answer is
// checked twice against one challenge.
func (s *Service) takeChallenge(ctx context.Context, tenantID, id, userID, purpose string) (model.MFAChallenge, error) {
	if !validChallengeID(id) {
		return model.MFAChallenge{}, challengeGone(fmt.Errorf("challenge ID %.40q: %w", id, store.ErrNotFound))
	}
	c, err := s.Store.Factors().TakeChallenge(ctx, tenantID, id, s.now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return c, challengeGone(fmt.Errorf("challenge %s: %w", id, err))
	case err != nil:
		return c, fmt.Errorf("take WebAuthn challenge: %w", err)
	case c.UserID != userID || c.Purpose != purpose:
		return c, challengeGone(fmt.Errorf("challenge %s is for %q (%s), not %q (%s): %w", id, c.UserID, c.Purpose, userID, purpose, store.ErrNotFound))
	}
	return c, nil
}

// BeginPasskeyRegistration starts registering a passkey or security key
// for the actor: it returns the options for navigator.credentials.create
// ({"publicKey": {…}}, binary members base64url) and the ID of the
// ceremony, which FinishPasskeyRegistration takes within 5 minutes. The
// actor's registered credentials are excluded, so one authenticator is
// not registered twice. A user holding MaxFactors factors is refused
// (store.ErrConflict); a tenant whose issuer is an IP address is
// ErrPasskeysUnavailable.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, actor Actor, tenantID string) (options []byte, challengeID string, err error) {
	err = s.writeFactors(ctx, actor, tenantID, func(tx store.Repos, u model.User, now time.Time) ([]event, error) {
		rp, fs, err := registrationParty(ctx, tx, tenantID, u.ID)
		if err != nil {
			return nil, err
		}
		opts, session, err := rp.BeginRegistration(u, fs)
		if err != nil {
			return nil, err
		}
		if challengeID, err = putChallenge(ctx, tx, tenantID, u.ID, PurposeRegister, session, now); err != nil {
			return nil, err
		}
		options = opts
		return nil, nil
	})
	if err != nil {
		return nil, "", err
	}
	return options, challengeID, nil
}

// registrationParty is what both halves of a passkey registration start
// from: the tenant's relying party and the user's factors, refused when the
// user already holds MaxFactors (factorsWithRoom).
func registrationParty(ctx context.Context, tx store.Repos, tenantID, userID string) (*mfa.WebAuthn, []model.Factor, error) {
	t, err := getTenant(ctx, tx, tenantID)
	if err != nil {
		return nil, nil, err
	}
	rp, err := relyingParty(t)
	if err != nil {
		return nil, nil, err
	}
	fs, err := factorsWithRoom(ctx, tx, tenantID, userID)
	if err != nil {
		return nil, nil, err
	}
	return rp, fs, nil
}

// PasskeyRegistration is the answer of FinishPasskeyRegistration.
type PasskeyRegistration struct {
	Factor FactorView
	// RecoveryCodes is set when this was the user's first confirmed
	// factor: the new set of recovery codes, to show once (as after a
	// first authenticator app). Never log them.
	RecoveryCodes []string
}

// FinishPasskeyRegistration verifies the browser's answer (body: the
// PublicKeyCredential as JSON) to the ceremony challengeID of the actor
// and stores the new factor under name (model.ValidFactorName), with an
// mfa.enrolled event. The ceremony is taken first, once: a replayed or
// expired one, or another user's, is a PasskeyError on "challenge_id"; an
// answer that fails verification (another origin, another challenge, a
// bad signature) a PasskeyError on "credential". A name that is not valid
// is refused before the ceremony is taken, so the browser may send the
// same answer again with a better name. When the user had no other
// confirmed factor, a new set of recovery codes is returned.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, actor Actor, tenantID, challengeID, name string, body []byte) (PasskeyRegistration, error) {
	name = strings.TrimSpace(name)
	if err := validName(name); err != nil {
		return PasskeyRegistration{}, err
	}
	if len(body) == 0 {
		return PasskeyRegistration{}, passkeyRefused(ReasonInvalid, "credential", "is required: the answer of navigator.credentials.create, as JSON",
			"The browser sent no passkey; start again.", nil)
	}
	if s.Store == nil {
		return PasskeyRegistration{}, errors.New("admin: Service.Store is nil")
	}
	u, err := self(ctx, s.Store, actor, tenantID)
	if err != nil {
		return PasskeyRegistration{}, err
	}
	c, err := s.takeChallenge(ctx, tenantID, challengeID, u.ID, PurposeRegister)
	if err != nil {
		return PasskeyRegistration{}, err
	}
	var out PasskeyRegistration
	err = s.writeFactors(ctx, actor, tenantID, func(tx store.Repos, u model.User, now time.Time) ([]event, error) {
		rp, fs, err := registrationParty(ctx, tx, tenantID, u.ID)
		if err != nil {
			return nil, err
		}
		f, err := rp.FinishRegistration(u, fs, c.Data, body)
		if err != nil {
			return nil, ceremonyRefused(err)
		}
		if f.ID, err = randomID("mfa_", 15); err != nil {
			return nil, err
		}
		f.Name, f.CreatedAt = name, now
		if err := tx.Factors().Create(ctx, f); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return nil, fmt.Errorf("this passkey or security key is already registered: %w", err)
			}
			return nil, fmt.Errorf("create second factor: %w", err)
		}
		if out.RecoveryCodes, err = s.codesForFirstFactor(ctx, tx, tenantID, u.ID, f.ID, now); err != nil {
			return nil, err
		}
		out.Factor = NewFactorView(f)
		return []event{{Type: model.EventMFAEnrolled, TenantID: tenantID, Subject: u.ID, Details: map[string]any{
			"factor_id": f.ID, "type": f.Type, "name": f.Name, "recovery_codes_issued": len(out.RecoveryCodes),
			"via": actor.via("me/mfa/webauthn")}}}, nil
	})
	if err != nil {
		return PasskeyRegistration{}, err
	}
	return out, nil
}

// BeginPasskeySecondFactor starts the second step of userID's sign-in
// with one of their passkeys or security keys (allowCredentials lists
// them): it returns the options for navigator.credentials.get and the ID
// of the ceremony, which FinishPasskeySecondFactor takes within 3
// minutes. Like CheckTOTP it takes no actor: the user, signed in with
// their password, is proving possession of a factor. A user without one
// is a PasskeyError (ReasonNoCredentials); a user who is not active
// ErrForbidden.
func (s *Service) BeginPasskeySecondFactor(ctx context.Context, tenantID, userID string) (options []byte, challengeID string, err error) {
	u, err := s.signInUser(ctx, tenantID, userID)
	if err != nil {
		return nil, "", err
	}
	t, err := getTenant(ctx, s.Store, tenantID)
	if err != nil {
		return nil, "", err
	}
	rp, err := relyingParty(t)
	if err != nil {
		return nil, "", err
	}
	fs, err := s.Store.Factors().List(ctx, tenantID, u.ID)
	if err != nil {
		return nil, "", fmt.Errorf("second factors of %s: %w", u.ID, err)
	}
	opts, session, err := rp.BeginLogin(u, fs)
	if errors.Is(err, mfa.ErrNoCredentials) {
		return nil, "", passkeyRefused(ReasonNoCredentials, "credential", "cannot be asked for: the account has no passkey or security key",
			mfa.ErrNoCredentials.Error(), err)
	}
	if err != nil {
		return nil, "", err
	}
	if challengeID, err = putChallenge(ctx, s.Store, tenantID, u.ID, PurposeSecondFactor, session, s.now()); err != nil {
		return nil, "", err
	}
	return opts, challengeID, nil
}

// FinishPasskeySecondFactor verifies the browser's answer to the
// ceremony challengeID of userID and records the use of the factor that
// signed (its new sign counter, compare-and-swap). The attempt is counted
// on the user's second-factor throttle before anything is checked (a
// locked user is a *ThrottledError, ErrThrottled, whatever the answer); a
// success clears it. Refusals are PasskeyErrors: the ceremony gone (a
// replay: it is taken once), a credential that is not the user's, a bad
// answer, a counter that did not go up (ReasonCloned). It records no
// event: the sign-in page does.
func (s *Service) FinishPasskeySecondFactor(ctx context.Context, tenantID, userID, challengeID string, body []byte) (mfa.Assertion, error) {
	u, err := s.signInUser(ctx, tenantID, userID)
	if err != nil {
		return mfa.Assertion{}, err
	}
	key := codeKey(u.ID)
	if _, err := s.countAttempt(ctx, tenantID, key, s.CodeThrottle, true); err != nil {
		return mfa.Assertion{}, err
	}
	c, err := s.takeChallenge(ctx, tenantID, challengeID, u.ID, PurposeSecondFactor)
	if err != nil {
		return mfa.Assertion{}, err
	}
	t, err := getTenant(ctx, s.Store, tenantID)
	if err != nil {
		return mfa.Assertion{}, err
	}
	rp, err := relyingParty(t)
	if err != nil {
		return mfa.Assertion{}, err
	}
	fs, err := s.Store.Factors().List(ctx, tenantID, u.ID)
	if err != nil {
		return mfa.Assertion{}, fmt.Errorf("second factors of %s: %w", u.ID, err)
	}
	a, err := rp.FinishLogin(u, fs, c.Data, body)
	if err != nil {
		return mfa.Assertion{}, ceremonyRefused(err)
	}
	if err := s.usePasskey(ctx, tenantID, a); err != nil {
		return mfa.Assertion{}, err
	}
	if err := s.Store.Throttles().Reset(ctx, tenantID, key); err != nil {
		return mfa.Assertion{}, fmt.Errorf("reset second-factor throttle: %w", err)
	}
	return a, nil
}

// usePasskey records a verified assertion: the factor's new counter and
// credential, if the counter went up (or stays 0 for an authenticator
// that keeps none) — else ReasonCloned.
func (s *Service) usePasskey(ctx context.Context, tenantID string, a mfa.Assertion) error {
	err := s.Store.Factors().Use(ctx, tenantID, a.User.ID, a.FactorID, a.Counter, a.Credential, s.now())
	if errors.Is(err, store.ErrPrecondition) {
		pe := passkeyRefused(ReasonCloned, "credential", clonedProblem,
			mfa.ErrCloned.Error(), fmt.Errorf("%w: factor %s: sign counter %d not above the stored one: %w", mfa.ErrCloned, a.FactorID, a.Counter, err))
		pe.UserID = a.User.ID
		return pe
	}
	if err != nil {
		return fmt.Errorf("record use of second factor %s: %w", a.FactorID, err)
	}
	return nil
}

// BeginPasskeySignIn starts a passwordless sign-in: the options (no
// allowCredentials: the browser offers the passkeys it holds for the
// issuer's host; user verification required) and the ID of the ceremony,
// which FinishPasskeySignIn takes within 3 minutes.
func (s *Service) BeginPasskeySignIn(ctx context.Context, tenantID string) (options []byte, challengeID string, err error) {
	if s.Store == nil {
		return nil, "", errors.New("admin: Service.Store is nil")
	}
	t, err := getTenant(ctx, s.Store, tenantID)
	if err != nil {
		return nil, "", err
	}
	rp, err := relyingParty(t)
	if err != nil {
		return nil, "", err
	}
	opts, session, err := rp.BeginDiscoverableLogin()
	if err != nil {
		return nil, "", err
	}
	if challengeID, err = putChallenge(ctx, s.Store, tenantID, "", PurposeSignIn, session, s.now()); err != nil {
		return nil, "", err
	}
	return opts, challengeID, nil
}

// FinishPasskeySignIn verifies the browser's answer to the passwordless
// ceremony challengeID: the user is the one whose factor holds the
// answer's credential (Factors.GetByCredentialID) and whose ID is the
// answer's user handle; the user must have been verified by the
// authenticator (the Assertion's MultiFactor) and be active. The use is
// recorded as for a second factor (compare-and-swap of the counter).
// Refusals are PasskeyErrors (with UserID once the user is known:
// ReasonDisabled, ReasonCloned, …). It records no event: the sign-in page
// opens the session and records it.
func (s *Service) FinishPasskeySignIn(ctx context.Context, tenantID, challengeID string, body []byte) (mfa.Assertion, error) {
	if s.Store == nil {
		return mfa.Assertion{}, errors.New("admin: Service.Store is nil")
	}
	c, err := s.takeChallenge(ctx, tenantID, challengeID, "", PurposeSignIn)
	if err != nil {
		return mfa.Assertion{}, err
	}
	t, err := getTenant(ctx, s.Store, tenantID)
	if err != nil {
		return mfa.Assertion{}, err
	}
	rp, err := relyingParty(t)
	if err != nil {
		return mfa.Assertion{}, err
	}
	var owner string
	lookup := func(userHandle []byte, credentialID string) (model.User, []model.Factor, error) {
		if credentialID == "" || len(credentialID) > 1024 {
			return model.User{}, nil, mfa.ErrUnknownCredential
		}
		f, err := s.Store.Factors().GetByCredentialID(ctx, tenantID, credentialID)
		if errors.Is(err, store.ErrNotFound) {
			return model.User{}, nil, fmt.Errorf("%w: no factor holds it", mfa.ErrUnknownCredential)
		}
		if err != nil {
			return model.User{}, nil, fmt.Errorf("look up credential: %w", err)
		}
		owner = f.UserID
		if string(userHandle) != f.UserID {
			return model.User{}, nil, fmt.Errorf("%w: the user handle is not the credential's user", mfa.ErrUnknownCredential)
		}
		u, err := s.Store.Users().Get(ctx, tenantID, f.UserID)
		if err != nil {
			return model.User{}, nil, fmt.Errorf("user of credential: %w", err)
		}
		fs, err := s.Store.Factors().List(ctx, tenantID, u.ID)
		if err != nil {
			return model.User{}, nil, fmt.Errorf("second factors of %s: %w", u.ID, err)
		}
		return u, fs, nil
	}
	a, err := rp.FinishDiscoverableLogin(c.Data, body, lookup)
	if err != nil {
		err = ceremonyRefused(err)
		var pe *PasskeyError
		if errors.As(err, &pe) {
			pe.UserID = owner
		}
		return mfa.Assertion{}, err
	}
	if a.User.Status != model.UserActive {
		pe := passkeyRefused(ReasonDisabled, "credential", "belongs to an account that cannot sign in",
			"This account cannot sign in; ask an administrator.", fmt.Errorf("user %s is %s: %w", a.User.ID, a.User.Status, ErrForbidden))
		pe.UserID = a.User.ID
		return mfa.Assertion{}, pe
	}
	if err := s.usePasskey(ctx, tenantID, a); err != nil {
		return mfa.Assertion{}, err
	}
	return a, nil
}
