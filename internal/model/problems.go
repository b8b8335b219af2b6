package model

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is wrapped by every validation error, so callers can map it to a
// 400 with errors.Is.
var ErrInvalid = errors.New("invalid")

// Problem is one field that failed validation, with a sentence a person can
// act on.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problems collects every validation problem so that one Validate call
// reports them all.
type Problems []Problem

// Add records a problem.
func (p *Problems) Add(field, message string) {
	*p = append(*p, Problem{Field: field, Message: message})
}

// Err returns nil when there are no problems, else a *ValidationError.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	return &ValidationError{Problems: p}
}

// ValidationError lists every problem found; it wraps ErrInvalid.
type ValidationError struct{ Problems Problems }

func (e *ValidationError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.Field)
		b.WriteString(" ")
		b.WriteString(p.Message)
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// invalidText is one invalid value's sentence: its text is the sentence
// alone (a Problem's message as it stands), and errors.Is(err, ErrInvalid)
// holds.
type invalidText struct{ msg string }

func (e *invalidText) Error() string { return e.msg }
func (e *invalidText) Unwrap() error { return ErrInvalid }

// invalidf returns an *invalidText.
func invalidf(format string, args ...any) error {
	return &invalidText{msg: fmt.Sprintf(format, args...)}
}
