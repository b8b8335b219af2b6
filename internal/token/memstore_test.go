package token

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// memKeys is a tiny in-memory store.Keys for the rotation tests; the SQL
// backends are held to the same contract by internal/store/storetest.
type memKeys struct {
	keys []model.SigningKey // insertion order
	// failCreate, when set, makes Create fail once the count reaches zero.
	failCreate *int
}

var _ store.Keys = (*memKeys)(nil)

func (m *memKeys) Create(_ context.Context, k model.SigningKey) error {
	if m.failCreate != nil {
		if *m.failCreate == 0 {
			return errors.New("injected failure")
		}
		*m.failCreate--
	}
	for _, e := range m.keys {
		if e.TenantID == k.TenantID && e.KID == k.KID {
			return fmt.Errorf("key %s: %w", k.KID, store.ErrConflict)
		}
	}
	m.keys = append(m.keys, k)
	return nil
}

func (m *memKeys) List(_ context.Context, tenantID string) ([]model.SigningKey, error) {
	var out []model.SigningKey
	for _, k := range m.keys {
		if k.TenantID == tenantID {
			out = append(out, k)
		}
	}
	slices.Reverse(out) // newest first
	return out, nil
}

func (m *memKeys) SetState(_ context.Context, tenantID, kid string, state model.KeyState) error {
	for i, k := range m.keys {
		if k.TenantID == tenantID && k.KID == kid {
			m.keys[i].State = state
			return nil
		}
	}
	return fmt.Errorf("key %s: %w", kid, store.ErrNotFound)
}

func (m *memKeys) Delete(_ context.Context, tenantID, kid string) error {
	for i, k := range m.keys {
		if k.TenantID == tenantID && k.KID == kid {
			m.keys = slices.Delete(m.keys, i, i+1)
			return nil
		}
	}
	return fmt.Errorf("key %s: %w", kid, store.ErrNotFound)
}

// memRepos offers only Keys; the embedded nil interface makes any other
// repository call panic, which a test would notice.
type memRepos struct {
	store.Repos
	keys *memKeys
}

func (r memRepos) Keys() store.Keys { return r.keys }

// memStore is a store.Store whose InTx works on a copy and commits it only
// when fn succeeds, like a real transaction.
type memStore struct {
	store.Store
	mu   sync.Mutex
	keys memKeys
}

func (s *memStore) Keys() store.Keys { return &s.keys }

func (s *memStore) InTx(_ context.Context, fn func(store.Repos) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &memKeys{keys: slices.Clone(s.keys.keys), failCreate: s.keys.failCreate}
	if err := fn(memRepos{keys: tx}); err != nil {
		return err
	}
	s.keys.keys = tx.keys
	return nil
}

func (s *memStore) snapshot() []model.SigningKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.keys.keys)
}
