package legacy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/openorch/openorch/internal/identity"
	"github.com/openorch/openorch/internal/server"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// UiPath's error codes (reference/uipath-wire.md §5).
const (
	codeNone     = 0
	codeInvalid  = 1000
	codeNotFound = 1002
)

// maxLoginBody caps the login's body: three short strings.
const maxLoginBody = 64 << 10

// loginRequest is the body of the legacy login. encoding/json matches keys regardless of
// case, so the documented PascalCase and the camelCase clients send both bind.
type loginRequest struct {
	TenancyName            string `json:"tenancyName"`
	UsernameOrEmailAddress string `json:"usernameOrEmailAddress"`
	Password               string `json:"password"`
}

func invalidRequest(message string, fields ...string) *refusal {
	e := &refusal{status: http.StatusBadRequest, code: codeInvalid, message: message}
	for _, f := range fields {
		e.validation = append(e.validation, validationError{Message: "The " + f + " field is required.", Members: []string{f}})
	}
	return e
}

func internalRefusal(r *http.Request, err error) *refusal {
	server.Logger(r.Context()).Error("legacy: internal error", "err", err)
	return &refusal{status: http.StatusInternalServerError, code: codeNone,
		message: "An internal error occurred. Quote the trace id " + server.TraceID(r.Context()) + " when reporting it."}
}

// authenticate serves POST /api/account/authenticate and
// /{org}/{tenant}/api/account/authenticate: a user's email and password for a 30-minute
// access token, while the tenant allows it and for users marked basicAuth only.
func (s *Service) authenticate(w http.ResponseWriter, r *http.Request) {
	if e := s.login(w, r); e != nil {
		writeABPError(w, r, e)
	}
}

func (s *Service) login(w http.ResponseWriter, r *http.Request) *refusal {
	var req loginRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxLoginBody))
	if err := dec.Decode(&req); err != nil {
		return invalidRequest(`The request body must be a JSON object such as {"tenancyName":"…","usernameOrEmailAddress":"…","password":"…"}, ` +
			"sent with Content-Type: application/json (keys in camelCase or PascalCase).")
	}
	req.TenancyName = strings.TrimSpace(req.TenancyName)
	login := strings.TrimSpace(req.UsernameOrEmailAddress)
	pathOrg := r.PathValue("org") != ""
	var missing []string
	if !pathOrg && req.TenancyName == "" {
		missing = append(missing, "tenancyName")
	}
	if login == "" {
		missing = append(missing, "usernameOrEmailAddress")
	}
	if req.Password == "" {
		missing = append(missing, "password")
	}
	if len(missing) > 0 {
		msg := "The request is not valid: " + strings.Join(missing, ", ") + " cannot be empty."
		if !pathOrg && req.TenancyName == "" {
			msg += " tenancyName is the tenant's logical name; or post to /{organization}/{tenant}/api/account/authenticate instead."
		}
		return invalidRequest(msg, missing...)
	}

	var org tenancy.Organization
	var t tenancy.Tenant
	var e *refusal
	if pathOrg {
		org, t, e = s.pathTenant(r, req.TenancyName)
	} else {
		org, t, e = s.findTenant(r, req.TenancyName)
	}
	if e != nil {
		return e
	}
	// The tenant's switch needs no credentials: asked first, it spares a password check.
	var lr *identity.LegacyRefusedError
	if err := s.ids.LegacyTenantAllowed(r, org, t, login); errors.As(err, &lr) {
		return &refusal{status: http.StatusForbidden, code: codeNone, message: lr.Message}
	} else if err != nil {
		return internalRefusal(r, err)
	}
	u, err := s.ids.AuthenticatePassword(r, org, login, req.Password, identity.LegacyClientID)
	var blocked *identity.BlockedError
	switch {
	case errors.As(err, &blocked):
		return &refusal{status: http.StatusTooManyRequests, code: codeNone, retryAfter: blocked.WaitSeconds(),
			message: fmt.Sprintf("Too many failed sign-ins for this account or from your address: try again in %d seconds.", blocked.WaitSeconds())}
	case errors.Is(err, identity.ErrBadCredentials):
		e := &refusal{status: http.StatusBadRequest, code: codeInvalid,
			message: fmt.Sprintf("Invalid credentials, failed to login: the user name or password is not right for organization %s.", org.Name),
			details: "usernameOrEmailAddress is the user's email address in the organization; the password is the one the user signs in with."}
		if !strings.Contains(login, "@") {
			e.details = fmt.Sprintf("usernameOrEmailAddress %q is not an email address: users sign in with their email address. ", login) + e.details
		}
		return e
	case err != nil:
		return internalRefusal(r, err)
	}
	token, _, err := s.ids.IssueLegacyToken(r, org, t, u)
	if errors.As(err, &lr) {
		return &refusal{status: http.StatusForbidden, code: codeNone, message: lr.Message}
	} else if err != nil {
		return internalRefusal(r, err)
	}
	writeABPResult(w, token)
	return nil
}

