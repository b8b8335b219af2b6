package policy

import (
	"slices"
	"strings"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/scope"
)

// Registry is an immutable index of one tenant's scopes and APIs, built once
// per configuration revision so that Decide does map lookups only.
type Registry struct {
	scopes       map[string]model.Scope
	apiByID      map[string]model.API
	apiByIdent   map[string]model.API
	platformAPI  model.API
	havePlatform bool
}

// NewRegistry indexes the tenant's scopes and APIs.
func NewRegistry(scopes []model.Scope, apis []model.API) *Registry {
	r := &Registry{
		scopes:     make(map[string]model.Scope, len(scopes)),
		apiByID:    make(map[string]model.API, len(apis)),
		apiByIdent: make(map[string]model.API, len(apis)),
	}
	for _, s := range scopes {
		r.scopes[s.Name] = s
	}
	for _, a := range apis {
		r.apiByID[a.ID] = a
		r.apiByIdent[a.Identifier] = a
		if a.Platform {
			r.platformAPI, r.havePlatform = a, true
		}
	}
	return r
}

// Scope returns the registered scope of that name.
func (r *Registry) Scope(name string) (model.Scope, bool) {
	s, ok := r.scopes[name]
	return s, ok
}

// API returns the API with that audience identifier.
func (r *Registry) API(identifier string) (model.API, bool) {
	a, ok := r.apiByIdent[identifier]
	return a, ok
}

// APIByID returns the API with that ID.
func (r *Registry) APIByID(id string) (model.API, bool) {
	a, ok := r.apiByID[id]
	return a, ok
}

// PlatformAPI returns the tenant's own /api/v1 API.
func (r *Registry) PlatformAPI() (model.API, bool) { return r.platformAPI, r.havePlatform }

// implies returns the direct implications of a registered scope; unknown
// names imply nothing.
func (r *Registry) implies(name string) []string { return r.scopes[name].Implies }

// Closure expands names with everything they imply, transitively.
func (r *Registry) Closure(names scope.Set) scope.Set { return names.Closure(r.implies) }

// NeedsNoRole reports whether a user may hold the scope without any role:
// OIDC scopes and the user's own me:* scopes (PRODUCT.md §1).
func NeedsNoRole(s model.Scope) bool {
	return s.Kind == model.KindOIDC || (s.Kind == model.KindPlatform && strings.HasPrefix(s.Name, "me:"))
}

// Names returns every registered scope name, unordered.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.scopes))
	for n := range r.scopes {
		out = append(out, n)
	}
	return out
}

// Identifiers returns the identifiers of the tenant's APIs, sorted.
func (r *Registry) Identifiers() []string {
	out := make([]string, 0, len(r.apiByIdent))
	for id := range r.apiByIdent {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}
