package mfa_test

import (
	"bytes"
	"encoding/base32"
	"image/png"
	"net/url"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/intelliauth/intelliauth/internal/mfa"
	"github.com/intelliauth/intelliauth/internal/mfa/mfatest"
)

// rfcSecret is the SHA-1 seed of RFC 6238 Appendix B, "12345678901234567890"
// in ASCII, in base32.
var rfcSecret = base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))

// rfcVectors are RFC 6238 Appendix B's SHA-1 rows: time and 8-digit TOTP.
var rfcVectors = []struct {
	unix int64
	code string
}{
	{59, "94287082"},
	{1111111109, "07081804"},
	{1111111111, "14050471"},
	{1234567890, "89005924"},
	{2000000000, "69279037"},
	{20000000000, "65353130"},
}

func TestTOTPRFC6238AppendixB(t *testing.T) {
	for _, v := range rfcVectors {
		at := time.Unix(v.unix, 0)
		t.Run("RFC 6238 Appendix B SHA-1 8 digits at "+at.UTC().Format(time.RFC3339), func(t *testing.T) {
			// The library reproduces the RFC's own table…
			got, err := totp.GenerateCodeCustom(rfcSecret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1})
			if err != nil || got != v.code {
				t.Fatalf("8-digit code = %q, %v; RFC 6238 Appendix B says %q", got, err, v.code)
			}
			// …and a 6-digit code is the same truncation mod 10^6 (RFC 4226
			// §5.3), which VerifyTOTP accepts at that instant.
			six := v.code[2:]
			if c := mfatest.TOTPCode(rfcSecret, at); c != six {
				t.Fatalf("mfatest.TOTPCode = %q, want %q", c, six)
			}
			step, ok := mfa.VerifyTOTP(rfcSecret, six, at, 0)
			if !ok || step != v.unix/30 {
				t.Fatalf("VerifyTOTP(%q) = %d, %v; want step %d", six, step, ok, v.unix/30)
			}
		})
	}
}

func TestVerifyTOTPWindow(t *testing.T) {
	now := time.Unix(1234567890, 0) // step 41152263, 0 s into it
	cur := mfa.TOTPStep(now)
	if cur != 41152263 {
		t.Fatalf("TOTPStep = %d (RFC 6238 §4.2: floor(1234567890/30) = 41152263)", cur)
	}
	for _, tc := range []struct {
		name   string
		offset int64
		ok     bool
	}{
		{"RFC 6238 §5.2 previous step (skew -1) accepted", -1, true},
		{"RFC 6238 §4 current step accepted", 0, true},
		{"RFC 6238 §5.2 next step (skew +1) accepted", 1, true},
		{"RFC 6238 §5.2 two steps old refused", -2, false},
		{"RFC 6238 §5.2 two steps ahead refused", 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code := mfatest.TOTPCode(rfcSecret, now.Add(time.Duration(tc.offset)*mfa.TOTPPeriod))
			step, ok := mfa.VerifyTOTP(rfcSecret, code, now, 0)
			if ok != tc.ok {
				t.Fatalf("VerifyTOTP(code of step %+d) = %v, want %v", tc.offset, ok, tc.ok)
			}
			if ok && step != cur+tc.offset {
				t.Fatalf("matched step %d, want %d", step, cur+tc.offset)
			}
		})
	}
	t.Run("RFC 6238 §5.2 end of a step still accepts the previous one", func(t *testing.T) {
		end := now.Add(mfa.TOTPPeriod - time.Second)
		if _, ok := mfa.VerifyTOTP(rfcSecret, mfatest.TOTPCode(rfcSecret, now.Add(-mfa.TOTPPeriod)), end, 0); !ok {
			t.Fatal("code of the previous step refused 29 s into the current one")
		}
	})
}

func TestVerifyTOTPReplay(t *testing.T) {
	now := time.Unix(1234567890, 0)
	cur := mfa.TOTPStep(now)
	code := mfatest.TOTPCode(rfcSecret, now)
	for _, tc := range []struct {
		name  string
		code  string
		after int64
		ok    bool
	}{
		{"RFC 6238 §5.2 first use accepted", code, cur - 1, true},
		{"RFC 6238 §5.2 same code again (after = its step) refused", code, cur, false},
		{"RFC 6238 §5.2 an older step's code after a newer one was used refused", mfatest.TOTPCode(rfcSecret, now.Add(-mfa.TOTPPeriod)), cur, false},
		{"RFC 6238 §5.2 the next step's code after the current one was used accepted", mfatest.TOTPCode(rfcSecret, now.Add(mfa.TOTPPeriod)), cur, true},
		{"RFC 6238 §5.2 nothing accepted after a later step was used", code, cur + 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := mfa.VerifyTOTP(rfcSecret, tc.code, now, tc.after); ok != tc.ok {
				t.Fatalf("VerifyTOTP(after=%d) = %v, want %v", tc.after-cur, ok, tc.ok)
			}
		})
	}
}

