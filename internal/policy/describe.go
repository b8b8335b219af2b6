package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/intelliauth/intelliauth/internal/model"
)

// refusal is the error_description of a refused request (RFC 6749 §5.2): the
// reason for each offending scope, in a sentence a developer can act on. It
// also says why a permissive application's token carries no scope at all
// (Decision.Note), so it knows every reason.
// It names only this tenant's scopes, APIs and applications. The token
// endpoint's writer keeps it within §5.2's character set.
func refusal(in Input, aud model.API, results []Result, refused []string) string {
	reg := in.Registry
	parts := make([]string, 0, len(refused))
	for _, r := range results {
		if !slices.Contains(refused, r.Scope) {
			continue
		}
		switch r.Reason {
		case NotRegistered:
			p := r.Scope + " is not a scope of this tenant"
			if near := nearest(r.Scope, reg.Names()); near != "" {
				p += " (did you mean " + near + "?)"
			}
			parts = append(parts, p)
		case WrongAudience:
			s, _ := reg.Scope(r.Scope)
			owner := "another API"
			if a, ok := reg.APIByID(s.APIID); ok {
				owner = a.Identifier
			}
			parts = append(parts, fmt.Sprintf("%s belongs to %s, not %s", r.Scope, owner, aud.Identifier))
		case NotAllowed:
			parts = append(parts, fmt.Sprintf("%s is not on %s's allowlist", r.Scope, in.App.ClientID))
		case NotInGrant:
			parts = append(parts, r.Scope+" was not in the original grant (a refresh may narrow a grant, never widen it)")
		case NoUser:
			parts = append(parts, r.Scope+" is about a user, and this grant has none")
		case NotEntitled:
			parts = append(parts, r.Scope+" is not given by the user's roles")
		case StepUpRequired:
			parts = append(parts, r.Scope+" needs a sign-in with a second factor")
		case NotConsented:
			parts = append(parts, r.Scope+" was not approved by the user")
		}
	}
	return strings.Join(parts, "; ")
}

// unknownAudience is the error_description of an audience that is not an
// API of the tenant, listing the tenant's own (a few of them).
func unknownAudience(reg *Registry, audience string) string {
	known := reg.Identifiers()
	more := ""
	if len(known) > 5 {
		known, more = known[:5], ", …"
	}
	if len(audience) > 100 {
		audience = audience[:100] + "…"
	}
	return fmt.Sprintf("the audience %s is not an API of this tenant (known: %s%s)", audience, strings.Join(known, ", "), more)
}

// nearest is the registered name closest to name by edit distance, if it
// is within 2 edits (a typo), else "".
func nearest(name string, names []string) string {
	best, bestD := "", 3
	slices.Sort(names)
	for _, n := range names {
		if d := distance(name, n, bestD); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// distance is the Levenshtein distance of a and b, or limit when it is at
// least limit (scope names are short; the bound keeps hostile input cheap).
func distance(a, b string, limit int) int {
	if len(a) > 128 || len(b) > 128 {
		return limit
	}
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= limit {
			return limit
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}
