package oauth

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// The client ID of oauth.client_authentication_failed is whatever the
// caller sent: it must reach the audit log (and PostgreSQL, which refuses
// NUL and invalid UTF-8) valid, without control characters, and bounded.
func TestPresentedClientID(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"a plain ID is kept", "reporting-job", "reporting-job"},
		{"NUL and other controls are replaced", "a\x00b\nc\x7fd\u0085e", "a\uFFFDb\uFFFDc\uFFFDd\uFFFDe"},
		{"invalid UTF-8 is replaced", "a\xffb", "a\uFFFDb"},
		{"cut at maxPresentedID bytes", strings.Repeat("x", 300), strings.Repeat("x", maxPresentedID)},
		{"cut on a rune boundary", strings.Repeat("x", maxPresentedID-1) + "é", strings.Repeat("x", maxPresentedID-1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := presentedClientID(c.in)
			if got != c.want {
				t.Errorf("presentedClientID(%q) = %q, want %q", c.in, got, c.want)
			}
			if !utf8.ValidString(got) || len(got) > maxPresentedID {
				t.Errorf("%q is not valid UTF-8 of at most %d bytes", got, maxPresentedID)
			}
		})
	}
}
