package api

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// Limits of the Users fields (UiPath's UserDto).
const (
	maxEmailLen       = 256
	maxNameLen        = 64
	minPasswordLen    = 8
	maxPasswordLen    = 256
	passwordLenAdvice = "at least 8 and at most 256 characters"
)

// userInput is what POST and PUT/PATCH /odata/Users take (UserDto's writable fields).
// OpenOrch keeps one name per user: Name and Surname are stored together as the name.
type userInput struct {
	UserName     *string   `json:"UserName"`
	EmailAddress *string   `json:"EmailAddress"`
	Name         *string   `json:"Name"`
	Surname      *string   `json:"Surname"`
	Password     *string   `json:"Password"`
	IsActive     *bool     `json:"IsActive"`
	RolesList    *[]string `json:"RolesList"`
}

// createUser serves POST /odata/Users: a user of the organization, with tenant roles in
// this tenant when RolesList names some.
func createUser(a *API, c *call) *apiError {
	var in userInput
	if e := bind(c, &in); e != nil {
		return e
	}
	email, e := in.email()
	if e != nil {
		return e
	}
	if email == "" {
		return invalid("UserName or EmailAddress is required: users sign in with their email address")
	}
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
		return invalid("Name is required")
	}
	name, e := in.fullName()
	if e != nil {
		return e
	}
	if in.IsActive != nil && !*in.IsActive {
		return invalid("IsActive: a new user is active; disable them afterwards with PATCH /odata/Users({id}) {\"IsActive\":false}")
	}
	var roles []tenancy.Role
	if in.RolesList != nil {
		if roles, e = a.tenantRoles(c, *in.RolesList); e != nil {
			return e
		}
	}
	hash, e := hashPassword(c, in.Password, "Password")
	if e != nil {
		return e
	}
	var u tenancy.User
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		var err error
		u, err = tx.UserCreate(c.ctx(), store.UserCreateParams{OrgID: c.org.ID, Email: email, Name: name, PasswordHash: hash})
		if err == nil && len(roles) > 0 {
			err = tx.MembershipSet(c.ctx(), tenancy.Membership{TenantID: c.tenant.ID,
				Principal: tenancy.Principal{Kind: tenancy.PrincipalUser, ID: u.ID}, RoleIDs: roleIDs(roles)})
		}
		details := "created user " + email + " with tenant roles [" + strings.Join(roleNames(roles), ", ") + "]"
		if hash != "" {
			details += " and a password"
		}
		return store.AuditEntry{Action: "Create", Component: "Users", EntityID: u.ID, EntityName: email, Details: details}, err
	})
	if e := storeError(c, err); e != nil {
		return e
	}
	c.w.Header().Set("Location", c.base+"/odata/Users("+strconv.FormatInt(u.ID, 10)+")")
	d := toTenantUserDTO(c, tenantUserOf(u), map[tenancy.Principal][]string{
		{Kind: tenancy.PrincipalUser, ID: u.ID}: roleNames(roles)})
	writeJSON(c.w, http.StatusCreated, withContext(c.base+"/odata/$metadata#Users/$entity", d))
	return nil
}

// updateUser serves PUT and PATCH /odata/Users(id): Name and Surname, IsActive, RolesList
// (replaces the tenant roles held in this tenant) and Password.
func updateUser(a *API, c *call) *apiError {
	u, e := a.userFromKey(c)
	if e != nil {
		return e
	}
	var in userInput
	if e := bind(c, &in); e != nil {
		return e
	}
	email, e := in.email()
	if e != nil {
		return e
	}
	if email != "" && !strings.EqualFold(email, u.Email) {
		return invalid("a user's email address (%s) cannot be changed: create a user with the new address instead", u.Email)
	}
	var name string
	switch {
	case in.Name != nil:
		if strings.TrimSpace(*in.Name) == "" {
			return invalid("Name cannot be empty")
		}
		if name, e = in.fullName(); e != nil {
			return e
		}
	case c.r.Method == http.MethodPut:
		return invalid("Name is required with PUT (use PATCH to change only some fields)")
	case in.Surname != nil && strings.TrimSpace(*in.Surname) != "":
		return invalid("send Name with Surname: OpenOrch keeps one name per user, stored as \"Name Surname\"")
	}
	var roles []tenancy.Role
	if in.RolesList != nil {
		if roles, e = a.tenantRoles(c, *in.RolesList); e != nil {
			return e
		}
	}
	sensitive := in.Password != nil || in.IsActive != nil && *in.IsActive == u.Disabled
	if e := a.mayManage(c, u, sensitive); e != nil {
		return e
	}
	if in.IsActive != nil && !*in.IsActive && c.isUser(u.ID) {
		return invalid("you cannot disable yourself: another administrator must")
	}
	hash, e := hashPassword(c, in.Password, "Password")
	if e != nil {
		return e
	}
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		var changed []string
		nu, err := tx.UserUpdate(c.ctx(), c.org.ID, u.ID, func(old tenancy.User) (tenancy.User, error) {
			if in.Name != nil && name != old.Name {
				old.Name = name
				changed = append(changed, "name")
			}
			if in.IsActive != nil && old.Disabled == *in.IsActive {
				old.Disabled = !*in.IsActive
				if old.Disabled {
					changed = append(changed, "disabled")
				} else {
					changed = append(changed, "enabled")
				}
			}
			if hash != "" {
				old.PasswordHash = hash
				changed = append(changed, "password set")
			}
			return old, nil
		})
		if err == nil && in.RolesList != nil {
			err = tx.MembershipSet(c.ctx(), tenancy.Membership{TenantID: c.tenant.ID,
				Principal: tenancy.Principal{Kind: tenancy.PrincipalUser, ID: u.ID}, RoleIDs: roleIDs(roles)})
			changed = append(changed, "tenant roles ["+strings.Join(roleNames(roles), ", ")+"]")
		}
		details := "updated user " + u.Email
		if len(changed) > 0 {
			details += ": " + strings.Join(changed, ", ")
		}
		return store.AuditEntry{Action: "Update", Component: "Users", EntityID: u.ID, EntityName: nu.Email, Details: details}, err
	})
	if e := storeError(c, err); e != nil {
		return e
	}
	c.w.WriteHeader(http.StatusOK)
	return nil
}

