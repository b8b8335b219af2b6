package scope

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name    string
		raw     string
		want    string
		wantErr bool
	}{
		{"empty is the empty set", "", "", false},
		{"RFC 6749 §3.3 space-delimited", "openid profile read:transactions", "openid profile read:transactions", false},
		{"RFC 6749 §3.3 duplicates collapse", "b a b", "a b", false},
		{"RFC 6749 §3.3 case-sensitive", "Read read", "Read read", false},
		{"RFC 6749 §3.3 every allowed punctuation", "!#[]~ a/b.c-d_e:f", "!#[]~ a/b.c-d_e:f", false},
		{"RFC 6749 §3.3 double quote forbidden", `a"b`, "", true},
		{"RFC 6749 §3.3 backslash forbidden", `a\b`, "", true},
		{"RFC 6749 §3.3 tab forbidden", "a\tb", "", true},
		{"RFC 6749 §3.3 non-ASCII forbidden", "lecture:données", "", true},
		{"RFC 6749 §3.3 control character forbidden", "a\x00b", "", true},
		{"RFC 6749 §3.3 DEL forbidden", "a\x7f", "", true},
		{"leading space", " a", "", true},
		{"trailing space", "a ", "", true},
		{"double space", "a  b", "", true},
		{"only a space", " ", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Parse(c.raw)
			if c.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("Parse(%q) error = %v, want ErrMalformed", c.raw, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.raw, err)
			}
			if got.String() != c.want {
				t.Fatalf("Parse(%q) = %q, want %q", c.raw, got, c.want)
			}
		})
	}
}

func TestParseBounds(t *testing.T) {
	long := make([]byte, MaxLength+1)
	for i := range long {
		long[i] = 'a'
	}
	if _, err := Parse(string(long)); !errors.Is(err, ErrTooLarge) || errors.Is(err, ErrMalformed) {
		t.Fatalf("over-long scope: %v, want ErrTooLarge (a size, not malformed)", err)
	}
	if _, err := Parse(string(long[:MaxLength])); err != nil {
		t.Fatalf("exactly MaxLength bytes refused: %v", err)
	}
	// Issue 12: a thousand distinct scopes is a legitimate request.
	names := make([]string, MaxTokens)
	for i := range names {
		names[i] = fmt.Sprintf("api:scope-%04d", i)
	}
	if got, err := Parse(strings.Join(names, " ")); err != nil || got.Len() != MaxTokens {
		t.Fatalf("%d scopes: %d parsed, %v", MaxTokens, got.Len(), err)
	}
	if MaxTokens < 1000 || MaxLength < 64<<10 {
		t.Fatalf("limits %d scopes / %d bytes are below issue 12's 1,000 / 64 KiB", MaxTokens, MaxLength)
	}
	if _, err := Parse(strings.Join(append(names, "one-more"), " ")); !errors.Is(err, ErrTooLarge) || errors.Is(err, ErrMalformed) {
		t.Fatalf("too many scopes: %v, want ErrTooLarge", err)
	}
}

func TestSetAlgebra(t *testing.T) {
	a, b := New("x", "y", "z"), New("y", "w")
	if got := a.Union(b).String(); got != "w x y z" {
		t.Errorf("Union = %q", got)
	}
	if got := a.Intersect(b).String(); got != "y" {
		t.Errorf("Intersect = %q", got)
	}
	if got := a.Minus(b).String(); got != "x z" {
		t.Errorf("Minus = %q", got)
	}
	if !a.Contains(New("x", "z")) || a.Contains(b) {
		t.Errorf("Contains wrong")
	}
	if !New("b", "a", "a").Equal(New("a", "b")) {
		t.Errorf("Equal wrong")
	}
	names := a.Names()
	names[0] = "mutated"
	if !a.Has("x") || a.Has("mutated") {
		t.Errorf("Names leaked internal slice")
	}
	var zero Set
	if !zero.Empty() || zero.String() != "" || zero.Has("x") {
		t.Errorf("zero Set not empty")
	}
}

func TestClosure(t *testing.T) {
	implies := map[string][]string{
		"admin:write": {"user:write", "admin:read"},
		"admin:read":  {"user:read"},
		"user:write":  {"user:read"},
		"loop:a":      {"loop:b"},
		"loop:b":      {"loop:a"},
	}
	f := func(n string) []string { return implies[n] }
	if got := New("admin:write").Closure(f).String(); got != "admin:read admin:write user:read user:write" {
		t.Errorf("Closure = %q", got)
	}
	if got := New("loop:a").Closure(f).String(); got != "loop:a loop:b" {
		t.Errorf("cyclic Closure = %q", got)
	}
	if got := New("plain").Closure(f).String(); got != "plain" {
		t.Errorf("Closure of plain = %q", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "a b", "a  b", "\xff", `a"`, "openid profile"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		s, err := Parse(raw)
		if err != nil {
			return
		}
		for n := range s.All() {
			if !ValidToken(n) {
				t.Fatalf("Parse(%q) yielded invalid token %q", raw, n)
			}
		}
		again, err := Parse(s.String())
		if err != nil || !again.Equal(s) {
			t.Fatalf("round trip of %q failed: %v", raw, err)
		}
	})
}
