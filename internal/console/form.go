package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// Pager is the First / Previous / Next / Last navigation of a list (the
// "pager" template), 1-based.
type Pager struct {
	Page, Pages int
	// Path and Query are the list's URL; URL(n) sets its page=n.
	Path  string
	Query url.Values
}

// NewPager returns the pager of page (1-based, clamped into range) of total
// items shown perPage at a time, and the store.Page to read.
func NewPager(path string, q url.Values, total, perPage int) (Pager, store.Page) {
	pages := max(1, (total+perPage-1)/perPage)
	page, _ := strconv.Atoi(q.Get("page"))
	page = min(max(page, 1), pages)
	return Pager{Page: page, Pages: pages, Path: path, Query: q}, store.Page{Offset: (page - 1) * perPage, Limit: perPage}
}

// PageParam is the 1-based page the request asks for (1 when absent or bad).
func PageParam(q url.Values) int {
	n, err := strconv.Atoi(q.Get("page"))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

func (p Pager) Prev() int { return p.Page - 1 }
func (p Pager) Next() int { return p.Page + 1 }

// URL is the list's URL at page n.
func (p Pager) URL(n int) string {
	q := url.Values{}
	for k, v := range p.Query {
		q[k] = v
	}
	q.Set("page", strconv.Itoa(n))
	return p.Path + "?" + q.Encode()
}

// FieldErrors maps a form field to the message of its problem, as the API
// reports them (model.ValidationError), for a form re-shown with the
// user's input kept. The "" key holds problems of no single field.
type FieldErrors map[string]string

// fieldErrors returns the field problems of err, or nil when err is not a
// validation error (then the caller fails with it).
func fieldErrors(err error) FieldErrors {
	var ve *model.ValidationError
	if !errors.As(err, &ve) {
		if errors.Is(err, model.ErrInvalid) {
			if pe := describe(err); pe != nil {
				return FieldErrors{"": pe.Message}
			}
		}
		return nil
	}
	out := FieldErrors{}
	for _, p := range ve.Problems {
		msg := p.Message
		if prev, ok := out[p.Field]; ok {
			out[p.Field] = prev + "; " + msg
			continue
		}
		out[p.Field] = msg
	}
	return out
}

// formVersion is the version a versioned form was shown at (its hidden
// field): the precondition of the change (If-Match). A form without one is
// refused, never taken as "whatever is stored": that would overwrite a
// change someone else made meanwhile without saying so.
func formVersion(r *Request) (int64, error) {
	v, err := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	if err != nil || v < 1 {
		return 0, &pageError{Status: http.StatusBadRequest, Title: "Invalid input",
			Message: "The form does not say which version it was opened at; reload the page and make the change again."}
	}
	return v, nil
}
