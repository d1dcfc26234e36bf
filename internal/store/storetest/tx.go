package storetest

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

func txTests() []test {
	return []test{
		{"RollbackOnError", func(t *testing.T, s store.Store) {
			c := t.Context()
			keep := mustEnv(t, s, "keep")
			err := s.Tx(c, func(tx store.Store) error {
				o, err := tx.OrganizationCreate(c, store.OrganizationCreateParams{Name: "doomed"})
				if err != nil {
					return err
				}
				if _, err := tx.TenantCreate(c, store.TenantCreateParams{OrgID: o.ID, Name: "Doomed"}); err != nil {
					return err
				}
				if _, err := tx.FolderCreate(c, store.FolderCreateParams{TenantID: keep.tenant.ID, DisplayName: "Doomed"}); err != nil {
					return err
				}
				if _, err := tx.TenantUpdate(c, keep.org.ID, keep.tenant.ID, func(tn tenancy.Tenant) (tenancy.Tenant, error) {
					tn.DisplayName = "doomed"
					return tn, nil
				}); err != nil {
					return err
				}
				if err := tx.MetaSet(c, "doomed", "yes"); err != nil {
					return err
				}
				return fmt.Errorf("giving up: %w", errBoom)
			})
			if !errors.Is(err, errBoom) {
				t.Fatalf("Tx: err = %v, want the error fn returned", err)
			}
			_, err = s.OrganizationGetByName(c, "doomed")
			wantNotFound(t, err, "organization created in a rolled-back Tx")
			orgs, err := s.OrganizationList(c)
			ok(t, err, "OrganizationList")
			sameList(t, "organizations after a rolled-back Tx", orgs, []tenancy.Organization{keep.org})
			_, err = s.FolderGetByPath(c, keep.tenant.ID, "Doomed")
			wantNotFound(t, err, "folder created in a rolled-back Tx")
			tn, err := s.TenantGet(c, keep.org.ID, keep.tenant.ID)
			ok(t, err, "TenantGet")
			same(t, "tenant updated in a rolled-back Tx", tn, keep.tenant)
			_, err = s.MetaGet(c, "doomed")
			wantNotFound(t, err, "meta set in a rolled-back Tx")
		}},
		{"Commit", func(t *testing.T, s store.Store) {
			c := t.Context()
			var org tenancy.Organization
			var tenant tenancy.Tenant
			err := s.Tx(c, func(tx store.Store) error {
				var err error
				if org, err = tx.OrganizationCreate(c, store.OrganizationCreateParams{Name: "acme"}); err != nil {
					return err
				}
				// Reads inside the transaction see its writes.
				if got, err := tx.OrganizationGetByName(c, "ACME"); err != nil {
					return fmt.Errorf("OrganizationGetByName inside the Tx: %w", err)
				} else if got.ID != org.ID {
					return fmt.Errorf("OrganizationGetByName inside the Tx found %+v, want %+v", got, org)
				}
				tenant, err = tx.TenantCreate(c, store.TenantCreateParams{OrgID: org.ID, Name: "Default"})
				return err
			})
			ok(t, err, "Tx")
			got, err := s.OrganizationGet(c, org.ID)
			ok(t, err, "OrganizationGet after commit")
			same(t, "organization committed by Tx", got, org)
			gotT, err := s.TenantGet(c, org.ID, tenant.ID)
			ok(t, err, "TenantGet after commit")
			same(t, "tenant committed by Tx", gotT, tenant)
		}},
		{"Lock", func(t *testing.T, s store.Store) {
			c := t.Context()
			err := s.Tx(c, func(tx store.Store) error {
				if err := tx.Lock(c, "storetest-a"); err != nil {
					return fmt.Errorf("Lock: %w", err)
				}
				if err := tx.Lock(c, "storetest-b"); err != nil {
					return fmt.Errorf("second Lock: %w", err)
				}
				_, err := tx.OrganizationCreate(c, store.OrganizationCreateParams{Name: "locked"})
				return err
			})
			ok(t, err, "Tx with Lock")
			_, err = s.OrganizationGetByName(c, "locked")
			ok(t, err, "OrganizationGetByName after a Tx with Lock")
			// The lock ended with the transaction: it can be taken again.
			ok(t, s.Tx(c, func(tx store.Store) error { return tx.Lock(c, "storetest-a") }), "Lock in a second Tx")
		}},
		{"ConflictInside", func(t *testing.T, s store.Store) {
			c := t.Context()
			acme := mustOrg(t, s, "acme")
			err := s.Tx(c, func(tx store.Store) error {
				if _, err := tx.OrganizationCreate(c, store.OrganizationCreateParams{Name: "fresh"}); err != nil {
					return err
				}
				_, err := tx.OrganizationCreate(c, store.OrganizationCreateParams{Name: "ACME"})
				return err
			})
			wantConflict(t, err, "Tx whose write conflicts")
			_, err = s.OrganizationGetByName(c, "fresh")
			wantNotFound(t, err, "organization created before the conflict in the same Tx")
			orgs, err := s.OrganizationList(c)
			ok(t, err, "OrganizationList")
			sameList(t, "organizations after a conflicting Tx", orgs, []tenancy.Organization{acme})
			// The store is still usable.
			mustOrg(t, s, "fresh")
		}},
		{"Nested", func(t *testing.T, s store.Store) {
			c := t.Context()
			err := s.Tx(c, func(tx store.Store) error {
				if err := tx.Tx(c, func(inner store.Store) error {
					_, err := inner.OrganizationCreate(c, store.OrganizationCreateParams{Name: "inner"})
					return err
				}); err != nil {
					return err
				}
				if _, err := tx.OrganizationGetByName(c, "inner"); err != nil {
					return fmt.Errorf("the outer Tx does not see the inner write: %w", err)
				}
				return errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Fatalf("Tx: err = %v, want the error fn returned", err)
			}
			_, err = s.OrganizationGetByName(c, "inner")
			wantNotFound(t, err, "organization created in a nested Tx whose outer Tx rolled back")
		}},
	}
}

func metaTests() []test {
	return []test{
		{"GetSet", func(t *testing.T, s store.Store) {
			c := t.Context()
			_, err := s.MetaGet(c, "secret-check")
			wantNotFound(t, err, "MetaGet of a missing key")
			ok(t, s.MetaSet(c, "secret-check", "v1"), "MetaSet")
			ok(t, s.MetaSet(c, "other", ""), "MetaSet of an empty value")
			got, err := s.MetaGet(c, "secret-check")
			ok(t, err, "MetaGet")
			if got != "v1" {
				t.Errorf("MetaGet = %q, want %q", got, "v1")
			}
			ok(t, s.MetaSet(c, "secret-check", "v2"), "MetaSet overwriting")
			got, err = s.MetaGet(c, "secret-check")
			ok(t, err, "MetaGet")
			if got != "v2" {
				t.Errorf("MetaGet after overwrite = %q, want %q", got, "v2")
			}
			got, err = s.MetaGet(c, "other")
			ok(t, err, "MetaGet of an empty value")
			if got != "" {
				t.Errorf("MetaGet(other) = %q, want empty", got)
			}
		}},
	}
}

const (
	writers         = 8
	usersPerWriter  = 25
	updatesPerWrite = 10
)

// parallel runs fn(i) for i in [0, n) at once, released together, and waits for all.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}

func concurrentTests() []test {
	return []test{
		{"UserCreate", func(t *testing.T, s store.Store) {
			c := t.Context()
			o := mustOrg(t, s, "acme")
			parallel(writers, func(w int) {
				for i := range usersPerWriter {
					email := fmt.Sprintf("user-%d-%d@example.com", w, i)
					if _, err := s.UserCreate(c, store.UserCreateParams{OrgID: o.ID, Email: email}); err != nil {
						t.Errorf("UserCreate(%q): %v", email, err)
					}
				}
			})
			users, err := s.UserList(c, o.ID)
			ok(t, err, "UserList")
			if len(users) != writers*usersPerWriter {
				t.Errorf("UserList: %d users, want %d", len(users), writers*usersPerWriter)
			}
			checkAscending(t, "UserList", ids(users, func(u tenancy.User) int64 { return u.ID }))
		}},
		{"SameOrganizationName", func(t *testing.T, s store.Store) {
			c := t.Context()
			errs := make([]error, writers)
			parallel(writers, func(w int) {
				_, errs[w] = s.OrganizationCreate(c, store.OrganizationCreateParams{Name: "race"})
			})
			wins := 0
			for _, err := range errs {
				switch {
				case err == nil:
					wins++
				case errors.Is(err, store.ErrConflict):
				default:
					t.Errorf("OrganizationCreate racing for a name: err = %v, want nil or ErrConflict", err)
				}
			}
			if wins != 1 {
				t.Errorf("%d of %d racing OrganizationCreate calls succeeded, want exactly 1", wins, writers)
			}
			orgs, err := s.OrganizationList(c)
			ok(t, err, "OrganizationList")
			if len(orgs) != 1 {
				t.Errorf("OrganizationList after the race: %+v, want one organization", orgs)
			}
		}},
		{"TenantUpdateCounter", func(t *testing.T, s store.Store) {
			c := t.Context()
			o := mustOrg(t, s, "acme")
			tn, err := s.TenantCreate(c, store.TenantCreateParams{OrgID: o.ID, Name: "Counter", DisplayName: "n=0"})
			ok(t, err, "TenantCreate")
			parallel(writers, func(int) {
				for range updatesPerWrite {
					_, err := s.TenantUpdate(c, o.ID, tn.ID, func(old tenancy.Tenant) (tenancy.Tenant, error) {
						var n int
						if _, err := fmt.Sscanf(old.DisplayName, "n=%d", &n); err != nil {
							return old, fmt.Errorf("bad counter %q: %w", old.DisplayName, err)
						}
						// Yield between the read and the write, so that an update
						// that is not atomic loses increments even on few CPUs.
						runtime.Gosched()
						old.DisplayName = fmt.Sprintf("n=%d", n+1)
						return old, nil
					})
					if err != nil {
						t.Errorf("TenantUpdate: %v", err)
					}
				}
			})
			got, err := s.TenantGet(c, o.ID, tn.ID)
			ok(t, err, "TenantGet")
			if want := fmt.Sprintf("n=%d", writers*updatesPerWrite); got.DisplayName != want {
				t.Errorf("counter after %d concurrent increments = %q, want %q (an update was lost)", writers*updatesPerWrite, got.DisplayName, want)
			}
		}},
		{"Tx", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			parallel(writers, func(w int) {
				err := s.Tx(c, func(tx store.Store) error {
					if err := tx.Lock(c, "storetest-folders"); err != nil {
						return err
					}
					f, err := tx.FolderCreate(c, store.FolderCreateParams{TenantID: e.tenant.ID, DisplayName: fmt.Sprintf("F%d", w)})
					if err != nil {
						return err
					}
					_, err = tx.QueueDefinitionCreate(c, store.QueueDefinitionCreateParams{TenantID: e.tenant.ID, FolderID: f.ID, Name: "Q"})
					return err
				})
				if err != nil {
					t.Errorf("Tx %d: %v", w, err)
				}
			})
			folders, err := s.FolderList(c, e.tenant.ID)
			ok(t, err, "FolderList")
			if len(folders) != writers {
				t.Errorf("FolderList: %d folders, want %d", len(folders), writers)
			}
			for _, f := range folders {
				qs, err := s.QueueDefinitionList(c, e.tenant.ID, f.ID)
				ok(t, err, "QueueDefinitionList")
				if len(qs) != 1 {
					t.Errorf("folder %q: %d queues, want 1", f.FullyQualifiedName, len(qs))
				}
			}
		}},
	}
}

