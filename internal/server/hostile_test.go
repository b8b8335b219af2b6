package server_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/server"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// TestSecretRotationGracePeriod: after a rotation both the old and the new
// secret authenticate until the grace period ends; then only the new one
// (PRODUCT.md §3).
func TestSecretRotationGracePeriod(t *testing.T) {
	env := servertest.Start(t)
	b := env.Seed(t, "banking")
	endpoint := env.Issuer("banking") + "/oauth2/token"
	body := "grant_type=client_credentials&scope=read:transactions"
	rot, err := env.Admin.RotateSecret(t.Context(), admin.CLI(), "banking", b.Reporting.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	old, fresh := b.Reporting, servertest.Client{ID: b.Reporting.ID, Secret: rot.Secret}
	for _, c := range []servertest.Client{old, fresh} {
		if resp, body := (tokenCall{basic: &c, body: body}).do(t, endpoint); resp.StatusCode != 200 {
			t.Fatalf("during the grace period: %d %v", resp.StatusCode, body)
		}
	}
	env.Clock.Advance(time.Hour + time.Second)
	if resp, _ := (tokenCall{basic: &old, body: body}).do(t, endpoint); resp.StatusCode != 401 {
		t.Errorf("old secret after the grace period: %d, want 401", resp.StatusCode)
	}
	if resp, body := (tokenCall{basic: &fresh, body: body}).do(t, endpoint); resp.StatusCode != 200 {
		t.Errorf("new secret after the grace period: %d %v", resp.StatusCode, body)
	}
}

// TestServesTLS: with a certificate and key the node serves HTTPS only.
func TestServesTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	pool := writeSelfSigned(t, certFile, keyFile)
	env := servertest.Start(t, func(o *server.Options) { o.TLSCert, o.TLSKey = certFile, keyFile })
	httpsURL := "https://" + env.URL[len("http://"):]
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(httpsURL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("https healthz: %d tls=%v", resp.StatusCode, resp.TLS != nil)
	}
	if got := resp.Header.Get("Strict-Transport-Security"); got == "" {
		t.Error("no HSTS over TLS")
	}
	if resp, err := servertest.HTTPClient().Get(env.URL + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP served on the TLS listener")
		}
	}
}

func writeSelfSigned(t *testing.T, certFile, keyFile string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

// FuzzTokenEndpoint: whatever arrives — any body, content type or
// Authorization header — the token endpoint answers with an RFC 6749 error
// or a token, never a 5xx (PRODUCT.md §9), and every error is JSON. Like
// every fuzz target here it runs on PostgreSQL when INTELLIAUTH_TEST_POSTGRES
// is set; .ci/run fuzzes it for a bounded time.
func FuzzTokenEndpoint(f *testing.F) {
	env := servertest.Start(f)
	b := env.Seed(f, "banking")
	endpoint := env.Issuer("banking") + "/oauth2/token"
	good := "Basic " + basicValue(b.Reporting.ID, b.Reporting.Secret)
	seeds := []struct{ ctype, auth, body string }{
		{"application/x-www-form-urlencoded", good, "grant_type=client_credentials&scope=read:transactions"},
		{"application/x-www-form-urlencoded", good, "grant_type=client_credentials&scope=%ff"},
		{"application/x-www-form-urlencoded", good, "grant_type=client_credentials&resource=a&resource=b&audience=c"},
		{"application/x-www-form-urlencoded", good, "grant_type=authorization_code&code=x&redirect_uri=y"},
		{"application/x-www-form-urlencoded", "Basic ////", "grant_type=client_credentials"},
		{"application/x-www-form-urlencoded; charset=\"", "", "a=b"},
		{"multipart/form-data; boundary=x", good, "--x\r\n\r\n--x--"},
		{"application/x-www-form-urlencoded", "Basic " + basicValue("a\x00b", "\xff"), "grant_type=client_credentials"},
		// Bytes PostgreSQL refuses (SQLSTATE 22021) in values that reach a
		// lookup: a code, a refresh token, a client id.
		{"application/x-www-form-urlencoded", "", "grant_type=authorization_code&client_id=banking-spa&code=%00&code_verifier=x&redirect_uri=x"},
		{"application/x-www-form-urlencoded", good, "grant_type=refresh_token&refresh_token=a%00b"},
		{"application/x-www-form-urlencoded", "", "grant_type=refresh_token&client_id=%FF&refresh_token=%C3%28"},
		{"application/x-www-form-urlencoded", "Basic " + basicValue("reporting-job%00", "x"), "grant_type=client_credentials"},
		{"application/x-www-form-urlencoded", good, "grant_type=client_credentials&scope=" + string(bytes.Repeat([]byte("a "), 300)) + "a"},
		{"", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.ctype, s.auth, s.body)
	}
	client := servertest.HTTPClient()
	f.Fuzz(func(t *testing.T, ctype, auth, body string) {
		req, err := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader([]byte(body)))
		if err != nil {
			t.Skip("http.NewRequest refuses this input; no client could send it")
		}
		// Header values a real client could not send are refused by
		// net/http before they reach us; skip those.
		if !validHeader(ctype) || !validHeader(auth) {
			t.Skip("net/http refuses these header bytes before they reach the server")
		}
		req.Header.Set("Content-Type", ctype)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("transport: %v", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("status %d for ctype=%q auth=%q body=%q", resp.StatusCode, ctype, auth, body)
		}
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatalf("non-JSON body (status %d): %v", resp.StatusCode, err)
		}
		if resp.StatusCode != 200 && m["error"] == nil {
			t.Fatalf("error response without an error code: %v", m)
		}
	})
}

func validHeader(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func basicValue(id, secret string) string {
	return base64.StdEncoding.EncodeToString([]byte(id + ":" + secret))
}
