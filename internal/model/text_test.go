package model

import "testing"

// TestValidTextRefusesWhatPostgreSQLRefuses: NUL and invalid UTF-8 are not
// text a store keeps (PostgreSQL: SQLSTATE 22021); everything else is.
func TestValidTextRefusesWhatPostgreSQLRefuses(t *testing.T) {
	for s, want := range map[string]bool{
		"":             true,
		"alice":        true,
		"Zoë 東京 🙂":     true,
		"tab\tand\nnl": true,
		"a\x00b":       false,
		"\x00":         false,
		"a\xffb":       false,
		"\xc3(":        false, // a truncated two-byte sequence
		"\xed\xa0\x80": false, // an encoded UTF-16 surrogate
	} {
		if got := ValidText(s); got != want {
			t.Errorf("ValidText(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestInvalidParamNamesTheFirstBadParameter(t *testing.T) {
	cases := []struct {
		name   string
		params map[string][]string
		want   string
		bad    bool
	}{
		{"all text", map[string][]string{"a": {"1"}, "b": {"x", "y"}}, "", false},
		{"none", nil, "", false},
		{"NUL in a value", map[string][]string{"login": {"a\x00b"}, "request": {"r"}}, "login", true},
		{"invalid UTF-8 in a later value", map[string][]string{"scope": {"ok", "\xff"}}, "scope", true},
		{"bad name", map[string][]string{"\xff": {"v"}}, "\xff", true},
		{"several: the first in byte order", map[string][]string{"z": {"\x00"}, "b": {"\x00"}, "m": {"\xff"}}, "b", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, bad := InvalidParam(c.params)
			if got != c.want || bad != c.bad {
				t.Errorf("InvalidParam = %q, %v; want %q, %v", got, bad, c.want, c.bad)
			}
		})
	}
}
