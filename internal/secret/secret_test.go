package secret

import (
	"encoding/base64"
	"testing"
)

func TestGenerate(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		plain, hash, err := Generate()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(plain)
		if err != nil {
			t.Fatalf("secret %q is not base64url: %v", plain, err)
		}
		if len(raw) != Bytes {
			t.Fatalf("secret carries %d bytes, want %d", len(raw), Bytes)
		}
		if seen[plain] {
			t.Fatal("duplicate secret")
		}
		seen[plain] = true
		if !Equal(hash, plain) {
			t.Fatal("hash of a generated secret does not match it")
		}
	}
}

func TestEqual(t *testing.T) {
	h := Hash("s3cret")
	cases := []struct {
		name      string
		hash      []byte
		presented string
		want      bool
	}{
		{"same secret", h, "s3cret", true},
		{"different secret", h, "s3cret!", false},
		{"empty presented", h, "", false},
		{"empty hash never matches", nil, "", false},
		{"truncated hash never matches", h[:16], "s3cret", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Equal(c.hash, c.presented); got != c.want {
				t.Fatalf("Equal = %v, want %v", got, c.want)
			}
		})
	}
}
