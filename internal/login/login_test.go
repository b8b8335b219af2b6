package login_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/login"
	"github.com/intelliauth/intelliauth/internal/model"
)

func TestSignInSucceeds(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", "correct horse battery", model.UserActive)
	id := e.request(func(ar *model.AuthRequest) { ar.LoginHint = "alice@example.com" })
	b := e.browser()

	resp, body := b.get("/login?request=" + id)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /login: %d", resp.StatusCode)
	}
	for _, want := range []string{
		"Banking &lt;SPA&gt;",            // the application's name, escaped
		`value="alice@example.com"`,      // login_hint prefilled (OIDC Core 1.0 §3.1.2.1)
		`type="password"`, `name="csrf"`, // the form
	} {
		if !strings.Contains(body, want) {
			t.Errorf("sign-in page lacks %q", want)
		}
	}

	resp, body = b.post("/login", url.Values{"request": {id}, "csrf": {csrf(t, body)}, "login": {"ALICE"}, "password": {"correct horse battery"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /login: %d, want 303\n%s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Location"); got != e.resumeURL(id) {
		t.Errorf("Location = %q, want %q", got, e.resumeURL(id))
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}
	var sc *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie() {
			sc = c
		}
	}
	if sc == nil {
		t.Fatal("no session cookie")
	}
	if !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/t/"+tenantID+"/" || sc.Secure {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/t/%s/, not Secure over plain HTTP", sc, tenantID)
	}
	if len(sc.Value) != 43 {
		t.Errorf("session cookie value %q: want 32 random bytes in base64url", sc.Value)
	}

	ar := e.authRequest(id)
	if ar.UserID != alice.ID || ar.SessionID != login.SessionIDOf(sc.Value) || !ar.AuthTime.Equal(e.clock.Now()) {
		t.Errorf("authorization request after sign-in: user %q session %q auth_time %v", ar.UserID, ar.SessionID, ar.AuthTime)
	}
	s, err := e.st.Sessions().Get(t.Context(), tenantID, login.SessionIDOf(sc.Value))
	must(t, err)
	if s.UserID != alice.ID || !s.ExpiresAt.Equal(e.clock.Now().Add(login.DefaultSessionTTL)) || s.IP != "127.0.0.1" {
		t.Errorf("stored session %+v", s)
	}

	// CurrentSession recognises the cookie.
	r := httptest.NewRequest(http.MethodGet, "/oauth2/authorize", nil)
	r.AddCookie(sc)
	gs, gu, ok, err := e.h.CurrentSession(r, e.snap())
	if err != nil || !ok || gs.ID != s.ID || gu.ID != alice.ID {
		t.Errorf("CurrentSession = %v %v %v %v", gs.ID, gu.ID, ok, err)
	}

	evs := e.events(model.EventLoginSucceeded)
	if len(evs) != 1 || evs[0].Subject != alice.ID || evs[0].ClientID != clientID || evs[0].ActorID != alice.ID {
		t.Fatalf("login.succeeded events: %+v", evs)
	}
}

func TestWrongPasswordIsCountedAndAudited(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", "correct horse battery", model.UserActive)
	id := e.request(nil)
	b := e.browser()

	resp, body := b.signIn(id, "alice", "wrong password!")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d, want 401", resp.StatusCode)
	}
	if !strings.Contains(body, "The username, email or password is not right.") || !strings.Contains(body, `value="alice"`) {
		t.Errorf("the form again with a generic error and the login kept:\n%s", body)
	}
	if b.cookie(sessionCookie()) != nil {
		t.Error("a failed sign-in set a session cookie")
	}
	for _, key := range []string{"user:" + alice.ID, "ip:127.0.0.1"} {
		if th := e.throttle(key); th.Failures != 1 {
			t.Errorf("throttle %s: %d failures, want 1", key, th.Failures)
		}
	}
	if ar := e.authRequest(id); ar.UserID != "" || ar.SessionID != "" {
		t.Errorf("a failed sign-in bound the request: %+v", ar)
	}
	evs := e.events(model.EventLoginFailed)
	if len(evs) != 1 {
		t.Fatalf("login.failed events: %d", len(evs))
	}
	ev := evs[0]
	if ev.ActorType != login.ActorIP || ev.ActorID != "127.0.0.1" || ev.Subject != alice.ID || ev.ClientID != clientID {
		t.Errorf("login.failed event %+v", ev)
	}
	if strings.Contains(string(ev.Details), "wrong password") {
		t.Error("the audit event holds the password")
	}
	var d map[string]any
	must(t, json.Unmarshal(ev.Details, &d))
	if d["reason"] != "wrong_password" {
		t.Errorf("details %s", ev.Details)
	}
}

