package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

var timeTests = []test{
	{"every timestamp comes back in UTC, exact to the microsecond", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		zone := time.FixedZone("UTC+05:30", 5*3600+1800)
		cases := []time.Time{
			time.Date(2026, 12, 31, 23, 59, 59, 999999999, zone), // rolls over the date in UTC
			time.Date(1969, 7, 20, 20, 17, 40, 500, time.UTC),    // before the Unix epoch
			time.Date(2038, 1, 19, 3, 14, 8, 1000, zone),         // past 32-bit seconds
		}
		for i, ts := range cases {
			id := string(rune('a' + i))
			want := us(ts)

			tn := newTenant(id)
			tn.CreatedAt, tn.UpdatedAt = ts, ts.Add(time.Nanosecond)
			must(t, s.Tenants().Create(ctx, tn))
			gotT, err := s.Tenants().Get(ctx, id)
			must(t, err)
			equal(t, "tenant CreatedAt", gotT.CreatedAt, want)
			equal(t, "tenant UpdatedAt", gotT.UpdatedAt, us(ts.Add(time.Nanosecond)))

			api := newAPI(id, "x")
			api.CreatedAt, api.UpdatedAt = ts, ts
			must(t, s.APIs().Create(ctx, api))
			gotA, err := s.APIs().Get(ctx, id, "x")
			must(t, err)
			equal(t, "API CreatedAt", gotA.CreatedAt, want)

			sc := newScope(id, "x", "read:x")
			sc.CreatedAt, sc.UpdatedAt = ts, ts
			must(t, s.Scopes().Create(ctx, sc))
			gotS, err := s.Scopes().Get(ctx, id, "read:x")
			must(t, err)
			equal(t, "scope CreatedAt", gotS.CreatedAt, want)

			app := newApp(id, "app")
			app.CreatedAt, app.UpdatedAt = ts, ts
			must(t, s.Applications().Create(ctx, app))
			gotApp, err := s.Applications().Get(ctx, id, "app")
			must(t, err)
			equal(t, "application CreatedAt", gotApp.CreatedAt, want)

			must(t, s.Applications().AddSecret(ctx, model.ClientSecret{TenantID: id, ClientID: "app", ID: "s1",
				Hash: []byte{1}, CreatedAt: ts, ExpiresAt: ts.Add(time.Hour)}))
			secrets, err := s.Applications().Secrets(ctx, id, "app")
			must(t, err)
			equal(t, "secret CreatedAt", secrets[0].CreatedAt, want)
			equal(t, "secret ExpiresAt", secrets[0].ExpiresAt, us(ts.Add(time.Hour)))

			must(t, s.Keys().Create(ctx, model.SigningKey{TenantID: id, KID: "k", Alg: model.AlgES256, State: model.KeyCurrent,
				PublicJWK: []byte("{}"), PrivateSealed: []byte{1}, CreatedAt: ts, UpdatedAt: ts}))
			keys, err := s.Keys().List(ctx, id)
			must(t, err)
			equal(t, "key CreatedAt", keys[0].CreatedAt, want)

			must(t, s.Audit().Append(ctx, []model.AuditEvent{{ID: "e1", TenantID: id, Type: "t", Time: ts, Details: json.RawMessage(`{}`)}}))
			events, err := s.Audit().Search(ctx, store.AuditQuery{TenantID: id})
			must(t, err)
			equal(t, "audit Time", events[0].Time, want)

			for what, x := range map[string]time.Time{"tenant": gotT.CreatedAt, "api": gotA.UpdatedAt, "scope": gotS.UpdatedAt,
				"app": gotApp.UpdatedAt, "secret": secrets[0].CreatedAt, "key": keys[0].UpdatedAt, "event": events[0].Time} {
				utc(t, what, x)
			}
		}
	}},
	{"a zero optional time stays zero", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.Applications().Create(ctx, newApp("a", "app")))
		must(t, s.Applications().AddSecret(ctx, model.ClientSecret{TenantID: "a", ClientID: "app", ID: "s1", Hash: []byte{1}, CreatedAt: t0}))
		secrets, err := s.Applications().Secrets(ctx, "a", "app")
		must(t, err)
		if !secrets[0].ExpiresAt.IsZero() {
			t.Fatalf("ExpiresAt = %v, want zero", secrets[0].ExpiresAt)
		}
	}},
}
