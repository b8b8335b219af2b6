package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

type users struct{ repos }

const userCols = `u.tenant_id, u.id, u.username, u.email, u.email_verified, u.name, u.given_name, u.family_name,
	u.picture, u.locale, u.address, u.phone_number, u.phone_number_verified, u.password_hash, u.status,
	u.created_at, u.updated_at, u.version`

func scanUser(s scanner, extra ...any) (model.User, error) {
	var (
		u       model.User
		address string
		c, up   int64
	)
	dest := append([]any{&u.TenantID, &u.ID, &u.Username, &u.Email, &u.EmailVerified, &u.Name, &u.GivenName, &u.FamilyName,
		&u.Picture, &u.Locale, &address, &u.PhoneNumber, &u.PhoneNumberVerified, &u.PasswordHash, &u.Status,
		&c, &up, &u.Version}, extra...)
	if err := s.Scan(dest...); err != nil {
		return model.User{}, err
	}
	var err error
	if u.Address, err = decodeAddress(address); err != nil {
		return model.User{}, err
	}
	u.CreatedAt, u.UpdatedAt = fromMicros(c), fromMicros(up)
	return u, nil
}

// encodeAddress stores the address claim as a JSON object; the empty
// address is "{}".
func encodeAddress(a model.Address) (string, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return "", fmt.Errorf("sqlstore: encode address: %w", err)
	}
	return string(b), nil
}

func decodeAddress(s string) (model.Address, error) {
	var a model.Address
	if s == "" || s == "{}" {
		return a, nil
	}
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		return model.Address{}, fmt.Errorf("sqlstore: decode address: %w", err)
	}
	return a, nil
}

// Create stores a new user with Version 1; ErrConflict if the ID, the
// username or the (non-empty) email is taken in the tenant, the last two
// compared without regard to ASCII case; ErrNotFound if the tenant does not
// exist. Whether the user is valid (model.User.Validate) is the caller's
// check.
func (r users) Create(ctx context.Context, u model.User) error {
	address, err := encodeAddress(u.Address)
	if err != nil {
		return err
	}
	c, up := stamps(u.CreatedAt, u.UpdatedAt, r.db.now())
	_, err = r.exec1(ctx, `INSERT INTO users
		(tenant_id, id, username, email, email_verified, name, given_name, family_name, picture, locale, address,
		 phone_number, phone_number_verified, password_hash, status, created_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 1)`,
		u.TenantID, u.ID, u.Username, u.Email, u.EmailVerified, u.Name, u.GivenName, u.FamilyName, u.Picture, u.Locale, address,
		u.PhoneNumber, u.PhoneNumberVerified, u.PasswordHash, u.Status, c, up)
	if err != nil {
		return fmt.Errorf("sqlstore: create user %s/%s: %w", u.TenantID, u.ID, r.onInsert(err))
	}
	return nil
}

func (r users) Get(ctx context.Context, tenantID, id string) (model.User, error) {
	return r.get(ctx, r.read(), tenantID, id)
}

func (r users) get(ctx context.Context, q querier, tenantID, id string) (model.User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u WHERE u.tenant_id = $1 AND u.id = $2`, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return model.User{}, fmt.Errorf("sqlstore: user %s/%s: %w", tenantID, id, store.ErrNotFound)
	}
	if err != nil {
		return model.User{}, fmt.Errorf("sqlstore: get user %s/%s: %w", tenantID, id, err)
	}
	return u, nil
}

// GetByLogin finds the user whose username or email is login, without
// regard to ASCII case. Should login be one user's username and another's
// email (usernames may hold '@'), the username wins.
func (r users) GetByLogin(ctx context.Context, tenantID, login string) (model.User, error) {
	var pref int
	u, err := scanUser(r.read().QueryRowContext(ctx, `SELECT `+userCols+`, 0 AS pref FROM users u
		WHERE u.tenant_id = $1 AND lower(u.username) = lower($2)
		UNION ALL
		SELECT `+userCols+`, 1 AS pref FROM users u
		WHERE u.tenant_id = $1 AND u.email <> '' AND lower(u.email) = lower($2)
		ORDER BY pref LIMIT 1`, tenantID, login), &pref)
	if errors.Is(err, sql.ErrNoRows) {
		return model.User{}, fmt.Errorf("sqlstore: user %s with login %q: %w", tenantID, login, store.ErrNotFound)
	}
	if err != nil {
		return model.User{}, fmt.Errorf("sqlstore: get user %s by login %q: %w", tenantID, login, err)
	}
	return u, nil
}

// likePrefix turns s into a LIKE pattern matching the strings that start
// with s, with '\' as the escape character.
func likePrefix(s string) string {
	return likeEscape(s) + "%"
}

// List returns one page of users ordered by username (byte order) and the
// total matching count, read in one statement. Search matches a prefix of
// the username, the email or the name, without regard to ASCII case; '%'
// and '_' in it are literal.
func (r users) List(ctx context.Context, tenantID string, uq store.UserQuery) ([]model.User, int, error) {
	var c conds
	c.add("u.tenant_id = $%d", tenantID)
	if uq.Search != "" {
		c.add(`(lower(u.username) LIKE lower($%[1]d) ESCAPE '\' OR lower(u.email) LIKE lower($%[1]d) ESCAPE '\'
			OR lower(u.name) LIKE lower($%[1]d) ESCAPE '\')`, likePrefix(uq.Search))
	}
	if uq.Status != "" {
		c.add("u.status = $%d", uq.Status)
	}
	limit, offset := window(uq.Page)
	where := c.where()
	query := `SELECT ` + userCols + `, COUNT(*) OVER () FROM users u` + where +
		` ORDER BY u.username LIMIT ` + c.next(limit) + ` OFFSET ` + c.next(offset)
	var total int
	rows, err := r.read().QueryContext(ctx, query, c.args...)
	out, err := collect(rows, err, func(s scanner) (model.User, error) { return scanUser(s, &total) })
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: list users of %s: %w", tenantID, err)
	}
	if len(out) == 0 && offset > 0 {
		// Past the last page the window function has no row to ride on.
		if err := r.read().QueryRowContext(ctx, `SELECT COUNT(*) FROM users u`+where, c.args[:len(c.parts)]...).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("sqlstore: count users of %s: %w", tenantID, err)
		}
	}
	return out, total, nil
}

