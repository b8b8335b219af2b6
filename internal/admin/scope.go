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

// ScopeInput describes a new custom scope.
type ScopeInput struct {
	Name        string
	DisplayName string
	// Description is the consent text, required, at most 120 characters.
	Description string
	// API is the identifier (audience) or ID of the API defining the scope.
	API string
	// Implies names scopes of the same API, or OIDC scopes, that a grant of
	// this one carries with it.
	Implies []string
	// RequiresMFA: in a user flow the scope is granted only to a sign-in
	// that passed a second factor (PRODUCT.md §2 step 6b).
	RequiresMFA bool
}

// CreateScope adds a custom scope to a tenant's registry. The scope is on
// no application's allowlist until an admin adds it (PRODUCT.md §4).
func (s *Service) CreateScope(ctx context.Context, actor Actor, tenantID string, in ScopeInput) (model.Scope, error) {
	var out model.Scope
	err := s.write(ctx, actor, func(tx store.Repos, now time.Time) ([]event, error) {
		t, err := getTenant(ctx, tx, tenantID)
		if err != nil {
			return nil, err
		}
		sc := model.Scope{TenantID: tenantID, Name: in.Name, DisplayName: in.DisplayName, Description: in.Description,
			Kind: model.KindCustom, Implies: dedupe(in.Implies), RequiresMFA: in.RequiresMFA, CreatedAt: now, UpdatedAt: now}
		// Resolve the API first: Validate needs APIID, and an unknown API
		// deserves its own sentence rather than "api is required".
		var api model.API
		var apiProblem string
		if in.API != "" {
			api, err = resolveAPI(ctx, tx, tenantID, in.API)
			switch {
			case errors.Is(err, store.ErrNotFound):
				apiProblem = fmt.Sprintf("no API %q in this tenant (create it first with: api create)", in.API)
			case err != nil:
				return nil, err
			case api.Platform:
				apiProblem = "the platform API's scopes are predefined; custom scopes belong to your own APIs"
			default:
				sc.APIID = api.ID
			}
		}
		p := problemsOf(sc.Validate(t.ScopePattern))
		if apiProblem != "" {
			p.Add("api", apiProblem)
		} else if sc.APIID != "" {
			if err := checkImplies(ctx, tx, sc, &p); err != nil {
				return nil, err
			}
		}
		if err := p.Err(); err != nil {
			return nil, err
		}
		if err := tx.Scopes().Create(ctx, sc); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return nil, refuse(err, "scope %q already exists in tenant %q", sc.Name, tenantID)
			}
			return nil, fmt.Errorf("create scope %q: %w", sc.Name, err)
		}
		if out, err = tx.Scopes().Get(ctx, tenantID, sc.Name); err != nil {
			return nil, err
		}
		return []event{{Type: model.EventScopeCreated, TenantID: tenantID, Audience: api.Identifier, Scopes: []string{sc.Name},
			Details: map[string]any{"after": NewScopeDoc(out)}}}, nil
	})
	return out, err
}

// checkImplies adds a problem for every implied scope that is unknown or
// belongs to another API than sc (OIDC scopes may be implied by any).
func checkImplies(ctx context.Context, tx store.Repos, sc model.Scope, p *model.Problems) error {
	var unknown, foreign []string
	for _, name := range sc.Implies {
		if name == sc.Name {
			continue // Validate reports self-implication
		}
		other, err := tx.Scopes().Get(ctx, sc.TenantID, name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			unknown = append(unknown, name)
		case err != nil:
			return fmt.Errorf("implied scope %q: %w", name, err)
		case other.Kind != model.KindOIDC && other.APIID != sc.APIID:
			foreign = append(foreign, name)
		}
	}
	if len(unknown) > 0 {
		p.Add("implies", "unknown scopes: "+strings.Join(unknown, " "))
	}
	if len(foreign) > 0 {
		p.Add("implies", "scopes of another API cannot be implied (a token has one audience): "+strings.Join(foreign, " "))
	}
	return nil
}

