package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/password"
	"github.com/intelliauth/intelliauth/internal/store"
)

// UserInput describes a new end user.
type UserInput struct {
	Username            string
	Email               string
	EmailVerified       bool
	Name                string
	GivenName           string
	FamilyName          string
	Picture             string
	Locale              string
	Address             model.Address
	PhoneNumber         string
	PhoneNumberVerified bool
	// Password is the initial password in plaintext; it must meet the
	// policy (password.Check) and is stored only as an argon2id hash.
	Password string
	// Roles are assigned directly in the same transaction; each must exist.
	Roles []string
}

// UserIDPrefix starts every generated user ID (the sub claim).
const UserIDPrefix = "usr_"

// hashPassword applies the policy and hashes plain. It runs outside any
// transaction: argon2id takes tens of milliseconds and 64 MiB.
func hashPassword(plain string) (string, error) {
	if err := password.Check(plain); err != nil {
		return "", invalid("password", "%s", strings.TrimPrefix(err.Error(), "password "))
	}
	return password.Hash(plain)
}

// CreateUser creates an active user with a password and, optionally,
// directly assigned roles, in one transaction with its user.created event
// (which records the roles, never the password). The ID is generated.
// Username and email are unique in the tenant, case-insensitively
// (store.ErrConflict).
func (s *Service) CreateUser(ctx context.Context, actor Actor, tenantID string, in UserInput) (model.User, error) {
	return s.createUser(ctx, actor, tenantID, in, password.Default())
}

// createUser is CreateUser hashing the password with p (the demo seeds its
// generated passwords with password.Generated).
func (s *Service) createUser(ctx context.Context, actor Actor, tenantID string, in UserInput, p password.Params) (model.User, error) {
	u := model.User{
		TenantID: tenantID, Username: in.Username, Email: in.Email, EmailVerified: in.EmailVerified,
		Name: in.Name, GivenName: in.GivenName, FamilyName: in.FamilyName, Picture: in.Picture, Locale: in.Locale,
		Address: in.Address, PhoneNumber: in.PhoneNumber, PhoneNumberVerified: in.PhoneNumberVerified,
		Status: model.UserActive,
	}
	problems := problemsOf(u.Validate())
	if err := password.Check(in.Password); err != nil {
		problems.Add("password", strings.TrimPrefix(err.Error(), "password "))
	}
	roles := sortedSet(in.Roles)
	if err := problems.Err(); err != nil {
		return model.User{}, err
	}
	id, err := randomID(UserIDPrefix, 10)
	if err != nil {
		return model.User{}, err
	}
	u.ID = id
	if u.PasswordHash, err = password.HashWith(in.Password, p); err != nil {
		return model.User{}, fmt.Errorf("admin: hash password: %w", err)
	}
	var out model.User
	err = s.write(ctx, actor, func(tx store.Repos, now time.Time) ([]event, error) {
		if _, err := getTenant(ctx, tx, tenantID); err != nil {
			return nil, err
		}
		if err := checkRolesExist(ctx, tx, tenantID, "roles", roles); err != nil {
			return nil, err
		}
		given, err := scopesOfRoles(ctx, tx, tenantID, roles)
		if err != nil {
			return nil, err
		}
		if err := actor.mayGrant(ctx, tx, tenantID, "creating user "+u.Username+" with roles "+strings.Join(roles, " "), given); err != nil {
			return nil, err
		}
		u.CreatedAt, u.UpdatedAt = now, now
		if err := tx.Users().Create(ctx, u); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return nil, refuse(err, "%s in tenant %q", takenMessage(u), tenantID)
			}
			return nil, fmt.Errorf("create user %q: %w", u.Username, err)
		}
		for _, r := range roles {
			if err := tx.Roles().Assign(ctx, tenantID, u.ID, r); err != nil {
				return nil, writeErr(err, fmt.Sprintf("role %q", r))
			}
		}
		stored, err := tx.Users().Get(ctx, tenantID, u.ID)
		if err != nil {
			return nil, err
		}
		out = stored
		return []event{{Type: model.EventUserCreated, TenantID: tenantID, Subject: u.ID,
			Details: map[string]any{"after": NewUserDoc(stored), "roles": nonNil(roles)}}}, nil
	})
	return out, err
}

// resolveUser finds a user by ID ("usr_…"), then by username or email.
func resolveUser(ctx context.Context, tx store.Repos, tenantID, ref string) (model.User, error) {
	if ref == "" {
		return model.User{}, invalid("user", "is required (a username, an email address or a user ID)")
	}
	if strings.HasPrefix(ref, UserIDPrefix) {
		u, err := tx.Users().Get(ctx, tenantID, ref)
		if err == nil || !errors.Is(err, store.ErrNotFound) {
			return u, err
		}
	}
	u, err := tx.Users().GetByLogin(ctx, tenantID, ref)
	if err != nil {
		return u, lookupErr(err, fmt.Sprintf("user %q", ref))
	}
	return u, nil
}

