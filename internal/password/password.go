package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters (RFC 9106 §3.1).
type Params struct {
	// MemoryKiB is m, the memory in KiB.
	MemoryKiB uint32
	// Time is t, the number of passes.
	Time uint32
	// Threads is p, the degree of parallelism.
	Threads uint8
	// SaltLen and KeyLen are the salt and tag lengths in bytes.
	SaltLen, KeyLen uint32
}

// Default returns the parameters Hash uses: m=64 MiB, t=1, p=1, a 16-byte
// salt (RFC 9106 §3.1 recommends 128 bits) and a 32-byte tag. See the
// package documentation for the measurement behind them.
func Default() Params {
	return Params{MemoryKiB: 64 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Generated returns the parameters for a password the server generated
// itself with at least 80 random bits (serve --demo's users): the OWASP
// Password Storage Cheat Sheet's argon2id floor, m=19 MiB, t=2, p=1. Against
// 2^80 guesses the hash's cost adds nothing an attacker would notice, so the
// floor suffices and a start-up that seeds several such users stays small in
// memory (19 MiB per hash instead of 64). A chosen password must never use
// them: Hash and Default are for those. The next successful sign-in
// rehashes with Default (NeedsRehash).
func Generated() Params {
	return Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Bounds on parameters read from a stored string. A string outside them is
// malformed: Verify refuses it rather than spend what it asks for.
const (
	MaxMemoryKiB = 256 * 1024 // 256 MiB
	MaxTime      = 16
	MaxThreads   = 16
	minSaltLen   = 8 // RFC 9106 §3.1: "8 bytes … 16 bytes recommended"
	maxSaltLen   = 64
	minKeyLen    = 16
	maxKeyLen    = 64
)

// Policy bounds (OWASP Authentication Cheat Sheet, "Implement Proper
// Password Strength Controls": at least 8 characters, allow at least 64,
// no composition rules).
const (
	MinLength = 8
	MaxLength = 256
)

// Errors. Callers compare with errors.Is.
var (
	// ErrMalformed: the stored string is not an argon2id PHC string this
	// package accepts (wrong algorithm, version, encoding or bounds).
	ErrMalformed = errors.New("password: malformed hash")
	// ErrPolicy: a new password breaks the policy; the wrapped message says
	// how, in a sentence a person can act on.
	ErrPolicy = errors.New("password does not meet the policy")
)

const (
	prefix  = "$argon2id$"
	version = argon2.Version // 0x13 = 19
)

var b64 = base64.RawStdEncoding // PHC strings use unpadded standard base64

// Hash returns the argon2id PHC string of plain with the Default parameters
// and a fresh random salt:
//
//	$argon2id$v=19$m=65536,t=1,p=1$<salt>$<tag>
//
// It does not apply the policy (Check); callers that set a password do.
func Hash(plain string) (string, error) { return HashWith(plain, Default()) }

// HashWith is Hash with explicit parameters, which must be within the
// bounds Verify accepts.
func HashWith(plain string, p Params) (string, error) {
	if err := p.valid(); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: read random salt: %w", err)
	}
	key := argon2.IDKey([]byte(plain), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	return encode(p, salt, key), nil
}

func encode(p Params, salt, key []byte) string {
	var b strings.Builder
	b.Grow(len(prefix) + 40 + b64.EncodedLen(len(salt)) + b64.EncodedLen(len(key)))
	b.WriteString(prefix)
	b.WriteString("v=")
	b.WriteString(strconv.Itoa(version))
	b.WriteString("$m=")
	b.WriteString(strconv.FormatUint(uint64(p.MemoryKiB), 10))
	b.WriteString(",t=")
	b.WriteString(strconv.FormatUint(uint64(p.Time), 10))
	b.WriteString(",p=")
	b.WriteString(strconv.FormatUint(uint64(p.Threads), 10))
	b.WriteByte('$')
	b.WriteString(b64.EncodeToString(salt))
	b.WriteByte('$')
	b.WriteString(b64.EncodeToString(key))
	return b.String()
}

// Verify reports whether plain matches the PHC string phc. The tags are
// compared in constant time (crypto/subtle), and the work done depends only
// on the parameters in phc, not on plain. A malformed or out-of-bounds
// string returns false and an error wrapping ErrMalformed; Verify never
// panics.
func Verify(phc, plain string) (bool, error) {
	p, salt, key, err := decode(phc)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(plain), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// NeedsRehash reports whether phc should be replaced by a fresh Hash: it is
// malformed, or any of its parameters differs from Default (weaker ones are
// upgraded; stronger ones brought back to what the server can afford).
func NeedsRehash(phc string) bool {
	p, _, _, err := decode(phc)
	if err != nil {
		return true
	}
	d := Default()
	return p.MemoryKiB != d.MemoryKiB || p.Time != d.Time || p.Threads != d.Threads ||
		p.SaltLen != d.SaltLen || p.KeyLen != d.KeyLen
}

// Check applies the password policy to a new password: 8 to 256 bytes of
// valid UTF-8. It says nothing about strength beyond length (no composition
// rules, per NIST SP 800-63B §5.1.1.2); a breached-password check belongs
// to the caller.
func Check(plain string) error {
	switch {
	case !utf8.ValidString(plain):
		return fmt.Errorf("%w: it must be valid UTF-8 text", ErrPolicy)
	case len(plain) < MinLength:
		return fmt.Errorf("%w: it must be at least %d characters long", ErrPolicy, MinLength)
	case len(plain) > MaxLength:
		return fmt.Errorf("%w: it must be at most %d bytes long", ErrPolicy, MaxLength)
	}
	return nil
}

// valid checks p against the bounds Verify enforces.
func (p Params) valid() error {
	switch {
	case p.MemoryKiB > MaxMemoryKiB || p.MemoryKiB < 8*uint32(p.Threads):
		return fmt.Errorf("%w: memory %d KiB out of bounds", ErrMalformed, p.MemoryKiB)
	case p.Time < 1 || p.Time > MaxTime:
		return fmt.Errorf("%w: time %d out of bounds", ErrMalformed, p.Time)
	case p.Threads < 1 || p.Threads > MaxThreads:
		return fmt.Errorf("%w: parallelism %d out of bounds", ErrMalformed, p.Threads)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("%w: salt of %d bytes", ErrMalformed, p.SaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("%w: tag of %d bytes", ErrMalformed, p.KeyLen)
	}
	return nil
}

// decode parses "$argon2id$v=19$m=M,t=T,p=P$salt$tag" strictly: exactly
// these fields in this order, decimal numbers without sign or leading
// zeros, canonical unpadded base64.
func decode(phc string) (Params, []byte, []byte, error) {
	var p Params
	if len(phc) > 512 {
		return p, nil, nil, fmt.Errorf("%w: too long", ErrMalformed)
	}
	rest, ok := strings.CutPrefix(phc, prefix)
	if !ok {
		return p, nil, nil, fmt.Errorf("%w: not an argon2id string", ErrMalformed)
	}
	parts := strings.Split(rest, "$")
	if len(parts) != 4 {
		return p, nil, nil, fmt.Errorf("%w: want 4 fields after the algorithm, got %d", ErrMalformed, len(parts))
	}
	v, ok := strings.CutPrefix(parts[0], "v=")
	if !ok || v != strconv.Itoa(version) {
		return p, nil, nil, fmt.Errorf("%w: unsupported version %q", ErrMalformed, parts[0])
	}
	params := strings.Split(parts[1], ",")
	if len(params) != 3 {
		return p, nil, nil, fmt.Errorf("%w: want m, t and p", ErrMalformed)
	}
	var vals [3]uint64
	for i, name := range [3]string{"m", "t", "p"} {
		s, ok := strings.CutPrefix(params[i], name+"=")
		if !ok {
			return p, nil, nil, fmt.Errorf("%w: want parameter %s", ErrMalformed, name)
		}
		n, err := parseUint(s)
		if err != nil {
			return p, nil, nil, fmt.Errorf("%w: parameter %s: %v", ErrMalformed, name, err)
		}
		vals[i] = n
	}
	if vals[0] > MaxMemoryKiB || vals[1] > MaxTime || vals[2] > MaxThreads {
		return p, nil, nil, fmt.Errorf("%w: parameters out of bounds", ErrMalformed)
	}
	p.MemoryKiB, p.Time, p.Threads = uint32(vals[0]), uint32(vals[1]), uint8(vals[2])
	salt, err := decodeB64(parts[2])
	if err != nil {
		return p, nil, nil, fmt.Errorf("%w: salt: %v", ErrMalformed, err)
	}
	key, err := decodeB64(parts[3])
	if err != nil {
		return p, nil, nil, fmt.Errorf("%w: tag: %v", ErrMalformed, err)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.valid(); err != nil {
		return p, nil, nil, err
	}
	return p, salt, key, nil
}

// parseUint accepts 1–10 decimal digits without a leading zero (so each
// value has one spelling).
func parseUint(s string) (uint64, error) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, errors.New("not a canonical decimal number")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("not a canonical decimal number")
		}
	}
	return strconv.ParseUint(s, 10, 64)
}

// decodeB64 decodes unpadded standard base64 and refuses non-canonical
// encodings (trailing bits set) and the line breaks encoding/base64 would
// skip, so each hash has one spelling.
func decodeB64(s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/') {
			return nil, errors.New("not unpadded standard base64")
		}
	}
	b, err := b64.Strict().DecodeString(s)
	if err != nil {
		return nil, err
	}
	return b, nil
}
