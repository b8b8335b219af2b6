package admin

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/store/sqlite"
	"github.com/intelliauth/intelliauth/internal/token"
)

// clock is a settable test clock. Every reading moves it on by a
// millisecond, so audit event IDs (millisecond-ordered) sort in the order
// the use-cases ran.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	svc   *Service
	st    store.Store
	clock *clock
	actor Actor
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "admin.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	sealer, err := token.NewSealer(make([]byte, token.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	return &fixture{svc: &Service{Store: db, Sealer: sealer, Now: c.Now}, st: db, clock: c, actor: Actor{Type: model.ActorUser, ID: "usr_admin", Scopes: model.PlatformScopeNames()}}
}

// withTenant creates tenant "acme" and one API with two scopes.
func (f *fixture) withTenant(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	if _, err := f.svc.CreateTenant(ctx, f.actor, TenantInput{ID: "acme", Name: "Acme", Issuer: "http://localhost:8080/t/acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateAPI(ctx, f.actor, "acme", APIInput{ID: "bank", Identifier: "api.bank.example", Name: "Bank"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateAPI(ctx, f.actor, "acme", APIInput{ID: "health", Identifier: "api.health.example", Name: "Health", SigningAlg: model.AlgRS256}); err != nil {
		t.Fatal(err)
	}
	for _, in := range []ScopeInput{
		{Name: "read:tx", Description: "Read transactions.", API: "api.bank.example"},
		{Name: "write:tx", Description: "Write transactions.", API: "bank", Implies: []string{"read:tx"}},
		{Name: "read:records", Description: "Read records.", API: "api.health.example"},
	} {
		if _, err := f.svc.CreateScope(ctx, f.actor, "acme", in); err != nil {
			t.Fatal(err)
		}
	}
}

// events returns the tenant's audit events, oldest first.
func (f *fixture) events(t *testing.T, tenantID string) []model.AuditEvent {
	t.Helper()
	evs, err := f.st.Audit().Search(t.Context(), store.AuditQuery{TenantID: tenantID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(evs)
	return evs
}

func (f *fixture) lastEvent(t *testing.T, tenantID string) model.AuditEvent {
	t.Helper()
	evs := f.events(t, tenantID)
	if len(evs) == 0 {
		t.Fatal("no audit events")
	}
	return evs[len(evs)-1]
}

func details(t *testing.T, ev model.AuditEvent) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev.Details, &m); err != nil {
		t.Fatalf("details of %s: %v", ev.Type, err)
	}
	return m
}

// unchanged asserts that a failing use-case wrote no audit event.
func (f *fixture) unchanged(t *testing.T, tenantID string, before int) {
	t.Helper()
	if n := len(f.events(t, tenantID)); n != before {
		t.Fatalf("a refused change wrote %d audit events", n-before)
	}
}

func wantInvalid(t *testing.T, err error, mentions ...string) {
	t.Helper()
	if !errors.Is(err, model.ErrInvalid) {
		t.Fatalf("want a model.ErrInvalid error, got %v", err)
	}
	for _, m := range mentions {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q does not mention %q", err, m)
		}
	}
}

