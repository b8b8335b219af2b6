package oautherr

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWrite(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantWWW    string
	}{
		{"RFC 6749 §5.2 invalid_request → 400", New(InvalidRequest, "missing grant_type"), 400, InvalidRequest, ""},
		{"RFC 6749 §5.2 invalid_client via Basic → 401 + WWW-Authenticate", &Error{Code: InvalidClient, Status: 401, Basic: true}, 401, InvalidClient, `Basic realm="intelliauth", charset="UTF-8"`},
		{"RFC 6749 §5.2 invalid_client via post → 401 without challenge", New(InvalidClient, "x"), 401, InvalidClient, ""},
		{"RFC 8707 §2 invalid_target → 400", New(InvalidTarget, "unknown"), 400, InvalidTarget, ""},
		{"plain error hides its text as server_error", errors.New("db password is hunter2"), 500, ServerError, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Write(rec, c.err)
			if rec.Code != c.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, c.wantStatus)
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q", got)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != c.wantWWW {
				t.Errorf("WWW-Authenticate = %q, want %q", got, c.wantWWW)
			}
			var b map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
				t.Fatal(err)
			}
			if b["error"] != c.wantCode {
				t.Errorf("error = %q, want %q", b["error"], c.wantCode)
			}
			if c.wantCode == ServerError && b["error_description"] == "db password is hunter2" {
				t.Errorf("cause leaked to client")
			}
		})
	}
}

func TestSanitize(t *testing.T) {
	if got := sanitize("bad \"scope\" é\n"); got != "bad ?scope? ??" {
		t.Errorf("sanitize = %q", got)
	}
}

func TestBearerChallenge(t *testing.T) {
	if got := BearerChallenge("api", "", "", ""); got != `Bearer realm="api"` {
		t.Errorf("no-credentials challenge = %q", got)
	}
	if got := BearerChallenge("", InsufficientScope, "", "write:settings"); got != `Bearer error="insufficient_scope", scope="write:settings"` {
		t.Errorf("insufficient_scope challenge = %q", got)
	}
	_ = http.StatusOK
}
