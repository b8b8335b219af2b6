package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/oautherr"
	"github.com/intelliauth/intelliauth/scope"
)

// bigTenant is a tenant with one API of n scopes (s0 … s{n-1}, each
// implying the next ten, so the closure has work to do) and an application
// allowed all of them.
func bigTenant(n int) (*Registry, model.Application) {
	api := model.API{ID: "bank", Identifier: "api.bank.example", Name: "Bank"}
	scopes := make([]model.Scope, n)
	allowed := make([]string, n)
	for i := range n {
		s := model.Scope{Name: fmt.Sprintf("s%d", i), APIID: api.ID, Kind: model.KindCustom}
		for j := i + 1; j < min(n, i+11); j++ {
			s.Implies = append(s.Implies, fmt.Sprintf("s%d", j))
		}
		scopes[i] = s
		allowed[i] = s.Name
	}
	return NewRegistry(scopes, []model.API{api}), app(model.PolicyStrict, allowed...)
}

// BenchmarkDecideAllowlist is issue 12's "big allowlists": the same request
// (one scope) from an application allowed 2 scopes and one allowed 500. With
// the allowance precomputed (as the catalog snapshot does), the decision's
// cost must not grow with the allowlist.
func BenchmarkDecideAllowlist(b *testing.B) {
	for _, n := range []int{2, 500} {
		reg, a := bigTenant(n)
		last := fmt.Sprintf("s%d", n-1)
		b.Run(fmt.Sprintf("allowed=%d", n), func(b *testing.B) {
			in := Input{Scope: last, Audience: "api.bank.example", Registry: reg, App: a}
			in.Allowance = NewAllowance(reg, a)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decide(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// An allowance built for another allowlist (or registry) must not decide:
// Decide recomputes, so a stale one costs time, never a wrong grant.
func TestDecideIgnoresMismatchedAllowance(t *testing.T) {
	reg := fixture()
	wide := app(model.PolicyStrict, "read:transactions", "write:settings")
	narrow := app(model.PolicyStrict, "read:transactions") // same client ID, narrowed allowlist
	stale := NewAllowance(reg, wide)
	d, err := Decide(Input{Scope: "write:settings", Registry: reg, App: narrow, Allowance: stale})
	if err == nil || d.Granted.Has("write:settings") {
		t.Fatalf("a narrowed allowlist with the wide one's allowance granted %q (%v)", d.Granted, err)
	}
	// Another registry (a scope now implies more): the fresh closure counts.
	other := NewRegistry([]model.Scope{
		{Name: "read:transactions", Kind: model.KindCustom, APIID: "bank", Implies: []string{"write:settings"}},
		{Name: "write:settings", Kind: model.KindCustom, APIID: "bank"},
	}, []model.API{{ID: "bank", Identifier: "api.banking.example.com"}})
	d, err = Decide(Input{Scope: "write:settings", Registry: other, App: narrow, Allowance: NewAllowance(reg, narrow)})
	if err != nil || !d.Granted.Has("write:settings") {
		t.Fatalf("an allowance of the old registry decided: %q, %v", d.Granted, err)
	}
	// The one that fits is used as it is (same slice, same registry).
	if al := NewAllowance(reg, narrow); (Input{Registry: reg, App: narrow, Allowance: al}).EffectiveAllowance() != al {
		t.Fatal("a fitting allowance was recomputed")
	}
}

// Issue 12: a request for every one of 1,000 allowed scopes is decided; one
// over the limit is refused with invalid_scope saying it is the size, not
// "malformed".
func TestDecideBigRequests(t *testing.T) {
	reg, a := bigTenant(scope.MaxTokens + 1)
	al := NewAllowance(reg, a)
	all := a.AllowedScopes[:scope.MaxTokens]
	d, err := Decide(Input{Scope: strings.Join(all, " "), Registry: reg, App: a, Allowance: al})
	// The last one implies s1000, which is added: MaxTokens+1 granted.
	if err != nil || d.Requested.Len() != scope.MaxTokens || d.Granted.Len() != scope.MaxTokens+1 {
		t.Fatalf("%d scopes: requested %d, granted %d, %v", scope.MaxTokens, d.Requested.Len(), d.Granted.Len(), err)
	}
	_, err = Decide(Input{Scope: strings.Join(a.AllowedScopes, " "), Registry: reg, App: a, Allowance: al})
	var oe *oautherr.Error
	if !errors.As(err, &oe) || oe.Code != oautherr.InvalidScope || !strings.Contains(oe.Description, "too large") ||
		!strings.Contains(oe.Description, "1000 scopes") || strings.Contains(oe.Description, "malformed") {
		t.Fatalf("over the limit: %v, want invalid_scope naming the size", err)
	}
	// A default request (no scope) gets the allowlist for the audience.
	d, err = Decide(Input{Audience: "api.bank.example", Registry: reg, App: a, Allowance: al})
	if err != nil || d.Granted.Len() != scope.MaxTokens+1 {
		t.Fatalf("default: granted %d, %v", d.Granted.Len(), err)
	}
}
