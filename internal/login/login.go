package login

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/password"
	"github.com/intelliauth/intelliauth/internal/store"
)

// Bounds on what a sign-in form may carry.
const (
	maxForm     = 16 << 10
	maxLogin    = 254 // an email address (RFC 5321 §4.5.3.1.3)
	maxPassword = 1024
)

// Messages of the sign-in form. The failure is the same whatever went
// wrong (OWASP Authentication Cheat Sheet, "Authentication and Error
// Messages"): unknown user, wrong password, disabled account.
const (
	msgFailed  = "The username, email or password is not right."
	msgLocked  = "Too many failed attempts; try again later."
	msgBusy    = "Too many sign-in attempts at once; try again in a moment."
	msgMissing = "Enter your username or email and your password."
)

// loginView is what the sign-in template sees.
type loginView struct {
	AppName, RequestID, Return, CSRF, Login, Error string
	// Passkeys offers a passwordless sign-in (the tenant's issuer can be a
	// WebAuthn relying party); TargetKey names the target for its script.
	Passkeys  bool
	TargetKey string
}

// loginPage shows the sign-in form for a pending authorization request.
func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) error {
	t, err := h.loadTarget(r.Context(), snap, r.URL.Query())
	if err != nil {
		return err
	}
	hint := t.ar.LoginHint
	if len(hint) > maxLogin {
		hint = ""
	}
	return h.showLogin(w, r, snap, t, http.StatusOK, hint, "")
}

func (h *Handler) showLogin(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot, t target, status int, login, msg string) error {
	cookie, err := h.csrfCookie(w, r, snap)
	if err != nil {
		return internalError(err)
	}
	passkeys := admin.PasskeysAvailable(snap.Tenant.Issuer)
	renderWith(w, status, "login", "Sign in to "+t.name(), formAction(t.ar.RedirectURI), extras{scripts: passkeys, script: webauthnScript(snap)}, loginView{
		AppName: t.name(), RequestID: t.ar.ID, Return: t.ret, CSRF: csrfToken(cookie, "login", t.key()), Login: login, Error: msg,
		Passkeys: passkeys, TargetKey: t.key(),
	})
	return nil
}

// attempt is one sign-in attempt as the throttle and the audit see it.
type attempt struct {
	ip      string // as ClientIP gave it
	ipKey   string // ip:<addr> or ip:<v6 /64>
	userKey string // user:<id>, or user:?<hash of the login> when no user matches
	user    *model.User
	// slot names the attempt's slot in the throttles of ipKey and userKey
	// while its password is checked (see reserve).
	slot string
}

// keys are the throttle keys an attempt is counted on, address first.
func (a attempt) keys() []string { return []string{a.ipKey, a.userKey} }

