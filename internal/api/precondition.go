package api

import (
	"net/http"
	"strconv"
	"strings"
)

// etag is a resource version's entity tag.
func etag(version int64) string { return `"v` + strconv.FormatInt(version, 10) + `"` }

// Preconditions (RFC 9110 §13.1.1 If-Match).
//
// Every single-resource GET answers ETag: "v<version>". A PUT or PATCH of a
// versioned resource (a scope, an API, an application or its allowlist, a
// user, a role, a group) REQUIRES If-Match — without it the answer is 428
// Precondition Required (RFC 6585 §3) — so two admins editing one resource
// can never silently overwrite each other. If-Match: "v<version>" is
// checked by admin inside the write's transaction: a stale one is 412
// Precondition Failed (RFC 9110 §15.5.13) and nothing is written.
// If-Match: * opts out explicitly ("whatever is stored now").
//
// A DELETE, and POST /scopes/{name}/rename, accept an optional If-Match;
// absent or * is "whatever is stored now" (version 0). The version goes to
// the admin use-case, which checks it inside the delete's (or rename's)
// transaction and deletes only the version it checked, exactly as for
// updates: a stale one is 412 and nothing changes, and an update committed
// concurrently can never be deleted unseen.
//
// Only one entity tag (or *) is accepted; a list or a weak tag (W/"v3",
// which never matches under the strong comparison If-Match uses) is a 412.

// ifMatch reads If-Match: the version to pass to admin (0 for *), whether
// the header was present, and a problem for a malformed or unusable value.
func ifMatch(r *Request) (version int64, present bool, err error) {
	vals := r.Header.Values("If-Match")
	if len(vals) == 0 {
		return 0, false, nil
	}
	v := strings.TrimSpace(strings.Join(vals, ","))
	if v == "*" {
		return 0, true, nil
	}
	if strings.Contains(v, ",") {
		return 0, true, preconditionFailed("If-Match lists several entity tags; send the one ETag you last read.")
	}
	if strings.HasPrefix(v, "W/") {
		return 0, true, preconditionFailed("If-Match uses strong comparison (RFC 9110 §13.1.1): a weak entity tag never matches; send the ETag exactly as a GET returned it.")
	}
	n, ok := parseETag(v)
	if !ok {
		return 0, true, badRequest(`If-Match %s is not an entity tag of this API; send the ETag a GET returned, like "v3", or *.`, v)
	}
	return n, true, nil
}

// requireIfMatch is ifMatch for writes that need a precondition: no
// If-Match is 428.
func requireIfMatch(r *Request) (int64, error) {
	v, present, err := ifMatch(r)
	if err != nil {
		return 0, err
	}
	if !present {
		return 0, newProblem(http.StatusPreconditionRequired, CodePreconditionRequired,
			`This write needs If-Match (RFC 9110 §13.1.1): GET the resource, then send its ETag, e.g. If-Match: "v3" — or If-Match: * to overwrite whatever is stored.`)
	}
	return v, nil
}

func preconditionFailed(detail string) *Problem {
	return newProblem(http.StatusPreconditionFailed, CodePreconditionFailed, detail)
}

// parseETag reads "v<version>" (with its quotes).
func parseETag(s string) (int64, bool) {
	inner, ok := strings.CutPrefix(s, `"v`)
	if !ok {
		return 0, false
	}
	inner, ok = strings.CutSuffix(inner, `"`)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(inner, 10, 64)
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}
