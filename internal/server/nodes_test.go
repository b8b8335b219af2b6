package server_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/password"
	"github.com/intelliauth/intelliauth/internal/server"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/store/postgres"
	"github.com/intelliauth/intelliauth/internal/store/sqlstore"
	"github.com/intelliauth/intelliauth/internal/token"
)

// cluster is several in-process nodes, each with its own store handle
// (pool, change feed, lease) and catalog, on one PostgreSQL schema.
type cluster struct {
	nodes []*servertest.Env
	dbs   []*sqlstore.DB
	// cli is a store handle with no server, as `intelliauth keys rotate`
	// opens one.
	cli *admin.Service
	dsn string
}

// startCluster starts n nodes on a fresh schema of the test PostgreSQL, or
// skips when none is configured.
func startCluster(t testing.TB, n int) *cluster {
	t.Helper()
	base := os.Getenv(servertest.PostgresEnv)
	if base == "" {
		t.Skip("several nodes share PostgreSQL: set " + servertest.PostgresEnv)
	}
	ctx := context.Background()
	dsn := servertest.PostgresSchema(t, base)
	open := func() *sqlstore.DB {
		db, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealer, err := token.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{dsn: dsn}
	for i := range n {
		db := open()
		if i == 0 {
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
		}
		c.dbs = append(c.dbs, db)
		var st store.Store = db
		if i > 0 {
			// The other nodes are slow to apply a change (a busy CPU, a
			// pause): only the writer's settling, not luck, can keep
			// them from answering with what was removed.
			st = slowNode{db}
		}
		c.nodes = append(c.nodes, servertest.StartOn(t, st, func(o *server.Options) {
			o.Sealer = sealer
			// Refused probes each recheck the revision; the default
			// interval would make the trials slow, not the check weaker.
			o.RecheckInterval = time.Millisecond
		}))
	}
	c.cli = &admin.Service{Store: open(), Sealer: sealer, Now: time.Now}
	return c
}

// applyDelay is how long a slow node takes to apply a change.
const applyDelay = 3 * time.Millisecond

// slowNode is a node's store whose change feed applies each change
// applyDelay late; the store's own settling is untouched.
type slowNode struct{ store.Store }

func (s slowNode) Cluster() store.Cluster { return slowFeed{s.Store.Cluster()} }

type slowFeed struct{ store.Cluster }

func (f slowFeed) Follow(ctx context.Context, apply func(string), warn func(error)) error {
	return f.Cluster.Follow(ctx, func(id string) {
		time.Sleep(applyDelay)
		apply(id)
	}, warn)
}

// waitCurrent waits until every node follows the change feed.
func (c *cluster) waitCurrent(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, db := range c.dbs {
		for !db.Cluster().Current() {
			if time.Now().After(deadline) {
				t.Fatal("a node did not join the change feed within 10s")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// nodeTrials is how many trials each removal kind runs: 200 by default,
// fewer under -short or the race detector (CI's race run must stay
// quick), INTELLIAUTH_TEST_NODE_TRIALS when set.
func nodeTrials(t *testing.T) int {
	if v := os.Getenv("INTELLIAUTH_TEST_NODE_TRIALS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("INTELLIAUTH_TEST_NODE_TRIALS=%q: want a positive number", v)
		}
		return n
	}
	switch {
	case raceEnabled:
		return 4
	case testing.Short():
		return 20
	}
	return 200
}

// grant is one probe's answer.
type grant struct {
	status int
	scope  string
	token  string
	err    error
}

// ccGrant asks node url for a client_credentials token.
func ccGrant(ctx context.Context, issuer string, cl servertest.Client, scope string) grant {
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	return postGrant(ctx, issuer, form, &cl)
}

func postGrant(ctx context.Context, issuer string, form url.Values, basic *servertest.Client) grant {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, issuer+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return grant{err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic != nil {
		req.SetBasicAuth(url.QueryEscape(basic.ID), url.QueryEscape(basic.Secret))
	}
	resp, err := servertest.HTTPClient().Do(req)
	if err != nil {
		return grant{err: err}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body struct {
		Scope       string `json:"scope"`
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(raw, &body)
	return grant{status: resp.StatusCode, scope: body.Scope, token: body.AccessToken}
}

// kidOf reads the kid of a JWT's header.
func kidOf(raw string) string {
	h, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return ""
	}
	var hdr struct {
		KID string `json:"kid"`
	}
	_ = json.Unmarshal(b, &hdr)
	return hdr.KID
}

func hasScope(scopes, s string) bool {
	for _, x := range strings.Fields(scopes) {
		if x == s {
			return true
		}
	}
	return false
}

// removal is one kind of security-relevant removal: prepare sets up what
// the trial removes (and returns its state), remove makes the removal on
// node A (or through the CLI's store), and stale reports whether a probe
// at another node was granted what was removed.
type removal struct {
	name    string
	prepare func(t *testing.T, i int) any
	remove  func(t *testing.T, st any) any
	probe   func(ctx context.Context, issuer string, st any) grant
	stale   func(g grant, st any) bool
	// skipBefore: the probe is not sent before the removal, because it
	// uses up what it is granted (a refresh token) or its staleness is
	// defined by the removal (which key is current).
	skipBefore bool
}

// warm makes every node but the first cache the tenant as it is before
// the removal — a node that had nothing cached would prove nothing — and,
// unless the probe consumes what it is granted, checks that the probe is
// granted before the removal, so that it can see a stale grant at all.
func (c *cluster) warm(ctx context.Context, r removal, st any) error {
	for n, env := range c.nodes[1:] {
		iss := env.Issuer("banking")
		if r.skipBefore {
			g := postGrant(ctx, iss, url.Values{"grant_type": {"client_credentials"}}, &servertest.Client{ID: "warm", Secret: "warm"})
			if g.err != nil {
				return g.err
			}
			continue
		}
		g := r.probe(ctx, iss, st)
		if g.err != nil {
			return g.err
		}
		if !r.stale(g, st) {
			return fmt.Errorf("node %c refused the probe before the removal (%d %q): the probe cannot see a stale grant", 'B'+n, g.status, g.scope)
		}
	}
	return nil
}

// hammer sends probes at every node but the first, in a tight loop, right
// after the removal returned, and returns the stale answers and errors.
func (c *cluster) hammer(ctx context.Context, r removal, st any, probes int) (stale []string, errs []error) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for n, env := range c.nodes[1:] {
		wg.Go(func() {
			iss := env.Issuer("banking")
			for k := range probes {
				g := r.probe(ctx, iss, st)
				mu.Lock()
				if g.err != nil {
					errs = append(errs, g.err)
				} else if r.stale(g, st) {
					stale = append(stale, fmt.Sprintf("node %c, probe %d: %d %q", 'B'+n, k, g.status, g.scope))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return stale, errs
}

// Issue 12, PRODUCT.md §2 and §7: a removal made on one node is effective
// on every node as soon as the write has returned — by construction (the
// writer settles: every node holding a lease has applied the change, or
// its lease has lapsed and it checks the database per request), so no
// probe, however soon, is granted what was removed.
func TestRemovalIsEffectiveAtOnce(t *testing.T) {
	c := startCluster(t, 3)
	a := c.nodes[0]
	b := a.Seed(t, "banking")
	people := a.SeedUsers(t, "banking")
	c.waitCurrent(t)
	ctx := t.Context()
	actor := admin.CLI()
	adm := a.Admin
	trials := nodeTrials(t)
	const probes = 4

	o := &oidcEnv{env: a, b: b, people: people, iss: a.Issuer("banking")}
	// legacy is the legacy batch with its current secret: the secret
	// rotation kind replaces it (before its probes start).
	legacy := b.Legacy
	// Every trial's user has one password, hashed once.
	const pw = "correct horse battery"
	hash, err := password.Hash(pw)
	must(t, err)

	removals := []removal{
		{
			name: "scope removed from an allowlist",
			prepare: func(t *testing.T, i int) any {
				_, err := adm.AddAllowedScopes(ctx, actor, "banking", b.Reporting.ID, []string{"read:transactions"}, 0)
				must(t, err)
				return nil
			},
			remove: func(t *testing.T, st any) any {
				_, err := adm.RemoveAllowedScopes(ctx, actor, "banking", b.Reporting.ID, []string{"read:transactions"}, 0)
				must(t, err)
				return nil
			},
			probe: func(ctx context.Context, iss string, _ any) grant {
				return ccGrant(ctx, iss, b.Reporting, "read:transactions")
			},
			stale: func(g grant, _ any) bool { return g.status == 200 && hasScope(g.scope, "read:transactions") },
		},
		{
			name: "secret rotated with grace 0",
			prepare: func(t *testing.T, i int) any {
				r, err := adm.RotateSecret(ctx, actor, "banking", b.Legacy.ID, 0)
				must(t, err)
				legacy.Secret = r.Secret
				return legacy
			},
			remove: func(t *testing.T, st any) any {
				r, err := adm.RotateSecret(ctx, actor, "banking", b.Legacy.ID, 0)
				must(t, err)
				legacy.Secret = r.Secret
				return st // the probe uses the secret just replaced
			},
			probe: func(ctx context.Context, iss string, st any) grant {
				return ccGrant(ctx, iss, st.(servertest.Client), "read:transactions")
			},
			stale: func(g grant, _ any) bool { return g.status == 200 },
		},
		{
			name: "custom scope deleted",
			prepare: func(t *testing.T, i int) any {
				name := fmt.Sprintf("tmp:s%d", i)
				_, err := adm.CreateScope(ctx, actor, "banking", admin.ScopeInput{Name: name, Description: "Temporary.", API: b.Bank.Identifier})
				must(t, err)
				_, err = adm.AddAllowedScopes(ctx, actor, "banking", b.Legacy.ID, []string{name}, 0)
				must(t, err)
				return name
			},
			remove: func(t *testing.T, st any) any {
				_, err := adm.DeleteScope(ctx, actor, "banking", st.(string), 0)
				must(t, err)
				return st
			},
			probe: func(ctx context.Context, iss string, st any) grant {
				return ccGrant(ctx, iss, legacy, st.(string))
			},
			stale: func(g grant, st any) bool { return g.status == 200 && hasScope(g.scope, st.(string)) },
		},
		{
			name: "application deleted",
			prepare: func(t *testing.T, i int) any {
				app, err := adm.CreateApplication(ctx, actor, "banking", admin.ApplicationInput{
					ClientID: fmt.Sprintf("gone-%d", i), Name: "Doomed", Type: model.AppM2M,
					AllowedScopes: []string{"read:transactions"}, ScopePolicy: model.PolicyStrict,
				})
				must(t, err)
				return servertest.Client{ID: app.Application.ClientID, Secret: app.Secret}
			},
			remove: func(t *testing.T, st any) any {
				must(t, adm.DeleteApplication(ctx, actor, "banking", st.(servertest.Client).ID, 0))
				return st
			},
			probe: func(ctx context.Context, iss string, st any) grant {
				return ccGrant(ctx, iss, st.(servertest.Client), "read:transactions")
			},
			stale: func(g grant, _ any) bool { return g.status == 200 },
		},
		{
			name:       "keys rotate from the CLI",
			skipBefore: true,
			prepare:    func(t *testing.T, i int) any { return nil },
			remove: func(t *testing.T, _ any) any {
				keys, err := c.cli.RotateKeys(ctx, actor, "banking")
				must(t, err)
				current := map[string]bool{}
				for _, k := range keys {
					if k.State == string(model.KeyCurrent) {
						current[k.KID] = true
					}
				}
				return current
			},
			probe: func(ctx context.Context, iss string, _ any) grant {
				return ccGrant(ctx, iss, legacy, "read:transactions")
			},
			// A token signed by a key no longer current is stale.
			stale: func(g grant, st any) bool { return g.status == 200 && !st.(map[string]bool)[kidOf(g.token)] },
		},
		{
			name: "user disabled",
			prepare: func(t *testing.T, i int) any {
				u := a.CreateUser(t, "banking", model.User{Username: fmt.Sprintf("dis%d", i), PasswordHash: hash}, pw, "user")
				return userRefresh(t, o, u)
			},
			remove: func(t *testing.T, st any) any {
				_, err := adm.DisableUser(ctx, actor, "banking", st.(userToken).user.ID)
				must(t, err)
				return st
			},
			probe:      refreshProbe(o),
			stale:      func(g grant, _ any) bool { return g.status == 200 },
			skipBefore: true,
		},
		{
			name: "user deleted",
			prepare: func(t *testing.T, i int) any {
				u := a.CreateUser(t, "banking", model.User{Username: fmt.Sprintf("del%d", i), PasswordHash: hash}, pw, "user")
				return userRefresh(t, o, u)
			},
			remove: func(t *testing.T, st any) any {
				must(t, adm.DeleteUser(ctx, actor, "banking", st.(userToken).user.ID, 0))
				return st
			},
			probe:      refreshProbe(o),
			stale:      func(g grant, _ any) bool { return g.status == 200 },
			skipBefore: true,
		},
	}
	for _, r := range removals {
		t.Run(r.name, func(t *testing.T) {
			var stale []string
			var writes, hammers []time.Duration
			for i := range trials {
				st := r.prepare(t, i)
				if err := c.warm(ctx, r, st); err != nil {
					t.Fatalf("trial %d: %v", i, err)
				}
				t0 := time.Now()
				st = r.remove(t, st)
				t1 := time.Now()
				s, errs := c.hammer(ctx, r, st, probes)
				writes, hammers = append(writes, t1.Sub(t0)), append(hammers, time.Since(t1))
				if len(errs) > 0 {
					t.Fatalf("trial %d: probe failed: %v", i, errs[0])
				}
				for _, x := range s {
					stale = append(stale, fmt.Sprintf("trial %d, %s", i, x))
				}
			}
			t.Logf("%d trials: removal p50 %s, probes p50 %s", trials, median(writes), median(hammers))
			if len(stale) > 0 {
				t.Fatalf("%d stale grants after the write returned (%d trials × %d probes at 2 nodes), first: %v",
					len(stale), trials, probes, stale[:min(5, len(stale))])
			}
		})
	}
}

// userToken is a user's live refresh token at the SPA.
type userToken struct {
	user    servertest.User
	refresh string
}

func userRefresh(t *testing.T, o *oidcEnv, u servertest.User) userToken {
	t.Helper()
	return userRefreshIn(t, o, servertest.NewBrowser(t), u)
}

// userRefreshIn is userRefresh in a browser that may already be signed in
// as u (then it costs no password check).
func userRefreshIn(t *testing.T, o *oidcEnv, br *servertest.Browser, u servertest.User) userToken {
	t.Helper()
	spa := o.spaConfig("openid", "offline_access", "read:transactions")
	a := newAuthRequest(spa)
	code := o.codeFor(t, br, a, u)
	status, body := postForm(t, o.iss+"/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"code_verifier": {a.verifier}, "client_id": {spa.ClientID}, "redirect_uri": {spa.RedirectURL}})
	rt, _ := body["refresh_token"].(string)
	if status != 200 || rt == "" {
		t.Fatalf("code exchange: %d %v", status, body)
	}
	return userToken{user: u, refresh: rt}
}

// refreshProbe redeems the user's refresh token at a node.
func refreshProbe(o *oidcEnv) func(ctx context.Context, iss string, st any) grant {
	return func(ctx context.Context, iss string, st any) grant {
		return postGrant(ctx, iss, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {st.(userToken).refresh},
			"client_id": {o.people.SPA.ID}}, nil)
	}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// Issue 12: a node whose change feed is cut (its LISTEN connection
// terminated by the database, again and again) keeps answering correctly —
// it is not Current, so it checks the tenant's revision per request — and
// catches up when the feed is back.
func TestNodeWithoutItsFeedFallsBackAndCatchesUp(t *testing.T) {
	c := startCluster(t, 2)
	a, b := c.nodes[0], c.nodes[1]
	seed := a.Seed(t, "banking")
	c.waitCurrent(t)
	ctx := t.Context()
	feed, ok := c.dbs[1].Cluster().(*postgres.Cluster)
	if !ok {
		t.Fatalf("node B's cluster is %T, want *postgres.Cluster", c.dbs[1].Cluster())
	}
	kill, err := sql.Open("pgx", c.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer kill.Close()
	cut := func() {
		if pid := feed.ListenerPID(); pid != 0 {
			_, _ = kill.ExecContext(ctx, `SELECT pg_terminate_backend($1)`, int(pid))
		}
	}

	// Cut the feed, and keep cutting it whenever the node reconnects.
	stop := make(chan struct{})
	cutting := make(chan struct{})
	go func() {
		defer close(cutting)
		for {
			cut()
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for feed.Current() {
		if time.Now().After(deadline) {
			t.Fatal("node B is still Current 5s after its feed was cut")
		}
		time.Sleep(time.Millisecond)
	}

	iss := b.Issuer("banking")
	adm, actor := a.Admin, admin.CLI()
	trials := max(nodeTrials(t)/4, 3)
	notCurrent := 0
	for i := range trials {
		_, err := adm.AddAllowedScopes(ctx, actor, "banking", seed.Reporting.ID, []string{"read:transactions"}, 0)
		must(t, err)
		// No false refusal either: what was just allowed is granted.
		if g := ccGrant(ctx, iss, seed.Reporting, "read:transactions"); g.err != nil || g.status != 200 {
			t.Fatalf("trial %d: allowed scope at node B without its feed: %d %v", i, g.status, g.err)
		}
		_, err = adm.RemoveAllowedScopes(ctx, actor, "banking", seed.Reporting.ID, []string{"read:transactions"}, 0)
		must(t, err)
		if !feed.Current() {
			notCurrent++
		}
		for range 4 {
			g := ccGrant(ctx, iss, seed.Reporting, "read:transactions")
			if g.err != nil {
				t.Fatal(g.err)
			}
			if g.status == 200 && hasScope(g.scope, "read:transactions") {
				t.Fatalf("trial %d: node B without its feed granted a scope removed from the allowlist", i)
			}
		}
	}
	if notCurrent == 0 {
		t.Fatal("node B was Current in every trial: the feed was not cut, the test proves nothing")
	}

	// The feed back, the node catches up and answers from its cache again.
	close(stop)
	<-cutting
	deadline = time.Now().Add(10 * time.Second)
	for !feed.Current() {
		if time.Now().After(deadline) {
			t.Fatal("node B did not follow the feed again within 10s of it being restored")
		}
		time.Sleep(5 * time.Millisecond)
	}
	_, err = adm.AddAllowedScopes(ctx, actor, "banking", seed.Reporting.ID, []string{"read:transactions"}, 0)
	must(t, err)
	if g := ccGrant(ctx, iss, seed.Reporting, "read:transactions"); g.status != 200 || !hasScope(g.scope, "read:transactions") {
		t.Fatalf("after catching up, an allowed scope: %d %q %v", g.status, g.scope, g.err)
	}
	_, err = adm.RemoveAllowedScopes(ctx, actor, "banking", seed.Reporting.ID, []string{"read:transactions"}, 0)
	must(t, err)
	if g := ccGrant(ctx, iss, seed.Reporting, "read:transactions"); g.status == 200 && hasScope(g.scope, "read:transactions") {
		t.Fatal("after catching up, node B granted a scope removed from the allowlist")
	}
}

// BenchmarkAdminWriteNodes is the latency of one admin write (an allowlist
// change: the command, its commit, and the settling until every node has
// applied it) with one and with three nodes on the test PostgreSQL. It
// reports the median; ns/op is the mean.
func BenchmarkAdminWriteNodes(b *testing.B) {
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			c := startCluster(b, n)
			a := c.nodes[0]
			seed := a.Seed(b, "banking")
			c.waitCurrent(b)
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				t0 := time.Now()
				var err error
				if i%2 == 0 {
					_, err = a.Admin.RemoveAllowedScopes(ctx, admin.CLI(), "banking", seed.Reporting.ID, []string{"read:transactions"}, 0)
				} else {
					_, err = a.Admin.AddAllowedScopes(ctx, admin.CLI(), "banking", seed.Reporting.ID, []string{"read:transactions"}, 0)
				}
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.ReportMetric(float64(median(lat).Microseconds())/1000, "p50-ms")
		})
	}
}
