package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// TestDescribeUseCaseRefusals runs real use-cases against a real store and
// checks what admin.Describe — the one mapping /api/v1 and the console
// share — makes of their refusals: the kind (hence the status), and the
// sentence the use-case wrote, with nothing of the storage layer's text
// (which names tables and backends) although the error chain holds it.
func TestDescribeUseCaseRefusals(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	_, updErr := f.svc.UpdateScope(ctx, f.actor, "acme", "read:tx", ScopeUpdate{Version: 99})
	delErr := f.svc.DeleteAPI(ctx, f.actor, "acme", "bank", 0)
	for _, tc := range []struct {
		name   string
		err    error
		kind   Kind
		status int
		want   string
	}{
		{"a missing scope names it", func() error { _, err := f.svc.GetScope(ctx, f.actor, "acme", "nope"); return err }(),
			KindNotFound, http.StatusNotFound, `scope "nope" was not found in this tenant`},
		{"a name that is taken names it and the tenant", func() error {
			_, err := f.svc.CreateScope(ctx, f.actor, "acme", ScopeInput{Name: "read:tx", Description: "Again.", API: "bank"})
			return err
		}(), KindConflict, http.StatusConflict, `scope "read:tx" already exists in tenant "acme"`},
		{"a stale version names what and both versions", updErr,
			KindPrecondition, http.StatusPreconditionFailed, `scope read:tx is at version 1, not 99 (changed meanwhile; reload and retry)`},
		{"a conflict the use-case explains", delErr,
			KindConflict, http.StatusConflict, `API "api.bank.example" still defines scopes read:tx write:tx; delete them first`},
		{"an unknown tenant", func() error { _, err := f.svc.UpdateScope(ctx, f.actor, "nowhere", "x", ScopeUpdate{}); return err }(),
			KindNotFound, http.StatusNotFound, `tenant "nowhere" was not found`},
		{"a PageActor outside the account pages", func() error {
			_, err := f.svc.GetScope(ctx, PageActor("usr_x", "account"), "acme", "read:tx")
			return err
		}(), KindForbidden, http.StatusForbidden, "the account page manages the signed-in user's own account only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("the use-case did not refuse")
			}
			d := Describe(tc.err)
			if d.Kind != tc.kind || d.Kind.Status() != tc.status || d.Message != tc.want || d.Fallback {
				t.Errorf("Describe(%q)\n got %+v (status %d)\nwant kind %d, status %d, %q", tc.err, d, d.Kind.Status(), tc.kind, tc.status, tc.want)
			}
			for _, layer := range []string{"sqlstore", "sqlite", "postgres", "SQL", "constraint"} {
				if strings.Contains(d.Message, layer) {
					t.Errorf("public sentence %q holds %q", d.Message, layer)
				}
			}
		})
	}
}

// TestDescribeNeverReadsStorageText: an error that carries no refusal of
// admin's own gets the kind's general sentence, never a piece of its
// text; a validation error keeps its problems; anything else is the
// server's (no sentence at all).
func TestDescribeNeverReadsStorageText(t *testing.T) {
	storageNotFound := fmt.Errorf("update application %q: %w", "x", fmt.Errorf("sqlstore: update applications where tenant_id=$1: %w", store.ErrNotFound))
	if d := Describe(storageNotFound); d.Kind != KindNotFound || !d.Fallback || d.Message != fallbackNotFound {
		t.Errorf("a bare storage not-found: %+v", d)
	}
	conflict := fmt.Errorf("create: %w", fmt.Errorf("postgres: duplicate key value violates unique constraint \"scopes_pkey\": %w", store.ErrConflict))
	if d := Describe(conflict); d.Kind != KindConflict || strings.Contains(d.Message, "pkey") {
		t.Errorf("a bare storage conflict: %+v", d)
	}
	ve := (&model.Problems{{Field: "name", Message: "is required"}}).Err()
	if d := Describe(fmt.Errorf("create: %w", ve)); d.Kind != KindInvalid || len(d.Problems) != 1 || d.Message != `"name": is required` {
		t.Errorf("a validation error: %+v", d)
	}
	if d := Describe(errors.New("sqlstore: disk I/O error")); d.Kind != KindInternal || d.Message != "" || d.Kind.Status() != http.StatusInternalServerError {
		t.Errorf("a server error: %+v", d)
	}
	// The innermost refusal is the one that knows: an outer wrapper adds
	// to the log's text only.
	inner := refuse(store.ErrNotFound, "scope %q was not found in this tenant", "x")
	if d := Describe(refuse(inner, "update role %q", "r")); d.Message != `scope "x" was not found in this tenant` {
		t.Errorf("nested refusals: %+v", d)
	}
	// A refusal declared as a variable keeps its words; a sentence that
	// merely wraps the bare sentinel is indistinguishable from the storage
	// layer's and gets the general sentence.
	if d := Describe(fmt.Errorf("remove: %w", ErrLastFactor)); d.Kind != KindConflict || !strings.HasPrefix(d.Message, "this is your last second factor") || strings.Contains(d.Message, "conflict") {
		t.Errorf("ErrLastFactor: %+v", d)
	}
	if d := Describe(fmt.Errorf("second factor %q: %w", "f1", store.ErrNotFound)); !d.Fallback {
		t.Errorf("a sentence over the bare sentinel: %+v", d)
	}
}
