package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/audit"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store"
)

// auditFault injects one failure into the real store: the next Append that
// carries an oauth.token_issued event runs fail instead of the plain Append.
// The database underneath is the real one (SQLite, or PostgreSQL when
// INTELLIAUTH_TEST_POSTGRES is set); only the moment of failure is chosen.
type auditFault struct {
	mu   sync.Mutex
	fail func(ctx context.Context, next store.Audit, events []model.AuditEvent) error
}

func (f *auditFault) arm(fail func(ctx context.Context, next store.Audit, events []model.AuditEvent) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fail
}

// take disarms and returns the fault if events hold a token_issued event.
func (f *auditFault) take(events []model.AuditEvent) func(context.Context, store.Audit, []model.AuditEvent) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range events {
		if e.Type == model.EventTokenIssued && f.fail != nil {
			fail := f.fail
			f.fail = nil
			return fail
		}
	}
	return nil
}

// faultyStore is the real store whose audit repository — auto-commit, and
// inside every transaction — goes through an auditFault.
type faultyStore struct {
	store.Store
	fault *auditFault
}

func (s faultyStore) Audit() store.Audit { return faultyAudit{s.Store.Audit(), s.fault} }

func (s faultyStore) InTx(ctx context.Context, fn func(store.Repos) error) error {
	return s.Store.InTx(ctx, func(r store.Repos) error { return fn(faultyRepos{r, s.fault}) })
}

type faultyRepos struct {
	store.Repos
	fault *auditFault
}

func (r faultyRepos) Audit() store.Audit { return faultyAudit{r.Repos.Audit(), r.fault} }

type faultyAudit struct {
	store.Audit
	fault *auditFault
}

func (a faultyAudit) Append(ctx context.Context, events []model.AuditEvent) error {
	if fail := a.fault.take(events); fail != nil {
		return fail(ctx, a.Audit, events)
	}
	return a.Audit.Append(ctx, events)
}

var errInjected = errors.New("injected audit failure")

// failAfterInsert writes the events, then fails: the latest point at which
// a transaction can still fail before its commit.
func failAfterInsert(ctx context.Context, next store.Audit, events []model.AuditEvent) error {
	if err := next.Append(ctx, events); err != nil {
		return err
	}
	return errInjected
}

// startFaultyOIDC is startOIDC over a faultyStore, with the audit log over
// it too, so the fault reaches the token_issued event whichever way it is
// written.
func startFaultyOIDC(t *testing.T) (*oidcEnv, *auditFault) {
	t.Helper()
	fault := &auditFault{}
	env := servertest.Start(t, func(o *server.Options) {
		st := faultyStore{o.Store, fault}
		o.Store = st
		// The server closes (flushes) its Audit on shutdown.
		o.Audit = audit.New(st.Audit(), nil, audit.Options{Now: o.Now})
	})
	b := env.Seed(t, "banking")
	people := env.SeedUsers(t, "banking")
	return &oidcEnv{env: env, b: b, people: people, iss: env.Issuer("banking")}, fault
}

// cancelAtAudit arms the fault so that the token_issued write waits for the
// client to hang up (the test cancels the request once started is closed),
// then goes on with the request's context as it is by then. Where the event
// is group-committed on the log's own context, it is written after a short
// wait as if nothing happened — the request itself has already failed.
func cancelAtAudit(fault *auditFault) (started, finished chan struct{}) {
	started, finished = make(chan struct{}), make(chan struct{})
	fault.arm(func(ctx context.Context, next store.Audit, events []model.AuditEvent) error {
		defer close(finished)
		close(started)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
		return next.Append(ctx, events)
	})
	return started, finished
}

// postCancelled posts form to the token endpoint and hangs up once started
// is closed. It reports whether a response arrived at all, and its status.
func postCancelled(t *testing.T, endpoint string, form url.Values, started, finished <-chan struct{}) (bool, int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		select {
		case <-started:
			cancel()
		case <-ctx.Done():
		}
	}()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := servertest.HTTPClient().Do(req)
	// Wait until the server is through with the request before the retry.
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		t.Fatal("the token_issued write never ran")
	}
	if err != nil {
		return false, 0
	}
	resp.Body.Close()
	return true, resp.StatusCode
}

