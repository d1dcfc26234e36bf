package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/openorch/openorch/internal/identity"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// caller is the authenticated principal of a call.
type caller struct {
	claims    identity.Claims
	principal tenancy.Principal
	name      string // for messages: "user ann@acme.test", "app invoice-bot", "machine worker-1"
	user      *tenancy.User
	orgAdmin  bool
	access    *tenancy.Access // loaded on first use; shared with other calls (nodeCache)
}

// authenticate checks the bearer token and finds its principal in the URL's organization.
func (a *API) authenticate(c *call) (*caller, *apiError) {
	h := c.r.Header.Get("Authorization")
	if h == "" {
		return nil, because("no_token", unauthorized("no Authorization header: send Authorization: Bearer <access token> (from /identity_/connect/token) or a personal access token"))
	}
	scheme, token, _ := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, because("malformed_header", unauthorized("the Authorization header must be \"Bearer <token>\" (got scheme %q)", scheme))
	}
	claims, err := a.auth.VerifyBearer(c.ctx(), token)
	var te *identity.TokenError
	if errors.As(err, &te) {
		return nil, because("invalid_token", unauthorized("%s", te.Reason))
	} else if err != nil {
		return nil, internalError(c.r, err)
	}
	if claims.OrgKey != c.org.Key {
		return nil, because("wrong_organization", unauthorized("the token was issued for organization %s, not %s: get a token from the organization in the URL",
			a.orgName(c, claims.OrgKey), c.org.Name))
	}
	if claims.Tenant != "" && claims.Tenant != c.tenant.Key {
		issued := "another tenant"
		if t, err := a.st.TenantGetByName(c.ctx(), c.org.ID, claims.Tenant); err == nil {
			issued = "tenant " + t.Name
		}
		return nil, because("wrong_tenant", unauthorized("the token was issued for %s, not %s: sign in to tenant %s for a token it accepts",
			issued, c.tenant.Name, c.tenant.Name))
	}
	key := principalCacheKey{orgID: c.org.ID, subType: claims.SubType, subject: claims.Subject}
	if claims.SubType != identity.SubUser {
		key.clientID = claims.ClientID
	}
	ref, ok := a.cache.principals.get(key)
	if !ok {
		read := a.cache.begin()
		var e *apiError
		if ref, e = a.principalOf(c, claims); e != nil {
			return nil, e
		}
		a.cache.principals.put(read, key, ref)
	}
	if claims.SubType == identity.SubRobot && ref.tenantID != c.tenant.ID {
		return nil, because("wrong_tenant", unauthorized("the token is for a machine of another tenant than %s", c.tenant.Name))
	}
	who := &caller{claims: claims, principal: ref.principal, name: ref.name, orgAdmin: ref.orgAdmin}
	if ref.user != nil {
		u := *ref.user
		who.user = &u
	}
	return who, nil
}

// principalOf reads the token's principal from the store: a user that exists and is not
// disabled, or an app or machine whose Key is the token's sub.
func (a *API) principalOf(c *call, claims identity.Claims) (principalRef, *apiError) {
	ctx := c.ctx()
	switch claims.SubType {
	case identity.SubUser:
		u, err := a.st.UserGetByKey(ctx, c.org.ID, claims.Subject)
		if errors.Is(err, store.ErrNotFound) || err == nil && u.Disabled {
			return principalRef{}, because("principal_gone", unauthorized("the token's user no longer exists or is disabled"))
		} else if err != nil {
			return principalRef{}, internalError(c.r, err)
		}
		u.PasswordHash = "" // not needed past this point; kept out of the cache
		return principalRef{principal: tenancy.Principal{Kind: tenancy.PrincipalUser, ID: u.ID}, name: "user " + u.Email, user: &u,
			orgAdmin: u.OrgAdmin}, nil
	case identity.SubClient:
		app, err := a.st.AppGetByClientID(ctx, claims.ClientID)
		if errors.Is(err, store.ErrNotFound) || err == nil && (app.Key != claims.Subject || app.OrgID != c.org.ID) {
			return principalRef{}, because("principal_gone", unauthorized("the token's application %s no longer exists", claims.ClientID))
		} else if err != nil {
			return principalRef{}, internalError(c.r, err)
		}
		return principalRef{principal: tenancy.Principal{Kind: tenancy.PrincipalApp, ID: app.ID}, name: "app " + app.Name}, nil
	case identity.SubRobot:
		m, err := a.st.MachineGetByClientID(ctx, claims.ClientID)
		if errors.Is(err, store.ErrNotFound) || err == nil && m.Key != claims.Subject {
			return principalRef{}, because("principal_gone", unauthorized("the token's machine %s no longer exists", claims.ClientID))
		} else if err != nil {
			return principalRef{}, internalError(c.r, err)
		}
		return principalRef{principal: tenancy.Principal{Kind: tenancy.PrincipalMachine, ID: m.ID}, name: "machine " + m.Name,
			tenantID: m.TenantID}, nil
	}
	return principalRef{}, because("invalid_token", unauthorized("the token's sub_type %q is not user, client or robot", claims.SubType))
}

