package admin

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// deletable is one versioned entity as the delete-precondition tests see it,
// through the use-cases only.
type deletable struct {
	name    string
	deleted string // the event type of a delete
	create  func(ctx context.Context, f *fixture) error
	// update changes the entity (whatever its version), moving its version.
	update  func(ctx context.Context, f *fixture, n int) error
	version func(ctx context.Context, f *fixture) (int64, error)
	delete  func(ctx context.Context, f *fixture, version int64) error
}

func deletables() []deletable {
	return []deletable{
		{
			name: "scope", deleted: model.EventScopeDeleted,
			create: func(ctx context.Context, f *fixture) error {
				_, err := f.svc.CreateScope(ctx, f.actor, "acme", ScopeInput{Name: "tmp:x", Description: "Temporary.", API: "bank"})
				return err
			},
			update: func(ctx context.Context, f *fixture, n int) error {
				s := fmt.Sprintf("Temporary %d", n)
				_, err := f.svc.UpdateScope(ctx, f.actor, "acme", "tmp:x", ScopeUpdate{DisplayName: &s})
				return err
			},
			version: func(ctx context.Context, f *fixture) (int64, error) {
				sc, err := f.svc.GetScope(ctx, f.actor, "acme", "tmp:x")
				return sc.Version, err
			},
			delete: func(ctx context.Context, f *fixture, v int64) error {
				_, err := f.svc.DeleteScope(ctx, f.actor, "acme", "tmp:x", v)
				return err
			},
		},
		{
			name: "API", deleted: model.EventAPIDeleted,
			create: func(ctx context.Context, f *fixture) error {
				_, err := f.svc.CreateAPI(ctx, f.actor, "acme", APIInput{ID: "loans", Identifier: "api.loans.example", Name: "Loans"})
				return err
			},
			update: func(ctx context.Context, f *fixture, n int) error {
				s := fmt.Sprintf("Loans %d", n)
				_, err := f.svc.UpdateAPI(ctx, f.actor, "acme", "loans", APIUpdate{Name: &s})
				return err
			},
			version: func(ctx context.Context, f *fixture) (int64, error) {
				a, err := f.svc.GetAPI(ctx, f.actor, "acme", "loans")
				return a.Version, err
			},
			delete: func(ctx context.Context, f *fixture, v int64) error {
				return f.svc.DeleteAPI(ctx, f.actor, "acme", "api.loans.example", v)
			},
		},
		{
			name: "application", deleted: model.EventApplicationDeleted,
			create: func(ctx context.Context, f *fixture) error {
				_, err := f.svc.CreateApplication(ctx, f.actor, "acme", ApplicationInput{ClientID: "job", Name: "Job", Type: model.AppM2M})
				return err
			},
			update: func(ctx context.Context, f *fixture, n int) error {
				s := fmt.Sprintf("Job %d", n)
				_, err := f.svc.UpdateApplication(ctx, f.actor, "acme", "job", ApplicationUpdate{Name: &s})
				return err
			},
			version: func(ctx context.Context, f *fixture) (int64, error) {
				a, err := f.svc.GetApplication(ctx, f.actor, "acme", "job")
				return a.Version, err
			},
			delete: func(ctx context.Context, f *fixture, v int64) error {
				return f.svc.DeleteApplication(ctx, f.actor, "acme", "job", v)
			},
		},
		{
			name: "user", deleted: model.EventUserDeleted,
			create: func(ctx context.Context, f *fixture) error {
				_, err := f.svc.CreateUser(ctx, f.actor, "acme", UserInput{Username: "dave", Email: "dave@example.com", Name: "Dave", Password: testPassword})
				return err
			},
			update: func(ctx context.Context, f *fixture, n int) error {
				s := fmt.Sprintf("Dave %d", n)
				_, err := f.svc.UpdateUser(ctx, f.actor, "acme", "dave", UserUpdate{Name: &s})
				return err
			},
			version: func(ctx context.Context, f *fixture) (int64, error) {
				d, err := f.svc.GetUser(ctx, f.actor, "acme", "dave")
				return d.User.Version, err
			},
			delete: func(ctx context.Context, f *fixture, v int64) error {
				return f.svc.DeleteUser(ctx, f.actor, "acme", "dave", v)
			},
		},
		{
			name: "role", deleted: model.EventRoleDeleted,
			create: func(ctx context.Context, f *fixture) error {
				_, err := f.svc.CreateRole(ctx, f.actor, "acme", RoleInput{Name: "auditor", Description: "Audits.", Scopes: []string{"read:tx"}})
				return err
			},
			update: func(ctx context.Context, f *fixture, n int) error {
				s := fmt.Sprintf("Audits %d.", n)
				_, err := f.svc.UpdateRole(ctx, f.actor, "acme", "auditor", RoleUpdate{Description: &s})
				return err
			},
			version: func(ctx context.Context, f *fixture) (int64, error) {
				d, err := f.svc.GetRole(ctx, f.actor, "acme", "auditor")
				return d.Role.Version, err
			},
			delete: func(ctx context.Context, f *fixture, v int64) error {
				return f.svc.DeleteRole(ctx, f.actor, "acme", "auditor", v)
			},
		},
		{
			name: "group", deleted: model.EventGroupDeleted,
			create: func(ctx context.Context, f *fixture) error {
				_, err := f.svc.CreateGroup(ctx, f.actor, "acme", GroupInput{Name: "ops", Description: "Operations."})
				return err
			},
			update: func(ctx context.Context, f *fixture, n int) error {
				s := fmt.Sprintf("Operations %d.", n)
				_, err := f.svc.UpdateGroup(ctx, f.actor, "acme", "ops", GroupUpdate{Description: &s})
				return err
			},
			version: func(ctx context.Context, f *fixture) (int64, error) {
				d, err := f.svc.GetGroup(ctx, f.actor, "acme", "ops")
				return d.Group.Version, err
			},
			delete: func(ctx context.Context, f *fixture, v int64) error {
				return f.svc.DeleteGroup(ctx, f.actor, "acme", "ops", v)
			},
		},
	}
}

