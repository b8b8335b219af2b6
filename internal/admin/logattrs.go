package admin

import (
	"log/slog"
	"strings"
)

// changeAttrs are the attributes of an "admin change" log line besides the
// event type, tenant and actor: the resource changed ("application
// reporting-job", "scope read:transactions", "role teller", …) and the
// indexed fields the event carries, under the keys every package logs them
// with (client_id, user_id).
func changeAttrs(e event) []slog.Attr {
	attrs := []slog.Attr{slog.String("resource", resourceOf(e))}
	if e.ClientID != "" {
		attrs = append(attrs, slog.String("client_id", e.ClientID))
	}
	if e.Subject != "" {
		attrs = append(attrs, slog.String("user_id", e.Subject))
	}
	if e.Audience != "" {
		attrs = append(attrs, slog.String("audience", e.Audience))
	}
	return attrs
}

// resourceOf names what an event changed: its kind (the event type's
// prefix) and the resource's identifier.
func resourceOf(e event) string {
	kind, _, _ := strings.Cut(e.Type, ".")
	id := ""
	switch kind {
	case "application":
		id = e.ClientID
	case "api":
		id = e.Audience
	case "scope":
		id = strings.Join(e.Scopes, " ")
	case "tenant", "signing_key":
		id = e.TenantID
	case "user", "mfa", "login", "logout":
		kind, id = "user", e.Subject
	case "consent":
		id = e.Subject + " " + e.ClientID
	case "role", "group":
		id = nameInDetails(e.Details, kind)
	}
	if id == "" {
		return kind
	}
	return kind + " " + id
}

// nameInDetails finds a role's or group's name in an event's details: the
// member named kind ("role": "teller"), or the name of the document after
// or before the change.
func nameInDetails(details any, kind string) string {
	d, ok := details.(map[string]any)
	if !ok {
		return ""
	}
	if s, ok := d[kind].(string); ok {
		return s
	}
	for _, k := range []string{"after", "before"} {
		switch doc := d[k].(type) {
		case RoleDoc:
			return doc.Name
		case GroupDoc:
			return doc.Name
		}
	}
	return ""
}
