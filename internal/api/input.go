package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/intelliauth/intelliauth/internal/model"
)

// maxPathParam bounds a path parameter: no identifier, name or client_id
// of the API comes near it, so a longer one is refused before it reaches a
// store.
const maxPathParam = 1024

// checkedInput runs f only when the request's path parameters (the
// {name} wildcards of pattern) and query parameters are text every store
// can hold (model.ValidText: UTF-8 without NUL bytes; PostgreSQL refuses
// both) and the path parameters are at most maxPathParam bytes. A bad one
// is a 400 naming it. The router wraps every route in it, so no handler
// can read a parameter that was not checked; JSON bodies are checked by
// decodeJSON.
func checkedInput(pattern string, f handlerFunc) handlerFunc {
	names := pathParams(pattern)
	return func(w http.ResponseWriter, r *Request) error {
		for _, n := range names {
			v := r.PathValue(n)
			if !model.ValidText(v) {
				return invalidField(n, "must be UTF-8 text without NUL bytes (percent-encoded in the path); no %s holds other bytes", n)
			}
			if len(v) > maxPathParam {
				return invalidField(n, "is %d bytes long; no %s is longer than %d bytes", len(v), n, maxPathParam)
			}
		}
		if name, bad := model.InvalidParam(r.URL.Query()); bad {
			if !model.ValidText(name) || len(name) > 40 {
				return invalidField("query", "holds a parameter name that is not UTF-8 text without NUL bytes; remove it")
			}
			return invalidField(name, "must be UTF-8 text without NUL bytes (percent-encoded in the query)")
		}
		return f(w, r)
	}
}

// pathParams returns the wildcard names of a net/http pattern
// ("/api/v1/groups/{group}/members/{user}" → group, user).
func pathParams(pattern string) []string {
	var names []string
	for _, seg := range strings.Split(pattern, "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			name = strings.TrimSuffix(strings.TrimSuffix(name, "}"), "...")
			if name != "" && name != "$" {
				names = append(names, name)
			}
		}
	}
	return names
}

// checkJSONText refuses a JSON body that is not text every store can hold:
// RFC 8259 §8.1 requires UTF-8 (encoding/json would silently turn invalid
// bytes into U+FFFD, storing something the client did not send), and a
// \u0000 escape decodes to a NUL byte, which PostgreSQL refuses. The error
// names the member ("redirect_uris[1]", "metadata.name") that holds it.
// body must already have decoded without error.
func checkJSONText(body []byte) error {
	if !utf8.Valid(body) {
		return invalidField("body", "is not UTF-8 (RFC 8259 §8.1); send the JSON encoded as UTF-8")
	}
	// A NUL can only come from this escape: a raw NUL byte is not valid
	// JSON, and the decoder has accepted body.
	if !bytes.Contains(body, []byte(`\u0000`)) {
		return nil
	}
	if field, ok := nulMember(body); ok {
		return invalidField(field, "holds a NUL character (\\u0000); remove it")
	}
	return nil
}

// nulMember walks the JSON document body and returns the path of the
// first member name or string value that holds a NUL.
func nulMember(body []byte) (string, bool) {
	type frame struct {
		object  bool
		key     string
		index   int
		wantKey bool
	}
	var stack []*frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			switch {
			case f.object && b.Len() > 0:
				b.WriteString("." + f.key)
			case f.object:
				b.WriteString(f.key)
			default:
				b.WriteString("[" + strconv.Itoa(f.index) + "]")
			}
		}
		if b.Len() == 0 {
			return "body"
		}
		return b.String()
	}
	// A value begins: in an array it is the next element.
	begin := func() {
		if n := len(stack); n > 0 && !stack[n-1].object {
			stack[n-1].index++
		}
	}
	// A value ended: in an object, a member name comes next.
	end := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			if key, ok := tok.(string); ok {
				if strings.IndexByte(key, 0) >= 0 {
					stack = stack[:n-1]
					return path(), true
				}
				stack[n-1].key, stack[n-1].wantKey = key, false
				continue
			}
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				begin()
				stack = append(stack, &frame{object: t == '{', index: -1, wantKey: t == '{'})
			default:
				stack = stack[:len(stack)-1]
				end()
			}
		case string:
			begin()
			if strings.IndexByte(t, 0) >= 0 {
				return path(), true
			}
			end()
		default:
			begin()
			end()
		}
	}
}
