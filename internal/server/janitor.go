package server

import (
	"context"
	"time"
)

// codeReplayWindow keeps redeemed and expired authorization codes this long
// past their 60 s lifetime, so that a late replay is still recognised and
// revokes what the code issued (RFC 6749 §4.1.2) instead of looking unknown.
const codeReplayWindow = time.Hour

// prune deletes what has expired: authorization requests, codes (after the
// replay window), sessions, refresh-token families and revocation records
// of expired access tokens. Every node may run it; the deletes are
// idempotent.
func (s *Server) prune(ctx context.Context) {
	now := s.opts.Now()
	st := s.opts.Store
	steps := []struct {
		what string
		run  func() (int, error)
	}{
		{"authorization requests", func() (int, error) { return st.AuthRequests().Prune(ctx, now) }},
		{"authorization codes", func() (int, error) { return st.Codes().Prune(ctx, now.Add(-codeReplayWindow)) }},
		{"sessions", func() (int, error) { return st.Sessions().Prune(ctx, now) }},
		{"refresh tokens", func() (int, error) { return st.RefreshTokens().Prune(ctx, now) }},
		{"revocations", func() (int, error) { return st.Revocations().Prune(ctx, now) }},
	}
	for _, step := range steps {
		n, err := step.run()
		if err != nil {
			if ctx.Err() == nil {
				s.log.WarnContext(ctx, "prune failed", "what", step.what, "err", err)
			}
			continue
		}
		if n > 0 {
			s.log.InfoContext(ctx, "pruned expired rows", "what", step.what, "rows", n)
		}
	}
}

// runJanitor prunes every interval until ctx is done.
func (s *Server) runJanitor(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.prune(ctx)
		}
	}
}
