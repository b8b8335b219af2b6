package mfa

import (
	"bytes"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// The TOTP parameters every authenticator app understands (RFC 6238 §4 with
// the defaults of Google Authenticator): HMAC-SHA-1, 6 digits, 30 seconds.
const (
	// TOTPPeriod is the time step X of RFC 6238 §4.1.
	TOTPPeriod = 30 * time.Second
	// TOTPDigits is the length of a code.
	TOTPDigits = 6
	// TOTPSkew is how many steps before and after the current one are
	// accepted, for clock drift and typing time (RFC 6238 §5.2 recommends at
	// most one).
	TOTPSkew = 1
	// totpSecretBytes is the secret's length: 160 bits, as RFC 4226 §4 R6
	// recommends.
	totpSecretBytes = 20
	// totpMinSecretBytes is RFC 4226 §4 R6's floor: 128 bits.
	totpMinSecretBytes = 16
	// qrPixels is the side of the QR code image.
	qrPixels = 200
)

// TOTPKey is a new TOTP secret and how to hand it to an authenticator app.
// Secret is the shared secret: the caller seals it before storing it and
// never logs it.
type TOTPKey struct {
	// Secret is the base32 secret (RFC 4648 alphabet, no padding), for users
	// who type it instead of scanning the QR code.
	Secret string
	// URI is the otpauth://totp/… key URI that the QR code encodes; it holds
	// the secret.
	URI string
}

// NewTOTP draws a fresh 160-bit secret from crypto/rand for the account
// accountName at issuerName (both shown by the authenticator app).
func NewTOTP(issuerName, accountName string) (TOTPKey, error) {
	return totpKey(issuerName, accountName, nil)
}

// TOTPKeyFromSecret rebuilds the key of an existing secret, so an enrolment
// page can show the same QR code again before the factor is confirmed. It
// refuses a secret that is not base32 or shorter than 128 bits.
func TOTPKeyFromSecret(issuerName, accountName, secret string) (TOTPKey, error) {
	raw, err := decodeTOTPSecret(secret)
	if err != nil {
		return TOTPKey{}, err
	}
	return totpKey(issuerName, accountName, raw)
}

func totpKey(issuerName, accountName string, secret []byte) (TOTPKey, error) {
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      issuerName,
		AccountName: accountName,
		Period:      uint(TOTPPeriod / time.Second),
		SecretSize:  totpSecretBytes,
		Secret:      secret,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		return TOTPKey{}, fmt.Errorf("mfa: new TOTP key: %w", err)
	}
	return TOTPKey{Secret: key.Secret(), URI: key.URL()}, nil
}

// PNG renders the QR code of k.URI as a 200×200 PNG image, on the server:
// the secret never leaves for a QR service. The image holds the secret, so
// it is served with Cache-Control: no-store. A URI that is not an
// otpauth://totp/ key URI is refused.
func (k TOTPKey) PNG() ([]byte, error) {
	key, err := otp.NewKeyFromURL(k.URI)
	if err != nil {
		return nil, fmt.Errorf("mfa: TOTP key URI: %w", err)
	}
	if !strings.HasPrefix(k.URI, "otpauth://totp/") || key.Secret() == "" {
		return nil, errors.New("mfa: not an otpauth://totp/ key URI with a secret")
	}
	img, err := key.Image(qrPixels, qrPixels)
	if err != nil {
		return nil, fmt.Errorf("mfa: QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("mfa: QR code PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// TOTPStep is the RFC 6238 §4.2 time step T of t: floor(unix seconds / 30).
func TOTPStep(t time.Time) int64 {
	s := t.Unix()
	p := int64(TOTPPeriod / time.Second)
	if s < 0 {
		return (s - p + 1) / p
	}
	return s / p
}

// VerifyTOTP checks a code typed by the user against secret at time now. It
// accepts the code of the current step or of one step either side (RFC 6238
// §5.2), but only for a step greater than after, the step the caller last
// accepted for this factor (its Factor.Counter; 0 for a new one): so a code,
// once used, is refused for the rest of its window (RFC 6238 §5.2: "the
// verifier MUST NOT accept the second attempt of the OTP after the successful
// validation has been issued for the first OTP").
//
// On success it returns the step that matched; the caller stores it with
// store.Factors.Use, whose compare-and-swap refuses a second node accepting
// the same step at the same instant. Spaces in code are ignored ("123 456");
// anything but six ASCII digits is refused, as is a secret that is not
// base32 or shorter than 128 bits. Codes are compared in constant time. It
// does not throttle: the caller counts failures.
func VerifyTOTP(secret, code string, now time.Time, after int64) (step int64, ok bool) {
	code = strings.ReplaceAll(code, " ", "")
	if len(code) != TOTPDigits || strings.Trim(code, "0123456789") != "" {
		return 0, false
	}
	if _, err := decodeTOTPSecret(secret); err != nil {
		return 0, false
	}
	current := TOTPStep(now)
	// Every candidate step is computed and compared, matched or not, so the
	// time taken does not tell which one matched.
	for s := current - TOTPSkew; s <= current+TOTPSkew; s++ {
		if s < 0 || s <= after {
			continue
		}
		want, err := hotp.GenerateCodeCustom(secret, uint64(s), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			step, ok = s, true
		}
	}
	return step, ok
}

// decodeTOTPSecret decodes a base32 secret (padding optional, any case) and
// refuses one shorter than RFC 4226 §4 R6's 128 bits.
func decodeTOTPSecret(secret string) ([]byte, error) {
	s := strings.ToUpper(strings.TrimRight(strings.TrimSpace(secret), "="))
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("mfa: TOTP secret is not base32: %w", err)
	}
	if len(raw) < totpMinSecretBytes {
		return nil, fmt.Errorf("mfa: TOTP secret has %d bits, fewer than 128", 8*len(raw))
	}
	return raw, nil
}
