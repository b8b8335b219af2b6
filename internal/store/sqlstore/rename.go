package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// rewriteGrants replaces oldName by newName in the grants already made:
// the scopes of refresh tokens and authorization codes, and the requested
// and asked-for scopes of authorization requests (pending ones and those
// kept for a code). Without it a rename would silently take the scope out
// of every live grant: the refresh grant's ceiling (RFC 6749 §6: a refresh
// may narrow the scope, never widen it) would hold a name the registry no
// longer knows, and asking for the new name would be refused as widening.
//
// These lists are JSON arrays (or, for the requested scope, the
// space-separated parameter) in one column, which the two dialects query
// differently; so a LIKE on the name, which both share, picks the candidate
// rows and Go rewrites the exact entries, row by row, in the caller's
// transaction. A list that already holds newName just loses oldName.
func rewriteGrants(ctx context.Context, q querier, tenantID, oldName, newName string) error {
	jsonList := func(table, key, col string) error {
		quoted, err := json.Marshal(oldName) // the entry as encodeList writes it
		if err != nil {
			return err
		}
		return rewriteColumn(ctx, q, table, key, col, tenantID, string(quoted), func(v string) (string, error) {
			list, err := decodeList(v)
			if err != nil {
				return "", err
			}
			return encodeList(renameIn(list, oldName, newName))
		})
	}
	for _, c := range [][3]string{
		{"refresh_tokens", "hash", "scopes"},
		{"auth_codes", "hash", "scopes"},
		{"auth_requests", "id", "ask_scopes"},
	} {
		if err := jsonList(c[0], c[1], c[2]); err != nil {
			return fmt.Errorf("rewrite %s.%s: %w", c[0], c[2], err)
		}
	}
	// A grant of several APIs (RFC 8707) holds each API's scopes too.
	quoted, err := json.Marshal(oldName)
	if err != nil {
		return err
	}
	for _, table := range [][2]string{{"refresh_tokens", "hash"}, {"auth_codes", "hash"}} {
		err := rewriteColumn(ctx, q, table[0], table[1], "resources", tenantID, string(quoted), func(v string) (string, error) {
			rs, err := decodeResources(v)
			if err != nil {
				return "", err
			}
			for i := range rs {
				rs[i].Scopes = renameIn(rs[i].Scopes, oldName, newName)
			}
			return encodeResources(rs)
		})
		if err != nil {
			return fmt.Errorf("rewrite %s.resources: %w", table[0], err)
		}
	}
	// RFC 6749 §3.3: the scope parameter is a space-delimited list.
	err = rewriteColumn(ctx, q, "auth_requests", "id", "scope", tenantID, oldName, func(v string) (string, error) {
		return strings.Join(renameIn(strings.Split(v, " "), oldName, newName), " "), nil
	})
	if err != nil {
		return fmt.Errorf("rewrite auth_requests.scope: %w", err)
	}
	return nil
}

// rewriteColumn applies edit to col of every row of the tenant in table
// whose col contains needle, and writes back the rows it changed. The rows
// are read in full before the first write (PostgreSQL cannot interleave
// them on one connection).
func rewriteColumn(ctx context.Context, q querier, table, key, col, tenantID, needle string, edit func(string) (string, error)) error {
	type row struct{ key, val string }
	rows, err := q.QueryContext(ctx, `SELECT `+key+`, `+col+` FROM `+table+`
		WHERE tenant_id = $1 AND `+col+` LIKE $2 ESCAPE '\'`, tenantID, "%"+likeEscape(needle)+"%")
	found, err := collect(rows, err, func(s scanner) (row, error) {
		var r row
		err := s.Scan(&r.key, &r.val)
		return r, err
	})
	if err != nil {
		return err
	}
	for _, r := range found {
		v, err := edit(r.val)
		if err != nil {
			return err
		}
		if v == r.val {
			continue // the LIKE matched a longer name, or a case variant on SQLite
		}
		if _, err := q.ExecContext(ctx, `UPDATE `+table+` SET `+col+` = $3 WHERE tenant_id = $1 AND `+key+` = $2`,
			tenantID, r.key, v); err != nil {
			return err
		}
	}
	return nil
}

// renameIn returns list with every oldName replaced by newName, in place,
// keeping only the first newName when both were there.
func renameIn(list []string, oldName, newName string) []string {
	if !slices.Contains(list, oldName) {
		return list
	}
	out := make([]string, 0, len(list))
	for _, s := range list {
		if s == oldName {
			s = newName
		}
		if s != newName || !slices.Contains(out, newName) {
			out = append(out, s)
		}
	}
	return out
}

// likeEscape escapes the LIKE wildcards of s (and the escape character
// itself) for a pattern with ESCAPE '\'; scope names may hold % and _.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
