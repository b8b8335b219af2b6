package server_test

import (
	"net/url"
	"sync"
	"testing"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// TestSingleUseUnderContention: a code, and a refresh token, presented by
// several requests at once are honoured exactly once (RFC 6749 §4.1.2,
// RFC 9700 §4.14.2), whichever node's request wins.
func TestSingleUseUnderContention(t *testing.T) {
	o := startOIDC(t)
	ctx := o.ctx(t)
	br := servertest.NewBrowser(t)
	const n = 8

	race := func(f func() (int, map[string]any)) (ok int, refused int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, body := f()
				mu.Lock()
				defer mu.Unlock()
				switch {
				case status == 200 && body["access_token"] != nil:
					ok++
				case status == 400 && body["error"] == "invalid_grant":
					refused++
				default:
					t.Errorf("unexpected answer %d %v", status, body)
				}
			}()
		}
		wg.Wait()
		return ok, refused
	}

	t.Run("RFC 6749 §4.1.2 one code, concurrent exchanges: one token", func(t *testing.T) {
		a := newAuthRequest(o.spaConfig("openid", "offline_access"))
		code := o.codeFor(t, br, a, o.people.Alice)
		before := countEvents(t, o, model.EventTokenIssued, "banking-spa")
		ok, refused := race(func() (int, map[string]any) {
			return postForm(t, o.iss+"/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"code_verifier": {a.verifier}, "client_id": {"banking-spa"}, "redirect_uri": {servertest.SPARedirectURI}})
		})
		if ok != 1 || refused != n-1 {
			t.Errorf("%d successes, %d refusals; want 1 and %d", ok, refused, n-1)
		}
		if after := countEvents(t, o, model.EventTokenIssued, "banking-spa"); after-before != 1 {
			t.Errorf("%d token_issued events, want 1", after-before)
		}
	})
	t.Run("RFC 9700 §4.14.2 one refresh token, concurrent refreshes: one token", func(t *testing.T) {
		a := newAuthRequest(o.spaConfig("openid", "offline_access"))
		tok := a.exchange(t, ctx, o.codeFor(t, br, a, o.people.Alice))
		ok, refused := race(func() (int, map[string]any) {
			return refreshRaw(t, o, "banking-spa", "", tok.RefreshToken)
		})
		if ok != 1 || refused != n-1 {
			t.Errorf("%d successes, %d refusals; want 1 and %d", ok, refused, n-1)
		}
	})
}
