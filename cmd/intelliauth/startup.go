package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/intelliauth/intelliauth/internal/config"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/token"
)

// The start-up failures an operator meets first, each said as its cause and
// the flag that fixes it, not as the chain of errors that led there.

// prepareDataDir creates the data directory (owner only) when it is
// missing and checks that this user can write in it: the database, the
// demo's master key and demo.json live there.
func prepareDataDir(dir string) error {
	_, statErr := os.Stat(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return dataDirError(dir, statErr == nil, err)
	}
	f, err := os.CreateTemp(dir, ".intelliauth-write-check-*")
	if err != nil {
		return dataDirError(dir, true, err)
	}
	name := f.Name()
	_ = f.Close()
	_ = os.Remove(name)
	return nil
}

// dataDirError names the data directory, why it cannot be used, and
// --data-dir.
func dataDirError(dir string, existed bool, err error) error {
	why := "cannot be used"
	switch {
	case errors.Is(err, syscall.EROFS):
		why = "is on a read-only file system"
	case existed && errors.Is(err, fs.ErrPermission):
		why = "is not writable by this user"
	case existed && errors.Is(err, syscall.ENOTDIR):
		why = "is a file, not a directory"
	case errors.Is(err, fs.ErrPermission):
		why = "does not exist and cannot be created (permission denied)"
	case errors.Is(err, syscall.ENOTDIR):
		why = "does not exist and cannot be created (a part of its path is a file)"
	case !existed:
		why = "does not exist and cannot be created (" + rootCause(err) + ")"
	default:
		why = "cannot be written (" + rootCause(err) + ")"
	}
	return &saidError{fmt.Sprintf("the data directory %s %s; choose a writable one with --data-dir (or %s)", dir, why, config.EnvDataDir), err}
}

// listenError names the address, why it cannot be listened on, and flag
// (--addr, --debug-addr).
func listenError(addr, flag string, err error) error {
	var why string
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		why = "is in use (by another program, or another intelliauth)"
	case errors.Is(err, syscall.EACCES):
		why = "may not be listened on by this user (ports below 1024 need privileges)"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		why = "is not an address of this machine"
	default:
		why = "cannot be listened on (" + rootCause(err) + ")"
	}
	return &saidError{fmt.Sprintf("%s %s; choose another with %s", addr, why, flag), err}
}

// checkMasterKey refuses a master key that opens none of the stored signing
// keys, saying how to pass the right one. The report tells serve which
// tenants, if any, it cannot serve with the key (they were sealed with
// another one).
func checkMasterKey(ctx context.Context, db store.Store, sealer *token.Sealer) (token.MasterKeyReport, error) {
	r, err := token.CheckMasterKey(ctx, db, sealer)
	if err != nil {
		return r, fmt.Errorf("check the master key against the stored signing keys: %w", err)
	}
	if err := r.Err(); err != nil {
		return r, fmt.Errorf("%w; pass the right one with --master-key-file or %s (or --master-key / %s)", err, config.EnvMasterKeyFile, config.EnvMasterKey)
	}
	return r, nil
}

// rootCause is the innermost error's text: "permission denied", not the
// chain of operations above it.
func rootCause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// saidError is a message that already says its cause's reason, over the
// cause: the operator reads one sentence, errors.Is still sees the cause.
type saidError struct {
	msg string
	err error
}

func (e *saidError) Error() string { return e.msg }
func (e *saidError) Unwrap() error { return e.err }