// OWASP Authentication Cheat Sheet, "Authentication Responses": an unknown
// user, a wrong password and a disabled account look the same.
func TestFailuresLookAlike(t *testing.T) {
	e := newEnv(t)
	e.user("alice", "correct horse battery", model.UserActive)
	e.user("dora", "correct horse battery", model.UserDisabled)
	e.user("nopw", "whatever1", model.UserActive)
	must(t, e.st.Users().SetPassword(t.Context(), tenantID, "usr_nopw", ""))

	strip := func(body string) string { return csrfField.ReplaceAllString(body, "") }
	var first string
	for i, c := range []struct{ login, pw, reason string }{
		{"alice", "not the password", "wrong_password"},
		{"mallory", "not the password", "unknown_user"},
		{"dora", "correct horse battery", "disabled"},
		{"nopw", "whatever1", "no_password"},
	} {
		b := e.browser()
		b.ip = "192.0.2." + string(rune('1'+i)) // keep the address throttle out of it
		id := e.request(nil)
		start := time.Now()
		resp, body := b.signIn(id, c.login, c.pw)
		took := time.Since(start)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", c.reason, resp.StatusCode)
		}
		body = strings.ReplaceAll(strip(body), `value="`+c.login+`"`, `value=""`)
		body = strings.ReplaceAll(body, id, "")
		if first == "" {
			first = body
		} else if body != first {
			t.Errorf("%s: the page differs from a wrong password's", c.reason)
		}
		// Every path runs one argon2id check (the dummy hash when there is
		// no user or no password); a path without it would answer in
		// well under the ~40 ms one check costs.
		if took < 15*time.Millisecond {
			t.Errorf("%s answered in %v: the password check was skipped", c.reason, took)
		}
	}
	reasons := map[string]bool{}
	for _, ev := range e.events(model.EventLoginFailed) {
		var d map[string]any
		must(t, json.Unmarshal(ev.Details, &d))
		reasons[d["reason"].(string)] = true
		if d["reason"] == "unknown_user" && ev.Subject != "" {
			t.Errorf("unknown user audited with subject %q", ev.Subject)
		}
	}
	if len(reasons) != 4 {
		t.Errorf("audited reasons %v, want all four", reasons)
	}
}

// OWASP Authentication Cheat Sheet, "Account Lockout": MaxFailures failures
// lock the account; the lock is in the database, so a new Handler on the
// same store (a restart, or another node) still refuses, until LockFor has
// passed.
func TestLockoutHoldsAcrossRestart(t *testing.T) {
	opts := func(h *login.Handler) { h.MaxFailures, h.Window, h.LockFor = 3, 15*time.Minute, 10*time.Minute }
	e := newEnv(t, opts)
	alice := e.user("alice", "correct horse battery", model.UserActive)

	for i := 1; i <= 3; i++ {
		b := e.browser()
		b.ip = "198.51.100." + string(rune('0'+i)) // a new address each time: the account key locks
		resp, body := b.signIn(e.request(nil), "alice", "guess")
		want := http.StatusUnauthorized
		if i == 3 {
			want = http.StatusTooManyRequests // this failure engaged the lock
		}
		if resp.StatusCode != want {
			t.Fatalf("failure %d: %d, want %d\n%s", i, resp.StatusCode, want, body)
		}
	}
	if th := e.throttle("user:" + alice.ID); !th.LockedUntil.Equal(e.clock.Now().Add(10 * time.Minute)) {
		t.Fatalf("account throttle %+v: want locked for 10m", th)
	}

	// A restart: a brand-new Handler on the same database.
	e.newHandler(opts)
	b := e.browser()
	b.ip = "203.0.113.9"
	id := e.request(nil)
	resp, body := b.signIn(id, "alice", "correct horse battery")
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed attempts; try again later") {
		t.Fatalf("right password while locked: %d, want 429 with the lockout message", resp.StatusCode)
	}
	if b.cookie(sessionCookie()) != nil || e.authRequest(id).UserID != "" {
		t.Fatal("a locked account signed in")
	}
	locked := e.events(model.EventLoginLocked)
	if len(locked) != 2 { // engaged by the third failure, then the refused attempt
		t.Fatalf("login.locked events: %d, want 2", len(locked))
	}
	// The refused attempt was not counted (it never reached the password).
	if th := e.throttle("user:" + alice.ID); th.Failures != 3 {
		t.Errorf("failures %d after a refused attempt, want 3", th.Failures)
	}

	// The lock ran out (LockFor 10m < Window 15m): a whole new budget, not
	// a lock re-engaged by the next mistake.
	e.clock.Advance(10*time.Minute + time.Second)
	if resp, _ = b.signIn(e.request(nil), "alice", "typo"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("first mistake after the lock ran out: %d, want 401", resp.StatusCode)
	}
	resp, _ = b.signIn(e.request(nil), "alice", "correct horse battery")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the lock expired: %d, want 303", resp.StatusCode)
	}
	if th := e.throttle("user:" + alice.ID); th.Failures != 0 || !th.LockedUntil.IsZero() {
		t.Errorf("throttle not reset by a successful sign-in: %+v", th)
	}
}

