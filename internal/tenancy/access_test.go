package tenancy

import (
	"slices"
	"testing"
)

func TestBuiltInRolesMatchDesign(t *testing.T) {
	t.Parallel()
	byName := map[string]Role{}
	for _, r := range BuiltInRoles() {
		byName[r.Name] = r
	}
	has := func(role string, p Permission) bool { return slices.Contains(byName[role].Permissions, p) }
	cases := []struct {
		role string
		perm Permission
		want bool
	}{
		{RoleAdministrator, "Machines.Create", true},
		{RoleAdministrator, "Jobs.Delete", true},
		{RoleFolderAdministrator, "Assets.Delete", true},
		{RoleFolderAdministrator, "Machines.View", false},
		{RoleAutomationDeveloper, "Processes.Delete", true},
		{RoleAutomationDeveloper, "Packages.Create", false},
		{RoleAutomationDeveloper, "Logs.Delete", false},
		{RoleAutomationUser, "Jobs.Create", true},
		{RoleAutomationUser, "Jobs.Delete", false},
		{RoleAutomationUser, "Queues.Create", false},
		{RoleAutomationUser, "Transactions.Edit", true},
		{RoleRobot, "Jobs.Create", false},
		{RoleRobot, "Jobs.Edit", true},
		{RoleRobot, "Logs.Create", true},
		{RoleRobot, "Logs.View", false},
		{RoleRobot, "Robots.View", false},
	}
	for _, c := range cases {
		if got := has(c.role, c.perm); got != c.want {
			t.Errorf("%s has %s = %v, want %v", c.role, c.perm, got, c.want)
		}
	}
	if n := len(byName[RoleRobot].Permissions); n != 10 {
		t.Errorf("Robot has %d permissions, want 10", n)
	}
}

func TestAccess(t *testing.T) {
	t.Parallel()
	roles := map[int64]Role{}
	for i, r := range BuiltInRoles() {
		r.ID = int64(i + 1)
		roles[r.ID] = r
	}
	id := func(name string) int64 {
		for k, r := range roles {
			if r.Name == name {
				return k
			}
		}
		t.Fatalf("no role %s", name)
		return 0
	}
	// 1 Shared; 2 Finance; 3 Finance/AP (child of 2); 4 Finance/AP/2026 (child of 3)
	folders := []Folder{{ID: 1}, {ID: 2}, {ID: 3, ParentID: 2}, {ID: 4, ParentID: 3}}
	p := Principal{Kind: PrincipalUser, ID: 9}
	a := NewAccess(false, []Membership{
		{FolderID: 3, Principal: p, RoleIDs: []int64{id(RoleAutomationUser)}},
		{FolderID: 1, Principal: p, RoleIDs: []int64{id(RoleRobot)}},
	}, roles, folders)
	if !a.FolderPermissions(4).Has("Jobs.Create") || !a.FolderPermissions(3).Has("Jobs.Create") {
		t.Error("the role in Finance/AP does not reach it and its subfolder")
	}
	if len(a.FolderPermissions(2)) != 0 {
		t.Error("the role in Finance/AP leaks up to Finance")
	}
	if a.FolderPermissions(1).Has("Jobs.Create") || !a.FolderPermissions(1).Has("Jobs.Edit") {
		t.Error("Shared should have exactly the Robot role")
	}
	if len(a.FolderPermissions(99)) != 0 {
		t.Error("a folder of another tenant has permissions")
	}
	if got := a.VisibleFolders(); !slices.Equal(got, []int64{1, 3, 4}) {
		t.Errorf("VisibleFolders = %v", got)
	}
	if a.TenantAdmin || len(a.TenantPermissions()) != 0 {
		t.Error("no tenant role, yet tenant permissions")
	}
	admin := NewAccess(false, []Membership{{Principal: p, RoleIDs: []int64{id(RoleAdministrator)}}}, roles, folders)
	if !admin.TenantAdmin || !admin.FolderPermissions(4).Has("Assets.Delete") || !admin.TenantPermissions().Has("Users.Create") {
		t.Error("tenant Administrator lacks permissions")
	}
	if len(admin.FolderPermissions(99)) != 0 {
		t.Error("tenant Administrator has permissions in a folder the tenant does not have")
	}
	org := NewAccess(true, nil, roles, folders)
	if !org.FolderPermissions(1).Has("Queues.Delete") || !org.TenantPermissions().Has("Machines.Delete") {
		t.Error("organization administrator lacks permissions")
	}
}