// UserDetail is a user with the roles they hold (directly or through a
// group), their groups and the scopes those roles give, not expanded by
// implication.
type UserDetail struct {
	User   model.User
	Roles  []string
	Groups []string
	Scopes []string
}

// GetUser returns a user by ID, username or email, with their roles,
// groups and entitled scopes.
func (s *Service) GetUser(ctx context.Context, actor Actor, tenantID, ref string) (UserDetail, error) {
	var out UserDetail
	err := s.read(ctx, actor, func(tx store.Repos) error {
		u, err := resolveUser(ctx, tx, tenantID, ref)
		if err != nil {
			return err
		}
		out.User = u
		if out.Roles, err = tx.Roles().OfUser(ctx, tenantID, u.ID); err != nil {
			return err
		}
		if out.Groups, err = tx.Groups().OfUser(ctx, tenantID, u.ID); err != nil {
			return err
		}
		out.Scopes, err = tx.Roles().ScopesOfUser(ctx, tenantID, u.ID)
		return err
	})
	return out, err
}

// UserPage is one page of a user listing.
type UserPage struct {
	Users []model.User
	// Total is the number of users matching the query.
	Total int
	Page  store.Page
}

// ListUsers lists users by username, one page at a time. Search matches a
// prefix of the username, email or name, case-insensitively; status ""
// lists every status.
func (s *Service) ListUsers(ctx context.Context, actor Actor, tenantID string, q store.UserQuery) (UserPage, error) {
	switch q.Status {
	case "", model.UserActive, model.UserDisabled:
	default:
		return UserPage{}, invalid("status", "must be %s or %s", model.UserActive, model.UserDisabled)
	}
	q.Page = normPage(q.Page)
	var out UserPage
	err := s.read(ctx, actor, func(tx store.Repos) error {
		if _, err := getTenant(ctx, tx, tenantID); err != nil {
			return err
		}
		users, total, err := tx.Users().List(ctx, tenantID, q)
		out = UserPage{Users: users, Total: total, Page: q.Page}
		return err
	})
	return out, err
}

// UserUpdate changes a user's profile claims; nil fields are left as they
// are. A new email (or phone number) is unverified unless EmailVerified
// (PhoneNumberVerified) is given too. Status and password have their own
// use-cases.
type UserUpdate struct {
	Username            *string
	Email               *string
	EmailVerified       *bool
	Name                *string
	GivenName           *string
	FamilyName          *string
	Picture             *string
	Locale              *string
	Address             *model.Address
	PhoneNumber         *string
	PhoneNumberVerified *bool
	// Version, when non-zero, must equal the stored version.
	Version int64
}

// UpdateUser changes a user's profile claims, with a user.updated event
// holding the before and after. Nothing is written when nothing changes.
func (s *Service) UpdateUser(ctx context.Context, actor Actor, tenantID, ref string, upd UserUpdate) (model.User, error) {
	var out model.User
	err := s.writeAt(ctx, actor, upd.Version, func(tx store.Repos, now time.Time) ([]event, error) {
		before, err := resolveUser(ctx, tx, tenantID, ref)
		if err != nil {
			return nil, err
		}
		var evs []event
		out, evs, err = updateUser(ctx, tx, before, upd, now, "")
		return evs, err
	})
	return out, err
}

// updateUser applies upd to before inside a write transaction and returns
// the stored user and its user.updated event (none when nothing changed).
// via, when set, is recorded in the event (the me use-cases say which).
func updateUser(ctx context.Context, tx store.Repos, before model.User, upd UserUpdate, now time.Time, via string) (model.User, []event, error) {
	if err := checkVersion("user "+before.ID, upd.Version, before.Version); err != nil {
		return model.User{}, nil, err
	}
	after := before
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&after.Username, upd.Username)
	set(&after.Email, upd.Email)
	set(&after.Name, upd.Name)
	set(&after.GivenName, upd.GivenName)
	set(&after.FamilyName, upd.FamilyName)
	set(&after.Picture, upd.Picture)
	set(&after.Locale, upd.Locale)
	set(&after.PhoneNumber, upd.PhoneNumber)
	if upd.Address != nil {
		after.Address = *upd.Address
	}
	if !strings.EqualFold(after.Email, before.Email) {
		after.EmailVerified = false
	}
	if after.PhoneNumber != before.PhoneNumber {
		after.PhoneNumberVerified = false
	}
	if upd.EmailVerified != nil {
		after.EmailVerified = *upd.EmailVerified
	}
	if upd.PhoneNumberVerified != nil {
		after.PhoneNumberVerified = *upd.PhoneNumberVerified
	}
	if err := after.Validate(); err != nil {
		return model.User{}, nil, err
	}
	if after == before {
		return before, nil, nil
	}
	after.UpdatedAt = now
	out, err := tx.Users().Update(ctx, after)
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return model.User{}, nil, refuse(err, "%s", takenMessage(after))
		}
		return model.User{}, nil, writeErr(err, fmt.Sprintf("user %q", before.ID))
	}
	details := map[string]any{"before": NewUserDoc(before), "after": NewUserDoc(out)}
	if via != "" {
		details["via"] = via
	}
	return out, []event{{Type: model.EventUserUpdated, TenantID: before.TenantID, Subject: before.ID, Details: details}}, nil
}

