package store

import (
	"context"
	"errors"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
)

// ErrReused: a single-use credential (authorization code, refresh token)
// was presented again. The returned value still describes it, so the caller
// can revoke what it issued.
var ErrReused = errors.New("already used")

// UserQuery filters a user listing; zero fields do not filter.
type UserQuery struct {
	// Search matches a prefix of username, email or name, case-insensitively.
	Search string
	Status string
	Page   Page
}

// Users stores end users. Username and email are unique per tenant,
// case-insensitively (ErrConflict).
type Users interface {
	Create(ctx context.Context, u model.User) error
	Get(ctx context.Context, tenantID, id string) (model.User, error)
	// GetByLogin finds a user by username or email, case-insensitively.
	GetByLogin(ctx context.Context, tenantID, login string) (model.User, error)
	// List returns users ordered by username, and the total count.
	List(ctx context.Context, tenantID string, q UserQuery) ([]model.User, int, error)
	// Update replaces every field but TenantID, ID, CreatedAt and
	// PasswordHash when u.Version matches (else ErrPrecondition).
	Update(ctx context.Context, u model.User) (model.User, error)
	// SetPassword replaces the password hash and bumps Version.
	SetPassword(ctx context.Context, tenantID, id, hash string) error
	// Delete removes the user with their role assignments, group
	// memberships, consents, sessions, pending requests, codes, refresh
	// tokens, second factors, recovery codes and WebAuthn challenges, in one
	// transaction. A non-zero version must be the stored one
	// (else ErrPrecondition, and nothing changes).
	Delete(ctx context.Context, tenantID, id string, version int64) error
}

// Roles stores roles and direct role assignments. Writes to a role's scopes
// bump the tenant's Rev (entitlements are configuration).
type Roles interface {
	Create(ctx context.Context, r model.Role) error
	Get(ctx context.Context, tenantID, name string) (model.Role, error)
	// List returns every role of the tenant ordered by name.
	List(ctx context.Context, tenantID string) ([]model.Role, error)
	// Update replaces description and scopes when r.Version matches.
	Update(ctx context.Context, r model.Role) (model.Role, error)
	// Delete removes a role and every assignment of it (direct and through
	// groups); ErrConflict for a built-in role. A non-zero version must be
	// the stored one (else ErrPrecondition, and nothing changes).
	Delete(ctx context.Context, tenantID, name string, version int64) error
	// Assign gives the user the role directly; assigning twice is not an
	// error. ErrNotFound if either does not exist.
	Assign(ctx context.Context, tenantID, userID, role string) error
	Unassign(ctx context.Context, tenantID, userID, role string) error
	// OfUser returns the names of the roles the user holds, directly or
	// through a group, sorted and without duplicates; ErrNotFound if the
	// user does not exist.
	OfUser(ctx context.Context, tenantID, userID string) ([]string, error)
	// ScopesOfUser returns the union of the scopes of every role the user
	// holds, directly or through a group, sorted (implications not expanded);
	// ErrNotFound if the user does not exist.
	ScopesOfUser(ctx context.Context, tenantID, userID string) ([]string, error)
	// Holders returns the IDs of the users holding the role directly, sorted;
	// ErrNotFound if the role does not exist.
	Holders(ctx context.Context, tenantID, role string) ([]string, error)
}

// Groups stores groups (with the roles they give) and memberships.
type Groups interface {
	Create(ctx context.Context, g model.Group) error
	Get(ctx context.Context, tenantID, name string) (model.Group, error)
	List(ctx context.Context, tenantID string) ([]model.Group, error)
	// Update replaces description and roles when g.Version matches.
	Update(ctx context.Context, g model.Group) (model.Group, error)
	// Delete removes a group and its memberships. A non-zero version must
	// be the stored one (else ErrPrecondition, and nothing changes).
	Delete(ctx context.Context, tenantID, name string, version int64) error
	// AddMember adds the user; adding twice is not an error.
	AddMember(ctx context.Context, tenantID, group, userID string) error
	RemoveMember(ctx context.Context, tenantID, group, userID string) error
	// Members returns the member user IDs, sorted; ErrNotFound if the group
	// does not exist.
	Members(ctx context.Context, tenantID, group string) ([]string, error)
	// OfUser returns the names of the user's groups, sorted; ErrNotFound if
	// the user does not exist.
	OfUser(ctx context.Context, tenantID, userID string) ([]string, error)
}

