package admin

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/mfa/mfatest"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/token"
)

// enrolled enrols and confirms an authenticator app for the actor and
// returns the enrolment (with its secret) and the confirmation. The clock
// then moves past the confirming code's step.
func (f *fixture) enrolled(t *testing.T, as Actor, name string) (TOTPEnrolment, TOTPConfirmation) {
	t.Helper()
	enr, err := f.svc.EnrolTOTP(t.Context(), as, "acme", name)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := f.svc.ConfirmTOTP(t.Context(), as, "acme", enr.FactorID, mfatest.TOTPCode(enr.Secret, f.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(30 * time.Second)
	return enr, conf
}

func (f *fixture) setPolicy(t *testing.T, p model.MFAPolicy) {
	t.Helper()
	tn, err := f.st.Tenants().Get(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	tn.MFAPolicy = p
	if _, err := f.st.Tenants().Update(t.Context(), tn); err != nil {
		t.Fatal(err)
	}
}

// codeField is the message of a refused code's problem on "code".
func codeField(t *testing.T, err error) string {
	t.Helper()
	var ve *model.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Field != "code" {
		t.Fatalf("want a validation error on code, got %v", err)
	}
	return ve.Problems[0].Message
}

func TestEnrolTOTPSealsTheSecretAndConfirmsWithACode(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	alice, bobUser, as := f.people(t)

	enr, err := f.svc.EnrolTOTP(ctx, as, "acme", "  Phone  ")
	if err != nil {
		t.Fatal(err)
	}
	if enr.Name != "Phone" || !strings.HasPrefix(enr.URI, "otpauth://totp/") || !strings.Contains(enr.URI, "secret="+enr.Secret) ||
		!strings.Contains(enr.URI, "issuer=Acme") || !strings.HasPrefix(enr.QRDataURL(), "data:image/png;base64,") {
		t.Fatalf("enrolment = %+v", enr)
	}
	if _, err := png.Decode(bytes.NewReader(enr.QRPNG)); err != nil {
		t.Fatalf("QR code is not a PNG: %v", err)
	}
	// At rest the secret is sealed, and bound to its row.
	stored, err := f.st.Factors().Get(ctx, "acme", alice.ID, enr.FactorID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Confirmed || bytes.Contains(stored.Secret, []byte(enr.Secret)) || len(stored.Secret) == 0 {
		t.Fatalf("stored factor: confirmed %v, secret in clear: %v", stored.Confirmed, bytes.Contains(stored.Secret, []byte(enr.Secret)))
	}
	if pt, err := f.svc.Sealer.Open(stored.Secret, totpAD("acme", alice.ID, enr.FactorID)); err != nil || string(pt) != enr.Secret {
		t.Fatalf("open with its own binding: %q %v", pt, err)
	}
	if _, err := f.svc.Sealer.Open(stored.Secret, totpAD("acme", bobUser.ID, enr.FactorID)); err == nil {
		t.Fatal("a secret opened under another user's binding")
	}
	// An unconfirmed factor is not asked for at sign-in.
	if err := f.svc.CheckTOTP(ctx, "acme", alice.ID, mfatest.TOTPCode(enr.Secret, f.clock.Now())); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("code of an unconfirmed factor at sign-in: %v", err)
	}

	before := len(f.events(t, "acme"))
	_, err = f.svc.ConfirmTOTP(ctx, as, "acme", enr.FactorID, "12345")
	if !errors.Is(err, ErrInvalidCode) || !strings.Contains(codeField(t, err), "6 digits") {
		t.Fatalf("malformed code: %v", err)
	}
	wrong := mfatest.TOTPCode(enr.Secret, f.clock.Now().Add(-5*time.Minute))
	_, err = f.svc.ConfirmTOTP(ctx, as, "acme", enr.FactorID, wrong)
	if !errors.Is(err, ErrInvalidCode) || errors.Is(err, ErrCodeReplayed) || !strings.Contains(codeField(t, err), "not valid") {
		t.Fatalf("wrong code: %v", err)
	}
	f.unchanged(t, "acme", before)
	code := mfatest.TOTPCode(enr.Secret, f.clock.Now())
	conf, err := f.svc.ConfirmTOTP(ctx, as, "acme", enr.FactorID, code[:3]+" "+code[3:])
	if err != nil {
		t.Fatal(err)
	}
	if !conf.Factor.Confirmed || conf.Factor.Name != "Phone" || len(conf.RecoveryCodes) != 10 {
		t.Fatalf("confirmation = %+v", conf)
	}
	// The confirming code is spent: not accepted again at sign-in.
	if err := f.svc.CheckTOTP(ctx, "acme", alice.ID, code); !errors.Is(err, ErrCodeReplayed) {
		t.Fatalf("the confirming code at sign-in: %v", err)
	}
	if _, err := f.svc.ConfirmTOTP(ctx, as, "acme", enr.FactorID, code); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("confirming twice: %v", err)
	}
	ev := f.lastEvent(t, "acme")
	d := details(t, ev)
	if ev.Type != model.EventMFAEnrolled || ev.Subject != alice.ID || d["factor_id"] != enr.FactorID || d["via"] != "me/mfa" ||
		d["recovery_codes_issued"] != float64(10) {
		t.Fatalf("event = %s %s", ev.Type, ev.Details)
	}
	if bytes.Contains(ev.Details, []byte(enr.Secret)) || bytes.Contains(ev.Details, []byte(conf.RecoveryCodes[0])) {
		t.Fatal("a secret or a recovery code is in the audit log")
	}

	// A second factor brings no new recovery codes; the first set stands.
	_, conf2 := f.enrolled(t, as, "Tablet")
	if conf2.RecoveryCodes != nil {
		t.Fatalf("second factor issued codes: %v", conf2.RecoveryCodes)
	}
	list, err := f.svc.MyFactors(ctx, as, "acme")
	if err != nil || len(list.Items) != 2 || list.RecoveryCodesLeft != 10 || list.Items[0].LastUsedAt == nil {
		t.Fatalf("MyFactors = %+v, %v", list, err)
	}

	if _, err := f.svc.EnrolTOTP(ctx, as, "acme", strings.Repeat("x", 65)); !errors.Is(err, model.ErrInvalid) || !strings.Contains(err.Error(), "name") {
		t.Fatalf("long name: %v", err)
	}
	// Bob cannot confirm alice's enrolment.
	enr3, err := f.svc.EnrolTOTP(ctx, as, "acme", "Spare")
	if err != nil {
		t.Fatal(err)
	}
	bob := Actor{Type: model.ActorUser, ID: bobUser.ID}
	if _, err := f.svc.ConfirmTOTP(ctx, bob, "acme", enr3.FactorID, mfatest.TOTPCode(enr3.Secret, f.clock.Now())); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("bob confirming alice's factor: %v", err)
	}
}

// RFC 6238 §5.2: a code is accepted once, within one step either side.
func TestCheckTOTPRFC6238AcceptsACodeOnce(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	alice, _, as := f.people(t)
	enr, _ := f.enrolled(t, as, "Phone")

	code := mfatest.TOTPCode(enr.Secret, f.clock.Now())
	if err := f.svc.CheckTOTP(ctx, "acme", alice.ID, code); err != nil {
		t.Fatalf("a fresh code: %v", err)
	}
	// Another node, at the same instant: the store's compare-and-swap.
	other := &Service{Store: f.st, Sealer: f.svc.Sealer, Now: f.clock.Now}
	if err := other.CheckTOTP(ctx, "acme", alice.ID, code); !errors.Is(err, ErrCodeReplayed) || !errors.Is(err, ErrInvalidCode) ||
		!strings.Contains(codeField(t, err), "already used") {
		t.Fatalf("RFC 6238 §5.2 the same code twice: %v", err)
	}
	f.clock.Advance(30 * time.Second)
	prev := mfatest.TOTPCode(enr.Secret, f.clock.Now().Add(-30*time.Second))
	if err := f.svc.CheckTOTP(ctx, "acme", alice.ID, prev); !errors.Is(err, ErrCodeReplayed) {
		t.Fatalf("the used step, one step later: %v", err)
	}
	if err := f.svc.CheckTOTP(ctx, "acme", alice.ID, mfatest.TOTPCode(enr.Secret, f.clock.Now())); err != nil {
		t.Fatalf("the next step: %v", err)
	}
	f.clock.Advance(2 * time.Minute)
	old := mfatest.TOTPCode(enr.Secret, f.clock.Now().Add(-60*time.Second))
	if err := f.svc.CheckTOTP(ctx, "acme", alice.ID, old); !errors.Is(err, ErrInvalidCode) || errors.Is(err, ErrCodeReplayed) {
		t.Fatalf("RFC 6238 §5.2 a code two steps old: %v", err)
	}
	// Bob's own check never reads alice's factors.
	bob := f.user(t, "bobby")
	if err := f.svc.CheckTOTP(ctx, "acme", bob.ID, mfatest.TOTPCode(enr.Secret, f.clock.Now())); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("alice's code for bob: %v", err)
	}
}

