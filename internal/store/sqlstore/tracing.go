package sqlstore

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/intelliauth/intelliauth/internal/store"
)

// startSpan starts a client span for one query (its text, with
// placeholders: never the arguments) or a transaction (query ""). Without
// a tracer (WithTracerProvider) it returns ctx and nil, costing one
// comparison.
func (db *DB) startSpan(ctx context.Context, name, query string) (context.Context, trace.Span) {
	if db.tracer == nil {
		return ctx, nil
	}
	attrs := []attribute.KeyValue{attribute.String("db.system.name", db.dialect.Name)}
	if query != "" {
		attrs = append(attrs, attribute.String("db.query.text", query))
	}
	return db.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// endSpan ends sp (nil: nothing), marking it failed on an error other than
// a row not found, which is an answer rather than a failure. The status
// says only whether the database was unavailable: a driver's message may
// quote the row's values.
func endSpan(sp trace.Span, err error) {
	if sp == nil {
		return
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		msg := "query failed"
		if errors.Is(err, store.ErrUnavailable) {
			msg = "database unavailable"
		}
		sp.SetStatus(otelcodes.Error, msg)
	}
	sp.End()
}
