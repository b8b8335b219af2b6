package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

var errAbort = errors.New("abort")

var txTests = []test{
	{"commit makes every write visible; reads inside see the transaction's own writes", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.InTx(ctx, func(r store.Repos) error {
			if err := r.Scopes().Create(ctx, newScope("a", "bank", "read")); err != nil {
				return err
			}
			if err := r.Applications().Create(ctx, newApp("a", "web", "read")); err != nil {
				return err
			}
			holders, err := r.Scopes().Holders(ctx, "a", "read")
			if err != nil {
				return err
			}
			equal(t, "holders inside", holders, []string{"web"})
			_, err = r.Applications().Get(ctx, "a", "web")
			return err
		}))
		_, err := s.Applications().Get(ctx, "a", "web")
		must(t, err)
		_, err = s.Scopes().Get(ctx, "a", "read")
		must(t, err)
	}},
	{"an error rolls everything back and is returned as is", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		before := rev(t, s, "a")
		err := s.InTx(ctx, func(r store.Repos) error {
			if err := r.Scopes().Create(ctx, newScope("a", "bank", "read")); err != nil {
				return err
			}
			if err := r.Applications().Create(ctx, newApp("a", "web", "read")); err != nil {
				return err
			}
			if err := r.Audit().Append(ctx, []model.AuditEvent{event("a", 1, "t", "web", "", "read")}); err != nil {
				return err
			}
			return errAbort
		})
		wantErr(t, err, errAbort)
		_, err = s.Scopes().Get(ctx, "a", "read")
		wantErr(t, err, store.ErrNotFound)
		_, err = s.Applications().Get(ctx, "a", "web")
		wantErr(t, err, store.ErrNotFound)
		events, err := s.Audit().Search(ctx, store.AuditQuery{TenantID: "a"})
		must(t, err)
		equal(t, "events", len(events), 0)
		equal(t, "rev", rev(t, s, "a"), before)
	}},
	{"a panic rolls back and propagates", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("panic swallowed")
				}
			}()
			_ = s.InTx(ctx, func(r store.Repos) error {
				if err := r.Scopes().Create(ctx, newScope("a", "bank", "read")); err != nil {
					return err
				}
				panic("boom")
			})
		}()
		_, err := s.Scopes().Get(ctx, "a", "read")
		wantErr(t, err, store.ErrNotFound)
		// The store is still usable: the write connection was released.
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "read")))
	}},
	{"a failed call leaves no partial effect and the transaction usable", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "a")))
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "b")))
		must(t, s.Applications().Create(ctx, newApp("a", "web", "a")))
		must(t, s.InTx(ctx, func(r store.Repos) error {
			// Whatever a failing multi-statement call wrote before it failed
			// must not survive the caller carrying on and committing.
			_, err := r.Scopes().Rename(ctx, "a", "a", "b", 0)
			wantErr(t, err, store.ErrConflict)
			wantErr(t, r.Scopes().Create(ctx, newScope("a", "bank", "b")), store.ErrConflict)
			return r.Scopes().Create(ctx, newScope("a", "bank", "c"))
		}))
		app, err := s.Applications().Get(ctx, "a", "web")
		must(t, err)
		equal(t, "allowlist", app.AllowedScopes, []string{"a"})
		equal(t, "app version", app.Version, int64(1))
		_, err = s.Scopes().Get(ctx, "a", "c")
		must(t, err)
		_, err = s.Scopes().Get(ctx, "a", "a")
		must(t, err)
	}},
	{"user repositories join the transaction: an error rolls them all back", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1")
		must(t, s.Applications().Create(ctx, newApp("a", "web")))
		must(t, s.Roles().Create(ctx, newRole("a", "teller", "read")))
		must(t, s.RefreshTokens().Create(ctx, newRefresh("a", "rt1", "fam", "web", "usr_1")))
		err := s.InTx(ctx, func(r store.Repos) error {
			steps := []func() error{
				func() error { return r.Users().Create(ctx, newUser("a", "usr_2", "bob", "bob@example.com")) },
				func() error { return r.Roles().Assign(ctx, "a", "usr_2", "teller") },
				func() error {
					return r.Groups().Create(ctx, model.Group{TenantID: "a", Name: "staff", Roles: []string{"teller"}})
				},
				func() error { return r.Groups().AddMember(ctx, "a", "staff", "usr_1") },
				func() error { _, err := r.Consents().Grant(ctx, "a", "usr_1", "web", []string{"read"}); return err },
				func() error { return r.Sessions().Create(ctx, newSession("a", "ses", "usr_1", t0)) },
				func() error { return r.AuthRequests().Create(ctx, newAuthRequest("a", "req", "web")) },
				func() error { return r.Codes().Create(ctx, newCode("a", "code", "web", "usr_1")) },
				func() error {
					_, err := r.RefreshTokens().Rotate(ctx, "a", "rt1", newRefresh("a", "rt2", "", "", ""), t0)
					return err
				},
				func() error { _, err := r.Throttles().Fail(ctx, "a", "k", t0, time.Minute, 1, time.Hour); return err },
				// A failing call in the middle leaves the transaction usable.
				func() error {
					wantErr(t, r.Users().Create(ctx, newUser("a", "usr_3", "BOB", "")), store.ErrConflict)
					return nil
				},
			}
			for _, step := range steps {
				if err := step(); err != nil {
					return err
				}
			}
			// Reads inside see the transaction's writes.
			scopes, err := r.Roles().ScopesOfUser(ctx, "a", "usr_2")
			if err != nil {
				return err
			}
			equal(t, "entitlements inside", scopes, []string{"read"})
			return errAbort
		})
		wantErr(t, err, errAbort)
		_, err = s.Users().Get(ctx, "a", "usr_2")
		wantErr(t, err, store.ErrNotFound)
		_, err = s.Groups().Get(ctx, "a", "staff")
		wantErr(t, err, store.ErrNotFound)
		_, err = s.Consents().Get(ctx, "a", "usr_1", "web")
		wantErr(t, err, store.ErrNotFound)
		_, err = s.Sessions().Get(ctx, "a", "ses")
		wantErr(t, err, store.ErrNotFound)
		_, err = s.AuthRequests().Get(ctx, "a", "req")
		wantErr(t, err, store.ErrNotFound)
		_, err = s.Codes().Redeem(ctx, "a", "code", t0)
		wantErr(t, err, store.ErrNotFound)
		_, err = s.RefreshTokens().Get(ctx, "a", "rt2")
		wantErr(t, err, store.ErrNotFound)
		rt1, err := s.RefreshTokens().Get(ctx, "a", "rt1")
		must(t, err)
		equal(t, "rt1 not rotated", rt1.RotatedAt, time.Time{})
		th, err := s.Throttles().Get(ctx, "a", "k")
		must(t, err)
		equal(t, "throttle", th, model.Throttle{})
	}},
	{"Ping answers", func(t *testing.T, s store.Store) {
		must(t, s.Ping(t.Context()))
	}},
}
