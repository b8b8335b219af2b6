package api_test

import (
	"encoding/json"
	"testing"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store"
)

// budgetDoc is the part of an API document the budget tests read.
type budgetDoc struct {
	ID              string `json:"id"`
	Identifier      string `json:"identifier"`
	TokenSizeBudget int    `json:"token_size_budget"`
	Version         int64  `json:"version"`
}

// TestAPITokenSizeBudget: an API's token-size budget is set on create,
// shown by get and list, changed and removed by PATCH, and recorded in the
// audit event; a bad value is a 400 naming token_size_budget that changes
// nothing. Runs on SQLite, and on PostgreSQL when INTELLIAUTH_TEST_POSTGRES
// is set.
func TestAPITokenSizeBudget(t *testing.T) {
	e := newEnv(t)
	w := e.token(t, "scopes:write")

	var created budgetDoc
	e.call(t, "POST", "/apis", w, map[string]any{"identifier": "api.loans.example.com", "token_size_budget": 512}).
		want(t, 201).decode(t, &created)
	if created.TokenSizeBudget != 512 {
		t.Errorf("created: token_size_budget = %d, want 512", created.TokenSizeBudget)
	}
	var got budgetDoc
	e.call(t, "GET", "/apis/"+created.ID, w, nil).want(t, 200).decode(t, &got)
	if got.TokenSizeBudget != 512 {
		t.Errorf("get: token_size_budget = %d, want 512", got.TokenSizeBudget)
	}
	var list listDoc[budgetDoc]
	e.call(t, "GET", "/apis", w, nil).want(t, 200).decode(t, &list)
	budgets := map[string]int{}
	for _, a := range list.Items {
		budgets[a.Identifier] = a.TokenSizeBudget
	}
	if budgets["api.loans.example.com"] != 512 || budgets["api.banking.example.com"] != 0 {
		t.Errorf("list: budgets %v, want loans 512 and banking 0 (none)", budgets)
	}

	// Bad values: each refused by field, nothing changed.
	for _, tc := range []struct {
		name string
		body any
	}{
		{"below the minimum", map[string]any{"token_size_budget": 255}},
		{"negative", map[string]any{"token_size_budget": -1}},
		{"above the maximum", map[string]any{"token_size_budget": 65537}},
		{"not a number", map[string]any{"token_size_budget": "1k"}},
		{"a fraction", map[string]any{"token_size_budget": 512.5}},
	} {
		t.Run("PATCH "+tc.name, func(t *testing.T) {
			p := e.callInvalid(t, "PATCH", "/apis/"+created.ID, w, tc.body, "If-Match", "*").want(t, 400).problem(t)
			if p.field("token_size_budget") == "" {
				t.Errorf("problem does not name token_size_budget: %+v", p)
			}
		})
		t.Run("POST "+tc.name, func(t *testing.T) {
			body := map[string]any{"identifier": "api.bad.example.com"}
			for k, v := range tc.body.(map[string]any) {
				body[k] = v
			}
			p := e.callInvalid(t, "POST", "/apis", w, body).want(t, 400).problem(t)
			if p.field("token_size_budget") == "" {
				t.Errorf("problem does not name token_size_budget: %+v", p)
			}
		})
	}
	e.call(t, "GET", "/apis/"+created.ID, w, nil).want(t, 200).decode(t, &got)
	if got.TokenSizeBudget != 512 || got.Version != created.Version {
		t.Errorf("after refused changes: %+v, want budget 512 at version %d", got, created.Version)
	}
	e.call(t, "GET", "/apis/api.bad.example.com", w, nil).want(t, 404)

	// The bounds themselves are allowed; 0 removes the budget.
	for _, b := range []int{model.MinTokenSizeBudget, model.MaxTokenSizeBudget, 0} {
		e.call(t, "PATCH", "/apis/"+created.ID, w, map[string]any{"token_size_budget": b}, "If-Match", "*").want(t, 200).decode(t, &got)
		if got.TokenSizeBudget != b {
			t.Errorf("PATCH %d: token_size_budget = %d", b, got.TokenSizeBudget)
		}
	}
	// A PATCH without the member leaves the budget alone.
	e.call(t, "PATCH", "/apis/"+created.ID, w, map[string]any{"token_size_budget": 900}, "If-Match", "*").want(t, 200)
	e.call(t, "PATCH", "/apis/"+created.ID, w, map[string]any{"name": "Loans"}, "If-Match", "*").want(t, 200).decode(t, &got)
	if got.TokenSizeBudget != 900 {
		t.Errorf("PATCH without token_size_budget changed it to %d", got.TokenSizeBudget)
	}

	// The audit event of the change says before and after.
	evs, err := e.Store.Audit().Search(t.Context(), store.AuditQuery{TenantID: e.Tenant, Type: model.EventAPIUpdated})
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Before, After struct {
			TokenSizeBudget *int `json:"token_size_budget"`
		}
	}
	found := false
	for _, ev := range evs {
		if err := json.Unmarshal(ev.Details, &d); err != nil {
			t.Fatal(err)
		}
		if d.Before.TokenSizeBudget != nil && *d.Before.TokenSizeBudget == 0 && d.After.TokenSizeBudget != nil && *d.After.TokenSizeBudget == 900 {
			found = true
		}
	}
	if !found {
		t.Errorf("no api.updated event records token_size_budget 0 → 900 among %d", len(evs))
	}
}

