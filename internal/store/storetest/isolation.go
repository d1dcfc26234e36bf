package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// isolationFixture is two organizations with a tenant each; A holds one row of every kind.
type isolationFixture struct {
	a, b    env
	folder  tenancy.Folder // in A
	machine tenancy.Machine
	queue   tenancy.QueueDefinition
	role    tenancy.Role
	user    tenancy.User
	app     tenancy.App
	bFolder tenancy.Folder // in B
}

func newIsolationFixture(t testing.TB, s store.Store) isolationFixture {
	t.Helper()
	f := isolationFixture{a: mustEnv(t, s, "org-a"), b: mustEnv(t, s, "org-b")}
	f.folder = mustFolder(t, s, f.a.tenant.ID, 0, "Shared")
	f.machine = mustMachine(t, s, f.a.tenant.ID, "Build-01", "m-a")
	f.queue = mustQueue(t, s, f.a.tenant.ID, f.folder.ID, "Invoices")
	f.role = mustRole(t, s, f.a.tenant.ID, "Watcher", tenancy.RoleTypeFolder, jobsView)
	f.user = mustUser(t, s, f.a.org.ID, "ann@example.com")
	f.app = mustApp(t, s, f.a.org.ID, "app-a")
	f.bFolder = mustFolder(t, s, f.b.tenant.ID, 0, "Other")
	return f
}

// untouched checks that A's rows are exactly as created.
func (f isolationFixture) untouched(t testing.TB, s store.Store) {
	t.Helper()
	c := t.Context()
	if got, err := s.FolderGet(c, f.a.tenant.ID, f.folder.ID); err != nil {
		t.Errorf("FolderGet in its own tenant: %v", err)
	} else {
		same(t, "tenant A's folder", got, f.folder)
	}
	if got, err := s.MachineGet(c, f.a.tenant.ID, f.machine.ID); err != nil {
		t.Errorf("MachineGet in its own tenant: %v", err)
	} else {
		same(t, "tenant A's machine", got, f.machine)
	}
	if got, err := s.QueueDefinitionGet(c, f.a.tenant.ID, f.queue.ID); err != nil {
		t.Errorf("QueueDefinitionGet in its own tenant: %v", err)
	} else {
		same(t, "tenant A's queue", got, f.queue)
	}
	if got, err := s.RoleGet(c, f.a.tenant.ID, f.role.ID); err != nil {
		t.Errorf("RoleGet in its own tenant: %v", err)
	} else {
		same(t, "tenant A's role", got, f.role)
	}
	if got, err := s.UserGet(c, f.a.org.ID, f.user.ID); err != nil {
		t.Errorf("UserGet in its own organization: %v", err)
	} else {
		same(t, "organization A's user", got, f.user)
	}
	if got, err := s.AppGet(c, f.a.org.ID, f.app.ID); err != nil {
		t.Errorf("AppGet in its own organization: %v", err)
	} else {
		same(t, "organization A's app", got, f.app)
	}
	if got, err := s.TenantGet(c, f.a.org.ID, f.a.tenant.ID); err != nil {
		t.Errorf("TenantGet in its own organization: %v", err)
	} else {
		same(t, "organization A's tenant", got, f.a.tenant)
	}
}