func settingTests() []test {
	return []test{
		{"SetListPerTenant", func(t *testing.T, s store.Store) {
			c := t.Context()
			a := mustEnv(t, s, "acme")
			b := mustEnv(t, s, "globex")
			got, err := s.SettingList(c, a.tenant.ID)
			ok(t, err, "SettingList of a tenant without settings")
			if len(got) != 0 {
				t.Fatalf("SettingList of a new tenant = %v, want none", got)
			}
			ok(t, s.SettingSet(c, a.tenant.ID, map[string]string{"x.limit": "10", "y": "on"}), "SettingSet")
			ok(t, s.SettingSet(c, a.tenant.ID, map[string]string{"x.limit": "20"}), "SettingSet again")
			ok(t, s.SettingSet(c, b.tenant.ID, map[string]string{"x.limit": "5"}), "SettingSet other tenant")
			got, err = s.SettingList(c, a.tenant.ID)
			ok(t, err, "SettingList")
			same(t, "acme's settings", got, map[string]string{"x.limit": "20", "y": "on"})
			got, err = s.SettingList(c, b.tenant.ID)
			ok(t, err, "SettingList")
			same(t, "globex's settings", got, map[string]string{"x.limit": "5"})
		}},
		{"RolledBack", func(t *testing.T, s store.Store) {
			c := t.Context()
			a := mustEnv(t, s, "acme")
			err := s.Tx(c, func(tx store.Store) error {
				if err := tx.SettingSet(c, a.tenant.ID, map[string]string{"x.limit": "10"}); err != nil {
					return err
				}
				return errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Fatalf("Tx: err = %v, want the error fn returned", err)
			}
			got, err := s.SettingList(c, a.tenant.ID)
			ok(t, err, "SettingList")
			if len(got) != 0 {
				t.Fatalf("settings after a rolled-back Tx = %v, want none", got)
			}
		}},
	}
}
