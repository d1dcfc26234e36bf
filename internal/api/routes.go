package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/openorch/openorch/internal/tenancy"
)

// folderMode says how a route uses the folder context.
type folderMode int

const (
	tenantLevel    folderMode = iota // no folder: the permission is checked at tenant level
	folderRequired                   // a folder header is required (400, 1101 without one)
	folderOptional                   // with a header, that folder; without, every folder the caller may use
)

// route is one operation of the API: what it needs and what serves it. The table is the
// single source for routing, authorization, the authorization matrix test and the OpenAPI
// document.
type route struct {
	Method string
	// Plain is the path of a route under …/api/ rather than …/odata/, such as
	// "PackageFeeds/GetFolderFeed" (matched in any case); Set, Key and Action are then
	// empty.
	Plain  string
	Set    string // entity set, e.g. "Folders"
	Key    bool   // addressed as Set(key)
	Action string // action or function name without namespace; "" for the set itself
	// Scope is the OR scope area: the token needs Scope, or Scope.Read for GET and
	// Scope.Write otherwise (or OrchestratorApiUserAccess).
	Scope string
	// AltScope is a second area whose scopes also allow the route ("" for none).
	AltScope string
	// Perm is the permission the principal needs; "" means any member of the tenant.
	Perm   tenancy.Permission
	Folder folderMode
	Handle func(a *API, c *call) *apiError
	// Summary describes the operation (OpenAPI).
	Summary string
	// NoRateLimit exempts the route from the tenant's rate limits, as UiPath exempts
	// adding queue items, transactions and starting jobs (reference/semantics.md).
	NoRateLimit bool
}

func (rt *route) label() string {
	if rt.Plain != "" {
		return rt.Method + " /api/" + rt.Plain
	}
	var b strings.Builder
	b.WriteString(rt.Method + " /odata/" + rt.Set)
	if rt.Key {
		b.WriteString("({key})")
	}
	if rt.Action != "" {
		b.WriteString("/" + rt.Action)
	}
	return b.String()
}

func (rt *route) handle(a *API, c *call) *apiError { return rt.Handle(a, c) }

// match finds the route of a request; a path that exists with other methods is a 405
// naming them.
func (a *API) match(method string, rp resourcePath) (*route, *apiError) {
	var allowed []string
	for i := range a.routes {
		rt := &a.routes[i]
		if rt.Plain != "" || !strings.EqualFold(rt.Set, rp.Set) || rt.Key != rp.HasKey || !strings.EqualFold(rt.Action, rp.Action) {
			continue
		}
		if rt.Method == method || method == http.MethodHead && rt.Method == http.MethodGet {
			return rt, nil
		}
		allowed = append(allowed, rt.Method)
	}
	if len(allowed) > 0 {
		slices.Sort(allowed)
		return nil, errorf(http.StatusMethodNotAllowed, codeInvalid, "%s is not allowed here; allowed: %s", method, strings.Join(allowed, ", "))
	}
	what := rp.Set
	if rp.Action != "" {
		what += "/" + rp.Action
	}
	return nil, notFound("no entity set or action %s; known entity sets: %s", what, strings.Join(a.setNames(), ", "))
}

// matchPlain finds the route of a path under …/api/.
func (a *API) matchPlain(method, path string) (*route, *apiError) {
	path = strings.Trim(path, "/")
	var allowed, known []string
	for i := range a.routes {
		rt := &a.routes[i]
		if rt.Plain == "" {
			continue
		}
		known = append(known, "api/"+rt.Plain)
		if !strings.EqualFold(rt.Plain, path) {
			continue
		}
		if rt.Method == method || method == http.MethodHead && rt.Method == http.MethodGet {
			return rt, nil
		}
		allowed = append(allowed, rt.Method)
	}
	if len(allowed) > 0 {
		slices.Sort(allowed)
		return nil, errorf(http.StatusMethodNotAllowed, codeInvalid, "%s is not allowed here; allowed: %s", method, strings.Join(allowed, ", "))
	}
	slices.Sort(known)
	known = slices.Compact(known)
	if len(known) == 0 {
		return nil, notFound("there is no api/%s; the OData API is under odata/", path)
	}
	return nil, notFound("there is no api/%s; the paths under api/ are %s (the OData API is under odata/)", path, strings.Join(known, ", "))
}

