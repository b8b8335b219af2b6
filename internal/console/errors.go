package console

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/logging"
)

// pageError is an error of the console's own with the page that shows it:
// its status, a title, the sentence the user reads (why, and what to do)
// and optionally a link onwards.
type pageError struct {
	Status   int
	Title    string
	Message  string
	Link     string
	LinkText string
	cause    error
}

func (e *pageError) Error() string {
	if e.cause != nil {
		return e.Message + ": " + e.cause.Error()
	}
	return e.Message
}

func (e *pageError) Unwrap() error { return e.cause }

// errUnavailable marks a failure of the node's own endpoints that said 503.
var errUnavailable = errors.New("console: the authorization server is unavailable")

func notFound(format string, args ...any) error {
	return &pageError{Status: http.StatusNotFound, Title: "Not found", Message: fmt.Sprintf(format, args...)}
}

// missingScope refuses a page or action the user's token does not carry
// the scope of.
func missingScope(op admin.Op) error {
	sc := op.Scope()
	return &pageError{Status: http.StatusForbidden, Title: "Not allowed",
		Message: fmt.Sprintf("This needs the platform scope %s, which your roles do not give you. Ask an admin of this tenant for a role with %s, then sign out and in again.", sc, sc)}
}

// describe turns an error of a use-case into the page that shows it,
// through admin.Describe: the status and the sentence are the ones /api/v1
// gives for the same error; only the way out is the console's (open the
// page again, rather than GET with an ETag). nil for an error that is the
// server's own.
func describe(err error) *pageError {
	var pe *pageError
	if errors.As(err, &pe) {
		return pe
	}
	d := admin.Describe(err)
	status := d.Kind.Status()
	switch d.Kind {
	case admin.KindInsufficientScope:
		return &pageError{Status: status, Title: "Not allowed", Message: sentence(d.Message), cause: err}
	case admin.KindForbidden:
		return &pageError{Status: status, Title: "Not allowed", Message: sentence(d.Message), cause: err}
	case admin.KindInvalid:
		if len(d.Problems) > 0 {
			msg := "The input is not valid:"
			for _, p := range d.Problems {
				msg += " " + p.Field + ": " + p.Message + "."
			}
			return &pageError{Status: status, Title: "Invalid input", Message: msg, cause: err}
		}
		return &pageError{Status: status, Title: "Invalid input", Message: sentence(capitalize(d.Message)), cause: err}
	case admin.KindPrecondition:
		return &pageError{Status: status, Title: "Changed by someone else",
			Message: "This was changed by someone else since you opened it. Open it again to see the current version, then make your change again.", cause: err}
	case admin.KindNotFound:
		return &pageError{Status: status, Title: "Not found", Message: sentence(capitalize(d.Message) + "; it may have been deleted meanwhile"), cause: err}
	case admin.KindConflict:
		return &pageError{Status: status, Title: "Conflict", Message: sentence(capitalize(d.Message)), cause: err}
	}
	return nil
}

// capitalize upper-cases the first letter of a sentence.
func capitalize(s string) string {
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// sentence ends s with a full stop.
func sentence(s string) string {
	if s == "" || s[len(s)-1] == '.' {
		return s
	}
	return s + "."
}

// fail renders err: a known error as its page, anything else as a 500 (or
// 503) whose cause goes to the log, never to the page. r may be nil on the
// sign-in pages.
func (h *Handler) fail(w http.ResponseWriter, hr *http.Request, r *Request, err error) {
	pe := describe(err)
	if pe == nil {
		k := logging.Classify(hr.Context(), err)
		if k == logging.ClientGone {
			w.WriteHeader(logging.StatusClientClosedRequest)
			return
		}
		h.logger().Log(hr.Context(), logging.Level(k, http.StatusInternalServerError), "console", "path", hr.URL.Path, "err", err)
		pe = &pageError{Status: http.StatusInternalServerError, Title: "Something went wrong",
			Message: "The server could not complete this; try again. If it keeps failing, the server's log has the cause (search for the request ID below)."}
		if k == logging.Unavailable || errors.Is(err, errUnavailable) {
			w.Header().Set("Retry-After", logging.RetryAfterSeconds)
			pe.Status, pe.Title = http.StatusServiceUnavailable, "Temporarily unavailable"
			pe.Message = "The database cannot be reached just now; try again in a moment."
		}
	} else if pe.Status >= 500 {
		h.logger().ErrorContext(hr.Context(), "console", "path", hr.URL.Path, "err", err)
	}
	h.renderError(w, hr, r, pe)
}
