package admin

import (
	"runtime"
	"strings"
	"testing"
)

// allocated returns the bytes f allocated on the heap (the whole process's
// TotalAlloc delta; this test is not parallel, so parallel tests are paused
// while it runs).
func allocated(t *testing.T, f func()) uint64 {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestSeedDemoMemory holds serve --demo's peak RSS (issue 13): argon2id holds
// its whole memory cost while it runs, and seeding two users with the
// default 64 MiB parameters allocated 128 MiB (peak RSS 165–360 MB). The
// demo's generated 80-bit passwords are hashed with password.Generated
// (19 MiB), and a restart with demo.json recognises the recorded hash
// without running argon2id.
func TestSeedDemoMemory(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	actor := System("demo")
	const mib = 1 << 20
	var d1 Demo
	var err error
	fresh := allocated(t, func() { d1, err = f.svc.SeedDemo(ctx, actor, "http://localhost:8080", nil) })
	if err != nil {
		t.Fatal(err)
	}
	// Two users at 19 MiB is 38 MiB; one Default hash alone is 64 MiB.
	if fresh > 60*mib {
		t.Errorf("first demo seeding allocated %d MiB, want < 60 MiB (one 64 MiB argon2id hash per user would be 128)", fresh/mib)
	}
	for _, u := range d1.Users {
		if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Errorf("%s's hash %.40q…, want password.Generated's parameters", u.Username, u.PasswordHash)
		}
		stored, err := f.svc.GetUser(ctx, actor, DemoTenantID, u.Username)
		if err != nil || stored.User.PasswordHash != u.PasswordHash {
			t.Errorf("%s: demo.json's hash is not the stored one (%v)", u.Username, err)
		}
	}
	checkDemoPeople(t, f, d1) // the printed passwords sign in

	var d2 Demo
	restart := allocated(t, func() { d2, err = f.svc.SeedDemo(ctx, actor, "http://localhost:8080", &d1) })
	if err != nil {
		t.Fatal(err)
	}
	if restart > 8*mib {
		t.Errorf("a restart with demo.json allocated %d MiB, want < 8 MiB (no argon2id run)", restart/mib)
	}
	if d2.Users[0].Password != d1.Users[0].Password || d2.Users[0].PasswordHash != d1.Users[0].PasswordHash {
		t.Errorf("restart changed alice's login: %+v → %+v", d1.Users[0], d2.Users[0])
	}
}