// Consents stores what users approved for applications.
type Consents interface {
	// Get returns the consent of the user for the client; ErrNotFound if none.
	Get(ctx context.Context, tenantID, userID, clientID string) (model.Consent, error)
	// Grant adds scopes to the user's consent for the client (union),
	// creating it if needed, and returns the result (Scopes sorted).
	// ErrNotFound if the user or the application does not exist.
	Grant(ctx context.Context, tenantID, userID, clientID string, scopes []string) (model.Consent, error)
	// ListByUser returns the user's consents ordered by client ID;
	// ErrNotFound if the user does not exist.
	ListByUser(ctx context.Context, tenantID, userID string) ([]model.Consent, error)
	// Revoke deletes the user's consent for the client.
	Revoke(ctx context.Context, tenantID, userID, clientID string) error
}

// Sessions stores browser sessions.
type Sessions interface {
	Create(ctx context.Context, s model.Session) error
	// Get returns a session by ID (the hash of its cookie), whether or not it
	// expired; callers check ExpiresAt.
	Get(ctx context.Context, tenantID, id string) (model.Session, error)
	// Touch sets LastSeen.
	Touch(ctx context.Context, tenantID, id string, at time.Time) error
	// SetAMR replaces the session's AMR: a second factor passed later in
	// the session (a step-up) adds to how the user authenticated.
	// ErrNotFound if there is no such session.
	SetAMR(ctx context.Context, tenantID, id string, amr []string) error
	Delete(ctx context.Context, tenantID, id string) error
	// ListByUser returns the user's sessions, newest first; ErrNotFound if
	// the user does not exist.
	ListByUser(ctx context.Context, tenantID, userID string) ([]model.Session, error)
	// Prune deletes sessions that expired before t.
	Prune(ctx context.Context, t time.Time) (int, error)
}

// AuthRequests stores authorization requests between the authorize
// endpoint, the login and consent pages, and the code.
type AuthRequests interface {
	Create(ctx context.Context, r model.AuthRequest) error
	// CreateBounded stores r like Create unless, at r.CreatedAt, its
	// client already has perClient unfinished requests, or its Peer (when
	// not empty) perPeer: then ErrLimit, naming which, and nothing is
	// stored. Unfinished means nobody has signed in for it yet (UserID
	// empty) and it has not expired; a cap <= 0 is no cap, and r itself
	// is not bounded when it has a UserID (it is not unfinished). The
	// count and the insert share a transaction; on PostgreSQL concurrent
	// creations do not see each other, so a bound may be passed by as
	// many requests as are being created at that instant.
	CreateBounded(ctx context.Context, r model.AuthRequest, perClient, perPeer int) error
	Get(ctx context.Context, tenantID, id string) (model.AuthRequest, error)
	// Update replaces the fields the flow fills in later — UserID,
	// SessionID, AuthTime, AskScopes, ConsentDone, Denied, MFASkipped — and
	// nothing else (ACRValues is set once, by Create).
	Update(ctx context.Context, r model.AuthRequest) error
	Delete(ctx context.Context, tenantID, id string) error
	// Prune deletes requests that expired before t.
	Prune(ctx context.Context, t time.Time) (int, error)
}

// Codes stores authorization codes.
type Codes interface {
	Create(ctx context.Context, c model.AuthCode) error
	// Get returns a code by hash without marking it used (UsedAt is set
	// once it was redeemed). It is a read for the checks before a
	// redemption; only Redeem decides who redeems. ErrNotFound if no such
	// code.
	Get(ctx context.Context, tenantID, hash string) (model.AuthCode, error)
	// Redeem marks the code used at now, atomically: the first caller gets
	// the code; every later caller gets the code and ErrReused (a replay).
	// ErrNotFound if no such code.
	Redeem(ctx context.Context, tenantID, hash string, now time.Time) (model.AuthCode, error)
	// SetIssued records what the redemption issued (for replay revocation).
	SetIssued(ctx context.Context, tenantID, hash, jti string, jtiExpires time.Time, familyID string) error
	// Prune deletes codes that expired before t.
	Prune(ctx context.Context, t time.Time) (int, error)
}

