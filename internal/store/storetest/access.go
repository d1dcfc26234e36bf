package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"testing"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

func notFoundTests() []test {
	return []test{
		{"Get", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			f := mustFolder(t, s, e.tenant.ID, 0, "Finance")
			const key = "00000000-0000-4000-8000-000000000000"
			checks := []struct {
				what string
				err  error
			}{
				{"OrganizationGet", second(s.OrganizationGet(c, missingID))},
				{"OrganizationGetByName", second(s.OrganizationGetByName(c, "missing"))},
				{"OrganizationGetByName(key)", second(s.OrganizationGetByName(c, key))},
				{"TenantGet", second(s.TenantGet(c, e.org.ID, missingID))},
				{"TenantGetByName", second(s.TenantGetByName(c, e.org.ID, "missing"))},
				{"TenantGetByName(key)", second(s.TenantGetByName(c, e.org.ID, key))},
				{"FolderGet", second(s.FolderGet(c, e.tenant.ID, missingID))},
				{"FolderGetByKey", second(s.FolderGetByKey(c, e.tenant.ID, key))},
				{"FolderGetByPath", second(s.FolderGetByPath(c, e.tenant.ID, "Missing"))},
				{"UserGet", second(s.UserGet(c, e.org.ID, missingID))},
				{"UserGetByEmail", second(s.UserGetByEmail(c, e.org.ID, "missing@example.com"))},
				{"AppGet", second(s.AppGet(c, e.org.ID, missingID))},
				{"AppGetByClientID", second(s.AppGetByClientID(c, "missing"))},
				{"MachineGet", second(s.MachineGet(c, e.tenant.ID, missingID))},
				{"MachineGetByName", second(s.MachineGetByName(c, e.tenant.ID, "missing"))},
				{"MachineGetByClientID", second(s.MachineGetByClientID(c, "missing"))},
				{"RoleGet", second(s.RoleGet(c, e.tenant.ID, missingID))},
				{"RoleGetByName", second(s.RoleGetByName(c, e.tenant.ID, "missing"))},
				{"QueueDefinitionGet", second(s.QueueDefinitionGet(c, e.tenant.ID, missingID))},
				{"QueueDefinitionGetByName", second(s.QueueDefinitionGetByName(c, e.tenant.ID, f.ID, "missing"))},
				{"MetaGet", second(s.MetaGet(c, "missing"))},
			}
			for _, ch := range checks {
				wantNotFound(t, ch.err, ch.what+" of a missing row")
			}
		}},
		{"UpdateDelete", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			called := false
			checks := []struct {
				what string
				err  error
			}{
				{"OrganizationUpdate", second(s.OrganizationUpdate(c, missingID, func(v tenancy.Organization) (tenancy.Organization, error) { called = true; return v, nil }))},
				{"TenantUpdate", second(s.TenantUpdate(c, e.org.ID, missingID, func(v tenancy.Tenant) (tenancy.Tenant, error) { called = true; return v, nil }))},
				{"FolderUpdate", second(s.FolderUpdate(c, e.tenant.ID, missingID, func(v tenancy.Folder) (tenancy.Folder, error) { called = true; return v, nil }))},
				{"UserUpdate", second(s.UserUpdate(c, e.org.ID, missingID, func(v tenancy.User) (tenancy.User, error) { called = true; return v, nil }))},
				{"AppUpdate", second(s.AppUpdate(c, e.org.ID, missingID, func(v tenancy.App) (tenancy.App, error) { called = true; return v, nil }))},
				{"MachineUpdate", second(s.MachineUpdate(c, e.tenant.ID, missingID, func(v tenancy.Machine) (tenancy.Machine, error) { called = true; return v, nil }))},
				{"RoleUpdate", second(s.RoleUpdate(c, e.tenant.ID, missingID, func(v tenancy.Role) (tenancy.Role, error) { called = true; return v, nil }))},
				{"QueueDefinitionUpdate", second(s.QueueDefinitionUpdate(c, e.tenant.ID, missingID, func(v tenancy.QueueDefinition) (tenancy.QueueDefinition, error) {
					called = true
					return v, nil
				}))},
				{"OrganizationDelete", s.OrganizationDelete(c, missingID)},
				{"TenantDelete", s.TenantDelete(c, e.org.ID, missingID)},
				{"FolderDelete", s.FolderDelete(c, e.tenant.ID, missingID)},
				{"UserDelete", s.UserDelete(c, e.org.ID, missingID)},
				{"AppDelete", s.AppDelete(c, e.org.ID, missingID)},
				{"MachineDelete", s.MachineDelete(c, e.tenant.ID, missingID)},
				{"RoleDelete", s.RoleDelete(c, e.tenant.ID, missingID)},
				{"QueueDefinitionDelete", s.QueueDefinitionDelete(c, e.tenant.ID, missingID)},
			}
			for _, ch := range checks {
				wantNotFound(t, ch.err, ch.what+" of a missing row")
			}
			if called {
				t.Errorf("an Update called its function for a missing row")
			}
		}},
	}
}

