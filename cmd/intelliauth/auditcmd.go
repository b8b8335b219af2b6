package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/api"
	"github.com/intelliauth/intelliauth/internal/model"
)

// The audit and report commands read the tenant's audit log through
// /api/v1/audit and /api/v1/reports (scope audit:read): who got which
// scopes when, and which allowed scopes nobody uses.

// auditVerbs are the subcommands of audit, in the order help lists them.
func auditVerbs() []verb {
	return []verb{
		{"search", "one page of matching events, newest first, with why each token event dropped or refused scopes", auditSearch},
		{"export", "every matching event as JSON Lines, for an archive or a SIEM", auditExport},
		{"retention", "show or set how long each class of events is kept (issuance, security, admin)", auditRetention},
	}
}

// reportVerbs are the subcommands of report, in the order help lists them.
func reportVerbs() []verb {
	return []verb{
		{"scope-usage", "per application, how often each allowed scope was granted; the unused ones", reportScopeUsage},
	}
}

// auditScopes are what every audit and report command's token carries.
func auditScopes() []string { return []string{"audit:read"} }

// auditFilters are the flags audit search and export share.
type auditFilters struct {
	typ, client, subject, scope string
	since, until, cursor        string
	limit                       int
}

func (f *auditFilters) register(fs *flag.FlagSet, limitHelp string) {
	fs.StringVar(&f.typ, "type", "", "event type, e.g. oauth.token_issued")
	fs.StringVar(&f.client, "client", "", "client_id of the application the event is about")
	fs.StringVar(&f.subject, "subject", "", "user ID of the end user the event is about")
	fs.StringVar(&f.scope, "scope", "", "one scope name, matched exactly (granted, changed or deleted)")
	fs.StringVar(&f.since, "since", "", "only events at or after: an RFC 3339 time (2026-03-01T12:00:00Z) or a time ago (24h, 90m, 7d)")
	fs.StringVar(&f.until, "until", "", "only events before: an RFC 3339 time or a time ago")
	fs.StringVar(&f.cursor, "cursor", "", "start after this cursor (the \"more:\" line of a previous page): older events only")
	fs.IntVar(&f.limit, "limit", 0, limitHelp)
}

// query checks the filters and turns them into the query string of
// GET /audit. maxLimit 0 means no upper bound (the export); now anchors the
// "time ago" forms.
func (f *auditFilters) query(a *apiArgs, now time.Time, maxLimit int) (url.Values, error) {
	q := url.Values{}
	for _, p := range []struct{ name, v string }{
		{"type", f.typ}, {"client_id", f.client}, {"subject", f.subject}, {"scope", f.scope}, {"before", f.cursor},
	} {
		if p.v != "" {
			q.Set(p.name, p.v)
		}
	}
	since, err := parseInstant("since", f.since, now)
	if err != nil {
		return nil, err
	}
	until, err := parseInstant("until", f.until, now)
	if err != nil {
		return nil, err
	}
	if !since.IsZero() && !until.IsZero() && !until.After(since) {
		return nil, fmt.Errorf("%w: --until (%s) must be later than --since (%s)", errUsage, until.Format(time.RFC3339), since.Format(time.RFC3339))
	}
	setInstant(q, "since", since)
	setInstant(q, "until", until)
	if a.set("limit") {
		if err := checkLimit(f.limit, maxLimit); err != nil {
			return nil, err
		}
		q.Set("limit", strconv.Itoa(f.limit))
	}
	return q, nil
}

// checkLimit checks --limit: at least 1, and at most maxLimit unless that
// is 0.
func checkLimit(n, maxLimit int) error {
	switch {
	case n < 1 && maxLimit > 0:
		return fmt.Errorf("%w: --limit must be from 1 to %d, not %d", errUsage, maxLimit, n)
	case n < 1:
		return fmt.Errorf("%w: --limit must be at least 1, not %d", errUsage, n)
	case maxLimit > 0 && n > maxLimit:
		return fmt.Errorf("%w: --limit must be at most %d per page, not %d (follow the \"more:\" cursor, or use audit export)", errUsage, maxLimit, n)
	}
	return nil
}

func setInstant(q url.Values, name string, t time.Time) {
	if !t.IsZero() {
		q.Set(name, t.UTC().Format(time.RFC3339Nano))
	}
}

