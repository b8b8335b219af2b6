package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/intelliauth/intelliauth/internal/policy"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/oautherr"
)

// Explanation is the scope decision for an application, audience and scope
// string, as the token endpoint would make it — without issuing anything.
type Explanation struct {
	ClientID    string `json:"client_id"`
	ScopePolicy string `json:"scope_policy"`
	// RequestedScope and RequestedAudience echo the input.
	RequestedScope    string `json:"requested_scope"`
	RequestedAudience string `json:"requested_audience,omitempty"`
	// Audience is the API the token would be for ("" when the decision
	// failed before choosing one).
	Audience string `json:"audience,omitempty"`
	// Granted is what the token would carry, implications included.
	Granted []string `json:"granted"`
	// Results has a reason for every requested (or defaulted, or implied) scope.
	Results []policy.Result `json:"results"`
	// Error is the OAuth error the request would get, nil when it succeeds.
	Error *ExplainedError `json:"error,omitempty"`
	// Decision is the raw decision, for callers that want more.
	Decision policy.Decision `json:"-"`
}

// ExplainedError is the OAuth error a request would be refused with.
type ExplainedError struct {
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

// Explain runs the scope decision (policy.Decide) for a client-credentials
// request of clientID with the given audience and scope parameters. A
// refusal is part of the explanation, not an error; errors are for what
// stops the explanation itself (unknown tenant or application, storage).
func (s *Service) Explain(ctx context.Context, actor Actor, tenantID, clientID, audience, scopeParam string) (Explanation, error) {
	out := Explanation{ClientID: clientID, RequestedScope: scopeParam, RequestedAudience: audience}
	err := s.read(ctx, actor, func(tx store.Repos) error {
		if _, err := getTenant(ctx, tx, tenantID); err != nil {
			return err
		}
		app, err := getApp(ctx, tx, tenantID, clientID)
		if err != nil {
			return err
		}
		scopes, err := tx.Scopes().All(ctx, tenantID)
		if err != nil {
			return fmt.Errorf("load scope registry: %w", err)
		}
		apis, err := tx.APIs().List(ctx, tenantID)
		if err != nil {
			return fmt.Errorf("load APIs: %w", err)
		}
		out.ScopePolicy = app.ScopePolicy
		d, derr := policy.Decide(policy.Input{Scope: scopeParam, Audience: audience, App: app, Registry: policy.NewRegistry(scopes, apis)})
		out.Decision = d
		out.Audience = d.Audience.Identifier
		out.Granted = nonNil(d.Granted.Names())
		out.Results = d.Results
		if out.Results == nil {
			out.Results = []policy.Result{}
		}
		if derr != nil {
			var oe *oautherr.Error
			if !errors.As(derr, &oe) {
				return derr
			}
			out.Granted = []string{}
			out.Error = &ExplainedError{Code: oe.Code, Description: oe.Description}
		}
		return nil
	})
	return out, err
}