func second[T any](_ T, err error) error { return err }

// membershipFixture is a tenant with two folders and one principal of each kind.
type membershipFixture struct {
	env
	a, b    tenancy.Folder
	user    tenancy.User
	app     tenancy.App
	machine tenancy.Machine
	roles   map[string]tenancy.Role // built-in roles by name
}

func newMembershipFixture(t testing.TB, s store.Store) membershipFixture {
	t.Helper()
	f := membershipFixture{env: mustEnv(t, s, "acme"), roles: map[string]tenancy.Role{}}
	f.a = mustFolder(t, s, f.tenant.ID, 0, "A")
	f.b = mustFolder(t, s, f.tenant.ID, 0, "B")
	f.user = mustUser(t, s, f.org.ID, "ann@example.com")
	f.app = mustApp(t, s, f.org.ID, "app-client")
	f.machine = mustMachine(t, s, f.tenant.ID, "Build-01", "m-client")
	for _, r := range tenancy.BuiltInRoles() {
		f.roles[r.Name] = mustRoleByName(t, s, f.tenant.ID, r.Name)
	}
	return f
}

func (f membershipFixture) role(name string) int64 { return f.roles[name].ID }

// listPrincipal returns a principal's memberships sorted by folder.
func listPrincipal(t testing.TB, s store.Store, tenantID int64, p tenancy.Principal) []tenancy.Membership {
	t.Helper()
	ms, err := s.MembershipListPrincipal(t.Context(), tenantID, p)
	ok(t, err, "MembershipListPrincipal")
	slices.SortFunc(ms, func(x, y tenancy.Membership) int { return cmp.Compare(x.FolderID, y.FolderID) })
	return ms
}

// listFolder returns a folder's memberships sorted by principal kind and id.
func listFolder(t testing.TB, s store.Store, tenantID, folderID int64) []tenancy.Membership {
	t.Helper()
	ms, err := s.MembershipListFolder(t.Context(), tenantID, folderID)
	ok(t, err, "MembershipListFolder")
	slices.SortFunc(ms, func(x, y tenancy.Membership) int {
		return cmp.Or(cmp.Compare(x.Principal.Kind, y.Principal.Kind), cmp.Compare(x.Principal.ID, y.Principal.ID))
	})
	return ms
}

