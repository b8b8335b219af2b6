package rs

import (
	"encoding/binary"
	"math/bits"
	"sync"
	"sync/atomic"
)

// cacheKey is the SHA-256 of a raw token: the cache never holds tokens
// themselves, only what they proved.
type cacheKey = [32]byte

// cache is a bounded map from cacheKey to V whose entries expire at a
// given instant (Unix nanoseconds). It is split into shards, each under
// its own lock, and evicts with the CLOCK algorithm (an approximation of
// LRU where a hit only sets a bit): when a shard is full, the hand sweeps
// its slots, evicting the first expired or unreferenced entry and clearing
// the bit of referenced ones. Safe for concurrent use.
type cache[V any] struct {
	shards []cacheShard[V]
	mask   uint64
}

type cacheShard[V any] struct {
	mu    sync.RWMutex
	idx   map[cacheKey]int
	slots []cacheSlot[V]
	hand  int
	limit int
	_     [64]byte // keep neighbouring shards' locks off one cache line
}

type cacheSlot[V any] struct {
	key     cacheKey
	val     V
	expires int64  // Unix nanoseconds; the entry is gone at and after it
	ref     uint32 // CLOCK reference bit, set atomically under the read lock
}

// newCache returns a cache of about size entries (rounded up to a multiple
// of the shard count), or nil when size is not positive.
func newCache[V any](size int) *cache[V] {
	if size <= 0 {
		return nil
	}
	// About 128 entries per shard, between 1 and 64 shards, a power of two.
	n := min(64, max(1, 1<<bits.Len(uint(size/128))))
	per := (size + n - 1) / n
	c := &cache[V]{shards: make([]cacheShard[V], n), mask: uint64(n - 1)}
	for i := range c.shards {
		c.shards[i].idx = make(map[cacheKey]int, per)
		c.shards[i].slots = make([]cacheSlot[V], 0, per)
		c.shards[i].limit = per
	}
	return c
}

func (c *cache[V]) shard(k *cacheKey) *cacheShard[V] {
	return &c.shards[binary.LittleEndian.Uint64(k[:8])&c.mask]
}

// get returns the value under k if it has not expired at now.
func (c *cache[V]) get(k *cacheKey, now int64) (V, bool) {
	s := c.shard(k)
	s.mu.RLock()
	i, ok := s.idx[*k]
	if !ok {
		s.mu.RUnlock()
		var zero V
		return zero, false
	}
	sl := &s.slots[i]
	if now >= sl.expires {
		s.mu.RUnlock()
		var zero V
		return zero, false
	}
	v := sl.val
	if atomic.LoadUint32(&sl.ref) == 0 {
		atomic.StoreUint32(&sl.ref, 1)
	}
	s.mu.RUnlock()
	return v, true
}

// put stores v under k until expires. now lets the sweep prefer expired
// entries.
func (c *cache[V]) put(k *cacheKey, v V, expires, now int64) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.idx[*k]; ok {
		s.slots[i] = cacheSlot[V]{key: *k, val: v, expires: expires, ref: 1}
		return
	}
	if len(s.slots) < s.limit {
		s.idx[*k] = len(s.slots)
		s.slots = append(s.slots, cacheSlot[V]{key: *k, val: v, expires: expires})
		return
	}
	// At most two sweeps: the first clears every reference bit.
	for range 2 * len(s.slots) {
		sl := &s.slots[s.hand]
		if now >= sl.expires || atomic.LoadUint32(&sl.ref) == 0 {
			break
		}
		atomic.StoreUint32(&sl.ref, 0)
		s.hand = (s.hand + 1) % len(s.slots)
	}
	delete(s.idx, s.slots[s.hand].key)
	s.slots[s.hand] = cacheSlot[V]{key: *k, val: v, expires: expires}
	s.idx[*k] = s.hand
	s.hand = (s.hand + 1) % len(s.slots)
}

// len returns the number of entries, expired ones included.
func (c *cache[V]) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.idx)
		s.mu.RUnlock()
	}
	return n
}
