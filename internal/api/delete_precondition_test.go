package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
)

// deletableRoute is one versioned resource with a DELETE route.
type deletableRoute struct {
	kind    string
	path    string // the resource, relative to /api/v1
	event   string // the audit event of its delete
	create  func(t *testing.T, e *env, tok string)
	patch   map[string]any
	deleted int // the DELETE's success status
}

func deletableRoutes() []deletableRoute {
	post := func(path string, body map[string]any) func(t *testing.T, e *env, tok string) {
		return func(t *testing.T, e *env, tok string) {
			t.Helper()
			e.call(t, "POST", path, tok, body).want(t, http.StatusCreated)
		}
	}
	return []deletableRoute{
		{kind: "scope", path: "/scopes/loans:read", event: "scope.deleted", deleted: 200,
			create: post("/scopes", map[string]any{"name": "loans:read", "description": "Read your loans.", "api": "api.banking.example.com"}),
			patch:  map[string]any{"display_name": "Loans"}},
		{kind: "API", path: "/apis/api.loans.example.com", event: "api.deleted", deleted: 204,
			create: post("/apis", map[string]any{"identifier": "api.loans.example.com", "name": "Loans"}),
			patch:  map[string]any{"name": "Loans API"}},
		{kind: "application", path: "/applications/nightly", event: "application.deleted", deleted: 204,
			create: post("/applications", map[string]any{"client_id": "nightly", "type": "m2m"}),
			patch:  map[string]any{"name": "Nightly"}},
		{kind: "user", path: "/users/frank", event: "user.deleted", deleted: 204,
			create: post("/users", map[string]any{"username": "frank", "password": "frank's long passphrase"}),
			patch:  map[string]any{"name": "Frank"}},
		{kind: "role", path: "/roles/loans-officer", event: "role.deleted", deleted: 204,
			create: post("/roles", map[string]any{"name": "loans-officer", "description": "Handles loans."}),
			patch:  map[string]any{"description": "Handles every loan."}},
		{kind: "group", path: "/groups/loans-desk", event: "group.deleted", deleted: 204,
			create: post("/groups", map[string]any{"name": "loans-desk", "description": "The loans desk."}),
			patch:  map[string]any{"description": "The whole loans desk."}},
	}
}

// adminToken carries every scope the delete-precondition tests use.
func (e *env) adminToken(t *testing.T) string {
	return e.token(t, "scopes:read", "scopes:write", "applications:read", "applications:write", "users:read", "users:write",
		"roles:read", "roles:write", "groups:read", "groups:write", "audit:read")
}

// countEvents counts the tenant's audit events of type typ.
func (e *env) countEvents(t *testing.T, tok, typ string) int {
	t.Helper()
	var p auditPage
	e.call(t, "GET", "/audit?limit=500&type="+url.QueryEscape(typ), tok, nil).want(t, 200).decode(t, &p)
	return len(p.Items)
}

// TestDeleteIfMatchRFC9110: DELETE takes an optional If-Match (RFC 9110
// §13.1.1), checked in the delete's own transaction. A stale one is 412
// (§15.5.13) with the resource kept and no event; the current ETag, *, or
// no If-Match at all delete.
func TestDeleteIfMatchRFC9110(t *testing.T) {
	e := newEnv(t)
	tok := e.adminToken(t)
	for _, rt := range deletableRoutes() {
		t.Run(rt.kind, func(t *testing.T) {
			for _, how := range []string{"current", "*", "absent"} {
				rt.create(t, e, tok)
				stale := e.call(t, "GET", rt.path, tok, nil).want(t, 200).Header.Get("ETag")
				cur := e.call(t, "PATCH", rt.path, tok, rt.patch, "If-Match", stale).want(t, 200).Header.Get("ETag")
				n := e.countEvents(t, tok, rt.event)
				p := e.call(t, "DELETE", rt.path, tok, nil, "If-Match", stale).want(t, http.StatusPreconditionFailed).problem(t)
				if p.Error != "precondition_failed" {
					t.Errorf("412 error = %q", p.Error)
				}
				if got := e.call(t, "GET", rt.path, tok, nil).want(t, 200).Header.Get("ETag"); got != cur {
					t.Fatalf("after a stale DELETE the ETag is %s, want %s unchanged", got, cur)
				}
				if m := e.countEvents(t, tok, rt.event); m != n {
					t.Fatalf("a stale DELETE wrote %d %s events", m-n, rt.event)
				}
				switch how {
				case "current":
					e.call(t, "DELETE", rt.path, tok, nil, "If-Match", cur).want(t, rt.deleted)
				case "*":
					e.call(t, "DELETE", rt.path, tok, nil, "If-Match", "*").want(t, rt.deleted)
				default:
					e.call(t, "DELETE", rt.path, tok, nil).want(t, rt.deleted)
				}
				e.call(t, "GET", rt.path, tok, nil).want(t, http.StatusNotFound)
				if m := e.countEvents(t, tok, rt.event); m != n+1 {
					t.Fatalf("DELETE (If-Match %s) wrote %d %s events, want 1", how, m-n, rt.event)
				}
				e.call(t, "DELETE", rt.path, tok, nil, "If-Match", cur).want(t, http.StatusNotFound)
			}
		})
	}
}