// parseInstant reads --since or --until: an RFC 3339 time, or — for the
// usual "the last day" question — a duration meaning that long before now
// (a Go duration such as 24h, or whole days such as 7d).
func parseInstant(flagName, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if d, ok := parseAgo(v); ok {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%w: --%s %q is neither an RFC 3339 time (like 2026-03-01T12:00:00Z) nor a time ago (like 24h, 90m or 7d)", errUsage, flagName, v)
}

// parseAgo reads a non-negative Go duration or a whole number of days
// ("7d", which time.ParseDuration does not know).
func parseAgo(v string) (time.Duration, bool) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100*366 {
			return 0, false
		}
		return time.Duration(n) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(v)
	return d, err == nil && d >= 0
}

// auditPage is the JSON answer of GET /audit.
type auditPage struct {
	Items      []admin.AuditEventDoc `json:"items"`
	NextCursor string                `json:"next_cursor"`
}

func auditSearch(ctx context.Context, c *cli, args []string) error {
	var f auditFilters
	var q url.Values
	var includeCLI bool
	return c.runAPI(ctx, args, apiCmd{
		fields: auditFields,
		name:   "audit search", usage: "audit search [--type T] [--client ID] [--subject USER_ID] [--scope S] [--since T] [--until T] [--limit N] [--cursor C] [--include-cli] [flags]",
		output: true, scopes: auditScopes(),
		flags: func(a *apiArgs) {
			f.register(a.fs, fmt.Sprintf("events per page, 1–%d (default %d)", admin.MaxAuditPageSize, admin.DefaultAuditPageSize))
			a.fs.BoolVar(&includeCLI, "include-cli", false, "show the token requests of this CLI's own admin client too (each command makes one; --client ID shows one client's events whatever it is)")
		},
		check: func(a *apiArgs, _ []string) (err error) {
			q, err = f.query(a, time.Now(), admin.MaxAuditPageSize)
			return err
		},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, _ []string) error {
			// Every command gets a token, so the CLI's own token events
			// would bury the rest. The server leaves them out (not the
			// CLI after the fact), so a page stays full and its cursor
			// right. With --client the filter is moot: another client's
			// events hold none of them, and naming the admin client asks
			// for them.
			hidden := ""
			if !includeCLI && f.client == "" {
				hidden = cl.cn.clientID
				q.Set("exclude_tokens_of", hidden)
			}
			var p auditPage
			res, err := cl.call(ctx, request{method: "GET", path: "/audit", query: q}, &p)
			if err != nil {
				return err
			}
			return c.emit(a, res, func() error { printAuditPage(c.stdout, p, hidden); return nil })
		},
	})
}

// printAuditPage prints events newest first and, while older ones remain,
// how to get the next page; hidden is the client whose token events the
// search left out ("" for none).
func printAuditPage(w io.Writer, p auditPage, hidden string) {
	if len(p.Items) == 0 {
		fmt.Fprintln(w, "no matching events")
	} else {
		table(w, "TIME\tTYPE\tACTOR\tCLIENT\tSUBJECT\tSCOPES\tREASON", func(tw io.Writer) {
			for _, e := range p.Items {
				fmt.Fprintf(tw, "%s\t%s\t%s:%s\t%s\t%s\t%s\t%s\n", e.Time.UTC().Format(time.RFC3339), e.Type, e.Actor.Type, e.Actor.ID,
					dashIfEmpty(e.ClientID), dashIfEmpty(e.Subject), joined(e.Scopes), dashIfEmpty(eventReason(e)))
			}
		})
	}
	if p.NextCursor != "" {
		fmt.Fprintf(w, "more: --cursor %s (the same command with it shows older events)\n", p.NextCursor)
	}
	if hidden != "" {
		fmt.Fprintf(w, "(token requests of %s, this CLI, are hidden: --include-cli shows them)\n", hidden)
	}
}

// tokenEventDetails is the part of a token event's details the REASON
// column shows (internal/oauth's tokenDetails).
type tokenEventDetails struct {
	Results []struct {
		Scope   string `json:"scope"`
		Granted bool   `json:"granted"`
		Reason  string `json:"reason"`
	} `json:"results"`
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Note        string `json:"note"`
}

// eventReason is the REASON column: for a token issued, the scopes the
// decision dropped and why ("dropped payments:approve (not_allowed)") and
// the note of a token without scope; for a token refused, the error and its
// description; "" for other events.
func eventReason(e admin.AuditEventDoc) string {
	if e.Type != model.EventTokenIssued && e.Type != model.EventTokenRefused {
		return ""
	}
	var d tokenEventDetails
	if len(e.Details) == 0 || json.Unmarshal(e.Details, &d) != nil {
		return ""
	}
	if e.Type == model.EventTokenRefused {
		if d.Description == "" {
			return d.Error
		}
		return d.Error + ": " + d.Description
	}
	var dropped []string
	for _, r := range d.Results {
		if !r.Granted {
			dropped = append(dropped, r.Scope+" ("+r.Reason+")")
		}
	}
	var parts []string
	if len(dropped) > 0 {
		parts = append(parts, "dropped "+strings.Join(dropped, ", "))
	}
	if d.Note != "" {
		parts = append(parts, d.Note)
	}
	return strings.Join(parts, "; ")
}

