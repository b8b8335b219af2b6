package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/admin"
)

// TestTokenSizeBudgetInTheConsole: an API's token-size budget is set on its
// page (a bad value refused in place, nothing changed), and Explain then
// shows the size of the token the decision would mint and flags it over
// the budget — the seeds' "narrower scopes mean smaller tokens".
func TestTokenSizeBudgetInTheConsole(t *testing.T) {
	e, demo := startConsole(t)
	pb, _ := signInHTTP(t, e, demo, "alice")
	ctx := t.Context()
	page := pb.Visit(e.URL, consoleURL(e)+"/apis/edit?id="+url.QueryEscape(admin.DemoAudience))
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "Token size budget") {
		t.Fatalf("the API page: %d\n%s", page.Status, page.Body)
	}
	bad := pb.Submit(e.URL, formWithAction(t, page, "/apis/edit"), func(v url.Values) { v.Set("token_size_budget", "lots"); v.Set("signing_alg", "ES256") })
	if bad.Status != http.StatusBadRequest || !strings.Contains(bad.Body, "is not a whole number of bytes") || !strings.Contains(bad.Body, `value="lots"`) {
		t.Fatalf("a bad budget: %d\n%s", bad.Status, bad.Body)
	}
	if a, err := e.Admin.GetAPI(ctx, admin.CLI(), admin.DemoTenantID, admin.DemoAudience); err != nil || a.TokenSizeBudget != 0 {
		t.Fatalf("after a bad budget: %+v, %v", a, err)
	}
	ok := pb.Submit(e.URL, formWithAction(t, bad, "/apis/edit"), func(v url.Values) { v.Set("token_size_budget", "300"); v.Set("signing_alg", "ES256") })
	if ok.Status != http.StatusOK {
		t.Fatalf("setting the budget: %d\n%s", ok.Status, ok.Body)
	}
	if a, err := e.Admin.GetAPI(ctx, admin.CLI(), admin.DemoTenantID, admin.DemoAudience); err != nil || a.TokenSizeBudget != 300 {
		t.Fatalf("after setting the budget: %+v, %v", a, err)
	}
	q := url.Values{"client_id": {"reporting-job"}, "audience": {admin.DemoAudience}, "scope": {"read:transactions"}}
	ex := pb.Visit(e.URL, consoleURL(e)+"/explain?"+q.Encode())
	if ex.Status != http.StatusOK || !strings.Contains(ex.Body, "Token size") || !strings.Contains(ex.Body, "budget is 300 bytes") ||
		!strings.Contains(ex.Body, "over budget by") {
		t.Fatalf("explain with a budget: %d\n%s", ex.Status, ex.Body)
	}
}
