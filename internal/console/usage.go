package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// usagePages mounts the scope-usage report (admin.ScopeUsageReport, with
// admin.ScopeUsageByDay for its chart) and its "remove from allowlist"
// action: a confirmation page, then the allowlist editor's save
// (admin.ChangeAllowedScopes at the version shown), so the removal is one
// application.scopes_changed event like any allowlist change.
func (h *Handler) usagePages(rt *router) {
	rt.page("GET", model.ConsolePath+"/usage", admin.OpScopeUsage, h.usage)
	rt.page("GET", model.ConsolePath+"/usage/remove", admin.OpChangeAllowedScopes, h.usageRemoveConfirm)
	rt.page("POST", model.ConsolePath+"/usage/remove", admin.OpChangeAllowedScopes, h.usageRemove)
}

// usageWindows are the report's windows, in days (a select offers them);
// usageDefaultWindow is the one shown first.
func usageWindows() []int { return []int{7, 30, 90} }

const usageDefaultWindow = 30

// usageWindow reads ?window= (days); ok is false for a value not offered.
func usageWindow(v string) (int, bool) {
	if v == "" {
		return usageDefaultWindow, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || !slices.Contains(usageWindows(), n) {
		return usageDefaultWindow, false
	}
	return n, true
}

// usageBody is what usage.html shows.
type usageBody struct {
	Window   formField
	Windows  []usageOption
	App      formField
	AppOpts  []usageOption
	Apps     []usageApp
	Days     int
	From, To string
	Errors   FieldErrors
}

// Error is the form's problem not tied to one field.
func (b usageBody) Error() string { return b.Errors[""] }

// usageOption is one option of a select.
type usageOption struct {
	Value, Label string
	Selected     bool
}

// usageApp is one application's part of the report.
type usageApp struct {
	ClientID, Name string
	Scopes         []usageScope
	// Flagged counts the scopes never granted in the window.
	Flagged int
	// Chart: the application was granted something in the window, so the
	// per-day chart (and its table) is shown.
	Chart bool
	// ChartScopes and ChartDays are the chart's text alternative: the
	// days with a grant, one count per scope of ChartScopes.
	ChartScopes []string
	ChartDays   []usageDay
}

// usageDay is one row of the per-day table.
type usageDay struct {
	Day    string
	Counts []int
}

// usageScope is one allowed scope of an application in the report.
type usageScope struct {
	Scope      string
	Grants     int
	Last, ISO  string
	Flagged    bool
	RemoveURL  string
	Spark      *sparkline
	RemoveName string
}

// sparkline is a small bar chart of grants per day, drawn as inline SVG
// (presentation by CSS classes; no script, no style attribute).
type sparkline struct {
	ViewBox string
	W, H    int
	Bars    []sparkBar
	// Label is its text alternative (aria-label).
	Label string
}

type sparkBar struct {
	X, Y, W, H int
	Title      string
}

// Sparkline geometry: a bar per day, sparkBarW wide with a gap of one.
const (
	sparkBarW = 3
	sparkH    = 24
)

func newSparkline(scopeName string, days []time.Time, counts []int) *sparkline {
	s := &sparkline{W: len(days) * (sparkBarW + 1), H: sparkH}
	s.ViewBox = fmt.Sprintf("0 0 %d %d", s.W, s.H)
	most, mostAt, total := 0, 0, 0
	for i, c := range counts {
		total += c
		if c > most {
			most, mostAt = c, i
		}
	}
	for i, c := range counts {
		if c == 0 {
			continue
		}
		h := max(1, (c*(sparkH-2)+most/2)/most)
		s.Bars = append(s.Bars, sparkBar{X: i * (sparkBarW + 1), Y: sparkH - h, W: sparkBarW, H: h,
			Title: fmt.Sprintf("%s: %d", days[i].Format("2006-01-02"), c)})
	}
	s.Label = fmt.Sprintf("Grants per day of %s from %s to %s: %d in all, at most %d on %s.", scopeName,
		days[0].Format("2 Jan"), days[len(days)-1].Format("2 Jan 2006"), total, most, days[mostAt].Format("2 Jan"))
	return s
}

// usage is the scope-usage report: per application, each allowed scope
// with its grants in the window and when last, the ones never granted
// flagged (with a way to remove them when the user may edit allowlists),
// and a small chart of grants per day.
func (h *Handler) usage(w http.ResponseWriter, r *Request) error {
	q := r.URL.Query()
	b := usageBody{Errors: FieldErrors{}}
	days, ok := usageWindow(q.Get("window"))
	if !ok {
		b.Errors["window"] = fmt.Sprintf("must be one of 7, 30 or 90 days, not %q", q.Get("window"))
	}
	clientID := strings.TrimSpace(q.Get("client_id"))
	b.Window = formField{ID: "usage-window", Name: "window", Label: "Window", Value: strconv.Itoa(days), Message: b.Errors["window"]}
	for _, d := range usageWindows() {
		b.Windows = append(b.Windows, usageOption{Value: strconv.Itoa(d), Label: fmt.Sprintf("Last %d days", d), Selected: d == days})
	}
	b.App = formField{ID: "usage-app", Name: "client_id", Label: "Application", Value: clientID}
	b.Days = days
	window := time.Duration(days) * 24 * time.Hour
	rep, err := h.Admin.ScopeUsageReport(r.Context(), r.Actor, r.TenantID(), window)
	if err != nil {
		return err
	}
	perDay, err := h.Admin.ScopeUsageByDay(r.Context(), r.Actor, r.TenantID(), window)
	if err != nil {
		return err
	}
	b.From, b.To = rep.Since.UTC().Format("2006-01-02 15:04 UTC"), rep.Until.UTC().Format("2006-01-02 15:04 UTC")
	b.AppOpts = []usageOption{{Value: "", Label: "All applications", Selected: clientID == ""}}
	found := clientID == ""
	mayRemove := r.May(admin.OpChangeAllowedScopes)
	for _, a := range rep.Applications {
		b.AppOpts = append(b.AppOpts, usageOption{Value: a.ClientID, Label: a.Name + " (" + a.ClientID + ")", Selected: a.ClientID == clientID})
		if clientID != "" && a.ClientID != clientID {
			continue
		}
		found = true
		ua := usageApp{ClientID: a.ClientID, Name: a.Name, Flagged: len(a.Candidates)}
		for _, s := range a.Scopes {
			us := usageScope{Scope: s.Scope, Grants: s.Grants, Flagged: s.CandidateForRemoval}
			if !s.LastGranted.IsZero() {
				us.Last, us.ISO = s.LastGranted.UTC().Format("2006-01-02 15:04 UTC"), s.LastGranted.UTC().Format(time.RFC3339)
			}
			if s.Grants > 0 {
				ua.Chart = true
				us.Spark = newSparkline(s.Scope, perDay.Days, perDay.Series(a.ClientID, s.Scope))
				ua.ChartScopes = append(ua.ChartScopes, s.Scope)
			}
			if us.Flagged && mayRemove {
				v := url.Values{"client_id": {a.ClientID}, "scope": {s.Scope}, "window": {strconv.Itoa(days)}}
				us.RemoveURL = r.Base + "/usage/remove?" + v.Encode()
				us.RemoveName = s.Scope + " of " + a.Name
			}
			ua.Scopes = append(ua.Scopes, us)
		}
		for i, d := range perDay.Days {
			row := usageDay{Day: d.Format("2006-01-02")}
			hit := false
			for _, sc := range ua.ChartScopes {
				c := perDay.Series(a.ClientID, sc)[i]
				row.Counts = append(row.Counts, c)
				hit = hit || c > 0
			}
			if hit {
				ua.ChartDays = append(ua.ChartDays, row)
			}
		}
		b.Apps = append(b.Apps, ua)
	}
	if !found {
		b.Errors["client_id"] = fmt.Sprintf("there is no application %q in this tenant", clientID)
		b.App.Message = b.Errors["client_id"]
		b.AppOpts = append(b.AppOpts, usageOption{Value: clientID, Label: clientID + " (unknown)", Selected: true})
	}
	status := http.StatusOK
	if len(b.Errors) > 0 {
		status, b.Apps = http.StatusBadRequest, nil
	}
	h.render(w, r, status, "usage", "Scope usage", b)
	return nil
}

// usageRemoveBody is what usage-remove.html shows: the confirmation of one
// scope's removal from one allowlist, or, after a stale save, the conflict.
type usageRemoveBody struct {
	App    model.Application
	Scope  string
	OnList bool
	Window string
	// Seen is the allowlist as this page shows it (sent back, so that a
	// conflict can show what the user saw).
	Seen    string
	BackURL string
	// Conflict is set when the allowlist changed since the user opened the
	// confirmation: what they saw, after their removal, and what it is now.
	Conflict *usageConflict
}

type usageConflict struct {
	YourVersion int64
	Yours       []string
}

// usageBack is the report the removal started from.
func usageBack(r *Request, clientID, window string) string {
	v := url.Values{}
	if w, ok := usageWindow(window); ok && w != usageDefaultWindow {
		v.Set("window", strconv.Itoa(w))
	}
	if clientID != "" {
		v.Set("client_id", clientID)
	}
	if len(v) == 0 {
		return r.Base + "/usage"
	}
	return r.Base + "/usage?" + v.Encode()
}

// usageRemoveConfirm asks before removing a scope from an allowlist.
func (h *Handler) usageRemoveConfirm(w http.ResponseWriter, r *Request) error {
	q := r.URL.Query()
	clientID, sc := q.Get("client_id"), q.Get("scope")
	if clientID == "" || sc == "" {
		return notFound("Choose the scope to remove on the scope-usage page.")
	}
	app, err := h.Admin.GetApplication(r.Context(), r.Actor, r.TenantID(), clientID)
	if err != nil {
		return err
	}
	h.renderRemove(w, r, http.StatusOK, usageRemoveBody{App: app, Scope: sc, Window: q.Get("window")})
	return nil
}

func (h *Handler) renderRemove(w http.ResponseWriter, r *Request, status int, b usageRemoveBody) {
	b.OnList = slices.Contains(b.App.AllowedScopes, b.Scope)
	b.Seen = strings.Join(b.App.AllowedScopes, " ")
	if _, ok := usageWindow(b.Window); !ok {
		b.Window = ""
	}
	b.BackURL = usageBack(r, b.App.ClientID, b.Window)
	h.render(w, r, status, "usage-remove", "Remove "+b.Scope+" from the allowlist", b)
}

// usageRemove removes one scope from an application's allowlist at the
// version the confirmation showed. A stale version shows what changed and
// offers the removal again on the current allowlist; nothing is lost.
func (h *Handler) usageRemove(w http.ResponseWriter, r *Request) error {
	clientID, sc, window := r.PostFormValue("client_id"), r.PostFormValue("scope"), r.PostFormValue("window")
	version, err := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	if clientID == "" || sc == "" || err != nil || version < 1 {
		return &pageError{Status: http.StatusBadRequest, Title: "Invalid form",
			Message: "This form is missing the application, the scope or the version it was shown at. Open the scope-usage page and choose Remove from allowlist again."}
	}
	app, err := h.Admin.ChangeAllowedScopes(r.Context(), r.Actor, r.TenantID(), clientID, nil, []string{sc}, version)
	if errors.Is(err, store.ErrPrecondition) {
		cur, gerr := h.Admin.GetApplication(r.Context(), r.Actor, r.TenantID(), clientID)
		if gerr != nil {
			return gerr
		}
		seen := strings.Fields(r.PostFormValue("seen"))
		yours := slices.DeleteFunc(slices.Clone(seen), func(s string) bool { return s == sc })
		h.renderRemove(w, r, http.StatusConflict, usageRemoveBody{App: cur, Scope: sc, Window: window,
			Conflict: &usageConflict{YourVersion: version, Yours: yours}})
		return nil
	}
	if err != nil {
		return err
	}
	if h.Catalog != nil {
		h.Catalog.Invalidate(r.TenantID())
	}
	if app.Version == version {
		r.Notice(w, sc+" was not on the allowlist of "+app.Name+"; nothing changed.")
	} else {
		r.Notice(w, "Removed "+sc+" from the allowlist of "+app.Name+".")
	}
	http.Redirect(w, r.Request, usageBack(r, clientID, window), http.StatusSeeOther)
	return nil
}
