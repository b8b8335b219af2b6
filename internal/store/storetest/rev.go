package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

var revTests = []test{
	{"every configuration write bumps the tenant's Rev; failed ones do not", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		must(t, s.Tenants().Create(ctx, newTenant("a")))
		must(t, s.Tenants().Create(ctx, newTenant("other")))
		steps := []struct {
			name string
			do   func(ctx context.Context) error
			fail bool // the write is refused and must not bump
		}{
			{"APIs.Create", func(ctx context.Context) error { return s.APIs().Create(ctx, newAPI("a", "bank")) }, false},
			{"APIs.Create duplicate", func(ctx context.Context) error { return s.APIs().Create(ctx, newAPI("a", "bank")) }, true},
			{"APIs.Update", func(ctx context.Context) error {
				a, err := s.APIs().Get(ctx, "a", "bank")
				if err != nil {
					return err
				}
				a.Name = "changed"
				_, err = s.APIs().Update(ctx, a)
				return err
			}, false},
			{"Scopes.Create", func(ctx context.Context) error { return s.Scopes().Create(ctx, newScope("a", "bank", "read")) }, false},
			{"Scopes.Create second", func(ctx context.Context) error { return s.Scopes().Create(ctx, newScope("a", "bank", "write", "read")) }, false},
			{"Scopes.Update", func(ctx context.Context) error {
				sc, err := s.Scopes().Get(ctx, "a", "read")
				if err != nil {
					return err
				}
				sc.Description = "changed"
				_, err = s.Scopes().Update(ctx, sc)
				return err
			}, false},
			{"Scopes.Update stale", func(ctx context.Context) error {
				sc := newScope("a", "bank", "read")
				sc.Version = 1
				_, err := s.Scopes().Update(ctx, sc)
				return err
			}, true},
			{"Applications.Create", func(ctx context.Context) error { return s.Applications().Create(ctx, newApp("a", "web", "read")) }, false},
			{"Applications.Update", func(ctx context.Context) error {
				a, err := s.Applications().Get(ctx, "a", "web")
				if err != nil {
					return err
				}
				a.AllowedScopes = append(a.AllowedScopes, "write")
				_, err = s.Applications().Update(ctx, a)
				return err
			}, false},
			{"Applications.AddSecret", func(ctx context.Context) error {
				return s.Applications().AddSecret(ctx, model.ClientSecret{TenantID: "a", ClientID: "web", ID: "s1", Hash: []byte{1}, CreatedAt: t0})
			}, false},
			{"Applications.ExpireSecrets", func(ctx context.Context) error {
				return s.Applications().ExpireSecrets(ctx, "a", "web", "", t0.Add(time.Hour), t0)
			}, false},
			{"Scopes.Rename", func(ctx context.Context) error { _, err := s.Scopes().Rename(ctx, "a", "read", "view", 0); return err }, false},
			{"Scopes.Rename onto a taken name", func(ctx context.Context) error { _, err := s.Scopes().Rename(ctx, "a", "view", "write", 0); return err }, true},
			{"Scopes.Delete", func(ctx context.Context) error { _, err := s.Scopes().Delete(ctx, "a", "view", 0); return err }, false},
			{"Scopes.Delete missing", func(ctx context.Context) error { _, err := s.Scopes().Delete(ctx, "a", "view", 0); return err }, true},
			{"Keys.Create", func(ctx context.Context) error { return s.Keys().Create(ctx, newKey("a", "k1", model.KeyNext, t0)) }, false},
			{"Keys.SetState", func(ctx context.Context) error { return s.Keys().SetState(ctx, "a", "k1", model.KeyCurrent) }, false},
			{"Keys.Delete", func(ctx context.Context) error { return s.Keys().Delete(ctx, "a", "k1") }, false},
			{"Applications.Delete", func(ctx context.Context) error { return s.Applications().Delete(ctx, "a", "web", 0) }, false},
			{"APIs.Delete while a scope names it", func(ctx context.Context) error { return s.APIs().Delete(ctx, "a", "bank", 0) }, true},
			{"Tenants.Update", func(ctx context.Context) error {
				tn, err := s.Tenants().Get(ctx, "a")
				if err != nil {
					return err
				}
				tn.Name = "changed"
				_, err = s.Tenants().Update(ctx, tn)
				return err
			}, false},
		}
		other := rev(t, s, "other")
		for _, st := range steps {
			before := rev(t, s, "a")
			err := st.do(ctx)
			after := rev(t, s, "a")
			switch {
			case st.fail && err == nil:
				t.Fatalf("%s: succeeded, want an error", st.name)
			case st.fail && after != before:
				t.Fatalf("%s failed (%v) but moved Rev %d → %d", st.name, err, before, after)
			case !st.fail && err != nil:
				t.Fatalf("%s: %v", st.name, err)
			case !st.fail && after <= before:
				t.Fatalf("%s did not bump Rev (%d → %d)", st.name, before, after)
			}
		}
		equal(t, "other tenant's Rev", rev(t, s, "other"), other)
	}},
	{"role writes bump Rev; user, group, assignment and flow writes do not", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1")
		must(t, s.Applications().Create(ctx, newApp("a", "web")))
		steps := []struct {
			name string
			do   func(ctx context.Context) error
			fail bool // the write is refused
			bump bool // a successful write moves Rev
		}{
			{"Roles.Create", func(ctx context.Context) error { return s.Roles().Create(ctx, newRole("a", "teller", "read")) }, false, true},
			{"Roles.Create duplicate", func(ctx context.Context) error { return s.Roles().Create(ctx, newRole("a", "teller")) }, true, false},
			{"Roles.Update", func(ctx context.Context) error {
				r, err := s.Roles().Get(ctx, "a", "teller")
				if err != nil {
					return err
				}
				r.Scopes = append(r.Scopes, "write")
				_, err = s.Roles().Update(ctx, r)
				return err
			}, false, true},
			{"Roles.Update stale", func(ctx context.Context) error {
				r := newRole("a", "teller")
				r.Version = 1
				_, err := s.Roles().Update(ctx, r)
				return err
			}, true, false},
			{"Roles.Assign", func(ctx context.Context) error { return s.Roles().Assign(ctx, "a", "usr_1", "teller") }, false, false},
			{"Groups.Create", func(ctx context.Context) error {
				return s.Groups().Create(ctx, model.Group{TenantID: "a", Name: "staff", Roles: []string{"teller"}})
			}, false, false},
			{"Groups.AddMember", func(ctx context.Context) error { return s.Groups().AddMember(ctx, "a", "staff", "usr_1") }, false, false},
			{"Users.Create", func(ctx context.Context) error { return s.Users().Create(ctx, newUser("a", "usr_2", "bob", "")) }, false, false},
			{"Users.SetPassword", func(ctx context.Context) error { return s.Users().SetPassword(ctx, "a", "usr_2", "x") }, false, false},
			{"Consents.Grant", func(ctx context.Context) error {
				_, err := s.Consents().Grant(ctx, "a", "usr_1", "web", []string{"read"})
				return err
			}, false, false},
			{"Sessions.Create", func(ctx context.Context) error { return s.Sessions().Create(ctx, newSession("a", "s", "usr_1", t0)) }, false, false},
			{"Codes.Create", func(ctx context.Context) error { return s.Codes().Create(ctx, newCode("a", "c", "web", "usr_1")) }, false, false},
			{"RefreshTokens.Create", func(ctx context.Context) error {
				return s.RefreshTokens().Create(ctx, newRefresh("a", "r", "f", "web", "usr_1"))
			}, false, false},
			{"Throttles.Fail", func(ctx context.Context) error {
				_, err := s.Throttles().Fail(ctx, "a", "k", t0, time.Minute, 3, time.Hour)
				return err
			}, false, false},
			{"Users.Delete", func(ctx context.Context) error { return s.Users().Delete(ctx, "a", "usr_2", 0) }, false, false},
			{"Roles.Create built-in", func(ctx context.Context) error {
				r := newRole("a", model.RoleAdmin)
				r.Builtin = true
				return s.Roles().Create(ctx, r)
			}, false, true},
			{"Roles.Delete built-in", func(ctx context.Context) error { return s.Roles().Delete(ctx, "a", model.RoleAdmin, 0) }, true, false},
			{"Roles.Delete", func(ctx context.Context) error { return s.Roles().Delete(ctx, "a", "teller", 0) }, false, true},
			{"Roles.Delete missing", func(ctx context.Context) error { return s.Roles().Delete(ctx, "a", "teller", 0) }, true, false},
		}
		for _, st := range steps {
			before := rev(t, s, "a")
			err := st.do(ctx)
			after := rev(t, s, "a")
			switch {
			case st.fail && err == nil:
				t.Fatalf("%s: succeeded, want an error", st.name)
			case !st.fail && err != nil:
				t.Fatalf("%s: %v", st.name, err)
			case st.bump && after <= before:
				t.Fatalf("%s did not bump Rev (%d → %d)", st.name, before, after)
			case !st.bump && after != before:
				t.Fatalf("%s moved Rev %d → %d", st.name, before, after)
			}
		}
	}},
}
