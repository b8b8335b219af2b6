package admin

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/password"
	"github.com/intelliauth/intelliauth/internal/store"
)

// The me use-cases are a user acting on themselves (PRODUCT.md §4: "the
// signed-in user's own me/profile, me/password, me/consents and
// me/sessions"). The actor IS the user: every method takes the user's ID
// from the actor, never from its input, so no input can reach another
// user's data. The actor must be of type user (ErrForbidden otherwise),
// the user must exist in the tenant (store.ErrNotFound) and be active
// (ErrForbidden: the API's access-token check already refuses a disabled
// user's tokens; this holds for any other caller of the use-cases).

// ErrForbidden: the actor may not run the use-case (not a user, or a
// disabled one). The API answers 403.
var ErrForbidden = errors.New("forbidden")

// ErrThrottled: too many wrong passwords or second-factor codes; a
// *ThrottledError says until when. The API answers 429.
var ErrThrottled = errors.New("too many failed attempts")

// ThrottledError is a refusal while one of the user's throttles is locked:
// the password's (ChangeMyPassword) or the second factor's (CheckTOTP,
// UseRecoveryCode).
type ThrottledError struct {
	// Until is when the lock ends.
	Until time.Time
	// Codes is set when the lock is the second factor's (wrong codes), not
	// the password's.
	Codes bool
}

func (e *ThrottledError) Error() string {
	what := "passwords"
	if e.Codes {
		what = "codes"
	}
	return fmt.Sprintf("too many wrong %s: try again after %s", what, e.Until.UTC().Format(time.RFC3339))
}

// Unwrap makes errors.Is(err, ErrThrottled) true.
func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// Password-change throttle defaults: those of the login page
// (internal/login), whose per-account counter ("user:<id>") the password
// change shares, so that guesses through either count against one budget.
const (
	DefaultPasswordMaxFailures = 5
	DefaultPasswordWindow      = 15 * time.Minute
	DefaultPasswordLockFor     = 15 * time.Minute
)

// PasswordThrottle bounds wrong current passwords in ChangeMyPassword. The
// zero value means the defaults above; the composition root sets the login
// page's own settings here when they differ.
type PasswordThrottle struct {
	MaxFailures     int
	Window, LockFor time.Duration
}

func (p PasswordThrottle) norm() PasswordThrottle {
	if p.MaxFailures <= 0 {
		p.MaxFailures = DefaultPasswordMaxFailures
	}
	if p.Window <= 0 {
		p.Window = DefaultPasswordWindow
	}
	if p.LockFor <= 0 {
		p.LockFor = DefaultPasswordLockFor
	}
	return p
}

// self returns the user the actor is, loaded from the tenant, refusing
// non-users and disabled users.
func self(ctx context.Context, r store.Repos, actor Actor, tenantID string) (model.User, error) {
	if err := actor.validateSelf(); err != nil {
		return model.User{}, err
	}
	if actor.Type != model.ActorUser {
		return model.User{}, refuse(ErrForbidden, "only a signed-in user manages their own account; this caller is a %s", actor.Type)
	}
	if _, err := getTenant(ctx, r, tenantID); err != nil {
		return model.User{}, err
	}
	// By ID only: a user ID must never resolve to another user's username.
	u, err := r.Users().Get(ctx, tenantID, actor.ID)
	if err != nil {
		return model.User{}, lookupErr(err, fmt.Sprintf("user %q", actor.ID))
	}
	if u.Status != model.UserActive {
		return model.User{}, refuse(ErrForbidden, "user %q is %s", u.ID, u.Status)
	}
	return u, nil
}

// writeSelf is write for a me use-case: fn gets the actor's user, loaded
// in the transaction.
func (s *Service) writeSelf(ctx context.Context, actor Actor, tenantID string, fn func(tx store.Repos, u model.User, now time.Time) ([]event, error)) error {
	return s.commit(ctx, actor, func(tx store.Repos, now time.Time) ([]event, error) {
		u, err := self(ctx, tx, actor, tenantID)
		if err != nil {
			return nil, err
		}
		return fn(tx, u, now)
	})
}

