package legacy

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/openorch/openorch/internal/identity"
	"github.com/openorch/openorch/internal/tenancy"
)

// Identity is what the legacy endpoints need of the identity service (identity.Service).
type Identity interface {
	VerifyBearer(ctx context.Context, raw string) (identity.Claims, error)
	VerifyIDToken(ctx context.Context, raw string) (identity.Claims, error)
	LegacyTenantAllowed(r *http.Request, org tenancy.Organization, t tenancy.Tenant, login string) error
	AuthenticatePassword(r *http.Request, org tenancy.Organization, email, password, clientID string) (tenancy.User, error)
	IssueLegacyToken(r *http.Request, org tenancy.Organization, t tenancy.Tenant, u tenancy.User) (string, time.Time, error)
}

// Store is what the legacy endpoints read.
type Store interface {
	OrganizationGetByName(ctx context.Context, nameOrKey string) (tenancy.Organization, error)
	OrganizationList(ctx context.Context) ([]tenancy.Organization, error)
	TenantGetByName(ctx context.Context, orgID int64, nameOrKey string) (tenancy.Tenant, error)
	TenantGetByID(ctx context.Context, id int64) (tenancy.Tenant, error)
	TenantList(ctx context.Context, orgID int64) ([]tenancy.Tenant, error)
	UserGetByKey(ctx context.Context, orgID int64, key string) (tenancy.User, error)
	AppGetByClientID(ctx context.Context, clientID string) (tenancy.App, error)
	MachineGetByClientID(ctx context.Context, clientID string) (tenancy.Machine, error)
}

// Options configure the legacy endpoints.
type Options struct {
	Store     Store
	Identity  Identity
	PublicURL string
}

// Service serves the legacy endpoints.
type Service struct {
	st     Store
	ids    Identity
	public string
}

// New makes the legacy endpoints.
func New(o Options) *Service {
	// Handlers log through the request's logger (server.Logger), which carries the trace id.
	return &Service{st: o.Store, ids: o.Identity, public: strings.TrimRight(o.PublicURL, "/")}
}

// Mux is where the legacy endpoints mount (server.Server).
type Mux interface {
	HandleFunc(pattern string, h http.HandlerFunc)
	// HandleFuncAnyCase also serves the path with its literal segments in any letter case.
	HandleFuncAnyCase(pattern string, h http.HandlerFunc)
}

// Mount adds the routes. Clients post the login to /api/Account/Authenticate as often as
// to /api/account/authenticate, so its paths match in any case.
func (s *Service) Mount(m Mux) {
	m.HandleFunc("GET /cloudrpa/api/getAccountsForUser", s.accountsForUser)
	m.HandleFunc("GET /cloudrpa/api/account/{account}/getAllServiceInstances", s.serviceInstances)
	m.HandleFunc("GET /{org}/portal_/api/filtering/leftnav/tenantsAndOrganizationInfo", s.tenantsAndOrganizationInfo)
	m.HandleFuncAnyCase("POST /api/account/authenticate", s.authenticate)
	m.HandleFuncAnyCase("POST /{org}/{tenant}/api/account/authenticate", s.authenticate)
}
