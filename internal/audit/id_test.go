package audit

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// decodeTime reads the millisecond timestamp of an ID back.
func decodeTime(t *testing.T, id string) uint64 {
	t.Helper()
	var ms uint64
	for _, c := range id[:10] {
		i := strings.IndexRune(crockford, c)
		if i < 0 {
			t.Fatalf("ID %q has a character outside Crockford base32", id)
		}
		ms = ms<<5 | uint64(i)
	}
	return ms
}

func TestEncodeIDVectors(t *testing.T) {
	var zero, ones [10]byte
	for i := range ones {
		ones[i] = 0xff
	}
	cases := []struct {
		ms   uint64
		rnd  *[10]byte
		want string
	}{
		{0, &zero, "00000000000000000000000000"},
		{1<<48 - 1, &ones, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"}, // the largest ULID
		{1, &zero, "00000000010000000000000000"},
		{0, &[10]byte{9: 1}, "00000000000000000000000001"},
		// The ULID specification's example.
		{1469922850259, &[10]byte{0xd6, 0x76, 0x4c, 0x61, 0xef, 0xb9, 0x93, 0x02, 0xbd, 0x5b}, "01ARZ3NDEKTSV4RRFFQ69G5FAV"},
	}
	for _, c := range cases {
		if got := encodeID(c.ms, c.rnd); got != c.want {
			t.Errorf("encodeID(%d, %x) = %s, want %s", c.ms, *c.rnd, got, c.want)
		}
	}
}

func TestNewID(t *testing.T) {
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	var ids []string
	for i := range 1000 {
		at := base.Add(time.Duration(i) * time.Millisecond)
		id := NewID(at)
		if len(id) != IDLen {
			t.Fatalf("ID %q is %d characters", id, len(id))
		}
		if got := decodeTime(t, id); got != uint64(at.UnixMilli()) {
			t.Fatalf("ID %s encodes %d ms, want %d", id, got, at.UnixMilli())
		}
		if seen[id] {
			t.Fatalf("duplicate ID %s", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if !slices.IsSorted(ids) {
		t.Error("IDs of increasing milliseconds do not sort by time")
	}
	// Same millisecond: unique, though in random order.
	a, b := NewID(base), NewID(base)
	if a == b || a[:10] != b[:10] {
		t.Errorf("same-millisecond IDs %s %s", a, b)
	}
	if got := decodeTime(t, NewID(time.Time{})); got != 0 {
		t.Errorf("zero time encodes %d ms, want 0", got)
	}
}

func TestMonotonic(t *testing.T) {
	var m monotonic
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	prev := ""
	for i := range 10000 {
		id := m.next(at)
		if id <= prev {
			t.Fatalf("ID %d: %s does not follow %s", i, id, prev)
		}
		prev = id
	}
	if later := m.next(at.Add(time.Millisecond)); later <= prev {
		t.Errorf("next millisecond %s does not follow %s", later, prev)
	}

	// Overflow of the 80 random bits starts over at random in the same
	// millisecond: still a valid ID of that millisecond, never an error.
	m = monotonic{ms: uint64(at.UnixMilli()), valid: true}
	for i := range m.rnd {
		m.rnd[i] = 0xff
	}
	if id := m.next(at); decodeTime(t, id) != uint64(at.UnixMilli()) {
		t.Errorf("after overflow: %s", id)
	}
}
