package api_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that records Errorf calls (only Errorf is used
// by the validating transport).
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

// canned answers every request with one response.
type canned struct {
	status int
	ctype  string
	body   string
}

func (c canned) RoundTrip(*http.Request) (*http.Response, error) {
	h := http.Header{"Content-Type": {c.ctype}}
	return &http.Response{StatusCode: c.status, Header: h, Body: io.NopCloser(strings.NewReader(c.body))}, nil
}

// TestValidatorCatchesDrift: the validating transport is not vacuous — an
// answer or a request the document does not describe fails the test.
func TestValidatorCatchesDrift(t *testing.T) {
	cases := []struct {
		name, method, path, body string
		resp                     canned
		wantErr                  bool
	}{
		{name: "a matching answer passes", method: "GET", path: "/t/x/api/v1/scopes/openid",
			resp: canned{200, "application/json", `{"name":"openid","description":"d","kind":"oidc","requires_mfa":false,"version":1}`}},
		{name: "a wrong type in the answer", method: "GET", path: "/t/x/api/v1/scopes/openid",
			resp: canned{200, "application/json", `{"name":5,"description":"d","kind":"oidc","version":1}`}, wantErr: true},
		{name: "an undocumented member in the answer", method: "GET", path: "/t/x/api/v1/scopes/openid",
			resp: canned{200, "application/json", `{"name":"openid","description":"d","kind":"oidc","requires_mfa":false,"version":1,"secret":"x"}`}, wantErr: true},
		{name: "an undocumented status", method: "GET", path: "/t/x/api/v1/scopes/openid",
			resp: canned{418, "application/json", `{}`}, wantErr: true},
		{name: "an error that is not a problem document", method: "GET", path: "/t/x/api/v1/scopes/openid",
			resp: canned{404, "application/json", `{"error":"not_found"}`}, wantErr: true},
		{name: "an undocumented route", method: "GET", path: "/t/x/api/v1/nothing",
			resp: canned{200, "application/json", `{}`}, wantErr: true},
		{name: "a request body off the schema", method: "POST", path: "/t/x/api/v1/scopes", body: `{"name":"a"}`,
			resp: canned{201, "application/json", `{"name":"a","description":"d","kind":"custom","version":1}`}, wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			client := &http.Client{Transport: validating{t: rec, base: c.resp, dry: true}}
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			req, err := http.NewRequestWithContext(t.Context(), c.method, "http://example.test"+c.path, body)
			if err != nil {
				t.Fatal(err)
			}
			if body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			req.Header.Set("Authorization", "Bearer x")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := len(rec.errs) > 0; got != c.wantErr {
				t.Errorf("validator errors = %q, want errors: %v", rec.errs, c.wantErr)
			}
		})
	}
}