// loginSubmit checks the sign-in form: CSRF, throttles, password; then
// opens a new session and sends the browser back to the authorization
// endpoint.
func (h *Handler) loginSubmit(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) error {
	ctx := r.Context()
	// withTenant has read and checked the form (readParams).
	t, err := h.loadTarget(ctx, snap, r.PostForm)
	if err != nil {
		return err
	}
	if !checkCSRF(r, snap, "login", t.key()) {
		return errCSRF
	}
	login := strings.TrimSpace(r.PostForm.Get("login"))
	pw := r.PostForm.Get("password")
	if login == "" || pw == "" {
		return h.showLogin(w, r, snap, t, http.StatusBadRequest, clip(login), msgMissing)
	}

	now := h.now()
	a := attempt{ip: h.clientIP(r)}
	a.ipKey = ipKey(a.ip)
	if len(login) <= maxLogin {
		u, err := h.Store.Users().GetByLogin(ctx, snap.Tenant.ID, login)
		switch {
		case err == nil:
			a.user = &u
		case !errors.Is(err, store.ErrNotFound):
			return internalError(fmt.Errorf("look up user: %w", err))
		}
	}
	if a.user != nil {
		a.userKey = "user:" + a.user.ID
	} else {
		a.userKey = unknownUserKey(snap.Tenant.ID, login)
	}

	// OWASP Authentication Cheat Sheet, "Account Lockout": a locked
	// account or address is refused before the password is looked at.
	locked, until, err := h.lockedKeys(ctx, snap.Tenant.ID, now, a.ipKey, a.userKey)
	if err != nil {
		return internalError(err)
	}
	if len(locked) > 0 {
		if err := h.recordLocked(ctx, snap, t, a, locked, until, false); err != nil {
			return internalError(err)
		}
		return h.showLogin(w, r, snap, t, http.StatusTooManyRequests, clip(login), msgLocked)
	}
	// Hold a slot of the budget before checking the password, atomically
	// in the store: concurrent guesses (or guesses on several nodes) that
	// all passed the check above get one budget between them — failures
	// and checks in flight together never exceed MaxFailures — and wait
	// for a slot, or are refused once the failures lock the key. Only a
	// failure spends the budget: a success gives its slot back (and resets
	// the count), so concurrent correct sign-ins all go through.
	if a.slot, err = newToken(); err != nil {
		return internalError(err)
	}
	over, until, err := h.reserve(ctx, snap.Tenant.ID, a.slot, a.keys()...)
	switch {
	case errors.Is(err, errBusy):
		h.logger().InfoContext(ctx, "sign-in attempt waited too long for a throttle slot", "tenant", snap.Tenant.ID, "ip", a.ip)
		return h.showLogin(w, r, snap, t, http.StatusTooManyRequests, clip(login), msgBusy)
	case err != nil:
		return internalError(err)
	case len(over) > 0:
		if err := h.recordLocked(ctx, snap, t, a, over, until, false); err != nil {
			return internalError(err)
		}
		return h.showLogin(w, r, snap, t, http.StatusTooManyRequests, clip(login), msgLocked)
	}
	// The slot goes back whatever happens next, except after a failure,
	// which takes its place (failed). Not with the request's context: a
	// client that went away must not leave it held until its lease ends.
	slotHeld := true
	defer func() {
		if slotHeld {
			h.releaseSlot(context.WithoutCancel(ctx), snap.Tenant.ID, a)
		}
	}()

	// The same argon2id work whether or not the user exists or has a
	// password, so the response time does not tell.
	hash := ""
	if a.user != nil {
		hash = a.user.PasswordHash
	}
	if len(pw) > maxPassword {
		pw, hash = "", "" // checked against the dummy: the same time, never a match
	}
	match, err := h.verifyPassword(ctx, hash, pw)
	if errors.Is(err, password.ErrMalformed) {
		h.logger().ErrorContext(ctx, "stored password hash is malformed", "tenant", snap.Tenant.ID, "user_id", a.user.ID, "err", err)
		match = false
	} else if err != nil {
		return internalError(err)
	}
	reason, outcome := "", ""
	switch {
	case a.user == nil:
		reason, outcome = "unknown_user", OutcomeUnknownUser
	case a.user.PasswordHash == "":
		reason, outcome = "no_password", OutcomeNoPassword
	case !match:
		reason, outcome = "wrong_password", OutcomeBadPassword
	case a.user.Status != model.UserActive:
		reason, outcome = "disabled", OutcomeDisabled
	}
	if reason != "" {
		h.count(snap.Tenant.ID, outcome)
		slotHeld = false // failed counts the failure in its place
		return h.failed(w, r, snap, t, a, reason, login)
	}
	return h.succeeded(w, r, snap, t, a, pw)
}