func isolationTests() []test {
	return []test{
		{"TenantRows", func(t *testing.T, s store.Store) {
			c := t.Context()
			f := newIsolationFixture(t, s)
			tb := f.b.tenant.ID
			called := false
			_, err := s.FolderGet(c, tb, f.folder.ID)
			wantNotFound(t, err, "FolderGet with another tenant")
			_, err = s.FolderUpdate(c, tb, f.folder.ID, func(v tenancy.Folder) (tenancy.Folder, error) {
				called = true
				v.DisplayName = "Hijacked"
				return v, nil
			})
			wantNotFound(t, err, "FolderUpdate with another tenant")
			wantNotFound(t, s.FolderDelete(c, tb, f.folder.ID), "FolderDelete with another tenant")

			_, err = s.MachineGet(c, tb, f.machine.ID)
			wantNotFound(t, err, "MachineGet with another tenant")
			_, err = s.MachineUpdate(c, tb, f.machine.ID, func(v tenancy.Machine) (tenancy.Machine, error) {
				called = true
				v.Slots = 99
				return v, nil
			})
			wantNotFound(t, err, "MachineUpdate with another tenant")
			wantNotFound(t, s.MachineDelete(c, tb, f.machine.ID), "MachineDelete with another tenant")

			_, err = s.QueueDefinitionGet(c, tb, f.queue.ID)
			wantNotFound(t, err, "QueueDefinitionGet with another tenant")
			_, err = s.QueueDefinitionUpdate(c, tb, f.queue.ID, func(v tenancy.QueueDefinition) (tenancy.QueueDefinition, error) {
				called = true
				v.Name = "Hijacked"
				return v, nil
			})
			wantNotFound(t, err, "QueueDefinitionUpdate with another tenant")
			wantNotFound(t, s.QueueDefinitionDelete(c, tb, f.queue.ID), "QueueDefinitionDelete with another tenant")

			_, err = s.RoleGet(c, tb, f.role.ID)
			wantNotFound(t, err, "RoleGet with another tenant")
			_, err = s.RoleUpdate(c, tb, f.role.ID, func(v tenancy.Role) (tenancy.Role, error) {
				called = true
				v.Permissions = []tenancy.Permission{usersCreate}
				return v, nil
			})
			wantNotFound(t, err, "RoleUpdate with another tenant")
			wantNotFound(t, s.RoleDelete(c, tb, f.role.ID), "RoleDelete with another tenant")

			if called {
				t.Errorf("an Update with another tenant's id called its function")
			}
			f.untouched(t, s)
		}},
		{"OrganizationRows", func(t *testing.T, s store.Store) {
			c := t.Context()
			f := newIsolationFixture(t, s)
			ob := f.b.org.ID
			_, err := s.UserGet(c, ob, f.user.ID)
			wantNotFound(t, err, "UserGet with another organization")
			_, err = s.UserUpdate(c, ob, f.user.ID, func(v tenancy.User) (tenancy.User, error) { v.OrgAdmin = true; return v, nil })
			wantNotFound(t, err, "UserUpdate with another organization")
			wantNotFound(t, s.UserDelete(c, ob, f.user.ID), "UserDelete with another organization")

			_, err = s.AppGet(c, ob, f.app.ID)
			wantNotFound(t, err, "AppGet with another organization")
			_, err = s.AppUpdate(c, ob, f.app.ID, func(v tenancy.App) (tenancy.App, error) {
				v.RedirectURIs = []string{"https://evil.example/cb"}
				return v, nil
			})
			wantNotFound(t, err, "AppUpdate with another organization")
			wantNotFound(t, s.AppDelete(c, ob, f.app.ID), "AppDelete with another organization")

			_, err = s.TenantGet(c, ob, f.a.tenant.ID)
			wantNotFound(t, err, "TenantGet with another organization")
			_, err = s.TenantUpdate(c, ob, f.a.tenant.ID, func(v tenancy.Tenant) (tenancy.Tenant, error) { v.Name = "Hijacked"; return v, nil })
			wantNotFound(t, err, "TenantUpdate with another organization")
			wantNotFound(t, s.TenantDelete(c, ob, f.a.tenant.ID), "TenantDelete with another organization")
			f.untouched(t, s)
		}},
		{"Lookups", func(t *testing.T, s store.Store) {
			c := t.Context()
			f := newIsolationFixture(t, s)
			tb, ob := f.b.tenant.ID, f.b.org.ID
			onlyA := mustTenant(t, s, f.a.org.ID, "OnlyInA")
			checks := []struct {
				what string
				err  error
			}{
				{"FolderGetByKey", second(s.FolderGetByKey(c, tb, f.folder.Key))},
				{"FolderGetByPath", second(s.FolderGetByPath(c, tb, f.folder.FullyQualifiedName))},
				{"MachineGetByName", second(s.MachineGetByName(c, tb, f.machine.Name))},
				{"RoleGetByName", second(s.RoleGetByName(c, tb, f.role.Name))},
				{"QueueDefinitionGetByName", second(s.QueueDefinitionGetByName(c, tb, f.folder.ID, f.queue.Name))},
				{"UserGetByEmail", second(s.UserGetByEmail(c, ob, f.user.Email))},
				{"TenantGetByName", second(s.TenantGetByName(c, ob, onlyA.Name))},
				{"TenantGetByName(key)", second(s.TenantGetByName(c, ob, onlyA.Key))},
				{"TenantGetByName(key of a namesake)", second(s.TenantGetByName(c, ob, f.a.tenant.Key))},
			}
			for _, ch := range checks {
				wantNotFound(t, ch.err, ch.what+" of tenant or organization A's row, asked through B")
			}
			// Both tenants are named "Default": each organization finds its own.
			got, err := s.TenantGetByName(c, ob, "default")
			ok(t, err, "TenantGetByName(B, default)")
			same(t, "TenantGetByName in organization B", got, f.b.tenant)
		}},
		{"Lists", func(t *testing.T, s store.Store) {
			c := t.Context()
			f := newIsolationFixture(t, s)
			tb, ob := f.b.tenant.ID, f.b.org.ID
			mustQueue(t, s, tb, f.bFolder.ID, "Theirs")
			mustMachine(t, s, tb, "B-01", "m-b")
			mustUser(t, s, ob, "bob@example.com")
			mustApp(t, s, ob, "app-b")

			folders, err := s.FolderList(c, tb)
			ok(t, err, "FolderList")
			if slices.ContainsFunc(folders, func(v tenancy.Folder) bool { return v.ID == f.folder.ID || v.TenantID != tb }) || len(folders) != 1 {
				t.Errorf("FolderList(B) = %+v, want only B's folder", folders)
			}
			machines, err := s.MachineList(c, tb)
			ok(t, err, "MachineList")
			if slices.ContainsFunc(machines, func(v tenancy.Machine) bool { return v.ID == f.machine.ID || v.TenantID != tb }) || len(machines) != 1 {
				t.Errorf("MachineList(B) = %+v, want only B's machine", machines)
			}
			queues, err := s.QueueDefinitionList(c, tb, f.bFolder.ID)
			ok(t, err, "QueueDefinitionList")
			if slices.ContainsFunc(queues, func(v tenancy.QueueDefinition) bool { return v.ID == f.queue.ID || v.TenantID != tb }) || len(queues) != 1 {
				t.Errorf("QueueDefinitionList(B) = %+v, want only B's queue", queues)
			}
			// A's folder id with B's tenant: nothing, whether as an empty list or not found.
			queues, err = s.QueueDefinitionList(c, tb, f.folder.ID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Errorf("QueueDefinitionList(B, A's folder): err = %v, want nil or ErrNotFound", err)
			}
			if len(queues) != 0 {
				t.Errorf("QueueDefinitionList(B, A's folder) = %+v, want nothing", queues)
			}
			roles, err := s.RoleList(c, tb)
			ok(t, err, "RoleList")
			if slices.ContainsFunc(roles, func(v tenancy.Role) bool { return v.ID == f.role.ID || (!v.BuiltIn && v.TenantID != tb) }) {
				t.Errorf("RoleList(B) = %+v, lists A's role", roles)
			}
			users, err := s.UserList(c, ob)
			ok(t, err, "UserList")
			if slices.ContainsFunc(users, func(v tenancy.User) bool { return v.ID == f.user.ID || v.OrgID != ob }) || len(users) != 1 {
				t.Errorf("UserList(B) = %+v, want only B's user", users)
			}
			apps, err := s.AppList(c, ob)
			ok(t, err, "AppList")
			if slices.ContainsFunc(apps, func(v tenancy.App) bool { return v.ID == f.app.ID || v.OrgID != ob }) || len(apps) != 1 {
				t.Errorf("AppList(B) = %+v, want only B's app", apps)
			}
			tenants, err := s.TenantList(c, ob)
			ok(t, err, "TenantList")
			sameList(t, "TenantList(B)", tenants, []tenancy.Tenant{f.b.tenant})
		}},
		{"ForeignReferences", func(t *testing.T, s store.Store) {
			c := t.Context()
			f := newIsolationFixture(t, s)
			tb := f.b.tenant.ID
			_, err := s.QueueDefinitionCreate(c, store.QueueDefinitionCreateParams{TenantID: tb, FolderID: f.folder.ID, Name: "Sneaky"})
			wantNotFound(t, err, "QueueDefinitionCreate in B with A's folder")
			_, err = s.FolderCreate(c, store.FolderCreateParams{TenantID: tb, ParentID: f.folder.ID, DisplayName: "Sneaky"})
			wantNotFound(t, err, "FolderCreate in B under A's folder")
			bm := mustMachine(t, s, tb, "B-01", "m-b")
			robot := mustRoleByName(t, s, tb, tenancy.RoleRobot)
			err = s.MembershipSet(c, tenancy.Membership{TenantID: tb, FolderID: f.folder.ID, Principal: machineP(bm), RoleIDs: []int64{robot.ID}})
			wantNotFound(t, err, "MembershipSet in B for A's folder")
			err = s.MembershipSet(c, tenancy.Membership{TenantID: tb, FolderID: f.bFolder.ID, Principal: machineP(bm), RoleIDs: []int64{f.role.ID}})
			wantNotFound(t, err, "MembershipSet in B with A's custom role")
			if ms := listPrincipal(t, s, tb, machineP(bm)); len(ms) != 0 {
				t.Errorf("memberships after refused sets: %+v", ms)
			}
			if ms := listFolder(t, s, f.a.tenant.ID, f.folder.ID); len(ms) != 0 {
				t.Errorf("A's folder got memberships from B: %+v", ms)
			}
			queues, err := s.QueueDefinitionList(c, f.a.tenant.ID, f.folder.ID)
			ok(t, err, "QueueDefinitionList")
			sameList(t, "A's queues after a refused create", queues, []tenancy.QueueDefinition{f.queue})
		}},
	}
}
