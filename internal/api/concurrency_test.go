package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
)

// patchResult is one concurrent PATCH's outcome (no t.Fatal off the test
// goroutine).
type patchResult struct {
	status int
	body   []byte
	err    error
}

// rawPatch sends a PATCH through the validating client without failing
// the test from a goroutine.
func (e *env) rawPatch(t *testing.T, path, token, ifMatch string, body any) patchResult {
	return e.rawRequest(t, "PATCH", path, token, ifMatch, body)
}

// rawRequest is rawPatch for any method; a nil body sends none.
func (e *env) rawRequest(t *testing.T, method, path, token, ifMatch string, body any) patchResult {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return patchResult{err: err}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, e.Issuer+"/api/v1"+path, rd)
	if err != nil {
		return patchResult{err: err}
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("If-Match", ifMatch)
	resp, err := e.HTTP.Do(req)
	if err != nil {
		return patchResult{err: err}
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	return patchResult{status: resp.StatusCode, body: rb, err: err}
}

// TestConcurrentAllowlistEditsRFC9110IfMatch412: two admins read the same
// ETag of an allowlist and both PATCH with it at once. RFC 9110 §13.1.1 /
// §15.5.13: exactly one succeeds, the other gets 412 and nothing of it is
// written; the winner's change is kept, and the loser re-reads and
// re-applies, so nothing is lost.
func TestConcurrentAllowlistEditsRFC9110IfMatch412(t *testing.T) {
	e := newEnv(t)
	second := e.platformClient(t, e.Tenant, "platform-admin-2")
	// The pairs add platform scopes: the caller must carry them itself.
	granted := []string{"applications:write", "users:read", "groups:read", "roles:read", "audit:read"}
	tokA := e.token(t, granted...)
	tokB := e.clientToken(t, e.Issuer, second, e.PlatformAudience, granted...)
	path := "/applications/legacy-batch/allowed-scopes"
	pairs := [][2]string{{"write:settings", "payments:approve"}, {"users:read", "groups:read"}, {"roles:read", "audit:read"}}
	for round, pair := range pairs {
		get := e.call(t, "GET", path, tokA, nil).want(t, 200)
		tag := get.Header.Get("ETag")
		var res [2]patchResult
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, tok := range []string{tokA, tokB} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				res[i] = e.rawPatch(t, path, tok, tag, map[string]any{"add": []string{pair[i]}})
			}()
		}
		close(start)
		wg.Wait()
		for _, r := range res {
			if r.err != nil {
				t.Fatal(r.err)
			}
		}
		statuses := []int{res[0].status, res[1].status}
		slices.Sort(statuses)
		if !slices.Equal(statuses, []int{200, 412}) {
			t.Fatalf("round %d: statuses %v, want exactly one 200 and one 412\n%s\n%s", round, statuses, res[0].body, res[1].body)
		}
		winner, loser := 0, 1
		if res[1].status == 200 {
			winner, loser = 1, 0
		}
		var p problemDoc
		if err := json.Unmarshal(res[loser].body, &p); err != nil || p.Error != "precondition_failed" {
			t.Errorf("round %d: loser's problem %s", round, res[loser].body)
		}
		var al allowlist
		e.call(t, "GET", path, tokA, nil).want(t, 200).decode(t, &al)
		if !slices.Contains(al.AllowedScopes, pair[winner]) || slices.Contains(al.AllowedScopes, pair[loser]) {
			t.Fatalf("round %d: after the race %v, want %s in and %s not", round, al.AllowedScopes, pair[winner], pair[loser])
		}
		// The loser re-reads and re-applies: nothing is lost.
		get = e.call(t, "GET", path, tokA, nil).want(t, 200)
		loserTok := []string{tokA, tokB}[loser]
		e.call(t, "PATCH", path, loserTok, map[string]any{"add": []string{pair[loser]}}, "If-Match", get.Header.Get("ETag")).want(t, 200).decode(t, &al)
		if !slices.Contains(al.AllowedScopes, pair[0]) || !slices.Contains(al.AllowedScopes, pair[1]) {
			t.Fatalf("round %d: after the retry %v, want both %v", round, al.AllowedScopes, pair)
		}
	}
}

// TestConcurrentAllowlistEditsIfMatchStar: with If-Match: * (no
// precondition) concurrent add/remove PATCHes all apply, none is lost.
func TestConcurrentAllowlistEditsIfMatchStar(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, "applications:write", "users:read", "groups:read")
	path := "/applications/legacy-batch/allowed-scopes"
	add := []string{"write:settings", "payments:approve", "users:read", "groups:read"}
	var wg sync.WaitGroup
	res := make([]patchResult, len(add))
	for i, s := range add {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = e.rawPatch(t, path, tok, "*", map[string]any{"add": []string{s}})
		}()
	}
	wg.Wait()
	for i, r := range res {
		if r.err != nil || r.status != 200 {
			t.Errorf("PATCH add %s: %d %s %v", add[i], r.status, r.body, r.err)
		}
	}
	var al allowlist
	e.call(t, "GET", path, tok, nil).want(t, 200).decode(t, &al)
	for _, s := range append(add, "read:transactions") {
		if !slices.Contains(al.AllowedScopes, s) {
			t.Errorf("%s lost: %v", s, al.AllowedScopes)
		}
	}
}