// resolveAPI finds an API by ID, then by identifier.
func resolveAPI(ctx context.Context, tx store.Repos, tenantID, ref string) (model.API, error) {
	a, err := tx.APIs().Get(ctx, tenantID, ref)
	if errors.Is(err, store.ErrNotFound) {
		a, err = tx.APIs().GetByIdentifier(ctx, tenantID, ref)
	}
	if err != nil {
		return a, lookupErr(err, fmt.Sprintf("API %q", ref))
	}
	return a, nil
}

// ScopeUpdate changes a scope; nil fields are left as they are.
type ScopeUpdate struct {
	DisplayName *string
	Description *string
	// Implies replaces the implied scopes (custom scopes only).
	Implies *[]string
	// RequiresMFA sets whether the scope is granted only to a sign-in that
	// passed a second factor (custom and platform scopes; an OpenID Connect
	// scope cannot require one).
	RequiresMFA *bool
	// Version, when non-zero, must equal the stored version.
	Version int64
}

// UpdateScope changes a scope's display name, description, implications
// and second-factor requirement. Predefined scopes keep their
// implications (part of the platform's contract); a platform scope may
// require a second factor (an admin's users:write, say), an OpenID
// Connect scope may not: it goes with every sign-in, and an application
// that needs a second factor says so itself (Application.MFA).
func (s *Service) UpdateScope(ctx context.Context, actor Actor, tenantID, name string, upd ScopeUpdate) (model.Scope, error) {
	var out model.Scope
	err := s.writeAt(ctx, actor, upd.Version, func(tx store.Repos, now time.Time) ([]event, error) {
		if _, err := getTenant(ctx, tx, tenantID); err != nil {
			return nil, err
		}
		before, err := getScope(ctx, tx, tenantID, name)
		if err != nil {
			return nil, err
		}
		if err := checkVersion("scope "+name, upd.Version, before.Version); err != nil {
			return nil, err
		}
		after := before
		after.Implies = slices.Clone(before.Implies)
		if upd.DisplayName != nil {
			after.DisplayName = *upd.DisplayName
		}
		if upd.Description != nil {
			after.Description = *upd.Description
		}
		var p model.Problems
		if upd.Implies != nil {
			if before.Predefined() {
				p.Add("implies", fmt.Sprintf("%q is a predefined scope: only its display name and description can change", name))
			} else {
				after.Implies = dedupe(*upd.Implies)
			}
		}
		if upd.RequiresMFA != nil {
			if *upd.RequiresMFA && before.Kind == model.KindOIDC {
				p.Add("requires_mfa", fmt.Sprintf("%q is an OpenID Connect scope, which cannot require a second factor; set the application's mfa to required instead", name))
			} else {
				after.RequiresMFA = *upd.RequiresMFA
			}
		}
		// The tenant pattern is not re-applied: a tightened pattern governs
		// new names, and this update does not rename.
		p = append(p, problemsOf(after.Validate(""))...)
		if upd.Implies != nil && !before.Predefined() {
			if err := checkImplies(ctx, tx, after, &p); err != nil {
				return nil, err
			}
		}
		if err := p.Err(); err != nil {
			return nil, err
		}
		after.UpdatedAt = now
		if out, err = tx.Scopes().Update(ctx, after); err != nil {
			return nil, writeErr(err, fmt.Sprintf("scope %q", name))
		}
		return []event{{Type: model.EventScopeUpdated, TenantID: tenantID, Scopes: []string{name},
			Details: map[string]any{"before": NewScopeDoc(before), "after": NewScopeDoc(out)}}}, nil
	})
	return out, err
}

