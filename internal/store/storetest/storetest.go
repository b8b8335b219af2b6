package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// RunTests runs the conformance suite. open must return a fresh, migrated,
// empty store for each call and register its own cleanup with t.Cleanup;
// every subtest calls it once.
func RunTests(t *testing.T, open func(t *testing.T) store.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Tenants", tenantTests},
		{"Time", timeTests},
		{"Scopes", scopeTests},
		{"APIs", apiTests},
		{"Applications", applicationTests},
		{"Secrets", secretTests},
		{"Keys", keyTests},
		{"Revocations", revocationTests},
		{"Audit", auditTests},
		{"AuditRetention", auditRetentionTests},
		{"Users", userTests},
		{"Roles", roleTests},
		{"Groups", groupTests},
		{"Consents", consentTests},
		{"ScopeHolders", scopeHolderTests},
		{"Sessions", sessionTests},
		{"ConsoleSessions", consoleSessionTests},
		{"Factors", factorTests},
		{"MFAColumns", mfaColumnTests},
		{"AuthRequests", authRequestTests},
		{"Codes", codeTests},
		{"RefreshTokens", refreshTests},
		{"Throttles", throttleTests},
		{"GrantRename", grantRenameTests},
		{"MultiResource", multiResourceTests},
		{"AttemptSlots", attemptSlotTests},
		{"PendingBounds", pendingBoundTests},
		{"Isolation", isolationTests},
		{"UserIsolation", userIsolationTests},
		{"Concurrency", concurrencyTests},
		{"Versions", versionTests},
		{"Rev", revTests},
		{"InTx", txTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, open(t))
				})
			}
		})
	}
}

// test is one conformance case; it gets a fresh store.
type test struct {
	name string
	run  func(t *testing.T, s store.Store)
}

// t0 is a fixed instant the fixtures stamp their rows with; the nanoseconds
// make sure a backend's truncation to microseconds shows.
var t0 = time.Date(2024, 3, 4, 5, 6, 7, 123456789, time.UTC)

// us is t truncated to the microsecond and in UTC: what a backend returns.
func us(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want errors.Is(…, %v)", err, target)
	}
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// utc fails unless every time is in time.UTC.
func utc(t *testing.T, what string, ts ...time.Time) {
	t.Helper()
	for _, x := range ts {
		if x.Location() != time.UTC {
			t.Fatalf("%s: time %v is in %v, want UTC", what, x, x.Location())
		}
	}
}

// Fixtures. Each returns a valid entity stamped at t0.

func newTenant(id string) model.Tenant {
	return model.Tenant{ID: id, Name: "Tenant " + id, Issuer: "http://localhost:8080/t/" + id, CreatedAt: t0, UpdatedAt: t0}
}

func newAPI(tenantID, id string) model.API {
	return model.API{TenantID: tenantID, ID: id, Identifier: "api." + id + ".example.com", Name: "API " + id,
		SigningAlg: model.AlgES256, AccessTokenTTL: 15 * time.Minute, CreatedAt: t0, UpdatedAt: t0}
}

func newScope(tenantID, apiID, name string, implies ...string) model.Scope {
	return model.Scope{TenantID: tenantID, Name: name, DisplayName: "Scope " + name, Description: "Lets the app use " + name,
		Kind: model.KindCustom, APIID: apiID, Implies: implies, CreatedAt: t0, UpdatedAt: t0}
}

func newApp(tenantID, clientID string, allowed ...string) model.Application {
	return model.Application{TenantID: tenantID, ClientID: clientID, Name: "App " + clientID, Type: model.AppWeb,
		RedirectURIs:   []string{"https://" + clientID + ".example.com/callback"},
		GrantTypes:     []string{model.GrantAuthorizationCode, model.GrantRefreshToken},
		AllowedScopes:  allowed,
		ScopePolicy:    model.PolicyStrict,
		Consent:        model.ConsentRequired,
		RefreshIdleTTL: 24 * time.Hour, RefreshAbsoluteTTL: 30 * 24 * time.Hour,
		CreatedAt: t0, UpdatedAt: t0}
}

// seed creates a tenant with one API "bank" for scopes to belong to.
func seed(t *testing.T, s store.Store, tenantID string) {
	t.Helper()
	ctx := t.Context()
	must(t, s.Tenants().Create(ctx, newTenant(tenantID)))
	must(t, s.APIs().Create(ctx, newAPI(tenantID, "bank")))
}

func rev(t *testing.T, s store.Store, tenantID string) int64 {
	t.Helper()
	revs, err := s.Tenants().Revs(t.Context())
	must(t, err)
	r, ok := revs[tenantID]
	if !ok {
		t.Fatalf("Revs has no entry for tenant %q", tenantID)
	}
	return r
}

func scopeNames(ss []model.Scope) []string {
	var out []string
	for _, x := range ss {
		out = append(out, x.Name)
	}
	return out
}

func clientIDs(as []model.Application) []string {
	var out []string
	for _, x := range as {
		out = append(out, x.ClientID)
	}
	return out
}

func eventIDs(es []model.AuditEvent) []string {
	var out []string
	for _, x := range es {
		out = append(out, x.ID)
	}
	return out
}

func sorted(v []string) []string {
	v = slices.Clone(v)
	slices.Sort(v)
	return v
}

func reversed(v []string) []string {
	v = slices.Clone(v)
	slices.Reverse(v)
	return v
}

func seq(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return out
}