func TestAddressLockout(t *testing.T) {
	e := newEnv(t, func(h *login.Handler) { h.MaxFailures = 2 })
	e.user("alice", "correct horse battery", model.UserActive)
	attacker := e.browser()
	attacker.ip = "2001:db8:1:2::10"
	for _, name := range []string{"bob", "carol"} { // spraying different names
		attacker.signIn(e.request(nil), name, "guess")
	}
	// Another address in the same IPv6 /64 is the same client.
	attacker.ip = "2001:db8:1:2::99"
	resp, _ := attacker.signIn(e.request(nil), "alice", "correct horse battery")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("locked /64: %d, want 429", resp.StatusCode)
	}
	if th := e.throttle("ip:2001:db8:1:2::/64"); th.Failures != 2 {
		t.Errorf("address throttle %+v", th)
	}
	// Alice elsewhere is not locked out by it.
	b := e.browser()
	b.ip = "192.0.2.7"
	if resp, _ := b.signIn(e.request(nil), "alice", "correct horse battery"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("another address: %d, want 303", resp.StatusCode)
	}
}

// An unknown name is throttled like a real one (under a digest of the name),
// so the lockout does not reveal which accounts exist.
func TestUnknownLoginIsThrottledLikeAnAccount(t *testing.T) {
	e := newEnv(t, func(h *login.Handler) { h.MaxFailures = 2 })
	for i, ip := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		b := e.browser()
		b.ip = ip
		resp, _ := b.signIn(e.request(nil), "Mallory", "guess")
		want := []int{http.StatusUnauthorized, http.StatusTooManyRequests, http.StatusTooManyRequests}[i]
		if resp.StatusCode != want {
			t.Fatalf("attempt %d: %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	key := login.UnknownUserKey(tenantID, "mallory")
	if th := e.throttle(key); th.Failures != 2 || th.LockedUntil.IsZero() {
		t.Errorf("throttle %s = %+v", key, th)
	}
	if strings.Contains(key, "mallory") {
		t.Error("the key holds the typed name")
	}
}

// OWASP Session Management Cheat Sheet, "Renew the Session ID After Any
// Privilege Level Change": a cookie present before sign-in — planted or an
// earlier session — is never the one after it.
func TestSignInRotatesSession(t *testing.T) {
	e := newEnv(t)
	e.user("alice", "correct horse battery", model.UserActive)
	e.user("bob", "another good one", model.UserActive)
	b := e.browser()

	planted := strings.Repeat("A", 43)
	b.setCookie(sessionCookie(), planted)
	b.signIn(e.request(nil), "alice", "correct horse battery")
	first := b.cookie(sessionCookie())
	if first == nil || first.Value == planted {
		t.Fatalf("the planted cookie survived sign-in: %+v", first)
	}

	// prompt=login: the same browser signs in again (as bob).
	id := e.request(func(ar *model.AuthRequest) { ar.Prompt = "login" })
	b.signIn(id, "bob", "another good one")
	second := b.cookie(sessionCookie())
	if second == nil || second.Value == first.Value {
		t.Fatal("the second sign-in kept the first session's cookie")
	}
	if _, err := e.st.Sessions().Get(t.Context(), tenantID, login.SessionIDOf(first.Value)); err == nil {
		t.Error("the previous session still exists")
	}
	if ar := e.authRequest(id); ar.UserID != "usr_bob" || ar.SessionID != login.SessionIDOf(second.Value) {
		t.Errorf("request bound to %q / %q", ar.UserID, ar.SessionID)
	}
}

func TestRequestMustBePendingAndValid(t *testing.T) {
	e := newEnv(t)
	expired := e.request(nil)
	e.clock.Advance(11 * time.Minute)
	b := e.browser()
	for name, q := range map[string]string{
		"missing":   "",
		"unknown":   "?request=nope",
		"malformed": "?request=" + url.QueryEscape("<script>"),
		"too long":  "?request=" + strings.Repeat("a", 200),
		"expired":   "?request=" + expired,
	} {
		resp, body := b.get("/login" + q)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "This sign-in link is not valid") {
			t.Errorf("%s request: %d, want the 400 page", name, resp.StatusCode)
		}
		if strings.Contains(body, "<script>") {
			t.Errorf("%s request: the page echoes input unescaped", name)
		}
	}
}

func TestEmptyFieldsAreNotCounted(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	resp, body := b.signIn(e.request(nil), "alice", "")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Enter your username or email and your password.") {
		t.Fatalf("empty password: %d", resp.StatusCode)
	}
	if th := e.throttle("ip:127.0.0.1"); th.Failures != 0 {
		t.Error("an empty form counted as a failure")
	}
}