// Wrong codes are throttled per user in the database: the sixth attempt is
// refused whatever it holds, on any node, until the lock runs out.
func TestCodesThrottledPerUser(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	alice, bob, as := f.people(t)
	enr, conf := f.enrolled(t, as, "Phone")
	wrong := mfatest.TOTPCode(enr.Secret, f.clock.Now().Add(-time.Hour))
	for i := range 4 {
		if err := f.svc.CheckTOTP(ctx, "acme", alice.ID, wrong); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("wrong code %d: %v", i+1, err)
		}
	}
	// Recovery codes draw on the same budget.
	if err := f.svc.UseRecoveryCode(ctx, "acme", alice.ID, "aaaaa-aaaaa"); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("wrong recovery code: %v", err)
	}
	other := &Service{Store: f.st, Sealer: f.svc.Sealer, Now: f.clock.Now}
	err := other.CheckTOTP(ctx, "acme", alice.ID, mfatest.TOTPCode(enr.Secret, f.clock.Now()))
	var te *ThrottledError
	if !errors.As(err, &te) || !te.Codes || !errors.Is(err, ErrThrottled) || !strings.Contains(err.Error(), "wrong codes") {
		t.Fatalf("the sixth attempt, with the right code, on another node: %v", err)
	}
	if err := f.svc.UseRecoveryCode(ctx, "acme", alice.ID, conf.RecoveryCodes[0]); !errors.Is(err, ErrThrottled) {
		t.Fatalf("a right recovery code while locked: %v", err)
	}
	// The lock is alice's second factor only: bob's, and alice's password, are free.
	if th, _ := f.st.Throttles().Get(ctx, "acme", "user:"+alice.ID); th.Failures != 0 {
		t.Fatalf("the password throttle counted codes: %+v", th)
	}
	if err := f.svc.CheckTOTP(ctx, "acme", bob.ID, "000000"); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("bob: %v", err)
	}
	f.clock.Advance(16 * time.Minute)
	if err := f.svc.CheckTOTP(ctx, "acme", alice.ID, mfatest.TOTPCode(enr.Secret, f.clock.Now())); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
	if th, _ := f.st.Throttles().Get(ctx, "acme", codeKey(alice.ID)); th.Failures != 0 {
		t.Fatalf("a success left the count at %d", th.Failures)
	}
}