// DisableUser stops a user from signing in: their status becomes disabled,
// their browser sessions end and their refresh-token families are revoked,
// with the access tokens issued from them (store.RefreshTokens.RevokeByUser),
// in one transaction with a user.disabled event. An access token from a
// grant without a refresh token is recorded nowhere: the server's
// access-token check (token.AccessCheck) refuses it while the user is
// disabled, and accepts it again, until it expires, if the user is enabled
// before then. Disabling a disabled user changes nothing.
func (s *Service) DisableUser(ctx context.Context, actor Actor, tenantID, ref string) (model.User, error) {
	return s.setUserStatus(ctx, actor, tenantID, ref, model.UserDisabled)
}

// EnableUser lets a disabled user sign in again (with a user.enabled event).
// Sessions and refresh tokens ended by DisableUser stay ended.
func (s *Service) EnableUser(ctx context.Context, actor Actor, tenantID, ref string) (model.User, error) {
	return s.setUserStatus(ctx, actor, tenantID, ref, model.UserActive)
}

func (s *Service) setUserStatus(ctx context.Context, actor Actor, tenantID, ref, status string) (model.User, error) {
	var out model.User
	err := s.write(ctx, actor, func(tx store.Repos, now time.Time) ([]event, error) {
		before, err := resolveUser(ctx, tx, tenantID, ref)
		if err != nil {
			return nil, err
		}
		if before.Status == status {
			out = before
			return nil, nil
		}
		after := before
		after.Status, after.UpdatedAt = status, now
		if out, err = tx.Users().Update(ctx, after); err != nil {
			return nil, writeErr(err, fmt.Sprintf("user %q", ref))
		}
		details := map[string]any{"before": NewUserDoc(before), "after": NewUserDoc(out)}
		typ := model.EventUserEnabled
		if status == model.UserDisabled {
			typ = model.EventUserDisabled
			ended, revoked, err := signOut(ctx, tx, tenantID, before.ID)
			if err != nil {
				return nil, err
			}
			details["sessions_ended"], details["refresh_families_revoked"] = ended, revoked
		}
		return []event{{Type: typ, TenantID: tenantID, Subject: before.ID, Details: details}}, nil
	})
	return out, err
}

// signOut ends every browser session of the user and revokes every
// refresh-token family, returning how many of each.
func signOut(ctx context.Context, tx store.Repos, tenantID, userID string) (sessions, families int, err error) {
	ss, err := tx.Sessions().ListByUser(ctx, tenantID, userID)
	if err != nil {
		return 0, 0, fmt.Errorf("sessions of %s: %w", userID, err)
	}
	for _, se := range ss {
		if err := tx.Sessions().Delete(ctx, tenantID, se.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return 0, 0, fmt.Errorf("end session: %w", err)
		}
	}
	n, err := tx.RefreshTokens().RevokeByUser(ctx, tenantID, userID, "")
	if err != nil {
		return 0, 0, fmt.Errorf("revoke refresh tokens of %s: %w", userID, err)
	}
	return len(ss), n, nil
}

// SetPassword replaces a user's password (it must meet the policy), with a
// user.password_set event that never holds the password. With signOutUser
// the user's sessions end and refresh-token families are revoked in the
// same transaction (after a suspected compromise).
func (s *Service) SetPassword(ctx context.Context, actor Actor, tenantID, ref, plain string, signOutUser bool) error {
	hash, err := hashPassword(plain)
	if err != nil {
		return err
	}
	return s.setPasswordHash(ctx, actor, tenantID, ref, hash, signOutUser)
}