func TestRehashOnSignIn(t *testing.T) {
	e := newEnv(t)
	u := e.user("alice", "x", model.UserActive)
	weak := "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc" // "password", RFC 9106 reference parameters
	must(t, e.st.Users().SetPassword(t.Context(), tenantID, u.ID, weak))
	if resp, _ := e.browser().signIn(e.request(nil), "alice", "password"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	got, err := e.st.Users().Get(t.Context(), tenantID, u.ID)
	must(t, err)
	if got.PasswordHash == weak || !strings.HasPrefix(got.PasswordHash, "$argon2id$v=19$m=65536,t=1,p=1$") {
		t.Errorf("hash after sign-in %q: want it upgraded to the current parameters", got.PasswordHash)
	}
}

// Guesses sent at once share one budget: each is counted before its
// password is checked, so no more than MaxFailures of them are checked
// however many arrive together (they would all pass a check-then-count).
func TestConcurrentGuessesShareOneBudget(t *testing.T) {
	e := newEnv(t, func(h *login.Handler) { h.MaxFailures, h.MaxHashing = 3, 1 })
	alice := e.user("alice", "correct horse battery", model.UserActive)
	const n = 10
	var rs []readyLogin
	for i := range n {
		b := e.browser()
		b.ip = "198.51.100." + strconv.Itoa(i+1)
		id := e.request(nil)
		_, page := b.get("/login?request=" + id)
		rs = append(rs, readyLogin{b, url.Values{"request": {id}, "csrf": {csrf(t, page)}, "login": {"alice"}, "password": {"guess " + strconv.Itoa(i)}}})
	}
	count := postAtOnce(rs)
	if count[http.StatusUnauthorized] != 2 || count[http.StatusTooManyRequests] != n-2 {
		t.Errorf("responses %v: want 2 × 401, then 429 for the rest", count)
	}
	if got := len(e.events(model.EventLoginFailed)); got != 3 {
		t.Errorf("%d passwords checked (login.failed), want MaxFailures = 3", got)
	}
	if th := e.throttle("user:" + alice.ID); th.LockedUntil.IsZero() {
		t.Errorf("account not locked: %+v", th)
	}
}

// Issue 9, defect 6: only failures spend the budget. Correct sign-ins sent
// at once, from one address to one account — more than MaxFailures of
// them — all succeed: each holds a slot while its password is checked and
// gives it back, instead of being counted as a failure in advance.
func TestConcurrentCorrectSignInsAllSucceed(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", "correct horse battery", model.UserActive)
	const n = 20
	var rs []readyLogin
	for range n {
		b := e.browser()
		b.ip = "198.51.100.7"
		id := e.request(nil)
		_, page := b.get("/login?request=" + id)
		rs = append(rs, readyLogin{b, url.Values{"request": {id}, "csrf": {csrf(t, page)}, "login": {"alice"}, "password": {"correct horse battery"}}})
	}
	count := postAtOnce(rs)
	if count[http.StatusSeeOther] != n {
		t.Errorf("responses %v: want %d × 303, every correct sign-in accepted", count, n)
	}
	if got := len(e.events(model.EventLoginSucceeded)); got != n {
		t.Errorf("%d login.succeeded events, want %d", got, n)
	}
	for _, key := range []string{"user:" + alice.ID, login.IPKey("198.51.100.7")} {
		if th := e.throttle(key); th.Failures != 0 || !th.LockedUntil.IsZero() {
			t.Errorf("%s after correct sign-ins: %+v, want no failure and no lock", key, th)
		}
	}
}

// readyLogin is a sign-in form filled in (request, CSRF token, credentials)
// by its own browser, to be posted at the same moment as others.
type readyLogin struct {
	b    *browser
	form url.Values
}

// postAtOnce posts every form concurrently and counts the status codes.
func postAtOnce(rs []readyLogin) map[int]int {
	codes := make([]int, len(rs))
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Go(func() {
			resp, _ := r.b.post("/login", r.form)
			codes[i] = resp.StatusCode
		})
	}
	wg.Wait()
	count := map[int]int{}
	for _, c := range codes {
		count[c]++
	}
	return count
}
