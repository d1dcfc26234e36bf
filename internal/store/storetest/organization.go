package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

func organizationTests() []test {
	return []test{
		{"Create", func(t *testing.T, s store.Store) {
			c := t.Context()
			o, err := s.OrganizationCreate(c, store.OrganizationCreateParams{Name: "Acme", DisplayName: "Acme Corp."})
			ok(t, err, "OrganizationCreate")
			checkNew(t, "organization", o.ID, o.Key, o.CreatedAt)
			same(t, "created", o, tenancy.Organization{ID: o.ID, Key: o.Key, Name: "Acme", DisplayName: "Acme Corp.", CreatedAt: o.CreatedAt})
			got, err := s.OrganizationGet(c, o.ID)
			ok(t, err, "OrganizationGet")
			same(t, "OrganizationGet", got, o)
			o2 := mustOrg(t, s, "globex")
			if o2.ID == o.ID || o2.Key == o.Key {
				t.Errorf("two organizations share an id or a key: %+v, %+v", o, o2)
			}
		}},
		{"GetByName", func(t *testing.T, s store.Store) {
			c := t.Context()
			mustOrg(t, s, "first")
			o := mustOrg(t, s, "Acme")
			mustOrg(t, s, "last")
			for _, name := range []string{"Acme", "acme", "ACME", "aCmE", o.Key} {
				got, err := s.OrganizationGetByName(c, name)
				if err != nil {
					t.Errorf("OrganizationGetByName(%q): %v", name, err)
					continue
				}
				same(t, "OrganizationGetByName("+name+")", got, o)
			}
			_, err := s.OrganizationGetByName(c, "Acm")
			wantNotFound(t, err, "OrganizationGetByName of a prefix")
		}},
		{"List", func(t *testing.T, s store.Store) {
			want := []tenancy.Organization{mustOrg(t, s, "zeta"), mustOrg(t, s, "alpha"), mustOrg(t, s, "mid")}
			got, err := s.OrganizationList(t.Context())
			ok(t, err, "OrganizationList")
			sameList(t, "OrganizationList", got, want)
		}},
		{"Update", func(t *testing.T, s store.Store) {
			c := t.Context()
			o := mustOrg(t, s, "acme")
			want := o
			want.Name, want.DisplayName = "acme2", "Acme Two"
			got, err := s.OrganizationUpdate(c, o.ID, func(old tenancy.Organization) (tenancy.Organization, error) {
				same(t, "value handed to the update function", old, o)
				old.Name, old.DisplayName = "acme2", "Acme Two"
				return old, nil
			})
			ok(t, err, "OrganizationUpdate")
			same(t, "OrganizationUpdate result", got, want)
			fresh, err := s.OrganizationGet(c, o.ID)
			ok(t, err, "OrganizationGet")
			same(t, "OrganizationGet after update", fresh, want)
			byName, err := s.OrganizationGetByName(c, "ACME2")
			ok(t, err, "OrganizationGetByName(new name)")
			same(t, "OrganizationGetByName after update", byName, want)
			_, err = s.OrganizationGetByName(c, "acme")
			wantNotFound(t, err, "OrganizationGetByName(old name)")
		}},
		{"UpdateFnError", func(t *testing.T, s store.Store) {
			c := t.Context()
			o := mustOrg(t, s, "acme")
			_, err := s.OrganizationUpdate(c, o.ID, func(old tenancy.Organization) (tenancy.Organization, error) {
				old.DisplayName = "changed"
				return old, errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Errorf("OrganizationUpdate with a failing fn: err = %v, want the fn's error", err)
			}
			got, err := s.OrganizationGet(c, o.ID)
			ok(t, err, "OrganizationGet")
			same(t, "organization after a failed update", got, o)
		}},
		{"Delete", func(t *testing.T, s store.Store) {
			c := t.Context()
			o := mustOrg(t, s, "acme")
			keep := mustOrg(t, s, "keep")
			ok(t, s.OrganizationDelete(c, o.ID), "OrganizationDelete")
			_, err := s.OrganizationGet(c, o.ID)
			wantNotFound(t, err, "OrganizationGet after delete")
			_, err = s.OrganizationGetByName(c, "acme")
			wantNotFound(t, err, "OrganizationGetByName after delete")
			wantNotFound(t, s.OrganizationDelete(c, o.ID), "OrganizationDelete again")
			list, err := s.OrganizationList(c)
			ok(t, err, "OrganizationList")
			sameList(t, "OrganizationList after delete", list, []tenancy.Organization{keep})
			// The name is free again.
			mustOrg(t, s, "acme")
		}},
		{"Conflict", func(t *testing.T, s store.Store) {
			c := t.Context()
			mustOrg(t, s, "Acme")
			_, err := s.OrganizationCreate(c, store.OrganizationCreateParams{Name: "acme"})
			wantConflict(t, err, `OrganizationCreate("acme") after "Acme"`)
			_, err = s.OrganizationCreate(c, store.OrganizationCreateParams{Name: "Acme"})
			wantConflict(t, err, `OrganizationCreate("Acme") twice`)
			b := mustOrg(t, s, "beta")
			_, err = s.OrganizationUpdate(c, b.ID, func(o tenancy.Organization) (tenancy.Organization, error) {
				o.Name = "ACME"
				return o, nil
			})
			wantConflict(t, err, "OrganizationUpdate to a taken name")
			got, err := s.OrganizationGet(c, b.ID)
			ok(t, err, "OrganizationGet")
			same(t, "organization after a conflicting update", got, b)
			list, err := s.OrganizationList(c)
			ok(t, err, "OrganizationList")
			if len(list) != 2 {
				t.Errorf("OrganizationList: %d organizations, want 2: %+v", len(list), list)
			}
		}},
	}
}

func tenantTests() []test {
	until := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	return []test{
		{"Create", func(t *testing.T, s store.Store) {
			c := t.Context()
			o := mustOrg(t, s, "acme")
			tn, err := s.TenantCreate(c, store.TenantCreateParams{OrgID: o.ID, Name: "Prod", DisplayName: "Production",
				LegacyBasicAuth: true, LegacyBasicAuthUntil: &until})
			ok(t, err, "TenantCreate")
			checkNew(t, "tenant", tn.ID, tn.Key, tn.CreatedAt)
			same(t, "created", tn, tenancy.Tenant{ID: tn.ID, Key: tn.Key, OrgID: o.ID, Name: "Prod", DisplayName: "Production",
				LegacyBasicAuth: true, LegacyBasicAuthUntil: &until, CreatedAt: tn.CreatedAt})
			if tn.LegacyBasicAuthUntil == nil || !tn.LegacyBasicAuthUntil.Equal(until) {
				t.Errorf("LegacyBasicAuthUntil = %v, want %v", tn.LegacyBasicAuthUntil, until)
			}
			got, err := s.TenantGet(c, o.ID, tn.ID)
			ok(t, err, "TenantGet")
			same(t, "TenantGet", got, tn)

			plain, err := s.TenantCreate(c, store.TenantCreateParams{OrgID: o.ID, Name: "Dev"})
			ok(t, err, "TenantCreate without legacy auth")
			if plain.LegacyBasicAuth || plain.LegacyBasicAuthUntil != nil {
				t.Errorf("tenant without legacy auth: LegacyBasicAuth %v, Until %v; want false, nil", plain.LegacyBasicAuth, plain.LegacyBasicAuthUntil)
			}
			got, err = s.TenantGet(c, o.ID, plain.ID)
			ok(t, err, "TenantGet")
			same(t, "TenantGet", got, plain)
		}},
		{"GetByName", func(t *testing.T, s store.Store) {
			c := t.Context()
			o := mustOrg(t, s, "acme")
			mustTenant(t, s, o.ID, "Dev")
			tn := mustTenant(t, s, o.ID, "Prod")
			for _, name := range []string{"Prod", "prod", "PROD", tn.Key} {
				got, err := s.TenantGetByName(c, o.ID, name)
				if err != nil {
					t.Errorf("TenantGetByName(%q): %v", name, err)
					continue
				}
				same(t, "TenantGetByName("+name+")", got, tn)
			}
			_, err := s.TenantGetByName(c, o.ID, "Pro")
			wantNotFound(t, err, "TenantGetByName of a prefix")
		}},
		{"List", func(t *testing.T, s store.Store) {
			o := mustOrg(t, s, "acme")
			other := mustOrg(t, s, "other")
			a := mustTenant(t, s, o.ID, "Zeta")
			mustTenant(t, s, other.ID, "Zeta")
			b := mustTenant(t, s, o.ID, "Alpha")
			got, err := s.TenantList(t.Context(), o.ID)
			ok(t, err, "TenantList")
			sameList(t, "TenantList", got, []tenancy.Tenant{a, b})
		}},
		{"Update", func(t *testing.T, s store.Store) {
			c := t.Context()
			o := mustOrg(t, s, "acme")
			tn := mustTenant(t, s, o.ID, "Prod")
			want := tn
			want.Name, want.DisplayName, want.LegacyBasicAuth, want.LegacyBasicAuthUntil = "Production", "The production", true, &until
			got, err := s.TenantUpdate(c, o.ID, tn.ID, func(old tenancy.Tenant) (tenancy.Tenant, error) {
				same(t, "value handed to the update function", old, tn)
				u := until
				old.Name, old.DisplayName, old.LegacyBasicAuth, old.LegacyBasicAuthUntil = "Production", "The production", true, &u
				return old, nil
			})
			ok(t, err, "TenantUpdate")
			same(t, "TenantUpdate result", got, want)
			fresh, err := s.TenantGet(c, o.ID, tn.ID)
			ok(t, err, "TenantGet")
			same(t, "TenantGet after update", fresh, want)

			// And back: the deadline can be cleared.
			want.LegacyBasicAuth, want.LegacyBasicAuthUntil = false, nil
			_, err = s.TenantUpdate(c, o.ID, tn.ID, func(old tenancy.Tenant) (tenancy.Tenant, error) {
				old.LegacyBasicAuth, old.LegacyBasicAuthUntil = false, nil
				return old, nil
			})
			ok(t, err, "TenantUpdate clearing LegacyBasicAuthUntil")
			fresh, err = s.TenantGet(c, o.ID, tn.ID)
			ok(t, err, "TenantGet")
			same(t, "TenantGet after clearing", fresh, want)
		}},
		{"UpdateFnError", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			_, err := s.TenantUpdate(c, e.org.ID, e.tenant.ID, func(old tenancy.Tenant) (tenancy.Tenant, error) {
				old.DisplayName = "changed"
				return old, errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Errorf("TenantUpdate with a failing fn: err = %v, want the fn's error", err)
			}
			got, err := s.TenantGet(c, e.org.ID, e.tenant.ID)
			ok(t, err, "TenantGet")
			same(t, "tenant after a failed update", got, e.tenant)
		}},
		{"Delete", func(t *testing.T, s store.Store) {
			c := t.Context()
			o := mustOrg(t, s, "acme")
			tn := mustTenant(t, s, o.ID, "Prod")
			keep := mustTenant(t, s, o.ID, "Keep")
			ok(t, s.TenantDelete(c, o.ID, tn.ID), "TenantDelete")
			_, err := s.TenantGet(c, o.ID, tn.ID)
			wantNotFound(t, err, "TenantGet after delete")
			_, err = s.TenantGetByName(c, o.ID, "Prod")
			wantNotFound(t, err, "TenantGetByName after delete")
			wantNotFound(t, s.TenantDelete(c, o.ID, tn.ID), "TenantDelete again")
			list, err := s.TenantList(c, o.ID)
			ok(t, err, "TenantList")
			sameList(t, "TenantList after delete", list, []tenancy.Tenant{keep})
		}},
		{"Conflict", func(t *testing.T, s store.Store) {
			c := t.Context()
			o := mustOrg(t, s, "acme")
			other := mustOrg(t, s, "other")
			mustTenant(t, s, o.ID, "Prod")
			_, err := s.TenantCreate(c, store.TenantCreateParams{OrgID: o.ID, Name: "prod"})
			wantConflict(t, err, `TenantCreate("prod") after "Prod" in the same organization`)
			if _, err := s.TenantCreate(c, store.TenantCreateParams{OrgID: other.ID, Name: "Prod"}); err != nil {
				t.Errorf("TenantCreate of the same name in another organization: %v", err)
			}
			dev := mustTenant(t, s, o.ID, "Dev")
			_, err = s.TenantUpdate(c, o.ID, dev.ID, func(tn tenancy.Tenant) (tenancy.Tenant, error) {
				tn.Name = "PROD"
				return tn, nil
			})
			wantConflict(t, err, "TenantUpdate to a taken name")
			got, err := s.TenantGet(c, o.ID, dev.ID)
			ok(t, err, "TenantGet")
			same(t, "tenant after a conflicting update", got, dev)
		}},
	}
}
