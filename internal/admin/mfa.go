package admin

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/mfa"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// Second factors (issue 11). One rule, one place: /api/v1/me/mfa, the
// account page and the sign-in pages (internal/login) all run these
// use-cases, so a code is accepted, throttled, sealed and audited the same
// way wherever it is typed.
//
//   - A TOTP secret is sealed at rest with the master key (token.Sealer),
//     bound to its tenant, user and factor ID (totpAD), so a sealed secret
//     copied to another row does not open. It leaves the server once, in
//     EnrolTOTP's answer, and is never logged nor recorded in an event.
//   - A factor is usable only once confirmed by a valid code
//     (ConfirmTOTP). The first confirmed factor of a user comes with a set
//     of recovery codes, shown once, stored as hashes keyed with the master
//     key (recoveryKey).
//   - A code is accepted once: the step it matched is stored with the
//     store's compare-and-swap (Factors.Use), so a replay — even on another
//     node at the same instant — is refused (ErrCodeReplayed).
//   - Wrong codes at sign-in (CheckTOTP, UseRecoveryCode) are throttled
//     HERE, per user, in store.Throttles under "mfa:<user ID>" (database
//     backed, so it holds across nodes and restarts): each attempt is
//     counted before its check, and past CodeThrottle.MaxFailures (5) within
//     its window the user's second factor is locked — the next attempt, the
//     sixth, is refused with a *ThrottledError whose Codes is set, right
//     code or not. A success clears the key. The key is the second
//     factor's own: a code lock does not lock password sign-ins, nor the
//     reverse.

// ErrInvalidCode: a TOTP or recovery code was refused — wrong, malformed,
// outside its time window, or already used. Every refused code is
// errors.Is ErrInvalidCode; a replay is also ErrCodeReplayed; and every one
// is a *model.ValidationError on the field "code" (errors.As), whose
// message a user may see.
var ErrInvalidCode = mfa.ErrInvalidCode

// ErrCodeReplayed: a code that was valid had already been accepted.
var ErrCodeReplayed = mfa.ErrReplay

// MaxFactors bounds a user's second factors, confirmed or not (an
// unconfirmed enrolment is pruned by the store after a while).
const MaxFactors = 20

// factorsWithRoom returns the user's factors, confirmed or not, refusing
// (store.ErrConflict, with the way out) a user who already holds
// MaxFactors: the one check before any new factor is stored.
func factorsWithRoom(ctx context.Context, tx store.Repos, tenantID, userID string) ([]model.Factor, error) {
	fs, err := tx.Factors().List(ctx, tenantID, userID)
	if err != nil {
		return nil, fmt.Errorf("second factors of %s: %w", userID, err)
	}
	if len(fs) >= MaxFactors {
		return nil, refuse(store.ErrConflict, "you have %d second factors, the most an account may hold; remove one before adding another", len(fs))
	}
	return fs, nil
}

// codeError is a refused code (see ErrInvalidCode).
type codeError struct {
	replay bool
	ve     *model.ValidationError
}

func (e *codeError) Error() string { return e.ve.Error() }

func (e *codeError) Unwrap() []error {
	if e.replay {
		return []error{ErrCodeReplayed, ErrInvalidCode, e.ve}
	}
	return []error{ErrInvalidCode, e.ve}
}

func refusedCode(replay bool, message string) error {
	return &codeError{replay: replay, ve: &model.ValidationError{Problems: model.Problems{{Field: "code", Message: message}}}}
}

// The sentences of refused codes, after the field name "code".
const (
	msgCodeFormat     = "must be the 6 digits your authenticator app shows"
	msgCodeWrong      = "is not valid; check the time on your device and type the code your authenticator app shows now"
	msgCodeReplayed   = "was already used; wait for the next code and try again"
	msgRecoveryFormat = "must be one of your recovery codes (10 letters and digits, as xxxxx-xxxxx)"
	msgRecoveryWrong  = "is not one of your unused recovery codes"
)

// totpAD is the additional data a TOTP secret is sealed with: its tenant,
// user and factor.
func totpAD(tenantID, userID, factorID string) []byte {
	return []byte("intelliauth totp secret v1\x00" + tenantID + "\x00" + userID + "\x00" + factorID)
}