// failed counts a failure on every key of the attempt and frees the
// attempt's slots, in one transaction, so that the budget is never
// briefly free of both; then audits it and shows the form again: 401, or
// 429 when the key is now locked. The count is written even when the
// client has gone away meanwhile (the password was checked); when it
// cannot be written, the slots stay held until their lease ends, so a
// failure never goes uncounted.
func (h *Handler) failed(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot, t target, a attempt, reason, login string) error {
	ctx := r.Context()
	tenant := snap.Tenant.ID
	var (
		engaged []string
		until   time.Time
	)
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), failWriteTimeout)
	defer cancel()
	now := h.now()
	err := h.Store.InTx(wctx, func(tx store.Repos) error {
		engaged, until = nil, time.Time{}
		for _, key := range a.keys() {
			t, err := tx.Throttles().Fail(wctx, tenant, key, now, h.window(), h.maxFailures(), h.lockFor())
			if err != nil {
				return fmt.Errorf("count failed sign-in: %w", err)
			}
			if now.Before(t.LockedUntil) {
				engaged = append(engaged, key)
				until = maxTime(until, t.LockedUntil)
			}
		}
		for _, key := range a.keys() {
			if err := tx.Throttles().Release(wctx, tenant, key, a.slot); err != nil {
				return fmt.Errorf("free sign-in slot: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return internalError(err)
	}
	subject := ""
	if a.user != nil {
		subject = a.user.ID
	}
	details, _ := json.Marshal(map[string]any{"reason": reason, "ip": a.ip, "request": t.ar.ID})
	if err := h.record(ctx, model.AuditEvent{
		TenantID: snap.Tenant.ID, Type: model.EventLoginFailed,
		ActorType: ActorIP, ActorID: a.ip, ClientID: t.ar.ClientID, Subject: subject, Details: details,
	}); err != nil {
		return internalError(err)
	}
	if len(engaged) > 0 {
		if err := h.recordLocked(ctx, snap, t, a, engaged, until, true); err != nil {
			return internalError(err)
		}
		return h.showLogin(w, r, snap, t, http.StatusTooManyRequests, clip(login), msgLocked)
	}
	return h.showLogin(w, r, snap, t, http.StatusUnauthorized, clip(login), msgFailed)
}

// succeeded finishes a password sign-in: it clears the throttles, rehashes
// an outdated password hash, opens the session (openSession) and sends the
// browser back.
func (h *Handler) succeeded(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot, t target, a attempt, pw string) error {
	ctx := r.Context()
	tenant := snap.Tenant.ID
	u := *a.user
	for _, key := range []string{a.ipKey, a.userKey} {
		if err := h.Store.Throttles().Reset(ctx, tenant, key); err != nil {
			return internalError(fmt.Errorf("reset throttle: %w", err))
		}
	}
	// OWASP Password Storage Cheat Sheet, "Upgrading the work factor":
	// rehash with the current parameters while the password is at hand.
	if password.NeedsRehash(u.PasswordHash) {
		if nh, err := h.hashPassword(ctx, pw); err != nil {
			h.logger().WarnContext(ctx, "rehash password", "tenant", tenant, "user_id", u.ID, "err", err)
		} else if err := h.Store.Users().SetPassword(ctx, tenant, u.ID, nh); err != nil {
			h.logger().WarnContext(ctx, "store rehashed password", "tenant", tenant, "user_id", u.ID, "err", err)
		}
	}
	if err := h.openSession(w, r, snap, t, u, a.ip, methodPassword, []string{model.AMRPassword}); err != nil {
		return err
	}
	t.resume(w, snap)
	return nil
}

// Sign-in methods, as login.succeeded records them.
const (
	methodPassword = "password"
	methodPasskey  = "passkey"
)

// openSession is the one place a sign-in — by password or by passkey — opens
// a session: it replaces the browser's session with a new one holding amr,
// binds it to the authorization request (unless the target is local),
// records login.succeeded with the method, and sets the session cookie.
// The caller sends the browser on.
func (h *Handler) openSession(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot, t target, u model.User, ip, method string, amr []string) error {
	ctx := r.Context()
	tenant := snap.Tenant.ID
	value, err := newToken()
	if err != nil {
		return internalError(err)
	}
	now := h.now()
	s := model.Session{
		TenantID: tenant, ID: sessionID(value), UserID: u.ID, AuthTime: now,
		ExpiresAt: now.Add(h.sessionTTL()), LastSeen: now, CreatedAt: now,
		UserAgent: clipBytes(r.UserAgent(), 256), IP: ip, AMR: amr,
	}
	oldID, hadOld := cookieSessionID(r, snap)
	ar := t.ar
	if ar.UserID != u.ID {
		// Another user signs in on this request: nothing answered for the
		// previous one carries over.
		ar.AskScopes, ar.ConsentDone, ar.Denied, ar.MFASkipped = nil, false, false, false
	}
	ar.UserID, ar.SessionID, ar.AuthTime = u.ID, s.ID, now
	err = h.Store.InTx(ctx, func(tx store.Repos) error {
		// Session fixation (OWASP Session Management Cheat Sheet, "Renew the
		// Session ID After Any Privilege Level Change"): always a new
		// session; the one the browser held is gone.
		if hadOld {
			if err := tx.Sessions().Delete(ctx, tenant, oldID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("delete previous session: %w", err)
			}
		}
		if err := tx.Sessions().Create(ctx, s); err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		if t.local() {
			return nil
		}
		if err := tx.AuthRequests().Update(ctx, ar); err != nil {
			return fmt.Errorf("bind authorization request: %w", err)
		}
		return nil
	})
	if err != nil {
		return internalError(err)
	}
	details, _ := json.Marshal(map[string]any{"ip": ip, "request": t.ar.ID, "session_expires_at": s.ExpiresAt, "method": method, "amr": amr})
	if err := h.record(ctx, model.AuditEvent{
		TenantID: tenant, Type: model.EventLoginSucceeded,
		ActorType: model.ActorUser, ActorID: u.ID, ClientID: t.ar.ClientID, Subject: u.ID, Details: details,
	}); err != nil {
		return internalError(err)
	}
	h.count(tenant, OutcomeSuccess)
	h.setSessionCookie(w, r, snap, value, s.ExpiresAt)
	return nil
}

// lockedKeys returns the keys locked at now, and until when. A lock does
// not get longer by being hammered (nothing is written for a locked key);
// a lock that has run out is cleared, so the key gets a whole budget again
// even when LockFor is shorter than Window.
func (h *Handler) lockedKeys(ctx context.Context, tenantID string, now time.Time, keys ...string) (locked []string, until time.Time, err error) {
	for _, key := range keys {
		t, err := h.Store.Throttles().Get(ctx, tenantID, key)
		if err != nil {
			return nil, until, fmt.Errorf("read throttle: %w", err)
		}
		switch {
		case now.Before(t.LockedUntil):
			locked = append(locked, key)
			if t.LockedUntil.After(until) {
				until = t.LockedUntil
			}
		case !t.LockedUntil.IsZero():
			if err := h.Store.Throttles().Reset(ctx, tenantID, key); err != nil {
				return nil, until, fmt.Errorf("clear expired lock: %w", err)
			}
		}
	}
	return locked, until, nil
}

// Bounds of the wait for a throttle slot.
const (
	// slotLease is how long a slot stays held when its attempt never ends
	// (its node died): far longer than a password check, and than the
	// server's write timeout.
	slotLease = time.Minute
	// slotWait is how long an attempt waits for a slot while others are
	// checked, before it is refused with msgBusy: long enough for a burst
	// of correct sign-ins behind one address (an office's NAT) to drain at
	// the speed of the password checks, which the slots do not slow down
	// (MaxHashing already bounds the checks at once), and within the
	// server's 30 s write timeout. Wrong guesses do not wait that long:
	// their failures lock the key, and waiting attempts see the lock at
	// their next poll.
	slotWait = 25 * time.Second
	// failWriteTimeout bounds the write of a failure once the client has
	// gone away.
	failWriteTimeout = 5 * time.Second
)

// errBusy: the budget stayed held by attempts in flight for slotWait.
var errBusy = errors.New("every throttle slot is held by attempts in flight")

// reserve holds slot on every key (store.Throttles.Reserve), waiting while
// attempts in flight hold the rest of a key's budget: once they end, a
// success frees its slot and a failure spends it. over lists a key whose
// budget is spent by failures (it is locked, until when), and then no slot
// is held; errBusy when slotWait passed without a slot. A key that refuses
// gives back the slots already taken before the wait, so that waiting
// attempts never hold part of the budget.
func (h *Handler) reserve(ctx context.Context, tenantID, slot string, keys ...string) (over []string, until time.Time, err error) {
	max := h.maxFailures()
	th := h.Store.Throttles()
	giveBack := func(held []string) {
		for _, key := range held {
			if err := th.Release(context.WithoutCancel(ctx), tenantID, key, slot); err != nil {
				h.logger().WarnContext(ctx, "free sign-in slot", "tenant", tenantID, "key", key, "err", err)
			}
		}
	}
	deadline := time.NewTimer(slotWait)
	defer deadline.Stop()
	pause := 5 * time.Millisecond
	for {
		now := h.now()
		var held []string
		busy := false
		for _, key := range keys {
			ok, t, err := th.Reserve(ctx, tenantID, key, slot, now, h.window(), max, slotLease)
			if err != nil {
				giveBack(held)
				return nil, until, fmt.Errorf("reserve sign-in attempt: %w", err)
			}
			if ok {
				held = append(held, key)
				continue
			}
			giveBack(held)
			if now.Before(t.LockedUntil) || (t.Failures >= max && !now.After(t.WindowStart.Add(h.window()))) {
				// Spent by failures: the keys after it are not charged for
				// an attempt that will not be made.
				return []string{key}, t.LockedUntil, nil
			}
			busy = true
			break
		}
		if !busy {
			return nil, until, nil
		}
		select {
		case <-ctx.Done():
			return nil, until, fmt.Errorf("wait for a sign-in slot: %w", ctx.Err())
		case <-deadline.C:
			return nil, until, errBusy
		case <-time.After(pause):
		}
		pause = min(2*pause, 100*time.Millisecond)
	}
}

// releaseSlot gives the attempt's slots back.
func (h *Handler) releaseSlot(ctx context.Context, tenantID string, a attempt) {
	for _, key := range a.keys() {
		if err := h.Store.Throttles().Release(ctx, tenantID, key, a.slot); err != nil {
			// The lease frees it in a minute.
			h.logger().WarnContext(ctx, "free sign-in slot", "tenant", tenantID, "key", key, "err", err)
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// recordLocked audits a lockout: engaged by this failure, or an attempt
// refused because of one.
func (h *Handler) recordLocked(ctx context.Context, snap *catalog.Snapshot, t target, a attempt, keys []string, until time.Time, engaged bool) error {
	subject := ""
	if a.user != nil {
		subject = a.user.ID
	}
	h.count(snap.Tenant.ID, OutcomeLocked)
	// The key of an unknown login is a hash; it names nobody.
	details, _ := json.Marshal(map[string]any{"keys": keys, "locked_until": until, "engaged": engaged, "ip": a.ip, "request": t.ar.ID})
	return h.record(ctx, model.AuditEvent{
		TenantID: snap.Tenant.ID, Type: model.EventLoginLocked,
		ActorType: ActorIP, ActorID: a.ip, ClientID: t.ar.ClientID, Subject: subject, Details: details,
	})
}

// PeerKey returns the client address of r as the throttles key it
// ("ip:<addr>", an IPv6 client's /64), after the ClientIP rules: what the
// authorization endpoint bounds unfinished requests by.
func (h *Handler) PeerKey(r *http.Request) string { return ipKey(h.clientIP(r)) }

// ipKey is the throttle key of a client address. An IPv6 client usually
// holds a whole /64, so that is what is counted.
func ipKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "ip:unknown"
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return "ip:" + p.String()
	}
	return "ip:" + a.String()
}

// unknownUserKey is the throttle key of a login that names no user: a
// digest of the tenant and the case-folded login, so the lockout behaves
// the same for every name and the key does not hold what was typed.
func unknownUserKey(tenantID, login string) string {
	sum := sha256.Sum256([]byte(tenantID + "\x00" + strings.ToLower(login)))
	return "user:?" + hex.EncodeToString(sum[:16])
}

// clip returns s for prefilling the form again, or "" when it is too long.
func clip(s string) string {
	if len(s) > maxLogin {
		return ""
	}
	return s
}

// clipBytes cuts s to at most n bytes, on a UTF-8 boundary.
func clipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
