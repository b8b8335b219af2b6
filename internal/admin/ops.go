package admin

import (
	"maps"
	"slices"
)

// Op names an admin use-case as a surface exposes it: one action a caller
// of /api/v1 or the console can take. Its value is stable and readable
// ("scopes.create"): tests and the console name operations by it.
type Op string

// The admin use-cases a surface exposes. Each requires the platform scope
// opScopes gives it (Op.Scope).
const (
	OpListScopes  Op = "scopes.list"
	OpGetScope    Op = "scopes.get"
	OpCreateScope Op = "scopes.create"
	OpUpdateScope Op = "scopes.update"
	OpRenameScope Op = "scopes.rename"
	OpDeleteScope Op = "scopes.delete"
	// OpScopeImpact shows what deleting or renaming a scope would touch.
	OpScopeImpact Op = "scopes.impact"

	OpListAPIs  Op = "apis.list"
	OpGetAPI    Op = "apis.get"
	OpCreateAPI Op = "apis.create"
	OpUpdateAPI Op = "apis.update"
	OpDeleteAPI Op = "apis.delete"

	OpListApplications  Op = "applications.list"
	OpGetApplication    Op = "applications.get"
	OpCreateApplication Op = "applications.create"
	OpUpdateApplication Op = "applications.update"
	OpDeleteApplication Op = "applications.delete"
	// OpChangeAllowedScopes replaces or edits an application's allowlist.
	OpChangeAllowedScopes Op = "applications.change_allowed_scopes"
	OpRotateSecret        Op = "applications.rotate_secret"
	// OpExplain runs the scope decision for an application (and a user)
	// without issuing anything.
	OpExplain Op = "applications.explain"

	OpListUsers   Op = "users.list"
	OpGetUser     Op = "users.get"
	OpCreateUser  Op = "users.create"
	OpUpdateUser  Op = "users.update"
	OpDeleteUser  Op = "users.delete"
	OpDisableUser Op = "users.disable"
	OpEnableUser  Op = "users.enable"
	OpSetPassword Op = "users.set_password"
	// OpUserConsents lists what a user approved (an admin's view of any
	// user; the user's own is OpMyConsents).
	OpUserConsents Op = "users.consents"
	// OpRevokeUserConsent withdraws a user's consent for an application.
	OpRevokeUserConsent Op = "users.revoke_consent"

	// OpGetMFAPolicy reads the tenant's second-factor policy;
	// OpSetMFAPolicy changes it. They are the users' authority: the
	// policy governs how users sign in.
	OpGetMFAPolicy Op = "settings.mfa_policy"
	OpSetMFAPolicy Op = "settings.set_mfa_policy"
	// OpGetAuditRetention reads how long the tenant keeps raw audit
	// events; OpSetAuditRetention changes it. Both are the audit log's
	// authority (audit:read): there is no other audit scope, and the
	// change is itself audited and never touches the grant counters.
	OpGetAuditRetention Op = "settings.audit_retention"
	OpSetAuditRetention Op = "settings.set_audit_retention"

	OpListGroups        Op = "groups.list"
	OpGetGroup          Op = "groups.get"
	OpCreateGroup       Op = "groups.create"
	OpUpdateGroup       Op = "groups.update"
	OpDeleteGroup       Op = "groups.delete"
	OpAddGroupMember    Op = "groups.add_member"
	OpRemoveGroupMember Op = "groups.remove_member"

	OpListRoles    Op = "roles.list"
	OpGetRole      Op = "roles.get"
	OpCreateRole   Op = "roles.create"
	OpUpdateRole   Op = "roles.update"
	OpDeleteRole   Op = "roles.delete"
	OpAssignRole   Op = "roles.assign"
	OpUnassignRole Op = "roles.unassign"

	// OpSearchAudit reads the audit log: a page of events, or every
	// matching event as JSON Lines (the export is the same read).
	OpSearchAudit Op = "audit.search"
	// OpScopeUsage is the scope-usage report (grants per allowed scope).
	OpScopeUsage Op = "audit.scope_usage"

	// The me use-cases act for the signed-in user only (never a client).
	OpMyProfile           Op = "me.profile"
	OpUpdateMyProfile     Op = "me.update_profile"
	OpChangeMyPassword    Op = "me.change_password"
	OpMyConsents          Op = "me.consents"
	OpRevokeMyConsent     Op = "me.revoke_consent"
	OpRevokeAllMyConsents Op = "me.revoke_all_consents"
	OpMySessions          Op = "me.sessions"
	OpEndMySession        Op = "me.end_session"
	OpEndAllMySessions    Op = "me.end_all_sessions"

	// Second factors (mfa.go): the user's own, and an admin's view and
	// reset of any user's.
	OpMyFactors               Op = "me.mfa"
	OpEnrolTOTP               Op = "me.enrol_totp"
	OpConfirmTOTP             Op = "me.confirm_totp"
	OpRenameMyFactor          Op = "me.rename_factor"
	OpRemoveMyFactor          Op = "me.remove_factor"
	OpRegenerateRecoveryCodes Op = "me.regenerate_recovery_codes"
	OpUserFactors             Op = "users.mfa"
	OpResetUserFactors        Op = "users.reset_mfa"

	// Passkeys (webauthn.go): the two requests of a registration.
	OpBeginPasskeyRegistration  Op = "me.begin_passkey_registration"
	OpFinishPasskeyRegistration Op = "me.finish_passkey_registration"
)

