package server_test

import (
	"bufio"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/server"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// series is one scrape of /metrics: each sample's value by its name and
// labels as the text format prints them (labels sorted by name).
type series map[string]float64

// scrape reads GET /metrics over HTTP.
func scrape(t *testing.T, env *servertest.Env) series {
	t.Helper()
	resp, err := servertest.HTTPClient().Get(env.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	s := series{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		s[line[:i]] = v
	}
	return s
}

// get returns a sample's value (0 when absent); labels are name, value pairs.
func (s series) get(name string, labels ...string) float64 {
	return s[key(name, labels...)]
}

func key(name string, labels ...string) string {
	if len(labels) == 0 {
		return name
	}
	type kv struct{ k, v string }
	var kvs []kv
	for i := 0; i+1 < len(labels); i += 2 {
		kvs = append(kvs, kv{labels[i], labels[i+1]})
	}
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].k < kvs[j].k })
	var b strings.Builder
	b.WriteString(name + "{")
	for i, p := range kvs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p.k + "=" + strconv.Quote(p.v))
	}
	b.WriteString("}")
	return b.String()
}

// names returns the distinct values of one label among a metric's samples.
func (s series) names(name, label string) map[string]bool {
	out := map[string]bool{}
	for k := range s {
		if !strings.HasPrefix(k, name+"{") {
			continue
		}
		i := strings.Index(k, label+`="`)
		if i < 0 {
			continue
		}
		rest := k[i+len(label)+2:]
		out[rest[:strings.IndexByte(rest, '"')]] = true
	}
	return out
}

// clientCall posts a token request with Basic client credentials.
func clientCall(t *testing.T, env *servertest.Env, tenant string, c servertest.Client, form url.Values) int {
	t.Helper()
	resp, _ := tokenCall{body: form.Encode(), basic: &c}.do(t, env.Issuer(tenant)+"/oauth2/token")
	return resp.StatusCode
}

