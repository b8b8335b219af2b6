package login

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// openid cannot be unticked: without it the request is not OpenID Connect
// at all, which the application asked for (PRODUCT.md §2 step 6).
const openid = model.ScopeOpenID

// scopeItem is one scope as the consent page shows it.
type scopeItem struct {
	Name, DisplayName, Description string
	// ID is the checkbox's element ID, unique on the page.
	ID string
	// Required scopes are shown ticked and cannot be unticked.
	Required bool
}

// consentView is what the consent template sees.
type consentView struct {
	AppName, Account, RequestID, CSRF string
	// AccountURL is the account page, where the user withdraws access
	// (relative: the consent page is beside it, under the issuer).
	AccountURL string
	// Ask are the scopes to answer; Granted those already consented to.
	Ask, Granted []scopeItem
	// Groups, for a request naming several APIs (RFC 8707 §2.1), are the
	// scopes of Ask grouped by API, each under the API's name, after the
	// scopes of the user's account (OIDC scopes, asked once for all the
	// APIs). Empty for a request of one API: Ask is shown as one list.
	Groups []scopeGroup
}

// scopeGroup is one API's scopes on the consent page.
type scopeGroup struct {
	Title string
	Items []scopeItem
}

// groupByAPI groups the scopes to ask for by the API that defines them,
// in the order the request names its APIs; the OIDC scopes (and any the
// registry no longer knows) come first, as "Your account".
func groupByAPI(snap *catalog.Snapshot, resources []string, items []scopeItem) []scopeGroup {
	account := scopeGroup{Title: "Your account"}
	var apis []scopeGroup
	index := map[string]int{} // API ID → apis
	add := func(apiID string) int {
		if i, ok := index[apiID]; ok {
			return i
		}
		title := apiID
		if a, ok := snap.Registry.APIByID(apiID); ok {
			title = a.Name
		}
		index[apiID] = len(apis)
		apis = append(apis, scopeGroup{Title: title})
		return len(apis) - 1
	}
	for _, res := range resources {
		if a, ok := snap.Registry.API(res); ok {
			add(a.ID)
		}
	}
	for _, it := range items {
		sc, ok := snap.Registry.Scope(it.Name)
		if !ok || sc.Kind == model.KindOIDC || sc.APIID == "" {
			account.Items = append(account.Items, it)
			continue
		}
		i := add(sc.APIID)
		apis[i].Items = append(apis[i].Items, it)
	}
	var out []scopeGroup
	for _, g := range append([]scopeGroup{account}, apis...) {
		if len(g.Items) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// consentState splits the request's scopes for the user: ask are the
// AskScopes not yet consented (openid first, then in the request's order);
// already are the requested or asked scopes the user consented to before.
type consentState struct {
	ask, already []string
}

func (h *Handler) consentState(ctx context.Context, snap *catalog.Snapshot, ar model.AuthRequest) (consentState, error) {
	var have []string
	c, err := h.Store.Consents().Get(ctx, snap.Tenant.ID, ar.UserID, ar.ClientID)
	switch {
	case err == nil:
		have = c.Scopes
	case !errors.Is(err, store.ErrNotFound):
		return consentState{}, fmt.Errorf("load consent: %w", err)
	}
	var st consentState
	asked := dedup(ar.AskScopes)
	if i := slices.Index(asked, openid); i > 0 {
		asked = append([]string{openid}, slices.Delete(asked, i, i+1)...)
	}
	for _, s := range asked {
		if slices.Contains(have, s) {
			st.already = append(st.already, s)
		} else {
			st.ask = append(st.ask, s)
		}
	}
	for _, s := range dedup(strings.Fields(ar.Scope)) {
		if slices.Contains(have, s) && !slices.Contains(st.already, s) {
			st.already = append(st.already, s)
		}
	}
	return st, nil
}

func dedup(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// requestSession returns the session and user the request was signed in
// with; the browser must present that very session (403 otherwise), so a
// consent cannot be answered for someone else's sign-in.
func (h *Handler) requestSession(r *http.Request, snap *catalog.Snapshot, ar model.AuthRequest) (model.Session, model.User, error) {
	s, u, ok, err := h.CurrentSession(r, snap)
	if err != nil {
		return s, u, internalError(err)
	}
	if !ok || ar.SessionID == "" || s.ID != ar.SessionID || u.ID != ar.UserID {
		return s, u, &pageError{status: http.StatusForbidden, title: "Sign in first",
			detail: "This request belongs to a sign-in that is not this browser's, or it has ended. Go back to the application and start again."}
	}
	return s, u, nil
}

// consentPage shows the scopes of a pending request the user has not
// consented to yet.
func (h *Handler) consentPage(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) error {
	ctx := r.Context()
	ar, app, err := h.loadRequest(ctx, snap, r.URL.Query().Get("request"))
	if err != nil {
		return err
	}
	_, u, err := h.requestSession(r, snap, ar)
	if err != nil {
		return err
	}
	if ar.ConsentDone {
		resume(w, snap, ar.ID)
		return nil
	}
	st, err := h.consentState(ctx, snap, ar)
	if err != nil {
		return internalError(err)
	}
	cookie, err := h.csrfCookie(w, r, snap)
	if err != nil {
		return internalError(err)
	}
	account := u.Username
	if account == "" {
		account = u.Email
	}
	v := consentView{
		AppName: app.Name, Account: account, RequestID: ar.ID, CSRF: csrfToken(cookie, "consent", ar.ID),
		Ask: describe(snap, st.ask), Granted: describe(snap, st.already), AccountURL: strings.TrimPrefix(accountPage, "/"),
	}
	if len(ar.Resources) > 1 {
		v.Groups = groupByAPI(snap, ar.Resources, v.Ask)
	}
	render(w, http.StatusOK, "consent", app.Name+" wants access", formAction(ar.RedirectURI), v)
	return nil
}

// describe looks the scopes up in the tenant's registry for display. A
// scope the registry no longer knows is shown by name.
func describe(snap *catalog.Snapshot, names []string) []scopeItem {
	items := make([]scopeItem, 0, len(names))
	for i, n := range names {
		it := scopeItem{Name: n, DisplayName: n, Required: n == openid, ID: "scope-" + strconv.Itoa(i)}
		if sc, ok := snap.Registry.Scope(n); ok {
			if sc.DisplayName != "" {
				it.DisplayName = sc.DisplayName
			}
			it.Description = sc.Description
		}
		items = append(items, it)
	}
	return items
}

// consentSubmit records the user's answer. Allow grants the ticked scopes
// (openid whenever it was asked); Deny grants nothing and marks the request
// denied, which the authorization endpoint answers with access_denied
// (RFC 6749 §4.1.2.1).
func (h *Handler) consentSubmit(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) error {
	ctx := r.Context()
	// withTenant has read and checked the form (readParams).
	id := r.PostForm.Get("request")
	if !checkCSRF(r, snap, "consent", id) {
		return errCSRF
	}
	ar, _, err := h.loadRequest(ctx, snap, id)
	if err != nil {
		return err
	}
	_, u, err := h.requestSession(r, snap, ar)
	if err != nil {
		return err
	}
	if ar.ConsentDone {
		// Answered already (a second click, another tab): nothing changes.
		resume(w, snap, ar.ID)
		return nil
	}
	action := r.PostForm.Get("action")
	if action != "allow" && action != "deny" {
		return &pageError{status: http.StatusBadRequest, title: "The form could not be read", detail: "Choose Allow or Deny."}
	}
	tenant := snap.Tenant.ID
	ar.ConsentDone = true
	if action == "deny" {
		ar.Denied = true
		if err := h.Store.AuthRequests().Update(ctx, ar); err != nil {
			return internalError(fmt.Errorf("record denial: %w", err))
		}
		h.logger().InfoContext(ctx, "consent denied", "tenant", tenant, "client_id", ar.ClientID, "user_id", u.ID)
		resume(w, snap, ar.ID)
		return nil
	}

	st, err := h.consentState(ctx, snap, ar)
	if err != nil {
		return internalError(err)
	}
	ticked := r.PostForm["scope"]
	var granted, unticked []string
	for _, s := range st.ask {
		// Only what was asked can be granted, and openid is granted
		// whatever the form says.
		if s == openid || slices.Contains(ticked, s) {
			granted = append(granted, s)
		} else {
			unticked = append(unticked, s)
		}
	}
	err = h.Store.InTx(ctx, func(tx store.Repos) error {
		if len(granted) > 0 {
			if _, err := tx.Consents().Grant(ctx, tenant, u.ID, ar.ClientID, granted); err != nil {
				return fmt.Errorf("grant consent: %w", err)
			}
		}
		if err := tx.AuthRequests().Update(ctx, ar); err != nil {
			return fmt.Errorf("mark consent answered: %w", err)
		}
		return nil
	})
	if err != nil {
		return internalError(err)
	}
	if len(st.ask) > 0 {
		details, _ := json.Marshal(map[string]any{
			"granted": nonNil(granted), "unticked": nonNil(unticked), "already": nonNil(st.already), "request": ar.ID,
		})
		if err := h.record(ctx, model.AuditEvent{
			TenantID: tenant, Type: model.EventConsentGranted,
			ActorType: model.ActorUser, ActorID: u.ID, ClientID: ar.ClientID, Subject: u.ID,
			Scopes: granted, Details: details,
		}); err != nil {
			return internalError(err)
		}
	}
	resume(w, snap, ar.ID)
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