func auditExport(ctx context.Context, c *cli, args []string) error {
	var f auditFilters
	var q url.Values
	return c.runAPI(ctx, args, apiCmd{
		fields: auditFields,
		name:   "audit export", usage: "audit export [--type T] [--client ID] [--subject USER_ID] [--scope S] [--since T] [--until T] [--limit N] [flags] > audit.jsonl",
		scopes: auditScopes(),
		flags:  func(a *apiArgs) { f.register(a.fs, "at most this many events (default: all that match)") },
		check: func(a *apiArgs, _ []string) (err error) {
			if q, err = f.query(a, time.Now(), 0); err == nil {
				q.Set("format", "jsonl")
			}
			return err
		},
		call: func(ctx context.Context, _ *apiArgs, cl *apiClient, _ []string) error {
			return exportJSONLines(ctx, streaming(cl), q, c.stdout)
		},
	})
}

// streaming is cl for a long download: the whole-exchange timeout of the
// API client would cut an export of a big log, so only the wait for the
// answer's headers is bounded.
func streaming(cl *apiClient) *apiClient {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = apiTimeout
	s := *cl
	hc := *cl.hc // keeps CheckRedirect
	hc.Transport, hc.Timeout = t, 0
	s.hc = &hc
	return &s
}

// exportJSONLines copies the export to w as it arrives, never holding it
// whole. The server cuts the connection when it fails mid-way, so a copy
// error means the output is incomplete — and says so.
func exportJSONLines(ctx context.Context, cl *apiClient, q url.Values, w io.Writer) error {
	resp, err := cl.send(ctx, request{method: "GET", path: "/audit", query: q})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != api.JSONLinesType {
		return fmt.Errorf("GET /audit answered %q, not the JSON Lines export (%s): is the server older than this CLI?", mt, api.JSONLinesType)
	}
	lw := &lineCounter{w: w}
	if _, err := io.Copy(lw, resp.Body); err != nil {
		return fmt.Errorf("the export stopped after %d complete event(s); the output is INCOMPLETE: %w", lw.lines, err)
	}
	return nil
}

// lineCounter counts the newlines written through it.
type lineCounter struct {
	w     io.Writer
	lines int
}

func (l *lineCounter) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	l.lines += strings.Count(string(p[:n]), "\n")
	return n, err
}

// auditFields are the audit query's parameters whose flags are named
// otherwise.
var auditFields = map[string]string{"before": "cursor", "client_id": "client"}

// ---- report ----

// scopeUsageReport is the answer of GET /reports/scope-usage.
type scopeUsageReport struct {
	Since         time.Time       `json:"since"`
	Until         time.Time       `json:"until"`
	WindowSeconds int64           `json:"window_seconds"`
	Applications  []appScopeUsage `json:"applications"`
}

type appScopeUsage struct {
	ClientID string `json:"client_id"`
	Name     string `json:"name"`
	Scopes   []struct {
		Scope               string     `json:"scope"`
		Grants              int        `json:"grants"`
		LastGranted         *time.Time `json:"last_granted"`
		CandidateForRemoval bool       `json:"candidate_for_removal"`
	} `json:"scopes"`
	Candidates []string `json:"candidates_for_removal"`
}

func reportScopeUsage(ctx context.Context, c *cli, args []string) error {
	var window, client string
	return c.runAPI(ctx, args, apiCmd{
		name: "report scope-usage", usage: "report scope-usage [--window 30d] [--client ID] [flags]", output: true, scopes: auditScopes(),
		flags: func(a *apiArgs) {
			a.fs.StringVar(&window, "window", "", "how far back to count grants: days (30d, the default) or a duration (12h), at most 366d")
			a.fs.StringVar(&client, "client", "", "only this application (client_id)")
		},
		check: func(*apiArgs, []string) error {
			// The range is the server's to check; the form is caught here.
			if _, ok := parseAgo(window); window != "" && !ok {
				return fmt.Errorf("%w: --window %q is neither whole days (30d) nor a duration (12h)", errUsage, window)
			}
			return nil
		},
		call: func(ctx context.Context, a *apiArgs, cl *apiClient, _ []string) error {
			q := url.Values{}
			if window != "" {
				q.Set("window", window)
			}
			res, err := cl.do(ctx, request{method: "GET", path: "/reports/scope-usage", query: q})
			if err != nil {
				return err
			}
			if client != "" {
				if res, err = onlyApplication(res, client); err != nil {
					return err
				}
			}
			var rep scopeUsageReport
			if err := json.Unmarshal(res.body, &rep); err != nil {
				return fmt.Errorf("GET /reports/scope-usage: decode answer: %w", err)
			}
			return c.emit(a, res, func() error { printScopeUsage(c.stdout, rep); return nil })
		},
	})
}

