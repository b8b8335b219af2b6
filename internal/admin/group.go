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
)

// GroupInput describes a new group.
type GroupInput struct {
	Name        string
	Description string
	// Roles are the roles every member holds; each must exist.
	Roles []string
}

// CreateGroup creates a group whose roles all exist, with a group.created
// event.
func (s *Service) CreateGroup(ctx context.Context, actor Actor, tenantID string, in GroupInput) (model.Group, error) {
	g := model.Group{TenantID: tenantID, Name: in.Name, Description: in.Description, Roles: sortedSet(in.Roles)}
	if err := g.Validate(); err != nil {
		return model.Group{}, err
	}
	var out model.Group
	err := s.write(ctx, actor, func(tx store.Repos, now time.Time) ([]event, error) {
		if _, err := getTenant(ctx, tx, tenantID); err != nil {
			return nil, err
		}
		if err := checkRolesExist(ctx, tx, tenantID, "roles", g.Roles); err != nil {
			return nil, err
		}
		// A group giving roles grants their scopes to every member it will
		// have (each addition is checked again).
		given, err := scopesOfRoles(ctx, tx, tenantID, g.Roles)
		if err != nil {
			return nil, err
		}
		if err := actor.mayGrant(ctx, tx, tenantID, "creating group "+g.Name+" with roles "+strings.Join(g.Roles, " "), given); err != nil {
			return nil, err
		}
		g.CreatedAt, g.UpdatedAt = now, now
		if err := tx.Groups().Create(ctx, g); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return nil, refuse(err, "group %q already exists in tenant %q", g.Name, tenantID)
			}
			return nil, fmt.Errorf("create group %q: %w", g.Name, err)
		}
		stored, err := tx.Groups().Get(ctx, tenantID, g.Name)
		if err != nil {
			return nil, err
		}
		out = stored
		return []event{{Type: model.EventGroupCreated, TenantID: tenantID, Details: map[string]any{"after": NewGroupDoc(stored)}}}, nil
	})
	return out, err
}

// GroupUpdate changes a group; nil fields are left as they are.
type GroupUpdate struct {
	Description *string
	// Roles replaces the group's roles; each must exist.
	Roles *[]string
	// Version, when non-zero, must equal the stored version.
	Version int64
}

// UpdateGroup changes a group's description and roles, with a
// group.updated event holding before and after. Nothing is written when
// nothing changes.
func (s *Service) UpdateGroup(ctx context.Context, actor Actor, tenantID, name string, upd GroupUpdate) (model.Group, error) {
	var out model.Group
	err := s.writeAt(ctx, actor, upd.Version, func(tx store.Repos, now time.Time) ([]event, error) {
		before, err := getGroup(ctx, tx, tenantID, name)
		if err != nil {
			return nil, err
		}
		if err := checkVersion("group "+name, upd.Version, before.Version); err != nil {
			return nil, err
		}
		after := before
		after.Roles = sortedSet(before.Roles)
		if upd.Description != nil {
			after.Description = *upd.Description
		}
		if upd.Roles != nil {
			after.Roles = sortedSet(*upd.Roles)
		}
		if err := after.Validate(); err != nil {
			return nil, err
		}
		if err := checkRolesExist(ctx, tx, tenantID, "roles", setMinus(after.Roles, before.Roles)); err != nil {
			return nil, err
		}
		if after.Description == before.Description && slices.Equal(after.Roles, sortedSet(before.Roles)) {
			out = before
			return nil, nil
		}
		// Every member gets the added roles' scopes; removing is allowed.
		addedRoles := setMinus(after.Roles, sortedSet(before.Roles))
		given, err := scopesOfRoles(ctx, tx, tenantID, addedRoles)
		if err != nil {
			return nil, err
		}
		if err := actor.mayGrant(ctx, tx, tenantID, "adding roles "+strings.Join(addedRoles, " ")+" to group "+name, given); err != nil {
			return nil, err
		}
		after.UpdatedAt = now
		if out, err = tx.Groups().Update(ctx, after); err != nil {
			return nil, writeErr(err, fmt.Sprintf("group %q", name))
		}
		return []event{{Type: model.EventGroupUpdated, TenantID: tenantID,
			Details: map[string]any{"before": NewGroupDoc(before), "after": NewGroupDoc(out)}}}, nil
	})
	return out, err
}