// RenameScope renames a custom scope; every allowlist, implication, role
// and consent that holds it, and every grant already made (refresh tokens,
// codes, authorization requests), follows in the same transaction
// (store.Scopes.Rename), and the scope.renamed event names the applications
// and roles and counts the consents. version, when non-zero, must equal the
// stored version (else store.ErrPrecondition and nothing changes).
func (s *Service) RenameScope(ctx context.Context, actor Actor, tenantID, oldName, newName string, version int64) (model.Scope, error) {
	var out model.Scope
	err := s.writeAt(ctx, actor, version, func(tx store.Repos, now time.Time) ([]event, error) {
		t, err := getTenant(ctx, tx, tenantID)
		if err != nil {
			return nil, err
		}
		before, err := getScope(ctx, tx, tenantID, oldName)
		if err != nil {
			return nil, err
		}
		if err := checkVersion("scope "+oldName, version, before.Version); err != nil {
			return nil, err
		}
		if before.Predefined() {
			return nil, invalid("name", "%q is a predefined %s scope and cannot be renamed", oldName, before.Kind)
		}
		if err := model.ValidScopeName(newName, t.ScopePattern); err != nil {
			return nil, invalid("new_name", "%s", err.Error())
		}
		if newName == oldName {
			return nil, invalid("new_name", "is the current name")
		}
		imp, err := tx.Scopes().Impact(ctx, tenantID, oldName)
		if err != nil {
			return nil, err
		}
		// before.Version, not version: the event's impact was read at that
		// version, and a concurrent edit since must fail this rename rather
		// than be carried along unseen (as in UpdateScope).
		if out, err = tx.Scopes().Rename(ctx, tenantID, oldName, newName, before.Version); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return nil, refuse(err, "cannot rename %q: scope %q already exists", oldName, newName)
			}
			return nil, writeErr(err, fmt.Sprintf("scope %q", oldName))
		}
		return []event{{Type: model.EventScopeRenamed, TenantID: tenantID, Scopes: []string{oldName, newName},
			Details: map[string]any{"from": oldName, "to": newName, "applications": nonNil(imp.Applications),
				"roles": nonNil(imp.Roles), "consents": imp.Consents}}}, nil
	})
	return out, err
}

// DeleteScope deletes a custom scope and removes it from every allowlist,
// implication, role and consent in one transaction; it returns what held
// it (the applications, roles and consent count), which the scope.deleted
// event records. Predefined scopes cannot be deleted. version, when
// non-zero, must equal the stored version (else store.ErrPrecondition and
// nothing changes).
func (s *Service) DeleteScope(ctx context.Context, actor Actor, tenantID, name string, version int64) (ScopeImpact, error) {
	var out ScopeImpact
	err := s.writeAt(ctx, actor, version, func(tx store.Repos, now time.Time) ([]event, error) {
		if _, err := getTenant(ctx, tx, tenantID); err != nil {
			return nil, err
		}
		before, err := getScope(ctx, tx, tenantID, name)
		if err != nil {
			return nil, err
		}
		if err := checkVersion("scope "+name, version, before.Version); err != nil {
			return nil, err
		}
		if before.Predefined() {
			return nil, invalid("name", "%q is a predefined %s scope and cannot be deleted", name, before.Kind)
		}
		imp, err := tx.Scopes().Impact(ctx, tenantID, name)
		if err != nil {
			return nil, err
		}
		// The store deletes only the version read above, so an update
		// committed since (PostgreSQL's READ COMMITTED lets it in) fails
		// the delete instead of being lost with the event's stale "before".
		removed, err := tx.Scopes().Delete(ctx, tenantID, name, before.Version)
		if err != nil {
			return nil, writeErr(err, fmt.Sprintf("scope %q", name))
		}
		grants, err := tx.Audit().CountGrants(ctx, tenantID, name, now.Add(-GrantsWindow))
		if err != nil {
			return nil, fmt.Errorf("count grants of %q: %w", name, err)
		}
		out = ScopeImpact{Scope: NewScopeDoc(before), Applications: nonNil(removed), Roles: nonNil(imp.Roles), Consents: imp.Consents,
			GrantsLast30Days: grants, Deletable: true}
		return []event{{Type: model.EventScopeDeleted, TenantID: tenantID, Scopes: []string{name},
			Details: map[string]any{"before": NewScopeDoc(before), "removed_from": out.Applications,
				"roles": out.Roles, "consents": out.Consents}}}, nil
	})
	return out, err
}

