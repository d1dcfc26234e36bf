package api

import (
	"errors"
	"slices"
	"strconv"

	"github.com/openorch/openorch/internal/odata"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// tenantUserDTO is UiPath's UserDto as the Users entity set lists it. External
// applications are listed too, with Type DirectoryExternalApplication and, as Id, minus
// the app's id (store.TenantUser), so that an Id names one user or one app.
type tenantUserDTO struct {
	ID           int64    `json:"Id"`
	Key          string   `json:"Key"`
	UserName     string   `json:"UserName"` // a user's email, an app's client id
	Name         string   `json:"Name"`
	Surname      string   `json:"Surname"`
	FullName     string   `json:"FullName"`
	EmailAddress string   `json:"EmailAddress"`
	IsActive     bool     `json:"IsActive"`
	Type         string   `json:"Type"` // User | DirectoryExternalApplication
	TenantID     int64    `json:"TenantId"`
	TenancyName  string   `json:"TenancyName"`
	RolesList    []string `json:"RolesList"` // the tenant-level roles held
}

// listUsers serves GET /odata/Users: the organization's users and external applications
// that are members of the tenant.
func listUsers(a *API, c *call) *apiError {
	q, e := listQuery(c, 1000)
	if e != nil {
		return e
	}
	page, total, err := a.st.TenantUserSearch(c.ctx(), c.org.ID, store.SearchParams{TenantID: c.tenant.ID, Query: q})
	if err != nil {
		return searchError(c, err)
	}
	roles, e := a.tenantRoleNames(c)
	if e != nil {
		return e
	}
	out := make([]tenantUserDTO, 0, len(page))
	for _, u := range page {
		out = append(out, toTenantUserDTO(c, u, roles))
	}
	return writeList(a, c, "Users", out, total)
}

// getUser serves GET /odata/Users(id). A user or app of another organization, or one that
// is not a member of the tenant, is not found.
func getUser(a *API, c *call) *apiError {
	id, err := strconv.ParseInt(c.path.Key, 10, 64)
	if err != nil {
		return invalid("Users(%s): the key must be a user Id (an integer; external applications have negative Ids)", c.path.Key)
	}
	q := odata.Query{Top: 1, Filter: &odata.Compare{Op: odata.OpEq, Left: &odata.Property{Path: "Id"},
		Right: &odata.Literal{Kind: odata.LitInt, Value: id}}}
	page, _, err := a.st.TenantUserSearch(c.ctx(), c.org.ID, store.SearchParams{TenantID: c.tenant.ID, Query: q})
	if err != nil {
		return internalError(c.r, err)
	}
	if len(page) == 0 {
		return notFound("user %d does not exist or is not a member of tenant %s", id, c.tenant.Name)
	}
	roles, e := a.tenantRoleNames(c)
	if e != nil {
		return e
	}
	return writeEntity(a, c, "Users", toTenantUserDTO(c, page[0], roles))
}

func toTenantUserDTO(c *call, u store.TenantUser, roles map[tenancy.Principal][]string) tenantUserDTO {
	d := tenantUserDTO{ID: u.ID, Key: u.Key, UserName: u.UserName, Name: u.Name, FullName: u.Name,
		EmailAddress: u.Email, IsActive: !u.Disabled, Type: "User", TenantID: c.tenant.ID, TenancyName: c.tenant.Name,
		RolesList: slices.Clone(roles[u.Principal])}
	if u.Principal.Kind == tenancy.PrincipalApp {
		d.Type = "DirectoryExternalApplication"
	}
	// An organization administrator is a tenant Administrator everywhere (DESIGN §4).
	if u.OrgAdmin && !slices.Contains(d.RolesList, tenancy.RoleAdministrator) {
		d.RolesList = append([]string{tenancy.RoleAdministrator}, d.RolesList...)
	}
	if d.RolesList == nil {
		d.RolesList = []string{}
	}
	return d
}

// getCurrentUser serves GET /odata/Users/…GetCurrentUser: the caller as the Users set
// shows it (a machine's robot as Type Robot).
func getCurrentUser(a *API, c *call) *apiError {
	who := c.who
	u := store.TenantUser{Principal: who.principal, ID: store.TenantUserID(who.principal), Key: who.claims.Subject,
		UserName: who.claims.ClientID, Name: who.name}
	if who.user != nil {
		u.UserName, u.Name, u.Email, u.Disabled, u.OrgAdmin = who.user.Email, who.user.Name, who.user.Email, who.user.Disabled, who.user.OrgAdmin
	}
	roles, e := a.tenantRoleNames(c)
	if e != nil {
		return e
	}
	d := toTenantUserDTO(c, u, roles)
	if who.principal.Kind == tenancy.PrincipalMachine {
		d.Type = "Robot"
	}
	return writeEntity(a, c, "Users", d)
}

// tenantRoleNames maps each principal holding tenant-level roles to their names.
func (a *API) tenantRoleNames(c *call) (map[tenancy.Principal][]string, *apiError) {
	ms, err := a.st.MembershipListFolder(c.ctx(), c.tenant.ID, 0)
	if err != nil {
		return nil, internalError(c.r, err)
	}
	if len(ms) == 0 {
		return nil, nil
	}
	all, err := a.st.RoleList(c.ctx(), c.tenant.ID)
	if err != nil {
		return nil, internalError(c.r, err)
	}
	name := make(map[int64]string, len(all))
	for _, r := range all {
		name[r.ID] = r.Name
	}
	out := make(map[tenancy.Principal][]string, len(ms))
	for _, m := range ms {
		for _, id := range m.RoleIDs {
			if n, ok := name[id]; ok {
				out[m.Principal] = append(out[m.Principal], n)
			}
		}
	}
	return out, nil
}

// roleDTO is UiPath's RoleDto.
type roleDTO struct {
	ID          int64           `json:"Id"`
	Name        string          `json:"Name"`
	DisplayName string          `json:"DisplayName"`
	Type        string          `json:"Type"` // Tenant | Folder
	IsStatic    bool            `json:"IsStatic"`
	IsEditable  bool            `json:"IsEditable"`
	Permissions []permissionDTO `json:"Permissions"`
}

// permissionDTO is UiPath's PermissionDto.
type permissionDTO struct {
	Name      string `json:"Name"`
	IsGranted bool   `json:"IsGranted"`
	RoleID    int64  `json:"RoleId"`
}

// toRoleDTO lists every permission a role of its type may grant (tenant roles: tenant and
// folder areas; folder roles: folder areas), each with IsGranted, in name order.
func toRoleDTO(r tenancy.Role) roleDTO {
	areas := tenancy.FolderAreas
	if r.Type == tenancy.RoleTypeTenant {
		areas = append(slices.Clone(tenancy.TenantAreas), tenancy.FolderAreas...)
	}
	granted := make(map[tenancy.Permission]bool, len(r.Permissions))
	var names []tenancy.Permission
	for _, p := range r.Permissions {
		granted[p] = true
		names = append(names, p)
	}
	for _, area := range areas {
		for _, act := range []string{tenancy.View, tenancy.Create, tenancy.Edit, tenancy.Delete} {
			names = append(names, tenancy.Perm(area, act))
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	perms := make([]permissionDTO, 0, len(names))
	for _, p := range names {
		perms = append(perms, permissionDTO{Name: string(p), IsGranted: granted[p], RoleID: r.ID})
	}
	return roleDTO{ID: r.ID, Name: r.Name, DisplayName: r.Name, Type: string(r.Type), IsStatic: r.BuiltIn,
		IsEditable: !r.BuiltIn, Permissions: perms}
}

// listRoles serves GET /odata/Roles: the built-in roles and the tenant's custom roles.
func listRoles(a *API, c *call) *apiError {
	q, e := listQuery(c, 1000)
	if e != nil {
		return e
	}
	page, total, err := a.st.RoleSearch(c.ctx(), store.SearchParams{TenantID: c.tenant.ID, Query: q})
	if err != nil {
		return searchError(c, err)
	}
	out := make([]roleDTO, 0, len(page))
	for _, r := range page {
		out = append(out, toRoleDTO(r))
	}
	return writeList(a, c, "Roles", out, total)
}

// getRole serves GET /odata/Roles(id).
func getRole(a *API, c *call) *apiError {
	id, err := strconv.ParseInt(c.path.Key, 10, 64)
	if err != nil {
		return invalid("Roles(%s): the key must be a role Id (an integer)", c.path.Key)
	}
	r, err := a.st.RoleGet(c.ctx(), c.tenant.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("role %d does not exist in tenant %s", id, c.tenant.Name)
	} else if err != nil {
		return internalError(c.r, err)
	}
	return writeEntity(a, c, "Roles", toRoleDTO(r))
}

// machineDTO is UiPath's MachineDto. ClientId is the machine's client id; its secret is
// never shown.
type machineDTO struct {
	ID                  int64  `json:"Id"`
	Key                 string `json:"Key"`
	Name                string `json:"Name"`
	Description         string `json:"Description"`
	Type                string `json:"Type"`
	Scope               string `json:"Scope"`
	UnattendedSlots     int    `json:"UnattendedSlots"`
	NonProductionSlots  int    `json:"NonProductionSlots"`
	HeadlessSlots       int    `json:"HeadlessSlots"`
	TestAutomationSlots int    `json:"TestAutomationSlots"`
	ClientID            string `json:"ClientId"`
}

func toMachineDTO(m tenancy.Machine) machineDTO {
	return machineDTO{ID: m.ID, Key: m.Key, Name: m.Name, Type: "Standard", Scope: "Default",
		UnattendedSlots: m.Slots, ClientID: m.ClientID}
}

// listMachines serves GET /odata/Machines: the tenant's machines.
func listMachines(a *API, c *call) *apiError {
	q, e := listQuery(c, 1000)
	if e != nil {
		return e
	}
	page, total, err := a.st.MachineSearch(c.ctx(), store.SearchParams{TenantID: c.tenant.ID, Query: q})
	if err != nil {
		return searchError(c, err)
	}
	out := make([]machineDTO, 0, len(page))
	for _, m := range page {
		out = append(out, toMachineDTO(m))
	}
	return writeList(a, c, "Machines", out, total)
}

// getMachine serves GET /odata/Machines(id).
func getMachine(a *API, c *call) *apiError {
	id, err := strconv.ParseInt(c.path.Key, 10, 64)
	if err != nil {
		return invalid("Machines(%s): the key must be a machine Id (an integer)", c.path.Key)
	}
	m, err := a.st.MachineGet(c.ctx(), c.tenant.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("machine %d does not exist in tenant %s", id, c.tenant.Name)
	} else if err != nil {
		return internalError(c.r, err)
	}
	return writeEntity(a, c, "Machines", toMachineDTO(m))
}