// setPasswordHash is SetPassword with the hash already made (the demo hashes
// its generated passwords with password.Generated).
func (s *Service) setPasswordHash(ctx context.Context, actor Actor, tenantID, ref, hash string, signOutUser bool) error {
	return s.write(ctx, actor, func(tx store.Repos, now time.Time) ([]event, error) {
		u, err := resolveUser(ctx, tx, tenantID, ref)
		if err != nil {
			return nil, err
		}
		// Whoever sets the password can sign in as the user, with the
		// platform scopes the user's roles give.
		entitled, err := tx.Roles().ScopesOfUser(ctx, tenantID, u.ID)
		if err != nil {
			return nil, fmt.Errorf("entitlements of %s: %w", u.ID, err)
		}
		if err := actor.mayTakeOver(ctx, tx, tenantID, "setting the password of "+u.Username, "user "+u.Username, entitled); err != nil {
			return nil, err
		}
		if err := tx.Users().SetPassword(ctx, tenantID, u.ID, hash); err != nil {
			return nil, writeErr(err, fmt.Sprintf("user %q", ref))
		}
		details := map[string]any{"user_id": u.ID, "username": u.Username, "signed_out": signOutUser}
		if signOutUser {
			ended, revoked, err := signOut(ctx, tx, tenantID, u.ID)
			if err != nil {
				return nil, err
			}
			details["sessions_ended"], details["refresh_families_revoked"] = ended, revoked
		}
		return []event{{Type: model.EventUserPasswordSet, TenantID: tenantID, Subject: u.ID, Details: details}}, nil
	})
}

// DeleteUser deletes a user with their role assignments, group
// memberships, consents, sessions, pending requests, codes and refresh
// tokens (store.Users.Delete), in one transaction with a user.deleted event
// holding the user as they were and the roles and groups they held.
// version, when non-zero, must equal the stored version (else
// store.ErrPrecondition and nothing changes).
func (s *Service) DeleteUser(ctx context.Context, actor Actor, tenantID, ref string, version int64) error {
	return s.writeAt(ctx, actor, version, func(tx store.Repos, now time.Time) ([]event, error) {
		u, err := resolveUser(ctx, tx, tenantID, ref)
		if err != nil {
			return nil, err
		}
		if err := checkVersion("user "+ref, version, u.Version); err != nil {
			return nil, err
		}
		roles, err := tx.Roles().OfUser(ctx, tenantID, u.ID)
		if err != nil {
			return nil, err
		}
		groups, err := tx.Groups().OfUser(ctx, tenantID, u.ID)
		if err != nil {
			return nil, err
		}
		// Revoke the access tokens of the user's grants first: deleting the
		// user deletes the refresh-token rows that know their jtis, and
		// introspection answers from the token and the revocation list.
		grants, err := tx.RefreshTokens().RevokeByUser(ctx, tenantID, u.ID, "")
		if err != nil {
			return nil, fmt.Errorf("revoke the grants of user %q: %w", ref, err)
		}
		// Only the version read: a concurrent update fails the delete.
		if err := tx.Users().Delete(ctx, tenantID, u.ID, u.Version); err != nil {
			return nil, writeErr(err, fmt.Sprintf("user %q", ref))
		}
		return []event{{Type: model.EventUserDeleted, TenantID: tenantID, Subject: u.ID,
			Details: map[string]any{"before": NewUserDoc(u), "roles": nonNil(roles), "groups": nonNil(groups), "revoked_grants": grants}}}, nil
	})
}

// checkRolesExist reports, in one error on field, every role name the
// tenant does not have.
func checkRolesExist(ctx context.Context, tx store.Repos, tenantID, field string, names []string) error {
	var unknown []string
	for _, n := range names {
		if _, err := tx.Roles().Get(ctx, tenantID, n); errors.Is(err, store.ErrNotFound) {
			unknown = append(unknown, n)
		} else if err != nil {
			return lookupErr(err, fmt.Sprintf("role %q", n))
		}
	}
	if len(unknown) > 0 {
		return invalid(field, "no such role in this tenant: %s (see: role list)", strings.Join(unknown, " "))
	}
	return nil
}

// userRefs names the users with the given IDs, in the order given; an ID
// whose user vanished meanwhile is listed with an empty username.
func userRefs(ctx context.Context, tx store.Repos, tenantID string, ids []string) ([]UserRef, error) {
	out := make([]UserRef, 0, len(ids))
	for _, id := range ids {
		u, err := tx.Users().Get(ctx, tenantID, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		out = append(out, UserRef{ID: id, Username: u.Username})
	}
	slices.SortFunc(out, func(a, b UserRef) int { return strings.Compare(a.Username, b.Username) })
	return out, nil
}

// takenMessage says which unique value of u may be taken: its username, or
// its username or email when it has one.
func takenMessage(u model.User) string {
	if u.Email == "" {
		return fmt.Sprintf("username %q is taken", u.Username)
	}
	return fmt.Sprintf("username %q or email %q is taken", u.Username, u.Email)
}