func TestVerifyTOTPMalformed(t *testing.T) {
	now := time.Unix(1234567890, 0)
	code := mfatest.TOTPCode(rfcSecret, now) // "005924"
	for _, tc := range []struct {
		name, secret, code string
		ok                 bool
	}{
		{"spaces inside and around accepted", rfcSecret, " " + code[:3] + " " + code[3:] + " ", true},
		{"lower-case secret without padding accepted", "gezdgnbvgy3tqojqgezdgnbvgy3tqojq", code, true},
		{"RFC 6238 §5.1 the last digit wrong refused", rfcSecret, code[:5] + string('0'+(code[5]-'0'+1)%10), false},
		{"RFC 6238 §5.1 the first digit wrong refused", rfcSecret, "9" + code[1:], false},
		{"empty code refused", rfcSecret, "", false},
		{"five digits refused", rfcSecret, code[:5], false},
		{"seven digits refused", rfcSecret, code + "0", false},
		{"RFC 6238 §5.3 the 8-digit code refused by a 6-digit verifier", rfcSecret, "89005924", false},
		{"a letter refused", rfcSecret, code[:5] + "a", false},
		{"a hyphen refused", rfcSecret, code[:3] + "-" + code[3:], false},
		{"a sign refused", rfcSecret, "+" + code[1:], false},
		{"non-ASCII digits refused", rfcSecret, "٠٠٥٩٢٤", false},
		{"a tab refused", rfcSecret, code[:3] + "\t" + code[3:], false},
		{"RFC 4226 §4 R6 a secret under 128 bits refused", base32.StdEncoding.EncodeToString([]byte("123456789012345")), mfatest.TOTPCode(base32.StdEncoding.EncodeToString([]byte("123456789012345")), now), false},
		{"an empty secret refused", "", code, false},
		{"a secret that is not base32 refused", "not base32!", code, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := mfa.VerifyTOTP(tc.secret, tc.code, now, 0); ok != tc.ok {
				t.Fatalf("VerifyTOTP(%q, %q) = %v, want %v", tc.secret, tc.code, ok, tc.ok)
			}
		})
	}
}

func TestNewTOTP(t *testing.T) {
	key, err := mfa.NewTOTP("Acme Bank", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(key.Secret)
	if err != nil || len(raw) != 20 {
		t.Fatalf("secret %d bytes, %v; want 160 bits of base32 (RFC 4226 §4 R6)", len(raw), err)
	}
	other, err := mfa.NewTOTP("Acme Bank", "alice@example.com")
	if err != nil || other.Secret == key.Secret {
		t.Fatalf("two keys share a secret (%v)", err)
	}

	u, err := url.Parse(key.URI)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Acme Bank:alice@example.com" ||
		q.Get("secret") != key.Secret || q.Get("issuer") != "Acme Bank" ||
		q.Get("algorithm") != "SHA1" || q.Get("digits") != "6" || q.Get("period") != "30" {
		t.Fatalf("key URI %s", key.URI)
	}

	now := time.Now()
	if _, ok := mfa.VerifyTOTP(key.Secret, mfatest.TOTPCode(key.Secret, now), now, 0); !ok {
		t.Fatal("a code from the new secret is refused")
	}

	again, err := mfa.TOTPKeyFromSecret("Acme Bank", "alice@example.com", key.Secret)
	if err != nil || again != key {
		t.Fatalf("TOTPKeyFromSecret = %+v, %v; want %+v", again, err, key)
	}
	if _, err := mfa.TOTPKeyFromSecret("Acme Bank", "alice", "AAAA"); err == nil {
		t.Fatal("TOTPKeyFromSecret accepted a 16-bit secret")
	}

	pngBytes, err := key.PNG()
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatalf("QR code is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 200 || b.Dy() != 200 {
		t.Fatalf("QR code is %v, want 200×200", b)
	}
	dark, light := 0, 0
	for y := 0; y < 200; y++ {
		for x := 0; x < 200; x++ {
			if r, _, _, _ := img.At(x, y).RGBA(); r < 0x8000 {
				dark++
			} else {
				light++
			}
		}
	}
	if dark < 200*200/5 || light < 200*200/5 {
		t.Fatalf("QR code has %d dark and %d light pixels: not a code", dark, light)
	}
	if _, err := (mfa.TOTPKey{URI: "not a uri"}).PNG(); err == nil {
		t.Fatal("PNG of a bad URI succeeded")
	}
}
