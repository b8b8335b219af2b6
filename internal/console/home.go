package console

import (
	"net/http"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// routes mounts every page and action. Each page group adds its own
// method here; the Op is the use-case's, from admin's table.
func (h *Handler) routes(rt *router) {
	rt.page("GET", model.ConsolePath+"/{$}", "", h.home)
	h.scopePages(rt)       // scopes.go
	h.apiPages(rt)         // apis.go
	h.applicationPages(rt) // applications.go, allowlist.go
	h.userPages(rt)        // users.go (and consents)
	h.groupPages(rt)       // groups.go
	h.rolePages(rt)        // roles.go
	h.auditPages(rt)       // audit.go
	h.usagePages(rt)       // usage.go
	h.explainPages(rt)     // explain.go
	h.settingsPages(rt)    // settings.go
}

// count is one tile of the home page.
type count struct {
	Label string
	Path  string
	N     int
}

type homeBody struct {
	Counts []count
	// NoAccess: the user's token carries no platform scope at all.
	NoAccess bool
	Scopes   []string
}

// home is the tenant's home page: a count of each kind of thing the user
// may list, with a link to it; or, for a user with no platform scope, a
// page that says so and what to do.
func (h *Handler) home(w http.ResponseWriter, r *Request) error {
	ctx := r.Context()
	body := homeBody{NoAccess: true, Scopes: r.Actor.Scopes}
	one := store.Page{Limit: 1}
	add := func(op admin.Op, label, path string, n func() (int, error)) error {
		if !r.May(op) {
			return nil
		}
		body.NoAccess = false
		v, err := n()
		if err != nil {
			return err
		}
		body.Counts = append(body.Counts, count{label, r.Base + path, v})
		return nil
	}
	steps := []struct {
		op          admin.Op
		label, path string
		n           func() (int, error)
	}{
		{admin.OpListScopes, "Custom scopes", "/scopes", func() (int, error) {
			p, err := h.Admin.ListScopes(ctx, r.Actor, r.TenantID(), model.KindCustom, one)
			return p.Total, err
		}},
		{admin.OpListAPIs, "APIs", "/apis", func() (int, error) {
			l, err := h.Admin.ListAPIs(ctx, r.Actor, r.TenantID())
			return len(l), err
		}},
		{admin.OpListApplications, "Applications", "/applications", func() (int, error) {
			p, err := h.Admin.ListApplications(ctx, r.Actor, r.TenantID(), one)
			return p.Total, err
		}},
		{admin.OpListUsers, "Users", "/users", func() (int, error) {
			p, err := h.Admin.ListUsers(ctx, r.Actor, r.TenantID(), store.UserQuery{Page: one})
			return p.Total, err
		}},
		{admin.OpListGroups, "Groups", "/groups", func() (int, error) {
			l, err := h.Admin.ListGroups(ctx, r.Actor, r.TenantID())
			return len(l), err
		}},
		{admin.OpListRoles, "Roles", "/roles", func() (int, error) {
			l, err := h.Admin.ListRoles(ctx, r.Actor, r.TenantID())
			return len(l), err
		}},
	}
	for _, s := range steps {
		if err := add(s.op, s.label, s.path, s.n); err != nil {
			return err
		}
	}
	for _, op := range []admin.Op{admin.OpSearchAudit, admin.OpScopeUsage, admin.OpExplain} {
		if r.May(op) {
			body.NoAccess = false
		}
	}
	status := http.StatusOK
	if body.NoAccess {
		status = http.StatusForbidden
	}
	h.render(w, r, status, "home", r.Snap.Tenant.Name, body)
	return nil
}