// TestDeleteChecksVersionInItsTransaction: every Delete use-case takes the
// version the caller read. A stale one is store.ErrPrecondition with nothing
// deleted and no event; the current one deletes; 0 deletes whatever is
// stored.
func TestDeleteChecksVersionInItsTransaction(t *testing.T) {
	for _, e := range deletables() {
		t.Run(e.name, func(t *testing.T) {
			f := newFixture(t)
			f.withTenant(t)
			ctx := t.Context()
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(e.create(ctx, f))
			must(e.update(ctx, f, 1))
			cur, err := e.version(ctx, f)
			must(err)

			n := len(f.events(t, "acme"))
			for _, stale := range []int64{cur - 1, cur + 1} {
				if err := e.delete(ctx, f, stale); !errors.Is(err, store.ErrPrecondition) {
					t.Fatalf("delete at stale version %d (stored %d): %v, want ErrPrecondition", stale, cur, err)
				}
			}
			f.unchanged(t, "acme", n)
			if v, err := e.version(ctx, f); err != nil || v != cur {
				t.Fatalf("after stale deletes: version %d, %v; want %d still there", v, err, cur)
			}

			must(e.delete(ctx, f, cur))
			if ev := f.lastEvent(t, "acme"); ev.Type != e.deleted {
				t.Fatalf("event = %s, want %s", ev.Type, e.deleted)
			}
			if _, err := e.version(ctx, f); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("after delete: %v, want ErrNotFound", err)
			}
			if err := e.delete(ctx, f, cur); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("delete twice: %v, want ErrNotFound", err)
			}

			// Version 0: whatever is stored.
			must(e.create(ctx, f))
			must(e.update(ctx, f, 2))
			must(e.update(ctx, f, 3))
			must(e.delete(ctx, f, 0))
			if _, err := e.version(ctx, f); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("after delete at version 0: %v, want ErrNotFound", err)
			}
		})
	}
}

// TestRenameScopeChecksVersion: RenameScope takes the version like
// UpdateScope; a stale one renames nothing and writes no event.
func TestRenameScopeChecksVersion(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	dn := "Read"
	sc, err := f.svc.UpdateScope(ctx, f.actor, "acme", "read:tx", ScopeUpdate{DisplayName: &dn})
	if err != nil {
		t.Fatal(err)
	}
	n := len(f.events(t, "acme"))
	for _, stale := range []int64{sc.Version - 1, sc.Version + 1} {
		if _, err := f.svc.RenameScope(ctx, f.actor, "acme", "read:tx", "view:tx", stale); !errors.Is(err, store.ErrPrecondition) {
			t.Fatalf("rename at stale version %d: %v, want ErrPrecondition", stale, err)
		}
	}
	f.unchanged(t, "acme", n)
	if _, err := f.svc.GetScope(ctx, f.actor, "acme", "view:tx"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a stale rename renamed: %v", err)
	}
	renamed, err := f.svc.RenameScope(ctx, f.actor, "acme", "read:tx", "view:tx", sc.Version)
	if err != nil {
		t.Fatal(err)
	}
	if ev := f.lastEvent(t, "acme"); ev.Type != model.EventScopeRenamed {
		t.Fatalf("event = %s", ev.Type)
	}
	if _, err := f.svc.RenameScope(ctx, f.actor, "acme", "view:tx", "see:tx", 0); err != nil {
		t.Fatalf("rename at version 0: %v", err)
	}
	if _, err := f.svc.RenameScope(ctx, f.actor, "acme", "see:tx", "x:tx", renamed.Version); !errors.Is(err, store.ErrPrecondition) {
		t.Fatalf("rename with the version before the last rename: %v, want ErrPrecondition", err)
	}
}

