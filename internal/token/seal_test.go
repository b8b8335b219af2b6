package token

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func testMasterKey(b byte) []byte { return bytes.Repeat([]byte{b}, MasterKeySize) }

func newTestSealer(t testing.TB, b byte) *Sealer {
	t.Helper()
	s, err := NewSealer(testMasterKey(b))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealOpenRoundTrip(t *testing.T) {
	s := newTestSealer(t, 1)
	for _, pt := range [][]byte{nil, {}, []byte("x"), bytes.Repeat([]byte("private key "), 200)} {
		ad := []byte("tenant/kid")
		sealed, err := s.Seal(pt, ad)
		if err != nil {
			t.Fatal(err)
		}
		if sealed[0] != sealV1 {
			t.Errorf("header = %#x, want %#x", sealed[0], sealV1)
		}
		if len(pt) > 4 && bytes.Contains(sealed, pt[:5]) {
			t.Error("sealed data contains plaintext")
		}
		got, err := s.Open(sealed, ad)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, pt) {
			t.Errorf("Open = %q, want %q", got, pt)
		}
	}
}

func TestSealUsesFreshNonce(t *testing.T) {
	s := newTestSealer(t, 1)
	a, _ := s.Seal([]byte("same"), nil)
	b, _ := s.Seal([]byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are identical: nonce reused")
	}
}

func TestOpenFails(t *testing.T) {
	s := newTestSealer(t, 1)
	ad := []byte("banking/kid1")
	sealed, err := s.Seal([]byte("PKCS#8 bytes"), ad)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		c := bytes.Clone(sealed)
		c[i] ^= 0x01
		return c
	}
	cases := []struct {
		name   string
		sealer *Sealer
		data   []byte
		ad     []byte
	}{
		{"wrong master key", newTestSealer(t, 2), sealed, ad},
		{"wrong additional data (other kid)", s, sealed, []byte("banking/kid2")},
		{"wrong additional data (other tenant)", s, sealed, []byte("retail/kid1")},
		{"missing additional data", s, sealed, nil},
		{"unknown version header", s, flip(0), ad},
		{"tampered nonce", s, flip(1), ad},
		{"tampered ciphertext", s, flip(14), ad},
		{"tampered tag", s, flip(len(sealed) - 1), ad},
		{"truncated", s, sealed[:len(sealed)-1], ad},
		{"too short", s, sealed[:10], ad},
		{"empty", s, nil, ad},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.sealer.Open(c.data, c.ad)
			if !errors.Is(err, ErrOpen) {
				t.Fatalf("Open = %q, %v; want ErrOpen", got, err)
			}
		})
	}
}

func TestNewSealerKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := NewSealer(make([]byte, n)); err == nil {
			t.Errorf("NewSealer(%d bytes) succeeded", n)
		}
	}
}

func TestParseMasterKey(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i*7 + 250) // includes bytes that differ between alphabets
	}
	good := []struct{ name, in string }{
		{"std padded", base64.StdEncoding.EncodeToString(key)},
		{"std raw", base64.RawStdEncoding.EncodeToString(key)},
		{"url padded", base64.URLEncoding.EncodeToString(key)},
		{"url raw", base64.RawURLEncoding.EncodeToString(key)},
		{"surrounding white space", "  " + base64.StdEncoding.EncodeToString(key) + "\n"},
	}
	for _, c := range good {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseMasterKey(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, key) {
				t.Fatalf("got %x, want %x", got, key)
			}
		})
	}
	bad := []struct{ name, in, want string }{
		{"empty", "", "empty"},
		{"not base64", "this is not base64!!", "not valid base64"},
		{"16 bytes", base64.StdEncoding.EncodeToString(key[:16]), "16 bytes"},
		{"33 bytes", base64.StdEncoding.EncodeToString(append(key, 1)), "33 bytes"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseMasterKey(c.in)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
			if c.in != "" && strings.Contains(err.Error(), c.in) {
				t.Fatalf("error repeats the secret input: %v", err)
			}
		})
	}
}

func TestLoadOrCreateMasterKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	k1, err := LoadOrCreateMasterKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != MasterKeySize {
		t.Fatalf("key is %d bytes", len(k1))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %#o, want 0600", fi.Mode().Perm())
	}
	k2, err := LoadOrCreateMasterKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1, k2) {
		t.Fatal("second load returned a different key")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries; the temporary file was left behind", len(entries))
	}
}

func TestLoadOrCreateMasterKeyFileConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	const n = 8
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], errs[i] = LoadOrCreateMasterKeyFile(path) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatal("concurrent creators disagree on the key")
		}
	}
}

func TestLoadMasterKeyFileRefuses(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no POSIX permissions")
	}
	dir := t.TempDir()
	valid := base64.StdEncoding.EncodeToString(testMasterKey(3)) + "\n"
	cases := []struct {
		name    string
		content string
		mode    os.FileMode
		want    string
	}{
		{"group readable", valid, 0o640, "must not be accessible by group or other"},
		{"world readable", valid, 0o604, "must not be accessible by group or other"},
		{"garbage", "garbage!!", 0o600, "not valid base64"},
		{"wrong length", base64.StdEncoding.EncodeToString([]byte("short")), 0o600, "5 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_"))
			if err := os.WriteFile(path, []byte(c.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, c.mode); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreateMasterKeyFile(path)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
			// The file must be left as it was: never overwritten.
			if b, _ := os.ReadFile(path); string(b) != c.content {
				t.Fatal("file was modified")
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		sub := filepath.Join(dir, "sub")
		if err := os.Mkdir(sub, 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateMasterKeyFile(sub); err == nil {
			t.Fatal("a directory was accepted")
		}
	})
}
