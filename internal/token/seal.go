package token

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// MasterKeySize is the length in bytes of the master key (AES-256).
const MasterKeySize = 32

// sealV1 is the header byte of the current sealed format:
//
//	0x01 | 12-byte random nonce | AES-256-GCM ciphertext and 16-byte tag
//
// The header lets a later release change the format (another AEAD, a
// master-key ID for master-key rotation) and still open old rows.
const sealV1 byte = 0x01

// ErrOpen is wrapped by every Open failure: wrong master key, wrong
// additional data, tampered or truncated data, unknown format. AES-GCM cannot
// tell these apart, and callers should not try to.
var ErrOpen = errors.New("token: cannot open sealed data (wrong master key, wrong additional data or tampered data)")

// Sealer encrypts private signing keys at rest with the master key
// (AES-256-GCM, a fresh random nonce per Seal). It is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
	// deriveKey is HMAC-SHA256(master key, "intelliauth derive v1"): the
	// key of Derive, separate from the AES key so that no derived value
	// says anything about what seals the signing keys.
	deriveKey []byte
}

// NewSealer returns a Sealer for a 32-byte master key. The key is not kept
// beyond the AES key schedule.
func NewSealer(masterKey []byte) (*Sealer, error) {
	if len(masterKey) != MasterKeySize {
		return nil, fmt.Errorf("token: master key is %d bytes; want %d", len(masterKey), MasterKeySize)
	}
	block, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, fmt.Errorf("token: master key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("token: master key: %w", err)
	}
	m := hmac.New(sha256.New, masterKey)
	m.Write([]byte("intelliauth derive v1"))
	return &Sealer{aead: aead, deriveKey: m.Sum(nil)}, nil
}

// Derive returns 32 bytes that only a holder of the master key can compute,
// the same on every node for the same label (HMAC-SHA256 under a key derived
// from the master key). Labels must name their purpose and context, e.g.
// "console client secret\x00<tenant>", so that two uses never share a value.
func (s *Sealer) Derive(label string) []byte {
	m := hmac.New(sha256.New, s.deriveKey)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// Seal encrypts plaintext and binds it to additionalData, which Open must be
// given again (signing keys use tenantID+"/"+kid, so a sealed key copied to
// another row or tenant does not open). additionalData is authenticated, not
// encrypted, and not stored.
func (s *Sealer) Seal(plaintext, additionalData []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+s.aead.Overhead())
	out[0] = sealV1
	// Random 96-bit nonces are safe for far more than the number of keys a
	// master key will ever seal (NIST SP 800-38D §8.3: 2^32 invocations).
	if _, err := rand.Read(out[1 : 1+ns]); err != nil {
		return nil, fmt.Errorf("token: seal: %w", err)
	}
	return s.aead.Seal(out, out[1:1+ns], plaintext, sealAD(out[0], additionalData)), nil
}

// Open decrypts what Seal returned for the same additionalData. Every failure
// wraps ErrOpen.
func (s *Sealer) Open(sealed, additionalData []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns+s.aead.Overhead() {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrOpen, len(sealed))
	}
	if sealed[0] != sealV1 {
		return nil, fmt.Errorf("%w: unknown format version %#x", ErrOpen, sealed[0])
	}
	pt, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], sealAD(sealed[0], additionalData))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// sealAD authenticates the version byte along with the caller's data, so a
// header cannot be swapped to steer Open to another format.
func sealAD(version byte, ad []byte) []byte {
	out := make([]byte, 0, 1+len(ad))
	out = append(out, version)
	return append(out, ad...)
}

// ParseMasterKey decodes a master key given as base64, standard or URL
// alphabet, padded or not, surrounding white space ignored. It must decode to
// exactly 32 bytes. Errors never repeat the input, which is a secret.
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("token: master key is empty (generate one with: openssl rand -base64 32)")
	}
	var key []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return nil, errors.New("token: master key is not valid base64 (standard or URL alphabet); generate one with: openssl rand -base64 32")
	}
	if len(key) != MasterKeySize {
		return nil, fmt.Errorf("token: master key decodes to %d bytes; want %d (generate one with: openssl rand -base64 32)", len(key), MasterKeySize)
	}
	return key, nil
}

// LoadOrCreateMasterKeyFile reads the base64 master key at path, creating it
// with a fresh random key and mode 0600 if it does not exist. It is meant for
// demo mode, where there is no secret manager; production passes the key
// through configuration.
//
// An existing file readable or writable by group or other is refused rather
// than silently fixed: someone may already have read it, and the operator
// should know. Creation is atomic and exclusive (write to a temporary file,
// then hard-link into place), so two processes starting at once agree on one
// key and a crash never leaves a half-written key behind.
func LoadOrCreateMasterKeyFile(path string) ([]byte, error) {
	key, err := readMasterKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}

	raw := make([]byte, MasterKeySize)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("token: generate master key: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".masterkey-*")
	if err != nil {
		return nil, fmt.Errorf("token: create master key file: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	// CreateTemp already uses 0600; Chmod makes that explicit and
	// independent of its implementation.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("token: create master key file: %w", err)
	}
	if _, err := tmp.WriteString(base64.StdEncoding.EncodeToString(raw) + "\n"); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("token: write master key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("token: write master key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("token: write master key file: %w", err)
	}
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process won the race; use its key.
			return readMasterKeyFile(path)
		}
		return nil, fmt.Errorf("token: create master key file: %w", err)
	}
	syncDir(dir)
	return raw, nil
}

func readMasterKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("token: master key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("token: master key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("token: master key file %s is not a regular file", path)
	}
	// Windows has no POSIX permission bits to check.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("token: master key file %s has mode %#o; it must not be accessible by group or other (chmod 600 %s)", path, fi.Mode().Perm(), path)
	}
	const maxSize = 1024 // far more than base64 of 32 bytes plus white space
	b, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("token: read master key file %s: %w", path, err)
	}
	if len(b) > maxSize {
		return nil, fmt.Errorf("token: master key file %s is too large to hold a base64 32-byte key", path)
	}
	key, err := ParseMasterKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return key, nil
}

// syncDir makes the new directory entry durable; best effort, because some
// file systems and platforms do not support syncing a directory.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