func TestRecoveryCodesSingleUseAndRegenerated(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	alice, _, as := f.people(t)
	if _, err := f.svc.RegenerateRecoveryCodes(ctx, as, "acme"); !errors.Is(err, ErrNoFactor) || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("codes without a factor: %v", err)
	}
	_, conf := f.enrolled(t, as, "Phone")
	codes := conf.RecoveryCodes
	if err := f.svc.UseRecoveryCode(ctx, "acme", alice.ID, strings.ToUpper(codes[0])); err != nil {
		t.Fatalf("a recovery code in capitals: %v", err)
	}
	if err := f.svc.UseRecoveryCode(ctx, "acme", alice.ID, codes[0]); !errors.Is(err, ErrInvalidCode) || !strings.Contains(codeField(t, err), "unused") {
		t.Fatalf("a spent code: %v", err)
	}
	if err := f.svc.UseRecoveryCode(ctx, "acme", alice.ID, "<script>"); !errors.Is(err, ErrInvalidCode) || !strings.Contains(codeField(t, err), "recovery codes") {
		t.Fatalf("a malformed code: %v", err)
	}
	if list, _ := f.svc.MyFactors(ctx, as, "acme"); list.RecoveryCodesLeft != 9 {
		t.Fatalf("left = %d, want 9", list.RecoveryCodesLeft)
	}
	fresh, err := f.svc.RegenerateRecoveryCodes(ctx, as, "acme")
	if err != nil || len(fresh) != 10 {
		t.Fatalf("regenerate: %v %v", fresh, err)
	}
	if ev := f.lastEvent(t, "acme"); ev.Type != model.EventMFARecoveryCodes || bytes.Contains(ev.Details, []byte(fresh[0])) {
		t.Fatalf("event %s %s", ev.Type, ev.Details)
	}
	if err := f.svc.UseRecoveryCode(ctx, "acme", alice.ID, codes[1]); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("an old code after regeneration: %v", err)
	}
	if err := f.svc.UseRecoveryCode(ctx, "acme", alice.ID, fresh[1]); err != nil {
		t.Fatalf("a new code: %v", err)
	}
}