func (a *API) setNames() []string {
	var out []string
	for _, rt := range a.routes {
		if rt.Plain == "" && !slices.Contains(out, rt.Set) {
			out = append(out, rt.Set)
		}
	}
	slices.Sort(out)
	return out
}

// routeTable lists every operation of the API: the core sets here, and each family of
// entity sets from its own file.
func (a *API) routeTable() []route {
	return slices.Concat(
		a.coreRoutes(),
		a.assetRoutes(),
		a.queueRoutes(),
		a.packageRoutes(),
		a.releaseRoutes(),
		a.jobRoutes(),
		a.robotRoutes(),
		a.robotViewRoutes(),
		a.robotAssetRoutes(),
	)
}

// coreRoutes are the routes of folders, users, roles, machines, settings and audit.
func (a *API) coreRoutes() []route {
	return []route{
		{Method: "GET", Set: "Folders", Scope: "OR.Folders", Perm: "", Folder: tenantLevel, Handle: listFolders,
			Summary: "The folders the caller may use (all of them for a tenant Administrator)."},
		{Method: "GET", Set: "Folders", Key: true, Scope: "OR.Folders", Folder: tenantLevel, Handle: getFolder,
			Summary: "One folder by Id."},
		{Method: "POST", Set: "Folders", Scope: "OR.Folders", Perm: "Folders.Create", Folder: tenantLevel, Handle: createFolder,
			Summary: "Create a folder: DisplayName, Description, ParentId or ParentKey (depth at most 7)."},
		{Method: "PUT", Set: "Folders", Key: true, Scope: "OR.Folders", Perm: "Folders.Edit", Folder: tenantLevel, Handle: updateFolder,
			Summary: "Rename a folder or change its description; its subfolders' names follow."},
		{Method: "PATCH", Set: "Folders", Key: true, Scope: "OR.Folders", Perm: "Folders.Edit", Folder: tenantLevel, Handle: updateFolder,
			Summary: "Change some of a folder's DisplayName and Description."},
		{Method: "DELETE", Set: "Folders", Key: true, Scope: "OR.Folders", Perm: "Folders.Delete", Folder: tenantLevel, Handle: deleteFolder,
			Summary: "Delete a folder without subfolders or queues."},
		{Method: "POST", Set: "Folders", Action: "AssignUsers", Scope: "OR.Folders", Perm: "Folders.Edit", Folder: tenantLevel, Handle: assignUsers,
			Summary: "{\"assignments\":{\"UserIds\":[…],\"RolesPerFolder\":[{\"FolderId\",\"RoleIds\":[…]}]}}: each user (an external application by its negative Id) holds exactly these folder roles in each folder afterwards; the roles it held there before are replaced."},
		{Method: "POST", Set: "Folders", Action: "AssignMachines", Scope: "OR.Folders", Perm: "Folders.Edit", Folder: tenantLevel, Handle: assignMachines,
			Summary: "{\"assignments\":{\"MachineIds\":[…],\"FolderIds\":[…]}}: the machines' robots hold the built-in Robot role in these folders."},
		{Method: "GET", Set: "Folders", Action: "GetUsersForFolder", Scope: "OR.Folders", Perm: "Folders.View", Folder: tenantLevel, Handle: getUsersForFolder,
			Summary: "GetUsersForFolder(key=<folder Id>,includeInherited=false|true): the users and external applications holding roles in the folder (UserRoles: Id, UserEntity, Roles with Origin Assigned or Inherited); includeInherited adds those holding roles in its ancestors, at tenant level, and the organization administrators."},
		{Method: "POST", Set: "Folders", Action: "RemoveUserFromFolder", Scope: "OR.Folders", Perm: "Folders.Edit", Folder: tenantLevel, Handle: removeUserFromFolder,
			Summary: "{\"userId\",\"folderId\"}: the user (or external application, negative Id) no longer holds any role in the folder."},
		{Method: "POST", Set: "Folders", Key: true, Action: "RemoveUserFromFolder", Scope: "OR.Folders", Perm: "Folders.Edit", Folder: tenantLevel, Handle: removeUserFromFolder,
			Summary: "{\"userId\"}: the user (or external application, negative Id) no longer holds any role in the folder of the URL."},
		{Method: "GET", Set: "AuditLogs", Scope: "OR.Audit", Perm: "Audit.View", Folder: tenantLevel, Handle: listAuditLogs,
			Summary: "The tenant's audit log: every change made through the API, with principal and client."},
		{Method: "GET", Set: "Users", Action: "GetCurrentUser", Scope: "OR.Users", Folder: tenantLevel, Handle: getCurrentUser,
			Summary: "The caller, as a user of the tenant."},
		{Method: "GET", Set: "Users", Scope: "OR.Users", Perm: "Users.View", Folder: tenantLevel, Handle: listUsers,
			Summary: "The organization's users and external applications that are members of the tenant (a role in it or in one of its folders; organization administrators always). Applications have Type DirectoryExternalApplication and a negative Id; $filter and $orderby apply to both."},
		{Method: "GET", Set: "Users", Key: true, Scope: "OR.Users", Perm: "Users.View", Folder: tenantLevel, Handle: getUser,
			Summary: "One member of the tenant by Id (negative for an external application)."},
		{Method: "POST", Set: "Users", Scope: "OR.Users", Perm: "Users.Create", Folder: tenantLevel, Handle: createUser,
			Summary: "Create a user of the organization: UserName or EmailAddress (the sign-in email, unique in the organization), Name, Surname (kept with Name as one name), Password (at least 8 characters; optional), RolesList (tenant roles in this tenant). The answer never shows a password."},
		{Method: "PUT", Set: "Users", Key: true, Scope: "OR.Users", Perm: "Users.Edit", Folder: tenantLevel, Handle: updateUser,
			Summary: "Change a user: Name (required) and Surname, IsActive (false: the user can no longer sign in nor use tokens), RolesList (replaces the tenant roles held in this tenant), Password. External applications (negative Ids) are managed by the identity service."},
		{Method: "PATCH", Set: "Users", Key: true, Scope: "OR.Users", Perm: "Users.Edit", Folder: tenantLevel, Handle: updateUser,
			Summary: "Change some of a user's Name and Surname, IsActive, RolesList and Password."},
		{Method: "DELETE", Set: "Users", Key: true, Scope: "OR.Users", Perm: "Users.Delete", Folder: tenantLevel, Handle: deleteUser,
			Summary: "Delete a user from the organization, with every role and token they had (not yourself)."},
		{Method: "POST", Set: "Users", Key: true, Action: "SetPassword", Scope: "OR.Users", Perm: "Users.Edit", Folder: tenantLevel, Handle: setUserPassword,
			Summary: "OpenOrch's own action: an administrator sets a user's password, {\"password\":\"…\"} (at least 8 characters); it is neither logged nor audited."},
		{Method: "GET", Set: "Roles", Scope: "OR.Users", Perm: "Roles.View", Folder: tenantLevel, Handle: listRoles,
			Summary: "The built-in roles and the tenant's custom roles, with their permissions."},
		{Method: "GET", Set: "Roles", Key: true, Scope: "OR.Users", Perm: "Roles.View", Folder: tenantLevel, Handle: getRole,
			Summary: "One role by Id."},
		{Method: "POST", Set: "Roles", Scope: "OR.Users", Perm: "Roles.Create", Folder: tenantLevel, Handle: createRole,
			Summary: "Create a custom role: Name (at most 100 characters), Type Folder or Tenant, Permissions as {Name, IsGranted} objects or plain names (Area.View|Create|Edit|Delete; a Folder role grants folder areas only)."},
		{Method: "PUT", Set: "Roles", Key: true, Scope: "OR.Users", Perm: "Roles.Edit", Folder: tenantLevel, Handle: updateRole,
			Summary: "Rename a custom role and, when Permissions is sent, replace what it grants; its Type stays and built-in roles cannot be edited."},
		{Method: "PATCH", Set: "Roles", Key: true, Scope: "OR.Users", Perm: "Roles.Edit", Folder: tenantLevel, Handle: updateRole,
			Summary: "Change some of a custom role's Name and Permissions."},
		{Method: "DELETE", Set: "Roles", Key: true, Scope: "OR.Users", Perm: "Roles.Delete", Folder: tenantLevel, Handle: deleteRole,
			Summary: "Delete a custom role; the users, apps and machines holding it lose it."},
		{Method: "GET", Set: "Machines", Scope: "OR.Machines", Perm: "Machines.View", Folder: tenantLevel, Handle: listMachines,
			Summary: "The tenant's machines (client ids, never secrets)."},
		{Method: "GET", Set: "Machines", Key: true, Scope: "OR.Machines", Perm: "Machines.View", Folder: tenantLevel, Handle: getMachine,
			Summary: "One machine by Id."},
		{Method: "POST", Set: "Machines", Scope: "OR.Machines", Perm: "Machines.Create", Folder: tenantLevel, Handle: createMachine,
			Summary: "Create a machine: Name (at most 100 characters), UnattendedSlots (1 to 100, default 1). The answer carries the generated ClientId and ClientSecret; the secret is shown only here."},
		{Method: "PUT", Set: "Machines", Key: true, Scope: "OR.Machines", Perm: "Machines.Edit", Folder: tenantLevel, Handle: updateMachine,
			Summary: "Change a machine's Name and UnattendedSlots (its client id never changes)."},
		{Method: "PATCH", Set: "Machines", Key: true, Scope: "OR.Machines", Perm: "Machines.Edit", Folder: tenantLevel, Handle: updateMachine,
			Summary: "Change some of a machine's Name and UnattendedSlots."},
		{Method: "DELETE", Set: "Machines", Key: true, Scope: "OR.Machines", Perm: "Machines.Delete", Folder: tenantLevel, Handle: deleteMachine,
			Summary: "Delete a machine with its folder memberships; the tokens its robots hold stop working on every node."},
		{Method: "POST", Set: "Machines", Key: true, Action: "RegenerateSecret", Scope: "OR.Machines", Perm: "Machines.Edit", Folder: tenantLevel,
			Handle: regenerateMachineSecret, Summary: "OpenOrch's own action (UiPath regenerates machine keys in its UI): a new ClientSecret, shown only in this answer; the old secret and the tokens issued with it stop working at once, on every node."},
		{Method: "GET", Set: "Settings", Scope: "OR.Settings", Folder: tenantLevel, Handle: listSettings,
			Summary: "Every tenant setting with its value: " + settingsSummary() + "."},
		{Method: "GET", Set: "Settings", Key: true, Scope: "OR.Settings", Folder: tenantLevel, Handle: getSetting,
			Summary: "One setting by name: Settings('OpenOrch.RateLimit.TenantRequestsPerMinute')."},
		{Method: "PUT", Set: "Settings", Key: true, Scope: "OR.Settings", Perm: "Settings.Edit", Folder: tenantLevel, Handle: putSetting, NoRateLimit: true,
			Summary: "Change one setting: {\"Value\":\"…\"}. Not rate limited, so that a limit can always be lifted."},
		{Method: "POST", Set: "Settings", Action: "UpdateBulk", Scope: "OR.Settings", Perm: "Settings.Edit", Folder: tenantLevel,
			Handle: updateBulkSettings, NoRateLimit: true, Summary: "{\"settings\":[{\"Name\",\"Value\"}]}: every setting changes, or none does."},
		{Method: "GET", Set: "Settings", Action: "GetLicense", Scope: "OR.Settings", AltScope: "OR.License", Folder: tenantLevel, Handle: getLicense,
			Summary: "The tenant's license: OpenOrch has none, so it never expires; Allowed.Unattended is the slots of the tenant's machines."},
		{Method: "GET", Set: "Settings", Action: "GetAuthenticationSettings", Scope: "OR.Settings", Folder: tenantLevel,
			Handle: getAuthenticationSettings, Summary: "Keys and Values with Build.Version; the api-supported-versions header gives the API version."},
	}
}

// RouteInfo describes one operation of the API, for the OpenAPI document and the
// authorization matrix test.
type RouteInfo struct {
	Method   string
	Path     string // relative to …/orchestrator_, e.g. "/odata/Folders({key})"
	Scope    string
	AltScope string
	Perm     string // "" when any member of the tenant may call it
	Folder   string // "none", "required" or "optional"
	Summary  string
}

// Routes lists every operation the API serves.
func (a *API) Routes() []RouteInfo {
	out := make([]RouteInfo, 0, len(a.routes))
	for _, rt := range a.routes {
		path := "/odata/" + rt.Set
		if rt.Key {
			path += "({key})"
		}
		if rt.Action != "" {
			path += "/UiPath.Server.Configuration.OData." + rt.Action
		}
		if rt.Plain != "" {
			path = "/api/" + rt.Plain
		}
		out = append(out, RouteInfo{Method: rt.Method, Path: path, Scope: rt.Scope, AltScope: rt.AltScope, Perm: string(rt.Perm),
			Folder: [...]string{"none", "required", "optional"}[rt.Folder], Summary: rt.Summary})
	}
	return out
}
