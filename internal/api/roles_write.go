package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// roleNameMax is the longest a custom role's name may be.
const roleNameMax = 100

// roleInput is what POST and PUT/PATCH /odata/Roles take. Permissions is a list of
// PermissionDto objects ({"Name","IsGranted"}: IsGranted false grants nothing, left out it
// grants) or of plain permission names; roleInput.permissions parses it.
type roleInput struct {
	Name        *string         `json:"Name"`
	DisplayName *string         `json:"DisplayName"`
	Type        *string         `json:"Type"`
	Permissions json.RawMessage `json:"Permissions"`
}

// name is Name, or DisplayName when only that is sent (UiPath's RoleDto has both).
func (in roleInput) name() *string {
	if in.Name != nil {
		return in.Name
	}
	return in.DisplayName
}

// roleType parses Type: Folder or Tenant, in any case.
func (in roleInput) roleType() (tenancy.RoleType, *apiError) {
	for _, t := range []tenancy.RoleType{tenancy.RoleTypeFolder, tenancy.RoleTypeTenant} {
		if strings.EqualFold(*in.Type, string(t)) {
			return t, nil
		}
	}
	return "", invalid("Type %q is not a role type: send \"Folder\" (a role held in folders) or \"Tenant\" (a role held at tenant level)", *in.Type)
}

// permissions parses the Permissions field into the granted permissions, in canonical
// spelling, sorted. present is false when the field was left out (or null).
func (in roleInput) permissions() (perms []tenancy.Permission, present bool, e *apiError) {
	raw := bytes.TrimSpace(in.Permissions)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, false, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, true, invalid("Permissions: expected a list of permission names or of {\"Name\",\"IsGranted\"} objects, got %s", jsonKindOf(raw))
	}
	var unknown []string
	for i, it := range items {
		it = bytes.TrimSpace(it)
		var name string
		granted := true
		switch {
		case len(it) > 0 && it[0] == '"':
			json.Unmarshal(it, &name)
		case len(it) > 0 && it[0] == '{':
			var p struct {
				Name      *string `json:"Name"`
				IsGranted *bool   `json:"IsGranted"`
			}
			if err := json.Unmarshal(it, &p); err != nil {
				return nil, true, invalid("Permissions[%d]: Name must be a string and IsGranted true or false", i)
			}
			if p.Name == nil {
				return nil, true, invalid("Permissions[%d]: Name is required (e.g. \"Jobs.View\")", i)
			}
			name = *p.Name
			if p.IsGranted != nil {
				granted = *p.IsGranted
			}
		default:
			return nil, true, invalid("Permissions[%d]: expected a permission name or a {\"Name\",\"IsGranted\"} object, got %s", i, jsonKindOf(it))
		}
		p, ok := knownPermission(name)
		if !ok {
			unknown = append(unknown, strconv.Quote(name))
			continue
		}
		if granted {
			perms = append(perms, p)
		}
	}
	if len(unknown) > 0 {
		return nil, true, &apiError{Status: http.StatusBadRequest, Code: codeInvalid,
			Message: fmt.Sprintf("unknown permissions: %s; a permission is Area.View, Area.Create, Area.Edit or Area.Delete with Area one of %s",
				strings.Join(unknown, ", "), strings.Join(permissionAreas(), ", ")),
			Details: map[string]any{"unknownPermissions": unknown}}
	}
	slices.Sort(perms)
	return slices.Compact(perms), true, nil
}

// jsonKindOf names the JSON kind of a raw value for messages.
func jsonKindOf(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "a list"
	case 't', 'f':
		return "true or false"
	case 'n':
		return "null"
	}
	return "a number"
}

// permissionAreas lists the areas a permission may name: tenant and folder areas.
func permissionAreas() []string {
	areas := append(slices.Clone(tenancy.TenantAreas), tenancy.FolderAreas...)
	slices.Sort(areas)
	return slices.Compact(areas)
}

// knownPermission matches a permission name case-insensitively and returns its canonical
// spelling.
func knownPermission(name string) (tenancy.Permission, bool) {
	area, action, ok := strings.Cut(strings.TrimSpace(name), ".")
	if !ok {
		return "", false
	}
	for _, a := range permissionAreas() {
		if !strings.EqualFold(a, area) {
			continue
		}
		for _, act := range []string{tenancy.View, tenancy.Create, tenancy.Edit, tenancy.Delete} {
			if strings.EqualFold(act, action) {
				return tenancy.Perm(a, act), true
			}
		}
	}
	return "", false
}

// checkRolePermissions refuses, for a Folder role, permissions of tenant-only areas.
func checkRolePermissions(t tenancy.RoleType, perms []tenancy.Permission) *apiError {
	if t != tenancy.RoleTypeFolder {
		return nil
	}
	var bad []string
	for _, p := range perms {
		area, _, _ := strings.Cut(string(p), ".")
		if !slices.Contains(tenancy.FolderAreas, area) {
			bad = append(bad, string(p))
		}
	}
	if len(bad) > 0 {
		return &apiError{Status: http.StatusBadRequest, Code: codeInvalid,
			Message: fmt.Sprintf("a Folder role cannot grant %s: those are tenant-level permissions (make it a Tenant role); a Folder role grants permissions of the areas %s",
				strings.Join(bad, ", "), strings.Join(tenancy.FolderAreas, ", ")),
			Details: map[string]any{"tenantLevelPermissions": bad}}
	}
	return nil
}

// checkRoleName validates a role name that is present.
func checkRoleName(name string) *apiError {
	if strings.TrimSpace(name) == "" {
		return invalid("Name cannot be empty")
	}
	return checkLen("Name", strings.TrimSpace(name), roleNameMax)
}

