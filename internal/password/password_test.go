package password

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// reference is the argon2id vector of the reference implementation
// (phc-winner-argon2, src/test.c): password "password", salt "somesalt",
// t=2, m=64 MiB, p=1, 32-byte tag.
const reference = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"

// cheap keeps the tests fast where the cost does not matter.
var cheap = Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashFormatAndVerify(t *testing.T) {
	h, err := Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=1,p=1$") {
		t.Fatalf("hash %q: want the PHC string with the default parameters", h)
	}
	parts := strings.Split(h, "$")
	if len(parts) != 6 || len(parts[4]) != 22 || len(parts[5]) != 43 {
		t.Fatalf("hash %q: want a 16-byte salt and a 32-byte tag, unpadded base64", h)
	}
	ok, err := Verify(h, "correct horse battery staple")
	if err != nil || !ok {
		t.Fatalf("Verify(right password) = %v, %v", ok, err)
	}
	ok, err = Verify(h, "correct horse battery stapler")
	if err != nil || ok {
		t.Fatalf("Verify(wrong password) = %v, %v", ok, err)
	}
	if NeedsRehash(h) {
		t.Error("a fresh hash needs no rehash")
	}
}

func TestSaltIsRandom(t *testing.T) {
	a, _ := HashWith("same password", cheap)
	b, _ := HashWith("same password", cheap)
	if a == b {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
}

func TestReferenceVector(t *testing.T) {
	ok, err := Verify(reference, "password")
	if err != nil || !ok {
		t.Fatalf("RFC 9106 reference vector: Verify = %v, %v", ok, err)
	}
	if ok, _ := Verify(reference, "passwore"); ok {
		t.Fatal("reference vector verified a wrong password")
	}
	// Other parameters than ours are read from the string (t=2), and such
	// a hash is due for a rehash; so is an 8-byte salt.
	if !NeedsRehash(reference) {
		t.Error("t=2 with an 8-byte salt: want NeedsRehash")
	}
}

func TestNeedsRehash(t *testing.T) {
	weak, _ := HashWith("pw", cheap)
	for name, phc := range map[string]string{
		"weaker memory": weak,
		"malformed":     "$2a$10$abcdefghijklmnopqrstuv",
		"empty":         "",
	} {
		if !NeedsRehash(phc) {
			t.Errorf("%s: want NeedsRehash", name)
		}
	}
}

func TestVerifyRejectsMalformed(t *testing.T) {
	valid, _ := HashWith("pw", cheap)
	parts := strings.Split(valid, "$")
	salt, tag := parts[4], parts[5]
	cases := map[string]string{
		"empty":                   "",
		"bcrypt":                  "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i":                 "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + tag,
		"no version":              "$argon2id$m=64,t=1,p=1$" + salt + "$" + tag,
		"version 16":              "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + tag,
		"params reordered":        "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + tag,
		"extra param":             "$argon2id$v=19$m=64,t=1,p=1,k=2$" + salt + "$" + tag,
		"memory huge (DoS)":       "$argon2id$v=19$m=4294967295,t=1,p=1$" + salt + "$" + tag,
		"memory above the bound":  "$argon2id$v=19$m=262145,t=1,p=1$" + salt + "$" + tag,
		"memory overflows uint64": "$argon2id$v=19$m=99999999999999999999,t=1,p=1$" + salt + "$" + tag,
		"time zero":               "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + tag,
		"time huge":               "$argon2id$v=19$m=64,t=1000000,p=1$" + salt + "$" + tag,
		"threads zero":            "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + tag,
		"threads 256":             "$argon2id$v=19$m=4096,t=1,p=256$" + salt + "$" + tag,
		"memory below 8p":         "$argon2id$v=19$m=8,t=1,p=2$" + salt + "$" + tag,
		"negative":                "$argon2id$v=19$m=-64,t=1,p=1$" + salt + "$" + tag,
		"plus sign":               "$argon2id$v=19$m=+64,t=1,p=1$" + salt + "$" + tag,
		"leading zero":            "$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + tag,
		"short salt":              "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + tag,
		"empty salt":              "$argon2id$v=19$m=64,t=1,p=1$$" + tag,
		"short tag":               "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$AAAA",
		"padded base64":           "$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + tag,
		"url base64":              "$argon2id$v=19$m=64,t=1,p=1$" + strings.NewReplacer("+", "-", "/", "_").Replace(salt) + "-_$" + tag,
		"trailing field":          valid + "$",
		"missing tag":             "$argon2id$v=19$m=64,t=1,p=1$" + salt,
		"very long":               valid + strings.Repeat("A", 1000),
	}
	for name, phc := range cases {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			ok, err := Verify(phc, "pw")
			if ok || !errors.Is(err, ErrMalformed) {
				t.Fatalf("Verify(%q) = %v, %v; want false, ErrMalformed", phc, ok, err)
			}
			if d := time.Since(start); d > 50*time.Millisecond {
				t.Errorf("refusing a malformed string took %v: it must not hash", d)
			}
		})
	}
}