// ErrStepUpRequired: the user has a second factor, and the sign-in the
// actor acts with did not pass one — a password alone must not add,
// change or remove what guards the account (else it could pass a step-up
// the factor guards). The API answers 401 insufficient_user_authentication
// with acr_values="mfa" (RFC 9470 §3).
var ErrStepUpRequired error = &Error{Public: "changing your second factors needs a sign-in that passed one of them; sign in again with your second factor", Err: ErrForbidden}

// writeFactors is writeSelf for a use-case that changes the user's second
// factors or recovery codes: refused with ErrStepUpRequired when the user
// has a confirmed factor and the actor's sign-in passed none.
func (s *Service) writeFactors(ctx context.Context, actor Actor, tenantID string, fn func(tx store.Repos, u model.User, now time.Time) ([]event, error)) error {
	return s.writeSelf(ctx, actor, tenantID, func(tx store.Repos, u model.User, now time.Time) ([]event, error) {
		if !model.HasMFA(actor.AMR) {
			fs, err := tx.Factors().List(ctx, tenantID, u.ID)
			if err != nil {
				return nil, fmt.Errorf("second factors of %s: %w", u.ID, err)
			}
			for _, f := range fs {
				if f.Confirmed {
					return nil, ErrStepUpRequired
				}
			}
		}
		return fn(tx, u, now)
	})
}

// MyProfile returns the actor's own user (NewUserDoc leaves the password
// hash out).
func (s *Service) MyProfile(ctx context.Context, actor Actor, tenantID string) (model.User, error) {
	if s.Store == nil {
		return model.User{}, errors.New("admin: Service.Store is nil")
	}
	return self(ctx, s.Store, actor, tenantID)
}

// ProfileUpdate is what a user may change about themselves; nil fields are
// left as they are. The username, the verified flags and the status are not
// theirs to change: a new email (or phone number) is unverified.
type ProfileUpdate struct {
	Email       *string
	Name        *string
	GivenName   *string
	FamilyName  *string
	Picture     *string
	Locale      *string
	Address     *model.Address
	PhoneNumber *string
	// Version, when non-zero, must equal the stored version (else
	// store.ErrPrecondition).
	Version int64
}

// UpdateMyProfile changes the actor's own profile claims, with a
// user.updated event (before and after). A changed email resets
// email_verified, a changed phone number phone_number_verified. Nothing is
// written when nothing changes. A taken email is store.ErrConflict.
func (s *Service) UpdateMyProfile(ctx context.Context, actor Actor, tenantID string, upd ProfileUpdate) (model.User, error) {
	var out model.User
	err := s.writeSelf(ctx, actor, tenantID, func(tx store.Repos, u model.User, now time.Time) ([]event, error) {
		var err error
		var evs []event
		out, evs, err = updateUser(ctx, tx, u, UserUpdate{
			Email: upd.Email, Name: upd.Name, GivenName: upd.GivenName, FamilyName: upd.FamilyName, Picture: upd.Picture,
			Locale: upd.Locale, Address: upd.Address, PhoneNumber: upd.PhoneNumber, Version: upd.Version,
		}, now, actor.via("me/profile"))
		return evs, err
	})
	return out, err
}

// PasswordChange is a user's request to change their own password.
type PasswordChange struct {
	// Current is the password the user signs in with now.
	Current string
	// New must meet the policy (password.Check) and differ from Current.
	New string
	// SignOut also ends every browser session of the user and revokes
	// their refresh-token families (OWASP ASVS 3.3.3: the option to end
	// other sessions after a password change).
	SignOut bool
}

