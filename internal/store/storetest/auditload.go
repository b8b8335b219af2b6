package storetest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// AuditLoad is what LoadAudit generates.
type AuditLoad struct {
	TenantID string
	Events   int
	// From and Span place the events: evenly over [From, From+Span).
	From time.Time
	Span time.Duration
	// Clients and Users are how many applications and end users the
	// events name (defaults 50 and 10,000).
	Clients, Users int
	// Batch is the events per Append (default 1,000).
	Batch int
	// Seed makes the load repeatable.
	Seed uint64
}

// loadULID returns a ULID as the audit package makes them: the
// millisecond of t, then 80 bits (here the event's number).
func loadULID(t time.Time, n uint64) string {
	const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	hi, lo := uint64(t.UnixMilli())<<16, n // 48-bit ms || 80 bits
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// loadDetails has the fields of the token endpoint's details document, in
// its order (internal/oauth tokenDetails), so the load compresses as the
// real log does.
type loadDetails struct {
	GrantType string       `json:"grant_type"`
	Requested []string     `json:"requested"`
	Granted   []string     `json:"granted,omitempty"`
	Results   []loadResult `json:"results,omitempty"`
	JTI       string       `json:"jti,omitempty"`
	ExpiresAt *time.Time   `json:"expires_at,omitempty"`
	IDToken   bool         `json:"id_token,omitempty"`
	TokenSize int          `json:"token_size,omitempty"`
	Error     string       `json:"error,omitempty"`
	Reason    string       `json:"error_description,omitempty"`
}

type loadResult struct {
	Scope   string `json:"scope"`
	Granted bool   `json:"granted"`
	Reason  string `json:"reason"`
}

// LoadScopes are the scope names LoadAudit grants; LoadRareScope is granted
// to one event in 10,000 (the Scope filter's hard case: few matches in a
// long log).
var LoadScopes = []string{"openid", "profile", "email", "read:transactions", "write:transfers", "read:accounts", "offline_access"}

// LoadRareScope is granted to one event in 10,000 by LoadAudit.
const LoadRareScope = "admin:audit"

// LoadAudit appends l.Events synthetic events shaped like the token
// endpoint's: 80% oauth.token_issued by client credentials (no subject, one
// or two scopes), 15% by authorization code or refresh (a user, three or
// four scopes), 4% oauth.token_refused, 1% admin changes — with details
// documents like the ones the token endpoint writes. It goes through
// Append, the path the server takes, in batches; IDs are ULIDs of the
// event's time, as the server's are. It returns the client IDs used ("app-0" …).
func LoadAudit(ctx context.Context, s store.Store, l AuditLoad) error {
	if l.Clients <= 0 {
		l.Clients = 50
	}
	if l.Users <= 0 {
		l.Users = 10_000
	}
	if l.Batch <= 0 {
		l.Batch = 1000
	}
	rng := rand.New(rand.NewPCG(l.Seed, l.Seed^0x9e3779b97f4a7c15))
	step := l.Span / time.Duration(max(l.Events, 1))
	batch := make([]model.AuditEvent, 0, l.Batch)
	for i := range l.Events {
		t := l.From.Add(time.Duration(i) * step).UTC()
		client := fmt.Sprintf("app-%d", rng.IntN(l.Clients))
		ev := model.AuditEvent{
			ID: loadULID(t, uint64(i)), TenantID: l.TenantID, Time: t,
			Type: model.EventTokenIssued, ActorType: model.ActorClient, ActorID: client, ClientID: client,
			Audience: "https://api.bank.example.com",
		}
		grant := "client_credentials"
		switch p := rng.IntN(100); {
		case p < 80:
			ev.Scopes = []string{LoadScopes[3+rng.IntN(3)]}
			if rng.IntN(4) == 0 {
				ev.Scopes = append(ev.Scopes, LoadScopes[3+(rng.IntN(3)+1)%3])
			}
		case p < 95:
			grant = "authorization_code"
			if rng.IntN(3) == 0 {
				grant = "refresh_token"
			}
			ev.Subject = fmt.Sprintf("usr_%06d", rng.IntN(l.Users))
			ev.Scopes = []string{"openid", "profile", LoadScopes[3+rng.IntN(3)]}
			if rng.IntN(2) == 0 {
				ev.Scopes = append(ev.Scopes, "offline_access")
			}
		case p < 99:
			ev.Type = model.EventTokenRefused
		default:
			ev.Type, ev.ActorType, ev.ActorID = model.EventAppScopesChanged, model.ActorUser, fmt.Sprintf("usr_%06d", rng.IntN(l.Users))
			ev.Scopes = []string{LoadScopes[3+rng.IntN(3)]}
		}
		if rng.IntN(10_000) == 0 {
			ev.Scopes = append(ev.Scopes, LoadRareScope)
		}
		var details any
		switch ev.Type {
		case model.EventTokenIssued:
			results := make([]loadResult, len(ev.Scopes))
			for j, sc := range ev.Scopes {
				results[j] = loadResult{sc, true, "granted"}
			}
			exp := t.Add(time.Hour).Truncate(time.Second)
			var jti [16]byte
			for j := range jti {
				jti[j] = byte(rng.Uint32())
			}
			details = loadDetails{GrantType: grant, Requested: ev.Scopes, Granted: ev.Scopes, Results: results,
				JTI: base64.RawURLEncoding.EncodeToString(jti[:]), ExpiresAt: &exp, IDToken: ev.Subject != "", TokenSize: 440 + rng.IntN(60)}
		case model.EventTokenRefused:
			details = loadDetails{GrantType: grant, Requested: []string{"write:admin"}, Error: "invalid_scope",
				Reason: "the requested scope is not allowed for this client"}
		default:
			details = map[string]any{"added": ev.Scopes, "removed": []string{}, "via": "api"}
		}
		ev.Details, _ = json.Marshal(details)
		batch = append(batch, ev)
		if len(batch) == l.Batch || i == l.Events-1 {
			if err := s.Audit().Append(ctx, batch); err != nil {
				return fmt.Errorf("load audit events: %w", err)
			}
			batch = batch[:0]
		}
	}
	return nil
}
