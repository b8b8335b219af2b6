package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// FuzzAuthorizeEndpoint: whatever query arrives, the authorization
// endpoint answers with a page, a redirect to the tenant's own login page,
// or a redirect to a redirect URI registered for the named client — never
// a 5xx (PRODUCT.md §9) and never an open redirect (RFC 9700 §4.11).
// It runs on PostgreSQL when INTELLIAUTH_TEST_POSTGRES is set (servertest
// picks the backend), which refuses NUL and invalid UTF-8 that SQLite
// stores; .ci/run fuzzes it for a bounded time with the variable set.
func FuzzAuthorizeEndpoint(f *testing.F) {
	env := servertest.Start(f)
	env.Seed(f, "banking")
	env.SeedUsers(f, "banking")
	iss := env.Issuer("banking")
	good := baseAuthorize()
	seeds := []string{
		good.Encode(),
		good.Encode() + "&redirect_uri=https://evil.example.com/",
		strings.Replace(good.Encode(), "banking-spa", "admin-tool", 1),
		"client_id=banking-spa&redirect_uri=https%3A%2F%2Fevil.example.com&response_type=token",
		"client_id=banking-spa&response_type=code&scope=%ff",
		"client_id=%00&redirect_uri=%zz",
		// Bytes PostgreSQL refuses (SQLSTATE 22021): NUL and invalid UTF-8.
		good.Encode() + "&nonce=a%00b",
		good.Encode() + "&state=%FF",
		strings.Replace(good.Encode(), "banking-spa", "banking-spa%00", 1),
		strings.Replace(good.Encode(), "banking-spa", "%C3%28", 1),
		"login_hint=%00&" + good.Encode(),
		"client_id=banking-spa&prompt=none&code_challenge=" + oauth2.S256ChallengeFromVerifier("x") + "&code_challenge_method=S256&response_type=code",
		"client_id=banking-spa&response_type=code&max_age=99999999999999999999&state=" + strings.Repeat("s", 5000),
		"",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	f.Fuzz(func(t *testing.T, query string) {
		resp, err := client.Get(iss + "/oauth2/authorize?" + query)
		if err != nil {
			t.Skip() // net/http refused the URL
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("status %d for %q", resp.StatusCode, query)
		}
		if resp.StatusCode < 300 || resp.StatusCode >= 400 {
			return
		}
		loc := resp.Header.Get("Location")
		if strings.HasPrefix(loc, iss+"/login?") {
			return
		}
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatalf("unparsable Location %q", loc)
		}
		u.RawQuery = ""
		if u.String() != servertest.SPARedirectURI && u.String() != servertest.AdminToolRedirect {
			t.Fatalf("open redirect to %q for %q", loc, query)
		}
	})
}
