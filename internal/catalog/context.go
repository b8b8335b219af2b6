package catalog

import "context"

type ctxKey struct{}

// NewContext returns ctx carrying the tenant snapshot the request was routed to.
func NewContext(ctx context.Context, s *Snapshot) context.Context {
	return context.WithValue(ctx, ctxKey{}, s)
}

// FromContext returns the request's tenant snapshot.
func FromContext(ctx context.Context) (*Snapshot, bool) {
	s, ok := ctx.Value(ctxKey{}).(*Snapshot)
	return s, ok
}
