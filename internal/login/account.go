package login

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// The account page ({issuer}/account/, issue 11): the end user's own
// profile, password, second factors, browser sessions and connected
// applications, server-rendered like the other pages of this package.
//
//	GET  /account/                   the page (sections: profile, password, factors, sessions, applications)
//	POST /account/profile            admin.UpdateMyProfile
//	POST /account/password           admin.ChangeMyPassword (current password required; throttled)
//	POST /account/mfa/totp           admin.EnrolTOTP → the enrolment page (QR code as a data: image)
//	POST /account/mfa/confirm        admin.ConfirmTOTP → the recovery codes (first factor) or the page
//	POST /account/mfa/rename         admin.RenameMyFactor
//	POST /account/mfa/remove         admin.RemoveMyFactor
//	POST /account/mfa/recovery-codes admin.RegenerateRecoveryCodes → the new codes, shown once
//	POST /account/sessions/end       admin.EndMySession (this device: signs out)
//	POST /account/apps/withdraw      admin.RevokeMyConsent (the app's refresh tokens revoked too)
//
// Who: the browser's session of the tenant (CurrentSession). Without one,
// the page sends the browser to the sign-in page in its local mode
// ({issuer}/login?return=/account/), which comes back here. A session that
// has not passed a second factor while SecondFactorNeed says one is due and
// may not be skipped is sent to {issuer}/mfa?return=/account/ first. The
// page holds no access token: it acts as admin.PageActor(user, "account"),
// whose authority is the user themself — the me use-cases and nothing else
// (admin refuses it every other use-case) — and whose events record
// "via": "account". Every change is audited by its use-case.
//
// Every POST carries the CSRF token of the form "account" bound to the
// session's public ID (admin.SessionSID), so a token does not outlive the
// session it was rendered for. A change answers 303 to the page with a
// fixed notice (?done=…, one of accountNotices: nothing the request says
// is echoed); a refusal renders the page again with the reason. The
// secret of a new authenticator app and recovery codes are rendered into
// the POST's answer only — never into a URL — with Cache-Control: no-store.
// The enrolment page's CSP allows img-src data: for its QR code; the other
// pages load no image.

// accountPage is the account page's path relative to the issuer.
// (login.AccountPath names the same path where a local sign-in returns.)
const accountPage = "/account/"

// pageVia is what the account page's events record as their "via".
const pageVia = "account"

// accountNotices are the fixed notices a change's redirect may ask for.
var accountNotices = map[string]string{
	"profile":   "Your profile was saved.",
	"password":  "Your password was changed.",
	"enrolled":  "Your authenticator app is set up.",
	"passkey":   "Your passkey is registered.",
	"renamed":   "The factor was renamed.",
	"removed":   "The factor was removed.",
	"ended":     "The session was ended; that browser must sign in again.",
	"withdrawn": "The application's access was withdrawn; it must ask you again to get it back.",
}

// accountAssets are the account pages and their stylesheet: the sign-in
// pages' own, followed by account.css. Built once, never modified.
type accountAssets struct {
	pages    map[string]*template.Template
	css      template.CSS
	styleSrc string
}

var accountSite = mustLoadAccount()

