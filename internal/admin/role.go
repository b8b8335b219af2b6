package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/scope"
)

// BuiltinRoles are the roles every tenant has (PRODUCT.md §1): admin with
// every platform scope, user with the me:* scopes. They cannot be deleted.
func BuiltinRoles() []model.Role {
	return []model.Role{
		{Name: model.RoleAdmin, Description: "Administers the tenant: every platform scope.", Scopes: model.PlatformScopeNames(), Builtin: true},
		{Name: model.RoleUser, Description: "Manages their own profile and sessions.", Scopes: []string{"me:read", "me:sessions", "me:write"}, Builtin: true},
	}
}

// createBuiltinRoles stores the built-in roles the tenant lacks and
// returns their names.
func createBuiltinRoles(ctx context.Context, tx store.Repos, actor Actor, tenantID string, now time.Time) ([]string, error) {
	var created []string
	for _, r := range BuiltinRoles() {
		if _, err := tx.Roles().Get(ctx, tenantID, r.Name); err == nil {
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if err := actor.mayGrant(ctx, tx, tenantID, "creating the built-in role "+r.Name, r.Scopes); err != nil {
			return nil, err
		}
		r.TenantID, r.CreatedAt, r.UpdatedAt = tenantID, now, now
		if err := tx.Roles().Create(ctx, r); err != nil {
			return nil, fmt.Errorf("create built-in role %q: %w", r.Name, err)
		}
		created = append(created, r.Name)
	}
	return created, nil
}

// EnsureBuiltinRoles creates the built-in roles a tenant lacks (one made
// before they existed), with a role.created event each; a tenant that has
// them is left alone and nothing is audited.
func (s *Service) EnsureBuiltinRoles(ctx context.Context, actor Actor, tenantID string) error {
	return s.write(ctx, actor, func(tx store.Repos, now time.Time) ([]event, error) {
		if _, err := getTenant(ctx, tx, tenantID); err != nil {
			return nil, err
		}
		created, err := createBuiltinRoles(ctx, tx, actor, tenantID, now)
		if err != nil {
			return nil, err
		}
		var evs []event
		for _, name := range created {
			r, err := tx.Roles().Get(ctx, tenantID, name)
			if err != nil {
				return nil, err
			}
			evs = append(evs, event{Type: model.EventRoleCreated, TenantID: tenantID, Scopes: r.Scopes,
				Details: map[string]any{"after": NewRoleDoc(r)}})
		}
		return evs, nil
	})
}

// RoleInput describes a new role.
type RoleInput struct {
	Name        string
	Description string
	// Scopes are the scopes the role gives; each must be in the registry.
	Scopes []string
}

// checkScopeNames adds a problem on field for every name that is not a
// valid scope token.
func checkScopeNames(p *model.Problems, field string, names []string) {
	for _, n := range names {
		if !scope.ValidToken(n) {
			p.Add(field, fmt.Sprintf("%q is not a valid scope name (RFC 6749 §3.3)", n))
		}
	}
}

// unknownScopes returns, as a problem on field, the names the tenant's
// registry does not know.
func unknownScopes(ctx context.Context, tx store.Repos, tenantID, field string, names []string, p *model.Problems) error {
	var unknown []string
	for _, n := range names {
		if _, err := tx.Scopes().Get(ctx, tenantID, n); errors.Is(err, store.ErrNotFound) {
			unknown = append(unknown, n)
		} else if err != nil {
			return lookupErr(err, fmt.Sprintf("scope %q", n))
		}
	}
	if len(unknown) > 0 {
		p.Add(field, "not in this tenant's scope registry: "+strings.Join(unknown, " "))
	}
	return nil
}

// CreateRole creates a role whose scopes all exist in the registry, with a
// role.created event. A user holding the role is entitled to its scopes
// (and what they imply) from the next token on.
func (s *Service) CreateRole(ctx context.Context, actor Actor, tenantID string, in RoleInput) (model.Role, error) {
	r := model.Role{TenantID: tenantID, Name: in.Name, Description: in.Description, Scopes: sortedSet(in.Scopes)}
	p := problemsOf(r.Validate())
	checkScopeNames(&p, "scopes", r.Scopes)
	if err := p.Err(); err != nil {
		return model.Role{}, err
	}
	var out model.Role
	err := s.write(ctx, actor, func(tx store.Repos, now time.Time) ([]event, error) {
		if _, err := getTenant(ctx, tx, tenantID); err != nil {
			return nil, err
		}
		var p model.Problems
		if err := unknownScopes(ctx, tx, tenantID, "scopes", r.Scopes, &p); err != nil {
			return nil, err
		}
		if err := p.Err(); err != nil {
			return nil, err
		}
		if err := actor.mayGrant(ctx, tx, tenantID, "creating role "+r.Name+" with these scopes", r.Scopes); err != nil {
			return nil, err
		}
		r.CreatedAt, r.UpdatedAt = now, now
		if err := tx.Roles().Create(ctx, r); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return nil, refuse(err, "role %q already exists in tenant %q", r.Name, tenantID)
			}
			return nil, fmt.Errorf("create role %q: %w", r.Name, err)
		}
		stored, err := tx.Roles().Get(ctx, tenantID, r.Name)
		if err != nil {
			return nil, err
		}
		out = stored
		return []event{{Type: model.EventRoleCreated, TenantID: tenantID, Scopes: stored.Scopes,
			Details: map[string]any{"after": NewRoleDoc(stored)}}}, nil
	})
	return out, err
}