// Recovery codes carry about 50 bits each. Stored as a plain SHA-256 they
// could be tried offline by anyone holding a copy of the database — every
// code of every user in one pass of the code space, a GPU-day. The stored
// hash is keyed with the master key and bound to the tenant and user, as
// TOTP secrets are sealed: the database alone checks no guess, and a
// server with another master key accepts none of the codes.
func TestRecoveryCodesHashedWithTheMasterKey(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	alice, _, as := f.people(t)
	_, conf := f.enrolled(t, as, "Phone")
	stored, err := f.st.Factors().RecoveryCodes(ctx, "acme", alice.ID)
	if err != nil || len(stored) != 10 {
		t.Fatalf("stored codes: %d %v", len(stored), err)
	}
	for _, code := range conf.RecoveryCodes {
		plain := sha256.Sum256([]byte(strings.ReplaceAll(code, "-", "")))
		for _, c := range stored {
			if c.Hash == hex.EncodeToString(plain[:]) {
				t.Fatalf("recovery code %s is stored as its plain SHA-256", code)
			}
		}
	}
	otherKey := bytes.Repeat([]byte{7}, token.MasterKeySize)
	sealer, err := token.NewSealer(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	other := &Service{Store: f.st, Sealer: sealer, Now: f.clock.Now}
	if err := other.UseRecoveryCode(ctx, "acme", alice.ID, conf.RecoveryCodes[0]); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("a code checked under another master key: %v", err)
	}
	if err := f.svc.UseRecoveryCode(ctx, "acme", alice.ID, conf.RecoveryCodes[0]); err != nil {
		t.Fatalf("the code under the right key: %v", err)
	}
}