func mustLoadAccount() *accountAssets {
	base, err := templateFS.ReadFile("templates/style.css")
	if err != nil {
		panic(err)
	}
	extra, err := templateFS.ReadFile("templates/account.css")
	if err != nil {
		panic(err)
	}
	css := append(append(append([]byte{}, base...), '\n'), extra...)
	sum := sha256.Sum256(css)
	a := &accountAssets{pages: map[string]*template.Template{}, css: template.CSS(css),
		styleSrc: "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"}
	for _, name := range []string{"account", "account_enrol", "account_codes"} {
		a.pages[name] = template.Must(template.New(name).Option("missingkey=error").
			ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return a
}

// renderAccount writes an account page with the headers of every page of
// this package; images allows data: images (the QR code). Its forms post
// to the page itself only.
func renderAccount(w http.ResponseWriter, status int, page, title string, images bool, body any) {
	renderAccountWith(w, status, page, title, extras{images: images}, body)
}

// renderAccountWith is renderAccount for a page that needs extras (the
// passkey script).
func renderAccountWith(w http.ResponseWriter, status int, page, title string, x extras, body any) {
	var buf bytes.Buffer
	l := layout{Title: title, CSS: accountSite.css, Body: body}
	if x.scripts {
		l.Script = x.script
	}
	if err := accountSite.pages[page].ExecuteTemplate(&buf, "layout", l); err != nil {
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	img, script := "'none'", ""
	if x.images {
		img = "data:"
	}
	if x.scripts {
		script = "; script-src 'self'; connect-src 'self'"
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src "+accountSite.styleSrc+"; img-src "+img+script+
		"; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// registerAccount mounts the account page (see the top of this file).
func (h *Handler) registerAccount(mux *http.ServeMux) {
	mux.HandleFunc("GET /account", h.withTenant(func(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) error {
		seeOther(w, snap.Tenant.Issuer+accountPage, nil)
		return nil
	}))
	mux.HandleFunc("GET /account/{$}", h.withTenant(h.accountGet))
	for path, f := range map[string]accountAction{
		"profile":            h.accountProfile,
		"password":           h.accountPassword,
		"mfa/totp":           h.accountEnrol,
		"mfa/confirm":        h.accountConfirm,
		"mfa/rename":         h.accountRename,
		"mfa/remove":         h.accountRemove,
		"mfa/recovery-codes": h.accountRecoveryCodes,
		"sessions/end":       h.accountEndSession,
		"apps/withdraw":      h.accountWithdraw,
	} {
		mux.HandleFunc("POST "+accountPage+path, h.withTenant(h.accountPost(f)))
	}
}

// accountBase is the account page's path on the issuer's host
// (/t/bank/account/): where its forms post and its links lead, without
// naming the host.
func accountBase(snap *catalog.Snapshot) string {
	return strings.TrimSuffix(cookiePath(snap), "/") + accountPage
}

// seeOther answers 303 to u (with q, when set).
func seeOther(w http.ResponseWriter, u string, q url.Values) {
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", u)
	w.WriteHeader(http.StatusSeeOther)
}

// account is a request of the signed-in user on the account page.
type account struct {
	snap  *catalog.Snapshot
	sess  model.Session
	user  model.User
	actor admin.Actor
	// sid is the session's public ID (admin.SessionSID).
	sid  string
	csrf string
}

// signedIn returns the account of the request, or sends the browser to
// sign in (or to pass its second factor) and returns false.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) (*account, bool, error) {
	a, first, err := h.accountOf(w, r, snap)
	if err != nil {
		return nil, false, err
	}
	if first != "" {
		seeOther(w, first, url.Values{"return": {accountPage}})
		return nil, false, nil
	}
	return a, true, nil
}

// accountOf returns the account of the request, or the page the browser
// must pass first (the sign-in page, or the second factor's) and no
// account.
func (h *Handler) accountOf(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) (*account, string, error) {
	sess, u, ok, err := h.CurrentSession(r, snap)
	if err != nil {
		return nil, "", internalError(err)
	}
	if !ok {
		return nil, snap.Tenant.Issuer + "/login", nil
	}
	if !model.HasMFA(sess.AMR) {
		need, err := h.SecondFactorNeed(r.Context(), snap, nil, u, false)
		if err != nil {
			return nil, "", internalError(err)
		}
		if need.Due && !need.Skippable {
			return nil, snap.Tenant.Issuer + "/mfa", nil
		}
	}
	if h.Admin == nil {
		return nil, "", internalError(errors.New("login: Handler.Admin is nil"))
	}
	a := &account{snap: snap, sess: sess, user: u, actor: admin.PageActor(u.ID, pageVia).WithAMR(sess.AMR), sid: admin.SessionSID(sess.ID)}
	cookie, err := h.csrfCookie(w, r, snap)
	if err != nil {
		return nil, "", internalError(err)
	}
	a.csrf = csrfToken(cookie, "account", a.sid)
	return a, "", nil
}

func (h *Handler) accountGet(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) error {
	a, ok, err := h.signedIn(w, r, snap)
	if !ok {
		return err
	}
	return h.showAccount(w, r, a, http.StatusOK, pageState{notice: accountNotices[r.URL.Query().Get("done")]})
}

// accountAction is one POST of the account page, after the session and
// CSRF checks; it writes its answer or returns the state to show the page
// again with (status, messages), or an error page.
type accountAction func(w http.ResponseWriter, r *http.Request, a *account) (int, pageState, error)

func (h *Handler) accountPost(f accountAction) tenantHandler {
	return func(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) error {
		a, ok, err := h.signedIn(w, r, snap)
		if !ok {
			return err
		}
		// withTenant has read and checked the form (readParams).
		if !checkCSRF(r, snap, "account", a.sid) {
			return errAccountCSRF
		}
		status, st, err := f(w, r, a)
		if err != nil || status == 0 {
			return err
		}
		return h.showAccount(w, r, a, status, st)
	}
}

var errAccountCSRF = &pageError{status: http.StatusForbidden, title: "This form has expired",
	detail: "The form was not sent from your account page, or your session changed since it was shown. Open your account page again and retry."}

// pageState is what a refused change shows on the page again.
type pageState struct {
	notice string
	// section → the sentence that says why a change was refused.
	errs map[string]string
	// field (as the form names it) → its problem.
	fields map[string]string
	// profile is the profile form as the user sent it (on a refusal).
	profile *profileForm
}

func accountRefused(section, msg string) pageState {
	return pageState{errs: map[string]string{section: msg}}
}

// done answers a change with a redirect to the page and its notice.
func accountDone(w http.ResponseWriter, a *account, notice string) (int, pageState, error) {
	seeOther(w, a.snap.Tenant.Issuer+accountPage, url.Values{"done": {notice}})
	return 0, pageState{}, nil
}

// refusal turns a use-case's refusal into the page's message for section
// (400/404/409/412/429), or an error page for the rest.
func accountRefusal(section string, err error) (int, pageState, error) {
	var ve *model.ValidationError
	var te *admin.ThrottledError
	switch {
	case errors.As(err, &ve):
		st := pageState{errs: map[string]string{section: "Check the fields marked below."}, fields: map[string]string{}}
		for _, p := range ve.Problems {
			msg := accountSentence(p.Message)
			if p.Field == "" {
				st.errs[section] = msg
				continue
			}
			st.fields[p.Field] = msg
		}
		if len(st.fields) == 1 {
			for f, m := range st.fields {
				st.errs[section] = accountSentence(accountFieldLabel(f) + " " + strings.TrimSuffix(accountLowerFirst(m), "."))
			}
		}
		return http.StatusBadRequest, st, nil
	case errors.As(err, &te):
		what := "wrong passwords"
		if te.Codes {
			what = "wrong codes"
		}
		return http.StatusTooManyRequests, accountRefused(section, fmt.Sprintf("Too many %s: try again after %s UTC.", what, te.Until.UTC().Format("15:04"))), nil
	case errors.Is(err, admin.ErrForbidden):
		return 0, pageState{}, &pageError{status: http.StatusForbidden, title: "Not allowed",
			detail: "This account cannot be managed here. Sign in again, or ask an administrator.", cause: err}
	case errors.Is(err, store.ErrPrecondition):
		return http.StatusPreconditionFailed, accountRefused(section, "This changed in another window meanwhile; review it and try again."), nil
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, accountRefused(section, accountSentence(refusalSentence(err, "that conflicts with what is there already"))), nil
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, accountRefused(section, "That is no longer there; the page shows what is."), nil
	}
	return 0, pageState{}, internalError(err)
}

// fieldLabel is how the page names a form field in a sentence.
func accountFieldLabel(field string) string {
	switch field {
	case "code":
		return "The code"
	case "name":
		return "The name"
	case "challenge_id":
		return "The passkey request"
	case "credential":
		return "The passkey's answer"
	case "current_password":
		return "The current password"
	case "new_password":
		return "The new password"
	}
	return "The " + strings.ReplaceAll(field, "_", " ")
}

func accountLowerFirst(s string) string {
	for i, r := range s {
		return string(unicode.ToLower(r)) + s[i+len(string(r)):]
	}
	return s
}

// sentence capitalises s and ends it with a full stop.
func accountSentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	for i, r := range s {
		s = string(unicode.ToUpper(r)) + s[i+len(string(r)):]
		break
	}
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// profileForm is the profile section's fields.
type profileForm struct {
	Name, GivenName, FamilyName, Email, PhoneNumber, Picture, Locale string
	StreetAddress, Locality, Region, PostalCode, Country             string
	Version                                                          int64
}

func newProfileForm(u model.User) *profileForm {
	return &profileForm{Name: u.Name, GivenName: u.GivenName, FamilyName: u.FamilyName, Email: u.Email, PhoneNumber: u.PhoneNumber,
		Picture: u.Picture, Locale: u.Locale, StreetAddress: u.Address.StreetAddress, Locality: u.Address.Locality,
		Region: u.Address.Region, PostalCode: u.Address.PostalCode, Country: u.Address.Country, Version: u.Version}
}

// fieldView is one input of a form as the template shows it.
type fieldView struct {
	// Name is the form field; the input's id is "f-" + Name.
	Name, Label, Type, Value, Autocomplete, Hint, Error string
}

// profileFields are the profile form's inputs (the standard claims a user
// may change, OpenID Connect Core §5.1), with the problems of a refusal.
func profileFields(p *profileForm, errs map[string]string, emailVerified, phoneVerified bool) []fieldView {
	verified := func(ok bool) string {
		if ok {
			return "Verified. Changing it makes it unverified."
		}
		return "Not verified."
	}
	fs := []fieldView{
		{Name: "name", Label: "Full name", Type: "text", Value: p.Name, Autocomplete: "name"},
		{Name: "given_name", Label: "Given name", Type: "text", Value: p.GivenName, Autocomplete: "given-name"},
		{Name: "family_name", Label: "Family name", Type: "text", Value: p.FamilyName, Autocomplete: "family-name"},
		{Name: "email", Label: "Email", Type: "email", Value: p.Email, Autocomplete: "email", Hint: verified(emailVerified)},
		{Name: "phone_number", Label: "Phone number", Type: "tel", Value: p.PhoneNumber, Autocomplete: "tel", Hint: verified(phoneVerified)},
		{Name: "locale", Label: "Language (locale)", Type: "text", Value: p.Locale, Autocomplete: "language", Hint: "A language tag such as en-GB."},
		{Name: "picture", Label: "Picture URL", Type: "url", Value: p.Picture, Autocomplete: "photo"},
		{Name: "street_address", Label: "Street address", Type: "text", Value: p.StreetAddress, Autocomplete: "street-address"},
		{Name: "locality", Label: "Town or city", Type: "text", Value: p.Locality, Autocomplete: "address-level2"},
		{Name: "region", Label: "Region", Type: "text", Value: p.Region, Autocomplete: "address-level1"},
		{Name: "postal_code", Label: "Postal code", Type: "text", Value: p.PostalCode, Autocomplete: "postal-code"},
		{Name: "country", Label: "Country", Type: "text", Value: p.Country, Autocomplete: "country-name"},
	}
	for i := range fs {
		fs[i].Error = errs[fs[i].Name]
	}
	return fs
}

// passwordFields are the password form's inputs.
func passwordFields(errs map[string]string) []fieldView {
	fs := []fieldView{
		{Name: "current_password", Label: "Current password", Type: "password", Autocomplete: "current-password"},
		{Name: "new_password", Label: "New password", Type: "password", Autocomplete: "new-password", Hint: "At least 8 characters."},
		{Name: "confirm_password", Label: "New password again", Type: "password", Autocomplete: "new-password"},
	}
	for i := range fs {
		fs[i].Error = errs[fs[i].Name]
	}
	return fs
}

// accountView is what account.html sees.
type accountView struct {
	// Base is the page's path (accountBase): the forms post below it from
	// whichever URL the page was rendered at.
	Base                           string
	CSRF, Tenant, Username, Notice string
	EmailVerified, PhoneVerified   bool
	Profile                        *profileForm
	ProfileFields, PasswordFields  []fieldView
	// Errors are the refusals per section; Fields per form field.
	Errors, Fields map[string]string
	Factors        []factorRow
	HasFactor      bool
	CodesLeft      int
	Required       bool
	Sessions       []sessionRow
	Apps           []appRow

	// Passkeys offers the registration of a passkey (the tenant's issuer
	// can be a WebAuthn relying party).
	Passkeys bool
}

type factorRow struct {
	ID, Name, Kind, Added, LastUsed string
	Confirmed                       bool
}

type sessionRow struct {
	ID, Device, IP, Started, LastSeen string
	Current                           bool
}

type appRow struct {
	ClientID, Name, Since string
	Scopes                []scopeItem
}

// when formats a time for the page.
func accountTime(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 UTC") }

// deviceName is a session's user agent as the page names it: "Firefox on
// Windows" for the browsers and systems it recognises (a best effort: a
// user agent is what the browser claims), else the string itself, at most
// 60 characters.
func deviceName(ua string) string {
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return "Unknown browser"
	}
	has := func(s ...string) bool {
		for _, x := range s {
			if strings.Contains(ua, x) {
				return true
			}
		}
		return false
	}
	var browser, system string
	switch {
	case has("Edg/", "EdgA/", "EdgiOS/"):
		browser = "Edge"
	case has("OPR/"):
		browser = "Opera"
	case has("Firefox/", "FxiOS/"):
		browser = "Firefox"
	case has("Chrome/", "Chromium/", "CriOS/"):
		browser = "Chrome"
	case has("Safari/"):
		browser = "Safari"
	}
	switch {
	case has("iPhone", "iPad"):
		system = "iOS"
	case has("Android"):
		system = "Android"
	case has("Windows"):
		system = "Windows"
	case has("CrOS"):
		system = "ChromeOS"
	case has("Mac OS X", "Macintosh"):
		system = "macOS"
	case has("Linux"):
		system = "Linux"
	}
	if browser != "" && system != "" {
		return browser + " on " + system
	}
	if r := []rune(ua); len(r) > 60 {
		return string(r[:59]) + "…"
	}
	return ua
}

func (h *Handler) showAccount(w http.ResponseWriter, r *http.Request, a *account, status int, st pageState) error {
	ctx := r.Context()
	v, err := h.accountView(ctx, a, st)
	if err != nil {
		return err
	}
	renderAccountWith(w, status, "account", "Your account", extras{scripts: v.Passkeys, script: webauthnScript(a.snap)}, v)
	return nil
}

func (h *Handler) accountView(ctx context.Context, a *account, st pageState) (accountView, error) {
	tenant := a.snap.Tenant.ID
	v := accountView{Base: accountBase(a.snap), CSRF: a.csrf, Tenant: a.snap.Tenant.Name, Username: a.user.Username, Notice: st.notice,
		EmailVerified: a.user.EmailVerified, PhoneVerified: a.user.PhoneNumberVerified,
		Profile: st.profile, Errors: st.errs, Fields: st.fields,
		Required: a.snap.Tenant.MFAPolicy.Effective() == model.MFARequired, Passkeys: admin.PasskeysAvailable(a.snap.Tenant.Issuer)}
	if v.Profile == nil {
		v.Profile = newProfileForm(a.user)
	}
	v.ProfileFields = profileFields(v.Profile, st.fields, a.user.EmailVerified, a.user.PhoneNumberVerified)
	v.PasswordFields = passwordFields(st.fields)
	factors, err := h.Admin.MyFactors(ctx, a.actor, tenant)
	if err != nil {
		return v, internalError(err)
	}
	for _, f := range factors.Items {
		row := factorRow{ID: f.ID, Name: f.Name, Kind: "Authenticator app", Added: accountTime(f.CreatedAt), LastUsed: "never", Confirmed: f.Confirmed}
		if f.Type == model.FactorWebAuthn {
			row.Kind = "Security key or passkey"
		}
		if f.LastUsedAt != nil {
			row.LastUsed = accountTime(*f.LastUsedAt)
		}
		v.HasFactor = v.HasFactor || f.Confirmed
		v.Factors = append(v.Factors, row)
	}
	v.CodesLeft = factors.RecoveryCodesLeft
	sessions, err := h.Admin.MySessions(ctx, a.actor, tenant)
	if err != nil {
		return v, internalError(err)
	}
	for _, s := range sessions {
		row := sessionRow{ID: s.ID, Device: deviceName(s.UserAgent), IP: s.IP, Started: accountTime(s.AuthTime), LastSeen: accountTime(s.LastSeen), Current: s.ID == a.sid}
		if row.IP == "" {
			row.IP = "an unknown address"
		}
		if row.Current { // this device first
			v.Sessions = append([]sessionRow{row}, v.Sessions...)
			continue
		}
		v.Sessions = append(v.Sessions, row)
	}
	consents, err := h.Admin.MyConsents(ctx, a.actor, tenant)
	if err != nil {
		return v, internalError(err)
	}
	for _, c := range consents {
		name := c.Application
		if name == "" {
			name = c.ClientID
		}
		v.Apps = append(v.Apps, appRow{ClientID: c.ClientID, Name: name, Since: accountTime(c.CreatedAt), Scopes: describe(a.snap, c.Scopes)})
	}
	return v, nil
}

// optional returns the form value of name as a pointer (the profile's
// fields are all sent; an absent one is left as it is).
func formValue(form url.Values, name string) *string {
	if !form.Has(name) {
		return nil
	}
	v := strings.TrimSpace(form.Get(name))
	return &v
}

func (h *Handler) accountProfile(w http.ResponseWriter, r *http.Request, a *account) (int, pageState, error) {
	f := r.PostForm
	version, err := strconv.ParseInt(f.Get("version"), 10, 64)
	if err != nil || version < 0 {
		version = 0
	}
	upd := admin.ProfileUpdate{Name: formValue(f, "name"), GivenName: formValue(f, "given_name"), FamilyName: formValue(f, "family_name"),
		Email: formValue(f, "email"), PhoneNumber: formValue(f, "phone_number"), Picture: formValue(f, "picture"), Locale: formValue(f, "locale"),
		Version: version}
	addr := a.user.Address
	for name, p := range map[string]*string{"street_address": &addr.StreetAddress, "locality": &addr.Locality, "region": &addr.Region,
		"postal_code": &addr.PostalCode, "country": &addr.Country} {
		if v := formValue(f, name); v != nil {
			*p = *v
		}
	}
	if addr != a.user.Address {
		upd.Address = &addr
	}
	if _, err := h.Admin.UpdateMyProfile(r.Context(), a.actor, a.snap.Tenant.ID, upd); err != nil {
		status, st, err := accountRefusal("profile", err)
		if err == nil {
			sent := newProfileForm(a.user)
			for name, p := range map[string]*string{"name": &sent.Name, "given_name": &sent.GivenName, "family_name": &sent.FamilyName,
				"email": &sent.Email, "phone_number": &sent.PhoneNumber, "picture": &sent.Picture, "locale": &sent.Locale,
				"street_address": &sent.StreetAddress, "locality": &sent.Locality, "region": &sent.Region, "postal_code": &sent.PostalCode, "country": &sent.Country} {
				if v := formValue(f, name); v != nil {
					*p = *v
				}
			}
			if status != http.StatusPreconditionFailed {
				sent.Version = version
			}
			st.profile = sent
		}
		return status, st, err
	}
	return accountDone(w, a, "profile")
}

func (h *Handler) accountPassword(w http.ResponseWriter, r *http.Request, a *account) (int, pageState, error) {
	f := r.PostForm
	if f.Get("new_password") != f.Get("confirm_password") {
		return http.StatusBadRequest, pageState{errs: map[string]string{"password": "The new password and its confirmation differ; type the same password twice."},
			fields: map[string]string{"confirm_password": "Type the same password as above."}}, nil
	}
	in := admin.PasswordChange{Current: f.Get("current_password"), New: f.Get("new_password"), SignOut: f.Get("sign_out") == "on"}
	if err := h.Admin.ChangeMyPassword(r.Context(), a.actor, a.snap.Tenant.ID, in); err != nil {
		return accountRefusal("password", err)
	}
	if in.SignOut {
		// Every session went, this one too: the page asks to sign in.
		h.clearSessionCookie(w, r, a.snap)
	}
	return accountDone(w, a, "password")
}

// enrolView is what account_enrol.html sees.
type enrolView struct {
	Base, CSRF, FactorID, Name, Secret string
	QR                                 template.URL
}

func (h *Handler) accountEnrol(w http.ResponseWriter, r *http.Request, a *account) (int, pageState, error) {
	name := strings.TrimSpace(r.PostForm.Get("name"))
	if name == "" {
		name = "Authenticator app"
	}
	enr, err := h.Admin.EnrolTOTP(r.Context(), a.actor, a.snap.Tenant.ID, name)
	if err != nil {
		return accountRefusal("factors", err)
	}
	// The secret is in this answer only (no-store), never in a URL.
	renderAccount(w, http.StatusOK, "account_enrol", "Set up an authenticator app", true, enrolView{
		Base: accountBase(a.snap), CSRF: a.csrf, FactorID: enr.FactorID, Name: enr.Name, Secret: enr.Secret, QR: template.URL(enr.QRDataURL())})
	return 0, pageState{}, nil
}

// codesView is what account_codes.html sees.
type codesView struct {
	Title, Lead string
	Codes       []string
	Back        string
}

func (h *Handler) showCodes(w http.ResponseWriter, a *account, title, lead string, codes []string) {
	renderAccount(w, http.StatusOK, "account_codes", title, false, codesView{Title: title, Lead: lead, Codes: codes,
		Back: accountBase(a.snap)})
}

func (h *Handler) accountConfirm(w http.ResponseWriter, r *http.Request, a *account) (int, pageState, error) {
	res, err := h.Admin.ConfirmTOTP(r.Context(), a.actor, a.snap.Tenant.ID, r.PostForm.Get("factor"), r.PostForm.Get("code"))
	if err != nil {
		return accountRefusal("factors", err)
	}
	// The session's own authentication is not raised: a factor enrolled
	// in a session proves nothing about who opened it. The next visit asks
	// for the new factor where policy says so.
	if len(res.RecoveryCodes) > 0 {
		h.showCodes(w, a, "Your authenticator app is set up",
			"Save these recovery codes: if you lose your authenticator, each one signs you in once. They are shown only now — print them or keep them in a password manager.",
			res.RecoveryCodes)
		return 0, pageState{}, nil
	}
	return accountDone(w, a, "enrolled")
}

func (h *Handler) accountRename(w http.ResponseWriter, r *http.Request, a *account) (int, pageState, error) {
	if _, err := h.Admin.RenameMyFactor(r.Context(), a.actor, a.snap.Tenant.ID, r.PostForm.Get("factor"), r.PostForm.Get("name")); err != nil {
		return accountRefusal("factors", err)
	}
	return accountDone(w, a, "renamed")
}

func (h *Handler) accountRemove(w http.ResponseWriter, r *http.Request, a *account) (int, pageState, error) {
	if err := h.Admin.RemoveMyFactor(r.Context(), a.actor, a.snap.Tenant.ID, r.PostForm.Get("factor")); err != nil {
		return accountRefusal("factors", err)
	}
	return accountDone(w, a, "removed")
}

func (h *Handler) accountRecoveryCodes(w http.ResponseWriter, r *http.Request, a *account) (int, pageState, error) {
	codes, err := h.Admin.RegenerateRecoveryCodes(r.Context(), a.actor, a.snap.Tenant.ID)
	if err != nil {
		return accountRefusal("factors", err)
	}
	h.showCodes(w, a, "Your new recovery codes",
		"Your old recovery codes no longer work. Each of these signs you in once if you lose your second factor; they are shown only now — print them or keep them in a password manager.",
		codes)
	return 0, pageState{}, nil
}

func (h *Handler) accountEndSession(w http.ResponseWriter, r *http.Request, a *account) (int, pageState, error) {
	id := r.PostForm.Get("session")
	if err := h.Admin.EndMySession(r.Context(), a.actor, a.snap.Tenant.ID, id); err != nil {
		return accountRefusal("sessions", err)
	}
	if id == a.sid {
		// Signed out here: the page asks to sign in again.
		h.clearSessionCookie(w, r, a.snap)
		seeOther(w, a.snap.Tenant.Issuer+accountPage, nil)
		return 0, pageState{}, nil
	}
	return accountDone(w, a, "ended")
}

func (h *Handler) accountWithdraw(w http.ResponseWriter, r *http.Request, a *account) (int, pageState, error) {
	if err := h.Admin.RevokeMyConsent(r.Context(), a.actor, a.snap.Tenant.ID, r.PostForm.Get("client_id")); err != nil {
		return accountRefusal("apps", err)
	}
	return accountDone(w, a, "withdrawn")
}

// refusalSentence is the sentence a use-case refused with (admin.Error),
// or fallback when it gave none of its own.
func refusalSentence(err error, fallback string) string {
	if p := admin.Describe(err); !p.Fallback && p.Message != "" {
		return p.Message
	}
	return fallback
}
