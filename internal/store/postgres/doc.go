// Package postgres owns the PostgreSQL backend: opening a pool through pgx's
// database/sql driver, the PostgreSQL error codes that mean a conflict, the
// advisory lock that lets many nodes start at once against one database, and
// the PostgreSQL schema migrations in migrations/.
//
// Every query lives in internal/store/sqlstore, shared with SQLite; this
// package adds none. It imports sqlstore, store and pgx — never the SQLite
// driver, and nothing above the store layer.
package postgres