func TestRemoveAndRenameMyFactor(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	_, bob, as := f.people(t)
	enr, _ := f.enrolled(t, as, "Phone")
	pending, err := f.svc.EnrolTOTP(ctx, as, "acme", "Unfinished")
	if err != nil {
		t.Fatal(err)
	}

	v, err := f.svc.RenameMyFactor(ctx, as, "acme", enr.FactorID, "Old phone")
	if err != nil || v.Name != "Old phone" {
		t.Fatalf("rename: %+v %v", v, err)
	}
	if ev := f.lastEvent(t, "acme"); ev.Type != model.EventMFARenamed || details(t, ev)["before"] != "Phone" {
		t.Fatalf("event %s %s", ev.Type, ev.Details)
	}
	if _, err := f.svc.RenameMyFactor(ctx, as, "acme", enr.FactorID, ""); !errors.Is(err, model.ErrInvalid) {
		t.Fatalf("empty name: %v", err)
	}
	if _, err := f.svc.RenameMyFactor(ctx, Actor{Type: model.ActorUser, ID: bob.ID}, "acme", enr.FactorID, "Mine"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("bob renaming alice's factor: %v", err)
	}

	f.setPolicy(t, model.MFARequired)
	before := len(f.events(t, "acme"))
	err = f.svc.RemoveMyFactor(ctx, as, "acme", enr.FactorID)
	if !errors.Is(err, ErrLastFactor) || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("the last factor under required: %v", err)
	}
	f.unchanged(t, "acme", before)
	// An unconfirmed enrolment is not a factor: it can go.
	if err := f.svc.RemoveMyFactor(ctx, as, "acme", pending.FactorID); err != nil {
		t.Fatalf("remove an unconfirmed enrolment: %v", err)
	}
	// With a second factor, the first can go.
	second, _ := f.enrolled(t, as, "Key")
	if err := f.svc.RemoveMyFactor(ctx, as, "acme", enr.FactorID); err != nil {
		t.Fatalf("remove one of two: %v", err)
	}
	if err := f.svc.RemoveMyFactor(ctx, as, "acme", second.FactorID); !errors.Is(err, ErrLastFactor) {
		t.Fatalf("now the last: %v", err)
	}
	// Under optional the last one goes, and the recovery codes with it.
	f.setPolicy(t, model.MFAOptional)
	if err := f.svc.RemoveMyFactor(ctx, as, "acme", second.FactorID); err != nil {
		t.Fatal(err)
	}
	ev := f.lastEvent(t, "acme")
	if d := details(t, ev); ev.Type != model.EventMFARemoved || d["factor_id"] != second.FactorID || d["recovery_codes_removed"] != true {
		t.Fatalf("event %s %s", ev.Type, ev.Details)
	}
	list, err := f.svc.MyFactors(ctx, as, "acme")
	if err != nil || len(list.Items) != 0 || list.RecoveryCodesLeft != 0 {
		t.Fatalf("after removing all: %+v %v", list, err)
	}
	if err := f.svc.RemoveMyFactor(ctx, as, "acme", second.FactorID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removed twice: %v", err)
	}
}

func TestResetUserFactorsEndsSessions(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	alice, bob, as := f.people(t)
	f.enrolled(t, as, "Phone")
	f.session(t, alice.ID, time.Hour)
	f.session(t, alice.ID, time.Hour)
	bobs := f.session(t, bob.ID, time.Hour)

	views, err := f.svc.UserFactors(ctx, f.actor, "acme", "alice")
	if err != nil || len(views.Items) != 1 || views.RecoveryCodesLeft != 10 {
		t.Fatalf("UserFactors = %+v %v", views, err)
	}
	res, err := f.svc.ResetUserFactors(ctx, f.actor, "acme", "alice")
	if err != nil || res.FactorsRemoved != 1 || res.SessionsEnded != 2 {
		t.Fatalf("reset = %+v %v", res, err)
	}
	ev := f.lastEvent(t, "acme")
	if ev.Type != model.EventMFAReset || ev.Subject != alice.ID || ev.ActorID != f.actor.ID {
		t.Fatalf("event %s by %s about %s", ev.Type, ev.ActorID, ev.Subject)
	}
	if ss, _ := f.st.Sessions().ListByUser(ctx, "acme", alice.ID); len(ss) != 0 {
		t.Fatalf("alice still has %d sessions", len(ss))
	}
	if _, err := f.st.Sessions().Get(ctx, "acme", bobs.ID); err != nil {
		t.Fatalf("bob's session went too: %v", err)
	}
	if views, _ := f.svc.UserFactors(ctx, f.actor, "acme", alice.ID); len(views.Items) != 0 || views.RecoveryCodesLeft != 0 {
		t.Fatalf("after reset: %+v", views)
	}
}

