package model

import (
	"encoding/json"
	"time"
)

// Audit event types.
const (
	EventTokenIssued        = "oauth.token_issued"
	EventTokenRefused       = "oauth.token_refused"
	EventTokenRevoked       = "oauth.token_revoked"
	EventRefreshTokenReused = "oauth.refresh_token_reused"
	// EventClientAuthFailed is a failed client authentication at the token,
	// introspection or revocation endpoint, rate-limited per client ID and
	// peer; its details count the failures not written on their own.
	EventClientAuthFailed   = "oauth.client_authentication_failed"
	EventTenantCreated      = "tenant.created"
	EventScopeCreated       = "scope.created"
	EventScopeUpdated       = "scope.updated"
	EventScopeRenamed       = "scope.renamed"
	EventScopeDeleted       = "scope.deleted"
	EventAPICreated         = "api.created"
	EventAPIUpdated         = "api.updated"
	EventAPIDeleted         = "api.deleted"
	EventApplicationCreated = "application.created"
	EventApplicationUpdated = "application.updated"
	EventApplicationDeleted = "application.deleted"
	EventAppScopesChanged   = "application.scopes_changed"
	EventAppSecretRotated   = "application.secret_rotated"
	EventSigningKeyRotated  = "signing_key.rotated"
)

// Actor kinds.
const (
	ActorClient = "client" // an OAuth client, by client_id
	ActorUser   = "user"   // a signed-in user, by user id
	ActorSystem = "system" // the server itself or an operator at the CLI
)

// AuditEvent is one append-only audit record.
type AuditEvent struct {
	// ID is unique and sortable by time (a ULID-like string).
	ID        string
	TenantID  string
	Type      string
	Time      time.Time
	ActorType string
	ActorID   string
	// ClientID, Subject, Audience and Scopes are indexed for search; Scopes
	// holds the scopes the event is about (granted, changed, deleted).
	ClientID string
	Subject  string
	Audience string
	Scopes   []string
	// Details is the event-specific JSON document (requested/granted/dropped
	// with reasons, before/after, …). Never secrets or token values.
	Details json.RawMessage
}

// Audit event types of the end-user flows.
const (
	EventLoginSucceeded = "login.succeeded"
	EventLoginFailed    = "login.failed"
	EventLoginLocked    = "login.locked"
	// EventLoginSecondFactor is a second factor tried at sign-in (details:
	// factor type, result); EventLoginStepUp a step-up asked for by the
	// request (details: why, outcome passed or declined).
	EventLoginSecondFactor  = "login.second_factor"
	EventLoginStepUp        = "login.step_up"
	EventLogout             = "logout"
	EventConsentGranted     = "consent.granted"
	EventConsentRevoked     = "consent.revoked"
	EventCodeReplayed       = "oauth.code_replayed"
	EventUserCreated        = "user.created"
	EventUserUpdated        = "user.updated"
	EventUserDeleted        = "user.deleted"
	EventUserPasswordSet    = "user.password_set"
	EventUserDisabled       = "user.disabled"
	EventUserEnabled        = "user.enabled"
	EventRoleCreated        = "role.created"
	EventRoleUpdated        = "role.updated"
	EventRoleDeleted        = "role.deleted"
	EventRoleAssigned       = "role.assigned"
	EventRoleUnassigned     = "role.unassigned"
	EventGroupCreated       = "group.created"
	EventGroupUpdated       = "group.updated"
	EventGroupDeleted       = "group.deleted"
	EventGroupMemberAdded   = "group.member_added"
	EventGroupMemberRemoved = "group.member_removed"
)

// Audit event types of second factors (issue 11). The user's own changes
// record "via" (the /api/v1 route, or the page: "account"); an admin's reset
// has the admin as actor and the user as subject. Details name the factor
// (ID, type, name), never a secret or a code.
const (
	EventMFAEnrolled = "mfa.enrolled"
	EventMFARenamed  = "mfa.renamed"
	EventMFARemoved  = "mfa.removed"
	// EventMFARecoveryCodes is a new set of recovery codes replacing the
	// old one (details: how many).
	EventMFARecoveryCodes = "mfa.recovery_codes_regenerated"
	EventMFAReset         = "mfa.reset"
)