// TestMetricsCountTheScriptedRequests drives a real node through a fixed
// script — tokens issued and refused, a scope dropped, bad client
// credentials, sign-ins that fail, lock and succeed, an unknown tenant, an
// admin change — then reads /metrics and checks each counter's value, and
// that no label carries an ID as presented.
func TestMetricsCountTheScriptedRequests(t *testing.T) {
	env := servertest.Start(t, func(o *server.Options) { o.LoginMaxFailures = 3 })
	b := env.Seed(t, "banking")
	people := env.SeedUsers(t, "banking")
	bank := b.Bank.Identifier
	cc := func(scope string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "scope": {scope}, "audience": {bank}}
	}

	// Two tokens issued; one refused by the scope decision (strict
	// allowlist); a permissive client's scope dropped; a wrong secret; an
	// unknown client; an unsupported grant type.
	for range 2 {
		if got := clientCall(t, env, "banking", b.Reporting, cc("read:transactions")); got != http.StatusOK {
			t.Fatalf("token: %d", got)
		}
	}
	if got := clientCall(t, env, "banking", b.Reporting, cc("payments:approve")); got != http.StatusBadRequest {
		t.Fatalf("strict client beyond its allowlist: %d, want 400", got)
	}
	if got := clientCall(t, env, "banking", b.Legacy, cc("read:transactions payments:approve")); got != http.StatusOK {
		t.Fatalf("permissive client: %d", got)
	}
	if got := clientCall(t, env, "banking", servertest.Client{ID: b.Reporting.ID, Secret: "wrong"}, cc("read:transactions")); got != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d, want 401", got)
	}
	if got := clientCall(t, env, "banking", servertest.Client{ID: "made-up-client-1", Secret: "x"}, cc("read:transactions")); got != http.StatusUnauthorized {
		t.Fatalf("unknown client: %d, want 401", got)
	}
	if got := clientCall(t, env, "banking", b.Reporting, url.Values{"grant_type": {"urn:made:up"}}); got != http.StatusBadRequest {
		t.Fatalf("unsupported grant type: %d, want 400", got)
	}

	// Sign-ins: two wrong passwords, a third that engages the lock
	// (LoginMaxFailures 3), then an unknown user (refused by the lock of
	// the address, so counted as locked); a fresh node would let alice in,
	// so the success is checked on bob after the lock is lifted below.
	br := servertest.NewBrowser(t)
	spa := newAuthRequest((&oidcEnv{people: people, iss: env.Issuer("banking")}).spaConfig("openid"))
	p := br.Visit(env.URL, spa.url)
	for range 3 {
		p = br.SignIn(env.URL, p, people.Alice.Username, "not her password")
	}
	if p.Status != http.StatusTooManyRequests {
		t.Fatalf("third failure: %d, want 429 (locked)", p.Status)
	}
	// The lock holds for LockFor: move the clock past it and sign bob in.
	env.Clock.Advance(16 * 60e9)
	p = br.Visit(env.URL, spa.url)
	p = br.SignIn(env.URL, p, people.Bob.Username, people.Bob.Password)
	if p.Status == http.StatusUnauthorized || p.Status == http.StatusTooManyRequests {
		t.Fatalf("bob's sign-in: %d", p.Status)
	}

	// An unknown tenant: a failed catalog load, never a label of its own.
	if resp, err := servertest.HTTPClient().Get(env.URL + "/t/no-such-tenant-42/.well-known/openid-configuration"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}

	// One more token alone: one group commit of one event.
	before := scrape(t, env)
	if got := clientCall(t, env, "banking", b.Reporting, cc("read:transactions")); got != http.StatusOK {
		t.Fatalf("token: %d", got)
	}
	m := scrape(t, env)

	type want struct {
		name   string
		labels []string
		value  float64
	}
	for _, w := range []want{
		{"intelliauth_tokens_issued_total", []string{"tenant", "banking", "client_id", "reporting-job", "grant_type", "client_credentials"}, 3},
		{"intelliauth_tokens_issued_total", []string{"tenant", "banking", "client_id", "legacy-batch", "grant_type", "client_credentials"}, 1},
		{"intelliauth_tokens_refused_total", []string{"tenant", "banking", "client_id", "reporting-job", "grant_type", "client_credentials", "reason", "not_allowed"}, 1},
		{"intelliauth_tokens_refused_total", []string{"tenant", "banking", "client_id", "reporting-job", "grant_type", "client_credentials", "reason", "invalid_client"}, 1},
		{"intelliauth_tokens_refused_total", []string{"tenant", "banking", "client_id", "unknown", "grant_type", "client_credentials", "reason", "invalid_client"}, 1},
		{"intelliauth_tokens_refused_total", []string{"tenant", "banking", "client_id", "reporting-job", "grant_type", "other", "reason", "unsupported_grant_type"}, 1},
		{"intelliauth_scopes_dropped_total", []string{"tenant", "banking", "client_id", "legacy-batch", "reason", "not_allowed"}, 1},
		{"intelliauth_client_auth_failures_total", []string{"tenant", "banking", "reason", "wrong_secret"}, 1},
		{"intelliauth_client_auth_failures_total", []string{"tenant", "banking", "reason", "unknown_client"}, 1},
		{"intelliauth_login_outcomes_total", []string{"tenant", "banking", "outcome", "bad_password"}, 3},
		{"intelliauth_login_outcomes_total", []string{"tenant", "banking", "outcome", "locked"}, 1},
		{"intelliauth_login_outcomes_total", []string{"tenant", "banking", "outcome", "success"}, 1},
		{"intelliauth_catalog_reloads_total", []string{"tenant", "unknown", "result", "not_found"}, 1},
		{"intelliauth_audit_commit_batch_size_count", nil, before.get("intelliauth_audit_commit_batch_size_count") + 1},
		{"intelliauth_audit_commit_batch_size_sum", nil, before.get("intelliauth_audit_commit_batch_size_sum") + 1},
		{"intelliauth_audit_commit_duration_seconds_count", nil, before.get("intelliauth_audit_commit_duration_seconds_count") + 1},
	} {
		if got := m.get(w.name, w.labels...); got != w.value {
			t.Errorf("%s = %v, want %v", key(w.name, w.labels...), got, w.value)
		}
	}
	if got := m.get("intelliauth_catalog_reloads_total", "tenant", "banking", "result", "ok"); got < 1 {
		t.Errorf("catalog reloads of banking = %v, want at least 1", got)
	}
	if m.get("intelliauth_audit_commit_failures_total") != 0 {
		t.Errorf("audit commit failures = %v, want 0", m.get("intelliauth_audit_commit_failures_total"))
	}

	// An admin change drops the snapshot (revision poll) and the next
	// request loads it again: one more reload of banking.
	reloads := m.get("intelliauth_catalog_reloads_total", "tenant", "banking", "result", "ok")
	if _, err := env.Admin.CreateScope(t.Context(), admin.CLI(), "banking", admin.ScopeInput{Name: "read:statements", Description: "Read statements.", API: bank}); err != nil {
		t.Fatal(err)
	}
	env.Server.Catalog().Invalidate("banking")
	if got := clientCall(t, env, "banking", b.Reporting, cc("read:transactions")); got != http.StatusOK {
		t.Fatalf("token: %d", got)
	}
	if got := scrape(t, env).get("intelliauth_catalog_reloads_total", "tenant", "banking", "result", "ok"); got != reloads+1 {
		t.Errorf("catalog reloads of banking after a change = %v, want %v", got, reloads+1)
	}

	// No label carries an ID as presented.
	for _, name := range []string{"intelliauth_tokens_refused_total", "intelliauth_tokens_issued_total"} {
		if m.names(name, "client_id")["made-up-client-1"] {
			t.Errorf("%s has a label for a client ID as presented", name)
		}
	}
	if m.names("intelliauth_catalog_reloads_total", "tenant")["no-such-tenant-42"] {
		t.Error("intelliauth_catalog_reloads_total has a label for a tenant ID as presented")
	}
}