// setUserPassword serves POST /odata/Users(id)/UiPath.Server.Configuration.OData.SetPassword
// {"password": "…"}: an administrator sets a user's password (OpenOrch's action). The
// password is neither logged nor audited.
func setUserPassword(a *API, c *call) *apiError {
	u, e := a.userFromKey(c)
	if e != nil {
		return e
	}
	var in struct {
		Password *string `json:"password"`
	}
	if e := bind(c, &in); e != nil {
		return e
	}
	if in.Password == nil {
		return invalid("password is required: send {\"password\":\"…\"} (%s)", passwordLenAdvice)
	}
	if e := a.mayManage(c, u, true); e != nil {
		return e
	}
	hash, e := hashPassword(c, in.Password, "password")
	if e != nil {
		return e
	}
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		_, err := tx.UserUpdate(c.ctx(), c.org.ID, u.ID, func(old tenancy.User) (tenancy.User, error) {
			old.PasswordHash = hash
			return old, nil
		})
		return store.AuditEntry{Action: "SetPassword", Component: "Users", EntityID: u.ID, EntityName: u.Email,
			Details: "set the password of user " + u.Email}, err
	})
	if e := storeError(c, err); e != nil {
		return e
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteUser serves DELETE /odata/Users(id): the user leaves the organization, with every
// role they held and every token they had.
func deleteUser(a *API, c *call) *apiError {
	u, e := a.userFromKey(c)
	if e != nil {
		return e
	}
	if c.isUser(u.ID) {
		return invalid("you cannot delete yourself: another administrator must")
	}
	if e := a.mayManage(c, u, true); e != nil {
		return e
	}
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		err := tx.UserDelete(c.ctx(), c.org.ID, u.ID)
		return store.AuditEntry{Action: "Delete", Component: "Users", EntityID: u.ID, EntityName: u.Email,
			Details: "deleted user " + u.Email + " from organization " + c.org.Name}, err
	})
	if e := storeError(c, err); e != nil {
		return e
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// userFromKey reads the user of Users(id). Negative Ids are external applications, which
// the identity service manages.
func (a *API) userFromKey(c *call) (tenancy.User, *apiError) {
	id, err := strconv.ParseInt(c.path.Key, 10, 64)
	if err != nil {
		return tenancy.User{}, invalid("Users(%s): the key must be a user Id (an integer)", c.path.Key)
	}
	if id < 0 {
		return tenancy.User{}, invalid("Users(%d) is an external application: external applications are managed at /%s/identity_/api/ExternalApplications", id, c.org.Name)
	}
	u, err := a.st.UserGet(c.ctx(), c.org.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return u, notFound("user %d does not exist in organization %s", id, c.org.Name)
	} else if err != nil {
		return u, internalError(c.r, err)
	}
	return u, nil
}

// mayManage refuses what only an organization administrator may do: any change to an
// organization administrator, and (sensitive: password, enabling or disabling, deleting)
// a change to a user who is also a member of another tenant, whom this tenant's
// administrators do not govern alone.
func (a *API) mayManage(c *call, u tenancy.User, sensitive bool) *apiError {
	if c.who.orgAdmin {
		return nil
	}
	if u.OrgAdmin {
		return forbidden("user %s is an organization administrator: only another organization administrator may change them", u.Email)
	}
	if !sensitive {
		return nil
	}
	ts, err := a.st.TenantList(c.ctx(), c.org.ID)
	if err != nil {
		return internalError(c.r, err)
	}
	for _, t := range ts {
		if t.ID == c.tenant.ID {
			continue
		}
		ms, err := a.st.MembershipListPrincipal(c.ctx(), t.ID, tenancy.Principal{Kind: tenancy.PrincipalUser, ID: u.ID})
		if err != nil {
			return internalError(c.r, err)
		}
		if len(ms) > 0 {
			return forbidden("user %s is also a member of tenant %s: only an organization administrator may set their password, enable, disable or delete them", u.Email, t.Name)
		}
	}
	return nil
}

// isUser reports whether the caller is the user with this id.
func (c *call) isUser(id int64) bool {
	return c.who.principal == tenancy.Principal{Kind: tenancy.PrincipalUser, ID: id}
}

// email returns the address of UserName or EmailAddress ("" when neither is sent).
func (in userInput) email() (string, *apiError) {
	var email string
	for _, f := range []struct {
		name string
		v    *string
	}{{"UserName", in.UserName}, {"EmailAddress", in.EmailAddress}} {
		if f.v == nil || strings.TrimSpace(*f.v) == "" {
			continue
		}
		v := strings.TrimSpace(*f.v)
		if email != "" && !strings.EqualFold(email, v) {
			return "", invalid("UserName (%s) and EmailAddress (%s) differ: users sign in with their email address, send one of them", email, v)
		}
		if e := checkLen(f.name, v, maxEmailLen); e != nil {
			return "", e
		}
		if at := strings.LastIndex(v, "@"); at <= 0 || at == len(v)-1 || strings.ContainsFunc(v, unicode.IsSpace) {
			return "", invalid("%s: %q is not an email address (users sign in with their email address)", f.name, v)
		}
		email = v
	}
	return email, nil
}

// fullName joins Name and Surname into the one name OpenOrch keeps.
func (in userInput) fullName() (string, *apiError) {
	name := strings.TrimSpace(*in.Name)
	if e := checkLen("Name", name, maxNameLen); e != nil {
		return "", e
	}
	if in.Surname != nil {
		s := strings.TrimSpace(*in.Surname)
		if e := checkLen("Surname", s, maxNameLen); e != nil {
			return "", e
		}
		if s != "" {
			name += " " + s
		}
	}
	return name, nil
}

// hashPassword checks a password's length and hashes it; nil gives "".
func hashPassword(c *call, p *string, field string) (string, *apiError) {
	if p == nil {
		return "", nil
	}
	if n := len([]rune(*p)); n < minPasswordLen || n > maxPasswordLen {
		return "", invalid("%s is %d characters long: a password has %s", field, n, passwordLenAdvice)
	}
	h, err := secret.HashPassword(*p)
	if err != nil {
		return "", internalError(c.r, err)
	}
	return h, nil
}

// tenantRoles finds the tenant roles named (case-insensitively) among the built-in roles
// and this tenant's custom roles.
func (a *API) tenantRoles(c *call, names []string) ([]tenancy.Role, *apiError) {
	all, err := a.st.RoleList(c.ctx(), c.tenant.ID)
	if err != nil {
		return nil, internalError(c.r, err)
	}
	var valid []string
	for _, r := range all {
		if r.Type == tenancy.RoleTypeTenant {
			valid = append(valid, r.Name)
		}
	}
	out := []tenancy.Role{}
	for _, n := range names {
		i := slices.IndexFunc(all, func(r tenancy.Role) bool {
			return r.Type == tenancy.RoleTypeTenant && strings.EqualFold(r.Name, strings.TrimSpace(n))
		})
		if i < 0 {
			return nil, invalid("RolesList: %q is not a tenant role of tenant %s; the tenant roles are: %s (folder roles are given with Folders/AssignUsers)",
				n, c.tenant.Name, strings.Join(valid, ", "))
		}
		if !slices.ContainsFunc(out, func(r tenancy.Role) bool { return r.ID == all[i].ID }) {
			out = append(out, all[i])
		}
	}
	return out, nil
}

func roleIDs(rs []tenancy.Role) []int64 {
	out := make([]int64, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func roleNames(rs []tenancy.Role) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

// tenantUserOf is a user as a row of the Users entity set.
func tenantUserOf(u tenancy.User) store.TenantUser {
	return store.TenantUser{Principal: tenancy.Principal{Kind: tenancy.PrincipalUser, ID: u.ID}, ID: u.ID, Key: u.Key,
		UserName: u.Email, Name: u.Name, Email: u.Email, Disabled: u.Disabled, OrgAdmin: u.OrgAdmin, CreatedAt: u.CreatedAt}
}

// tenantAppOf is an external application as a row of the Users entity set.
func tenantAppOf(app tenancy.App) store.TenantUser {
	p := tenancy.Principal{Kind: tenancy.PrincipalApp, ID: app.ID}
	return store.TenantUser{Principal: p, ID: store.TenantUserID(p), Key: app.Key, UserName: app.ClientID, Name: app.Name,
		CreatedAt: app.CreatedAt}
}
