package api

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// Folder assignments: who holds which folder roles where, in UiPath's shapes.

// assignUsersInput is UiPath's {"assignments": UserAssignmentsDto}.
type assignUsersInput struct {
	Assignments *struct {
		UserIDs        []int64 `json:"UserIds"`
		RolesPerFolder []struct {
			FolderID *int64  `json:"FolderId"`
			RoleIDs  []int64 `json:"RoleIds"`
		} `json:"RolesPerFolder"`
	} `json:"assignments"`
}

// member is a user or app as the assignment actions name it.
type member struct {
	p    tenancy.Principal
	name string // "user bob@acme.test", "app invoice-bot"
}

// assignUsers serves POST /odata/Folders/UiPath.Server.Configuration.OData.AssignUsers:
// each user (or app: negative Id) holds exactly RoleIds in each folder of RolesPerFolder
// afterwards (the roles it held there before are replaced).
func assignUsers(a *API, c *call) *apiError {
	var in assignUsersInput
	if e := bind(c, &in); e != nil {
		return e
	}
	as := in.Assignments
	if as == nil {
		return invalid(`assignments is required: {"assignments":{"UserIds":[…],"RolesPerFolder":[{"FolderId":…,"RoleIds":[…]}]}}`)
	}
	if len(as.UserIDs) == 0 {
		return invalid("assignments.UserIds is empty: name the users (external applications by their negative Id)")
	}
	if len(as.RolesPerFolder) == 0 {
		return invalid("assignments.RolesPerFolder is empty: name the folders and the roles to hold there")
	}
	members, e := a.members(c, as.UserIDs)
	if e != nil {
		return e
	}
	type grant struct {
		folder tenancy.Folder
		roles  []tenancy.Role
	}
	var grants []grant
	for i, rf := range as.RolesPerFolder {
		if rf.FolderID == nil {
			return invalid("assignments.RolesPerFolder[%d].FolderId is required", i)
		}
		f, e := a.folderByID(c, *rf.FolderID)
		if e != nil {
			return e
		}
		if len(rf.RoleIDs) == 0 {
			return invalid("assignments.RolesPerFolder[%d].RoleIds is empty: to take every role away, use Folders/UiPath.Server.Configuration.OData.RemoveUserFromFolder", i)
		}
		roles, e := a.folderRoles(c, rf.RoleIDs)
		if e != nil {
			return e
		}
		j := slices.IndexFunc(grants, func(g grant) bool { return g.folder.ID == f.ID })
		if j < 0 {
			grants = append(grants, grant{folder: f})
			j = len(grants) - 1
		}
		for _, r := range roles {
			if !slices.ContainsFunc(grants[j].roles, func(x tenancy.Role) bool { return x.ID == r.ID }) {
				grants[j].roles = append(grants[j].roles, r)
			}
		}
	}
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		var parts, folders []string
		for _, g := range grants {
			for _, m := range members {
				if err := tx.MembershipSet(c.ctx(), tenancy.Membership{TenantID: c.tenant.ID, FolderID: g.folder.ID,
					Principal: m.p, RoleIDs: roleIDs(g.roles)}); err != nil {
					return store.AuditEntry{}, err
				}
			}
			folders = append(folders, g.folder.FullyQualifiedName)
			parts = append(parts, fmt.Sprintf("in folder %s: roles [%s]", g.folder.FullyQualifiedName, strings.Join(roleNames(g.roles), ", ")))
		}
		entry := store.AuditEntry{Action: "AssignUsers", Component: "Folders", EntityName: strings.Join(folders, ", "),
			Details: "assigned " + memberNames(members) + " " + strings.Join(parts, "; ")}
		if len(grants) == 1 {
			entry.EntityID = grants[0].folder.ID
		}
		return entry, nil
	})
	if e := storeError(c, err); e != nil {
		return e
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// assignMachinesInput is UiPath's {"assignments": MachineAssignmentsDto}.
type assignMachinesInput struct {
	Assignments *struct {
		MachineIDs []int64 `json:"MachineIds"`
		FolderIDs  []int64 `json:"FolderIds"`
	} `json:"assignments"`
}

// assignMachines serves POST /odata/Folders/UiPath.Server.Configuration.OData.AssignMachines:
// each machine's robots hold the built-in Robot role in each folder (besides any role the
// machine already holds there).
func assignMachines(a *API, c *call) *apiError {
	var in assignMachinesInput
	if e := bind(c, &in); e != nil {
		return e
	}
	as := in.Assignments
	if as == nil {
		return invalid(`assignments is required: {"assignments":{"MachineIds":[…],"FolderIds":[…]}}`)
	}
	if len(as.MachineIDs) == 0 || len(as.FolderIDs) == 0 {
		return invalid("assignments.MachineIds and assignments.FolderIds must each name at least one")
	}
	var machines []tenancy.Machine
	for _, id := range as.MachineIDs {
		m, err := a.st.MachineGet(c.ctx(), c.tenant.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			return notFound("machine %d does not exist in tenant %s", id, c.tenant.Name)
		} else if err != nil {
			return internalError(c.r, err)
		}
		if !slices.ContainsFunc(machines, func(x tenancy.Machine) bool { return x.ID == m.ID }) {
			machines = append(machines, m)
		}
	}
	var folders []tenancy.Folder
	for _, id := range as.FolderIDs {
		f, e := a.folderByID(c, id)
		if e != nil {
			return e
		}
		if !slices.ContainsFunc(folders, func(x tenancy.Folder) bool { return x.ID == f.ID }) {
			folders = append(folders, f)
		}
	}
	robot, e := a.builtInRole(c, tenancy.RoleRobot)
	if e != nil {
		return e
	}
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		var mNames, fNames []string
		for _, m := range machines {
			p := tenancy.Principal{Kind: tenancy.PrincipalMachine, ID: m.ID}
			held, err := tx.MembershipListPrincipal(c.ctx(), c.tenant.ID, p)
			if err != nil {
				return store.AuditEntry{}, err
			}
			for _, f := range folders {
				ids := []int64{robot.ID}
				for _, h := range held {
					if h.FolderID == f.ID {
						ids = append(ids, h.RoleIDs...)
					}
				}
				if err := tx.MembershipSet(c.ctx(), tenancy.Membership{TenantID: c.tenant.ID, FolderID: f.ID, Principal: p, RoleIDs: ids}); err != nil {
					return store.AuditEntry{}, err
				}
			}
			mNames = append(mNames, m.Name)
		}
		for _, f := range folders {
			fNames = append(fNames, f.FullyQualifiedName)
		}
		entry := store.AuditEntry{Action: "AssignMachines", Component: "Folders", EntityName: strings.Join(fNames, ", "),
			Details: "assigned machines " + strings.Join(mNames, ", ") + " to folders " + strings.Join(fNames, ", ") + " with role " + robot.Name}
		if len(folders) == 1 {
			entry.EntityID = folders[0].ID
		}
		return entry, nil
	})
	if e := storeError(c, err); e != nil {
		return e
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// folderUserDTO is UiPath's UserEntity of a UserRolesDto: the UserDto and whether the
// access comes only from above the folder.
type folderUserDTO struct {
	tenantUserDTO
	IsInherited bool `json:"IsInherited"`
}

// folderRoleDTO is a role held in a folder: Origin Assigned (held in the folder itself)
// or Inherited (held in an ancestor folder, or at tenant level).
type folderRoleDTO struct {
	ID     int64  `json:"Id"`
	Name   string `json:"Name"`
	Origin string `json:"Origin"`
}

// userRolesDTO is UiPath's UserRolesDto.
type userRolesDTO struct {
	ID         int64           `json:"Id"`
	UserEntity folderUserDTO   `json:"UserEntity"`
	Roles      []folderRoleDTO `json:"Roles"`
}

// getUsersForFolder serves GET /odata/Folders/UiPath.Server.Configuration.OData.GetUsersForFolder(key=5,includeInherited=false):
// the users and apps holding roles in the folder; with includeInherited=true also those
// holding roles in its ancestors or at tenant level, and the organization administrators.
func getUsersForFolder(a *API, c *call) *apiError {
	raw, ok := c.path.Params["key"]
	if !ok {
		return invalid("GetUsersForFolder needs the folder: GetUsersForFolder(key=<folder Id>,includeInherited=false)")
	}
	id, err := strconv.ParseInt(strings.Trim(raw, "'"), 10, 64)
	if err != nil {
		return invalid("GetUsersForFolder(key=%s): the key must be a folder Id (an integer)", raw)
	}
	inherited := false
	if v, ok := c.path.Params["includeinherited"]; ok {
		if inherited, err = strconv.ParseBool(strings.Trim(v, "'")); err != nil {
			return invalid("GetUsersForFolder: includeInherited must be true or false, got %s", v)
		}
	}
	f, e := a.folderByID(c, id)
	if e != nil {
		return e
	}
	ctx := c.ctx()
	allRoles, err := a.st.RoleList(ctx, c.tenant.ID)
	if err != nil {
		return internalError(c.r, err)
	}
	roleName := map[int64]string{}
	grantsFolderAccess := map[int64]bool{} // tenant roles granting some folder permission
	for _, r := range allRoles {
		roleName[r.ID] = r.Name
		for _, p := range r.Permissions {
			area, _, _ := strings.Cut(string(p), ".")
			if slices.Contains(tenancy.FolderAreas, area) {
				grantsFolderAccess[r.ID] = true
			}
		}
	}
	type held struct {
		direct bool
		roles  map[int64]string // role id → origin
	}
	who := map[tenancy.Principal]*held{}
	add := func(ms []tenancy.Membership, origin string) {
		for _, m := range ms {
			if m.Principal.Kind == tenancy.PrincipalMachine {
				continue // machines are not users
			}
			h := who[m.Principal]
			if h == nil {
				h = &held{roles: map[int64]string{}}
				who[m.Principal] = h
			}
			if origin == "Assigned" {
				h.direct = true
			}
			for _, r := range m.RoleIDs {
				if h.roles[r] != "Assigned" {
					h.roles[r] = origin
				}
			}
		}
	}
	ms, err := a.st.MembershipListFolder(ctx, c.tenant.ID, f.ID)
	if err != nil {
		return internalError(c.r, err)
	}
	add(ms, "Assigned")
	users, err := a.st.UserList(ctx, c.org.ID)
	if err != nil {
		return internalError(c.r, err)
	}
	if inherited {
		for p := f.ParentID; p != 0; {
			anc, err := a.st.FolderGet(ctx, c.tenant.ID, p)
			if err != nil {
				return internalError(c.r, err)
			}
			ms, err := a.st.MembershipListFolder(ctx, c.tenant.ID, anc.ID)
			if err != nil {
				return internalError(c.r, err)
			}
			add(ms, "Inherited")
			p = anc.ParentID
		}
		// Tenant roles count where they grant folder permissions (Administrator does).
		ms, err := a.st.MembershipListFolder(ctx, c.tenant.ID, 0)
		if err != nil {
			return internalError(c.r, err)
		}
		for i := range ms {
			ms[i].RoleIDs = slices.DeleteFunc(ms[i].RoleIDs, func(id int64) bool { return !grantsFolderAccess[id] })
		}
		ms = slices.DeleteFunc(ms, func(m tenancy.Membership) bool { return len(m.RoleIDs) == 0 })
		add(ms, "Inherited")
		admin, e := a.builtInRole(c, tenancy.RoleAdministrator)
		if e != nil {
			return e
		}
		var admins []tenancy.Membership
		for _, u := range users {
			if u.OrgAdmin {
				admins = append(admins, tenancy.Membership{Principal: tenancy.Principal{Kind: tenancy.PrincipalUser, ID: u.ID}, RoleIDs: []int64{admin.ID}})
			}
		}
		add(admins, "Inherited")
	}
	apps, err := a.st.AppList(ctx, c.org.ID)
	if err != nil {
		return internalError(c.r, err)
	}
	rows := map[tenancy.Principal]store.TenantUser{}
	for _, u := range users {
		rows[tenancy.Principal{Kind: tenancy.PrincipalUser, ID: u.ID}] = tenantUserOf(u)
	}
	for _, app := range apps {
		rows[tenancy.Principal{Kind: tenancy.PrincipalApp, ID: app.ID}] = tenantAppOf(app)
	}
	tenantRoles, e := a.tenantRoleNames(c)
	if e != nil {
		return e
	}
	out := []userRolesDTO{}
	for p, h := range who {
		tu, ok := rows[p]
		if !ok {
			continue
		}
		d := userRolesDTO{ID: tu.ID, UserEntity: folderUserDTO{tenantUserDTO: toTenantUserDTO(c, tu, tenantRoles), IsInherited: !h.direct}}
		for id, origin := range h.roles {
			d.Roles = append(d.Roles, folderRoleDTO{ID: id, Name: roleName[id], Origin: origin})
		}
		slices.SortFunc(d.Roles, func(x, y folderRoleDTO) int { return cmp.Compare(x.ID, y.ID) })
		out = append(out, d)
	}
	// Users by Id, then apps.
	slices.SortFunc(out, func(x, y userRolesDTO) int {
		if (x.ID < 0) != (y.ID < 0) {
			return cmp.Compare(y.ID, x.ID)
		}
		return cmp.Compare(abs(x.ID), abs(y.ID))
	})
	return writeList(a, c, "UserRoles", out, len(out))
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// removeUserFromFolder serves POST /odata/Folders/UiPath.Server.Configuration.OData.RemoveUserFromFolder
// {"userId","folderId"} and POST /odata/Folders(key)/…RemoveUserFromFolder {"userId"}: the
// user (or app) no longer holds any role in the folder.
func removeUserFromFolder(a *API, c *call) *apiError {
	var in struct {
		UserID   *int64 `json:"userId"`
		FolderID *int64 `json:"folderId"`
	}
	if e := bind(c, &in); e != nil {
		return e
	}
	if in.UserID == nil {
		return invalid("userId is required (an external application by its negative Id)")
	}
	var folderID int64
	switch {
	case c.path.HasKey:
		id, e := folderKey(c)
		if e != nil {
			return e
		}
		if in.FolderID != nil && *in.FolderID != id {
			return invalid("folderId %d differs from the folder of the URL, Folders(%d)", *in.FolderID, id)
		}
		folderID = id
	case in.FolderID == nil:
		return invalid("folderId is required (or call Folders(<folder Id>)/UiPath.Server.Configuration.OData.RemoveUserFromFolder)")
	default:
		folderID = *in.FolderID
	}
	ms, e := a.members(c, []int64{*in.UserID})
	if e != nil {
		return e
	}
	m := ms[0]
	f, e := a.folderByID(c, folderID)
	if e != nil {
		return e
	}
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		held, err := tx.MembershipListPrincipal(c.ctx(), c.tenant.ID, m.p)
		if err != nil {
			return store.AuditEntry{}, err
		}
		if !slices.ContainsFunc(held, func(x tenancy.Membership) bool { return x.FolderID == f.ID }) {
			return store.AuditEntry{}, fmt.Errorf("%s holds no role in folder %s: %w", m.name, f.FullyQualifiedName, store.ErrNotFound)
		}
		err = tx.MembershipSet(c.ctx(), tenancy.Membership{TenantID: c.tenant.ID, FolderID: f.ID, Principal: m.p})
		return store.AuditEntry{Action: "RemoveUserFromFolder", Component: "Folders", EntityID: f.ID, EntityName: f.FullyQualifiedName,
			Details: "removed " + m.name + " from folder " + f.FullyQualifiedName}, err
	})
	if e := storeError(c, err); e != nil {
		return e
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// members resolves Users Ids: a user of the organization, or (negative) one of its
// external applications.
func (a *API) members(c *call, ids []int64) ([]member, *apiError) {
	var out []member
	for _, id := range ids {
		var m member
		switch {
		case id > 0:
			u, err := a.st.UserGet(c.ctx(), c.org.ID, id)
			if errors.Is(err, store.ErrNotFound) {
				return nil, notFound("user %d does not exist in organization %s", id, c.org.Name)
			} else if err != nil {
				return nil, internalError(c.r, err)
			}
			m = member{p: tenancy.Principal{Kind: tenancy.PrincipalUser, ID: u.ID}, name: "user " + u.Email}
		case id < 0:
			app, err := a.st.AppGet(c.ctx(), c.org.ID, -id)
			if errors.Is(err, store.ErrNotFound) {
				return nil, notFound("user %d (an external application) does not exist in organization %s", id, c.org.Name)
			} else if err != nil {
				return nil, internalError(c.r, err)
			}
			m = member{p: tenancy.Principal{Kind: tenancy.PrincipalApp, ID: app.ID}, name: "app " + app.Name}
		default:
			return nil, invalid("user Id 0 names no one: users have positive Ids, external applications negative ones")
		}
		if !slices.ContainsFunc(out, func(x member) bool { return x.p == m.p }) {
			out = append(out, m)
		}
	}
	return out, nil
}

func memberNames(ms []member) string {
	names := make([]string, 0, len(ms))
	for _, m := range ms {
		names = append(names, m.name)
	}
	return strings.Join(names, ", ")
}

// folderByID reads a folder of the tenant (404 naming it otherwise).
func (a *API) folderByID(c *call, id int64) (tenancy.Folder, *apiError) {
	f, err := a.st.FolderGet(c.ctx(), c.tenant.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return f, notFound("folder %d does not exist in tenant %s", id, c.tenant.Name)
	} else if err != nil {
		return f, internalError(c.r, err)
	}
	return f, nil
}

// folderRoles reads roles to hold in a folder: built-in or this tenant's, of type Folder.
func (a *API) folderRoles(c *call, ids []int64) ([]tenancy.Role, *apiError) {
	var out []tenancy.Role
	for _, id := range ids {
		r, err := a.st.RoleGet(c.ctx(), c.tenant.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound("role %d does not exist in tenant %s", id, c.tenant.Name)
		} else if err != nil {
			return nil, internalError(c.r, err)
		}
		if r.Type != tenancy.RoleTypeFolder {
			all, _ := a.st.RoleList(c.ctx(), c.tenant.ID)
			var valid []string
			for _, x := range all {
				if x.Type == tenancy.RoleTypeFolder {
					valid = append(valid, fmt.Sprintf("%s (%d)", x.Name, x.ID))
				}
			}
			return nil, invalid("role %q (Id %d) is a tenant role and cannot be held in a folder (give it with PUT /odata/Users({id}) RolesList); the folder roles are: %s",
				r.Name, r.ID, strings.Join(valid, ", "))
		}
		out = append(out, r)
	}
	return out, nil
}

// builtInRole finds a built-in role by name.
func (a *API) builtInRole(c *call, name string) (tenancy.Role, *apiError) {
	all, err := a.st.RoleList(c.ctx(), c.tenant.ID)
	if err != nil {
		return tenancy.Role{}, internalError(c.r, err)
	}
	for _, r := range all {
		if r.BuiltIn && r.Name == name {
			return r, nil
		}
	}
	return tenancy.Role{}, internalError(c.r, fmt.Errorf("built-in role %q is missing", name))
}
