package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// builtInClientIDs are the first-party clients every installation has (DESIGN §4).
var builtInClientIDs = []string{
	"5v7PmPJL6FOGu6RB8I1Y4adLBhIwovQN",
	"8DEv1AMNXczW3y4U15LL3jYf62jK93n5",
	"qccWcbcRgHGP0Nivlm7T9B7lven0AnTW",
	"orch-cli",
}

func userTests() []test {
	return []test{
		{"Create", func(t *testing.T, s store.Store) {
			c := t.Context()
			o := mustOrg(t, s, "acme")
			p := store.UserCreateParams{OrgID: o.ID, Email: "Ann.Lee@Example.com", Name: "Ann Lee", PasswordHash: "$argon2id$v=19$x",
				OrgAdmin: true, BasicAuth: true}
			u, err := s.UserCreate(c, p)
			ok(t, err, "UserCreate")
			checkNew(t, "user", u.ID, u.Key, u.CreatedAt)
			same(t, "created", u, tenancy.User{ID: u.ID, Key: u.Key, OrgID: o.ID, Email: p.Email, Name: p.Name,
				PasswordHash: p.PasswordHash, OrgAdmin: true, BasicAuth: true, CreatedAt: u.CreatedAt})
			got, err := s.UserGet(c, o.ID, u.ID)
			ok(t, err, "UserGet")
			same(t, "UserGet", got, u)

			plain, err := s.UserCreate(c, store.UserCreateParams{OrgID: o.ID, Email: "bob@example.com"})
			ok(t, err, "UserCreate with only an email")
			same(t, "created", plain, tenancy.User{ID: plain.ID, Key: plain.Key, OrgID: o.ID, Email: "bob@example.com", CreatedAt: plain.CreatedAt})
		}},
		{"GetByEmail", func(t *testing.T, s store.Store) {
			c := t.Context()
			o := mustOrg(t, s, "acme")
			mustUser(t, s, o.ID, "first@example.com")
			u := mustUser(t, s, o.ID, "Ann@Example.com")
			for _, email := range []string{"Ann@Example.com", "ann@example.com", "ANN@EXAMPLE.COM"} {
				got, err := s.UserGetByEmail(c, o.ID, email)
				if err != nil {
					t.Errorf("UserGetByEmail(%q): %v", email, err)
					continue
				}
				same(t, "UserGetByEmail("+email+")", got, u)
			}
			_, err := s.UserGetByEmail(c, o.ID, "ann@example.co")
			wantNotFound(t, err, "UserGetByEmail of a missing email")
		}},
		{"List", func(t *testing.T, s store.Store) {
			o := mustOrg(t, s, "acme")
			other := mustOrg(t, s, "other")
			a := mustUser(t, s, o.ID, "zed@example.com")
			mustUser(t, s, other.ID, "zed@example.com")
			b := mustUser(t, s, o.ID, "amy@example.com")
			got, err := s.UserList(t.Context(), o.ID)
			ok(t, err, "UserList")
			sameList(t, "UserList", got, []tenancy.User{a, b})
		}},
		{"Update", func(t *testing.T, s store.Store) {
			c := t.Context()
			o := mustOrg(t, s, "acme")
			u := mustUser(t, s, o.ID, "ann@example.com")
			want := u
			want.Email, want.Name, want.PasswordHash, want.OrgAdmin, want.BasicAuth, want.Disabled =
				"ann.lee@example.com", "Ann Lee", "$argon2id$new", true, true, true
			got, err := s.UserUpdate(c, o.ID, u.ID, func(old tenancy.User) (tenancy.User, error) {
				same(t, "value handed to the update function", old, u)
				old.Email, old.Name, old.PasswordHash, old.OrgAdmin, old.BasicAuth, old.Disabled =
					"ann.lee@example.com", "Ann Lee", "$argon2id$new", true, true, true
				return old, nil
			})
			ok(t, err, "UserUpdate")
			same(t, "UserUpdate result", got, want)
			fresh, err := s.UserGet(c, o.ID, u.ID)
			ok(t, err, "UserGet")
			same(t, "UserGet after update", fresh, want)
			byEmail, err := s.UserGetByEmail(c, o.ID, "ann.lee@example.com")
			ok(t, err, "UserGetByEmail(new email)")
			same(t, "UserGetByEmail after update", byEmail, want)
			_, err = s.UserGetByEmail(c, o.ID, "ann@example.com")
			wantNotFound(t, err, "UserGetByEmail(old email)")
		}},
		{"UpdateFnError", func(t *testing.T, s store.Store) {
			c := t.Context()
			o := mustOrg(t, s, "acme")
			u := mustUser(t, s, o.ID, "ann@example.com")
			_, err := s.UserUpdate(c, o.ID, u.ID, func(old tenancy.User) (tenancy.User, error) {
				old.Disabled = true
				return old, errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Errorf("UserUpdate with a failing fn: err = %v, want the fn's error", err)
			}
			got, err := s.UserGet(c, o.ID, u.ID)
			ok(t, err, "UserGet")
			same(t, "user after a failed update", got, u)
		}},
		{"Delete", func(t *testing.T, s store.Store) {
			c := t.Context()
			o := mustOrg(t, s, "acme")
			u := mustUser(t, s, o.ID, "ann@example.com")
			keep := mustUser(t, s, o.ID, "keep@example.com")
			ok(t, s.UserDelete(c, o.ID, u.ID), "UserDelete")
			_, err := s.UserGet(c, o.ID, u.ID)
			wantNotFound(t, err, "UserGet after delete")
			_, err = s.UserGetByEmail(c, o.ID, "ann@example.com")
			wantNotFound(t, err, "UserGetByEmail after delete")
			wantNotFound(t, s.UserDelete(c, o.ID, u.ID), "UserDelete again")
			list, err := s.UserList(c, o.ID)
			ok(t, err, "UserList")
			sameList(t, "UserList after delete", list, []tenancy.User{keep})
		}},
		{"Conflict", func(t *testing.T, s store.Store) {
			c := t.Context()
			o := mustOrg(t, s, "acme")
			other := mustOrg(t, s, "other")
			mustUser(t, s, o.ID, "Ann@Example.com")
			_, err := s.UserCreate(c, store.UserCreateParams{OrgID: o.ID, Email: "ann@example.com"})
			wantConflict(t, err, "UserCreate of an email differing in case")
			_, err = s.UserCreate(c, store.UserCreateParams{OrgID: o.ID, Email: "Ann@Example.com"})
			wantConflict(t, err, "UserCreate of the same email")
			mustUser(t, s, other.ID, "ann@example.com") // same email, another organization
			bob := mustUser(t, s, o.ID, "bob@example.com")
			_, err = s.UserUpdate(c, o.ID, bob.ID, func(u tenancy.User) (tenancy.User, error) {
				u.Email = "ANN@example.com"
				return u, nil
			})
			wantConflict(t, err, "UserUpdate to a taken email")
			got, err := s.UserGet(c, o.ID, bob.ID)
			ok(t, err, "UserGet")
			same(t, "user after a conflicting update", got, bob)
		}},
	}
}

func appTests() []test {
	return []test{
		{"Create", func(t *testing.T, s store.Store) {
			c := t.Context()
			o := mustOrg(t, s, "acme")
			p := store.AppCreateParams{OrgID: o.ID, Name: "Reporting", ClientID: "c1f4a7e0-reporting", SecretHash: strings.Repeat("0f", 32),
				AppScopes:    []string{"OR.Queues.Read", "OR.Jobs", "OR.Folders.Read"},
				UserScopes:   []string{"openid", "OR.Execution"},
				RedirectURIs: []string{"https://reports.example.com/cb", "http://localhost:8080/cb"}}
			a, err := s.AppCreate(c, p)
			ok(t, err, "AppCreate")
			checkNew(t, "app", a.ID, a.Key, a.CreatedAt)
			want := tenancy.App{ID: a.ID, Key: a.Key, OrgID: o.ID, Name: p.Name, ClientID: p.ClientID, SecretHash: p.SecretHash,
				AppScopes: p.AppScopes, UserScopes: p.UserScopes, RedirectURIs: p.RedirectURIs, CreatedAt: a.CreatedAt}
			same(t, "created", a, want)
			got, err := s.AppGet(c, o.ID, a.ID)
			ok(t, err, "AppGet")
			same(t, "AppGet", got, want)

			public, err := s.AppCreate(c, store.AppCreateParams{OrgID: o.ID, Name: "SPA", ClientID: "spa-client"})
			ok(t, err, "AppCreate of a public app without scopes")
			if public.Confidential() || public.FirstParty || len(public.AppScopes)+len(public.UserScopes)+len(public.RedirectURIs) != 0 {
				t.Errorf("public app without scopes came back as %+v", public)
			}
		}},
		{"GetByClientID", func(t *testing.T, s store.Store) {
			c := t.Context()
			o := mustOrg(t, s, "acme")
			mustApp(t, s, o.ID, "first")
			a := mustApp(t, s, o.ID, "Second-Client")
			got, err := s.AppGetByClientID(c, "Second-Client")
			ok(t, err, "AppGetByClientID")
			same(t, "AppGetByClientID", got, a)
			_, err = s.AppGetByClientID(c, "Second-Clien")
			wantNotFound(t, err, "AppGetByClientID of a missing client id")
		}},
		{"List", func(t *testing.T, s store.Store) {
			o := mustOrg(t, s, "acme")
			other := mustOrg(t, s, "other")
			a := mustApp(t, s, o.ID, "zeta")
			mustApp(t, s, other.ID, "theirs")
			b := mustApp(t, s, o.ID, "alpha")
			got, err := s.AppList(t.Context(), o.ID)
			ok(t, err, "AppList")
			sameList(t, "AppList", got, []tenancy.App{a, b})
		}},
		{"Update", func(t *testing.T, s store.Store) {
			c := t.Context()
			o := mustOrg(t, s, "acme")
			a := mustApp(t, s, o.ID, "client")
			want := a
			want.Name, want.SecretHash = "Renamed", strings.Repeat("99", 32)
			want.AppScopes = []string{"OR.Robots.Read", "OR.Queues"}
			want.UserScopes = []string{"OR.Jobs"}
			want.RedirectURIs = []string{"https://a.example/cb", "https://b.example/cb", "https://c.example/cb"}
			got, err := s.AppUpdate(c, o.ID, a.ID, func(old tenancy.App) (tenancy.App, error) {
				same(t, "value handed to the update function", old, a)
				old.Name, old.SecretHash = want.Name, want.SecretHash
				old.AppScopes = slices.Clone(want.AppScopes)
				old.UserScopes = slices.Clone(want.UserScopes)
				old.RedirectURIs = slices.Clone(want.RedirectURIs)
				return old, nil
			})
			ok(t, err, "AppUpdate")
			same(t, "AppUpdate result", got, want)
			fresh, err := s.AppGet(c, o.ID, a.ID)
			ok(t, err, "AppGet")
			same(t, "AppGet after update", fresh, want)

			// Slices can shrink to nothing.
			want.AppScopes, want.RedirectURIs = nil, nil
			_, err = s.AppUpdate(c, o.ID, a.ID, func(old tenancy.App) (tenancy.App, error) {
				old.AppScopes, old.RedirectURIs = nil, nil
				return old, nil
			})
			ok(t, err, "AppUpdate emptying slices")
			fresh, err = s.AppGetByClientID(c, "client")
			ok(t, err, "AppGetByClientID")
			same(t, "AppGetByClientID after emptying slices", fresh, want)
		}},
		{"UpdateFnError", func(t *testing.T, s store.Store) {
			c := t.Context()
			o := mustOrg(t, s, "acme")
			a := mustApp(t, s, o.ID, "client")
			_, err := s.AppUpdate(c, o.ID, a.ID, func(old tenancy.App) (tenancy.App, error) {
				old.AppScopes = append(old.AppScopes, "OR.Everything")
				return old, errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Errorf("AppUpdate with a failing fn: err = %v, want the fn's error", err)
			}
			got, err := s.AppGet(c, o.ID, a.ID)
			ok(t, err, "AppGet")
			same(t, "app after a failed update", got, a)
		}},
		{"Delete", func(t *testing.T, s store.Store) {
			c := t.Context()
			o := mustOrg(t, s, "acme")
			a := mustApp(t, s, o.ID, "client")
			keep := mustApp(t, s, o.ID, "keep")
			ok(t, s.AppDelete(c, o.ID, a.ID), "AppDelete")
			_, err := s.AppGet(c, o.ID, a.ID)
			wantNotFound(t, err, "AppGet after delete")
			_, err = s.AppGetByClientID(c, "client")
			wantNotFound(t, err, "AppGetByClientID after delete")
			wantNotFound(t, s.AppDelete(c, o.ID, a.ID), "AppDelete again")
			list, err := s.AppList(c, o.ID)
			ok(t, err, "AppList")
			sameList(t, "AppList after delete", list, []tenancy.App{keep})
		}},
		{"Conflict", func(t *testing.T, s store.Store) {
			c := t.Context()
			o := mustOrg(t, s, "acme")
			other := mustOrg(t, s, "other")
			mustApp(t, s, o.ID, "shared-client")
			_, err := s.AppCreate(c, store.AppCreateParams{OrgID: o.ID, Name: "again", ClientID: "shared-client"})
			wantConflict(t, err, "AppCreate of a client id taken in the same organization")
			_, err = s.AppCreate(c, store.AppCreateParams{OrgID: other.ID, Name: "again", ClientID: "shared-client"})
			wantConflict(t, err, "AppCreate of a client id taken in another organization")
			for _, id := range builtInClientIDs {
				_, err = s.AppCreate(c, store.AppCreateParams{OrgID: o.ID, Name: "impostor", ClientID: id})
				wantConflict(t, err, "AppCreate of the built-in client id "+id)
			}
			list, err := s.AppList(c, other.ID)
			ok(t, err, "AppList")
			if len(list) != 0 {
				t.Errorf("AppList after refused creates: %+v", list)
			}
		}},
		{"BuiltIn", func(t *testing.T, s store.Store) {
			c := t.Context()
			o := mustOrg(t, s, "acme")
			mustApp(t, s, o.ID, "mine")
			byID := map[int64]tenancy.App{}
			for _, id := range builtInClientIDs {
				a, err := s.AppGetByClientID(c, id)
				if err != nil {
					t.Errorf("AppGetByClientID(%q): %v", id, err)
					continue
				}
				if a.ID <= 0 || a.OrgID != 0 || !a.FirstParty || a.SecretHash != "" || a.Confidential() || a.ClientID != id {
					t.Errorf("built-in client %q: ID %d, OrgID %d, FirstParty %v, SecretHash %q; want ID > 0, OrgID 0, FirstParty, public",
						id, a.ID, a.OrgID, a.FirstParty, a.SecretHash)
				}
				byID[a.ID] = a
			}
			list, err := s.AppList(c, 0)
			ok(t, err, "AppList(0)")
			checkAscending(t, "AppList(0)", ids(list, func(a tenancy.App) int64 { return a.ID }))
			listed := map[int64]bool{}
			for _, a := range list {
				listed[a.ID] = true
				if a.OrgID != 0 || !a.FirstParty {
					t.Errorf("AppList(0) lists %q with OrgID %d, FirstParty %v; want only built-in first-party clients", a.ClientID, a.OrgID, a.FirstParty)
				}
				if want, ok := byID[a.ID]; ok {
					same(t, "AppList(0) entry", a, want)
				}
			}
			for id, a := range byID {
				if !listed[id] {
					t.Errorf("AppList(0) misses the built-in client %q", a.ClientID)
				}
			}
			mine, err := s.AppList(c, o.ID)
			ok(t, err, "AppList(org)")
			for _, a := range mine {
				if a.OrgID != o.ID || a.FirstParty {
					t.Errorf("AppList(org) lists %+v, which is not the organization's", a)
				}
			}
			if len(mine) != 1 {
				t.Errorf("AppList(org): %d apps, want 1", len(mine))
			}
		}},
	}
}

func machineTests() []test {
	return []test{
		{"Create", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			p := store.MachineCreateParams{TenantID: e.tenant.ID, Name: "Build-01", ClientID: "m-build-01", SecretHash: strings.Repeat("1e", 32), Slots: 3}
			m, err := s.MachineCreate(c, p)
			ok(t, err, "MachineCreate")
			checkNew(t, "machine", m.ID, m.Key, m.CreatedAt)
			same(t, "created", m, tenancy.Machine{ID: m.ID, Key: m.Key, TenantID: e.tenant.ID, Name: p.Name, ClientID: p.ClientID,
				SecretHash: p.SecretHash, Slots: 3, CreatedAt: m.CreatedAt})
			got, err := s.MachineGet(c, e.tenant.ID, m.ID)
			ok(t, err, "MachineGet")
			same(t, "MachineGet", got, m)
		}},
		{"GetByNameAndClientID", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			mustMachine(t, s, e.tenant.ID, "First", "m-first")
			m := mustMachine(t, s, e.tenant.ID, "Build-01", "m-build-01")
			got, err := s.MachineGetByName(c, e.tenant.ID, "Build-01")
			ok(t, err, "MachineGetByName")
			same(t, "MachineGetByName", got, m)
			got, err = s.MachineGetByClientID(c, "m-build-01")
			ok(t, err, "MachineGetByClientID")
			same(t, "MachineGetByClientID", got, m)
			_, err = s.MachineGetByName(c, e.tenant.ID, "Build-0")
			wantNotFound(t, err, "MachineGetByName of a missing name")
			_, err = s.MachineGetByClientID(c, "m-build-0")
			wantNotFound(t, err, "MachineGetByClientID of a missing client id")
		}},
		{"List", func(t *testing.T, s store.Store) {
			e := mustEnv(t, s, "acme")
			other := mustTenant(t, s, e.org.ID, "Other")
			a := mustMachine(t, s, e.tenant.ID, "zeta", "m1")
			mustMachine(t, s, other.ID, "zeta", "m2")
			b := mustMachine(t, s, e.tenant.ID, "alpha", "m3")
			got, err := s.MachineList(t.Context(), e.tenant.ID)
			ok(t, err, "MachineList")
			sameList(t, "MachineList", got, []tenancy.Machine{a, b})
		}},
		{"Update", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			m := mustMachine(t, s, e.tenant.ID, "Build-01", "m1")
			want := m
			want.Name, want.SecretHash, want.Slots = "Build-02", strings.Repeat("77", 32), 8
			got, err := s.MachineUpdate(c, e.tenant.ID, m.ID, func(old tenancy.Machine) (tenancy.Machine, error) {
				same(t, "value handed to the update function", old, m)
				old.Name, old.SecretHash, old.Slots = want.Name, want.SecretHash, want.Slots
				return old, nil
			})
			ok(t, err, "MachineUpdate")
			same(t, "MachineUpdate result", got, want)
			fresh, err := s.MachineGet(c, e.tenant.ID, m.ID)
			ok(t, err, "MachineGet")
			same(t, "MachineGet after update", fresh, want)
			byName, err := s.MachineGetByName(c, e.tenant.ID, "Build-02")
			ok(t, err, "MachineGetByName(new name)")
			same(t, "MachineGetByName after update", byName, want)
			_, err = s.MachineGetByName(c, e.tenant.ID, "Build-01")
			wantNotFound(t, err, "MachineGetByName(old name)")
		}},
		{"UpdateFnError", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			m := mustMachine(t, s, e.tenant.ID, "Build-01", "m1")
			_, err := s.MachineUpdate(c, e.tenant.ID, m.ID, func(old tenancy.Machine) (tenancy.Machine, error) {
				old.Slots = 99
				return old, errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Errorf("MachineUpdate with a failing fn: err = %v, want the fn's error", err)
			}
			got, err := s.MachineGet(c, e.tenant.ID, m.ID)
			ok(t, err, "MachineGet")
			same(t, "machine after a failed update", got, m)
		}},
		{"Delete", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			m := mustMachine(t, s, e.tenant.ID, "Build-01", "m1")
			keep := mustMachine(t, s, e.tenant.ID, "Keep", "m2")
			ok(t, s.MachineDelete(c, e.tenant.ID, m.ID), "MachineDelete")
			_, err := s.MachineGet(c, e.tenant.ID, m.ID)
			wantNotFound(t, err, "MachineGet after delete")
			_, err = s.MachineGetByName(c, e.tenant.ID, "Build-01")
			wantNotFound(t, err, "MachineGetByName after delete")
			_, err = s.MachineGetByClientID(c, "m1")
			wantNotFound(t, err, "MachineGetByClientID after delete")
			wantNotFound(t, s.MachineDelete(c, e.tenant.ID, m.ID), "MachineDelete again")
			list, err := s.MachineList(c, e.tenant.ID)
			ok(t, err, "MachineList")
			sameList(t, "MachineList after delete", list, []tenancy.Machine{keep})
		}},
		{"Conflict", func(t *testing.T, s store.Store) {
			c := t.Context()
			a := mustEnv(t, s, "a")
			b := mustEnv(t, s, "b")
			mustMachine(t, s, a.tenant.ID, "Build-01", "m-shared")
			_, err := s.MachineCreate(c, store.MachineCreateParams{TenantID: a.tenant.ID, Name: "Build-02", ClientID: "m-shared", Slots: 1})
			wantConflict(t, err, "MachineCreate of a client id taken in the same tenant")
			_, err = s.MachineCreate(c, store.MachineCreateParams{TenantID: b.tenant.ID, Name: "Build-02", ClientID: "m-shared", Slots: 1})
			wantConflict(t, err, "MachineCreate of a client id taken in another organization's tenant")
			_, err = s.MachineCreate(c, store.MachineCreateParams{TenantID: a.tenant.ID, Name: "Build-01", ClientID: "m-other", Slots: 1})
			wantConflict(t, err, "MachineCreate of a name taken in the tenant")
			_, err = s.MachineCreate(c, store.MachineCreateParams{TenantID: a.tenant.ID, Name: "build-01", ClientID: "m-other", Slots: 1})
			wantConflict(t, err, "MachineCreate of a name differing in case")
			mustMachine(t, s, b.tenant.ID, "Build-01", "m-b") // same name, another tenant
			m2 := mustMachine(t, s, a.tenant.ID, "Build-02", "m-a2")
			_, err = s.MachineUpdate(c, a.tenant.ID, m2.ID, func(m tenancy.Machine) (tenancy.Machine, error) {
				m.Name = "Build-01"
				return m, nil
			})
			wantConflict(t, err, "MachineUpdate to a taken name")
			got, err := s.MachineGet(c, a.tenant.ID, m2.ID)
			ok(t, err, "MachineGet")
			same(t, "machine after a conflicting update", got, m2)
		}},
	}
}
