// Package sqlite owns the embedded SQLite backend: opening a database file
// with IntelliAuth's durability settings (WAL, synchronous=FULL, foreign
// keys, busy timeout, IMMEDIATE write transactions), the connection pools
// (one writer, concurrent readers), the SQLite error codes that mean a
// conflict, and the SQLite schema migrations in migrations/.
//
// Every query lives in internal/store/sqlstore, shared with PostgreSQL; this
// package adds none. It imports sqlstore, store and the pure-Go driver
// modernc.org/sqlite — never pgx, and nothing above the store layer.
package sqlite