// TestDeleteRacingUpdate: an update and a delete made from the same read
// version run at once. Exactly one wins; the loser fails with
// ErrPrecondition (the delete) or ErrNotFound (the update), and the audit
// log holds the winner's event only — never a delete that swallowed an
// update, nor an update of a deleted scope.
func TestDeleteRacingUpdate(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	for round := range 30 {
		name := fmt.Sprintf("race:%d", round)
		if _, err := f.svc.CreateScope(ctx, f.actor, "acme", ScopeInput{Name: name, Description: "Racing.", API: "bank"}); err != nil {
			t.Fatal(err)
		}
		read, err := f.svc.GetScope(ctx, f.actor, "acme", name)
		if err != nil {
			t.Fatal(err)
		}
		n := len(f.events(t, "acme"))
		var delErr, updErr error
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			<-start
			_, delErr = f.svc.DeleteScope(ctx, f.actor, "acme", name, read.Version)
		})
		wg.Go(func() {
			<-start
			dn := "Updated"
			_, updErr = f.svc.UpdateScope(ctx, f.actor, "acme", name, ScopeUpdate{DisplayName: &dn, Version: read.Version})
		})
		close(start)
		wg.Wait()
		evs := f.events(t, "acme")[n:]
		got, getErr := f.svc.GetScope(ctx, f.actor, "acme", name)
		switch {
		case delErr == nil && (errors.Is(updErr, store.ErrNotFound) || errors.Is(updErr, store.ErrPrecondition)):
			if !errors.Is(getErr, store.ErrNotFound) || len(evs) != 1 || evs[0].Type != model.EventScopeDeleted {
				t.Fatalf("round %d: the delete won, yet get = %v and events %d", round, getErr, len(evs))
			}
		case updErr == nil && errors.Is(delErr, store.ErrPrecondition):
			if getErr != nil || got.DisplayName != "Updated" || len(evs) != 1 || evs[0].Type != model.EventScopeUpdated {
				t.Fatalf("round %d: the update won, yet get = %+v, %v and events %d", round, got, getErr, len(evs))
			}
		default:
			t.Fatalf("round %d: delete %v, update %v: want exactly one winner", round, delErr, updErr)
		}
	}
}

// TestWriteAtRetriesOnlyUnconditionalWrites: a change without a version
// runs again when a concurrent write beat it, and one that keeps losing ends
// as a conflict, never as a failed precondition the caller did not set
// (RFC 9110 §13.1.1); a change with a version gets its 412 at once.
func TestWriteAtRetriesOnlyUnconditionalWrites(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	lost := func(runs *int) func(store.Repos, time.Time) ([]event, error) {
		return func(store.Repos, time.Time) ([]event, error) {
			*runs++
			return nil, fmt.Errorf("scope x changed meanwhile: %w", store.ErrPrecondition)
		}
	}
	var runs int
	err := f.svc.writeAt(t.Context(), f.actor, 3, lost(&runs))
	if runs != 1 || !errors.Is(err, store.ErrPrecondition) {
		t.Fatalf("with a version: %d runs, %v", runs, err)
	}
	runs = 0
	err = f.svc.writeAt(t.Context(), f.actor, 0, lost(&runs))
	if runs != writeAttempts || !errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrPrecondition) {
		t.Fatalf("without a version, always losing: %d runs, %v", runs, err)
	}
	runs = 0
	err = f.svc.writeAt(t.Context(), f.actor, 0, func(tx store.Repos, now time.Time) ([]event, error) {
		if runs++; runs < 3 {
			return nil, fmt.Errorf("lost: %w", store.ErrPrecondition)
		}
		return nil, nil
	})
	if runs != 3 || err != nil {
		t.Fatalf("without a version, winning on the third run: %d runs, %v", runs, err)
	}
}
