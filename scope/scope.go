package scope

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// MaxTokens bounds how many scope tokens one value may carry: generous (an
// application allowed a thousand scopes may ask for all of them at once),
// while parsing stays linear and cheap for hostile input.
const MaxTokens = 1000

// MaxLength bounds the raw scope value in bytes (64 KiB).
const MaxLength = 64 << 10

// Errors of Parse; compare with errors.Is.
var (
	// ErrMalformed: the value breaks the RFC 6749 §3.3 grammar.
	ErrMalformed = errors.New("malformed scope")
	// ErrTooLarge: the value is well-formed as far as read but exceeds
	// MaxTokens or MaxLength — a size limit, not a syntax error, and
	// reported as such.
	ErrTooLarge = errors.New("scope value too large")
)

// ValidToken reports whether s is one RFC 6749 §3.3 scope-token:
//
//	scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
//
// that is, printable ASCII except space, double quote and backslash.
func ValidToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// Parse splits a scope parameter per RFC 6749 §3.3: "The value of the scope
// parameter is expressed as a list of space-delimited, case-sensitive
// strings." Duplicates collapse. Any character outside the scope-token
// grammar, a tab, or a leading, trailing or doubled space makes the whole
// value malformed (ErrMalformed); more than MaxLength bytes or MaxTokens
// scopes is ErrTooLarge. An empty value yields an empty Set.
func Parse(raw string) (Set, error) {
	if raw == "" {
		return Set{}, nil
	}
	if len(raw) > MaxLength {
		return Set{}, fmt.Errorf("%w: %d bytes, longer than %d", ErrTooLarge, len(raw), MaxLength)
	}
	if n := strings.Count(raw, " ") + 1; n > MaxTokens {
		return Set{}, fmt.Errorf("%w: %d scopes, more than %d", ErrTooLarge, n, MaxTokens)
	}
	parts := strings.Split(raw, " ")
	for _, p := range parts {
		if p == "" {
			return Set{}, fmt.Errorf("%w: scopes must be separated by single spaces", ErrMalformed)
		}
		if !ValidToken(p) {
			return Set{}, fmt.Errorf("%w: %q contains a character outside RFC 6749 §3.3 scope-token", ErrMalformed, truncate(p))
		}
	}
	return New(parts...), nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// Set is an immutable, sorted, duplicate-free set of scope names. The zero
// value is the empty set. Set is a value: methods never modify the receiver.
type Set struct {
	names []string // sorted, unique
}

// New returns the set of the given names; duplicates collapse. Names are not
// validated: use Parse for untrusted input.
func New(names ...string) Set {
	if len(names) == 0 {
		return Set{}
	}
	s := slices.Clone(names)
	slices.Sort(s)
	return Set{names: slices.Compact(s)}
}

// Len is the number of names in the set.
func (s Set) Len() int { return len(s.names) }

// Empty reports whether the set has no names.
func (s Set) Empty() bool { return len(s.names) == 0 }

// Has reports whether name is in the set.
func (s Set) Has(name string) bool {
	_, ok := slices.BinarySearch(s.names, name)
	return ok
}

// Names returns the sorted names; the caller may modify the returned slice.
func (s Set) Names() []string { return slices.Clone(s.names) }

// All iterates the names in order.
func (s Set) All() func(yield func(string) bool) {
	return func(yield func(string) bool) {
		for _, n := range s.names {
			if !yield(n) {
				return
			}
		}
	}
}

// String is the RFC 6749 §3.3 space-delimited form, sorted.
func (s Set) String() string { return strings.Join(s.names, " ") }

// Union returns the names in s or o.
func (s Set) Union(o Set) Set {
	out := make([]string, 0, len(s.names)+len(o.names))
	out = append(out, s.names...)
	out = append(out, o.names...)
	return New(out...)
}

// Intersect returns the names in both s and o.
func (s Set) Intersect(o Set) Set {
	var out []string
	for _, n := range s.names {
		if o.Has(n) {
			out = append(out, n)
		}
	}
	return Set{names: out}
}

// Minus returns the names in s and not in o.
func (s Set) Minus(o Set) Set {
	var out []string
	for _, n := range s.names {
		if !o.Has(n) {
			out = append(out, n)
		}
	}
	return Set{names: out}
}

// Contains reports whether every name of o is in s.
func (s Set) Contains(o Set) bool {
	for _, n := range o.names {
		if !s.Has(n) {
			return false
		}
	}
	return true
}

// Equal reports whether s and o hold the same names.
func (s Set) Equal(o Set) bool { return slices.Equal(s.names, o.names) }

// Closure returns s expanded with everything its names imply, transitively.
// implies returns the direct implications of one name; cycles are harmless.
func (s Set) Closure(implies func(name string) []string) Set {
	seen := make(map[string]struct{}, len(s.names))
	queue := slices.Clone(s.names)
	for len(queue) > 0 {
		n := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if _, ok := seen[n]; ok {
			continue
		}
		seen[n] = struct{}{}
		queue = append(queue, implies(n)...)
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	return New(out...)
}
