package server

import (
	"context"
	"time"

	"github.com/intelliauth/intelliauth/internal/audit"
)

// codeReplayWindow keeps redeemed and expired authorization codes this long
// past their 60 s lifetime, so that a late replay is still recognised and
// revokes what the code issued (RFC 6749 §4.1.2) instead of looking unknown.
const codeReplayWindow = time.Hour

// throttleRetention keeps a sign-in throttle key at least this long after
// its window started (and while it is locked): far longer than the default
// sign-in window, so pruning never forgives failures that still count.
const throttleRetention = 24 * time.Hour

// unconfirmedFactorRetention keeps an unconfirmed second factor (an
// enrolment begun and never finished) this long: far longer than anyone
// takes to type the first code, short enough that abandoned secrets do not
// pile up.
const unconfirmedFactorRetention = time.Hour

// prune deletes what has expired: authorization requests, codes (after the
// replay window), sessions, refresh-token families, revocation records
// of expired access tokens, idle sign-in throttles, expired WebAuthn
// challenges and abandoned second-factor enrolments, and raw audit events
// past their tenant's retention (audit.Prune: short batches, grant counters
// kept). Every node may run it;
// the deletes are idempotent.
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
		{"console sessions", func() (int, error) { return st.ConsoleSessions().Prune(ctx, now) }},
		{"refresh tokens", func() (int, error) { return st.RefreshTokens().Prune(ctx, now) }},
		{"revocations", func() (int, error) { return st.Revocations().Prune(ctx, now) }},
		{"second-factor challenges and enrolments", func() (int, error) {
			return st.Factors().Prune(ctx, now, now.Add(-unconfirmedFactorRetention))
		}},
		{"sign-in throttles", func() (int, error) {
			// A configured window longer than the retention still counts.
			return st.Throttles().Prune(ctx, now.Add(-max(throttleRetention, 2*s.opts.LoginWindow)), now)
		}},
	}
	steps = append(steps, struct {
		what string
		run  func() (int, error)
	}{"audit events past retention", func() (int, error) {
		tenants, err := st.Tenants().List(ctx)
		if err != nil {
			return 0, err
		}
		total := 0
		for _, t := range tenants {
			n, err := audit.Prune(ctx, st, nil, t.ID, now, audit.PruneOptions{})
			total += n
			if err != nil {
				return total, err
			}
		}
		return total, nil
	}})
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
