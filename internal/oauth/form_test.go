package oauth

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/oautherr"
)

func TestReadForm(t *testing.T) {
	cases := []struct {
		name       string
		method     string
		ctype      string
		body       string
		wantStatus int // 0: accepted
	}{
		{"RFC 6749 §3.2 POST form accepted", "POST", "application/x-www-form-urlencoded", "grant_type=client_credentials", 0},
		{"charset utf-8 accepted", "POST", "application/x-www-form-urlencoded; charset=UTF-8", "a=b", 0},
		{"RFC 8707 §2 resource may repeat", "POST", "application/x-www-form-urlencoded", "resource=a&resource=b", 0},
		{"RFC 6749 §3.2 GET refused", "GET", "", "", http.StatusMethodNotAllowed},
		{"JSON body refused", "POST", "application/json", `{"grant_type":"client_credentials"}`, 400},
		{"missing content type refused", "POST", "", "a=b", 400},
		{"latin-1 charset refused", "POST", "application/x-www-form-urlencoded; charset=iso-8859-1", "a=b", 400},
		{"RFC 6749 §3.2 repeated parameter refused", "POST", "application/x-www-form-urlencoded", "grant_type=a&grant_type=b", 400},
		{"RFC 6749 Appendix B non-UTF-8 value refused", "POST", "application/x-www-form-urlencoded", "scope=%ff%fe", 400},
		{"non-UTF-8 name refused", "POST", "application/x-www-form-urlencoded", "%ff=1", 400},
		{"malformed escape refused", "POST", "application/x-www-form-urlencoded", "scope=%zz", 400},
		{"semicolon separator refused", "POST", "application/x-www-form-urlencoded", "a=1;b=2", 400},
		{"huge body bounded", "POST", "application/x-www-form-urlencoded", "scope=" + strings.Repeat("a", maxFormBytes), http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(c.method, "/oauth2/token", strings.NewReader(c.body))
			if c.ctype != "" {
				r.Header.Set("Content-Type", c.ctype)
			}
			_, err := readForm(httptest.NewRecorder(), r)
			if c.wantStatus == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *oautherr.Error
			if !errors.As(err, &e) || e.Code != oautherr.InvalidRequest || e.Status != c.wantStatus {
				t.Fatalf("err = %#v, want invalid_request status %d", err, c.wantStatus)
			}
		})
	}
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

func TestReadCredentials(t *testing.T) {
	cases := []struct {
		name       string
		header     string
		body       string
		wantID     string
		wantSecret string
		wantMethod string
		wantCode   string
		wantBasic  bool
	}{
		{name: "RFC 6749 §2.3.1 Basic", header: basic("app", "s3cret"), wantID: "app", wantSecret: "s3cret", wantMethod: authBasic},
		{name: "RFC 6749 §2.3.1 Basic values are form-encoded", header: basic("my%3Aapp", "a%2Bb+c"), wantID: "my:app", wantSecret: "a+b c", wantMethod: authBasic},
		{name: "RFC 6749 §2.3.1 body credentials", body: "client_id=app&client_secret=s", wantID: "app", wantSecret: "s", wantMethod: authPost},
		{name: "public client: client_id only", body: "client_id=spa", wantID: "spa", wantMethod: authNone},
		{name: "Basic with matching body client_id", header: basic("app", "s"), body: "client_id=app", wantID: "app", wantSecret: "s", wantMethod: authBasic},
		{name: "RFC 6749 §2.3 two methods at once → invalid_request", header: basic("app", "s"), body: "client_secret=s", wantCode: oautherr.InvalidRequest},
		{name: "RFC 6749 §5.2 Basic not base64 → invalid_client with challenge", header: "Basic !!!", wantCode: oautherr.InvalidClient, wantBasic: true},
		{name: "RFC 6749 §5.2 Basic without colon → invalid_client", header: "Basic " + base64.StdEncoding.EncodeToString([]byte("nocolon")), wantCode: oautherr.InvalidClient, wantBasic: true},
		{name: "RFC 6749 §5.2 Basic bad escape → invalid_client", header: basic("a%zz", "s"), wantCode: oautherr.InvalidClient, wantBasic: true},
		{name: "RFC 6749 §5.2 Basic empty id → invalid_client", header: basic("", "s"), wantCode: oautherr.InvalidClient, wantBasic: true},
		{name: "Bearer scheme at the token endpoint → invalid_client", header: "Bearer abc", wantCode: oautherr.InvalidClient, wantBasic: true},
		{name: "Basic and a different body client_id → invalid_client", header: basic("app", "s"), body: "client_id=other", wantCode: oautherr.InvalidClient, wantBasic: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/oauth2/token", strings.NewReader(c.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if c.header != "" {
				r.Header.Set("Authorization", c.header)
			}
			form, err := readForm(httptest.NewRecorder(), r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := readCredentials(r, form)
			if c.wantCode != "" {
				var e *oautherr.Error
				if !errors.As(err, &e) || e.Code != c.wantCode || e.Basic != c.wantBasic {
					t.Fatalf("err = %#v, want %s basic=%v", err, c.wantCode, c.wantBasic)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.clientID != c.wantID || got.secret != c.wantSecret || got.method != c.wantMethod {
				t.Fatalf("got %+v", got)
			}
		})
	}
}

func TestAudienceParam(t *testing.T) {
	cases := []struct {
		name, body, want string
		wantErr          bool
	}{
		{"audience", "audience=api.a", "api.a", false},
		{"RFC 8707 §2 resource", "resource=api.a", "api.a", false},
		{"same value in both", "audience=api.a&resource=api.a", "api.a", false},
		{"RFC 8707 §2 two resources → invalid_target", "resource=api.a&resource=api.b", "", true},
		{"audience and a different resource → invalid_target", "audience=api.a&resource=api.b", "", true},
		{"none", "", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			form, err := readForm(httptest.NewRecorder(), r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := audienceParam(form)
			if c.wantErr {
				var e *oautherr.Error
				if !errors.As(err, &e) || e.Code != oautherr.InvalidTarget {
					t.Fatalf("err = %v, want invalid_target", err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
}

func TestResourceParams(t *testing.T) {
	eleven := ""
	for i := range 11 {
		eleven += "&resource=https://api" + strconv.Itoa(i) + ".example.com/"
	}
	cases := []struct {
		name, body string
		want       []string
		wantErr    bool
	}{
		{"RFC 8707 §2.1 several resources, in order", "resource=api.b&resource=https://a.example.com/", []string{"api.b", "https://a.example.com/"}, false},
		{"audience first, duplicates collapse", "resource=api.b&audience=api.a&resource=api.a&resource=api.b", []string{"api.a", "api.b"}, false},
		{"ten distinct APIs", strings.TrimPrefix(eleven[:strings.LastIndex(eleven, "&")], "&"), nil, false},
		{"RFC 8707 §2 empty resource → invalid_target", "resource=api.a&resource=", nil, true},
		{"RFC 8707 §2.1 eleven APIs → invalid_target", strings.TrimPrefix(eleven, "&"), nil, true},
		{"empty audience is no audience", "audience=", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			form, err := url.ParseQuery(c.body)
			if err != nil {
				t.Fatal(err)
			}
			got, err := resourceParams(form)
			if c.wantErr {
				var e *oautherr.Error
				if !errors.As(err, &e) || e.Code != oautherr.InvalidTarget {
					t.Fatalf("err = %v, want invalid_target", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.want != nil && !slices.Equal(got, c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}
