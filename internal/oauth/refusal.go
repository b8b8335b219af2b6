package oauth

import (
	"errors"
)

// refusal is an endpoint's error with what its log line needs besides the
// error code: the client (as authenticated, or as presented when
// authentication failed, made printable by presentedClientID) and the
// reason — the scope decision's or client authentication's when there is
// one, else the error code. writeError logs both; the client sees only
// the wrapped *oautherr.Error (Unwrap).
type refusal struct {
	err      error
	clientID string
	reason   string
}

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

// refused wraps err (nil stays nil) with its client and reason; an empty
// reason means the error code. An error already wrapped keeps its own.
func refused(err error, clientID, reason string) error {
	if err == nil {
		return nil
	}
	var rf *refusal
	if errors.As(err, &rf) {
		return err
	}
	return &refusal{err: err, clientID: clientID, reason: reason}
}

// refusalOf returns the client and reason of an error for its log line:
// refused's, else no client and the error code.
func refusalOf(err error, code string) (clientID, reason string) {
	var rf *refusal
	if errors.As(err, &rf) {
		clientID, reason = rf.clientID, rf.reason
	}
	if reason == "" {
		reason = code
	}
	return clientID, reason
}