// createRole serves POST /odata/Roles: a custom role of the tenant.
func createRole(a *API, c *call) *apiError {
	var in roleInput
	if e := bind(c, &in); e != nil {
		return e
	}
	name := in.name()
	if name == nil || strings.TrimSpace(*name) == "" {
		return invalid("Name is required")
	}
	if e := checkRoleName(*name); e != nil {
		return e
	}
	if in.Type == nil || *in.Type == "" {
		return invalid("Type is required: \"Folder\" (a role held in folders) or \"Tenant\" (a role held at tenant level)")
	}
	typ, e := in.roleType()
	if e != nil {
		return e
	}
	perms, _, e := in.permissions()
	if e != nil {
		return e
	}
	if e := checkRolePermissions(typ, perms); e != nil {
		return e
	}
	var r tenancy.Role
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		var err error
		r, err = tx.RoleCreate(c.ctx(), store.RoleCreateParams{TenantID: c.tenant.ID, Name: strings.TrimSpace(*name), Type: typ,
			Permissions: perms})
		return store.AuditEntry{Action: "Create", Component: "Roles", EntityID: r.ID, EntityName: r.Name,
			Details: fmt.Sprintf("created %s role %s granting %s", typ, r.Name, permList(perms))}, err
	})
	if e := storeError(c, err); e != nil {
		return e
	}
	c.w.Header().Set("Location", c.base+"/odata/Roles("+strconv.FormatInt(r.ID, 10)+")")
	writeJSON(c.w, http.StatusCreated, withContext(c.base+"/odata/$metadata#Roles/$entity", toRoleDTO(r)))
	return nil
}

// updateRole serves PUT and PATCH /odata/Roles(id): the name and the permissions of a
// custom role (its Type stays; built-in roles are refused).
func updateRole(a *API, c *call) *apiError {
	id, e := roleKey(c)
	if e != nil {
		return e
	}
	var in roleInput
	if e := bind(c, &in); e != nil {
		return e
	}
	name := in.name()
	if name != nil {
		if e := checkRoleName(*name); e != nil {
			return e
		}
	} else if c.r.Method == http.MethodPut {
		return invalid("Name is required with PUT (use PATCH to change only some fields)")
	}
	var typ tenancy.RoleType
	if in.Type != nil && *in.Type != "" {
		if typ, e = in.roleType(); e != nil {
			return e
		}
	}
	perms, setPerms, e := in.permissions()
	if e != nil {
		return e
	}
	var refused *apiError
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		var changes []string
		r, err := tx.RoleUpdate(c.ctx(), c.tenant.ID, id, func(r tenancy.Role) (tenancy.Role, error) {
			if typ != "" && typ != r.Type {
				refused = invalid("the Type of role %s cannot change (it is a %s role, which memberships hold as such); create a new %s role instead",
					r.Name, r.Type, typ)
				return r, refused
			}
			if name != nil && strings.TrimSpace(*name) != r.Name {
				changes = append(changes, "renamed from "+r.Name)
				r.Name = strings.TrimSpace(*name)
			}
			if setPerms {
				if refused = checkRolePermissions(r.Type, perms); refused != nil {
					return r, refused
				}
				added, removed := diffPerms(r.Permissions, perms)
				if len(added) > 0 {
					changes = append(changes, "granted "+permList(added))
				}
				if len(removed) > 0 {
					changes = append(changes, "no longer grants "+permList(removed))
				}
				r.Permissions = perms
			}
			return r, nil
		})
		details := "updated role " + r.Name
		if len(changes) > 0 {
			details += ": " + strings.Join(changes, "; ")
		}
		return store.AuditEntry{Action: "Update", Component: "Roles", EntityID: id, EntityName: r.Name, Details: details}, err
	})
	if refused != nil {
		return refused
	}
	if e := storeError(c, err); e != nil {
		return e
	}
	c.w.WriteHeader(http.StatusOK)
	return nil
}

// deleteRole serves DELETE /odata/Roles(id): a custom role; the memberships holding it
// lose it.
func deleteRole(a *API, c *call) *apiError {
	id, e := roleKey(c)
	if e != nil {
		return e
	}
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		r, err := tx.RoleGet(c.ctx(), c.tenant.ID, id)
		if err == nil {
			err = tx.RoleDelete(c.ctx(), c.tenant.ID, id)
		}
		return store.AuditEntry{Action: "Delete", Component: "Roles", EntityID: id, EntityName: r.Name,
			Details: fmt.Sprintf("deleted %s role %s", r.Type, r.Name)}, err
	})
	if e := storeError(c, err); e != nil {
		return e
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func roleKey(c *call) (int64, *apiError) {
	id, err := strconv.ParseInt(c.path.Key, 10, 64)
	if err != nil {
		return 0, invalid("Roles(%s): the key must be a role Id (an integer)", c.path.Key)
	}
	return id, nil
}

// diffPerms says what next grants that prev did not, and the reverse.
func diffPerms(prev, next []tenancy.Permission) (added, removed []tenancy.Permission) {
	for _, p := range next {
		if !slices.Contains(prev, p) {
			added = append(added, p)
		}
	}
	for _, p := range prev {
		if !slices.Contains(next, p) {
			removed = append(removed, p)
		}
	}
	return added, removed
}

func permList(perms []tenancy.Permission) string {
	if len(perms) == 0 {
		return "nothing"
	}
	s := make([]string, len(perms))
	for i, p := range perms {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}