// ChangeMyPassword replaces the actor's own password after verifying the
// current one, with a user.password_set event (never holding either
// password).
//
// Wrong current passwords are throttled as sign-ins are (OWASP
// Authentication Cheat Sheet, "Protect Against Automated Attacks"), on the
// login page's per-account key "user:<id>" in store.Throttles, so a stolen
// access token cannot be used to guess the password faster than the login
// page allows: each attempt is counted before the (argon2id) check, so
// concurrent guesses share one budget; past PasswordThrottle.MaxFailures
// within Window the account is locked for LockFor — for sign-ins too — and
// attempts fail with a *ThrottledError. A wrong current password is a
// validation error on current_password and writes a login.failed event; a
// success clears the key, as a successful sign-in does.
func (s *Service) ChangeMyPassword(ctx context.Context, actor Actor, tenantID string, in PasswordChange) error {
	var p model.Problems
	if in.Current == "" {
		p.Add("current_password", "is required")
	}
	if err := password.Check(in.New); err != nil {
		p.Add("new_password", strings.TrimPrefix(err.Error(), "password "))
	} else if in.New == in.Current {
		p.Add("new_password", "must differ from the current password")
	}
	if err := p.Err(); err != nil {
		return err
	}
	if s.Store == nil {
		return errors.New("admin: Service.Store is nil")
	}
	u, err := self(ctx, s.Store, actor, tenantID)
	if err != nil {
		return err
	}
	key := "user:" + u.ID
	now := s.now()
	t, err := s.countAttempt(ctx, tenantID, key, s.PasswordThrottle, false)
	if err != nil {
		return err
	}
	ok := false
	if len(in.Current) <= password.MaxLength {
		ok, err = password.Verify(u.PasswordHash, in.Current)
		if err != nil && !errors.Is(err, password.ErrMalformed) {
			return fmt.Errorf("verify password: %w", err)
		}
	}
	if !ok {
		details := map[string]any{"reason": "wrong_password", "via": actor.via("me/password")}
		if now.Before(t.LockedUntil) {
			details["locked_until"] = t.LockedUntil
		}
		if err := s.commit(ctx, actor, func(store.Repos, time.Time) ([]event, error) {
			return []event{{Type: model.EventLoginFailed, TenantID: tenantID, Subject: u.ID, Details: details}}, nil
		}); err != nil {
			return err
		}
		return invalid("current_password", "is not your current password")
	}
	hash, err := password.Hash(in.New)
	if err != nil {
		return fmt.Errorf("admin: hash password: %w", err)
	}
	return s.writeSelf(ctx, actor, tenantID, func(tx store.Repos, cur model.User, now time.Time) ([]event, error) {
		if cur.PasswordHash != u.PasswordHash {
			return nil, refuse(store.ErrPrecondition, "the password changed meanwhile; try again")
		}
		if err := tx.Users().SetPassword(ctx, tenantID, u.ID, hash); err != nil {
			return nil, fmt.Errorf("set password: %w", err)
		}
		if err := tx.Throttles().Reset(ctx, tenantID, key); err != nil {
			return nil, fmt.Errorf("reset throttle: %w", err)
		}
		details := map[string]any{"user_id": u.ID, "username": u.Username, "via": actor.via("me/password"), "signed_out": in.SignOut}
		if in.SignOut {
			ended, revoked, err := signOut(ctx, tx, tenantID, u.ID)
			if err != nil {
				return nil, err
			}
			details["sessions_ended"], details["refresh_families_revoked"] = ended, revoked
		}
		return []event{{Type: model.EventUserPasswordSet, TenantID: tenantID, Subject: u.ID, Details: details}}, nil
	})
}

// MyConsents lists the actor's own consents, by client ID. Applications of
// implicit consent (first-party) hold none.
func (s *Service) MyConsents(ctx context.Context, actor Actor, tenantID string) ([]UserConsent, error) {
	if s.Store == nil {
		return nil, errors.New("admin: Service.Store is nil")
	}
	u, err := self(ctx, s.Store, actor, tenantID)
	if err != nil {
		return nil, err
	}
	return consentsOf(ctx, s.Store, tenantID, u.ID)
}