// TestFailedTokenRequestLeavesCredentialUsable is defect 1 of issue 9: a
// token request that does not end in a 200 — its audit write failed, or the
// client hung up before the commit — must leave the refresh token or code
// it presented as it was, so that the client's retry is served and not
// taken for a replay that revokes the whole grant. The redemption or
// rotation commits in one transaction with its oauth.token_issued event.
func TestFailedTokenRequestLeavesCredentialUsable(t *testing.T) {
	o, fault := startFaultyOIDC(t)
	alice := servertest.NewBrowser(t)
	spa := o.spaConfig("openid", "offline_access", "read:transactions")
	endpoint := o.iss + "/oauth2/token"

	fresh := func(t *testing.T) url.Values {
		a := newAuthRequest(spa)
		code := o.codeFor(t, alice, a, o.people.Alice)
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {a.verifier},
			"client_id": {spa.ClientID}, "redirect_uri": {spa.RedirectURL}}
	}
	// refreshToken returns a live refresh token of a new family.
	refreshToken := func(t *testing.T) string {
		status, body := postForm(t, endpoint, fresh(t))
		rt, _ := body["refresh_token"].(string)
		if status != 200 || rt == "" {
			t.Fatalf("code exchange: %d %v", status, body)
		}
		return rt
	}
	refreshForm := func(rt string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {spa.ClientID}}
	}
	// noHarm checks what the failed request must not have done: no event
	// of a replay, nothing issued, and the retry works and leaves a
	// working refresh token (its family was not revoked).
	noHarm := func(t *testing.T, issuedBefore int, retry url.Values) {
		t.Helper()
		if n := countEvents(t, o, model.EventTokenIssued, spa.ClientID); n != issuedBefore {
			t.Errorf("the failed request left %d token_issued events", n-issuedBefore)
		}
		status, body := postForm(t, endpoint, retry)
		if status != 200 {
			t.Fatalf("retry with the same credential: %d %v, want 200", status, body)
		}
		for _, typ := range []string{model.EventRefreshTokenReused, model.EventCodeReplayed} {
			if n := countEvents(t, o, typ, ""); n != 0 {
				t.Errorf("the retry was taken for a replay: %d %s events", n, typ)
			}
		}
		rt, _ := body["refresh_token"].(string)
		if status, body := postForm(t, endpoint, refreshForm(rt)); status != 200 {
			t.Errorf("the refresh token of the retry does not work (family revoked?): %d %v", status, body)
		}
	}

	t.Run("RFC 6749 §6 refresh whose token_issued insert fails → not 200, and the same refresh token works on the retry", func(t *testing.T) {
		rt := refreshToken(t)
		before := countEvents(t, o, model.EventTokenIssued, spa.ClientID)
		fault.arm(failAfterInsert)
		if status, body := postForm(t, endpoint, refreshForm(rt)); status == 200 {
			t.Fatalf("refresh with a failing audit write: %d %v, want an error", status, body)
		}
		noHarm(t, before, refreshForm(rt))
	})

	t.Run("RFC 6749 §6 refresh cancelled by the client before the commit → the same refresh token works on the retry", func(t *testing.T) {
		rt := refreshToken(t)
		before := countEvents(t, o, model.EventTokenIssued, spa.ClientID)
		started, finished := cancelAtAudit(fault)
		if got, status := postCancelled(t, endpoint, refreshForm(rt), started, finished); got && status == 200 {
			t.Fatal("the cancelled refresh got a 200")
		}
		noHarm(t, before, refreshForm(rt))
	})

	t.Run("RFC 6749 §4.1.2 code exchange whose token_issued insert fails → not 200, and the same code works on the retry (§10.5)", func(t *testing.T) {
		form := fresh(t)
		before := countEvents(t, o, model.EventTokenIssued, spa.ClientID)
		fault.arm(failAfterInsert)
		if status, body := postForm(t, endpoint, form); status == 200 {
			t.Fatalf("exchange with a failing audit write: %d %v, want an error", status, body)
		}
		noHarm(t, before, form)
	})

	t.Run("RFC 6749 §4.1.2 code exchange cancelled by the client before the commit → the same code works on the retry (§10.5)", func(t *testing.T) {
		form := fresh(t)
		before := countEvents(t, o, model.EventTokenIssued, spa.ClientID)
		started, finished := cancelAtAudit(fault)
		if got, status := postCancelled(t, endpoint, form, started, finished); got && status == 200 {
			t.Fatal("the cancelled exchange got a 200")
		}
		noHarm(t, before, form)
	})
}