// A PageActor (the account page) runs the me use-cases as the user, with
// the page as their "via", and nothing else whatever the user's roles.
func TestPageActorIsTheUserOnly(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	alice, _, _ := f.people(t)
	page := PageActor(alice.ID, "account")
	enr, err := f.svc.EnrolTOTP(ctx, page, "acme", "Phone")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ConfirmTOTP(ctx, page, "acme", enr.FactorID, mfatest.TOTPCode(enr.Secret, f.clock.Now())); err != nil {
		t.Fatal(err)
	}
	if ev := f.lastEvent(t, "acme"); details(t, ev)["via"] != "account" || ev.ActorType != model.ActorUser || ev.ActorID != alice.ID {
		t.Fatalf("event by the page: %s %s/%s", ev.Details, ev.ActorType, ev.ActorID)
	}
	n := "Alice A."
	if _, err := f.svc.UpdateMyProfile(ctx, page, "acme", ProfileUpdate{Name: &n}); err != nil {
		t.Fatal(err)
	}
	if ev := f.lastEvent(t, "acme"); details(t, ev)["via"] != "account" {
		t.Fatalf("profile change by the page: %s", ev.Details)
	}
	page.Scopes = model.PlatformScopeNames()
	for name, call := range map[string]func() error{
		"ListUsers":        func() error { _, err := f.svc.ListUsers(ctx, page, "acme", store.UserQuery{}); return err },
		"DisableUser":      func() error { _, err := f.svc.DisableUser(ctx, page, "acme", "bob"); return err },
		"ResetUserFactors": func() error { _, err := f.svc.ResetUserFactors(ctx, page, "acme", "bob"); return err },
		"UserFactors":      func() error { _, err := f.svc.UserFactors(ctx, page, "acme", "bob"); return err },
		"SearchAudit":      func() error { _, err := f.svc.SearchAudit(ctx, page, "acme", AuditQuery{}); return err },
	} {
		if err := call(); !errors.Is(err, ErrForbidden) {
			t.Errorf("%s by the account page: %v, want ErrForbidden", name, err)
		}
	}
}

// A password alone must not change what guards the account: once the user
// has a confirmed factor, every factor change needs an actor whose sign-in
// passed one (else it could add a factor or new recovery codes and pass a
// step-up the existing factor guards). The first factor needs none.
func TestFactorChangesNeedASecondFactorSignIn(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	alice, _, strong := f.people(t)
	weak := Actor{Type: model.ActorUser, ID: alice.ID, AMR: []string{model.AMRPassword}}
	enr, _ := f.enrolled(t, weak, "Phone") // the first factor, with a password-only sign-in
	for name, call := range map[string]func(Actor) error{
		"EnrolTOTP": func(a Actor) error { _, err := f.svc.EnrolTOTP(ctx, a, "acme", "Tablet"); return err },
		"RenameMyFactor": func(a Actor) error {
			_, err := f.svc.RenameMyFactor(ctx, a, "acme", enr.FactorID, "Old phone")
			return err
		},
		"RegenerateRecoveryCodes": func(a Actor) error { _, err := f.svc.RegenerateRecoveryCodes(ctx, a, "acme"); return err },
		"BeginPasskeyRegistration": func(a Actor) error {
			_, _, err := f.svc.BeginPasskeyRegistration(ctx, a, "acme")
			return err
		},
		"RemoveMyFactor": func(a Actor) error { return f.svc.RemoveMyFactor(ctx, a, "acme", enr.FactorID) },
	} {
		if err := call(weak); !errors.Is(err, ErrStepUpRequired) {
			t.Errorf("%s with a password-only sign-in: %v, want ErrStepUpRequired", name, err)
		}
		if name == "RemoveMyFactor" {
			continue // run last below, with the strong actor
		}
		if err := call(strong); err != nil {
			t.Errorf("%s with a sign-in that passed a second factor: %v", name, err)
		}
	}
	if err := f.svc.RemoveMyFactor(ctx, strong, "acme", enr.FactorID); err != nil {
		t.Errorf("RemoveMyFactor with a sign-in that passed a second factor: %v", err)
	}
}
