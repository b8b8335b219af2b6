package audit

import (
	"crypto/rand"
	"time"
)

// crockford is Crockford's base32 alphabet (no I, L, O, U), as ULIDs use.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// IDLen is the length of an event ID.
const IDLen = 26

// NewID returns a unique event ID that sorts lexicographically by t at
// millisecond precision: a ULID (48-bit Unix-millisecond timestamp, then 80
// random bits, 26 characters of Crockford base32). IDs made in the same
// millisecond are in random order; a Log orders its own with a per-Log
// counter. Times before 1970 map to 0. NewID is for code that writes audit
// rows inside its own transaction (admin use-cases) rather than through a
// Log.
func NewID(t time.Time) string {
	var rnd [10]byte
	// crypto/rand.Read never fails since Go 1.24.
	_, _ = rand.Read(rnd[:])
	return encodeID(unixMilli(t), &rnd)
}

func unixMilli(t time.Time) uint64 {
	ms := t.UnixMilli()
	switch {
	case ms < 0:
		return 0
	case ms >= 1<<48: // year 10889
		return 1<<48 - 1
	}
	return uint64(ms)
}

// encodeID writes the 128-bit value ms(48) || rnd(80) as 26 base32
// characters, most significant first (the top two of the 130 bits are 0).
func encodeID(ms uint64, rnd *[10]byte) string {
	hi := ms<<16 | uint64(rnd[0])<<8 | uint64(rnd[1])
	var lo uint64
	for _, b := range rnd[2:] {
		lo = lo<<8 | uint64(b)
	}
	var out [IDLen]byte
	for i := IDLen - 1; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// monotonic makes IDs that strictly increase within one millisecond, so
// that a Log's events sort in the order they were recorded (ULID's monotonic
// mode): the first ID of a millisecond has fresh random bits; later ones add
// one to them. Not safe for concurrent use; the Log guards it with its mutex.
type monotonic struct {
	ms    uint64
	rnd   [10]byte
	valid bool
}

func (m *monotonic) next(t time.Time) string {
	ms := unixMilli(t)
	if !m.valid || ms != m.ms || !increment(&m.rnd) {
		// New millisecond, or 2^80 IDs in this one: start over at random.
		m.ms, m.valid = ms, true
		_, _ = rand.Read(m.rnd[:])
	}
	return encodeID(m.ms, &m.rnd)
}

// increment adds one to the big-endian b and reports false on overflow.
func increment(b *[10]byte) bool {
	for i := len(b) - 1; i >= 0; i-- {
		b[i]++
		if b[i] != 0 {
			return true
		}
	}
	return false
}