// TestRenameScopeIfMatch: POST /scopes/{name}/rename takes the optional
// If-Match the same way as DELETE.
func TestRenameScopeIfMatch(t *testing.T) {
	e := newEnv(t)
	tok := e.adminToken(t)
	e.call(t, "POST", "/scopes", tok, map[string]any{"name": "loans:read", "description": "Read your loans.", "api": "api.banking.example.com"}).want(t, 201)
	stale := e.call(t, "GET", "/scopes/loans:read", tok, nil).want(t, 200).Header.Get("ETag")
	cur := e.call(t, "PATCH", "/scopes/loans:read", tok, map[string]any{"display_name": "Loans"}, "If-Match", stale).want(t, 200).Header.Get("ETag")
	n := e.countEvents(t, tok, "scope.renamed")
	e.call(t, "POST", "/scopes/loans:read/rename", tok, map[string]any{"new_name": "loans:view"}, "If-Match", stale).want(t, http.StatusPreconditionFailed)
	e.call(t, "GET", "/scopes/loans:view", tok, nil).want(t, http.StatusNotFound)
	if e.countEvents(t, tok, "scope.renamed") != n {
		t.Fatal("a stale rename wrote an event")
	}
	e.call(t, "POST", "/scopes/loans:read/rename", tok, map[string]any{"new_name": "loans:view"}, "If-Match", cur).want(t, 200)
	e.call(t, "POST", "/scopes/loans:view/rename", tok, map[string]any{"new_name": "loans:see"}, "If-Match", "*").want(t, 200)
	e.call(t, "POST", "/scopes/loans:see/rename", tok, map[string]any{"new_name": "loans:list"}).want(t, 200)
	e.call(t, "POST", "/scopes/loans:list/rename", tok, map[string]any{"new_name": "loans:x"}, "If-Match", cur).want(t, http.StatusPreconditionFailed)
}

// TestConcurrentUpdateAndDeleteRFC9110IfMatch: one admin PATCHes a
// resource while another DELETEs it, both with the ETag they read. Exactly
// one wins; the loser gets 412 (the delete, after the update) or 404 (the
// update, after the delete) — an update is never silently deleted away.
func TestConcurrentUpdateAndDeleteRFC9110IfMatch(t *testing.T) {
	e := newEnv(t)
	second := e.platformClient(t, e.Tenant, "platform-admin-2")
	tokA := e.adminToken(t)
	tokB := e.clientToken(t, e.Issuer, second, e.PlatformAudience, "scopes:read", "scopes:write", "applications:read", "applications:write")
	for _, rt := range deletableRoutes() {
		if rt.kind != "scope" && rt.kind != "application" {
			continue // the others share the mechanism; tokB may touch these two
		}
		t.Run(rt.kind, func(t *testing.T) {
			wins := map[string]int{}
			defer func() { t.Logf("winners: %v", wins) }()
			for round := range 15 {
				rt.create(t, e, tokA)
				tag := e.call(t, "GET", rt.path, tokA, nil).want(t, 200).Header.Get("ETag")
				var upd, del patchResult
				start := make(chan struct{})
				var wg sync.WaitGroup
				wg.Go(func() {
					<-start
					upd = e.rawRequest(t, "PATCH", rt.path, tokA, tag, rt.patch)
				})
				wg.Go(func() {
					<-start
					del = e.rawRequest(t, "DELETE", rt.path, tokB, tag, nil)
				})
				close(start)
				wg.Wait()
				if upd.err != nil || del.err != nil {
					t.Fatal(upd.err, del.err)
				}
				after := e.call(t, "GET", rt.path, tokA, nil)
				switch {
				case upd.status == 200 && del.status == http.StatusPreconditionFailed:
					wins["PATCH"]++
					after.want(t, 200)
					var p problemDoc
					if err := json.Unmarshal(del.body, &p); err != nil || p.Error != "precondition_failed" {
						t.Fatalf("round %d: the losing DELETE answered %s", round, del.body)
					}
					// The loser re-reads and decides again: nothing is lost.
					e.call(t, "DELETE", rt.path, tokB, nil, "If-Match", after.Header.Get("ETag")).want(t, rt.deleted)
				case del.status == rt.deleted && slices.Contains([]int{http.StatusNotFound, http.StatusPreconditionFailed}, upd.status):
					wins["DELETE"]++
					after.want(t, http.StatusNotFound)
				default:
					t.Fatalf("round %d: PATCH %d %s, DELETE %d %s: want exactly one to win", round, upd.status, upd.body, del.status, del.body)
				}
			}
		})
	}
}

// TestUnconditionalWritesRetryRFC9110: with If-Match: * (or none) the
// client asked for "whatever is stored now", so an update landing between
// the server's read and its write must not turn into a 412 (RFC 9110
// §13.1.1 has no precondition to fail): admin runs the change again on the
// new state. Two concurrent updates can beat a DELETE at most twice, so the
// DELETE always succeeds within its attempts; on PostgreSQL the race is
// real, on SQLite writes are serialised anyway.
func TestUnconditionalWritesRetryRFC9110(t *testing.T) {
	e := newEnv(t)
	tok := e.adminToken(t)
	for _, rt := range deletableRoutes() {
		t.Run(rt.kind, func(t *testing.T) {
			for round := range 10 {
				rt.create(t, e, tok)
				var results [3]patchResult
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := range results {
					wg.Go(func() {
						<-start
						if i == 0 {
							results[i] = e.rawRequest(t, "DELETE", rt.path, tok, "*", nil)
							return
						}
						results[i] = e.rawRequest(t, "PATCH", rt.path, tok, "*", rt.patch)
					})
				}
				close(start)
				wg.Wait()
				for i, r := range results {
					if r.err != nil {
						t.Fatal(r.err)
					}
					// An update may find the resource gone (404), never 412.
					if r.status == http.StatusPreconditionFailed {
						t.Fatalf("round %d: request %d without a precondition answered 412: %s", round, i, r.body)
					}
				}
				if results[0].status != rt.deleted {
					t.Fatalf("round %d: DELETE answered %d %s", round, results[0].status, results[0].body)
				}
				e.call(t, "GET", rt.path, tok, nil).want(t, http.StatusNotFound)
			}
		})
	}
}
