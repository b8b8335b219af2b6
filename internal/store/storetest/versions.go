package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// versioned is one kind of versioned entity, seen through what the
// versioned-delete tests need of it. Each works on tenant "a" after seed.
type versioned struct {
	name string
	// create stores the entity with Version 1.
	create func(ctx context.Context, s store.Store) error
	// version reads its stored Version (ErrNotFound once deleted).
	version func(ctx context.Context, s store.Store) (int64, error)
	// update changes it, with its current Version as the precondition.
	update func(ctx context.Context, s store.Store) error
	// delete deletes it with version as the precondition (0: any).
	delete func(ctx context.Context, s store.Store, version int64) error
}

// versionedEntities covers every repository whose Delete takes a version.
var versionedEntities = []versioned{
	{
		name: "scope",
		create: func(ctx context.Context, s store.Store) error {
			return s.Scopes().Create(ctx, newScope("a", "bank", "read"))
		},
		version: func(ctx context.Context, s store.Store) (int64, error) {
			sc, err := s.Scopes().Get(ctx, "a", "read")
			return sc.Version, err
		},
		update: func(ctx context.Context, s store.Store) error {
			sc, err := s.Scopes().Get(ctx, "a", "read")
			if err != nil {
				return err
			}
			sc.DisplayName += "!"
			_, err = s.Scopes().Update(ctx, sc)
			return err
		},
		delete: func(ctx context.Context, s store.Store, v int64) error {
			_, err := s.Scopes().Delete(ctx, "a", "read", v)
			return err
		},
	},
	{
		name:   "API",
		create: func(ctx context.Context, s store.Store) error { return s.APIs().Create(ctx, newAPI("a", "loans")) },
		version: func(ctx context.Context, s store.Store) (int64, error) {
			a, err := s.APIs().Get(ctx, "a", "loans")
			return a.Version, err
		},
		update: func(ctx context.Context, s store.Store) error {
			a, err := s.APIs().Get(ctx, "a", "loans")
			if err != nil {
				return err
			}
			a.Name += "!"
			_, err = s.APIs().Update(ctx, a)
			return err
		},
		delete: func(ctx context.Context, s store.Store, v int64) error { return s.APIs().Delete(ctx, "a", "loans", v) },
	},
	{
		name: "application",
		create: func(ctx context.Context, s store.Store) error {
			return s.Applications().Create(ctx, newApp("a", "web"))
		},
		version: func(ctx context.Context, s store.Store) (int64, error) {
			a, err := s.Applications().Get(ctx, "a", "web")
			return a.Version, err
		},
		update: func(ctx context.Context, s store.Store) error {
			a, err := s.Applications().Get(ctx, "a", "web")
			if err != nil {
				return err
			}
			a.Name += "!"
			_, err = s.Applications().Update(ctx, a)
			return err
		},
		delete: func(ctx context.Context, s store.Store, v int64) error {
			return s.Applications().Delete(ctx, "a", "web", v)
		},
	},
	{
		name: "user",
		create: func(ctx context.Context, s store.Store) error {
			return s.Users().Create(ctx, newUser("a", "usr_1", "alice", "alice@example.com"))
		},
		version: func(ctx context.Context, s store.Store) (int64, error) {
			u, err := s.Users().Get(ctx, "a", "usr_1")
			return u.Version, err
		},
		update: func(ctx context.Context, s store.Store) error {
			u, err := s.Users().Get(ctx, "a", "usr_1")
			if err != nil {
				return err
			}
			u.Name += "!"
			_, err = s.Users().Update(ctx, u)
			return err
		},
		delete: func(ctx context.Context, s store.Store, v int64) error { return s.Users().Delete(ctx, "a", "usr_1", v) },
	},
	{
		name:   "role",
		create: func(ctx context.Context, s store.Store) error { return s.Roles().Create(ctx, newRole("a", "teller")) },
		version: func(ctx context.Context, s store.Store) (int64, error) {
			r, err := s.Roles().Get(ctx, "a", "teller")
			return r.Version, err
		},
		update: func(ctx context.Context, s store.Store) error {
			r, err := s.Roles().Get(ctx, "a", "teller")
			if err != nil {
				return err
			}
			r.Description += "!"
			_, err = s.Roles().Update(ctx, r)
			return err
		},
		delete: func(ctx context.Context, s store.Store, v int64) error {
			return s.Roles().Delete(ctx, "a", "teller", v)
		},
	},
	{
		name: "group",
		create: func(ctx context.Context, s store.Store) error {
			return s.Groups().Create(ctx, model.Group{TenantID: "a", Name: "staff", CreatedAt: t0, UpdatedAt: t0})
		},
		version: func(ctx context.Context, s store.Store) (int64, error) {
			g, err := s.Groups().Get(ctx, "a", "staff")
			return g.Version, err
		},
		update: func(ctx context.Context, s store.Store) error {
			g, err := s.Groups().Get(ctx, "a", "staff")
			if err != nil {
				return err
			}
			g.Description += "!"
			_, err = s.Groups().Update(ctx, g)
			return err
		},
		delete: func(ctx context.Context, s store.Store, v int64) error {
			return s.Groups().Delete(ctx, "a", "staff", v)
		},
	},
}

