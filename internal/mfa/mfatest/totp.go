package mfatest

import (
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTPCode is the 6-digit RFC 6238 code (HMAC-SHA-1, 30-second steps) of
// the base32 secret at time t, as an authenticator app would show it. It
// panics on a secret that is not base32: a test's mistake.
func TOTPCode(secret string, t time.Time) string {
	code, err := totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		panic("mfatest: TOTPCode: " + err.Error())
	}
	return code
}