// GrantsWindow is the window of ScopeImpact.GrantsLast30Days.
const GrantsWindow = 30 * 24 * time.Hour

// ScopeImpact is what deleting (or renaming) a scope touches (PRODUCT.md
// §4), and how much it was used lately.
type ScopeImpact struct {
	Scope ScopeDoc `json:"scope"`
	// Applications are the client IDs whose allowlist holds the scope.
	Applications []string `json:"applications"`
	// Roles are the names of the roles that give the scope.
	Roles []string `json:"roles"`
	// Consents is how many (user, application) consents include it.
	Consents int `json:"consents"`
	// GrantsLast30Days counts the tokens issued in the last 30 days
	// (GrantsWindow) that carried the scope, from the audit log's
	// oauth.token_issued events. Tokens still valid keep the scope after a
	// delete until they expire; refreshes lose it at once.
	GrantsLast30Days int `json:"grants_last_30_days"`
	// Deletable is false for predefined scopes.
	Deletable bool `json:"deletable"`
}

// Impact reports which applications and roles hold a scope, how many
// consents include it and how many tokens carried it in the last 30 days,
// before a delete or rename.
func (s *Service) Impact(ctx context.Context, actor Actor, tenantID, name string) (ScopeImpact, error) {
	var out ScopeImpact
	since := s.now().Add(-GrantsWindow)
	err := s.read(ctx, actor, func(tx store.Repos) error {
		sc, err := getScope(ctx, tx, tenantID, name)
		if err != nil {
			return err
		}
		imp, err := tx.Scopes().Impact(ctx, tenantID, name)
		if err != nil {
			return err
		}
		grants, err := tx.Audit().CountGrants(ctx, tenantID, name, since)
		if err != nil {
			return fmt.Errorf("count grants of %q: %w", name, err)
		}
		out = ScopeImpact{Scope: NewScopeDoc(sc), Applications: nonNil(imp.Applications), Roles: nonNil(imp.Roles),
			Consents: imp.Consents, GrantsLast30Days: grants, Deletable: !sc.Predefined()}
		return nil
	})
	return out, err
}

// GetScope returns one scope.
func (s *Service) GetScope(ctx context.Context, actor Actor, tenantID, name string) (model.Scope, error) {
	var sc model.Scope
	err := s.read(ctx, actor, func(tx store.Repos) (err error) {
		sc, err = getScope(ctx, tx, tenantID, name)
		return err
	})
	return sc, err
}

// ScopePage is one page of a scope listing.
type ScopePage struct {
	Scopes []model.Scope
	// Total is the number of scopes of the listed kind(s).
	Total int
	Page  store.Page
}

// DefaultPageSize is the page length when the caller asks for none.
const DefaultPageSize = 20

// ListScopes lists scopes alphabetically, one page at a time; kind "" lists
// every kind.
func (s *Service) ListScopes(ctx context.Context, actor Actor, tenantID string, kind model.ScopeKind, page store.Page) (ScopePage, error) {
	page = normPage(page)
	var out ScopePage
	err := s.read(ctx, actor, func(tx store.Repos) error {
		if _, err := getTenant(ctx, tx, tenantID); err != nil {
			return err
		}
		scopes, total, err := tx.Scopes().List(ctx, tenantID, kind, page)
		out = ScopePage{Scopes: scopes, Total: total, Page: page}
		return err
	})
	return out, err
}

func normPage(p store.Page) store.Page {
	if p.Limit <= 0 {
		p.Limit = DefaultPageSize
	}
	if p.Limit > 1000 {
		p.Limit = 1000
	}
	if p.Offset < 0 {
		p.Offset = 0
	}
	return p
}

func getScope(ctx context.Context, tx store.Repos, tenantID, name string) (model.Scope, error) {
	sc, err := tx.Scopes().Get(ctx, tenantID, name)
	if err != nil {
		return sc, lookupErr(err, fmt.Sprintf("scope %q", name))
	}
	return sc, nil
}

// dedupe drops duplicates, keeping first occurrences in order.
func dedupe(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, 0, len(in))
	for _, s := range in {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