// versionTests hold Delete and Scopes.Rename to their version precondition:
// the condition is part of the write, so a stale caller never removes (or
// renames) a version it did not see.
var versionTests = []test{
	{"Delete with a stale version is ErrPrecondition and changes nothing", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		for _, e := range versionedEntities {
			must(t, e.create(ctx, s))
			must(t, e.update(ctx, s)) // now at version 2
			before := rev(t, s, "a")
			wantErr(t, e.delete(ctx, s, 1), store.ErrPrecondition)
			wantErr(t, e.delete(ctx, s, 3), store.ErrPrecondition)
			v, err := e.version(ctx, s)
			must(t, err)
			equal(t, e.name+" version after stale deletes", v, int64(2))
			equal(t, e.name+": rev after stale deletes", rev(t, s, "a"), before)
		}
	}},
	{"Delete with the stored version deletes; then ErrNotFound whatever the version", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		for _, e := range versionedEntities {
			must(t, e.create(ctx, s))
			must(t, e.update(ctx, s))
			must(t, e.delete(ctx, s, 2))
			_, err := e.version(ctx, s)
			wantErr(t, err, store.ErrNotFound)
			wantErr(t, e.delete(ctx, s, 2), store.ErrNotFound)
			wantErr(t, e.delete(ctx, s, 0), store.ErrNotFound)
		}
	}},
	{"Delete with version 0 deletes whatever is stored", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		for _, e := range versionedEntities {
			must(t, e.create(ctx, s))
			must(t, e.update(ctx, s))
			must(t, e.delete(ctx, s, 0))
			_, err := e.version(ctx, s)
			wantErr(t, err, store.ErrNotFound)
		}
	}},
	{"a stale Delete inside InTx leaves the transaction usable", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "read")))
		must(t, s.InTx(ctx, func(r store.Repos) error {
			if _, err := r.Scopes().Delete(ctx, "a", "read", 7); !errors.Is(err, store.ErrPrecondition) {
				return fmt.Errorf("stale delete: %v, want ErrPrecondition", err)
			}
			_, err := r.Scopes().Delete(ctx, "a", "read", 1)
			return err
		}))
		_, err := s.Scopes().Get(ctx, "a", "read")
		wantErr(t, err, store.ErrNotFound)
	}},
	{"Scopes.Rename with a stale version is ErrPrecondition and changes nothing", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "read")))
		must(t, s.Applications().Create(ctx, newApp("a", "web", "read")))
		before := rev(t, s, "a")
		_, err := s.Scopes().Rename(ctx, "a", "read", "view", 2)
		wantErr(t, err, store.ErrPrecondition)
		equal(t, "rev", rev(t, s, "a"), before)
		sc, err := s.Scopes().Get(ctx, "a", "read")
		must(t, err)
		equal(t, "version", sc.Version, int64(1))
		_, err = s.Scopes().Get(ctx, "a", "view")
		wantErr(t, err, store.ErrNotFound)
		app, err := s.Applications().Get(ctx, "a", "web")
		must(t, err)
		equal(t, "allowlist", app.AllowedScopes, []string{"read"})

		got, err := s.Scopes().Rename(ctx, "a", "read", "view", 1)
		must(t, err)
		equal(t, "renamed", got.Name, "view")
		equal(t, "version", got.Version, int64(2))
		_, err = s.Scopes().Rename(ctx, "a", "read", "again", 2)
		wantErr(t, err, store.ErrNotFound)
	}},
	{"a delete and an update from one version: exactly one wins", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		for round := range 20 {
			name := fmt.Sprintf("s%d", round)
			must(t, s.Scopes().Create(ctx, newScope("a", "bank", name)))
			start, err := s.Scopes().Get(ctx, "a", name)
			must(t, err)
			var delErr, updErr error
			release := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				<-release
				_, delErr = s.Scopes().Delete(ctx, "a", name, start.Version)
			})
			wg.Go(func() {
				<-release
				sc := start
				sc.DisplayName = "updated"
				_, updErr = s.Scopes().Update(ctx, sc)
			})
			close(release)
			wg.Wait()
			got, getErr := s.Scopes().Get(ctx, "a", name)
			switch {
			case delErr == nil && errors.Is(updErr, store.ErrNotFound):
				wantErr(t, getErr, store.ErrNotFound)
			case updErr == nil && errors.Is(delErr, store.ErrPrecondition):
				must(t, getErr)
				equal(t, "survivor", got.DisplayName, "updated")
			default:
				t.Fatalf("round %d: delete %v, update %v: want exactly one to win and the other to fail", round, delErr, updErr)
			}
		}
	}},
}