// RefreshTokens stores refresh-token families. Each token records the
// access token issued with it (AccessJTI, AccessExpiresAt); revoking a
// family revokes those too, in the same transaction, so that every caller
// that ends a grant — /oauth2/revoke, reuse detection, consent withdrawal,
// sign-out — invalidates "all access tokens based on the same authorization
// grant" (RFC 7009 §2.1) without having to remember to.
type RefreshTokens interface {
	// Create stores the first token of a family, with the access token the
	// code exchange issued.
	Create(ctx context.Context, t model.RefreshToken) error
	// Get returns a token by hash.
	Get(ctx context.Context, tenantID, hash string) (model.RefreshToken, error)
	// Rotate atomically marks old rotated at now and stores next (same
	// family). If old was already rotated, or its family is revoked, nothing
	// is stored and the old token is returned with ErrReused. On success it
	// returns next as stored: its FamilyID, ClientID, UserID,
	// FamilyExpiresAt, Scopes, Audience, SessionID, AuthTime and AMR are old's as
	// read in the rotation, whatever next carried; its AccessJTI and
	// AccessExpiresAt are next's (the access token of this refresh).
	Rotate(ctx context.Context, tenantID, oldHash string, next model.RefreshToken, now time.Time) (model.RefreshToken, error)
	// Retire marks a token rotated at now without a successor: the last
	// use of a family that ends. Its single use is Rotate's: if the token
	// was already rotated, or its family is revoked, nothing changes and
	// the token is returned with ErrReused. ErrNotFound if it does not
	// exist.
	Retire(ctx context.Context, tenantID, hash string, now time.Time) (model.RefreshToken, error)
	// RevokeFamily marks every token of the family revoked, including one a
	// concurrent Rotate adds, and records in Revocations, atomically with
	// it, the AccessJTI of every token of the family (rotated ones too)
	// whose access token has not expired. An unknown or revoked family is
	// not an error; a jti already revoked keeps its record.
	RevokeFamily(ctx context.Context, tenantID, familyID string) error
	// RevokeByUser revokes every family of the user (optionally only of one
	// client, when clientID is not empty), with their unexpired access
	// tokens as RevokeFamily does, and returns how many families this call
	// revoked (families already revoked are not counted). It locks the
	// user's row until the transaction ends, so that a grant being added
	// concurrently is either revoked too or refused — in a transaction that
	// then deletes the user, none escapes with a live access token.
	RevokeByUser(ctx context.Context, tenantID, userID, clientID string) (int, error)
	// RevokeByClient revokes every family of the application, of every
	// user, with their unexpired access tokens as RevokeFamily does (before
	// the application is deleted), and returns how many families this call
	// revoked. It locks the application's row like RevokeByUser the user's.
	RevokeByClient(ctx context.Context, tenantID, clientID string) (int, error)
	// Prune deletes tokens whose family expired before t.
	Prune(ctx context.Context, t time.Time) (int, error)
}

// Throttles counts failed sign-ins, in the database so that a lockout holds
// across nodes and restarts.
type Throttles interface {
	// Fail records one failure for key at now within a sliding window: a
	// failure after WindowStart+window starts a new window. When the
	// failures reach max, the key is locked until now+lockFor (each further
	// failure in the window extends the lock; max <= 0 never locks). It
	// returns the updated state, atomically with respect to concurrent
	// callers.
	Fail(ctx context.Context, tenantID, key string, now time.Time, window time.Duration, max int, lockFor time.Duration) (model.Throttle, error)
	// Reserve holds an attempt slot of key, named slot (the caller's unique
	// ID for the attempt), until now+lease — unless key is locked at now, or
	// its failures in the current window plus the unexpired slots already
	// held reach max (max <= 0: no bound). It reports whether the slot is
	// held, and the key's state. Reservations of one key are serialised, so
	// that concurrent attempts — on any node — never hold more than max
	// slots between them. A held slot ends with Release (after a success)
	// or with Fail and Release in one transaction (after a failure), or
	// when its lease runs out (a node that died).
	Reserve(ctx context.Context, tenantID, key, slot string, now time.Time, window time.Duration, max int, lease time.Duration) (bool, model.Throttle, error)
	// Release frees a slot; releasing one not held is not an error.
	Release(ctx context.Context, tenantID, key, slot string) error
	// Get returns the state of key (zero Throttle if none).
	Get(ctx context.Context, tenantID, key string) (model.Throttle, error)
	// Reset clears key (after a successful sign-in).
	Reset(ctx context.Context, tenantID, key string) error
	// Prune deletes, in every tenant, the keys whose window started before
	// idleSince and that are not locked at now, and the slots whose lease
	// ended by now; it returns how many rows.
	Prune(ctx context.Context, idleSince, now time.Time) (int, error)
}

// UserRepos are the repositories of the end-user flows. Repos embeds them.
type UserRepos interface {
	Users() Users
	Roles() Roles
	Groups() Groups
	Consents() Consents
	Sessions() Sessions
	AuthRequests() AuthRequests
	Codes() Codes
	RefreshTokens() RefreshTokens
	Throttles() Throttles
	ConsoleSessions() ConsoleSessions
	Factors() Factors
}

