package mfa_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/mfa"
)

const alphabet = "23456789abcdefghjkmnpqrstuvwxyz"

func TestNewRecoveryCodes(t *testing.T) {
	shape := regexp.MustCompile(`^[` + alphabet + `]{5}-[` + alphabet + `]{5}$`)
	seen := map[string]bool{}
	symbols := map[rune]int{}
	for range 100 {
		codes, err := mfa.NewRecoveryCodes()
		if err != nil {
			t.Fatal(err)
		}
		if len(codes) != 10 {
			t.Fatalf("%d codes, want 10", len(codes))
		}
		for _, c := range codes {
			if !shape.MatchString(c) {
				t.Fatalf("code %q is not xxxxx-xxxxx of the unambiguous alphabet", c)
			}
			if seen[c] {
				t.Fatalf("code %q drawn twice in 1,000 codes of ~49.5 bits", c)
			}
			seen[c] = true
			for _, r := range strings.ReplaceAll(c, "-", "") {
				symbols[r]++
			}
		}
	}
	// 10,000 symbols over 31: each expected ~323 times; a symbol never drawn,
	// or drawn far too often, means a biased or short alphabet.
	if len(symbols) != len(alphabet) {
		t.Fatalf("%d distinct symbols drawn, want %d", len(symbols), len(alphabet))
	}
	for r, n := range symbols {
		if n < 200 || n > 450 {
			t.Errorf("symbol %q drawn %d times of 10,000 (expected ~323)", r, n)
		}
	}
	for _, amb := range "01ilo" {
		if symbols[amb] != 0 {
			t.Errorf("ambiguous symbol %q used", amb)
		}
	}
}

func TestHashRecoveryCode(t *testing.T) {
	key := []byte("a key of the caller's")
	// HMAC-SHA-256(key, "abcdefghjk"), computed independently.
	const want = "666bbe845beb505fcb4d1f6176b91748f2f9fe1f64586ce0ea24fbf32320f34b"
	for _, in := range []string{"abcde-fghjk", "ABCDE-FGHJK", "abcde fghjk", "abcdefghjk", " AbCdE - fGhJk\n", "ab-cd-ef-gh-jk"} {
		if got := mfa.HashRecoveryCode(key, in); got != want {
			t.Errorf("HashRecoveryCode(%q) = %s, want %s", in, got, want)
		}
	}
	if mfa.HashRecoveryCode(key, "abcde-fghjm") == want {
		t.Error("a different code hashes alike")
	}
	if mfa.HashRecoveryCode([]byte("another key"), "abcde-fghjk") == want {
		t.Error("another key hashes alike")
	}
	if h := mfa.HashRecoveryCode(key, " - "); h == want || len(h) != 64 {
		t.Errorf("HashRecoveryCode of separators only = %s", h)
	}
}
