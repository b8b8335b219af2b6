package mfa_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/intelliauth/intelliauth/internal/mfa"
	"github.com/intelliauth/intelliauth/internal/mfa/mfatest"
	"github.com/intelliauth/intelliauth/internal/model"
)

const (
	issuer = "https://auth.example.com/t/acme"
	origin = "https://auth.example.com"
	rpID   = "auth.example.com"
)

var (
	alice = model.User{TenantID: "ten_1", ID: "usr_alice", Username: "alice", Name: "Alice Martin"}
	bob   = model.User{TenantID: "ten_1", ID: "usr_bob", Username: "bob"}
)

func newRP(t *testing.T) *mfa.WebAuthn {
	t.Helper()
	w, err := mfa.NewWebAuthn(issuer, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// register runs a registration ceremony of a for u and returns the factor
// as the caller would store it.
func register(t *testing.T, w *mfa.WebAuthn, a *mfatest.Authenticator, u model.User, factors []model.Factor) model.Factor {
	t.Helper()
	opts, sess, err := w.BeginRegistration(u, factors)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Register(opts)
	if err != nil {
		t.Fatal(err)
	}
	f, err := w.FinishRegistration(u, factors, sess, resp)
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	f.ID = fmt.Sprintf("mfa_%s_%d", u.Username, len(factors)+1)
	f.Name = "Key"
	return f
}

// use stores an assertion's result in the factor, as store.Factors.Use does.
func use(factors []model.Factor, res mfa.Assertion) {
	for i := range factors {
		if factors[i].ID == res.FactorID {
			factors[i].Counter = res.Counter
			factors[i].Credential = res.Credential
		}
	}
}

// secondFactor runs BeginLogin, lets answer answer, and finishes.
func secondFactor(t *testing.T, w *mfa.WebAuthn, u model.User, factors []model.Factor, answer func(opts []byte) ([]byte, error)) (mfa.Assertion, error) {
	t.Helper()
	opts, sess, err := w.BeginLogin(u, factors)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := answer(opts)
	if err != nil {
		t.Fatal(err)
	}
	return w.FinishLogin(u, factors, sess, resp)
}

// directory is the caller's lookup for a passwordless sign-in: users and
// their factors, found by credential ID.
type directory map[string][]model.Factor

func (d directory) lookup(users ...model.User) func([]byte, string) (model.User, []model.Factor, error) {
	return func(userHandle []byte, credentialID string) (model.User, []model.Factor, error) {
		for _, u := range users {
			for _, f := range d[u.ID] {
				if f.CredentialID == credentialID {
					return u, d[u.ID], nil
				}
			}
		}
		return model.User{}, nil, fmt.Errorf("no factor %s: %w", credentialID, mfa.ErrUnknownCredential)
	}
}

func TestNewWebAuthn(t *testing.T) {
	for _, tc := range []struct {
		issuer, rpID, origin string
	}{
		{"https://auth.example.com/t/acme", "auth.example.com", "https://auth.example.com"},
		{"https://auth.example.com:8443/t/acme", "auth.example.com", "https://auth.example.com:8443"},
		{"https://auth.example.com:443", "auth.example.com", "https://auth.example.com"},
		{"http://localhost:8080/t/acme", "localhost", "http://localhost:8080"},
	} {
		w, err := mfa.NewWebAuthn(tc.issuer, "")
		if err != nil {
			t.Fatalf("%s: %v", tc.issuer, err)
		}
		if w.RPID() != tc.rpID || w.Origin() != tc.origin {
			t.Errorf("WebAuthn §5.1.3 issuer %s: RP ID %q, origin %q; want %q, %q", tc.issuer, w.RPID(), w.Origin(), tc.rpID, tc.origin)
		}
	}
	for _, bad := range []string{"http://127.0.0.1:8080", "https://[::1]/", "ftp://auth.example.com", "auth.example.com", "https:///t/acme", "://"} {
		if _, err := mfa.NewWebAuthn(bad, "x"); err == nil {
			t.Errorf("NewWebAuthn(%q) accepted", bad)
		}
	}
}

func TestRegistration(t *testing.T) {
	w := newRP(t)
	a := mfatest.NewAuthenticator(origin, rpID)

	opts, _, err := w.BeginRegistration(alice, nil)
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		PublicKey struct {
			RP struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"rp"`
			User struct {
				ID          string `json:"id"`
				Name        string `json:"name"`
				DisplayName string `json:"displayName"`
			} `json:"user"`
			Challenge   string `json:"challenge"`
			Timeout     int    `json:"timeout"`
			Attestation string `json:"attestation"`
			Selection   struct {
				ResidentKey      string `json:"residentKey"`
				UserVerification string `json:"userVerification"`
			} `json:"authenticatorSelection"`
			Exclude []struct {
				ID string `json:"id"`
			} `json:"excludeCredentials"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(opts, &o); err != nil {
		t.Fatal(err)
	}
	p := o.PublicKey
	if p.RP.ID != rpID || p.RP.Name != "Acme" || p.User.ID != base64.RawURLEncoding.EncodeToString([]byte(alice.ID)) ||
		p.User.Name != "alice" || p.User.DisplayName != "Alice Martin" || p.Attestation != "none" ||
		p.Selection.ResidentKey != "preferred" || p.Selection.UserVerification != "preferred" ||
		len(p.Challenge) < 22 || p.Timeout != 300000 || len(p.Exclude) != 0 {
		t.Fatalf("WebAuthn §5.4 creation options: %s", opts)
	}

	f1 := register(t, w, a, alice, nil)
	if f1.Type != model.FactorWebAuthn || !f1.Confirmed || f1.Counter != 1 || f1.TenantID != "ten_1" || f1.UserID != alice.ID || f1.CredentialID == "" {
		t.Fatalf("factor %+v", f1)
	}
	var cred struct {
		ID        []byte `json:"id"`
		PublicKey []byte `json:"publicKey"`
	}
	if err := json.Unmarshal(f1.Credential, &cred); err != nil || base64.RawURLEncoding.EncodeToString(cred.ID) != f1.CredentialID || len(cred.PublicKey) == 0 {
		t.Fatalf("credential JSON %s (%v)", f1.Credential, err)
	}

	t.Run("WebAuthn §5.4.3 a registered credential is excluded", func(t *testing.T) {
		opts, _, err := w.BeginRegistration(alice, []model.Factor{f1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Register(opts); err == nil {
			t.Fatal("the same authenticator registered twice")
		}
		// Another authenticator registers beside it.
		f2 := register(t, w, mfatest.NewAuthenticator(origin, rpID), alice, []model.Factor{f1})
		if f2.CredentialID == f1.CredentialID {
			t.Fatal("two registrations, one credential ID")
		}
	})

	t.Run("WebAuthn §7.1 origin other than the issuer's refused", func(t *testing.T) {
		evil := mfatest.NewAuthenticator("https://auth.example.com.evil.test", rpID)
		opts, sess, _ := w.BeginRegistration(alice, nil)
		resp, err := evil.Register(opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.FinishRegistration(alice, nil, sess, resp); !errors.Is(err, mfa.ErrVerification) {
			t.Fatalf("err = %v, want ErrVerification", err)
		}
	})

	t.Run("WebAuthn §7.1 another ceremony's challenge refused", func(t *testing.T) {
		opts1, _, _ := w.BeginRegistration(alice, nil)
		_, sess2, _ := w.BeginRegistration(alice, nil)
		resp, err := mfatest.NewAuthenticator(origin, rpID).Register(opts1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.FinishRegistration(alice, nil, sess2, resp); !errors.Is(err, mfa.ErrVerification) {
			t.Fatalf("err = %v, want ErrVerification", err)
		}
	})

	t.Run("another user's registration session refused", func(t *testing.T) {
		opts, sess, _ := w.BeginRegistration(alice, nil)
		resp, err := mfatest.NewAuthenticator(origin, rpID).Register(opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.FinishRegistration(bob, nil, sess, resp); !errors.Is(err, mfa.ErrVerification) {
			t.Fatalf("err = %v, want ErrVerification", err)
		}
	})

	t.Run("malformed answer refused", func(t *testing.T) {
		_, sess, _ := w.BeginRegistration(alice, nil)
		for _, body := range []string{"", "{}", `{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{}}`, "not json"} {
			if _, err := w.FinishRegistration(alice, nil, sess, []byte(body)); !errors.Is(err, mfa.ErrVerification) {
				t.Errorf("body %q: err = %v, want ErrVerification", body, err)
			}
		}
	})
}

func TestSecondFactorLogin(t *testing.T) {
	w := newRP(t)
	key := mfatest.NewAuthenticator(origin, rpID)
	factors := []model.Factor{register(t, w, key, alice, nil)}

	opts, _, err := w.BeginLogin(alice, factors)
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		PublicKey struct {
			RPID  string `json:"rpId"`
			UV    string `json:"userVerification"`
			Allow []struct {
				ID string `json:"id"`
			} `json:"allowCredentials"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(opts, &o); err != nil || o.PublicKey.RPID != rpID || o.PublicKey.UV != "preferred" ||
		len(o.PublicKey.Allow) != 1 || o.PublicKey.Allow[0].ID != factors[0].CredentialID {
		t.Fatalf("WebAuthn §5.5 request options: %s (%v)", opts, err)
	}

	res, err := secondFactor(t, w, alice, factors, key.Assert)
	if err != nil {
		t.Fatalf("FinishLogin: %v", err)
	}
	if res.FactorID != factors[0].ID || res.User.ID != alice.ID || res.Counter != 2 || !res.MultiFactor ||
		!slices.Equal(res.AMR, []string{"hwk", "user"}) || len(res.Credential) == 0 {
		t.Fatalf("assertion %+v", res)
	}
	use(factors, res)

	t.Run("WebAuthn §6.1.1 the counter increases on every use", func(t *testing.T) {
		res, err := secondFactor(t, w, alice, factors, key.Assert)
		if err != nil || res.Counter != 3 {
			t.Fatalf("counter %d, %v; want 3", res.Counter, err)
		}
		use(factors, res)
	})

	t.Run("WebAuthn §6.1.1 a counter not above the stored one is a clone, refused", func(t *testing.T) {
		for _, c := range []uint32{3, 2, 0} {
			_, err := secondFactor(t, w, alice, factors, func(opts []byte) ([]byte, error) { return key.AssertWithCounter(opts, c) })
			if !errors.Is(err, mfa.ErrCloned) {
				t.Errorf("counter %d after 3: err = %v, want ErrCloned", c, err)
			}
		}
		// The genuine key, a step ahead, still works.
		if _, err := secondFactor(t, w, alice, factors, key.Assert); err != nil {
			t.Fatalf("genuine key after a clone attempt: %v", err)
		}
	})

	t.Run("WebAuthn §7.2 origin other than the issuer's refused", func(t *testing.T) {
		key.Origin = "https://evil.example.com"
		defer func() { key.Origin = origin }()
		if _, err := secondFactor(t, w, alice, factors, key.Assert); !errors.Is(err, mfa.ErrVerification) {
			t.Fatalf("err = %v, want ErrVerification", err)
		}
	})

	t.Run("WebAuthn §7.2 another ceremony's challenge refused", func(t *testing.T) {
		opts1, _, _ := w.BeginLogin(alice, factors)
		_, sess2, _ := w.BeginLogin(alice, factors)
		resp, err := key.Assert(opts1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.FinishLogin(alice, factors, sess2, resp); !errors.Is(err, mfa.ErrVerification) {
			t.Fatalf("err = %v, want ErrVerification", err)
		}
	})

	t.Run("WebAuthn §7.2 a key registered to another user refused", func(t *testing.T) {
		bobKey := mfatest.NewAuthenticator(origin, rpID)
		bobFactors := []model.Factor{register(t, w, bobKey, bob, nil)}
		_, aliceSess, _ := w.BeginLogin(alice, factors)
		bobOpts, _, _ := w.BeginLogin(bob, bobFactors)
		resp, err := bobKey.Assert(bobOpts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.FinishLogin(alice, factors, aliceSess, resp); !errors.Is(err, mfa.ErrUnknownCredential) {
			t.Fatalf("err = %v, want ErrUnknownCredential", err)
		}
	})

	t.Run("WebAuthn §7.2 another user's session refused", func(t *testing.T) {
		bobFactors := []model.Factor{register(t, w, mfatest.NewAuthenticator(origin, rpID), bob, nil)}
		_, bobSess, _ := w.BeginLogin(bob, bobFactors)
		opts, _, _ := w.BeginLogin(alice, factors)
		resp, err := key.Assert(opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.FinishLogin(alice, factors, bobSess, resp); !errors.Is(err, mfa.ErrVerification) {
			t.Fatalf("err = %v, want ErrVerification", err)
		}
	})

	t.Run("a signature by another key refused", func(t *testing.T) {
		// The stored public key is swapped for another credential's: the
		// signature no longer verifies.
		other := register(t, w, mfatest.NewAuthenticator(origin, rpID), alice, nil)
		var oc, fc map[string]json.RawMessage
		_ = json.Unmarshal(other.Credential, &oc)
		_ = json.Unmarshal(factors[0].Credential, &fc)
		fc["publicKey"] = oc["publicKey"]
		forged := slices.Clone(factors)
		forged[0].Credential, _ = json.Marshal(fc)
		if _, err := secondFactor(t, w, alice, forged, key.Assert); !errors.Is(err, mfa.ErrVerification) {
			t.Fatalf("err = %v, want ErrVerification", err)
		}
	})

	t.Run("an expired ceremony refused", func(t *testing.T) {
		opts, sess, _ := w.BeginLogin(alice, factors)
		var sd map[string]any
		if err := json.Unmarshal(sess, &sd); err != nil || sd["expires"] == "0001-01-01T00:00:00Z" {
			t.Fatalf("session data has no expiry: %s", sess)
		}
		sd["expires"] = "2020-01-01T00:00:00Z"
		sess, _ = json.Marshal(sd)
		resp, err := key.Assert(opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.FinishLogin(alice, factors, sess, resp); !errors.Is(err, mfa.ErrVerification) {
			t.Fatalf("err = %v, want ErrVerification", err)
		}
	})

	t.Run("no WebAuthn factor: ErrNoCredentials", func(t *testing.T) {
		totp := model.Factor{ID: "mfa_t", UserID: alice.ID, Type: model.FactorTOTP, Confirmed: true}
		if _, _, err := w.BeginLogin(alice, []model.Factor{totp}); !errors.Is(err, mfa.ErrNoCredentials) {
			t.Fatalf("err = %v, want ErrNoCredentials", err)
		}
	})

	t.Run("a corrupt credential record is an error", func(t *testing.T) {
		bad := slices.Clone(factors)
		bad[0].Credential = []byte("{")
		if _, _, err := w.BeginLogin(alice, bad); err == nil {
			t.Fatal("BeginLogin with a corrupt credential succeeded")
		}
		bad[0].Credential = factors[0].Credential
		bad[0].CredentialID = "AAAA"
		if _, _, err := w.BeginLogin(alice, bad); err == nil {
			t.Fatal("BeginLogin with a mismatched credential ID succeeded")
		}
	})
}

func TestSecondFactorAMR(t *testing.T) {
	w := newRP(t)
	for _, tc := range []struct {
		name        string
		uv, synced  bool
		amr         []string
		multiFactor bool
	}{
		{"RFC 8176 §2 device-bound key with user verification: hwk user", true, false, []string{"hwk", "user"}, true},
		{"RFC 8176 §2 device-bound key, presence only: hwk", false, false, []string{"hwk"}, false},
		{"RFC 8176 §2 synced passkey (backup eligible): swk user", true, true, []string{"swk", "user"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := mfatest.NewAuthenticator(origin, rpID)
			a.UserVerified, a.BackupEligible = tc.uv, tc.synced
			factors := []model.Factor{register(t, w, a, alice, nil)}
			res, err := secondFactor(t, w, alice, factors, a.Assert)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.AMR, tc.amr) || res.MultiFactor != tc.multiFactor {
				t.Fatalf("amr %v, multi-factor %v; want %v, %v", res.AMR, res.MultiFactor, tc.amr, tc.multiFactor)
			}
		})
	}
}

func TestNoCounter(t *testing.T) {
	w := newRP(t)
	a := mfatest.NewAuthenticator(origin, rpID)
	a.NoCounter = true
	factors := []model.Factor{register(t, w, a, alice, nil)}
	if factors[0].Counter != 0 {
		t.Fatalf("counter %d", factors[0].Counter)
	}
	for i := range 2 {
		res, err := secondFactor(t, w, alice, factors, a.Assert)
		if err != nil || res.Counter != 0 {
			t.Fatalf("WebAuthn §6.1.1 use %d of an authenticator without a counter: %d, %v", i+1, res.Counter, err)
		}
		use(factors, res)
	}
	// Once a counter was seen, 0 again is a clone.
	factors[0].Counter = 5
	if _, err := secondFactor(t, w, alice, factors, a.Assert); !errors.Is(err, mfa.ErrCloned) {
		t.Fatalf("WebAuthn §6.1.1 counter 0 after 5: err = %v, want ErrCloned", err)
	}
}

func TestDiscoverableLogin(t *testing.T) {
	w := newRP(t)
	aliceKey := mfatest.NewAuthenticator(origin, rpID)
	bobKey := mfatest.NewAuthenticator(origin, rpID)
	dir := directory{
		alice.ID: {register(t, w, aliceKey, alice, nil)},
		bob.ID:   {register(t, w, bobKey, bob, nil)},
	}
	lookup := dir.lookup(alice, bob)

	opts, sess, err := w.BeginDiscoverableLogin()
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		PublicKey struct {
			RPID  string            `json:"rpId"`
			UV    string            `json:"userVerification"`
			Allow []json.RawMessage `json:"allowCredentials"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(opts, &o); err != nil || o.PublicKey.RPID != rpID || o.PublicKey.UV != "required" || len(o.PublicKey.Allow) != 0 {
		t.Fatalf("WebAuthn §5.5 discoverable request options: %s (%v)", opts, err)
	}
	resp, err := bobKey.Assert(opts)
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.FinishDiscoverableLogin(sess, resp, lookup)
	if err != nil {
		t.Fatalf("FinishDiscoverableLogin: %v", err)
	}
	if res.User.ID != bob.ID || res.FactorID != dir[bob.ID][0].ID || res.Counter != 2 || !res.MultiFactor || !slices.Equal(res.AMR, []string{"hwk", "user"}) {
		t.Fatalf("assertion %+v", res)
	}
	use(dir[bob.ID], res)

	// finish runs a discoverable ceremony answered by answer.
	finish := func(answer func([]byte) ([]byte, error)) (mfa.Assertion, error) {
		opts, sess, err := w.BeginDiscoverableLogin()
		if err != nil {
			t.Fatal(err)
		}
		resp, err := answer(opts)
		if err != nil {
			t.Fatal(err)
		}
		return w.FinishDiscoverableLogin(sess, resp, lookup)
	}

	t.Run("WebAuthn §7.2 the counter increases", func(t *testing.T) {
		res, err := finish(bobKey.Assert)
		if err != nil || res.Counter != 3 {
			t.Fatalf("counter %d, %v; want 3", res.Counter, err)
		}
		use(dir[bob.ID], res)
	})

	t.Run("WebAuthn §6.1.1 an older counter is a clone, refused", func(t *testing.T) {
		if _, err := finish(func(o []byte) ([]byte, error) { return bobKey.AssertWithCounter(o, 2) }); !errors.Is(err, mfa.ErrCloned) {
			t.Fatalf("err = %v, want ErrCloned", err)
		}
	})

	t.Run("WebAuthn §7.2 user verification required for a passwordless sign-in", func(t *testing.T) {
		bobKey.UserVerified = false
		defer func() { bobKey.UserVerified = true }()
		if _, err := finish(bobKey.Assert); !errors.Is(err, mfa.ErrVerification) {
			t.Fatalf("err = %v, want ErrVerification", err)
		}
	})

	t.Run("WebAuthn §7.2 origin other than the issuer's refused", func(t *testing.T) {
		aliceKey.Origin = "http://auth.example.com"
		defer func() { aliceKey.Origin = origin }()
		if _, err := finish(aliceKey.Assert); !errors.Is(err, mfa.ErrVerification) {
			t.Fatalf("err = %v, want ErrVerification", err)
		}
	})

	t.Run("WebAuthn §7.2 another ceremony's challenge refused", func(t *testing.T) {
		opts1, _, _ := w.BeginDiscoverableLogin()
		_, sess2, _ := w.BeginDiscoverableLogin()
		resp, err := aliceKey.Assert(opts1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.FinishDiscoverableLogin(sess2, resp, lookup); !errors.Is(err, mfa.ErrVerification) {
			t.Fatalf("err = %v, want ErrVerification", err)
		}
	})

	t.Run("a second-factor session cannot finish a passwordless sign-in", func(t *testing.T) {
		opts, sess, _ := w.BeginLogin(alice, dir[alice.ID])
		resp, err := aliceKey.Assert(opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.FinishDiscoverableLogin(sess, resp, lookup); !errors.Is(err, mfa.ErrVerification) {
			t.Fatalf("err = %v, want ErrVerification", err)
		}
	})

	t.Run("an unregistered passkey: the lookup's ErrUnknownCredential", func(t *testing.T) {
		stranger := mfatest.NewAuthenticator(origin, rpID)
		register(t, w, stranger, alice, nil) // registered, never stored
		if _, err := finish(stranger.Assert); !errors.Is(err, mfa.ErrUnknownCredential) {
			t.Fatalf("err = %v, want ErrUnknownCredential", err)
		}
	})

	t.Run("WebAuthn §7.2 a user handle that is not the credential owner's refused", func(t *testing.T) {
		// The lookup finds alice by the credential, but the response
		// claims bob's user handle: answered by a key registered to bob
		// whose credential the directory wrongly files under alice.
		mixed := directory{alice.ID: dir[bob.ID]}
		opts, sess, _ := w.BeginDiscoverableLogin()
		resp, err := bobKey.Assert(opts)
		if err != nil {
			t.Fatal(err)
		}
		wrong := func(h []byte, id string) (model.User, []model.Factor, error) {
			fs := slices.Clone(mixed[alice.ID])
			fs[0].UserID = alice.ID
			return alice, fs, nil
		}
		if _, err := w.FinishDiscoverableLogin(sess, resp, wrong); !errors.Is(err, mfa.ErrVerification) {
			t.Fatalf("err = %v, want ErrVerification", err)
		}
	})

	t.Run("the lookup's own failure is returned", func(t *testing.T) {
		boom := errors.New("database down")
		opts, sess, _ := w.BeginDiscoverableLogin()
		resp, _ := aliceKey.Assert(opts)
		_, err := w.FinishDiscoverableLogin(sess, resp, func([]byte, string) (model.User, []model.Factor, error) { return model.User{}, nil, boom })
		if !errors.Is(err, boom) || errors.Is(err, mfa.ErrVerification) {
			t.Fatalf("err = %v, want the lookup's error", err)
		}
	})
}