func membershipTests() []test {
	return []test{
		{"SetAndList", func(t *testing.T, s store.Store) {
			f := newMembershipFixture(t, s)
			custom := mustRole(t, s, f.tenant.ID, "Asset Reader", tenancy.RoleTypeFolder, assetsView)
			tn := f.tenant.ID
			mustSetMembership(t, s, tn, 0, userP(f.user), f.role(tenancy.RoleAdministrator))
			mustSetMembership(t, s, tn, f.a.ID, userP(f.user), custom.ID, f.role(tenancy.RoleAutomationUser))
			mustSetMembership(t, s, tn, f.a.ID, appP(f.app), f.role(tenancy.RoleAutomationDeveloper))
			mustSetMembership(t, s, tn, 0, appP(f.app), f.role(tenancy.RoleAdministrator))
			mustSetMembership(t, s, tn, f.b.ID, machineP(f.machine), f.role(tenancy.RoleRobot))

			userTenant := tenancy.Membership{TenantID: tn, Principal: userP(f.user), RoleIDs: []int64{f.role(tenancy.RoleAdministrator)}}
			userA := tenancy.Membership{TenantID: tn, FolderID: f.a.ID, Principal: userP(f.user), RoleIDs: []int64{f.role(tenancy.RoleAutomationUser), custom.ID}}
			appTenant := tenancy.Membership{TenantID: tn, Principal: appP(f.app), RoleIDs: []int64{f.role(tenancy.RoleAdministrator)}}
			appA := tenancy.Membership{TenantID: tn, FolderID: f.a.ID, Principal: appP(f.app), RoleIDs: []int64{f.role(tenancy.RoleAutomationDeveloper)}}
			machineB := tenancy.Membership{TenantID: tn, FolderID: f.b.ID, Principal: machineP(f.machine), RoleIDs: []int64{f.role(tenancy.RoleRobot)}}

			sameList(t, "MembershipListPrincipal(user)", listPrincipal(t, s, tn, userP(f.user)), []tenancy.Membership{userTenant, userA})
			sameList(t, "MembershipListPrincipal(app)", listPrincipal(t, s, tn, appP(f.app)), []tenancy.Membership{appTenant, appA})
			sameList(t, "MembershipListPrincipal(machine)", listPrincipal(t, s, tn, machineP(f.machine)), []tenancy.Membership{machineB})
			// Sorted by kind: "app" < "machine" < "user".
			sameList(t, "MembershipListFolder(A)", listFolder(t, s, tn, f.a.ID), []tenancy.Membership{appA, userA})
			sameList(t, "MembershipListFolder(B)", listFolder(t, s, tn, f.b.ID), []tenancy.Membership{machineB})
			sameList(t, "MembershipListFolder(tenant)", listFolder(t, s, tn, 0), []tenancy.Membership{appTenant, userTenant})

			// Another tenant of the same organization sees none of it.
			other := mustTenant(t, s, f.org.ID, "Other")
			if ms := listPrincipal(t, s, other.ID, userP(f.user)); len(ms) != 0 {
				t.Errorf("MembershipListPrincipal in another tenant: %+v", ms)
			}
			if ms := listFolder(t, s, other.ID, 0); len(ms) != 0 {
				t.Errorf("MembershipListFolder(0) in another tenant: %+v", ms)
			}
		}},
		{"Replace", func(t *testing.T, s store.Store) {
			f := newMembershipFixture(t, s)
			tn := f.tenant.ID
			mustSetMembership(t, s, tn, f.a.ID, userP(f.user), f.role(tenancy.RoleAutomationUser), f.role(tenancy.RoleRobot))
			mustSetMembership(t, s, tn, f.b.ID, userP(f.user), f.role(tenancy.RoleAutomationUser))
			mustSetMembership(t, s, tn, f.a.ID, userP(f.user), f.role(tenancy.RoleFolderAdministrator))
			sameList(t, "memberships after replacing folder A's roles", listPrincipal(t, s, tn, userP(f.user)), []tenancy.Membership{
				{TenantID: tn, FolderID: f.a.ID, Principal: userP(f.user), RoleIDs: []int64{f.role(tenancy.RoleFolderAdministrator)}},
				{TenantID: tn, FolderID: f.b.ID, Principal: userP(f.user), RoleIDs: []int64{f.role(tenancy.RoleAutomationUser)}},
			})
			mustSetMembership(t, s, tn, 0, machineP(f.machine), f.role(tenancy.RoleAdministrator))
			mustSetMembership(t, s, tn, 0, machineP(f.machine), f.role(tenancy.RoleAdministrator))
			sameList(t, "tenant memberships after setting the same roles twice", listFolder(t, s, tn, 0), []tenancy.Membership{
				{TenantID: tn, Principal: machineP(f.machine), RoleIDs: []int64{f.role(tenancy.RoleAdministrator)}},
			})
		}},
		{"Remove", func(t *testing.T, s store.Store) {
			f := newMembershipFixture(t, s)
			tn := f.tenant.ID
			mustSetMembership(t, s, tn, f.a.ID, userP(f.user), f.role(tenancy.RoleAutomationUser))
			mustSetMembership(t, s, tn, f.a.ID, appP(f.app), f.role(tenancy.RoleAutomationUser))
			mustSetMembership(t, s, tn, 0, userP(f.user), f.role(tenancy.RoleAdministrator))
			mustSetMembership(t, s, tn, f.a.ID, userP(f.user))
			mustSetMembership(t, s, tn, 0, userP(f.user), []int64{}...)
			if ms := listPrincipal(t, s, tn, userP(f.user)); len(ms) != 0 {
				t.Errorf("MembershipListPrincipal after removing every membership: %+v", ms)
			}
			sameList(t, "MembershipListFolder(A) after removing the user", listFolder(t, s, tn, f.a.ID), []tenancy.Membership{
				{TenantID: tn, FolderID: f.a.ID, Principal: appP(f.app), RoleIDs: []int64{f.role(tenancy.RoleAutomationUser)}},
			})
			if ms := listFolder(t, s, tn, 0); len(ms) != 0 {
				t.Errorf("MembershipListFolder(tenant) after removing the user: %+v", ms)
			}
			// Removing what is not there is not an error.
			mustSetMembership(t, s, tn, f.b.ID, machineP(f.machine))
		}},
	}
}

// accessFixture is a tenant with folders A, A/B and C, and a folder of another tenant.
type accessFixture struct {
	membershipFixture
	ab, c   tenancy.Folder
	foreign tenancy.Folder
}

