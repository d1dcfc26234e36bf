package legacy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/openorch/openorch/internal/identity"
	"github.com/openorch/openorch/internal/server"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// The discovery answers, with the field names of the older cloud service
// (reference/uipath-wire.md §1–2).
type (
	accountsForUser struct {
		UserEmail string    `json:"userEmail"`
		Accounts  []account `json:"accounts"`
	}
	account struct {
		AccountName        string `json:"accountName"`
		AccountLogicalName string `json:"accountLogicalName"`
	}
	serviceInstance struct {
		ServiceInstanceName        string `json:"serviceInstanceName"`
		ServiceInstanceLogicalName string `json:"serviceInstanceLogicalName"`
		ServiceType                string `json:"serviceType"`
		ServiceURL                 string `json:"serviceUrl"`
	}
	tenantsAndOrganization struct {
		Organization idName   `json:"organization"`
		Tenants      []idName `json:"tenants"`
	}
	idName struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
)

// serviceTypeOrchestrator is the only kind of service instance there is: a tenant.
const serviceTypeOrchestrator = "ORCHESTRATOR"

// caller is who a discovery request comes from.
type caller struct {
	org      tenancy.Organization
	name     string // for messages: "user ann@acme.test", "app invoice-bot", "machine worker-1"
	email    string // a user's; "" for apps and machines
	tenantID int64  // a machine's tenant: its robots see that one only
}

// problem is a refusal of a discovery endpoint, answered in the Orchestrator error shape.
type problem struct {
	status     int
	code       int
	message    string
	authReason string // set on 401s: also sent in WWW-Authenticate
}

func unauthorized(format string, args ...any) *problem {
	reason := fmt.Sprintf(format, args...)
	return &problem{status: http.StatusUnauthorized, message: "You are not authenticated! " + reason, authReason: reason}
}

func writeProblem(w http.ResponseWriter, r *http.Request, p *problem) {
	if p.authReason != "" {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+
			strings.ReplaceAll(p.authReason, `"`, `'`)+`"`)
	}
	w.Header().Set("Cache-Control", "no-store")
	server.WriteError(w, r, p.status, p.code, p.message)
}

// internalProblem logs err under the request's trace id and answers without its text.
func internalProblem(r *http.Request, err error) *problem {
	server.Logger(r.Context()).Error("legacy: internal error", "err", err)
	return &problem{status: http.StatusInternalServerError,
		message: "An internal error occurred. Quote the trace id " + server.TraceID(r.Context()) + " when reporting it."}
}

// bearer returns the token of the Authorization header: "" with ok when there is no header,
// !ok when the header is not "Bearer <token>" (the scheme in any case).
func bearer(r *http.Request) (token string, ok bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", true
	}
	scheme, token, _ := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// verify accepts what the old scripts send, an id_token, and what newer ones send, an
// access token or a personal access token.
func (s *Service) verify(ctx context.Context, raw string) (identity.Claims, error) {
	c, err := s.ids.VerifyIDToken(ctx, raw)
	if errors.Is(err, identity.ErrNotIDToken) {
		return s.ids.VerifyBearer(ctx, raw)
	}
	return c, err
}

// authenticateCaller checks the bearer token and finds who it belongs to.
func (s *Service) authenticateCaller(r *http.Request) (*caller, *problem) {
	raw, ok := bearer(r)
	switch {
	case !ok:
		return nil, unauthorized("the Authorization header must be \"Bearer <token>\"")
	case raw == "":
		return nil, unauthorized("no Authorization header: send Authorization: Bearer <id_token> (the id_token of the token endpoint's answer) or an access token")
	}
	ctx := r.Context()
	c, err := s.verify(ctx, raw)
	var te *identity.TokenError
	if errors.As(err, &te) {
		return nil, unauthorized("%s", te.Reason)
	} else if err != nil {
		return nil, internalProblem(r, err)
	}
	org, err := s.st.OrganizationGetByName(ctx, c.OrgKey)
	if errors.Is(err, store.ErrNotFound) {
		return nil, unauthorized("the token's organization no longer exists")
	} else if err != nil {
		return nil, internalProblem(r, err)
	}
	who := &caller{org: org}
	switch c.SubType {
	case identity.SubUser:
		u, err := s.st.UserGetByKey(ctx, org.ID, c.Subject)
		if errors.Is(err, store.ErrNotFound) || err == nil && u.Disabled {
			return nil, unauthorized("the token's user no longer exists or is disabled")
		} else if err != nil {
			return nil, internalProblem(r, err)
		}
		who.name, who.email = "user "+u.Email, u.Email
	case identity.SubClient:
		app, err := s.st.AppGetByClientID(ctx, c.ClientID)
		if errors.Is(err, store.ErrNotFound) || err == nil && (app.Key != c.Subject || app.OrgID != org.ID) {
			return nil, unauthorized("the token's application %s no longer exists", c.ClientID)
		} else if err != nil {
			return nil, internalProblem(r, err)
		}
		who.name = "app " + app.Name
	case identity.SubRobot:
		m, err := s.st.MachineGetByClientID(ctx, c.ClientID)
		if errors.Is(err, store.ErrNotFound) || err == nil && m.Key != c.Subject {
			return nil, unauthorized("the token's machine %s no longer exists", c.ClientID)
		} else if err != nil {
			return nil, internalProblem(r, err)
		}
		who.name, who.tenantID = "machine "+m.Name, m.TenantID
	default:
		return nil, unauthorized("the token's sub_type %q is not user, client or robot", c.SubType)
	}
	return who, nil
}

