package sqlstore

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Fixed audit_names IDs seeded by migration 0010 (partial indexes rely on
// them).
const (
	nameTokenIssued int64 = 1
	nameEmpty       int64 = 2
)

// maxCachedNames bounds the interned-name cache: past it the cache starts
// over (names are many only when subjects are).
const maxCachedNames = 1 << 17

// names caches audit_names both ways. An entry is added only for a name
// known committed (auto-commit writes and reads outside InTx): an ID read
// or made inside a transaction that later rolls back could be reused for
// another name by SQLite.
type names struct {
	mu     sync.RWMutex
	byName map[string]int64
	byID   map[int64]string
}

func newNames() *names {
	return &names{byName: map[string]int64{"oauth.token_issued": nameTokenIssued, "": nameEmpty},
		byID: map[int64]string{nameTokenIssued: "oauth.token_issued", nameEmpty: ""}}
}

func (n *names) add(m map[string]int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.byName)+len(m) > maxCachedNames {
		fresh := newNames()
		n.byName, n.byID = fresh.byName, fresh.byID
	}
	for s, id := range m {
		n.byName[s], n.byID[id] = id, s
	}
}

// intern returns the ID of every name in want, creating the missing ones
// with q (inside the caller's write transaction). created holds the IDs
// not taken from the cache, for the caller to cache after its commit.
func (x repos) intern(ctx context.Context, q querier, want map[string]int64) (created map[string]int64, err error) {
	var missing []string
	x.db.names.mu.RLock()
	for s := range want {
		if id, ok := x.db.names.byName[s]; ok {
			want[s] = id
		} else {
			missing = append(missing, s)
		}
	}
	x.db.names.mu.RUnlock()
	if len(missing) == 0 {
		return nil, nil
	}
	args := make([]any, len(missing))
	for i, s := range missing {
		args[i] = s
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO audit_names (name) VALUES `)
	for i := range missing {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "($%d)", i+1)
	}
	b.WriteString(` ON CONFLICT (name) DO NOTHING`)
	if _, err := q.ExecContext(ctx, b.String(), args...); err != nil {
		return nil, fmt.Errorf("intern audit names: %w", err)
	}
	got, err := lookupNames(ctx, q, missing)
	if err != nil {
		return nil, err
	}
	for _, s := range missing {
		id, ok := got[s]
		if !ok {
			return nil, fmt.Errorf("intern audit names: %q not found after insert", s)
		}
		want[s] = id
	}
	return got, nil
}

// lookupNames returns the IDs of the names that exist.
func lookupNames(ctx context.Context, q querier, ss []string) (map[string]int64, error) {
	out := make(map[string]int64, len(ss))
	for len(ss) > 0 {
		n := min(len(ss), 500)
		args := make([]any, n)
		ph := make([]string, n)
		for i, s := range ss[:n] {
			args[i], ph[i] = s, fmt.Sprintf("$%d", i+1)
		}
		rows, err := q.QueryContext(ctx, `SELECT id, name FROM audit_names WHERE name IN (`+strings.Join(ph, ", ")+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("look up audit names: %w", err)
		}
		for rows.Next() {
			var id int64
			var s string
			if err := rows.Scan(&id, &s); err != nil {
				rows.Close()
				return nil, err
			}
			out[s] = id
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		ss = ss[n:]
	}
	return out, nil
}

// nameIDs resolves names for a query's filters without creating any: a
// name never interned has no event, reported by ok false.
func (x repos) nameIDs(ctx context.Context, ss ...string) (ids []int64, ok bool, err error) {
	ids = make([]int64, len(ss))
	var missing []string
	x.db.names.mu.RLock()
	for i, s := range ss {
		if id, hit := x.db.names.byName[s]; hit {
			ids[i] = id
		} else {
			missing = append(missing, s)
		}
	}
	x.db.names.mu.RUnlock()
	if len(missing) == 0 {
		return ids, true, nil
	}
	got, err := lookupNames(ctx, x.read(), missing)
	if err != nil {
		return nil, false, err
	}
	if x.tx == nil {
		x.db.names.add(got)
	}
	for i, s := range ss {
		if ids[i] == 0 {
			id, hit := got[s]
			if !hit {
				return nil, false, nil
			}
			ids[i] = id
		}
	}
	return ids, true, nil
}

// namesOf returns the name of every ID in ids.
func (x repos) namesOf(ctx context.Context, ids map[int64]string) error {
	var missing []any
	x.db.names.mu.RLock()
	for id := range ids {
		if s, hit := x.db.names.byID[id]; hit {
			ids[id] = s
		} else {
			missing = append(missing, id)
		}
	}
	x.db.names.mu.RUnlock()
	if len(missing) == 0 {
		return nil
	}
	got := map[string]int64{}
	for len(missing) > 0 {
		n := min(len(missing), 500)
		ph := make([]string, n)
		for i := range n {
			ph[i] = fmt.Sprintf("$%d", i+1)
		}
		rows, err := x.read().QueryContext(ctx, `SELECT id, name FROM audit_names WHERE id IN (`+strings.Join(ph, ", ")+`)`, missing[:n]...)
		if err != nil {
			return fmt.Errorf("read audit names: %w", err)
		}
		for rows.Next() {
			var id int64
			var s string
			if err := rows.Scan(&id, &s); err != nil {
				rows.Close()
				return err
			}
			ids[id], got[s] = s, id
		}
		if err := rows.Close(); err != nil {
			return err
		}
		missing = missing[n:]
	}
	if x.tx == nil {
		x.db.names.add(got)
	}
	return nil
}

// detailsDict primes zstd with what token events' details repeat, so a
// ~270-byte oauth.token_issued document is stored in ~80 bytes. Changing it
// makes stored details unreadable: add a new dictionary ID instead.
const detailsDict = `"not_in_grant","not_entitled","wrong_audience","not_registered","not_allowed","default","implied",` +
	`"step_up_required","sender_constraint_required","error":"invalid_scope","error_description":"","note":"",` +
	`"id_token":true,"refresh_family":"","token_size_budget":,"over_budget":true,"via":"api","before":{"after":{"added":["removed":["` +
	`{"grant_type":"refresh_token","grant_type":"authorization_code","requested":["openid","profile","email","offline_access"],` +
	`"granted":["openid","profile"],"results":[{"scope":"openid","granted":true,"reason":"granted"},` +
	`{"scope":"","granted":false,"reason":"not_allowed"},{"scope":"","granted":true,"reason":"granted"}],` +
	`"jti":"01K","expires_at":"2026-12-03T20:00:00Z","token_size":{"grant_type":"client_credentials","requested":["`

// zstdMagic starts every zstd frame; JSON never starts with it, so details
// stored as JSON text (rows migrated by 0010) are told apart.
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// codec compresses audit details. Encoder.EncodeAll and Decoder.DecodeAll
// are safe for concurrent use.
type codec struct {
	enc *zstd.Encoder
	dec *zstd.Decoder
}

func newCodec() (*codec, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderDictRaw(1, []byte(detailsDict)), zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderCRC(false), zstd.WithSingleSegment(true))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: audit details encoder: %w", err)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderDictRaw(1, []byte(detailsDict)), zstd.WithDecoderConcurrency(0),
		zstd.WithDecoderMaxMemory(1<<24))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: audit details decoder: %w", err)
	}
	return &codec{enc: enc, dec: dec}, nil
}

func (c *codec) compress(js []byte) []byte {
	if len(js) == 0 {
		return nil
	}
	return c.enc.EncodeAll(js, make([]byte, 0, len(js)/2+16))
}

func (c *codec) decompress(b []byte) ([]byte, error) {
	if !bytes.HasPrefix(b, zstdMagic) {
		return b, nil
	}
	out, err := c.dec.DecodeAll(b, nil)
	if err != nil {
		return nil, fmt.Errorf("decompress audit details: %w", err)
	}
	return out, nil
}