func newAccessFixture(t testing.TB, s store.Store) accessFixture {
	t.Helper()
	f := accessFixture{membershipFixture: newMembershipFixture(t, s)}
	f.ab = mustFolder(t, s, f.tenant.ID, f.a.ID, "B")
	f.c = mustFolder(t, s, f.tenant.ID, 0, "C")
	other := mustEnv(t, s, "other")
	f.foreign = mustFolder(t, s, other.tenant.ID, 0, "A")
	return f
}

func mustAccess(t testing.TB, s store.Store, tenantID int64, p tenancy.Principal, orgAdmin bool) tenancy.Access {
	t.Helper()
	a, err := s.AccessGet(t.Context(), tenantID, p, orgAdmin)
	ok(t, err, fmt.Sprintf("AccessGet(%v, orgAdmin %v)", p, orgAdmin))
	return a
}

// wantPerm checks one permission of a principal in one folder.
func wantPerm(t testing.TB, a tenancy.Access, folder tenancy.Folder, p tenancy.Permission, want bool) {
	t.Helper()
	if got := a.FolderPermissions(folder.ID).Has(p); got != want {
		t.Errorf("%s in folder %q: %v, want %v (folder permissions %v)", p, folder.FullyQualifiedName, got, want, a.FolderPermissions(folder.ID).Sorted())
	}
}

func wantVisible(t testing.TB, a tenancy.Access, want ...tenancy.Folder) {
	t.Helper()
	wantIDs := []int64{}
	for _, f := range want {
		wantIDs = append(wantIDs, f.ID)
	}
	slices.Sort(wantIDs)
	if got := a.VisibleFolders(); !slices.Equal(got, wantIDs) {
		t.Errorf("VisibleFolders = %v, want %v", got, wantIDs)
	}
}

// allFolderPerms is every permission a folder can grant.
func allFolderPerms() []tenancy.Permission {
	var out []tenancy.Permission
	for _, area := range tenancy.FolderAreas {
		for _, act := range []string{tenancy.View, tenancy.Create, tenancy.Edit, tenancy.Delete} {
			out = append(out, tenancy.Perm(area, act))
		}
	}
	return out
}