// orgName names an organization by Key for messages ("another organization" if unknown).
func (a *API) orgName(c *call, key string) string {
	if o, err := a.st.OrganizationGetByName(c.ctx(), key); err == nil {
		return o.Name
	}
	return "another organization"
}

// accessOf loads the caller's permissions in the tenant once per call, from the node's
// cache when it read them recently. The Access is shared between calls: read it only.
func (a *API) accessOf(c *call) (*tenancy.Access, *apiError) {
	if c.who.access == nil {
		key := accessCacheKey{tenantID: c.tenant.ID, principal: c.who.principal, orgAdmin: c.who.orgAdmin}
		acc, err := a.cache.access.load(key, func() (*tenancy.Access, error) {
			acc, err := a.st.AccessGet(c.ctx(), c.tenant.ID, c.who.principal, c.who.orgAdmin)
			return &acc, err
		})
		if err != nil {
			return nil, internalError(c.r, err)
		}
		// The cached Access is shared: tokenAccess returns a narrowed copy, never edits it.
		narrowed, e := a.tokenAccess(c, *acc)
		if e != nil {
			return nil, e
		}
		c.who.access = &narrowed
	}
	return c.who.access, nil
}

// scopeOK reports whether the token's scopes allow the route.
func scopeOK(scopes []string, area, method string) bool {
	if area == "" || slices.Contains(scopes, "OrchestratorApiUserAccess") || slices.Contains(scopes, area) {
		return true
	}
	suffix := ".Write"
	if method == http.MethodGet || method == http.MethodHead {
		suffix = ".Read"
	}
	return slices.Contains(scopes, area+suffix)
}

// authorize checks the scope, resolves the folder context, and checks the permission.
func (a *API) authorize(c *call) *apiError {
	rt := c.route
	if !scopeOK(c.who.claims.Scopes(), rt.Scope, c.r.Method) && (rt.AltScope == "" || !scopeOK(c.who.claims.Scopes(), rt.AltScope, c.r.Method)) {
		want := rt.Scope + ".Write"
		if c.r.Method == http.MethodGet {
			want = rt.Scope + ".Read"
		}
		return because("missing_scope", forbidden("the token lacks scope %s or %s, which %s needs (the token has: %s)", rt.Scope, want, rt.label(), strings.Join(c.who.claims.Scopes(), " ")))
	}
	acc, e := a.accessOf(c)
	if e != nil {
		return e
	}
	switch rt.Folder {
	case tenantLevel:
		if rt.Perm != "" && !acc.TenantPermissions().Has(rt.Perm) {
			return because("missing_permission", forbidden("%s lacks permission %s in tenant %s", c.who.name, rt.Perm, c.tenant.Name))
		}
		if rt.Perm == "" && !a.isMember(acc) {
			return because("not_member", forbidden("%s is not a member of tenant %s: an administrator must assign it a role there or in one of its folders", c.who.name, c.tenant.Name))
		}
	case folderRequired, folderOptional:
		f, e := a.folderContext(c, acc)
		if e != nil {
			return e
		}
		if f == nil && rt.Folder == folderRequired {
			return a.folderRequiredError(c, acc)
		}
		if f != nil && rt.Perm != "" && !acc.FolderPermissions(f.ID).Has(rt.Perm) {
			return because("missing_permission", forbidden("%s lacks permission %s in folder %s", c.who.name, rt.Perm, f.FullyQualifiedName))
		}
		c.folder = f
	}
	return nil
}

// isMember reports whether the caller holds any role in the tenant or its folders.
func (a *API) isMember(acc *tenancy.Access) bool {
	return acc.TenantAdmin || len(acc.Tenant) > 0 || len(acc.VisibleFolders()) > 0
}