// RoleUpdate changes a role; nil fields are left as they are.
type RoleUpdate struct {
	Description *string
	// Scopes replaces the role's scopes; each must be in the registry.
	Scopes *[]string
	// Version, when non-zero, must equal the stored version.
	Version int64
}

// UpdateRole changes a role's description and scopes, with a role.updated
// event holding before, after, and the scopes added and removed. Built-in
// roles may be changed too (they cannot be deleted). A removed scope stops
// appearing in tokens from the next issuance or refresh on; nothing is
// written when nothing changes.
func (s *Service) UpdateRole(ctx context.Context, actor Actor, tenantID, name string, upd RoleUpdate) (model.Role, error) {
	var p model.Problems
	if upd.Scopes != nil {
		checkScopeNames(&p, "scopes", *upd.Scopes)
	}
	if err := p.Err(); err != nil {
		return model.Role{}, err
	}
	var out model.Role
	err := s.writeAt(ctx, actor, upd.Version, func(tx store.Repos, now time.Time) ([]event, error) {
		before, err := getRole(ctx, tx, tenantID, name)
		if err != nil {
			return nil, err
		}
		if err := checkVersion("role "+name, upd.Version, before.Version); err != nil {
			return nil, err
		}
		after := before
		after.Scopes = sortedSet(before.Scopes)
		if upd.Description != nil {
			after.Description = *upd.Description
		}
		p := problemsOf(after.Validate())
		if upd.Scopes != nil {
			after.Scopes = sortedSet(*upd.Scopes)
			if err := unknownScopes(ctx, tx, tenantID, "scopes", setMinus(after.Scopes, before.Scopes), &p); err != nil {
				return nil, err
			}
		}
		if err := p.Err(); err != nil {
			return nil, err
		}
		added := setMinus(after.Scopes, sortedSet(before.Scopes))
		removed := setMinus(sortedSet(before.Scopes), after.Scopes)
		if after.Description == before.Description && len(added) == 0 && len(removed) == 0 {
			out = before
			return nil, nil
		}
		// Every holder of the role gets what is added; removing is allowed.
		if err := actor.mayGrant(ctx, tx, tenantID, "adding "+strings.Join(added, " ")+" to role "+name, added); err != nil {
			return nil, err
		}
		after.UpdatedAt = now
		if out, err = tx.Roles().Update(ctx, after); err != nil {
			return nil, writeErr(err, fmt.Sprintf("role %q", name))
		}
		return []event{{Type: model.EventRoleUpdated, TenantID: tenantID, Scopes: sortedSet(append(slices.Clone(added), removed...)),
			Details: map[string]any{"before": NewRoleDoc(before), "after": NewRoleDoc(out), "added": nonNil(added), "removed": nonNil(removed)}}}, nil
	})
	return out, err
}

// DeleteRole deletes a role and every assignment of it, directly and
// through groups, with a role.deleted event naming the users and groups
// that held it. Built-in roles cannot be deleted. version, when non-zero,
// must equal the stored version (else store.ErrPrecondition and nothing
// changes).
func (s *Service) DeleteRole(ctx context.Context, actor Actor, tenantID, name string, version int64) error {
	return s.writeAt(ctx, actor, version, func(tx store.Repos, now time.Time) ([]event, error) {
		before, err := getRole(ctx, tx, tenantID, name)
		if err != nil {
			return nil, err
		}
		if err := checkVersion("role "+name, version, before.Version); err != nil {
			return nil, err
		}
		if before.Builtin {
			return nil, invalid("name", "%q is a built-in role and cannot be deleted", name)
		}
		users, err := tx.Roles().Holders(ctx, tenantID, name)
		if err != nil {
			return nil, err
		}
		groups, err := groupsGiving(ctx, tx, tenantID, name)
		if err != nil {
			return nil, err
		}
		// Only the version read: a concurrent update fails the delete.
		if err := tx.Roles().Delete(ctx, tenantID, name, before.Version); err != nil {
			return nil, writeErr(err, fmt.Sprintf("role %q", name))
		}
		return []event{{Type: model.EventRoleDeleted, TenantID: tenantID, Scopes: before.Scopes,
			Details: map[string]any{"before": NewRoleDoc(before), "users": nonNil(users), "groups": nonNil(groups)}}}, nil
	})
}