// codeKey is the throttle key of a user's second factor.
func codeKey(userID string) string { return "mfa:" + userID }

// FactorView is a second factor as its owner and admins see it: what it
// is, never its secret or credential.
type FactorView struct {
	ID   string           `json:"id"`
	Type model.FactorType `json:"type"`
	Name string           `json:"name"`
	// Confirmed is false for a TOTP enrolment not yet confirmed with a
	// code: it is never asked for at sign-in.
	Confirmed  bool       `json:"confirmed"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// NewFactorView is f without its secret.
func NewFactorView(f model.Factor) FactorView {
	v := FactorView{ID: f.ID, Type: f.Type, Name: f.Name, Confirmed: f.Confirmed, CreatedAt: f.CreatedAt}
	if !f.LastUsedAt.IsZero() {
		t := f.LastUsedAt
		v.LastUsedAt = &t
	}
	return v
}

// FactorList is a user's second factors, oldest first, and how many of
// their recovery codes are left unused.
type FactorList struct {
	Items             []FactorView `json:"items"`
	RecoveryCodesLeft int          `json:"recovery_codes_left"`
}

func factorList(ctx context.Context, r store.Repos, tenantID, userID string) (FactorList, error) {
	fs, err := r.Factors().List(ctx, tenantID, userID)
	if err != nil {
		return FactorList{}, fmt.Errorf("second factors of %s: %w", userID, err)
	}
	codes, err := r.Factors().RecoveryCodes(ctx, tenantID, userID)
	if err != nil {
		return FactorList{}, fmt.Errorf("recovery codes of %s: %w", userID, err)
	}
	out := FactorList{Items: make([]FactorView, 0, len(fs))}
	for _, f := range fs {
		out.Items = append(out.Items, NewFactorView(f))
	}
	for _, c := range codes {
		if c.UsedAt.IsZero() {
			out.RecoveryCodesLeft++
		}
	}
	return out, nil
}

// confirmedOthers counts the user's confirmed factors other than id.
func confirmedOthers(ctx context.Context, tx store.Repos, tenantID, userID, id string) (int, error) {
	fs, err := tx.Factors().List(ctx, tenantID, userID)
	if err != nil {
		return 0, fmt.Errorf("second factors of %s: %w", userID, err)
	}
	n := 0
	for _, f := range fs {
		if f.Confirmed && f.ID != id {
			n++
		}
	}
	return n, nil
}

// codesForFirstFactor issues a new set of recovery codes when factorID is
// the user's only confirmed factor (a first authenticator app or passkey),
// and returns nil otherwise: the codes already issued stay valid.
func (s *Service) codesForFirstFactor(ctx context.Context, tx store.Repos, tenantID, userID, factorID string, now time.Time) ([]string, error) {
	others, err := confirmedOthers(ctx, tx, tenantID, userID, factorID)
	if err != nil || others > 0 {
		return nil, err
	}
	return s.newRecoveryCodes(ctx, tx, tenantID, userID, now)
}

// getFactor loads one of the user's factors with an error that names it.
func getFactor(ctx context.Context, tx store.Repos, tenantID, userID, id string) (model.Factor, error) {
	if id == "" || len(id) > 64 || !model.ValidText(id) {
		return model.Factor{}, refuse(store.ErrNotFound, "second factor %.64q was not found", id)
	}
	f, err := tx.Factors().Get(ctx, tenantID, userID, id)
	if err != nil {
		return f, fmt.Errorf("second factor %q: %w", id, err)
	}
	return f, nil
}

// recoveryKey is the key of the user's recovery-code hashes
// (mfa.HashRecoveryCode): derived from the master key, bound to the tenant
// and the user, so that a copy of the database alone checks no guess of a
// code and a hash copied to another user's row matches nothing.
func (s *Service) recoveryKey(tenantID, userID string) ([]byte, error) {
	if s.Sealer == nil {
		return nil, errors.New("admin: Service.Sealer is nil")
	}
	return s.Sealer.Derive("intelliauth recovery code v1\x00" + tenantID + "\x00" + userID), nil
}

// newRecoveryCodes draws a set of codes and stores their hashes in place
// of the user's old set.
func (s *Service) newRecoveryCodes(ctx context.Context, tx store.Repos, tenantID, userID string, now time.Time) ([]string, error) {
	key, err := s.recoveryKey(tenantID, userID)
	if err != nil {
		return nil, err
	}
	codes, err := mfa.NewRecoveryCodes()
	if err != nil {
		return nil, err
	}
	hashes := make([]string, len(codes))
	for i, c := range codes {
		hashes[i] = mfa.HashRecoveryCode(key, c)
	}
	if err := tx.Factors().ReplaceRecoveryCodes(ctx, tenantID, userID, hashes, now); err != nil {
		return nil, fmt.Errorf("store recovery codes: %w", err)
	}
	return codes, nil
}

// validName checks a factor's name as a field problem.
func validName(name string) error {
	if err := model.ValidFactorName(name); err != nil {
		return invalid("name", "%s", err.Error())
	}
	return nil
}

// TOTPEnrolment is a TOTP factor being set up: the unconfirmed factor and
// the secret to hand to the user's authenticator app, as text, as an
// otpauth:// URI and as its QR code. It is the one answer that carries the
// secret: show it to the user, never log or store it.
type TOTPEnrolment struct {
	FactorID string
	Name     string
	// Secret is the base32 shared secret, for typing in by hand.
	Secret string
	// URI is the otpauth://totp/… key URI the QR code encodes.
	URI string
	// QRPNG is the QR code of URI, a PNG image rendered on the server.
	QRPNG []byte
}

// QRDataURL is the QR code as a data: URL for an <img src> (the page's
// Content-Security-Policy must allow img-src data:).
func (e TOTPEnrolment) QRDataURL() string {
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(e.QRPNG)
}

// EnrolTOTP starts setting up an authenticator app for the actor: it
// stores an unconfirmed TOTP factor named name with a fresh secret
// (sealed) and returns the secret to show. The factor counts for nothing
// until ConfirmTOTP; the store prunes it if it never is. No event is
// recorded yet (mfa.enrolled is the confirmation's). A user holding
// MaxFactors factors is refused (store.ErrConflict). It needs
// Service.Sealer.
func (s *Service) EnrolTOTP(ctx context.Context, actor Actor, tenantID, name string) (TOTPEnrolment, error) {
	name = strings.TrimSpace(name)
	if err := validName(name); err != nil {
		return TOTPEnrolment{}, err
	}
	if s.Sealer == nil {
		return TOTPEnrolment{}, errors.New("admin: Service.Sealer is nil")
	}
	var out TOTPEnrolment
	var key mfa.TOTPKey
	err := s.writeFactors(ctx, actor, tenantID, func(tx store.Repos, u model.User, now time.Time) ([]event, error) {
		t, err := getTenant(ctx, tx, tenantID)
		if err != nil {
			return nil, err
		}
		if _, err := factorsWithRoom(ctx, tx, tenantID, u.ID); err != nil {
			return nil, err
		}
		account := u.Username
		if account == "" {
			account = u.Email
		}
		if key, err = mfa.NewTOTP(t.Name, account); err != nil {
			return nil, err
		}
		id, err := randomID("mfa_", 15)
		if err != nil {
			return nil, err
		}
		sealed, err := s.Sealer.Seal([]byte(key.Secret), totpAD(tenantID, u.ID, id))
		if err != nil {
			return nil, fmt.Errorf("seal TOTP secret: %w", err)
		}
		if err := tx.Factors().Create(ctx, model.Factor{TenantID: tenantID, ID: id, UserID: u.ID, Type: model.FactorTOTP,
			Name: name, Secret: sealed, CreatedAt: now}); err != nil {
			return nil, fmt.Errorf("create second factor: %w", err)
		}
		out = TOTPEnrolment{FactorID: id, Name: name, Secret: key.Secret, URI: key.URI}
		return nil, nil
	})
	if err != nil {
		return TOTPEnrolment{}, err
	}
	if out.QRPNG, err = key.PNG(); err != nil {
		return TOTPEnrolment{}, err
	}
	return out, nil
}

// TOTPConfirmation is the answer of ConfirmTOTP.
type TOTPConfirmation struct {
	Factor FactorView
	// RecoveryCodes is set when this was the user's first confirmed
	// factor: the new set of recovery codes, to show once. Never log them.
	RecoveryCodes []string
}

// ConfirmTOTP confirms the actor's TOTP enrolment factorID with a code
// from their authenticator app (RFC 6238, ±1 step), with an mfa.enrolled
// event. The code's step is recorded (Factors.Use), so the same code is
// not accepted again, here or at sign-in. When the user had no other
// confirmed factor, a new set of recovery codes replaces any old one and
// is returned. A refused code is ErrInvalidCode (see there); a factor
// that is not a TOTP enrolment of the actor is store.ErrNotFound; one
// already confirmed store.ErrConflict. Confirmation is not throttled: the
// user proves they hold a secret the server gave them a moment ago.
func (s *Service) ConfirmTOTP(ctx context.Context, actor Actor, tenantID, factorID, code string) (TOTPConfirmation, error) {
	code, err := totpCode(code)
	if err != nil {
		return TOTPConfirmation{}, err
	}
	if s.Sealer == nil {
		return TOTPConfirmation{}, errors.New("admin: Service.Sealer is nil")
	}
	var out TOTPConfirmation
	err = s.writeFactors(ctx, actor, tenantID, func(tx store.Repos, u model.User, now time.Time) ([]event, error) {
		f, err := getFactor(ctx, tx, tenantID, u.ID, factorID)
		if err != nil {
			return nil, err
		}
		if f.Type != model.FactorTOTP {
			return nil, refuse(store.ErrNotFound, "second factor %.64q is not an authenticator app being set up", factorID)
		}
		if f.Confirmed {
			return nil, refuse(store.ErrConflict, "second factor %q is already set up", f.Name)
		}
		secret, err := s.Sealer.Open(f.Secret, totpAD(tenantID, u.ID, f.ID))
		if err != nil {
			return nil, fmt.Errorf("open TOTP secret of %s: %w", f.ID, err)
		}
		step, ok := mfa.VerifyTOTP(string(secret), code, now, -1)
		switch {
		case !ok:
			return nil, refusedCode(false, msgCodeWrong)
		case step <= f.Counter:
			return nil, refusedCode(true, msgCodeReplayed)
		}
		if err := tx.Factors().Use(ctx, tenantID, u.ID, f.ID, step, nil, now); err != nil {
			if errors.Is(err, store.ErrPrecondition) {
				return nil, refusedCode(true, msgCodeReplayed)
			}
			return nil, fmt.Errorf("confirm second factor: %w", err)
		}
		if out.RecoveryCodes, err = s.codesForFirstFactor(ctx, tx, tenantID, u.ID, f.ID, now); err != nil {
			return nil, err
		}
		f.Confirmed, f.Counter, f.LastUsedAt = true, step, now
		out.Factor = NewFactorView(f)
		return []event{{Type: model.EventMFAEnrolled, TenantID: tenantID, Subject: u.ID, Details: map[string]any{
			"factor_id": f.ID, "type": f.Type, "name": f.Name, "recovery_codes_issued": len(out.RecoveryCodes),
			"via": actor.via("me/mfa")}}}, nil
	})
	if err != nil {
		return TOTPConfirmation{}, err
	}
	return out, nil
}

// totpCode checks a typed TOTP code's shape (spaces dropped): six ASCII
// digits.
func totpCode(code string) (string, error) {
	code = strings.Join(strings.Fields(code), "")
	if len(code) != mfa.TOTPDigits || strings.Trim(code, "0123456789") != "" {
		return "", refusedCode(false, msgCodeFormat)
	}
	return code, nil
}

// signInUser loads the user proving a second factor at sign-in: they must
// exist in the tenant and be active.
func (s *Service) signInUser(ctx context.Context, tenantID, userID string) (model.User, error) {
	if s.Store == nil {
		return model.User{}, errors.New("admin: Service.Store is nil")
	}
	u, err := s.Store.Users().Get(ctx, tenantID, userID)
	if err != nil {
		return u, fmt.Errorf("user %q: %w", userID, err)
	}
	if u.Status != model.UserActive {
		return u, refuse(ErrForbidden, "user %q is %s", u.ID, u.Status)
	}
	return u, nil
}

// CheckTOTP is the sign-in check of a code from the user's authenticator
// app: it takes no actor — the user, signed in with their password, is
// proving possession of a factor. The code is tried against each of the
// user's confirmed TOTP factors (RFC 6238, ±1 step); the matching factor
// records the step (Factors.Use, compare-and-swap), so the code is
// accepted once (RFC 6238 §5.2): a second use, here or on another node,
// is ErrCodeReplayed. A refused code is ErrInvalidCode (a
// *model.ValidationError on "code"); attempts are throttled per user (see
// the top of this file: the sixth wrong code in a row is a
// *ThrottledError, ErrThrottled). A user who is not active is
// ErrForbidden. It records no audit event: the sign-in page records
// login.second_factor with what it knows of the request.
func (s *Service) CheckTOTP(ctx context.Context, tenantID, userID, code string) error {
	code, err := totpCode(code)
	if err != nil {
		return err
	}
	if s.Sealer == nil {
		return errors.New("admin: Service.Sealer is nil")
	}
	u, err := s.signInUser(ctx, tenantID, userID)
	if err != nil {
		return err
	}
	key := codeKey(u.ID)
	if _, err := s.countAttempt(ctx, tenantID, key, s.CodeThrottle, true); err != nil {
		return err
	}
	fs, err := s.Store.Factors().List(ctx, tenantID, u.ID)
	if err != nil {
		return fmt.Errorf("second factors of %s: %w", u.ID, err)
	}
	now := s.now()
	replayed := false
	for _, f := range fs {
		if f.Type != model.FactorTOTP || !f.Confirmed {
			continue
		}
		secret, err := s.Sealer.Open(f.Secret, totpAD(tenantID, u.ID, f.ID))
		if err != nil {
			return fmt.Errorf("open TOTP secret of %s: %w", f.ID, err)
		}
		step, ok := mfa.VerifyTOTP(string(secret), code, now, -1)
		if !ok {
			continue
		}
		if step <= f.Counter {
			replayed = true
			continue
		}
		switch err := s.Store.Factors().Use(ctx, tenantID, u.ID, f.ID, step, nil, now); {
		case errors.Is(err, store.ErrPrecondition):
			replayed = true
			continue
		case err != nil:
			return fmt.Errorf("record use of second factor %s: %w", f.ID, err)
		}
		if err := s.Store.Throttles().Reset(ctx, tenantID, key); err != nil {
			return fmt.Errorf("reset second-factor throttle: %w", err)
		}
		return nil
	}
	if replayed {
		return refusedCode(true, msgCodeReplayed)
	}
	return refusedCode(false, msgCodeWrong)
}

// maxRecoveryCode bounds a typed recovery code (separators included).
const maxRecoveryCode = 32

// UseRecoveryCode is the sign-in check of one of the user's recovery codes
// (no actor, as CheckTOTP): an unused code of the user's set is spent —
// once, even by two nodes at the same instant — and any other is
// ErrInvalidCode. Case, spaces and hyphens do not matter. It shares
// CheckTOTP's throttle (one budget of wrong codes per user) and, like it,
// records no event.
func (s *Service) UseRecoveryCode(ctx context.Context, tenantID, userID, code string) error {
	norm := strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.TrimSpace(code))
	if norm == "" || len(code) > maxRecoveryCode || strings.Trim(strings.ToLower(norm), "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
		return refusedCode(false, msgRecoveryFormat)
	}
	u, err := s.signInUser(ctx, tenantID, userID)
	if err != nil {
		return err
	}
	hashKey, err := s.recoveryKey(tenantID, u.ID)
	if err != nil {
		return err
	}
	key := codeKey(u.ID)
	if _, err := s.countAttempt(ctx, tenantID, key, s.CodeThrottle, true); err != nil {
		return err
	}
	switch err := s.Store.Factors().UseRecoveryCode(ctx, tenantID, u.ID, mfa.HashRecoveryCode(hashKey, norm), s.now()); {
	case errors.Is(err, store.ErrNotFound):
		return refusedCode(false, msgRecoveryWrong)
	case err != nil:
		return fmt.Errorf("spend recovery code: %w", err)
	}
	if err := s.Store.Throttles().Reset(ctx, tenantID, key); err != nil {
		return fmt.Errorf("reset second-factor throttle: %w", err)
	}
	return nil
}

// MyFactors lists the actor's own second factors (never their secrets)
// and how many recovery codes they have left.
func (s *Service) MyFactors(ctx context.Context, actor Actor, tenantID string) (FactorList, error) {
	if s.Store == nil {
		return FactorList{}, errors.New("admin: Service.Store is nil")
	}
	var out FactorList
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		u, err := self(ctx, tx, actor, tenantID)
		if err != nil {
			return err
		}
		out, err = factorList(ctx, tx, tenantID, u.ID)
		return err
	})
	return out, err
}

// RenameMyFactor gives one of the actor's factors a new name, with an
// mfa.renamed event; the same name changes nothing.
func (s *Service) RenameMyFactor(ctx context.Context, actor Actor, tenantID, factorID, name string) (FactorView, error) {
	name = strings.TrimSpace(name)
	if err := validName(name); err != nil {
		return FactorView{}, err
	}
	var out FactorView
	err := s.writeFactors(ctx, actor, tenantID, func(tx store.Repos, u model.User, now time.Time) ([]event, error) {
		f, err := getFactor(ctx, tx, tenantID, u.ID, factorID)
		if err != nil {
			return nil, err
		}
		before := f.Name
		f.Name = name
		out = NewFactorView(f)
		if before == name {
			return nil, nil
		}
		if err := tx.Factors().Rename(ctx, tenantID, u.ID, f.ID, name); err != nil {
			return nil, fmt.Errorf("rename second factor: %w", err)
		}
		return []event{{Type: model.EventMFARenamed, TenantID: tenantID, Subject: u.ID, Details: map[string]any{
			"factor_id": f.ID, "type": f.Type, "before": before, "after": name, "via": actor.via("me/mfa")}}}, nil
	})
	return out, err
}

// ErrLastFactor: the factor is the user's last confirmed one and the
// tenant's policy requires a second factor. It wraps store.ErrConflict
// (409), with the sentence to show.
var ErrLastFactor error = &Error{Public: "this is your last second factor and this service requires one; set up another before you remove this one", Err: store.ErrConflict}

// RemoveMyFactor removes one of the actor's factors, with an mfa.removed
// event. Removing the last confirmed factor is refused (ErrLastFactor)
// while the tenant's policy is required — the user would be made to enrol
// again at the next sign-in, and would hold no factor meanwhile; under
// another policy it is allowed, and the user's recovery codes go with it
// (they stand in for a factor the user no longer has). An unconfirmed
// enrolment can always be removed.
func (s *Service) RemoveMyFactor(ctx context.Context, actor Actor, tenantID, factorID string) error {
	return s.writeFactors(ctx, actor, tenantID, func(tx store.Repos, u model.User, now time.Time) ([]event, error) {
		t, err := getTenant(ctx, tx, tenantID)
		if err != nil {
			return nil, err
		}
		f, err := getFactor(ctx, tx, tenantID, u.ID, factorID)
		if err != nil {
			return nil, err
		}
		others, err := confirmedOthers(ctx, tx, tenantID, u.ID, f.ID)
		if err != nil {
			return nil, err
		}
		last := f.Confirmed && others == 0
		if last && t.MFAPolicy.Effective() == model.MFARequired {
			return nil, ErrLastFactor
		}
		if err := tx.Factors().Delete(ctx, tenantID, u.ID, f.ID); err != nil {
			return nil, fmt.Errorf("remove second factor: %w", err)
		}
		if last {
			if err := tx.Factors().ReplaceRecoveryCodes(ctx, tenantID, u.ID, nil, now); err != nil {
				return nil, fmt.Errorf("remove recovery codes: %w", err)
			}
		}
		return []event{{Type: model.EventMFARemoved, TenantID: tenantID, Subject: u.ID, Details: map[string]any{
			"factor_id": f.ID, "type": f.Type, "name": f.Name, "confirmed": f.Confirmed, "recovery_codes_removed": last,
			"via": actor.via("me/mfa")}}}, nil
	})
}

// ErrNoFactor: recovery codes were asked for by a user without a confirmed
// second factor. It wraps store.ErrConflict (409).
var ErrNoFactor error = &Error{Public: "recovery codes stand in for a second factor; set one up first", Err: store.ErrConflict}

// RegenerateRecoveryCodes replaces the actor's recovery codes with a new
// set — the old codes stop working at once — with an
// mfa.recovery_codes_regenerated event, and returns the codes to show
// once (never log them). A user without a confirmed factor is refused
// (ErrNoFactor).
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, actor Actor, tenantID string) ([]string, error) {
	var codes []string
	err := s.writeFactors(ctx, actor, tenantID, func(tx store.Repos, u model.User, now time.Time) ([]event, error) {
		n, err := confirmedOthers(ctx, tx, tenantID, u.ID, "")
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, ErrNoFactor
		}
		if codes, err = s.newRecoveryCodes(ctx, tx, tenantID, u.ID, now); err != nil {
			return nil, err
		}
		return []event{{Type: model.EventMFARecoveryCodes, TenantID: tenantID, Subject: u.ID, Details: map[string]any{
			"count": len(codes), "via": actor.via("me/mfa")}}}, nil
	})
	return codes, err
}

// UserFactors lists a user's second factors (by ID, username or email) as
// an admin sees them: names, types, dates, never secrets.
func (s *Service) UserFactors(ctx context.Context, actor Actor, tenantID, userRef string) (FactorList, error) {
	var out FactorList
	err := s.read(ctx, actor, func(tx store.Repos) error {
		if _, err := getTenant(ctx, tx, tenantID); err != nil {
			return err
		}
		u, err := resolveUser(ctx, tx, tenantID, userRef)
		if err != nil {
			return err
		}
		out, err = factorList(ctx, tx, tenantID, u.ID)
		return err
	})
	return out, err
}

// FactorReset is what ResetUserFactors did.
type FactorReset struct {
	// FactorsRemoved counts the factors deleted, unconfirmed ones included.
	FactorsRemoved int `json:"factors_removed"`
	// SessionsEnded counts the live browser sessions ended.
	SessionsEnded int `json:"sessions_ended"`
}

// ResetUserFactors is an admin's answer to a user who lost their factors
// (or whose factor is suspected stolen): it deletes every factor and
// recovery code of the user, clears their second-factor throttle, and ends
// every browser session of theirs — each must sign in again, and enrol
// anew where policy asks — in one transaction with an mfa.reset event
// whose actor is the admin and whose subject the user. Refresh tokens are
// not revoked (SetPassword with sign-out does that after a compromise).
func (s *Service) ResetUserFactors(ctx context.Context, actor Actor, tenantID, userRef string) (FactorReset, error) {
	var out FactorReset
	err := s.write(ctx, actor, func(tx store.Repos, now time.Time) ([]event, error) {
		if _, err := getTenant(ctx, tx, tenantID); err != nil {
			return nil, err
		}
		u, err := resolveUser(ctx, tx, tenantID, userRef)
		if err != nil {
			return nil, err
		}
		if out.FactorsRemoved, err = tx.Factors().DeleteByUser(ctx, tenantID, u.ID); err != nil {
			return nil, fmt.Errorf("remove second factors of %s: %w", u.ID, err)
		}
		if err := tx.Throttles().Reset(ctx, tenantID, codeKey(u.ID)); err != nil {
			return nil, fmt.Errorf("reset second-factor throttle: %w", err)
		}
		sids, err := endSessions(ctx, tx, tenantID, u.ID, now)
		if err != nil {
			return nil, err
		}
		out.SessionsEnded = len(sids)
		return []event{{Type: model.EventMFAReset, TenantID: tenantID, Subject: u.ID, Details: map[string]any{
			"user_id": u.ID, "username": u.Username, "factors_removed": out.FactorsRemoved, "sessions_ended": sids}}}, nil
	})
	return out, err
}
