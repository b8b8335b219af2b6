//go:build tools

// Package tools pins modules the project adds in pieces, so go.mod keeps them.
package tools

import (
	_ "github.com/go-jose/go-jose/v4"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "golang.org/x/crypto/argon2"
	_ "golang.org/x/oauth2/clientcredentials"
	_ "modernc.org/sqlite"
)