func TestCreateTenant(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	ten, err := f.svc.CreateTenant(ctx, f.actor, TenantInput{ID: "acme", Name: "Acme", Issuer: "http://localhost:8080/t/acme"})
	if err != nil {
		t.Fatal(err)
	}
	if ten.Issuer != "http://localhost:8080/t/acme" || ten.Version == 0 {
		t.Fatalf("tenant = %+v", ten)
	}
	api, err := f.st.APIs().Get(ctx, "acme", model.PlatformAPIID)
	if err != nil {
		t.Fatal(err)
	}
	if !api.Platform || api.Identifier != "http://localhost:8080/t/acme/api/v1" || api.SigningAlg != model.AlgES256 || api.AccessTokenTTL != time.Hour {
		t.Fatalf("platform API = %+v", api)
	}
	all, err := f.st.Scopes().All(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if want := len(model.PredefinedOIDCScopes()) + len(model.PlatformScopes("")); len(all) != want {
		t.Fatalf("%d predefined scopes, want %d", len(all), want)
	}
	keys, err := f.st.Keys().List(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 4 {
		t.Fatalf("%d signing keys, want current+next for ES256 and RS256", len(keys))
	}
	console, err := f.st.Applications().Get(ctx, "acme", model.ConsoleClientID)
	if err != nil || console.Consent != model.ConsentImplicit || console.Type != model.AppWeb ||
		!slices.Equal(console.RedirectURIs, []string{"http://localhost:8080/t/acme/console/callback"}) {
		t.Fatalf("console application = %+v, %v", console, err)
	}
	ev := f.lastEvent(t, "acme")
	if ev.Type != model.EventTenantCreated || ev.ActorType != model.ActorUser || ev.ActorID != "usr_admin" || !ev.Time.Equal(ten.CreatedAt) {
		t.Fatalf("event = %+v", ev)
	}
	if d := details(t, ev); d["after"].(map[string]any)["issuer"] != ten.Issuer ||
		d["console_application"].(map[string]any)["after"].(map[string]any)["client_id"] != model.ConsoleClientID {
		t.Fatalf("details = %s", ev.Details)
	}
	list, err := f.svc.ListTenants(ctx, f.actor)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListTenants = %v, %v", list, err)
	}
}

func TestCreateTenantRefusals(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	_, err := f.svc.CreateTenant(ctx, f.actor, TenantInput{ID: "Bad_ID", Name: "", Issuer: "http://auth.example.com/t/x"})
	wantInvalid(t, err, "id", "name", "http:// off loopback")
	var ve *model.ValidationError
	if errors.As(err, &ve); len(ve.Problems) != 3 {
		t.Fatalf("want every problem at once, got %v", err)
	}
	_, err = f.svc.CreateTenant(ctx, f.actor, TenantInput{ID: "x", Name: "X", Issuer: "https://auth.example.com/t/x", ScopePattern: "([a-z"})
	wantInvalid(t, err, "scope_pattern")
	if ts, _ := f.svc.ListTenants(ctx, f.actor); len(ts) != 0 {
		t.Fatal("a refused tenant was stored")
	}

	if _, err := f.svc.CreateTenant(ctx, f.actor, TenantInput{ID: "acme", Name: "Acme", Issuer: "https://auth.example.com/t/acme"}); err != nil {
		t.Fatal(err)
	}
	n := len(f.events(t, "acme"))
	_, err = f.svc.CreateTenant(ctx, f.actor, TenantInput{ID: "acme", Name: "Again", Issuer: "https://auth.example.com/t/acme2"})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate tenant: %v", err)
	}
	f.unchanged(t, "acme", n)

	f.svc.AllowInsecureIssuer = true
	if _, err := f.svc.CreateTenant(ctx, f.actor, TenantInput{ID: "intranet", Name: "Intranet", Issuer: "http://auth.internal/t/intranet"}); err != nil {
		t.Fatalf("--allow-insecure-issuer: %v", err)
	}

	noKey := &Service{Store: f.st, Now: f.clock.Now}
	if _, err := noKey.CreateTenant(ctx, f.actor, TenantInput{ID: "k", Name: "K", Issuer: "https://a.example/t/k"}); err == nil {
		t.Fatal("CreateTenant without a master key must fail")
	}
	if _, err := f.svc.CreateTenant(ctx, Actor{}, TenantInput{ID: "y", Name: "Y", Issuer: "https://a.example/t/y"}); !errors.Is(err, model.ErrInvalid) {
		t.Fatalf("empty actor: %v", err)
	}
}

func TestUpdateTenantMovesPlatformAPI(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	iss := "https://id.example.com/t/acme"
	ten, err := f.svc.UpdateTenant(ctx, f.actor, "acme", TenantUpdate{Issuer: &iss})
	if err != nil {
		t.Fatal(err)
	}
	if ten.Issuer != iss {
		t.Fatalf("issuer = %s", ten.Issuer)
	}
	api, _ := f.st.APIs().Get(ctx, "acme", model.PlatformAPIID)
	if api.Identifier != iss+"/api/v1" {
		t.Fatalf("platform API identifier = %s", api.Identifier)
	}
	ev := f.lastEvent(t, "acme")
	if ev.Type != EventTenantUpdated {
		t.Fatalf("event %s", ev.Type)
	}
	bad := "http://id.example.com/t/acme"
	n := len(f.events(t, "acme"))
	_, err = f.svc.UpdateTenant(ctx, f.actor, "acme", TenantUpdate{Issuer: &bad})
	wantInvalid(t, err, "http://")
	_, err = f.svc.UpdateTenant(ctx, f.actor, "acme", TenantUpdate{Issuer: &iss, Version: 1})
	if !errors.Is(err, store.ErrPrecondition) {
		t.Fatalf("stale version: %v", err)
	}
	f.unchanged(t, "acme", n)
	if _, err := f.svc.UpdateTenant(ctx, f.actor, "nope", TenantUpdate{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown tenant: %v", err)
	}
}
