package server_test

import (
	"fmt"
	"net/url"
	"sync"
	"testing"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/password"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// Issue 12: a refresh-token redemption racing the disabling of its user
// is answered 200 (it won) or 400 invalid_grant (the user was disabled
// first) — never 500. On PostgreSQL the two once took the user's session,
// token and user rows in opposite orders and deadlocked (SQLSTATE 40P01).
func TestRefreshRacingUserDisableIsNeverAServerError(t *testing.T) {
	env := servertest.Start(t)
	o := &oidcEnv{env: env, b: env.Seed(t, "banking"), people: env.SeedUsers(t, "banking"), iss: env.Issuer("banking")}
	const pw = "correct horse battery"
	hash, err := password.Hash(pw)
	must(t, err)
	rounds, families := 20, 6
	if testing.Short() || raceEnabled {
		rounds = 5
	}
	for i := range rounds {
		u := env.CreateUser(t, "banking", model.User{Username: fmt.Sprintf("racer%d", i), PasswordHash: hash}, pw, "user")
		br := servertest.NewBrowser(t)
		var tokens []userToken
		for range families {
			tokens = append(tokens, userRefreshIn(t, o, br, u))
		}
		var wg sync.WaitGroup
		statuses := make([]int, len(tokens))
		start := make(chan struct{})
		for k, tok := range tokens {
			wg.Go(func() {
				<-start
				g := postGrant(t.Context(), o.iss, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.refresh},
					"client_id": {o.people.SPA.ID}}, nil)
				statuses[k] = g.status
				if g.err != nil {
					statuses[k] = -1
				}
			})
		}
		var disableErr error
		wg.Go(func() {
			<-start
			_, disableErr = env.Admin.DisableUser(t.Context(), admin.CLI(), "banking", u.ID)
		})
		close(start)
		wg.Wait()
		if disableErr != nil {
			t.Fatalf("round %d: disable user: %v", i, disableErr)
		}
		for k, s := range statuses {
			if s != 200 && s != 400 {
				t.Fatalf("round %d: refresh of family %d racing the user's disable answered %d, want 200 or 400", i, k, s)
			}
		}
	}
}
