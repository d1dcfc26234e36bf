package storetest

import (
	"errors"
	"testing"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

var (
	jobsView    = tenancy.Perm("Jobs", tenancy.View)
	jobsCreate  = tenancy.Perm("Jobs", tenancy.Create)
	queuesView  = tenancy.Perm("Queues", tenancy.View)
	assetsView  = tenancy.Perm("Assets", tenancy.View)
	assetsEdit  = tenancy.Perm("Assets", tenancy.Edit)
	usersView   = tenancy.Perm("Users", tenancy.View)
	usersCreate = tenancy.Perm("Users", tenancy.Create)
	txEdit      = tenancy.Perm("Transactions", tenancy.Edit)
	queuesDel   = tenancy.Perm("Queues", tenancy.Delete)
)

func roleTests() []test {
	return []test{
		{"Create", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			r, err := s.RoleCreate(c, store.RoleCreateParams{TenantID: e.tenant.ID, Name: "Job Watcher", Type: tenancy.RoleTypeFolder,
				Permissions: []tenancy.Permission{queuesView, jobsView}})
			ok(t, err, "RoleCreate")
			if r.ID <= 0 {
				t.Errorf("RoleCreate: ID = %d, want > 0", r.ID)
			}
			want := tenancy.Role{ID: r.ID, TenantID: e.tenant.ID, Name: "Job Watcher", Type: tenancy.RoleTypeFolder,
				Permissions: []tenancy.Permission{jobsView, queuesView}}
			same(t, "created", r, want)
			got, err := s.RoleGet(c, e.tenant.ID, r.ID)
			ok(t, err, "RoleGet")
			same(t, "RoleGet", got, want)
			got, err = s.RoleGetByName(c, e.tenant.ID, "Job Watcher")
			ok(t, err, "RoleGetByName")
			same(t, "RoleGetByName", got, want)

			tr, err := s.RoleCreate(c, store.RoleCreateParams{TenantID: e.tenant.ID, Name: "User Reader", Type: tenancy.RoleTypeTenant,
				Permissions: []tenancy.Permission{usersView}})
			ok(t, err, "RoleCreate of a tenant role")
			got, err = s.RoleGet(c, e.tenant.ID, tr.ID)
			ok(t, err, "RoleGet")
			same(t, "RoleGet of a tenant role", got, tenancy.Role{ID: tr.ID, TenantID: e.tenant.ID, Name: "User Reader",
				Type: tenancy.RoleTypeTenant, Permissions: []tenancy.Permission{usersView}})
		}},
		{"BuiltIn", func(t *testing.T, s store.Store) {
			c := t.Context()
			a := mustEnv(t, s, "a")
			b := mustEnv(t, s, "b")
			mine := mustRole(t, s, a.tenant.ID, "Mine", tenancy.RoleTypeFolder, jobsView)
			mustRole(t, s, b.tenant.ID, "Theirs", tenancy.RoleTypeFolder, jobsView)
			list, err := s.RoleList(c, a.tenant.ID)
			ok(t, err, "RoleList")
			checkAscending(t, "RoleList", ids(list, func(r tenancy.Role) int64 { return r.ID }))
			builtIn := tenancy.BuiltInRoles()
			if len(list) != len(builtIn)+1 {
				t.Errorf("RoleList: %d roles, want the %d built-in roles and the tenant's one custom role: %+v", len(list), len(builtIn), list)
			}
			byName := map[string]tenancy.Role{}
			for _, r := range list {
				if _, dup := byName[r.Name]; dup {
					t.Errorf("RoleList lists %q twice", r.Name)
				}
				byName[r.Name] = r
			}
			for _, w := range builtIn {
				r, found := byName[w.Name]
				if !found {
					t.Errorf("RoleList misses the built-in role %q", w.Name)
					continue
				}
				w.ID = r.ID
				same(t, "built-in role "+w.Name, r, w)
				if r.ID <= 0 {
					t.Errorf("built-in role %q: ID = %d", w.Name, r.ID)
				}
				// Built-in roles are the same rows from every tenant.
				for _, tn := range []int64{a.tenant.ID, b.tenant.ID} {
					got, err := s.RoleGet(c, tn, r.ID)
					ok(t, err, "RoleGet of a built-in role")
					same(t, "RoleGet of built-in role "+w.Name, got, w)
					got, err = s.RoleGetByName(c, tn, w.Name)
					ok(t, err, "RoleGetByName of a built-in role")
					same(t, "RoleGetByName of built-in role "+w.Name, got, w)
				}
			}
			if r, found := byName["Mine"]; !found {
				t.Errorf("RoleList misses the tenant's custom role")
			} else {
				same(t, "custom role in RoleList", r, mine)
			}
			if _, found := byName["Theirs"]; found {
				t.Errorf("RoleList lists another tenant's custom role")
			}
		}},
		{"BuiltInReadOnly", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			for _, w := range tenancy.BuiltInRoles() {
				r := mustRoleByName(t, s, e.tenant.ID, w.Name)
				_, err := s.RoleUpdate(c, e.tenant.ID, r.ID, func(old tenancy.Role) (tenancy.Role, error) {
					old.Permissions = append(old.Permissions[:len(old.Permissions):len(old.Permissions)], tenancy.Perm("Users", tenancy.Delete))
					old.Name = old.Name + " (edited)"
					return old, nil
				})
				wantInvalid(t, err, "RoleUpdate of built-in role "+w.Name)
				wantInvalid(t, s.RoleDelete(c, e.tenant.ID, r.ID), "RoleDelete of built-in role "+w.Name)
				got, err := s.RoleGet(c, e.tenant.ID, r.ID)
				ok(t, err, "RoleGet after refused edits")
				same(t, "built-in role "+w.Name+" after refused edits", got, r)
			}
		}},
		{"Update", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			r := mustRole(t, s, e.tenant.ID, "Watcher", tenancy.RoleTypeFolder, jobsView)
			want := r
			want.Name, want.Permissions = "Runner", []tenancy.Permission{jobsView, jobsCreate, queuesView}
			got, err := s.RoleUpdate(c, e.tenant.ID, r.ID, func(old tenancy.Role) (tenancy.Role, error) {
				same(t, "value handed to the update function", old, r)
				old.Name, old.Permissions = "Runner", []tenancy.Permission{queuesView, jobsCreate, jobsView}
				return old, nil
			})
			ok(t, err, "RoleUpdate")
			same(t, "RoleUpdate result", got, want)
			fresh, err := s.RoleGet(c, e.tenant.ID, r.ID)
			ok(t, err, "RoleGet")
			same(t, "RoleGet after update", fresh, want)
			_, err = s.RoleGetByName(c, e.tenant.ID, "Watcher")
			wantNotFound(t, err, "RoleGetByName(old name)")

			want.Permissions = []tenancy.Permission{assetsView}
			_, err = s.RoleUpdate(c, e.tenant.ID, r.ID, func(old tenancy.Role) (tenancy.Role, error) {
				old.Permissions = []tenancy.Permission{assetsView}
				return old, nil
			})
			ok(t, err, "RoleUpdate shrinking the permissions")
			fresh, err = s.RoleGetByName(c, e.tenant.ID, "Runner")
			ok(t, err, "RoleGetByName")
			same(t, "RoleGetByName after shrinking", fresh, want)
		}},
		{"UpdateFnError", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			r := mustRole(t, s, e.tenant.ID, "Watcher", tenancy.RoleTypeFolder, jobsView)
			_, err := s.RoleUpdate(c, e.tenant.ID, r.ID, func(old tenancy.Role) (tenancy.Role, error) {
				old.Permissions = []tenancy.Permission{jobsCreate}
				return old, errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Errorf("RoleUpdate with a failing fn: err = %v, want the fn's error", err)
			}
			got, err := s.RoleGet(c, e.tenant.ID, r.ID)
			ok(t, err, "RoleGet")
			same(t, "role after a failed update", got, r)
		}},
		{"Delete", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			r := mustRole(t, s, e.tenant.ID, "Watcher", tenancy.RoleTypeFolder, jobsView)
			keep := mustRole(t, s, e.tenant.ID, "Keep", tenancy.RoleTypeFolder, jobsView)
			ok(t, s.RoleDelete(c, e.tenant.ID, r.ID), "RoleDelete")
			_, err := s.RoleGet(c, e.tenant.ID, r.ID)
			wantNotFound(t, err, "RoleGet after delete")
			_, err = s.RoleGetByName(c, e.tenant.ID, "Watcher")
			wantNotFound(t, err, "RoleGetByName after delete")
			wantNotFound(t, s.RoleDelete(c, e.tenant.ID, r.ID), "RoleDelete again")
			list, err := s.RoleList(c, e.tenant.ID)
			ok(t, err, "RoleList")
			var custom []tenancy.Role
			for _, r := range list {
				if !r.BuiltIn {
					custom = append(custom, r)
				}
			}
			sameList(t, "custom roles after delete", custom, []tenancy.Role{keep})
		}},
		{"Conflict", func(t *testing.T, s store.Store) {
			c := t.Context()
			a := mustEnv(t, s, "a")
			b := mustEnv(t, s, "b")
			for _, name := range []string{tenancy.RoleAdministrator, tenancy.RoleAutomationUser, tenancy.RoleRobot} {
				_, err := s.RoleCreate(c, store.RoleCreateParams{TenantID: a.tenant.ID, Name: name, Type: tenancy.RoleTypeFolder,
					Permissions: []tenancy.Permission{jobsView}})
				wantConflict(t, err, "RoleCreate named like the built-in role "+name)
			}
			mustRole(t, s, a.tenant.ID, "Watcher", tenancy.RoleTypeFolder, jobsView)
			_, err := s.RoleCreate(c, store.RoleCreateParams{TenantID: a.tenant.ID, Name: "Watcher", Type: tenancy.RoleTypeFolder,
				Permissions: []tenancy.Permission{jobsView}})
			wantConflict(t, err, "RoleCreate of a custom name taken in the tenant")
			mustRole(t, s, b.tenant.ID, "Watcher", tenancy.RoleTypeFolder, jobsView) // same name, another tenant
			other := mustRole(t, s, a.tenant.ID, "Other", tenancy.RoleTypeFolder, jobsView)
			_, err = s.RoleUpdate(c, a.tenant.ID, other.ID, func(r tenancy.Role) (tenancy.Role, error) {
				r.Name = tenancy.RoleFolderAdministrator
				return r, nil
			})
			wantConflict(t, err, "RoleUpdate to a built-in role's name")
			_, err = s.RoleUpdate(c, a.tenant.ID, other.ID, func(r tenancy.Role) (tenancy.Role, error) {
				r.Name = "Watcher"
				return r, nil
			})
			wantConflict(t, err, "RoleUpdate to a custom role's name")
			got, err := s.RoleGet(c, a.tenant.ID, other.ID)
			ok(t, err, "RoleGet")
			same(t, "role after conflicting updates", got, other)
		}},
	}
}

