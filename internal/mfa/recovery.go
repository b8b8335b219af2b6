package mfa

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
)

const (
	// RecoveryCodeCount is how many recovery codes a set holds.
	RecoveryCodeCount = 10
	// recoveryAlphabet has no character a reader can take for another: no
	// 0/o, 1/i/l. 31 symbols, so a 10-character code carries
	// 10·log2(31) ≈ 49.5 bits.
	recoveryAlphabet = "23456789abcdefghjkmnpqrstuvwxyz"
	recoveryLength   = 10
)

// NewRecoveryCodes draws a set of RecoveryCodeCount single-use codes from
// crypto/rand, each ten characters of an unambiguous alphabet shown as
// "xxxxx-xxxxx". The caller shows them once and stores only their
// HashRecoveryCode; it never logs them.
func NewRecoveryCodes() ([]string, error) {
	codes := make([]string, 0, RecoveryCodeCount)
	seen := make(map[string]bool, RecoveryCodeCount)
	for len(codes) < RecoveryCodeCount {
		c, err := recoveryCode()
		if err != nil {
			return nil, err
		}
		if seen[c] { // two equal codes in a set would be one code
			continue
		}
		seen[c] = true
		codes = append(codes, c)
	}
	return codes, nil
}

// recoveryCode draws one code; bytes at or above 248 (8·31) are redrawn so
// that every symbol is equally likely.
func recoveryCode() (string, error) {
	const limit = 256 - 256%len(recoveryAlphabet)
	out := make([]byte, 0, recoveryLength+1)
	buf := make([]byte, 16)
	for len(out) < recoveryLength+1 {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("mfa: recovery code: %w", err)
		}
		for _, b := range buf {
			if int(b) >= limit {
				continue
			}
			if len(out) == recoveryLength/2 {
				out = append(out, '-')
			}
			out = append(out, recoveryAlphabet[int(b)%len(recoveryAlphabet)])
			if len(out) == recoveryLength+1 {
				break
			}
		}
	}
	return string(out), nil
}

// HashRecoveryCode is the hex HMAC-SHA-256 under key of the normalised
// code: lower-case, without white space and hyphens, so "ABCDE-FGHJK",
// "abcde fghjk" and "abcdefghjk" hash alike. key is the caller's secret for
// one user's codes (internal/admin derives it from the master key, bound to
// the tenant and user): a code carries about 50 bits, few enough to try
// them all offline against an unkeyed hash, so the database alone must not
// be able to check a guess. The store keeps only this hash and spends a
// code by it (store.Factors.UseRecoveryCode); an empty or all-separator
// input hashes the empty string, which no stored code has. It does not
// check that the code is well formed: an ill-formed code simply matches
// nothing.
func HashRecoveryCode(key []byte, code string) string {
	norm := strings.Map(func(r rune) rune {
		if r == '-' || unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToLower(r)
	}, code)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(norm))
	return hex.EncodeToString(m.Sum(nil))
}
