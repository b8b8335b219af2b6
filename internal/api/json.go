package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 1 << 20

// decodeJSON reads r's body into v: at most MaxBodyBytes, one JSON value,
// no unknown members (json.Decoder.DisallowUnknownFields), Content-Type
// application/json (or +json, or none), UTF-8 text without NUL characters
// (checkJSONText). Every failure is a 400 (415 for
// another media type) naming the field and saying what to send.
func decodeJSON(r *Request, v any) error {
	if err := checkContentType(r); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	if err != nil {
		return jsonProblem(err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonProblem(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return invalidField("body", "holds more than one JSON value; send exactly one JSON object")
	}
	return checkJSONText(body)
}

// decodeOptionalJSON is decodeJSON for routes whose body may be empty.
func decodeOptionalJSON(r *Request, v any) error {
	if r.ContentLength == 0 && len(r.TransferEncoding) == 0 {
		return nil
	}
	return decodeJSON(r, v)
}

func checkContentType(r *Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		return nil
	}
	return newProblem(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
		fmt.Sprintf("The request body is %q; send JSON with Content-Type: application/json.", ct))
}

// jsonProblem turns a decoding error into a 400 naming the field.
func jsonProblem(err error) error {
	var (
		mbe *http.MaxBytesError
		ute *json.UnmarshalTypeError
		se  *json.SyntaxError
	)
	switch {
	case errors.As(err, &mbe):
		return invalidField("body", "is larger than %d bytes; send a smaller request", MaxBodyBytes)
	case errors.As(err, &ute):
		field := ute.Field
		if field == "" {
			field = "body"
		}
		return invalidField(field, "must be %s, not a JSON %s", jsonTypeName(ute.Type.Kind().String()), ute.Value)
	case errors.As(err, &se):
		return invalidField("body", "is not valid JSON (at byte %d): %s", se.Offset, se.Error())
	case errors.Is(err, io.EOF):
		return invalidField("body", "is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalidField("body", "ends in the middle of a JSON value; send a complete JSON object")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return invalidField(name, "is not a field of this request; remove it (see the request schema in openapi.json)")
	}
	return invalidField("body", "could not be read as JSON: %s", err.Error())
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "true or false"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	}
	return "another type"
}

// durations parses the optional duration fields of a request body,
// written in Go's notation ("90s", "15m", "1h30m"), reporting every bad one
// at once under its field name.
type durations struct{ problems model.Problems }

// parse returns the duration of *s (nil when absent) and records a problem
// when it does not parse or is negative.
func (d *durations) parse(field string, s *string) *time.Duration {
	if s == nil {
		return nil
	}
	v, err := time.ParseDuration(*s)
	if err != nil || v < 0 {
		d.problems.Add(field, fmt.Sprintf(`%q is not a duration; write it like "90s", "15m" or "1h30m"`, *s))
		return nil
	}
	return &v
}

// value is parse for fields where absent means zero.
func (d *durations) value(field string, s *string) time.Duration {
	if v := d.parse(field, s); v != nil {
		return *v
	}
	return 0
}

// err returns the problems found, if any.
func (d *durations) err() error { return d.problems.Err() }

// writeJSON writes v as JSON with status; responses are never cached.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// writeResource writes one versioned resource with its ETag (RFC 9110
// §8.8.3): "v<version>", a strong validator that If-Match takes back.
func writeResource(w http.ResponseWriter, status int, v any, version int64) error {
	w.Header().Set("ETag", etag(version))
	return writeJSON(w, status, v)
}

// Default and maximum page lengths of list routes.
const (
	DefaultPerPage = 20
	MaxPerPage     = 100
)

// Page is a list route's paging: page is 1-based.
type Page struct {
	Page    int
	PerPage int
}

// Store returns the store's offset/limit form.
func (p Page) Store() store.Page {
	return store.Page{Offset: (p.Page - 1) * p.PerPage, Limit: p.PerPage}
}

// pageParams reads ?page= (≥1, default 1) and ?per_page= (1–100, default 20).
func pageParams(r *Request) (Page, error) {
	q := r.URL.Query()
	p := Page{Page: 1, PerPage: DefaultPerPage}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1_000_000 {
			return p, invalidField("page", "must be a whole number from 1 (the first page), not %q", v)
		}
		p.Page = n
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPerPage {
			return p, invalidField("per_page", "must be a whole number from 1 to %d, not %q", MaxPerPage, v)
		}
		p.PerPage = n
	}
	return p, nil
}

// List is the envelope of every list response.
type List[T any] struct {
	Items   []T `json:"items"`
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
	Total   int `json:"total"`
}

// newList wraps one page of items.
func newList[T any](items []T, p Page, total int) List[T] {
	if items == nil {
		items = []T{}
	}
	return List[T]{Items: items, Page: p.Page, PerPage: p.PerPage, Total: total}
}

// paginate cuts one page out of a complete, ordered slice (for admin
// use-cases that return everything).
func paginate[T any](all []T, p Page) List[T] {
	start := min((p.Page-1)*p.PerPage, len(all))
	end := min(start+p.PerPage, len(all))
	return newList(all[start:end], p, len(all))
}

// mapSlice converts every element.
func mapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, 0, len(in))
	for _, v := range in {
		out = append(out, f(v))
	}
	return out
}