func queueDefinitionTests() []test {
	return []test{
		{"Create", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			f := mustFolder(t, s, e.tenant.ID, 0, "Finance")
			p := store.QueueDefinitionCreateParams{TenantID: e.tenant.ID, FolderID: f.ID, Name: "Invoices", Description: "To pay",
				MaxNumberOfRetries: 2, EnforceUniqueReference: true}
			q, err := s.QueueDefinitionCreate(c, p)
			ok(t, err, "QueueDefinitionCreate")
			checkNew(t, "queue definition", q.ID, q.Key, q.CreatedAt)
			// With retries allowed and AcceptAutomaticallyRetry not given, automatic retry is on.
			same(t, "created", q, tenancy.QueueDefinition{ID: q.ID, Key: q.Key, TenantID: e.tenant.ID, FolderID: f.ID, Name: "Invoices",
				Description: "To pay", MaxNumberOfRetries: 2, EnforceUniqueReference: true, AcceptAutomaticallyRetry: true, CreatedAt: q.CreatedAt})
			got, err := s.QueueDefinitionGet(c, e.tenant.ID, q.ID)
			ok(t, err, "QueueDefinitionGet")
			same(t, "QueueDefinitionGet", got, q)
		}},
		{"GetByName", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			f := mustFolder(t, s, e.tenant.ID, 0, "Finance")
			g := mustFolder(t, s, e.tenant.ID, 0, "HR")
			q := mustQueue(t, s, e.tenant.ID, f.ID, "Invoices")
			h := mustQueue(t, s, e.tenant.ID, g.ID, "Invoices")
			got, err := s.QueueDefinitionGetByName(c, e.tenant.ID, f.ID, "Invoices")
			ok(t, err, "QueueDefinitionGetByName")
			same(t, "QueueDefinitionGetByName", got, q)
			got, err = s.QueueDefinitionGetByName(c, e.tenant.ID, g.ID, "Invoices")
			ok(t, err, "QueueDefinitionGetByName")
			same(t, "QueueDefinitionGetByName in the other folder", got, h)
			_, err = s.QueueDefinitionGetByName(c, e.tenant.ID, f.ID, "Invoice")
			wantNotFound(t, err, "QueueDefinitionGetByName of a missing name")
		}},
		{"List", func(t *testing.T, s store.Store) {
			e := mustEnv(t, s, "acme")
			f := mustFolder(t, s, e.tenant.ID, 0, "Finance")
			g := mustFolder(t, s, e.tenant.ID, f.ID, "Sub")
			a := mustQueue(t, s, e.tenant.ID, f.ID, "Zeta")
			mustQueue(t, s, e.tenant.ID, g.ID, "InTheSubfolder")
			b := mustQueue(t, s, e.tenant.ID, f.ID, "Alpha")
			got, err := s.QueueDefinitionList(t.Context(), e.tenant.ID, f.ID)
			ok(t, err, "QueueDefinitionList")
			sameList(t, "QueueDefinitionList", got, []tenancy.QueueDefinition{a, b})
		}},
		{"Update", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			f := mustFolder(t, s, e.tenant.ID, 0, "Finance")
			q := mustQueue(t, s, e.tenant.ID, f.ID, "Invoices")
			want := q
			want.Name, want.Description, want.MaxNumberOfRetries, want.EnforceUniqueReference = "Bills", "Renamed", 5, true
			got, err := s.QueueDefinitionUpdate(c, e.tenant.ID, q.ID, func(old tenancy.QueueDefinition) (tenancy.QueueDefinition, error) {
				same(t, "value handed to the update function", old, q)
				old.Name, old.Description, old.MaxNumberOfRetries, old.EnforceUniqueReference = "Bills", "Renamed", 5, true
				return old, nil
			})
			ok(t, err, "QueueDefinitionUpdate")
			same(t, "QueueDefinitionUpdate result", got, want)
			fresh, err := s.QueueDefinitionGet(c, e.tenant.ID, q.ID)
			ok(t, err, "QueueDefinitionGet")
			same(t, "QueueDefinitionGet after update", fresh, want)
			byName, err := s.QueueDefinitionGetByName(c, e.tenant.ID, f.ID, "Bills")
			ok(t, err, "QueueDefinitionGetByName(new name)")
			same(t, "QueueDefinitionGetByName after update", byName, want)
			_, err = s.QueueDefinitionGetByName(c, e.tenant.ID, f.ID, "Invoices")
			wantNotFound(t, err, "QueueDefinitionGetByName(old name)")
		}},
		{"UpdateFnError", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			f := mustFolder(t, s, e.tenant.ID, 0, "Finance")
			q := mustQueue(t, s, e.tenant.ID, f.ID, "Invoices")
			_, err := s.QueueDefinitionUpdate(c, e.tenant.ID, q.ID, func(old tenancy.QueueDefinition) (tenancy.QueueDefinition, error) {
				old.MaxNumberOfRetries = 9
				return old, errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Errorf("QueueDefinitionUpdate with a failing fn: err = %v, want the fn's error", err)
			}
			got, err := s.QueueDefinitionGet(c, e.tenant.ID, q.ID)
			ok(t, err, "QueueDefinitionGet")
			same(t, "queue definition after a failed update", got, q)
		}},
		{"Delete", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			f := mustFolder(t, s, e.tenant.ID, 0, "Finance")
			q := mustQueue(t, s, e.tenant.ID, f.ID, "Invoices")
			keep := mustQueue(t, s, e.tenant.ID, f.ID, "Keep")
			ok(t, s.QueueDefinitionDelete(c, e.tenant.ID, q.ID), "QueueDefinitionDelete")
			_, err := s.QueueDefinitionGet(c, e.tenant.ID, q.ID)
			wantNotFound(t, err, "QueueDefinitionGet after delete")
			_, err = s.QueueDefinitionGetByName(c, e.tenant.ID, f.ID, "Invoices")
			wantNotFound(t, err, "QueueDefinitionGetByName after delete")
			wantNotFound(t, s.QueueDefinitionDelete(c, e.tenant.ID, q.ID), "QueueDefinitionDelete again")
			list, err := s.QueueDefinitionList(c, e.tenant.ID, f.ID)
			ok(t, err, "QueueDefinitionList")
			sameList(t, "QueueDefinitionList after delete", list, []tenancy.QueueDefinition{keep})
		}},
		{"Conflict", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			f := mustFolder(t, s, e.tenant.ID, 0, "Finance")
			g := mustFolder(t, s, e.tenant.ID, 0, "HR")
			mustQueue(t, s, e.tenant.ID, f.ID, "Invoices")
			_, err := s.QueueDefinitionCreate(c, store.QueueDefinitionCreateParams{TenantID: e.tenant.ID, FolderID: f.ID, Name: "Invoices"})
			wantConflict(t, err, "QueueDefinitionCreate of a name taken in the folder")
			_, err = s.QueueDefinitionCreate(c, store.QueueDefinitionCreateParams{TenantID: e.tenant.ID, FolderID: f.ID, Name: "INVOICES"})
			wantConflict(t, err, "QueueDefinitionCreate of a name differing in case")
			mustQueue(t, s, e.tenant.ID, g.ID, "Invoices") // same name, another folder
			other := mustQueue(t, s, e.tenant.ID, f.ID, "Other")
			_, err = s.QueueDefinitionUpdate(c, e.tenant.ID, other.ID, func(q tenancy.QueueDefinition) (tenancy.QueueDefinition, error) {
				q.Name = "Invoices"
				return q, nil
			})
			wantConflict(t, err, "QueueDefinitionUpdate to a taken name")
			got, err := s.QueueDefinitionGet(c, e.tenant.ID, other.ID)
			ok(t, err, "QueueDefinitionGet")
			same(t, "queue definition after a conflicting update", got, other)
		}},
	}
}
