package rs

import (
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
	"time"
)

func key(i int) cacheKey { return sha256.Sum256(fmt.Appendf(nil, "token-%d", i)) }

func TestCacheBounded(t *testing.T) {
	for _, size := range []int{1, 10, 127, 1000, 10_000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			c := newCache[int](size)
			for i := range 5 * size {
				k := key(i)
				c.put(&k, i, 100, 0)
			}
			// Rounded up to a multiple of the shard count, never more.
			limit := len(c.shards) * c.shards[0].limit
			if n := c.len(); n > limit || limit >= size+len(c.shards) {
				t.Errorf("len = %d, limit %d, size %d", n, limit, size)
			}
		})
	}
	if newCache[int](0) != nil || newCache[int](-1) != nil {
		t.Error("a non-positive size must disable the cache")
	}
}

func TestCacheExpiry(t *testing.T) {
	c := newCache[string](10)
	k := key(1)
	c.put(&k, "v", 100, 0)
	if v, ok := c.get(&k, 99); !ok || v != "v" {
		t.Error("entry missing before its expiry")
	}
	if _, ok := c.get(&k, 100); ok {
		t.Error("entry served at its expiry")
	}
	c.put(&k, "w", 200, 100)
	if v, ok := c.get(&k, 150); !ok || v != "w" {
		t.Error("replaced entry not served")
	}
}

func TestCacheClockKeepsHotEntries(t *testing.T) {
	c := newCache[int](64) // one shard of 64
	hot := key(-1)
	c.put(&hot, -1, 1<<62, 0)
	for i := range 1000 {
		if _, ok := c.get(&hot, 0); !ok {
			t.Fatalf("hot entry evicted after %d inserts", i)
		}
		k := key(i)
		c.put(&k, i, 1<<62, 0)
	}
}

func TestCachePrefersExpired(t *testing.T) {
	c := newCache[int](4)
	for i := range 4 {
		k := key(i)
		c.put(&k, i, 1<<62, 0)
		c.get(&k, 0) // referenced
	}
	k2 := key(2)
	c.put(&k2, 2, 10, 0) // now expires at 10
	k9 := key(9)
	c.put(&k9, 9, 1<<62, 20) // at 20, entry 2 is expired: it goes first
	for _, i := range []int{0, 1, 3, 9} {
		k := key(i)
		if _, ok := c.get(&k, 20); !ok {
			t.Errorf("entry %d evicted instead of the expired one", i)
		}
	}
}

func TestCacheConcurrent(t *testing.T) {
	c := newCache[int](500)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 5000 {
				k := key((g*7919 + i) % 2000)
				if v, ok := c.get(&k, int64(i)); ok && v != (g*7919+i)%2000 {
					t.Errorf("key %d holds %d", (g*7919+i)%2000, v)
					return
				}
				c.put(&k, (g*7919+i)%2000, int64(i+1000), int64(i))
			}
		})
	}
	wg.Wait()
	if c.len() > len(c.shards)*c.shards[0].limit {
		t.Error("cache grew past its bound")
	}
}

func TestVerifierCacheNeverOutlivesExp(t *testing.T) {
	// A whitebox check on the instants: entries expire at exp exactly.
	now := time.Unix(1_000_000, 0)
	c := newCache[*Token](10)
	k := key(1)
	exp := now.Add(time.Minute)
	c.put(&k, &Token{ExpiresAt: exp}, exp.UnixNano(), now.UnixNano())
	if _, ok := c.get(&k, exp.Add(-time.Nanosecond).UnixNano()); !ok {
		t.Error("missing just before exp")
	}
	if _, ok := c.get(&k, exp.UnixNano()); ok {
		t.Error("served at exp")
	}
}
