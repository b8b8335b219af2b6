package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

func newConsoleSession(tenantID, id, userID string, created time.Time) model.ConsoleSession {
	return model.ConsoleSession{TenantID: tenantID, ID: id, UserID: userID, Tokens: []byte{0x01, 0x00, 0xff, 'x'},
		AccessExpiresAt: created.Add(5 * time.Minute), CreatedAt: created, ExpiresAt: created.Add(12 * time.Hour), Version: 1}
}

var consoleSessionTests = []test{
	{"create and get round-trip every field; conflict; unknown user", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1")
		in := newConsoleSession("a", "cs_1", "usr_1", t0)
		must(t, s.ConsoleSessions().Create(ctx, in))
		got, err := s.ConsoleSessions().Get(ctx, "a", "cs_1")
		must(t, err)
		want := in
		want.AccessExpiresAt, want.CreatedAt, want.ExpiresAt = us(in.AccessExpiresAt), us(in.CreatedAt), us(in.ExpiresAt)
		equal(t, "console session", got, want)
		utc(t, "console session times", got.AccessExpiresAt, got.CreatedAt, got.ExpiresAt)
		wantErr(t, s.ConsoleSessions().Create(ctx, newConsoleSession("a", "cs_1", "usr_1", t0)), store.ErrConflict)
		wantErr(t, s.ConsoleSessions().Create(ctx, newConsoleSession("a", "cs_2", "usr_9", t0)), store.ErrNotFound)
		_, err = s.ConsoleSessions().Get(ctx, "a", "cs_9")
		wantErr(t, err, store.ErrNotFound)
		_, err = s.ConsoleSessions().Get(ctx, "b", "cs_1")
		wantErr(t, err, store.ErrNotFound)
	}},
	{"UpdateTokens is a compare-and-swap: exactly one of two racing refreshes wins", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1")
		must(t, s.ConsoleSessions().Create(ctx, newConsoleSession("a", "cs_1", "usr_1", t0)))
		cur, err := s.ConsoleSessions().Get(ctx, "a", "cs_1")
		must(t, err)
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			won, pre int
		)
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				next := cur
				next.Tokens = []byte{byte(i)}
				next.AccessExpiresAt = t0.Add(time.Hour)
				_, err := s.ConsoleSessions().UpdateTokens(ctx, next)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case errors.Is(err, store.ErrPrecondition):
					pre++
				default:
					t.Errorf("racing UpdateTokens: %v", err)
				}
			}()
		}
		wg.Wait()
		equal(t, "winners", won, 1)
		equal(t, "refused as stale", pre, 3)
		got, err := s.ConsoleSessions().Get(ctx, "a", "cs_1")
		must(t, err)
		equal(t, "version after one update", got.Version, int64(2))
		equal(t, "access expiry", got.AccessExpiresAt, us(t0.Add(time.Hour)))
		gone := newConsoleSession("a", "cs_9", "usr_1", t0)
		_, err = s.ConsoleSessions().UpdateTokens(ctx, gone)
		wantErr(t, err, store.ErrNotFound)
	}},
	{"Delete removes; Prune removes only the expired, of every tenant; a deleted user takes them along", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1", "usr_2")
		seedUsers(t, s, "b", "usr_1")
		must(t, s.ConsoleSessions().Create(ctx, newConsoleSession("a", "old", "usr_1", t0.Add(-24*time.Hour))))
		must(t, s.ConsoleSessions().Create(ctx, newConsoleSession("b", "old", "usr_1", t0.Add(-24*time.Hour))))
		must(t, s.ConsoleSessions().Create(ctx, newConsoleSession("a", "live", "usr_1", t0)))
		must(t, s.ConsoleSessions().Create(ctx, newConsoleSession("a", "other", "usr_2", t0)))
		n, err := s.ConsoleSessions().Prune(ctx, t0)
		must(t, err)
		equal(t, "pruned", n, 2)
		_, err = s.ConsoleSessions().Get(ctx, "a", "live")
		must(t, err)
		must(t, s.ConsoleSessions().Delete(ctx, "a", "live"))
		wantErr(t, s.ConsoleSessions().Delete(ctx, "a", "live"), store.ErrNotFound)
		must(t, s.Users().Delete(ctx, "a", "usr_2", 0))
		_, err = s.ConsoleSessions().Get(ctx, "a", "other")
		wantErr(t, err, store.ErrNotFound)
	}},
}