// Factors stores users' second factors, recovery codes and the WebAuthn
// ceremonies in flight. Every method is scoped to one tenant (and, except
// the lookups by credential or challenge, one user): no call reaches
// another user's factors.
type Factors interface {
	// Create stores a new factor; ErrConflict if its ID, or its WebAuthn
	// CredentialID, is taken in the tenant; ErrNotFound if the user does
	// not exist.
	Create(ctx context.Context, f model.Factor) error
	// Get returns one factor of the user; ErrNotFound otherwise.
	Get(ctx context.Context, tenantID, userID, id string) (model.Factor, error)
	// GetByCredentialID returns the WebAuthn factor with that credential ID
	// (a passwordless sign-in finds its user this way); ErrNotFound otherwise.
	GetByCredentialID(ctx context.Context, tenantID, credentialID string) (model.Factor, error)
	// List returns the user's factors, confirmed or not, oldest first
	// (CreatedAt, then ID). A user without factors, or no such user, has
	// none.
	List(ctx context.Context, tenantID, userID string) ([]model.Factor, error)
	// Rename sets the factor's Name; ErrNotFound if the user has no such
	// factor.
	Rename(ctx context.Context, tenantID, userID, id, name string) error
	// Use records a successful use: it sets Counter to counter, LastUsedAt
	// to at, Confirmed to true and, when credential is not nil, replaces
	// Credential — only if counter is greater than the stored Counter, or
	// both are 0 (a WebAuthn authenticator that keeps no counter); else
	// ErrPrecondition and nothing changes. So a TOTP code's step is
	// accepted once, even by two nodes at the same instant, and a cloned
	// WebAuthn authenticator's older counter is refused. ErrNotFound if the
	// user has no such factor.
	Use(ctx context.Context, tenantID, userID, id string, counter int64, credential []byte, at time.Time) error
	// Delete removes one factor; ErrNotFound if the user has no such factor.
	Delete(ctx context.Context, tenantID, userID, id string) error
	// DeleteByUser removes every factor and recovery code of the user
	// (an admin's reset) and returns how many factors.
	DeleteByUser(ctx context.Context, tenantID, userID string) (int, error)

	// ReplaceRecoveryCodes stores a new set of recovery code hashes for the
	// user, deleting the old set in the same transaction; ErrNotFound if
	// the user does not exist.
	ReplaceRecoveryCodes(ctx context.Context, tenantID, userID string, hashes []string, at time.Time) error
	// UseRecoveryCode spends the unused code with that hash; ErrNotFound
	// when the user has no unused code with it (a code spends once, even
	// by two nodes at the same instant).
	UseRecoveryCode(ctx context.Context, tenantID, userID, hash string, at time.Time) error
	// RecoveryCodes returns the user's codes, used ones included, ordered
	// by hash.
	RecoveryCodes(ctx context.Context, tenantID, userID string) ([]model.RecoveryCode, error)

	// PutChallenge stores a ceremony in flight; ErrConflict if its ID is
	// taken.
	PutChallenge(ctx context.Context, c model.MFAChallenge) error
	// TakeChallenge deletes and returns the challenge; ErrNotFound when
	// there is none, or it expired before now (it is deleted then too).
	TakeChallenge(ctx context.Context, tenantID, id string, now time.Time) (model.MFAChallenge, error)
	// Prune deletes, in every tenant, the challenges that expired before t
	// and the unconfirmed factors created before unconfirmedBefore; it
	// returns how many rows.
	Prune(ctx context.Context, t, unconfirmedBefore time.Time) (int, error)
}

// ConsoleSessions stores the admin console's server-side sessions.
type ConsoleSessions interface {
	// Create stores a new session (Version 1); ErrConflict if the ID is
	// taken, ErrNotFound if the user does not exist.
	Create(ctx context.Context, s model.ConsoleSession) error
	// Get returns a session by ID whether or not it expired; callers check
	// ExpiresAt.
	Get(ctx context.Context, tenantID, id string) (model.ConsoleSession, error)
	// UpdateTokens replaces Tokens and AccessExpiresAt when s.Version is the
	// stored version (else ErrPrecondition; ErrNotFound when it is gone),
	// and returns the session as stored, its version bumped.
	UpdateTokens(ctx context.Context, s model.ConsoleSession) (model.ConsoleSession, error)
	// Delete removes the session; ErrNotFound if there is none.
	Delete(ctx context.Context, tenantID, id string) error
	// Prune removes every tenant's sessions that expired before t, and
	// returns how many.
	Prune(ctx context.Context, t time.Time) (int, error)
}