func TestHashWithRefusesOutOfBounds(t *testing.T) {
	for name, p := range map[string]Params{
		"memory":  {MemoryKiB: MaxMemoryKiB + 1, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		"salt":    {MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32},
		"zero":    {},
		"threads": {MemoryKiB: 1024, Time: 1, Threads: MaxThreads + 1, SaltLen: 16, KeyLen: 32},
	} {
		if _, err := HashWith("pw", p); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: HashWith = %v, want ErrMalformed", name, err)
		}
	}
}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		name string
		pw   string
		ok   bool
	}{
		{"NIST SP 800-63B §5.1.1.2 seven characters refused", "1234567", false},
		{"eight characters", "12345678", true},
		{"length counts bytes: five 2-byte letters pass", "ééééé", true},
		{"three 2-byte letters (6 bytes) refused", "ééé", false},
		{"passphrase with spaces", "correct horse battery staple", true},
		{"256 bytes", strings.Repeat("a", 256), true},
		{"257 bytes refused", strings.Repeat("a", 257), false},
		{"invalid UTF-8 refused", "abcdefgh\xff", false},
		{"empty refused", "", false},
	} {
		err := Check(c.pw)
		if (err == nil) != c.ok {
			t.Errorf("%s: Check = %v, want ok=%v", c.name, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrPolicy) {
			t.Errorf("%s: error %v does not wrap ErrPolicy", c.name, err)
		}
	}
}

// FuzzDecode checks the parser of stored strings: it never panics, accepts
// only strings within the bounds, and what it accepts is canonical (it
// re-encodes to the same string).
func FuzzDecode(f *testing.F) {
	valid, _ := HashWith("pw", cheap)
	for _, s := range []string{
		reference, valid, "", "$argon2id$", "$argon2id$v=19$m=1,t=1,p=1$$",
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPP",
		"$argon2id$v=19$m=4294967296,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := decode(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("decode(%q): error %v does not wrap ErrMalformed", s, err)
			}
			if NeedsRehash(s) != true {
				t.Fatalf("NeedsRehash(%q) = false for a malformed string", s)
			}
			return
		}
		if p.MemoryKiB > MaxMemoryKiB || p.Time > MaxTime || p.Threads > MaxThreads || p.Time < 1 || p.Threads < 1 {
			t.Fatalf("decode(%q) accepted out-of-bounds parameters %+v", s, p)
		}
		if got := encode(p, salt, key); got != s {
			t.Fatalf("decode(%q) is not canonical: re-encodes to %q", s, got)
		}
		if p.MemoryKiB <= 1024 && p.Time <= 2 {
			if _, err := Verify(s, "pw"); err != nil {
				t.Fatalf("Verify(%q) failed after decode succeeded: %v", s, err)
			}
		}
	})
}

// BenchmarkHash and BenchmarkVerify measure the cost of one sign-in with
// the default parameters (reported in the package documentation).
func BenchmarkHash(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h, err := Hash("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := Verify(h, "correct horse battery staple"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkVerifyParallel shows the throughput of the machine: each hash
// runs on one core (p=1), so GOMAXPROCS sign-ins proceed at once.
func BenchmarkVerifyParallel(b *testing.B) {
	h, err := Hash("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, err := Verify(h, "correct horse battery staple"); !ok || err != nil {
				b.Error(ok, err)
				return
			}
		}
	})
}
