package storetest

import (
	"errors"
	"testing"

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
			_, err := r.Scopes().Rename(ctx, "a", "a", "b")
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
	{"Ping answers", func(t *testing.T, s store.Store) {
		must(t, s.Ping(t.Context()))
	}},
}
