package model

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// ValidText reports whether s is text every storage backend keeps as it
// was given: valid UTF-8 with no NUL byte. SQLite stores anything, but
// PostgreSQL refuses both in a text column or parameter (SQLSTATE 22021,
// character_not_in_repertoire), so a request that reached the database
// with either would fail there as a server error instead of a 400.
//
// It is the one rule of the request edges (the OAuth and login form
// readers, the platform API's parameters and JSON bodies): check it there,
// before anything reaches a store. It says nothing about length or about
// the characters a particular field allows.
func ValidText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// InvalidParam returns the name of a parameter of params (a url.Values:
// query and form parameters) whose name or one of whose values is not
// ValidText, and false when every one is text. When several are bad it
// names the first in byte order, so the answer does not depend on map
// order. The returned name may itself be the bad text: echo it only after
// bounding it.
func InvalidParam(params map[string][]string) (string, bool) {
	var bad []string
	for k, vs := range params {
		if !ValidText(k) || slices.ContainsFunc(vs, func(v string) bool { return !ValidText(v) }) {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return "", false
	}
	return slices.Min(bad), true
}
