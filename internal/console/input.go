package console

import (
	"fmt"
	"net/http"

	"github.com/intelliauth/intelliauth/internal/model"
)

// maxValue bounds each path, query or form value of the console's pages:
// no field takes more (names are at most 64 characters, descriptions 120,
// a profile claim 512, an application's list of URIs 8000 — checked on its
// field by the Applications pages), so a longer one is refused before it
// reaches a use-case or a store.
const maxValue = 8192

// maxBody bounds a form's body.
const maxBody = 1 << 20

// checkInput refuses a request whose path, query or form holds a value that
// is not text every store can hold (model.ValidText: UTF-8 without NUL,
// which PostgreSQL refuses) or is longer than maxValue — the edge checks
// /api/v1 makes — with a 400 that names the field. The router runs it for
// every page and action, before anything else reads the request.
func checkInput(w http.ResponseWriter, r *http.Request) error {
	bad := func(name, problem string) error {
		if !model.ValidText(name) || len(name) > 40 {
			name = "a field"
		}
		return &pageError{Status: http.StatusBadRequest, Title: "Invalid input",
			Message: fmt.Sprintf("The value of %s %s; correct it and send it again.", name, problem)}
	}
	if !model.ValidText(r.URL.Path) {
		return bad("the address", "is not UTF-8 text or holds a NUL character")
	}
	if len(r.URL.Path) > maxValue {
		return bad("the address", "is too long")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		return &pageError{Status: http.StatusBadRequest, Title: "Invalid input",
			Message: "The form could not be read (malformed, or over 1 MiB); reload the page and send it again.", cause: err}
	}
	if name, ok := model.InvalidParam(r.Form); ok {
		return bad(name, "is not UTF-8 text or holds a NUL character")
	}
	for name, vs := range r.Form {
		for _, v := range vs {
			if len(v) > maxValue {
				return bad(name, fmt.Sprintf("is %d bytes long, more than any field here takes (%d)", len(v), maxValue))
			}
		}
	}
	return nil
}