// RevokeMyConsent withdraws the actor's consent for one application and
// revokes that application's refresh-token families of the user, with the
// access tokens issued from them (store.RefreshTokens.RevokeByUser), in one
// transaction with a consent.revoked event. The next authorization asks
// again; an access token from a grant without a refresh token stays valid
// until it expires. No consent for clientID is store.ErrNotFound.
func (s *Service) RevokeMyConsent(ctx context.Context, actor Actor, tenantID, clientID string) error {
	return s.writeSelf(ctx, actor, tenantID, func(tx store.Repos, u model.User, now time.Time) ([]event, error) {
		c, err := tx.Consents().Get(ctx, tenantID, u.ID, clientID)
		if err != nil {
			return nil, lookupErr(err, fmt.Sprintf("the consent for %q", clientID))
		}
		ev, err := revokeConsent(ctx, tx, c, actor.via(viaMyConsents))
		if err != nil {
			return nil, err
		}
		return []event{ev}, nil
	})
}

// RevokeAllMyConsents withdraws every consent of the actor, revoking each
// application's refresh-token families of the user, with one
// consent.revoked event per application, and returns how many consents it
// withdrew.
func (s *Service) RevokeAllMyConsents(ctx context.Context, actor Actor, tenantID string) (int, error) {
	n := 0
	err := s.writeSelf(ctx, actor, tenantID, func(tx store.Repos, u model.User, now time.Time) ([]event, error) {
		cs, err := tx.Consents().ListByUser(ctx, tenantID, u.ID)
		if err != nil {
			return nil, fmt.Errorf("consents of %s: %w", u.ID, err)
		}
		evs := make([]event, 0, len(cs))
		for _, c := range cs {
			ev, err := revokeConsent(ctx, tx, c, actor.via(viaMyConsents))
			if err != nil {
				return nil, err
			}
			evs = append(evs, ev)
		}
		n = len(evs)
		return evs, nil
	})
	return n, err
}

// MySession is one of the user's browser sessions. ID is the session's
// public identifier — the sid claim of the ID tokens issued in it (OIDC
// Front-Channel Logout 1.0 §3), a one-way function of the stored ID, which
// is itself the hash of the cookie: it names the session without being a
// handle on it.
type MySession struct {
	ID        string    `json:"id"`
	AuthTime  time.Time `json:"auth_time"`
	CreatedAt time.Time `json:"created_at"`
	LastSeen  time.Time `json:"last_seen"`
	ExpiresAt time.Time `json:"expires_at"`
	UserAgent string    `json:"user_agent,omitempty"`
	IP        string    `json:"ip,omitempty"`
}

