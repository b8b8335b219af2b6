package oauth

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/intelliauth/intelliauth/oautherr"
)

// Span names of the token pipeline (docs/observability.md lists them).
const (
	spanClientAuth  = "oauth.client_auth"
	spanGrant       = "oauth.grant"
	spanDecide      = "oauth.decide"
	spanSign        = "oauth.sign"
	spanAuditCommit = "oauth.audit_commit"
)

// span starts a child of ctx's span. Without a Tracer it starts nothing:
// it returns ctx and a span that records nothing (no allocation), so the
// token path pays one comparison per step when tracing is off.
func (h *Handler) span(ctx context.Context, name string) (context.Context, trace.Span) {
	if h.Tracer == nil {
		return ctx, trace.SpanFromContext(context.Background())
	}
	return h.Tracer.Start(ctx, name)
}

// endSpan ends sp, marking it failed with the OAuth error code (never the
// description's or cause's text, which may quote the request).
func endSpan(sp trace.Span, err error) {
	if err != nil && sp.IsRecording() {
		code := oautherr.As(err).Code
		sp.SetAttributes(attribute.String("oauth.error", code))
		sp.SetStatus(otelcodes.Error, code)
	}
	sp.End()
}