// opScopes is who may do what: the platform scope each Op requires. Every
// surface (/api/v1's guard, the console) reads it through Op.Scope, so they
// cannot disagree. It is a function, not a variable, so nothing can change
// it at run time.
//
// A write scope implies its read scope at issuance (PRODUCT.md §2 step 7),
// so an Op needing scopes:read is also open to a token issued scopes:write;
// that expansion is the token's, not this table's.
func opScopes() map[Op]string {
	return map[Op]string{
		OpListScopes:  "scopes:read",
		OpGetScope:    "scopes:read",
		OpScopeImpact: "scopes:read",
		OpCreateScope: "scopes:write",
		OpUpdateScope: "scopes:write",
		OpRenameScope: "scopes:write",
		OpDeleteScope: "scopes:write",

		// APIs are where scopes live: the same authority.
		OpListAPIs:  "scopes:read",
		OpGetAPI:    "scopes:read",
		OpCreateAPI: "scopes:write",
		OpUpdateAPI: "scopes:write",
		OpDeleteAPI: "scopes:write",

		OpListApplications:    "applications:read",
		OpGetApplication:      "applications:read",
		OpExplain:             "applications:read",
		OpCreateApplication:   "applications:write",
		OpUpdateApplication:   "applications:write",
		OpDeleteApplication:   "applications:write",
		OpChangeAllowedScopes: "applications:write",
		OpRotateSecret:        "applications:write",

		OpListUsers:   "users:read",
		OpGetUser:     "users:read",
		OpCreateUser:  "users:write",
		OpUpdateUser:  "users:write",
		OpDeleteUser:  "users:write",
		OpDisableUser: "users:write",
		OpEnableUser:  "users:write",
		OpSetPassword: "users:write",

		OpUserConsents:      "users:read",
		OpRevokeUserConsent: "users:write",

		OpGetMFAPolicy: "users:read",
		OpSetMFAPolicy: "users:write",

		OpGetAuditRetention: "audit:read",
		OpSetAuditRetention: "audit:read",

		OpListGroups:        "groups:read",
		OpGetGroup:          "groups:read",
		OpCreateGroup:       "groups:write",
		OpUpdateGroup:       "groups:write",
		OpDeleteGroup:       "groups:write",
		OpAddGroupMember:    "groups:write",
		OpRemoveGroupMember: "groups:write",

		OpListRoles:    "roles:read",
		OpGetRole:      "roles:read",
		OpCreateRole:   "roles:write",
		OpUpdateRole:   "roles:write",
		OpDeleteRole:   "roles:write",
		OpAssignRole:   "roles:write",
		OpUnassignRole: "roles:write",

		OpSearchAudit: "audit:read",
		OpScopeUsage:  "audit:read",

		OpMyProfile:           "me:read",
		OpMyConsents:          "me:read",
		OpUpdateMyProfile:     "me:write",
		OpChangeMyPassword:    "me:write",
		OpRevokeMyConsent:     "me:write",
		OpRevokeAllMyConsents: "me:write",
		OpMySessions:          "me:sessions",
		OpEndMySession:        "me:sessions",
		OpEndAllMySessions:    "me:sessions",

		OpMyFactors:               "me:read",
		OpEnrolTOTP:               "me:write",
		OpConfirmTOTP:             "me:write",
		OpRenameMyFactor:          "me:write",
		OpRemoveMyFactor:          "me:write",
		OpRegenerateRecoveryCodes: "me:write",
		OpUserFactors:             "users:read",
		OpResetUserFactors:        "users:write",

		OpBeginPasskeyRegistration:  "me:write",
		OpFinishPasskeyRegistration: "me:write",
	}
}

// Scope returns the platform scope an access token must carry for op, or
// "" for a value that is not an Op of the table (which no surface may
// mount). It says only who may call op at all: the use-case itself still
// checks what the actor may grant (escalation.go) and, for the me
// use-cases, that the actor is a user.
func (op Op) Scope() string { return opScopes()[op] }

// Ops lists every Op of the table, sorted by value.
func Ops() []Op { return slices.Sorted(maps.Keys(opScopes())) }