// SessionSID is the public identifier of a session: the same one-way
// function of its stored ID as the ID token's sid claim (internal/oauth).
func SessionSID(storedID string) string {
	sum := sha256.Sum256([]byte("sid:" + storedID))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// MySessions lists the actor's own browser sessions that have not expired,
// newest first.
func (s *Service) MySessions(ctx context.Context, actor Actor, tenantID string) ([]MySession, error) {
	if s.Store == nil {
		return nil, errors.New("admin: Service.Store is nil")
	}
	u, err := self(ctx, s.Store, actor, tenantID)
	if err != nil {
		return nil, err
	}
	ss, err := liveSessions(ctx, s.Store, tenantID, u.ID, s.now())
	if err != nil {
		return nil, err
	}
	out := make([]MySession, 0, len(ss))
	for _, se := range ss {
		last := se.LastSeen
		if last.IsZero() {
			last = se.CreatedAt
		}
		out = append(out, MySession{ID: SessionSID(se.ID), AuthTime: se.AuthTime, CreatedAt: se.CreatedAt, LastSeen: last,
			ExpiresAt: se.ExpiresAt, UserAgent: se.UserAgent, IP: se.IP})
	}
	return out, nil
}

func liveSessions(ctx context.Context, r store.Repos, tenantID, userID string, now time.Time) ([]model.Session, error) {
	ss, err := r.Sessions().ListByUser(ctx, tenantID, userID)
	if err != nil {
		return nil, fmt.Errorf("sessions of %s: %w", userID, err)
	}
	return slices.DeleteFunc(ss, func(se model.Session) bool { return !now.Before(se.ExpiresAt) }), nil
}

// EndMySession ends one of the actor's own browser sessions, by its public
// ID (MySession.ID), with a logout event: the browser holding it must sign
// in again at its next authorization request. A session of another user,
// an expired one or an unknown ID is store.ErrNotFound — the same answer,
// so the ID of someone else's session cannot be probed. Refresh tokens
// issued in the session are not revoked (RevokeMyConsent does that per
// application; offline access outlives the browser session by design).
func (s *Service) EndMySession(ctx context.Context, actor Actor, tenantID, id string) error {
	return s.writeSelf(ctx, actor, tenantID, func(tx store.Repos, u model.User, now time.Time) ([]event, error) {
		ss, err := liveSessions(ctx, tx, tenantID, u.ID, now)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(ss, func(se model.Session) bool { return SessionSID(se.ID) == id })
		if i < 0 {
			return nil, refuse(store.ErrNotFound, "session %q was not found in this tenant", id)
		}
		if err := tx.Sessions().Delete(ctx, tenantID, ss[i].ID); err != nil {
			return nil, writeErr(err, fmt.Sprintf("session %q", id))
		}
		return []event{{Type: model.EventLogout, TenantID: tenantID, Subject: u.ID,
			Details: map[string]any{"sid": id, "via": actor.via("me/sessions")}}}, nil
	})
}

// EndAllMySessions ends every browser session of the actor (expired ones
// not yet pruned included), with one logout event listing them, and returns
// how many live sessions it ended. Refresh tokens are not revoked (see
// EndMySession).
func (s *Service) EndAllMySessions(ctx context.Context, actor Actor, tenantID string) (int, error) {
	n := 0
	err := s.writeSelf(ctx, actor, tenantID, func(tx store.Repos, u model.User, now time.Time) ([]event, error) {
		sids, err := endSessions(ctx, tx, tenantID, u.ID, now)
		if err != nil {
			return nil, err
		}
		n = len(sids)
		if n == 0 {
			return nil, nil
		}
		return []event{{Type: model.EventLogout, TenantID: tenantID, Subject: u.ID,
			Details: map[string]any{"sids": sids, "via": actor.via("me/sessions")}}}, nil
	})
	return n, err
}

// endSessions ends every browser session of the user (expired ones not yet
// pruned included) and returns the public IDs of the live ones it ended.
func endSessions(ctx context.Context, tx store.Repos, tenantID, userID string, now time.Time) ([]string, error) {
	ss, err := tx.Sessions().ListByUser(ctx, tenantID, userID)
	if err != nil {
		return nil, fmt.Errorf("sessions of %s: %w", userID, err)
	}
	sids := []string{}
	for _, se := range ss {
		if err := tx.Sessions().Delete(ctx, tenantID, se.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("end session: %w", err)
		}
		if now.Before(se.ExpiresAt) {
			sids = append(sids, SessionSID(se.ID))
		}
	}
	return sids, nil
}

// countAttempt counts one attempt on the throttle key before the caller
// checks its secret (a password, a code), so that concurrent guesses — on
// any node — share one budget: a key still locked, or whose failures
// within th.Window went past th.MaxFailures with this one, refuses it
// with a *ThrottledError (Codes for the second factor's key). A lock that
// ran out gives a whole new budget, as on the login page (even when
// LockFor is shorter than Window). The caller resets the key after a
// success. It returns the key's state after the count.
func (s *Service) countAttempt(ctx context.Context, tenantID, key string, th PasswordThrottle, codes bool) (model.Throttle, error) {
	th = th.norm()
	now := s.now()
	t, err := s.Store.Throttles().Get(ctx, tenantID, key)
	if err != nil {
		return t, fmt.Errorf("read throttle: %w", err)
	}
	switch {
	case now.Before(t.LockedUntil):
		return t, &ThrottledError{Until: t.LockedUntil, Codes: codes}
	case !t.LockedUntil.IsZero():
		if err := s.Store.Throttles().Reset(ctx, tenantID, key); err != nil {
			return t, fmt.Errorf("clear expired lock: %w", err)
		}
	}
	if t, err = s.Store.Throttles().Fail(ctx, tenantID, key, now, th.Window, th.MaxFailures, th.LockFor); err != nil {
		return t, fmt.Errorf("count attempt: %w", err)
	}
	if t.Failures > th.MaxFailures {
		return t, &ThrottledError{Until: t.LockedUntil, Codes: codes}
	}
	return t, nil
}
