package admin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// A consent is what a user approved for an application (PRODUCT.md §1).
// The user reads and withdraws their own through the me use-cases
// (MyConsents, RevokeMyConsent, RevokeAllMyConsents in me.go); an admin
// reads and withdraws any user's through UserConsents and
// RevokeUserConsent. Both go through consentsOf and revokeConsent, so a
// withdrawal revokes the same grants whoever makes it.

// UserConsent is one application a user has consented to.
type UserConsent struct {
	ClientID string `json:"client_id"`
	// Application is the application's name ("" if it vanished meanwhile).
	Application string    `json:"application"`
	Scopes      []string  `json:"scopes"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// viaMyConsents is the "via" of a consent.revoked event the user caused
// themselves; an admin's withdrawal records none (its actor is the admin,
// its subject the user).
const viaMyConsents = "me/consents"

// consentsOf lists the consents of the user userID, by client ID, each
// with its application's name.
func consentsOf(ctx context.Context, r store.Repos, tenantID, userID string) ([]UserConsent, error) {
	cs, err := r.Consents().ListByUser(ctx, tenantID, userID)
	if err != nil {
		return nil, fmt.Errorf("consents of %s: %w", userID, err)
	}
	out := make([]UserConsent, 0, len(cs))
	for _, c := range cs {
		app, err := r.Applications().Get(ctx, tenantID, c.ClientID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("application %q: %w", c.ClientID, err)
		}
		out = append(out, UserConsent{ClientID: c.ClientID, Application: app.Name, Scopes: nonNil(c.Scopes),
			CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt})
	}
	return out, nil
}

// revokeConsent deletes consent c and revokes the application's
// refresh-token families of the user, with the access tokens issued from
// them (store.RefreshTokens.RevokeByUser), and returns the consent.revoked
// event to append in the same transaction. via, when set, is recorded in
// the event's details (the me use-cases say which route).
func revokeConsent(ctx context.Context, tx store.Repos, c model.Consent, via string) (event, error) {
	if err := tx.Consents().Revoke(ctx, c.TenantID, c.UserID, c.ClientID); err != nil {
		return event{}, fmt.Errorf("revoke consent for %q: %w", c.ClientID, err)
	}
	n, err := tx.RefreshTokens().RevokeByUser(ctx, c.TenantID, c.UserID, c.ClientID)
	if err != nil {
		return event{}, fmt.Errorf("revoke refresh tokens of %q: %w", c.ClientID, err)
	}
	details := map[string]any{"scopes": nonNil(c.Scopes), "refresh_families_revoked": n}
	if via != "" {
		details["via"] = via
	}
	return event{Type: model.EventConsentRevoked, TenantID: c.TenantID, ClientID: c.ClientID, Subject: c.UserID,
		Scopes: c.Scopes, Details: details}, nil
}

// UserConsents lists the consents of a user (by ID, username or email), by
// client ID: the applications the user approved and the scopes of each.
// Applications of implicit consent (first-party) hold none.
func (s *Service) UserConsents(ctx context.Context, actor Actor, tenantID, userRef string) ([]UserConsent, error) {
	var out []UserConsent
	err := s.read(ctx, actor, func(tx store.Repos) error {
		if _, err := getTenant(ctx, tx, tenantID); err != nil {
			return err
		}
		u, err := resolveUser(ctx, tx, tenantID, userRef)
		if err != nil {
			return err
		}
		out, err = consentsOf(ctx, tx, tenantID, u.ID)
		return err
	})
	return out, err
}

// RevokeUserConsent withdraws a user's consent for one application on
// their behalf, as RevokeMyConsent does for the user themselves: the
// application's refresh-token families of the user are revoked, with the
// access tokens issued from them, in one transaction with a consent.revoked
// event whose actor is the admin and whose subject is the user. The next
// authorization asks the user again. No consent for clientID is
// store.ErrNotFound. Withdrawing takes scopes away, so it needs no
// escalation check.
func (s *Service) RevokeUserConsent(ctx context.Context, actor Actor, tenantID, userRef, clientID string) error {
	return s.write(ctx, actor, func(tx store.Repos, now time.Time) ([]event, error) {
		if _, err := getTenant(ctx, tx, tenantID); err != nil {
			return nil, err
		}
		u, err := resolveUser(ctx, tx, tenantID, userRef)
		if err != nil {
			return nil, err
		}
		c, err := tx.Consents().Get(ctx, tenantID, u.ID, clientID)
		if err != nil {
			return nil, lookupErr(err, fmt.Sprintf("the consent of %s for %q", u.Username, clientID))
		}
		ev, err := revokeConsent(ctx, tx, c, "")
		if err != nil {
			return nil, err
		}
		return []event{ev}, nil
	})
}