// Update replaces every field but TenantID, ID, CreatedAt and PasswordHash
// when u.Version matches, bumps Version and sets UpdatedAt to now (the OIDC
// updated_at claim).
func (r users) Update(ctx context.Context, u model.User) (model.User, error) {
	address, err := encodeAddress(u.Address)
	if err != nil {
		return model.User{}, err
	}
	var out model.User
	err = r.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE users
			SET username = $4, email = $5, email_verified = $6, name = $7, given_name = $8, family_name = $9,
			    picture = $10, locale = $11, address = $12, phone_number = $13, phone_number_verified = $14,
			    status = $15, updated_at = $16, version = version + 1
			WHERE tenant_id = $1 AND id = $2 AND version = $3`,
			u.TenantID, u.ID, u.Version, u.Username, u.Email, u.EmailVerified, u.Name, u.GivenName, u.FamilyName,
			u.Picture, u.Locale, address, u.PhoneNumber, u.PhoneNumberVerified, u.Status, micros(r.db.now()))
		if err != nil {
			return r.onInsert(err)
		}
		if n, err := rowsAffected(res); err != nil {
			return err
		} else if n == 0 {
			return missReason(ctx, q, "users", "id", u.TenantID, u.ID, u.Version)
		}
		out, err = r.get(ctx, q, u.TenantID, u.ID)
		return err
	})
	if err != nil {
		return model.User{}, fmt.Errorf("sqlstore: update user %s/%s: %w", u.TenantID, u.ID, err)
	}
	return out, nil
}

// SetPassword replaces the password hash whatever the Version, bumps
// Version (so an editor holding the old one fails instead of racing a
// password change) and sets UpdatedAt to now.
func (r users) SetPassword(ctx context.Context, tenantID, id, hash string) error {
	res, err := r.exec1(ctx, `UPDATE users SET password_hash = $3, updated_at = $4, version = version + 1
		WHERE tenant_id = $1 AND id = $2`, tenantID, id, hash, micros(r.db.now()))
	if err == nil {
		err = affected1(res)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: set password of user %s/%s: %w", tenantID, id, err)
	}
	return nil
}

// Delete removes the user; ON DELETE CASCADE removes, in the same
// statement, their role assignments, group memberships, consents, sessions,
// pending authorization requests, codes and refresh tokens.
func (r users) Delete(ctx context.Context, tenantID, id string, version int64) error {
	// A write rather than exec1: on a version miss, the lookup that tells
	// ErrNotFound from ErrPrecondition runs in the same transaction.
	err := r.write(ctx, func(q querier) error {
		return r.deleteRow(ctx, q, "users", "id", tenantID, id, version)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: delete user %s/%s: %w", tenantID, id, err)
	}
	return nil
}

// affected1 turns a write that matched no row into store.ErrNotFound.
func affected1(res sql.Result) error {
	n, err := rowsAffected(res)
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// exists returns store.ErrNotFound unless query (a SELECT 1 …) finds a row.
func exists(ctx context.Context, q querier, query string, args ...any) error {
	var one int
	err := q.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

func userExists(ctx context.Context, q querier, tenantID, id string) error {
	if err := exists(ctx, q, `SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2`, tenantID, id); err != nil {
		return fmt.Errorf("user %s/%s: %w", tenantID, id, err)
	}
	return nil
}
