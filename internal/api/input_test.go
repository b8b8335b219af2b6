package api

import (
	"errors"
	"testing"
)

// TestCheckJSONTextNamesTheMemberHoldingNUL: a \u0000 escape decodes to a
// NUL byte, which PostgreSQL refuses (SQLSTATE 22021); the 400 names where
// it is, however deep. An escaped backslash before "u0000" is not a NUL.
func TestCheckJSONTextNamesTheMemberHoldingNUL(t *testing.T) {
	cases := []struct {
		name, body, field string // field "" means accepted
	}{
		{"plain", `{"name":"a","list":["x",{"k":"v"}],"n":1,"b":true,"z":null}`, ""},
		{"escaped backslash then u0000 is text", `{"name":"a\\u0000b"}`, ""},
		{"top-level member", `{"name":"a\u0000b"}`, "name"},
		{"array element", `{"redirect_uris":["https://a/","https://b/\u0000"]}`, "redirect_uris[1]"},
		{"nested object after other values", `{"a":[1,{"b":2}],"c":{"d":[true,null,"\u0000"]}}`, "c.d[2]"},
		{"member name", `{"meta":{"k\u0000":"v"}}`, "meta"},
		{"top-level string", `"\u0000"`, "body"},
		{"invalid UTF-8", "{\"name\":\"a\xffb\"}", "body"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkJSONText([]byte(c.body))
			if c.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var p *Problem
			if !errors.As(err, &p) || p.Status != 400 || len(p.Errors) != 1 || p.Errors[0].Field != c.field {
				t.Fatalf("got %v, want a 400 naming %q", err, c.field)
			}
		})
	}
}

func TestPathParams(t *testing.T) {
	got := pathParams("/api/v1/groups/{group}/members/{user}")
	if len(got) != 2 || got[0] != "group" || got[1] != "user" {
		t.Errorf("pathParams = %q", got)
	}
	if got := pathParams("/api/v1/files/{path...}"); len(got) != 1 || got[0] != "path" {
		t.Errorf("pathParams with ... = %q", got)
	}
	if got := pathParams("/api/v1/{$}"); len(got) != 0 {
		t.Errorf("pathParams with {$} = %q", got)
	}
}
