package admin

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

func TestAPIs(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	a, err := f.svc.CreateAPI(ctx, f.actor, "acme", APIInput{Identifier: "https://api.shop.example/"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.ID, "api_") || a.SigningAlg != model.AlgES256 || a.AccessTokenTTL != time.Hour || a.Name != a.Identifier {
		t.Fatalf("defaults: %+v", a)
	}
	if ev := f.lastEvent(t, "acme"); ev.Type != model.EventAPICreated || ev.Audience != a.Identifier {
		t.Fatalf("event = %+v", ev)
	}
	rs, ttl := model.AlgRS256, 5*time.Minute
	a, err = f.svc.UpdateAPI(ctx, f.actor, "acme", a.Identifier, APIUpdate{SigningAlg: &rs, AccessTokenTTL: &ttl})
	if err != nil || a.SigningAlg != rs || a.AccessTokenTTL != ttl {
		t.Fatalf("update = %+v, %v", a, err)
	}
	list, err := f.svc.ListAPIs(ctx, f.actor, "acme")
	if err != nil || len(list) != 4 {
		t.Fatalf("list = %v, %v", list, err)
	}
	if err := f.svc.DeleteAPI(ctx, f.actor, "acme", a.ID, 0); err != nil {
		t.Fatal(err)
	}
	if ev := f.lastEvent(t, "acme"); ev.Type != model.EventAPIDeleted {
		t.Fatalf("event = %+v", ev)
	}
	if _, err := f.svc.GetAPI(ctx, f.actor, "acme", a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted API: %v", err)
	}
}

func TestAPIRefusals(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	n := len(f.events(t, "acme"))
	_, err := f.svc.CreateAPI(ctx, f.actor, "acme", APIInput{Identifier: "has space", SigningAlg: "HS256", AccessTokenTTL: time.Second})
	wantInvalid(t, err, "identifier", "ES256 or RS256", "between 1m and 24h")
	_, err = f.svc.CreateAPI(ctx, f.actor, "acme", APIInput{ID: model.PlatformAPIID, Identifier: "x"})
	wantInvalid(t, err, "reserved")
	if _, err := f.svc.CreateAPI(ctx, f.actor, "acme", APIInput{Identifier: "api.bank.example"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate identifier: %v", err)
	}
	err = f.svc.DeleteAPI(ctx, f.actor, "acme", model.PlatformAPIID, 0)
	wantInvalid(t, err, "platform API cannot be deleted")
	if err := f.svc.DeleteAPI(ctx, f.actor, "acme", "bank", 0); !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "read:tx") {
		t.Fatalf("delete API with scopes: %v", err)
	}
	ident := "elsewhere"
	_, err = f.svc.UpdateAPI(ctx, f.actor, "acme", model.PlatformAPIID, APIUpdate{Identifier: &ident})
	wantInvalid(t, err, "platform API's identifier")
	taken := "api.health.example"
	if _, err := f.svc.UpdateAPI(ctx, f.actor, "acme", "bank", APIUpdate{Identifier: &taken}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("identifier taken: %v", err)
	}
	f.unchanged(t, "acme", n)
}
