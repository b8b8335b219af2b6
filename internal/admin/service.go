package admin

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/audit"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/token"
)

// Service runs the admin use-cases. Its fields are its dependencies, set by
// the composition root; the zero Now and Logger fall back to time.Now and a
// discarding logger.
type Service struct {
	Store store.Store
	// Sealer seals new signing keys; CreateTenant and RotateKeys need it.
	Sealer *token.Sealer
	Now    func() time.Time
	Logger *slog.Logger
	// AllowInsecureIssuer permits http:// issuers off loopback (mirrors the
	// server's setting, so admins cannot create a tenant it would refuse).
	AllowInsecureIssuer bool
	// PasswordThrottle bounds wrong current passwords in ChangeMyPassword;
	// the zero value is the login page's defaults.
	PasswordThrottle PasswordThrottle
	// CodeThrottle bounds wrong second-factor codes (CheckTOTP,
	// UseRecoveryCode) per user; the zero value is the same defaults as
	// PasswordThrottle's (5 wrong codes in 15 minutes lock for 15 minutes).
	CodeThrottle PasswordThrottle
}

// Actor is who performs a use-case; it is recorded in every audit event.
// Type is one of model.ActorClient, model.ActorUser, model.ActorSystem.
type Actor struct {
	Type string
	ID   string
	// Via is, for a user actor, the client_id of the application whose
	// access token the user called with (/api/v1 sets it from the token's
	// client_id; the console, its own). Every audit event of a write
	// records it as the "via_client" member of its details. It is empty
	// for a client actor (the client is the actor) and for System.
	Via string
	// Scopes are the scopes of the access token the actor called with, as
	// issued (expanded by implication). A use-case that gives platform
	// scopes away or hands over something holding them requires them here
	// (escalation.go); an actor with none may grant no platform scope.
	Scopes []string
	// operator marks the operator's system actor (System): it holds every
	// platform scope. Only System sets it, so no actor built from a request
	// can claim it.
	operator bool
	// page is set by PageActor: a user acting on one of the tenant's own
	// pages with their browser session and no token.
	page string
	// AMR is how a user actor's sign-in authenticated (RFC 8176): the
	// access token's amr, or the page session's. Changing the second
	// factors of a user who has one needs a sign-in that passed one
	// (ErrStepUpRequired).
	AMR []string
}

// WithAMR returns the actor with the authentication methods of its
// sign-in.
func (a Actor) WithAMR(amr []string) Actor {
	a.AMR = amr
	return a
}

// PageActor is the actor of a user on one of the tenant's own end-user
// pages — page names it: "account" for the account page, "login" for the
// sign-in pages — signed in with their browser session and holding no
// access token. Its authority is the user themself and nothing more: it
// runs the me use-cases only (every other use-case refuses it with
// ErrForbidden, whatever roles the user holds), and their events record
// page as their "via" instead of the /api/v1 route.
func PageActor(userID, page string) Actor {
	return Actor{Type: model.ActorUser, ID: userID, page: page}
}

// System is the actor of the operator's own bootstrap work that runs on
// the database with the master key, not over /api/v1 with a token —
// tenant creation, the demo seed, `intelliauth tenant` commands, tests'
// setup. It holds every platform scope, so the escalation rule passes for
// it explicitly rather than being skipped.
func System(id string) Actor { return Actor{Type: model.ActorSystem, ID: id, operator: true} }

// CLI is the actor of an operator at the command line (System("cli")).
func CLI() Actor { return System("cli") }

// validate checks the actor of an administrative use-case: a well-formed
// actor that is not a PageActor (whose authority stops at the user's own
// account).
func (a Actor) validate() error {
	if err := a.validateSelf(); err != nil {
		return err
	}
	if a.page != "" {
		return refuse(ErrForbidden, "the %s page manages the signed-in user's own account only", a.page)
	}
	return nil
}

// via is what the actor's events record as their "via": the page of a
// PageActor, else route (the /api/v1 route of the me use-case).
func (a Actor) via(route string) string {
	if a.page != "" {
		return a.page
	}
	return route
}