// explainSize is the part of an explanation the budget tests read.
type explainSize struct {
	Granted         []string `json:"granted"`
	TokenSize       int      `json:"token_size"`
	TokenSizeBudget int      `json:"token_size_budget"`
	OverBudget      *bool    `json:"over_budget"`
	Error           *struct {
		Code string `json:"error"`
	} `json:"error"`
}

// TestExplainTokenSize: /api/v1/explain reports the size of the access
// token the request would be issued — exactly the length of the token the
// token endpoint then issues for the same client, audience and scopes, for
// an ES256 and an RS256 API — and, when the API has a budget, whether the
// token is over it. Fewer scopes make a smaller token; a refused request
// has no size.
func TestExplainTokenSize(t *testing.T) {
	e := newEnv(t)
	r := e.token(t, "applications:read")
	explain := func(t *testing.T, clientID, audience, scope string) explainSize {
		t.Helper()
		var ex explainSize
		e.call(t, "POST", "/explain", r, map[string]any{"client_id": clientID, "audience": audience, "scope": scope}).
			want(t, 200).decode(t, &ex)
		return ex
	}

	// An application of both APIs, to compare ES256 and RS256 tokens.
	wide, err := e.Env.Admin.CreateApplication(t.Context(), admin.CLI(), e.Tenant, admin.ApplicationInput{
		ClientID: "budget-wide", Name: "Budget", Type: model.AppM2M,
		AllowedScopes: []string{"read:transactions", "write:settings", "payments:approve", "read:records"}})
	if err != nil {
		t.Fatal(err)
	}
	e.Server.Catalog().Invalidate(e.Tenant)
	client := servertest.Client{ID: wide.Application.ClientID, Secret: wide.Secret}

	for _, tc := range []struct {
		name, audience, scope string
	}{
		{"ES256 one scope", "api.banking.example.com", "read:transactions"},
		{"ES256 three scopes", "api.banking.example.com", "read:transactions write:settings payments:approve"},
		{"RS256", "api.health.example.com", "read:records"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex := explain(t, client.ID, tc.audience, tc.scope)
			tok := e.clientToken(t, e.Issuer, client, tc.audience, tc.scope)
			if ex.TokenSize != len(tok) {
				t.Errorf("explain token_size = %d, the token issued is %d bytes", ex.TokenSize, len(tok))
			}
			if ex.TokenSizeBudget != 0 || ex.OverBudget != nil {
				t.Errorf("no budget, yet explain says budget %d over %v", ex.TokenSizeBudget, ex.OverBudget)
			}
		})
	}

	t.Run("fewer scopes, smaller token", func(t *testing.T) {
		one := explain(t, client.ID, "api.banking.example.com", "read:transactions")
		three := explain(t, client.ID, "api.banking.example.com", "read:transactions write:settings payments:approve")
		if one.TokenSize <= 0 || one.TokenSize >= three.TokenSize {
			t.Errorf("token_size with one scope %d, with three %d: want 0 < one < three", one.TokenSize, three.TokenSize)
		}
	})

	t.Run("budget: over and under", func(t *testing.T) {
		small := explain(t, client.ID, "api.banking.example.com", "read:transactions").TokenSize
		w := e.token(t, "scopes:write")
		// A budget of exactly the one-scope token: that token is within it,
		// a wider one is over.
		e.call(t, "PATCH", "/apis/api.banking.example.com", w, map[string]any{"token_size_budget": small}, "If-Match", "*").want(t, 200)
		in := explain(t, client.ID, "api.banking.example.com", "read:transactions")
		if in.TokenSizeBudget != small || in.OverBudget == nil || *in.OverBudget {
			t.Errorf("token of %d bytes with a budget of %d: %+v, want over_budget false", in.TokenSize, small, in)
		}
		over := explain(t, client.ID, "api.banking.example.com", "read:transactions write:settings")
		if over.TokenSizeBudget != small || over.OverBudget == nil || !*over.OverBudget {
			t.Errorf("token of %d bytes with a budget of %d: %+v, want over_budget true", over.TokenSize, small, over)
		}
	})

	t.Run("a refused request has no token size", func(t *testing.T) {
		ex := explain(t, "reporting-job", "api.banking.example.com", "write:settings")
		if ex.Error == nil || ex.TokenSize != 0 || ex.OverBudget != nil {
			t.Errorf("refused request explained as %+v, want an error and no token_size", ex)
		}
	})
}