// pathTenant resolves /{org}/{tenant}/ of the URL; a tenancyName in the body must name the
// same tenant.
func (s *Service) pathTenant(r *http.Request, tenancyName string) (tenancy.Organization, tenancy.Tenant, *refusal) {
	ctx := r.Context()
	orgName, tenantName := r.PathValue("org"), r.PathValue("tenant")
	org, err := s.st.OrganizationGetByName(ctx, orgName)
	if errors.Is(err, store.ErrNotFound) {
		return org, tenancy.Tenant{}, &refusal{status: http.StatusNotFound, code: codeNotFound, message: fmt.Sprintf(
			"Organization %q does not exist on this server: the first segment of the URL is the organization's logical name or Key.", orgName)}
	} else if err != nil {
		return org, tenancy.Tenant{}, internalRefusal(r, err)
	}
	t, err := s.st.TenantGetByName(ctx, org.ID, tenantName)
	if errors.Is(err, store.ErrNotFound) {
		return org, t, &refusal{status: http.StatusNotFound, code: codeNotFound, message: fmt.Sprintf(
			"Tenant %q does not exist in organization %s: the second segment of the URL is the tenant's logical name or Key.", tenantName, org.Name)}
	} else if err != nil {
		return org, t, internalRefusal(r, err)
	}
	if tenancyName != "" && !strings.EqualFold(tenancyName, t.Name) && !strings.EqualFold(tenancyName, t.Key) &&
		!strings.EqualFold(tenancyName, t.DisplayName) {
		e := invalidRequest(fmt.Sprintf("tenancyName %q does not name tenant %s of the URL: send %q, or leave tenancyName out.", tenancyName, t.Name, t.Name))
		e.validation = []validationError{{Message: "tenancyName disagrees with the URL's tenant " + t.Name + ".", Members: []string{"tenancyName"}}}
		return org, t, e
	}
	return org, t, nil
}

// tenantMatch is a tenant of the given name in one organization.
type tenantMatch struct {
	org    tenancy.Organization
	tenant tenancy.Tenant
}

// findTenant finds the tenant of the org-less login by its logical name (or Key). Tenant
// names are unique within an organization only: when several organizations have one of
// that name, the id_token the old scripts send along (or an access token) chooses, and
// without one the answer names the URLs to use instead.
func (s *Service) findTenant(r *http.Request, name string) (tenancy.Organization, tenancy.Tenant, *refusal) {
	ctx := r.Context()
	orgs, err := s.st.OrganizationList(ctx)
	if err != nil {
		return tenancy.Organization{}, tenancy.Tenant{}, internalRefusal(r, err)
	}
	var matches []tenantMatch
	for _, o := range orgs {
		t, err := s.st.TenantGetByName(ctx, o.ID, name)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return tenancy.Organization{}, tenancy.Tenant{}, internalRefusal(r, err)
		}
		matches = append(matches, tenantMatch{o, t})
	}
	switch len(matches) {
	case 0:
		return tenancy.Organization{}, tenancy.Tenant{}, invalidTenancy(fmt.Sprintf(
			"There is no tenant %q on this server: tenancyName is the tenant's logical name, the second segment of its URLs "+
				"(/{organization}/{tenant}/…); GET /cloudrpa/api/account/{organization}/getAllServiceInstances lists them as serviceInstanceLogicalName.", name),
			"No tenant of this name exists.")
	case 1:
		return matches[0].org, matches[0].tenant, nil
	}
	orgKey, why := s.tokenOrganization(r)
	for _, m := range matches {
		if orgKey != "" && m.org.Key == orgKey {
			return m.org, m.tenant, nil
		}
	}
	if orgKey != "" {
		why = "the token's organization has no tenant of that name"
	}
	urls := make([]string, 0, len(matches))
	names := make([]string, 0, len(matches))
	for _, m := range matches {
		names = append(names, m.org.Name)
		urls = append(urls, s.public+"/"+m.org.Name+"/"+m.tenant.Name+"/api/account/authenticate")
	}
	msg := fmt.Sprintf("tenancyName %q is ambiguous: organizations %s each have a tenant of that name. Post to your organization's own URL instead: %s.",
		name, strings.Join(names, ", "), strings.Join(urls, " or "))
	if why != "" {
		msg += " (The Authorization header's token could not choose: " + why + ".)"
	}
	return tenancy.Organization{}, tenancy.Tenant{}, invalidTenancy(msg, "Several organizations have a tenant of this name.")
}

func invalidTenancy(message, short string) *refusal {
	e := invalidRequest(message)
	e.validation = []validationError{{Message: short, Members: []string{"tenancyName"}}}
	return e
}

// tokenOrganization returns the organization Key of the optional bearer token (an id_token
// or an access token), or why it has none. The token only chooses among organizations: the
// password authenticates, so a stale id_token does not fail the login.
func (s *Service) tokenOrganization(r *http.Request) (orgKey, why string) {
	raw, ok := bearer(r)
	switch {
	case !ok:
		return "", "the header is not \"Bearer <token>\""
	case raw == "":
		return "", ""
	}
	c, err := s.verify(r.Context(), raw)
	if err != nil {
		var te *identity.TokenError
		if errors.As(err, &te) {
			return "", te.Reason
		}
		server.Logger(r.Context()).Warn("legacy: could not verify the login's bearer token", "err", err)
		return "", "it could not be verified"
	}
	return c.OrgKey, ""
}
