package login_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/intelliauth/intelliauth/internal/model"
)

// BenchmarkSignIn measures one successful POST /login end to end on a
// real store: CSRF check, user lookup, the throttle reads, counts and
// resets of both keys, one argon2id verification, the session and request
// writes, and the durable audit event.
func BenchmarkSignIn(b *testing.B) {
	e := newEnv(b)
	e.user("alice", "correct horse battery", model.UserActive)
	br := e.browser()
	for b.Loop() {
		b.StopTimer()
		id := e.request(nil)
		_, page := br.get("/login?request=" + id)
		form := url.Values{"request": {id}, "csrf": {csrf(e.t, page)}, "login": {"alice"}, "password": {"correct horse battery"}}
		b.StartTimer()
		if resp, _ := br.post("/login", form); resp.StatusCode != http.StatusSeeOther {
			b.Fatalf("sign-in: %d", resp.StatusCode)
		}
	}
}