// DeleteGroup deletes a group and its memberships (its members lose the
// roles it gave), with a group.deleted event naming the members. version,
// when non-zero, must equal the stored version (else store.ErrPrecondition
// and nothing changes).
func (s *Service) DeleteGroup(ctx context.Context, actor Actor, tenantID, name string, version int64) error {
	return s.writeAt(ctx, actor, version, func(tx store.Repos, now time.Time) ([]event, error) {
		before, err := getGroup(ctx, tx, tenantID, name)
		if err != nil {
			return nil, err
		}
		if err := checkVersion("group "+name, version, before.Version); err != nil {
			return nil, err
		}
		members, err := tx.Groups().Members(ctx, tenantID, name)
		if err != nil {
			return nil, err
		}
		// Only the version read: a concurrent update fails the delete.
		if err := tx.Groups().Delete(ctx, tenantID, name, before.Version); err != nil {
			return nil, writeErr(err, fmt.Sprintf("group %q", name))
		}
		return []event{{Type: model.EventGroupDeleted, TenantID: tenantID,
			Details: map[string]any{"before": NewGroupDoc(before), "members": nonNil(members)}}}, nil
	})
}

// GroupDetail is a group with its members.
type GroupDetail struct {
	Group   model.Group
	Members []UserRef
}

// GetGroup returns a group with its members.
func (s *Service) GetGroup(ctx context.Context, actor Actor, tenantID, name string) (GroupDetail, error) {
	var out GroupDetail
	err := s.read(ctx, actor, func(tx store.Repos) error {
		g, err := getGroup(ctx, tx, tenantID, name)
		if err != nil {
			return err
		}
		ids, err := tx.Groups().Members(ctx, tenantID, name)
		if err != nil {
			return err
		}
		out.Group = g
		out.Members, err = userRefs(ctx, tx, tenantID, ids)
		return err
	})
	return out, err
}

// ListGroups returns every group of the tenant ordered by name.
func (s *Service) ListGroups(ctx context.Context, actor Actor, tenantID string) ([]model.Group, error) {
	var out []model.Group
	err := s.read(ctx, actor, func(tx store.Repos) error {
		if _, err := getTenant(ctx, tx, tenantID); err != nil {
			return err
		}
		var err error
		out, err = tx.Groups().List(ctx, tenantID)
		return err
	})
	return out, err
}

// AddMember adds a user (by ID, username or email) to a group, with a
// group.member_added event whose subject is the user; a member already in
// the group changes nothing.
func (s *Service) AddMember(ctx context.Context, actor Actor, tenantID, group, userRef string) (model.User, error) {
	return s.membership(ctx, actor, tenantID, group, userRef, true)
}

// RemoveMember removes a user from a group, with a group.member_removed
// event; a user not in the group changes nothing.
func (s *Service) RemoveMember(ctx context.Context, actor Actor, tenantID, group, userRef string) (model.User, error) {
	return s.membership(ctx, actor, tenantID, group, userRef, false)
}

func (s *Service) membership(ctx context.Context, actor Actor, tenantID, group, userRef string, add bool) (model.User, error) {
	var out model.User
	err := s.write(ctx, actor, func(tx store.Repos, now time.Time) ([]event, error) {
		g, err := getGroup(ctx, tx, tenantID, group)
		if err != nil {
			return nil, err
		}
		u, err := resolveUser(ctx, tx, tenantID, userRef)
		if err != nil {
			return nil, err
		}
		out = u
		members, err := tx.Groups().Members(ctx, tenantID, group)
		if err != nil {
			return nil, err
		}
		if slices.Contains(members, u.ID) == add {
			return nil, nil
		}
		if add {
			given, err := scopesOfRoles(ctx, tx, tenantID, g.Roles)
			if err != nil {
				return nil, err
			}
			if err := actor.mayGrant(ctx, tx, tenantID, "adding "+u.Username+" to group "+group, given); err != nil {
				return nil, err
			}
		}
		typ := model.EventGroupMemberAdded
		if add {
			err = tx.Groups().AddMember(ctx, tenantID, group, u.ID)
		} else {
			typ = model.EventGroupMemberRemoved
			err = tx.Groups().RemoveMember(ctx, tenantID, group, u.ID)
		}
		if err != nil {
			return nil, writeErr(err, fmt.Sprintf("the membership of %q in group %q", userRef, group))
		}
		return []event{{Type: typ, TenantID: tenantID, Subject: u.ID,
			Details: map[string]any{"group": group, "roles": nonNil(g.Roles), "user_id": u.ID, "username": u.Username}}}, nil
	})
	return out, err
}

func getGroup(ctx context.Context, tx store.Repos, tenantID, name string) (model.Group, error) {
	g, err := tx.Groups().Get(ctx, tenantID, name)
	if err != nil {
		return g, lookupErr(err, fmt.Sprintf("group %q", name))
	}
	return g, nil
}