// groupsGiving returns the names of the groups that give role, sorted.
func groupsGiving(ctx context.Context, tx store.Repos, tenantID, role string) ([]string, error) {
	gs, err := tx.Groups().List(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, g := range gs {
		if slices.Contains(g.Roles, role) {
			out = append(out, g.Name)
		}
	}
	return out, nil
}

// RoleDetail is a role with the users holding it directly and the groups
// that give it.
type RoleDetail struct {
	Role   model.Role
	Users  []UserRef
	Groups []string
}

// GetRole returns a role with its direct holders and the groups giving it.
func (s *Service) GetRole(ctx context.Context, actor Actor, tenantID, name string) (RoleDetail, error) {
	var out RoleDetail
	err := s.read(ctx, actor, func(tx store.Repos) error {
		r, err := getRole(ctx, tx, tenantID, name)
		if err != nil {
			return err
		}
		ids, err := tx.Roles().Holders(ctx, tenantID, name)
		if err != nil {
			return err
		}
		out.Role = r
		if out.Users, err = userRefs(ctx, tx, tenantID, ids); err != nil {
			return err
		}
		out.Groups, err = groupsGiving(ctx, tx, tenantID, name)
		return err
	})
	return out, err
}

// ListRoles returns every role of the tenant ordered by name.
func (s *Service) ListRoles(ctx context.Context, actor Actor, tenantID string) ([]model.Role, error) {
	var out []model.Role
	err := s.read(ctx, actor, func(tx store.Repos) error {
		if _, err := getTenant(ctx, tx, tenantID); err != nil {
			return err
		}
		var err error
		out, err = tx.Roles().List(ctx, tenantID)
		return err
	})
	return out, err
}

// AssignRole gives a user (by ID, username or email) a role directly, with
// a role.assigned event whose subject is the user. Assigning a role the
// user already holds directly changes nothing.
func (s *Service) AssignRole(ctx context.Context, actor Actor, tenantID, role, userRef string) (model.User, error) {
	var out model.User
	err := s.write(ctx, actor, func(tx store.Repos, now time.Time) ([]event, error) {
		r, err := getRole(ctx, tx, tenantID, role)
		if err != nil {
			return nil, err
		}
		u, err := resolveUser(ctx, tx, tenantID, userRef)
		if err != nil {
			return nil, err
		}
		out = u
		holders, err := tx.Roles().Holders(ctx, tenantID, role)
		if err != nil {
			return nil, err
		}
		if slices.Contains(holders, u.ID) {
			return nil, nil
		}
		if err := actor.mayGrant(ctx, tx, tenantID, "assigning role "+role+" to "+u.Username, r.Scopes); err != nil {
			return nil, err
		}
		if err := tx.Roles().Assign(ctx, tenantID, u.ID, role); err != nil {
			return nil, writeErr(err, fmt.Sprintf("the assignment of role %q to %q", role, userRef))
		}
		return []event{{Type: model.EventRoleAssigned, TenantID: tenantID, Subject: u.ID, Scopes: r.Scopes,
			Details: map[string]any{"role": role, "user_id": u.ID, "username": u.Username}}}, nil
	})
	return out, err
}

// UnassignRole takes a directly assigned role away from a user, with a
// role.unassigned event. A user holding the role only through a group is
// refused with a sentence naming the groups (remove them from the group
// instead); a user not holding it at all changes nothing.
func (s *Service) UnassignRole(ctx context.Context, actor Actor, tenantID, role, userRef string) (model.User, error) {
	var out model.User
	err := s.write(ctx, actor, func(tx store.Repos, now time.Time) ([]event, error) {
		r, err := getRole(ctx, tx, tenantID, role)
		if err != nil {
			return nil, err
		}
		u, err := resolveUser(ctx, tx, tenantID, userRef)
		if err != nil {
			return nil, err
		}
		out = u
		holders, err := tx.Roles().Holders(ctx, tenantID, role)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(holders, u.ID) {
			groups, err := tx.Groups().OfUser(ctx, tenantID, u.ID)
			if err != nil {
				return nil, err
			}
			giving, err := groupsGiving(ctx, tx, tenantID, role)
			if err != nil {
				return nil, err
			}
			var via []string
			for _, g := range groups {
				if slices.Contains(giving, g) {
					via = append(via, g)
				}
			}
			if len(via) > 0 {
				return nil, invalid("role", "%s holds %q through group %s, not directly: remove them from the group (group remove)", u.Username, role, strings.Join(via, ", "))
			}
			return nil, nil
		}
		if err := tx.Roles().Unassign(ctx, tenantID, u.ID, role); err != nil {
			return nil, writeErr(err, fmt.Sprintf("the assignment of role %q to %q", role, userRef))
		}
		return []event{{Type: model.EventRoleUnassigned, TenantID: tenantID, Subject: u.ID, Scopes: r.Scopes,
			Details: map[string]any{"role": role, "user_id": u.ID, "username": u.Username}}}, nil
	})
	return out, err
}

func getRole(ctx context.Context, tx store.Repos, tenantID, name string) (model.Role, error) {
	r, err := tx.Roles().Get(ctx, tenantID, name)
	if err != nil {
		return r, lookupErr(err, fmt.Sprintf("role %q", name))
	}
	return r, nil
}