// validateSelf checks the actor of a me use-case: any well-formed actor
// (self then requires a user).
func (a Actor) validateSelf() error {
	switch a.Type {
	case model.ActorClient, model.ActorUser, model.ActorSystem:
	default:
		return refuse(model.ErrInvalid, "the actor type %q must be client, user or system", a.Type)
	}
	if a.ID == "" {
		return refuse(model.ErrInvalid, "the actor has no ID")
	}
	return nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// event is one audit record a use-case appends inside its transaction.
type event struct {
	Type     string
	TenantID string
	ClientID string
	// Subject is the end user the event is about (user and role changes).
	Subject  string
	Audience string
	Scopes   []string
	Details  any
}

// writeAttempts bounds how often writeAt runs a change that lost a race.
// Every lost attempt means another write to the same row committed, so n
// concurrent writers cost one another at most n-1 attempts; the bound only
// stops a change from starving under an endless stream of writes.
const writeAttempts = 10

// writeAt is write for a change of one versioned resource that the caller
// made conditional on version. Its fn reads the resource and hands the
// version it read to the store, which refuses (store.ErrPrecondition) when
// the row changed meanwhile. With version 0 the caller asked for "whatever
// is stored now", so such a refusal only means another change landed
// between fn's read and its write: fn runs again on the new state, a few
// times. With a version, the refusal is the answer.
//
// When every attempt lost, the answer is a conflict, not a failed
// precondition: the caller set none (RFC 9110 §13.1.1, If-Match: * holds
// while the resource exists), the resource just kept changing.
func (s *Service) writeAt(ctx context.Context, actor Actor, version int64, fn func(tx store.Repos, now time.Time) ([]event, error)) error {
	for attempt := 1; ; attempt++ {
		err := s.write(ctx, actor, fn)
		if version != 0 || !errors.Is(err, store.ErrPrecondition) {
			return err
		}
		if attempt == writeAttempts {
			return refuse(store.ErrConflict, "the resource changed %d times while this change ran; try again", writeAttempts)
		}
	}
}

// write runs fn in one transaction and appends the events fn returns in the
// same transaction, so a change is never committed without its audit record
// (nor the record without the change).
func (s *Service) write(ctx context.Context, actor Actor, fn func(tx store.Repos, now time.Time) ([]event, error)) error {
	if err := actor.validate(); err != nil {
		return err
	}
	return s.commit(ctx, actor, fn)
}

// commit is write for an actor the caller has checked (the me use-cases
// check theirs with self).
func (s *Service) commit(ctx context.Context, actor Actor, fn func(tx store.Repos, now time.Time) ([]event, error)) error {
	if s.Store == nil {
		return errors.New("admin: Service.Store is nil")
	}
	now := s.now()
	var written []event
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		evs, err := fn(tx, now)
		if err != nil || len(evs) == 0 {
			return err
		}
		rows := make([]model.AuditEvent, 0, len(evs))
		written = evs
		for _, e := range evs {
			details, err := eventDetails(e, actor.Via)
			if err != nil {
				return err
			}
			rows = append(rows, model.AuditEvent{
				ID:        audit.NewID(now),
				TenantID:  e.TenantID,
				Type:      e.Type,
				Time:      now,
				ActorType: actor.Type,
				ActorID:   actor.ID,
				ClientID:  e.ClientID,
				Subject:   e.Subject,
				Audience:  e.Audience,
				Scopes:    e.Scopes,
				Details:   details,
			})
		}
		return tx.Audit().Append(ctx, rows)
	})
	if err != nil {
		return err
	}
	for _, e := range written {
		s.logger().LogAttrs(ctx, slog.LevelInfo, "admin change", append([]slog.Attr{slog.String("event", e.Type), slog.String("tenant", e.TenantID),
			slog.String("actor_type", actor.Type), slog.String("actor_id", actor.ID)}, changeAttrs(e)...)...)
	}
	return nil
}

// viaMember is the details member naming the application an actor acted
// through (Actor.Via). It is not "via": the me use-cases already record
// their own route there ("me/profile", …).
const viaMember = "via_client"

// eventDetails encodes e's details, with via as their viaMember when via is
// set and the details are a JSON object; the other members keep their
// values (json.Marshal writes a map's members sorted, before and after).
func eventDetails(e event, via string) (json.RawMessage, error) {
	details, err := json.Marshal(e.Details)
	if err != nil {
		return nil, fmt.Errorf("admin: encode %s details: %w", e.Type, err)
	}
	if via == "" || len(details) == 0 || details[0] != '{' {
		return details, nil
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(details, &members); err != nil {
		return nil, fmt.Errorf("admin: decode %s details: %w", e.Type, err)
	}
	if _, taken := members[viaMember]; taken {
		return nil, fmt.Errorf("admin: %s details already hold %q", e.Type, viaMember)
	}
	members[viaMember], err = json.Marshal(via)
	if err != nil {
		return nil, fmt.Errorf("admin: encode %s details: %w", e.Type, err)
	}
	details, err = json.Marshal(members)
	if err != nil {
		return nil, fmt.Errorf("admin: encode %s details: %w", e.Type, err)
	}
	return details, nil
}

// read runs fn in one transaction, for use-cases that need a consistent view
// of several repositories.
func (s *Service) read(ctx context.Context, actor Actor, fn func(tx store.Repos) error) error {
	if err := actor.validate(); err != nil {
		return err
	}
	if s.Store == nil {
		return errors.New("admin: Service.Store is nil")
	}
	return s.Store.InTx(ctx, fn)
}

// getTenant loads a tenant with an error that names it.
func getTenant(ctx context.Context, tx store.Repos, id string) (model.Tenant, error) {
	t, err := tx.Tenants().Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return t, refuse(err, "tenant %q was not found", id)
	}
	if err != nil {
		return t, fmt.Errorf("tenant %q: %w", id, err)
	}
	return t, nil
}

// invalid returns a validation error of one problem.
func invalid(field, format string, args ...any) error {
	var p model.Problems
	p.Add(field, fmt.Sprintf(format, args...))
	return p.Err()
}

// problemsOf returns the problems of a validation error, so a use-case can
// add its own cross-entity problems and report them all at once.
func problemsOf(err error) model.Problems {
	var ve *model.ValidationError
	if errors.As(err, &ve) {
		return append(model.Problems(nil), ve.Problems...)
	}
	if err != nil {
		return model.Problems{{Field: "", Message: err.Error()}}
	}
	return nil
}

// checkVersion enforces a caller's optimistic-concurrency precondition; 0
// means "whatever is stored now".
func checkVersion(what string, want, have int64) error {
	if want != 0 && want != have {
		return refuse(store.ErrPrecondition, "%s is at version %d, not %d (changed meanwhile; reload and retry)", what, have, want)
	}
	return nil
}

// randomID returns prefix followed by n random bytes in lower-case base32.
func randomID(prefix string, n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("admin: random id: %w", err)
	}
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)), nil
}