// onlyApplication narrows the report to one application. The route has no
// client filter, so the CLI drops the others from the answer, leaving the
// rest of it (window, members) as the server sent it.
func onlyApplication(res *apiResponse, clientID string) (*apiResponse, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(res.body, &doc); err != nil {
		return nil, fmt.Errorf("GET /reports/scope-usage: decode answer: %w", err)
	}
	var apps []json.RawMessage
	if err := json.Unmarshal(doc["applications"], &apps); err != nil {
		return nil, fmt.Errorf("GET /reports/scope-usage: decode applications: %w", err)
	}
	var kept []json.RawMessage
	for _, raw := range apps {
		var a struct {
			ClientID string `json:"client_id"`
		}
		if json.Unmarshal(raw, &a) == nil && a.ClientID == clientID {
			kept = append(kept, raw)
		}
	}
	if len(kept) == 0 {
		return nil, fmt.Errorf("--client %s: no such application in this tenant (app list shows them)", clientID)
	}
	b, err := json.Marshal(kept)
	if err != nil {
		return nil, fmt.Errorf("encode report: %w", err)
	}
	doc["applications"] = b
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode report: %w", err)
	}
	return &apiResponse{status: res.status, header: res.header, body: body}, nil
}

// printScopeUsage prints one row per application and allowed scope; a
// scope never granted in the window is marked UNUSED, and each application
// with such scopes ends with the command that would tighten its allowlist.
func printScopeUsage(w io.Writer, rep scopeUsageReport) {
	fmt.Fprintf(w, "grants from %s to %s (%s)\n\n", rep.Since.UTC().Format(time.RFC3339), rep.Until.UTC().Format(time.RFC3339),
		windowText(time.Duration(rep.WindowSeconds)*time.Second))
	table(w, "CLIENT_ID\tSCOPE\tGRANTS\tLAST GRANTED\tUSE", func(tw io.Writer) {
		for _, a := range rep.Applications {
			if len(a.Scopes) == 0 {
				fmt.Fprintf(tw, "%s\t-\t-\t-\tempty allowlist\n", a.ClientID)
			}
			for _, s := range a.Scopes {
				last, use := "never", "UNUSED: candidate for removal"
				if s.LastGranted != nil {
					last = s.LastGranted.UTC().Format(time.RFC3339)
				}
				if !s.CandidateForRemoval {
					use = "used"
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", a.ClientID, s.Scope, s.Grants, last, use)
			}
		}
	})
	advice, keptPlatform := disallowAdvice(rep.Applications)
	if len(advice) > 0 {
		fmt.Fprintf(w, "\nScopes never granted in the window can leave the allowlist:\n%s\n", strings.Join(advice, "\n"))
	}
	if keptPlatform {
		fmt.Fprintln(w, "\n(Unused platform scopes are not suggested: an admin client such as this CLI's asks for each one only when a command needs it.)")
	}
}

// disallowAdvice is the command that drops each application's unused
// scopes, platform scopes left out: an admin client that has not listed
// users this month still needs users:read the day it does, and removing it
// would lock the CLI out of that command.
func disallowAdvice(apps []appScopeUsage) (advice []string, keptPlatform bool) {
	platform := model.PlatformScopeNames()
	for _, a := range apps {
		var drop []string
		for _, s := range a.Candidates {
			if slices.Contains(platform, s) {
				keptPlatform = true
				continue
			}
			drop = append(drop, s)
		}
		if len(drop) > 0 {
			advice = append(advice, fmt.Sprintf("  intelliauth app disallow %s %s", a.ClientID, strings.Join(drop, " ")))
		}
	}
	return advice, keptPlatform
}

// windowText writes a window as days when it is whole days.
func windowText(d time.Duration) string {
	if day := 24 * time.Hour; d >= day && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	return d.String()
}
