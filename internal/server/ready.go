package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/token"
)

// readyTimeout bounds one /readyz answer; a check that has not finished by
// then reports not ready (what it checked so far is kept for the next
// probe).
const readyTimeout = 2 * time.Second

// readiness answers /readyz: the node is ready when it can serve, which
// takes three things, each reported with the reason when it fails —
//
//   - storage: the database answers (store.Ping);
//   - migrations: every migration this binary knows is applied
//     (store.CheckSchema);
//   - keys: the master key opens the stored signing keys
//     (token.CheckTenantKeys). A key that opens no tenant's keys is the
//     wrong key, and the node is not ready; one that opens some tenants'
//     and not others' is the right key, the others were sealed with another
//     one: the node stays ready for the tenants it can serve and the check
//     carries a warning naming the rest.
//
// /healthz is the liveness probe and checks none of this: a node that is
// not ready should be taken out of rotation, not restarted.
//
// A probe re-opens only the keys of tenants whose configuration revision
// moved since it last looked (every key write bumps it), so with many
// tenants it costs one query plus the changed tenants. Changes of state
// are logged once, not at every probe.
type readiness struct {
	store  store.Store
	sealer *token.Sealer
	log    *slog.Logger

	mu sync.Mutex
	// keys is, per tenant, what the last check of its keys found, at the
	// revision it was made.
	keys map[string]tenantKeys
	// last is the summary of the last answer, to log changes only.
	last string
}

type tenantKeys struct {
	rev   int64
	held  bool
	opens bool
}

// readyCheck is one check of /readyz. /readyz answers on the public
// listener, so Reason and Warning name no tenant, host or user: the log
// line of the change carries the detail (detail).
type readyCheck struct {
	OK bool `json:"ok"`
	// Reason says why the check failed, or why it was not made.
	Reason string `json:"reason,omitempty"`
	// Warning is set on a check that passed with a problem worth fixing.
	Warning string `json:"warning,omitempty"`
	// detail is the cause for the log.
	detail string
}

// readyReport is the body of /readyz.
type readyReport struct {
	// Status is "ready" (200) or "not ready" (503).
	Status string                `json:"status"`
	Checks map[string]readyCheck `json:"checks"`
}

func newReadiness(st store.Store, sealer *token.Sealer, log *slog.Logger) *readiness {
	return &readiness{store: st, sealer: sealer, log: log, keys: map[string]tenantKeys{}}
}

func (rd *readiness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	rep := rd.check(ctx)
	code := http.StatusOK
	if rep.Status != "ready" {
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(rep)
}

// check runs the three checks in order; a later check is not made when the
// database does not answer.
func (rd *readiness) check(ctx context.Context) readyReport {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	checks := map[string]readyCheck{}
	if err := rd.store.Ping(ctx); err != nil {
		checks["storage"] = readyCheck{Reason: "the database does not answer", detail: err.Error()}
		skipped := readyCheck{Reason: "not checked: the database does not answer"}
		checks["migrations"], checks["keys"] = skipped, skipped
	} else {
		checks["storage"] = readyCheck{OK: true}
		if err := rd.store.CheckSchema(ctx); errors.Is(err, store.ErrUnavailable) || (err != nil && ctx.Err() != nil) {
			checks["migrations"] = readyCheck{Reason: "the schema version cannot be read", detail: err.Error()}
		} else if err != nil {
			// CheckSchema's own sentence: versions and what to run.
			checks["migrations"] = readyCheck{Reason: err.Error()}
		} else {
			checks["migrations"] = readyCheck{OK: true}
		}
		checks["keys"] = rd.checkKeys(ctx)
	}
	rep := readyReport{Status: "ready", Checks: checks}
	var problems []string
	for name, c := range checks {
		say := c.Reason
		if c.detail != "" {
			say += " (" + c.detail + ")"
		}
		switch {
		case !c.OK:
			rep.Status = "not ready"
			problems = append(problems, name+": "+say)
		case c.Warning != "":
			problems = append(problems, name+": "+c.Warning+" ("+c.detail+")")
		}
	}
	sort.Strings(problems)
	rd.logChange(ctx, rep.Status, problems)
	return rep
}

// checkKeys opens the keys of the tenants whose revision moved and sums up
// what every tenant's keys did at their last check.
func (rd *readiness) checkKeys(ctx context.Context) readyCheck {
	revs, err := rd.store.Tenants().Revs(ctx)
	if err != nil {
		return readyCheck{Reason: "the tenants cannot be read", detail: err.Error()}
	}
	for id := range rd.keys {
		if _, ok := revs[id]; !ok {
			delete(rd.keys, id)
		}
	}
	for id, rev := range revs {
		if k, ok := rd.keys[id]; ok && k.rev == rev {
			continue
		}
		held, err := token.CheckTenantKeys(ctx, rd.store, rd.sealer, id)
		if err != nil && !errors.Is(err, token.ErrOpen) {
			return readyCheck{Reason: "the signing keys cannot be read", detail: err.Error()}
		}
		rd.keys[id] = tenantKeys{rev: rev, held: held, opens: err == nil}
	}
	var rep token.MasterKeyReport
	for id, k := range rd.keys {
		switch {
		case k.held && k.opens:
			rep.Opened = append(rep.Opened, id)
		case k.held:
			rep.Failed = append(rep.Failed, id)
		}
	}
	sort.Strings(rep.Opened)
	sort.Strings(rep.Failed)
	if err := rep.Err(); err != nil {
		return readyCheck{
			Reason: fmt.Sprintf("the master key opens none of the stored signing keys (%s): it is not the key the data was created with; restart the node with the right one", tenantCount(len(rep.Failed))),
			detail: err.Error(),
		}
	}
	if w := rep.Warning(); w != "" {
		return readyCheck{OK: true,
			Warning: fmt.Sprintf("the master key does not open the signing keys of %s, sealed with another key; requests to them fail", tenantCount(len(rep.Failed))),
			detail:  w}
	}
	return readyCheck{OK: true}
}

func tenantCount(n int) string {
	if n == 1 {
		return "1 tenant"
	}
	return fmt.Sprintf("%d tenants", n)
}

// logChange logs the readiness when it differs from the last answer's.
func (rd *readiness) logChange(ctx context.Context, status string, problems []string) {
	summary := status + "|" + strings.Join(problems, "|")
	if summary == rd.last {
		return
	}
	first := rd.last == ""
	rd.last = summary
	switch {
	case status != "ready":
		rd.log.WarnContext(ctx, "not ready", "problems", problems)
	case len(problems) > 0:
		rd.log.WarnContext(ctx, "ready, with warnings", "problems", problems)
	case !first:
		rd.log.InfoContext(ctx, "ready again")
	}
}
