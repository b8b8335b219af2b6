package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// tracesURL is where the OTLP/HTTP exporter posts spans: the endpoint as
// configured when it names a path (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
// style), else the collector's base URL with the standard /v1/traces path
// (OTEL_EXPORTER_OTLP_ENDPOINT style, e.g. http://localhost:4318).
func tracesURL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("OTLP endpoint %q is not a URL such as http://localhost:4318; fix --otlp-endpoint", endpoint)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	return u.String(), nil
}

// newTracerProvider builds the OpenTelemetry SDK's tracer provider that
// batches spans to the OTLP/HTTP collector at endpoint. The exporter
// connects lazily: an unreachable collector costs dropped spans (logged by
// the SDK), never a refused start or a slower request. The caller must
// Shutdown it to flush what is queued.
func newTracerProvider(ctx context.Context, endpoint string, logger *slog.Logger) (*sdktrace.TracerProvider, error) {
	target, err := tracesURL(endpoint)
	if err != nil {
		return nil, err
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(target))
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter for %s: %w", target, err)
	}
	// The SDK reports export failures through OpenTelemetry's process-wide
	// error handler (by default plain text on stderr): route them to the
	// one logger, so they are JSON lines like every other. The composition
	// root owns the process, so it may set this one global.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("trace export failed; spans are dropped until the collector answers", "otlp_endpoint", redactedURL(target), "err", err)
	}))
	b := currentBuild()
	res := resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName("intelliauth"), semconv.ServiceVersion(b.Version))
	logger.Info("tracing on", "otlp_endpoint", redactedURL(target))
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}

// redactedURL hides a password in a URL for the log.
func redactedURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}
