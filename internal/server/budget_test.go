package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// tokenSizeDetails is the part of an oauth.token_issued event's details
// about the access token's size.
type tokenSizeDetails struct {
	JTI             string `json:"jti"`
	TokenSize       int    `json:"token_size"`
	TokenSizeBudget int    `json:"token_size_budget"`
	OverBudget      bool   `json:"over_budget"`
}

// issuedDetails returns the size details of the token_issued event of the
// token with jti.
func issuedDetails(t *testing.T, o *oidcEnv, clientID, jti string) tokenSizeDetails {
	t.Helper()
	for _, ev := range events(t, o, model.EventTokenIssued, clientID) {
		var d tokenSizeDetails
		if err := json.Unmarshal(ev.Details, &d); err != nil {
			t.Fatal(err)
		}
		if d.JTI == jti {
			return d
		}
	}
	t.Fatalf("no token_issued event for jti %s", jti)
	return tokenSizeDetails{}
}

// scrapeOverBudget reads intelliauth_tokens_over_budget_total for a tenant
// and audience from GET /metrics over HTTP (0 when the series is absent).
func scrapeOverBudget(t *testing.T, o *oidcEnv, tenant, audience string) int {
	t.Helper()
	resp, err := servertest.HTTPClient().Get(o.env.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	re := regexp.MustCompile(`(?m)^intelliauth_tokens_over_budget_total\{audience="` + regexp.QuoteMeta(audience) +
		`",tenant="` + regexp.QuoteMeta(tenant) + `"\} (\d+)$`)
	m := re.FindSubmatch(body)
	if m == nil {
		return 0
	}
	n, err := strconv.Atoi(string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTokenOverBudgetAuditedAndCounted: every oauth.token_issued event
// records the access token's size; a token longer than its API's budget is
// still issued, its event says over_budget with the budget, and
// intelliauth_tokens_over_budget_total{tenant,audience} counts it. A token
// within its budget, or of an API without one, is neither flagged nor
// counted.
func TestTokenOverBudgetAuditedAndCounted(t *testing.T) {
	o := startOIDC(t)
	ctx := t.Context()
	bank := o.b.Bank.Identifier

	// No budget: the size is recorded, nothing flagged.
	tok := clientToken(t, o.env, "banking", o.b.Reporting, "read:transactions", bank)
	d := issuedDetails(t, o, o.b.Reporting.ID, servertest.JTI(t, tok))
	if d.TokenSize != len(tok) || d.OverBudget || d.TokenSizeBudget != 0 {
		t.Errorf("no budget: details %+v, want token_size %d and no over_budget", d, len(tok))
	}

	// A budget one byte short of that token: the same request is over it.
	budget := len(tok) - 1
	if budget < model.MinTokenSizeBudget {
		t.Fatalf("a client-credentials token of %d bytes is shorter than the smallest budget", len(tok))
	}
	if _, err := o.env.Admin.UpdateAPI(ctx, admin.CLI(), "banking", bank, admin.APIUpdate{TokenSizeBudget: &budget}); err != nil {
		t.Fatal(err)
	}
	o.env.Server.Catalog().Invalidate("banking")
	before := scrapeOverBudget(t, o, "banking", bank)
	over := clientToken(t, o.env, "banking", o.b.Reporting, "read:transactions", bank)
	d = issuedDetails(t, o, o.b.Reporting.ID, servertest.JTI(t, over))
	if d.TokenSize != len(over) || !d.OverBudget || d.TokenSizeBudget != budget {
		t.Errorf("over budget: details %+v, want token_size %d, over_budget true, token_size_budget %d", d, len(over), budget)
	}
	if got := scrapeOverBudget(t, o, "banking", bank); got != before+1 {
		t.Errorf("intelliauth_tokens_over_budget_total{tenant=banking,audience=%s} = %d, want %d", bank, got, before+1)
	}

	// Exactly at the budget is within it.
	budget = len(over)
	if _, err := o.env.Admin.UpdateAPI(ctx, admin.CLI(), "banking", bank, admin.APIUpdate{TokenSizeBudget: &budget}); err != nil {
		t.Fatal(err)
	}
	o.env.Server.Catalog().Invalidate("banking")
	at := clientToken(t, o.env, "banking", o.b.Reporting, "read:transactions", bank)
	d = issuedDetails(t, o, o.b.Reporting.ID, servertest.JTI(t, at))
	if len(at) != budget || d.OverBudget || d.TokenSizeBudget != 0 || d.TokenSize != budget {
		t.Errorf("at the budget (%d bytes, budget %d): details %+v, want not over", len(at), budget, d)
	}
	if got := scrapeOverBudget(t, o, "banking", bank); got != before+1 {
		t.Errorf("a token within its budget was counted: %d, want %d", got, before+1)
	}
}

// TestExplainTokenSizeForUserMatchesCodeFlow: explain for a user reports
// the size of the access token the authorization-code grant then issues to
// that user for the same scopes — byte for byte, auth_time and subject
// included — and flags it against the API's budget as the event does.
func TestExplainTokenSizeForUserMatchesCodeFlow(t *testing.T) {
	o := startOIDC(t)
	ctx := t.Context()
	scopes := "openid read:transactions"
	a := newAuthRequest(o.spaConfig("openid", "read:transactions"))
	p, _ := o.signInAndConsent(t, servertest.NewBrowser(t), a, o.people.Bob)
	tok := a.exchange(t, o.ctx(t), a.code(t, p, o.iss))

	ex, err := o.env.Admin.ExplainFor(ctx, admin.CLI(), "banking", admin.ExplainInput{
		ClientID: o.people.SPA.ID, Scope: scopes, User: o.people.Bob.Username})
	if err != nil {
		t.Fatal(err)
	}
	if ex.Error != nil || ex.TokenSize != len(tok.AccessToken) {
		t.Errorf("explain for bob: token_size %d (error %v), the code grant issued %d bytes", ex.TokenSize, ex.Error, len(tok.AccessToken))
	}

	// With a budget below it, both explain and the next token's event say
	// over budget.
	budget := len(tok.AccessToken) - 10
	if _, err := o.env.Admin.UpdateAPI(ctx, admin.CLI(), "banking", o.b.Bank.ID, admin.APIUpdate{TokenSizeBudget: &budget}); err != nil {
		t.Fatal(err)
	}
	o.env.Server.Catalog().Invalidate("banking")
	ex, err = o.env.Admin.ExplainFor(ctx, admin.CLI(), "banking", admin.ExplainInput{
		ClientID: o.people.SPA.ID, Scope: scopes, User: o.people.Bob.Username})
	if err != nil {
		t.Fatal(err)
	}
	if ex.TokenSizeBudget != budget || ex.OverBudget == nil || !*ex.OverBudget {
		t.Errorf("explain with budget %d: %+v", budget, ex)
	}
	a = newAuthRequest(o.spaConfig("openid", "read:transactions"))
	p, _ = o.signInAndConsent(t, servertest.NewBrowser(t), a, o.people.Bob)
	tok = a.exchange(t, o.ctx(t), a.code(t, p, o.iss))
	d := issuedDetails(t, o, o.people.SPA.ID, servertest.JTI(t, tok.AccessToken))
	if !d.OverBudget || d.TokenSize != ex.TokenSize || d.TokenSizeBudget != budget {
		t.Errorf("code grant over budget: details %+v, explain said %d bytes", d, ex.TokenSize)
	}
}
