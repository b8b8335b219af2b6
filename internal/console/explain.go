package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/policy"
	"github.com/intelliauth/intelliauth/internal/store"
)

// explainPages mounts Explain: the scope decision for an application, an
// audience, a scope string and optionally a user, without issuing
// anything (admin.ExplainFor, what POST /api/v1/explain answers). It
// changes nothing, so its form is a GET and a result can be linked to.
func (h *Handler) explainPages(rt *router) {
	rt.page("GET", model.ConsolePath+"/explain", admin.OpExplain, h.explain)
}

// Bounds of the explain form's inputs, checked before anything reaches
// the store.
const (
	explainMaxScope = 4096
	explainMaxField = 256
)

// reasonText is the sentence behind a reason of the scope decision.
func reasonText(r policy.Reason) string {
	switch r {
	case policy.Granted:
		return "requested and allowed."
	case policy.Default:
		return "no scope was requested, so the application's allowed scopes for the audience were granted (RFC 6749 §3.3)."
	case policy.Implied:
		return "not requested; added because a granted scope implies it."
	case policy.NotRegistered:
		return "this tenant has no scope of that name."
	case policy.WrongAudience:
		return "the scope belongs to another API than the token's audience."
	case policy.NotAllowed:
		return "not on the application's allowlist, nor implied by a scope on it."
	case policy.NotInGrant:
		return "a refresh asked for a scope the original grant lacks (RFC 6749 §6)."
	case policy.NoUser:
		return "an OpenID Connect scope needs a user; a client-credentials token has none."
	case policy.NotEntitled:
		return "none of the user's roles gives this scope."
	case policy.StepUpRequired:
		return "the scope requires a second factor and this sign-in passed none (the user would be asked to step up; tick the second-factor box to see the decision after they do)."
	case policy.NotConsented:
		return "the user has not approved this scope for the application (the consent screen would ask)."
	}
	return string(r) + "."
}

// explainBody is what explain.html shows.
type explainBody struct {
	App, Audience formField
	Scope, User   formField
	// MFA is the "the user's sign-in passed a second factor" checkbox.
	MFA        bool
	MFAMessage string
	Apps       []model.Application
	// APIs are the audiences to choose from; nil when the user may not list
	// APIs (then Audience is a text input).
	APIs   []model.API
	Errors FieldErrors
	Result *explainResult
	// UnknownApp is a client ID asked for that is not in the list, kept
	// as an option so the form shows what was asked.
	UnknownApp string
}

// Error is the form's problem not tied to one field.
func (b explainBody) Error() string { return b.Errors[""] }

// explainResult is the decision, as admin.ExplainFor returned it.
type explainResult struct {
	admin.Explanation
	AppName string
	Reasons []reasonRow
	// JSON is the explanation as /api/v1/explain returns it.
	JSON string
}

// explainFields maps the use-case's problem fields to the form's.
func explainFields() map[string]string {
	return map[string]string{"client_id": "client_id", "audience": "audience", "scope": "scope", "user": "user", "mfa": "mfa"}
}

// explain shows the form and, once an application is chosen, the decision.
func (h *Handler) explain(w http.ResponseWriter, r *Request) error {
	q := r.URL.Query()
	in := admin.ExplainInput{ClientID: strings.TrimSpace(q.Get("client_id")), Audience: strings.TrimSpace(q.Get("audience")),
		Scope: q.Get("scope"), User: strings.TrimSpace(q.Get("user")), MFA: q.Get("mfa") != ""}
	fe := FieldErrors{}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"client_id", in.ClientID, explainMaxField}, {"audience", in.Audience, explainMaxField}, {"scope", in.Scope, explainMaxScope}, {"user", in.User, explainMaxField}} {
		if len(f.v) > f.max || !utf8.ValidString(f.v) || strings.ContainsFunc(f.v, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
			fe[f.name] = fmt.Sprintf("must be at most %d bytes of text without control characters", f.max)
		}
	}
	b := explainBody{Errors: fe}
	status := http.StatusOK
	if q.Has("client_id") && len(fe) == 0 {
		res, err := h.runExplain(r, in, fe)
		if err != nil {
			return err
		}
		b.Result = res
	}
	if len(fe) > 0 {
		status = http.StatusBadRequest
	}
	field := func(name, label, value, hint string) formField {
		return formField{ID: "explain-" + strings.ReplaceAll(name, "_", "-"), Name: name, Label: label, Value: value, Message: fe[name], Hint: hint}
	}
	b.App = field("client_id", "Application", in.ClientID, "")
	b.Audience = field("audience", "Audience", in.Audience, "The API the token would be for (the audience or resource parameter); none: the application's default.")
	b.Scope = field("scope", "Requested scopes", in.Scope, "Space-separated, as the scope parameter (RFC 6749 §3.3); empty: the application's default scopes.")
	b.Scope.Max = explainMaxScope
	b.User = field("user", "User (optional)", in.User, "A username, email address or user ID: the decision of that user's sign-in, with their roles and consent. Empty: a client-credentials request.")
	apps, err := h.Admin.ListApplications(r.Context(), r.Actor, r.TenantID(), store.Page{Limit: 1000})
	if err != nil {
		return err
	}
	b.MFA, b.MFAMessage = in.MFA, fe["mfa"]
	b.Apps = apps.Applications
	if in.ClientID != "" && !slices.ContainsFunc(b.Apps, func(a model.Application) bool { return a.ClientID == in.ClientID }) {
		b.UnknownApp = in.ClientID
	}
	if r.May(admin.OpListAPIs) {
		if b.APIs, err = h.Admin.ListAPIs(r.Context(), r.Actor, r.TenantID()); err != nil {
			return err
		}
	}
	if b.Result != nil {
		for _, a := range b.Apps {
			if a.ClientID == b.Result.ClientID {
				b.Result.AppName = a.Name
			}
		}
	}
	h.render(w, r, status, "explain", "Explain", b)
	return nil
}

// runExplain asks admin.ExplainFor; an unknown application or user and
// the use-case's validation problems go into fe (nil result).
func (h *Handler) runExplain(r *Request, in admin.ExplainInput, fe FieldErrors) (*explainResult, error) {
	if in.ClientID == "" {
		fe["client_id"] = "choose the application whose request to explain"
		return nil, nil
	}
	// The application first, so that a missing one and a missing user are
	// told apart (as /api/v1/explain does).
	if _, err := h.Admin.GetApplication(r.Context(), r.Actor, r.TenantID(), in.ClientID); errors.Is(err, store.ErrNotFound) {
		fe["client_id"] = fmt.Sprintf("there is no application %q in this tenant", in.ClientID)
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	x, err := h.Admin.ExplainFor(r.Context(), r.Actor, r.TenantID(), in)
	if errors.Is(err, store.ErrNotFound) && in.User != "" {
		fe["user"] = fmt.Sprintf("there is no user %q in this tenant; give a username, an email address or a user ID", in.User)
		return nil, nil
	}
	if more := adminFieldErrors(err, explainFields()); more != nil {
		for k, v := range more {
			fe[k] = v
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	doc, err := json.MarshalIndent(x, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("console: explanation as JSON: %w", err)
	}
	return &explainResult{Explanation: x, Reasons: reasonRows(x.Results), JSON: string(doc)}, nil
}

// Over reports whether the token would be over its API's size budget.
func (x *explainResult) Over() bool { return x.OverBudget != nil && *x.OverBudget }

// OverBy is how many bytes the token would be over its API's budget.
func (x *explainResult) OverBy() int { return x.TokenSize - x.TokenSizeBudget }