func accessTests() []test {
	return []test{
		{"FolderRoleInherited", func(t *testing.T, s store.Store) {
			f := newAccessFixture(t, s)
			mustSetMembership(t, s, f.tenant.ID, f.a.ID, userP(f.user), f.role(tenancy.RoleAutomationUser))
			a := mustAccess(t, s, f.tenant.ID, userP(f.user), false)
			if a.TenantAdmin {
				t.Errorf("TenantAdmin for a user with only a folder role")
			}
			wantPerm(t, a, f.a, jobsCreate, true)
			wantPerm(t, a, f.ab, jobsCreate, true)
			wantPerm(t, a, f.c, jobsCreate, false)
			wantPerm(t, a, f.b, jobsCreate, false)
			wantPerm(t, a, f.a, queuesDel, false)
			if a.TenantPermissions().Has(usersView) {
				t.Errorf("a folder role grants %s at tenant level", usersView)
			}
			wantVisible(t, a, f.a, f.ab)
			if len(a.FolderPermissions(f.foreign.ID)) != 0 {
				t.Errorf("another tenant's folder has permissions: %v", a.FolderPermissions(f.foreign.ID).Sorted())
			}
		}},
		{"TenantAdministrator", func(t *testing.T, s store.Store) {
			f := newAccessFixture(t, s)
			mustSetMembership(t, s, f.tenant.ID, 0, userP(f.user), f.role(tenancy.RoleAdministrator))
			a := mustAccess(t, s, f.tenant.ID, userP(f.user), false)
			if !a.TenantAdmin {
				t.Errorf("TenantAdmin false for a holder of the tenant Administrator role")
			}
			for _, folder := range []tenancy.Folder{f.a, f.ab, f.b, f.c} {
				for _, p := range allFolderPerms() {
					wantPerm(t, a, folder, p, true)
				}
			}
			if !a.TenantPermissions().Has(usersCreate) {
				t.Errorf("tenant Administrator lacks %s", usersCreate)
			}
			wantVisible(t, a, f.a, f.ab, f.b, f.c)
			if len(a.FolderPermissions(f.foreign.ID)) != 0 {
				t.Errorf("another tenant's folder has permissions: %v", a.FolderPermissions(f.foreign.ID).Sorted())
			}
		}},
		{"OrgAdmin", func(t *testing.T, s store.Store) {
			f := newAccessFixture(t, s)
			a := mustAccess(t, s, f.tenant.ID, userP(f.user), true)
			if !a.TenantAdmin {
				t.Errorf("TenantAdmin false for an organization administrator")
			}
			for _, folder := range []tenancy.Folder{f.a, f.ab, f.b, f.c} {
				for _, p := range allFolderPerms() {
					wantPerm(t, a, folder, p, true)
				}
			}
			if !a.TenantPermissions().Has(usersCreate) {
				t.Errorf("organization administrator lacks %s", usersCreate)
			}
			wantVisible(t, a, f.a, f.ab, f.b, f.c)
		}},
		{"NoMemberships", func(t *testing.T, s store.Store) {
			f := newAccessFixture(t, s)
			// Someone else's grants must not leak to the user.
			mustSetMembership(t, s, f.tenant.ID, 0, appP(f.app), f.role(tenancy.RoleAdministrator))
			mustSetMembership(t, s, f.tenant.ID, f.a.ID, machineP(f.machine), f.role(tenancy.RoleRobot))
			a := mustAccess(t, s, f.tenant.ID, userP(f.user), false)
			if a.TenantAdmin || len(a.TenantPermissions()) != 0 {
				t.Errorf("a user without memberships: TenantAdmin %v, tenant permissions %v", a.TenantAdmin, a.TenantPermissions().Sorted())
			}
			wantVisible(t, a)
			// The folder tree is still there, for the answers "no".
			for _, folder := range []tenancy.Folder{f.a, f.ab, f.b, f.c} {
				if parent, found := a.Parent[folder.ID]; !found || parent != folder.ParentID {
					t.Errorf("Access.Parent[%d] = %d, %v; want %d, true", folder.ID, parent, found, folder.ParentID)
				}
			}
			if _, found := a.Parent[f.foreign.ID]; found {
				t.Errorf("Access.Parent holds a folder of another tenant")
			}
		}},
		{"MachineRobot", func(t *testing.T, s store.Store) {
			f := newAccessFixture(t, s)
			mustSetMembership(t, s, f.tenant.ID, f.c.ID, machineP(f.machine), f.role(tenancy.RoleRobot))
			a := mustAccess(t, s, f.tenant.ID, machineP(f.machine), false)
			wantPerm(t, a, f.c, txEdit, true)
			wantPerm(t, a, f.c, jobsCreate, false)
			wantPerm(t, a, f.a, txEdit, false)
			wantVisible(t, a, f.c)
		}},
		{"AppAndCustomRole", func(t *testing.T, s store.Store) {
			f := newAccessFixture(t, s)
			reader := mustRole(t, s, f.tenant.ID, "Asset Reader", tenancy.RoleTypeFolder, assetsView)
			mustSetMembership(t, s, f.tenant.ID, f.b.ID, appP(f.app), f.role(tenancy.RoleAutomationDeveloper))
			mustSetMembership(t, s, f.tenant.ID, f.c.ID, appP(f.app), reader.ID)
			a := mustAccess(t, s, f.tenant.ID, appP(f.app), false)
			wantPerm(t, a, f.b, queuesDel, true)
			wantPerm(t, a, f.a, queuesDel, false)
			wantPerm(t, a, f.c, assetsView, true)
			wantPerm(t, a, f.c, assetsEdit, false)
			wantPerm(t, a, f.c, jobsView, false)
			wantVisible(t, a, f.b, f.c)

			// A custom tenant role grants its tenant-level permissions, and no more.
			userReader := mustRole(t, s, f.tenant.ID, "User Reader", tenancy.RoleTypeTenant, usersView)
			mustSetMembership(t, s, f.tenant.ID, 0, userP(f.user), userReader.ID)
			u := mustAccess(t, s, f.tenant.ID, userP(f.user), false)
			if u.TenantAdmin || !u.TenantPermissions().Has(usersView) || u.TenantPermissions().Has(usersCreate) {
				t.Errorf("custom tenant role: TenantAdmin %v, tenant permissions %v; want false, [%s]", u.TenantAdmin, u.TenantPermissions().Sorted(), usersView)
			}
		}},
		{"MembershipsFollowChanges", func(t *testing.T, s store.Store) {
			f := newAccessFixture(t, s)
			mustSetMembership(t, s, f.tenant.ID, f.a.ID, userP(f.user), f.role(tenancy.RoleAutomationUser))
			mustSetMembership(t, s, f.tenant.ID, f.a.ID, userP(f.user))
			a := mustAccess(t, s, f.tenant.ID, userP(f.user), false)
			wantPerm(t, a, f.a, jobsCreate, false)
			wantVisible(t, a)
		}},
	}
}
