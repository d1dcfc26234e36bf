package tenancy

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Permission is "Area.Action", as UiPath names them: "Jobs.Create", "Queues.View".
type Permission string

// The actions a permission grants on its area.
const (
	View   = "View"
	Create = "Create"
	Edit   = "Edit"
	Delete = "Delete"
)

var allActions = []string{View, Create, Edit, Delete}

// Folder-level areas: what a role held in a folder can grant there.
var FolderAreas = []string{"Assets", "Folders", "Jobs", "Logs", "Packages", "Processes", "Queues", "Robots", "Transactions"}

// Tenant-level areas: only the tenant Administrator role grants these.
var TenantAreas = []string{"Audit", "Folders", "License", "Machines", "Packages", "Roles", "Settings", "Users"}

// Perm builds a permission from an area and an action.
func Perm(area, action string) Permission { return Permission(area + "." + action) }

// RoleType says where a role may be assigned.
type RoleType string

const (
	RoleTypeTenant RoleType = "Tenant"
	RoleTypeFolder RoleType = "Folder"
)

// Role is a named set of permissions. Built-in roles (TenantID 0) are seeded by a migration
// and cannot be edited; custom roles belong to a tenant.
type Role struct {
	ID          int64
	TenantID    int64 // 0 for built-in roles
	Name        string
	Type        RoleType
	BuiltIn     bool
	Permissions []Permission
}

// The built-in role names (DESIGN §4).
const (
	RoleAdministrator       = "Administrator"
	RoleFolderAdministrator = "Folder Administrator"
	RoleAutomationDeveloper = "Automation Developer"
	RoleAutomationUser      = "Automation User"
	RoleRobot               = "Robot"
)

func all(area string) []Permission {
	out := make([]Permission, 0, len(allActions))
	for _, a := range allActions {
		out = append(out, Perm(area, a))
	}
	return out
}

func perms(spec ...string) []Permission {
	var out []Permission
	for _, s := range spec {
		area, actions, _ := strings.Cut(s, ".")
		if actions == "*" {
			out = append(out, all(area)...)
			continue
		}
		for _, a := range strings.Split(actions, "/") {
			out = append(out, Perm(area, a))
		}
	}
	return out
}

// BuiltInRoles returns the built-in roles with exactly the permissions of DESIGN §4.
// The migrations seed the same set; a test keeps the two equal.
func BuiltInRoles() []Role {
	var admin []Permission
	for _, a := range TenantAreas {
		admin = append(admin, all(a)...)
	}
	for _, a := range FolderAreas {
		admin = append(admin, all(a)...)
	}
	var folderAdmin []Permission
	for _, a := range FolderAreas {
		folderAdmin = append(folderAdmin, all(a)...)
	}
	roles := []Role{
		{Name: RoleAdministrator, Type: RoleTypeTenant, Permissions: admin},
		{Name: RoleFolderAdministrator, Type: RoleTypeFolder, Permissions: folderAdmin},
		{Name: RoleAutomationDeveloper, Type: RoleTypeFolder, Permissions: perms(
			"Processes.*", "Packages.View", "Jobs.*", "Queues.*", "Transactions.*", "Assets.*",
			"Logs.View/Create", "Folders.View", "Robots.View")},
		{Name: RoleAutomationUser, Type: RoleTypeFolder, Permissions: perms(
			"Processes.View", "Packages.View", "Jobs.View/Create/Edit", "Queues.View",
			"Transactions.View/Create/Edit", "Assets.View", "Logs.View/Create", "Folders.View", "Robots.View")},
		{Name: RoleRobot, Type: RoleTypeFolder, Permissions: perms(
			"Processes.View", "Packages.View", "Jobs.View/Edit", "Queues.View",
			"Transactions.View/Create/Edit", "Assets.View", "Logs.Create")},
	}
	for i := range roles {
		roles[i].BuiltIn = true
		roles[i].Permissions = dedupe(roles[i].Permissions)
	}
	return roles
}

func dedupe(p []Permission) []Permission {
	slices.Sort(p)
	return slices.Compact(p)
}

// PrincipalKind names who acts.
type PrincipalKind string

const (
	PrincipalUser    PrincipalKind = "user"
	PrincipalApp     PrincipalKind = "app"
	PrincipalMachine PrincipalKind = "machine"
)

// Principal identifies a user, app or machine by kind and id.
type Principal struct {
	Kind PrincipalKind
	ID   int64
}

