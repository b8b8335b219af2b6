package token

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/intelliauth/intelliauth/internal/store"
)

// CheckTenantKeys reports whether s opens every sealed private key of one
// tenant: held is false when the tenant has no keys yet; err wraps ErrOpen,
// naming the key, when one does not open, and is the store's error when the
// keys cannot be read. It decrypts only (AES-GCM) and parses nothing, so a
// readiness probe may call it; that a key also parses and matches its
// public half is NewKeyring's business.
func CheckTenantKeys(ctx context.Context, repos store.Repos, s *Sealer, tenantID string) (held bool, err error) {
	keys, err := repos.Keys().List(ctx, tenantID)
	if err != nil {
		return false, fmt.Errorf("token: list keys of tenant %s: %w", tenantID, err)
	}
	for _, k := range keys {
		pt, err := s.Open(k.PrivateSealed, keyAD(k.TenantID, k.KID))
		if err != nil {
			return true, fmt.Errorf("token: private key %s of tenant %q: %w", k.KID, k.TenantID, err)
		}
		clear(pt)
	}
	return len(keys) > 0, nil
}

// MasterKeyReport is what CheckMasterKey found: the tenants whose signing
// keys the master key opens, and those it does not open (in tenant order).
// Tenants without keys are in neither.
type MasterKeyReport struct {
	Opened []string
	Failed []string
}

// Wrong reports whether the master key is not the one the data was sealed
// with: some tenant holds keys and the master key opens none of them. A key
// that opens some tenants but not others is the deployment's key: the
// others were sealed with another one (a tenant created with a wrong key),
// and only their requests fail, so the node stays up for the rest.
func (r MasterKeyReport) Wrong() bool { return len(r.Failed) > 0 && len(r.Opened) == 0 }

// Err is a *WrongMasterKeyError when the key is Wrong, else nil.
func (r MasterKeyReport) Err() error {
	if !r.Wrong() {
		return nil
	}
	return &WrongMasterKeyError{Tenants: r.Failed}
}

// WrongMasterKeyError says that the master key opens none of the stored
// signing keys: it is not the key the data was created with.
type WrongMasterKeyError struct {
	// Tenants are the tenants whose keys it does not open (at least one).
	Tenants []string
}

func (e *WrongMasterKeyError) Error() string {
	others := ""
	if n := len(e.Tenants) - 1; n == 1 {
		others = " (nor those of the other tenant)"
	} else if n > 1 {
		others = fmt.Sprintf(" (nor those of the %d other tenants)", n)
	}
	return "the master key does not open the signing keys of tenant " + e.Tenants[0] + others +
		": this is not the key the data was created with"
}

// Unwrap makes errors.Is(err, ErrOpen) true.
func (e *WrongMasterKeyError) Unwrap() error { return ErrOpen }

// CheckMasterKey opens the signing keys of every tenant with s. The report
// says which tenants' keys open; the error is the store's, when the tenants
// or their keys cannot be read.
func CheckMasterKey(ctx context.Context, repos store.Repos, s *Sealer) (MasterKeyReport, error) {
	var r MasterKeyReport
	tenants, err := repos.Tenants().List(ctx)
	if err != nil {
		return r, fmt.Errorf("token: list tenants: %w", err)
	}
	for _, t := range tenants {
		held, err := CheckTenantKeys(ctx, repos, s, t.ID)
		switch {
		case errors.Is(err, ErrOpen):
			r.Failed = append(r.Failed, t.ID)
		case err != nil:
			return r, err
		case held:
			r.Opened = append(r.Opened, t.ID)
		}
	}
	return r, nil
}

// Warning describes the tenants the master key does not open when it is
// not Wrong; "" when it opens every tenant's keys (or is Wrong: then Err
// says it).
func (r MasterKeyReport) Warning() string {
	if len(r.Failed) == 0 || r.Wrong() {
		return ""
	}
	what := "tenant " + r.Failed[0]
	if len(r.Failed) > 1 {
		what = "tenants " + describeTenants(r.Failed)
	}
	return "the master key does not open the signing keys of " + what +
		", which were sealed with another master key: requests to them fail, the other tenants are served"
}

// describeTenants lists tenant IDs for a message, a few of them.
func describeTenants(ids []string) string {
	if len(ids) > 5 {
		return strings.Join(ids[:5], ", ") + fmt.Sprintf(" and %d more", len(ids)-5)
	}
	return strings.Join(ids, ", ")
}