// organizationFor finds the organization a URL names (logical name in any case, or Key)
// and checks that the caller belongs to it: an unknown one is 404, another one 403 naming
// both.
func (s *Service) organizationFor(r *http.Request, who *caller, name, what string) (tenancy.Organization, *problem) {
	org, err := s.st.OrganizationGetByName(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		return org, &problem{status: http.StatusNotFound, code: 1002,
			message: fmt.Sprintf("%s %q does not exist on this server: use the organization's logical name (accountLogicalName in GET /cloudrpa/api/getAccountsForUser) or its Key", what, name)}
	} else if err != nil {
		return org, internalProblem(r, err)
	}
	if org.ID != who.org.ID {
		return org, &problem{status: http.StatusForbidden, message: fmt.Sprintf(
			"You are not authorized! The token belongs to %s of organization %s, not %s: ask about %s, or use a token issued to a member of %s",
			who.name, who.org.Name, org.Name, who.org.Name, org.Name)}
	}
	return org, nil
}

// tenantsOf lists the tenants the caller may see: every tenant of its organization, or a
// machine's own tenant.
func (s *Service) tenantsOf(ctx context.Context, who *caller) ([]tenancy.Tenant, error) {
	if who.tenantID != 0 {
		t, err := s.st.TenantGetByID(ctx, who.tenantID)
		if err != nil {
			return nil, err
		}
		return []tenancy.Tenant{t}, nil
	}
	return s.st.TenantList(ctx, who.org.ID)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Cache-Control", "no-store")
	server.WriteJSON(w, http.StatusOK, v)
}

func displayName(display, name string) string {
	if display != "" {
		return display
	}
	return name
}

// accountsForUser serves GET /cloudrpa/api/getAccountsForUser: the caller's organization,
// the only account a principal of OpenOrch belongs to.
func (s *Service) accountsForUser(w http.ResponseWriter, r *http.Request) {
	who, p := s.authenticateCaller(r)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	writeJSON(w, accountsForUser{UserEmail: who.email, Accounts: []account{{
		AccountName: displayName(who.org.DisplayName, who.org.Name), AccountLogicalName: who.org.Name}}})
}

// serviceInstances serves GET /cloudrpa/api/account/{account}/getAllServiceInstances: the
// tenants of the account, with the URL that the older layout's calls start with.
func (s *Service) serviceInstances(w http.ResponseWriter, r *http.Request) {
	who, p := s.authenticateCaller(r)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	org, p := s.organizationFor(r, who, r.PathValue("account"), "account")
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	ts, err := s.tenantsOf(r.Context(), who)
	if err != nil {
		writeProblem(w, r, internalProblem(r, err))
		return
	}
	out := make([]serviceInstance, 0, len(ts))
	for _, t := range ts {
		out = append(out, serviceInstance{ServiceInstanceName: displayName(t.DisplayName, t.Name), ServiceInstanceLogicalName: t.Name,
			ServiceType: serviceTypeOrchestrator, ServiceURL: s.public + "/" + org.Name + "/" + t.Name})
	}
	writeJSON(w, out)
}

// tenantsAndOrganizationInfo serves GET /{org}/portal_/api/filtering/leftnav/
// tenantsAndOrganizationInfo, which SDKs call with the organization's Key (prt_id).
func (s *Service) tenantsAndOrganizationInfo(w http.ResponseWriter, r *http.Request) {
	who, p := s.authenticateCaller(r)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	org, p := s.organizationFor(r, who, r.PathValue("org"), "organization")
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	ts, err := s.tenantsOf(r.Context(), who)
	if err != nil {
		writeProblem(w, r, internalProblem(r, err))
		return
	}
	out := tenantsAndOrganization{Organization: idName{ID: org.Key, Name: org.Name}, Tenants: make([]idName, 0, len(ts))}
	for _, t := range ts {
		out.Tenants = append(out.Tenants, idName{ID: t.Key, Name: t.Name})
	}
	writeJSON(w, out)
}
