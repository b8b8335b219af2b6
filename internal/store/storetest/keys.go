package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

func newKey(tenantID, kid string, state model.KeyState, created time.Time) model.SigningKey {
	return model.SigningKey{TenantID: tenantID, KID: kid, Alg: model.AlgES256, State: state,
		PublicJWK: []byte(`{"kty":"EC","kid":"` + kid + `"}`), PrivateSealed: []byte{0, 0xff, 1, 2, 3},
		CreatedAt: created, UpdatedAt: created}
}

var keyTests = []test{
	{"create and list newest first, round-tripping every field", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		must(t, s.Tenants().Create(ctx, newTenant("a")))
		k1 := newKey("a", "k1", model.KeyPrevious, t0)
		k2 := newKey("a", "k2", model.KeyCurrent, t0.Add(time.Hour))
		k3 := newKey("a", "k3", model.KeyNext, t0.Add(2*time.Hour))
		k3.Alg = model.AlgRS256
		for _, k := range []model.SigningKey{k2, k3, k1} {
			must(t, s.Keys().Create(ctx, k))
		}
		got, err := s.Keys().List(ctx, "a")
		must(t, err)
		var want []model.SigningKey
		for _, k := range []model.SigningKey{k3, k2, k1} {
			k.CreatedAt, k.UpdatedAt = us(k.CreatedAt), us(k.UpdatedAt)
			want = append(want, k)
		}
		equal(t, "keys", got, want)
	}},
	{"duplicate kid is ErrConflict; unknown tenant ErrNotFound", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		must(t, s.Tenants().Create(ctx, newTenant("a")))
		must(t, s.Keys().Create(ctx, newKey("a", "k", model.KeyNext, t0)))
		wantErr(t, s.Keys().Create(ctx, newKey("a", "k", model.KeyNext, t0)), store.ErrConflict)
		wantErr(t, s.Keys().Create(ctx, newKey("nope", "k", model.KeyNext, t0)), store.ErrNotFound)
	}},
	{"SetState moves a key through rotation; Delete removes it", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		must(t, s.Tenants().Create(ctx, newTenant("a")))
		must(t, s.Keys().Create(ctx, newKey("a", "old", model.KeyCurrent, t0)))
		must(t, s.Keys().Create(ctx, newKey("a", "new", model.KeyNext, t0.Add(time.Minute))))
		// Rotation as the token package runs it: atomically.
		must(t, s.InTx(ctx, func(r store.Repos) error {
			if err := r.Keys().SetState(ctx, "a", "old", model.KeyPrevious); err != nil {
				return err
			}
			return r.Keys().SetState(ctx, "a", "new", model.KeyCurrent)
		}))
		got, err := s.Keys().List(ctx, "a")
		must(t, err)
		equal(t, "new state", got[0].State, model.KeyCurrent)
		equal(t, "old state", got[1].State, model.KeyPrevious)
		utc(t, "UpdatedAt", got[0].UpdatedAt)
		if !got[0].UpdatedAt.After(got[0].CreatedAt) {
			t.Fatalf("UpdatedAt %v not moved past CreatedAt %v", got[0].UpdatedAt, got[0].CreatedAt)
		}
		wantErr(t, s.Keys().SetState(ctx, "a", "nope", model.KeyCurrent), store.ErrNotFound)
		must(t, s.Keys().Delete(ctx, "a", "old"))
		got, err = s.Keys().List(ctx, "a")
		must(t, err)
		equal(t, "after delete", len(got), 1)
		wantErr(t, s.Keys().Delete(ctx, "a", "old"), store.ErrNotFound)
	}},
}

var revocationTests = []test{
	{"Revoke is idempotent and IsRevoked sees it", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		must(t, s.Tenants().Create(ctx, newTenant("a")))
		r := model.Revocation{TenantID: "a", JTI: "jti-1", ExpiresAt: t0.Add(time.Hour), RevokedAt: t0}
		must(t, s.Revocations().Revoke(ctx, r))
		must(t, s.Revocations().Revoke(ctx, r))
		r.ExpiresAt = t0.Add(2 * time.Hour)
		must(t, s.Revocations().Revoke(ctx, r))
		ok, err := s.Revocations().IsRevoked(ctx, "a", "jti-1")
		must(t, err)
		equal(t, "revoked", ok, true)
		ok, err = s.Revocations().IsRevoked(ctx, "a", "jti-2")
		must(t, err)
		equal(t, "other jti", ok, false)
	}},
	{"IsRevoked answers many concurrent callers of two tenants each for its own jti", func(t *testing.T, s store.Store) {
		// Backends may answer concurrent lookups together (sqlstore batches
		// them into one query); each caller must still get its own answer,
		// within its tenant, and a revocation committed before the call.
		ctx := t.Context()
		must(t, s.Tenants().Create(ctx, newTenant("a")))
		must(t, s.Tenants().Create(ctx, newTenant("b")))
		const n = 300
		for i := range n {
			if i%3 == 0 {
				must(t, s.Revocations().Revoke(ctx, model.Revocation{TenantID: "a", JTI: fmt.Sprintf("jti-%d", i), ExpiresAt: t0.Add(time.Hour), RevokedAt: t0}))
			}
		}
		errs := make([]error, 2*n)
		var wg sync.WaitGroup
		for i := range 2 * n {
			wg.Go(func() {
				tenant, jti := "a", fmt.Sprintf("jti-%d", i%n)
				if i >= n {
					tenant = "b" // nothing is revoked in b
				}
				ok, err := s.Revocations().IsRevoked(ctx, tenant, jti)
				if want := tenant == "a" && (i%n)%3 == 0; err != nil || ok != want {
					errs[i] = fmt.Errorf("IsRevoked(%s, %s) = %v, %v; want %v", tenant, jti, ok, err, want)
				}
			})
		}
		wg.Wait()
		must(t, errors.Join(errs...))
		// Revoked now, seen by the very next call.
		must(t, s.Revocations().Revoke(ctx, model.Revocation{TenantID: "b", JTI: "jti-1", ExpiresAt: t0.Add(time.Hour), RevokedAt: t0}))
		ok, err := s.Revocations().IsRevoked(ctx, "b", "jti-1")
		must(t, err)
		equal(t, "revoked a moment ago", ok, true)
	}},
	{"Prune deletes what expired before t, across tenants, and counts it", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		for _, r := range []model.Revocation{
			{TenantID: "a", JTI: "gone-1", ExpiresAt: t0.Add(-time.Second), RevokedAt: t0.Add(-time.Hour)},
			{TenantID: "b", JTI: "gone-2", ExpiresAt: t0.Add(-time.Microsecond), RevokedAt: t0.Add(-time.Hour)},
			{TenantID: "a", JTI: "edge", ExpiresAt: t0, RevokedAt: t0.Add(-time.Hour)},
			{TenantID: "a", JTI: "kept", ExpiresAt: t0.Add(time.Hour), RevokedAt: t0.Add(-time.Hour)},
		} {
			must(t, s.Revocations().Revoke(ctx, r))
		}
		n, err := s.Revocations().Prune(ctx, t0)
		must(t, err)
		equal(t, "pruned", n, 2)
		for tenant, jtis := range map[string]map[string]bool{"a": {"gone-1": false, "edge": true, "kept": true}, "b": {"gone-2": false}} {
			for jti, want := range jtis {
				ok, err := s.Revocations().IsRevoked(ctx, tenant, jti)
				must(t, err)
				equal(t, tenant+"/"+jti, ok, want)
			}
		}
		n, err = s.Revocations().Prune(ctx, t0)
		must(t, err)
		equal(t, "pruned again", n, 0)
	}},
}