func (p Principal) String() string { return fmt.Sprintf("%s %d", p.Kind, p.ID) }

// Membership is a principal holding roles in a tenant (FolderID 0) or in one folder.
// A folder membership also applies to the folder's subfolders.
type Membership struct {
	TenantID  int64
	FolderID  int64
	Principal Principal
	RoleIDs   []int64
}

// PermissionSet is a set of permissions.
type PermissionSet map[Permission]struct{}

// Has reports whether p is in the set.
func (s PermissionSet) Has(p Permission) bool { _, ok := s[p]; return ok }

// Sorted lists the permissions in order, for messages and tests.
func (s PermissionSet) Sorted() []Permission {
	out := make([]Permission, 0, len(s))
	for p := range s {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Access is everything needed to answer "which permissions does this principal have here"
// for one principal in one tenant, without further store reads.
type Access struct {
	// TenantAdmin is true for organization administrators and holders of a tenant role
	// granting everything (the built-in Administrator).
	TenantAdmin bool
	// Tenant holds the permissions granted by tenant-level roles.
	Tenant PermissionSet
	// ByFolder holds the permissions granted by folder memberships, by folder id.
	ByFolder map[int64]PermissionSet
	// Parent maps each folder of the tenant to its parent (0 for top-level folders).
	Parent map[int64]int64
}

// NewAccess assembles an Access from a principal's memberships, the roles they name and the
// tenant's folder tree. orgAdmin makes the principal a tenant Administrator.
func NewAccess(orgAdmin bool, memberships []Membership, roles map[int64]Role, folders []Folder) Access {
	a := Access{
		TenantAdmin: orgAdmin,
		Tenant:      PermissionSet{},
		ByFolder:    map[int64]PermissionSet{},
		Parent:      make(map[int64]int64, len(folders)),
	}
	for _, f := range folders {
		a.Parent[f.ID] = f.ParentID
	}
	for _, m := range memberships {
		set := a.Tenant
		if m.FolderID != 0 {
			if a.ByFolder[m.FolderID] == nil {
				a.ByFolder[m.FolderID] = PermissionSet{}
			}
			set = a.ByFolder[m.FolderID]
		}
		for _, id := range m.RoleIDs {
			r, ok := roles[id]
			if !ok {
				continue
			}
			if m.FolderID == 0 && r.BuiltIn && r.Name == RoleAdministrator {
				a.TenantAdmin = true
			}
			for _, p := range r.Permissions {
				set[p] = struct{}{}
			}
		}
	}
	return a
}

// TenantPermissions returns what the principal may do at tenant level.
func (a Access) TenantPermissions() PermissionSet {
	if a.TenantAdmin {
		return fullSet(TenantAreas, FolderAreas)
	}
	out := PermissionSet{}
	for p := range a.Tenant {
		out[p] = struct{}{}
	}
	return out
}

// FolderPermissions returns what the principal may do in the folder: the union of the roles
// it holds in that folder and in its ancestors, plus tenant-level grants of folder areas.
// A folder the tenant does not have yields the empty set (unless the principal is a tenant
// Administrator, who may do everything in every folder of the tenant that exists).
func (a Access) FolderPermissions(folderID int64) PermissionSet {
	if _, exists := a.Parent[folderID]; !exists {
		return PermissionSet{}
	}
	if a.TenantAdmin {
		return fullSet(FolderAreas)
	}
	out := PermissionSet{}
	for _, area := range FolderAreas {
		for _, act := range allActions {
			if p := Perm(area, act); a.Tenant.Has(p) {
				out[p] = struct{}{}
			}
		}
	}
	for id, hops := folderID, 0; id != 0 && hops <= MaxFolderDepth; id, hops = a.Parent[id], hops+1 {
		for p := range a.ByFolder[id] {
			out[p] = struct{}{}
		}
	}
	return out
}

// VisibleFolders returns the ids of the folders in which the principal holds any permission,
// in ascending order: the folders it may use.
func (a Access) VisibleFolders() []int64 {
	var out []int64
	for id := range a.Parent {
		if len(a.FolderPermissions(id)) > 0 {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func fullSet(areaLists ...[]string) PermissionSet {
	out := PermissionSet{}
	for _, areas := range areaLists {
		for _, area := range areas {
			for _, p := range all(area) {
				out[p] = struct{}{}
			}
		}
	}
	return out
}
