package admin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/token"
)

// RotateKeys rotates the tenant's signing keys (token.RotateTx: the
// published next key starts signing, the current one stays published as
// previous, a new next key is generated) and records signing_key.rotated
// with the key IDs before and after, in one transaction. It returns the keys
// after rotation (public descriptions only).
func (s *Service) RotateKeys(ctx context.Context, actor Actor, tenantID string) ([]KeyDoc, error) {
	if s.Sealer == nil {
		return nil, errors.New("admin: rotating keys needs the master key (Service.Sealer is nil)")
	}
	var out []KeyDoc
	err := s.write(ctx, actor, func(tx store.Repos, now time.Time) ([]event, error) {
		if _, err := getTenant(ctx, tx, tenantID); err != nil {
			return nil, err
		}
		before, err := tx.Keys().List(ctx, tenantID)
		if err != nil {
			return nil, err
		}
		if err := token.RotateTx(ctx, tx, s.Sealer, tenantID, now); err != nil {
			return nil, fmt.Errorf("rotate signing keys of %q: %w", tenantID, err)
		}
		after, err := tx.Keys().List(ctx, tenantID)
		if err != nil {
			return nil, err
		}
		out = keyDocs(after)
		return []event{{Type: model.EventSigningKeyRotated, TenantID: tenantID,
			Details: map[string]any{"before": keyDocs(before), "after": out}}}, nil
	})
	return out, err
}

// ListKeys returns the tenant's signing keys, newest first (public
// descriptions only).
func (s *Service) ListKeys(ctx context.Context, actor Actor, tenantID string) ([]KeyDoc, error) {
	var out []KeyDoc
	err := s.read(ctx, actor, func(tx store.Repos) error {
		if _, err := getTenant(ctx, tx, tenantID); err != nil {
			return err
		}
		keys, err := tx.Keys().List(ctx, tenantID)
		out = keyDocs(keys)
		return err
	})
	return out, err
}
