// Package password owns end-user password hashing: argon2id (RFC 9106) in
// the PHC string format, constant-time verification, the rehash decision
// when parameters change, and the password policy (length and encoding).
//
// The default parameters are m=64 MiB, t=1, p=1: stronger than the OWASP
// Password Storage Cheat Sheet's argon2id floor (m=19 MiB, t=2, p=1, or the
// equivalent m=46 MiB, t=1, p=1), and measured at about 44 ms per hash on the
// 2-core development machine, so a sign-in stays well under 100 ms (see
// BenchmarkHash). Each hash holds 64 MiB while it runs; callers that hash on
// behalf of the network (internal/login) bound how many run at once.
//
// Verify reads the parameters from the stored string, so they can be raised
// later: NeedsRehash tells the caller when a stored hash is weaker than the
// current parameters, and the caller rehashes on the next successful
// sign-in. Parameters read from a string are bounded (MaxMemoryKiB, MaxTime,
// MaxThreads), so a planted hash cannot make a verification allocate
// gigabytes.
//
// It imports only the standard library and golang.org/x/crypto/argon2, and
// holds no state.
package password