// TestMetricsClientCapFoldsIntoOther: with a cap of one client label per
// tenant, the first client keeps its name and every later one is counted
// under "other" — issued, refused and dropped alike.
func TestMetricsClientCapFoldsIntoOther(t *testing.T) {
	env := servertest.Start(t, func(o *server.Options) { o.MetricsMaxClients = 1 })
	b := env.Seed(t, "banking")
	bank := b.Bank.Identifier
	form := func(scope string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "scope": {scope}, "audience": {bank}}
	}
	for _, c := range []servertest.Client{b.Reporting, b.Legacy, b.Legacy} {
		if got := clientCall(t, env, "banking", c, form("read:transactions")); got != http.StatusOK {
			t.Fatalf("token for %s: %d", c.ID, got)
		}
	}
	clientCall(t, env, "banking", b.Legacy, form("read:transactions payments:approve")) // dropped
	clientCall(t, env, "banking", b.Legacy, url.Values{"grant_type": {"password"}})     // refused

	m := scrape(t, env)
	issued := m.names("intelliauth_tokens_issued_total", "client_id")
	if !issued["reporting-job"] || !issued["other"] || issued["legacy-batch"] || len(issued) != 2 {
		t.Errorf("client_id labels = %v, want reporting-job and other", issued)
	}
	for _, c := range []struct {
		name   string
		labels []string
		value  float64
	}{
		{"intelliauth_tokens_issued_total", []string{"tenant", "banking", "client_id", "reporting-job", "grant_type", "client_credentials"}, 1},
		{"intelliauth_tokens_issued_total", []string{"tenant", "banking", "client_id", "other", "grant_type", "client_credentials"}, 3},
		{"intelliauth_scopes_dropped_total", []string{"tenant", "banking", "client_id", "other", "reason", "not_allowed"}, 1},
		{"intelliauth_tokens_refused_total", []string{"tenant", "banking", "client_id", "other", "grant_type", "other", "reason", "unsupported_grant_type"}, 1},
	} {
		if got := m.get(c.name, c.labels...); got != c.value {
			t.Errorf("%s = %v, want %v", key(c.name, c.labels...), got, c.value)
		}
	}
}
