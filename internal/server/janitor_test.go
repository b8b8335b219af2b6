package server_test

import (
	"errors"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store"
)

// TestJanitorPrunesExpiredRows: each node deletes what has expired —
// authorization requests, codes past the replay window, sessions, refresh
// families, revocations of expired tokens, expired WebAuthn challenges,
// second-factor enrolments abandoned for over an hour — and keeps what is
// live.
func TestJanitorPrunesExpiredRows(t *testing.T) {
	env := servertest.Start(t, func(o *server.Options) { o.PruneInterval = 20 * time.Millisecond })
	env.Seed(t, "banking")
	u := env.CreateUser(t, "banking", model.User{Username: "carol"}, "correct horse battery")
	ctx := t.Context()
	st := env.Store
	now := env.Clock.Now()
	past, future := now.Add(-2*time.Hour), now.Add(time.Hour)
	for i, exp := range []time.Time{past, future} {
		id := []string{"old", "live"}[i]
		must(t, st.AuthRequests().Create(ctx, model.AuthRequest{TenantID: "banking", ID: id, ClientID: "legacy-batch", MaxAge: -1, CreatedAt: past, ExpiresAt: exp}))
		must(t, st.Codes().Create(ctx, model.AuthCode{TenantID: "banking", Hash: id, ClientID: "legacy-batch", UserID: u.ID, CreatedAt: past, ExpiresAt: exp}))
		must(t, st.Sessions().Create(ctx, model.Session{TenantID: "banking", ID: id, UserID: u.ID, AuthTime: past, CreatedAt: past, LastSeen: past, ExpiresAt: exp}))
		must(t, st.RefreshTokens().Create(ctx, model.RefreshToken{TenantID: "banking", Hash: id, FamilyID: id, ClientID: "legacy-batch", UserID: u.ID, CreatedAt: past, ExpiresAt: exp, FamilyExpiresAt: exp}))
		must(t, st.Revocations().Revoke(ctx, model.Revocation{TenantID: "banking", JTI: id, ExpiresAt: exp, RevokedAt: past}))
	}
	must(t, st.Factors().PutChallenge(ctx, model.MFAChallenge{TenantID: "banking", ID: "old", Purpose: "login", Data: []byte("{}"), ExpiresAt: now.Add(-time.Minute)}))
	must(t, st.Factors().PutChallenge(ctx, model.MFAChallenge{TenantID: "banking", ID: "live", Purpose: "login", Data: []byte("{}"), ExpiresAt: future}))
	for id, f := range map[string]struct {
		created   time.Time
		confirmed bool
	}{"abandoned": {past, false}, "enrolling": {now.Add(-10 * time.Minute), false}, "confirmed": {past, true}} {
		must(t, st.Factors().Create(ctx, model.Factor{TenantID: "banking", ID: id, UserID: u.ID, Type: model.FactorTOTP, Name: id,
			Secret: []byte{1}, Confirmed: f.confirmed, CreatedAt: f.created}))
	}
	// A sign-in throttle idle for two days goes; a fresh one stays.
	_, err := st.Throttles().Fail(ctx, "banking", "user:old", now.Add(-48*time.Hour), time.Minute, 5, time.Minute)
	must(t, err)
	_, err = st.Throttles().Fail(ctx, "banking", "user:live", now, time.Minute, 5, time.Minute)
	must(t, err)
	gone := func() bool {
		_, e1 := st.AuthRequests().Get(ctx, "banking", "old")
		_, e2 := st.Sessions().Get(ctx, "banking", "old")
		_, e3 := st.RefreshTokens().Get(ctx, "banking", "old")
		r, e4 := st.Revocations().IsRevoked(ctx, "banking", "old")
		th, e5 := st.Throttles().Get(ctx, "banking", "user:old")
		_, e6 := st.Factors().Get(ctx, "banking", u.ID, "abandoned")
		return errors.Is(e1, store.ErrNotFound) && errors.Is(e2, store.ErrNotFound) && errors.Is(e3, store.ErrNotFound) && e4 == nil && !r &&
			e5 == nil && th.Failures == 0 && errors.Is(e6, store.ErrNotFound)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !gone() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !gone() {
		t.Fatal("expired rows still there after the janitor ran")
	}
	if _, err := st.Codes().Redeem(ctx, "banking", "old", now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("code past the replay window not pruned: %v", err)
	}
	if _, err := st.AuthRequests().Get(ctx, "banking", "live"); err != nil {
		t.Errorf("live request pruned: %v", err)
	}
	if _, err := st.Sessions().Get(ctx, "banking", "live"); err != nil {
		t.Errorf("live session pruned: %v", err)
	}
	if _, err := st.RefreshTokens().Get(ctx, "banking", "live"); err != nil {
		t.Errorf("live refresh token pruned: %v", err)
	}
	if th, err := st.Throttles().Get(ctx, "banking", "user:live"); err != nil || th.Failures != 1 {
		t.Errorf("fresh sign-in throttle pruned: %+v %v", th, err)
	}
	if r, err := st.Revocations().IsRevoked(ctx, "banking", "live"); err != nil || !r {
		t.Errorf("live revocation pruned: %v %v", r, err)
	}
	if _, err := st.Codes().Redeem(ctx, "banking", "live", now); err != nil {
		t.Errorf("live code pruned: %v", err)
	}
	for _, id := range []string{"enrolling", "confirmed"} {
		if _, err := st.Factors().Get(ctx, "banking", u.ID, id); err != nil {
			t.Errorf("factor %q pruned: %v", id, err)
		}
	}
	if _, err := st.Factors().TakeChallenge(ctx, "banking", "old", time.Time{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired challenge not pruned: %v", err)
	}
	if _, err := st.Factors().TakeChallenge(ctx, "banking", "live", now); err != nil {
		t.Errorf("live challenge pruned: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
