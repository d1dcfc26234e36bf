package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openorch/openorch/internal/identity"
	"github.com/openorch/openorch/internal/queues"
	"github.com/openorch/openorch/internal/robots"
	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/server"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// Authenticator checks a bearer token: an OpenOrch JWT or a personal access token
// (identity.Service.VerifyBearer). A refusal is an *identity.TokenError.
type Authenticator interface {
	VerifyBearer(ctx context.Context, raw string) (identity.Claims, error)
}

// Options configure the API.
type Options struct {
	Store     store.Store
	Auth      Authenticator
	PublicURL string
	Logger    *slog.Logger
	// Version is reported by /orchestrator_/api/status/version.
	Version string
	// Registry receives the API's metrics (nil: none are exported).
	Registry prometheus.Registerer
	// Revoker, when set, revokes on every node the tokens of a machine whose secret is
	// regenerated or which is deleted (DenyListRevoker).
	Revoker Revoker
	// SecretKey is the installation's secret key: it seals the values of Credential and
	// Secret assets before they reach the database.
	SecretKey *secret.Key
	// Now is the clock of the queue operations (nil: time.Now); tests move it.
	Now func() time.Time
	// QueueSignal wakes StartTransaction calls waiting for items (Prefer: wait); nil: one
	// of the API's own. Pass the one the sweeper and the PostgreSQL listener feed.
	QueueSignal *queues.Signal
	// Stopping, when it is closed, says the server is shutting down: calls that wait
	// (StartTransaction with Prefer: wait, robot/next) answer at once, as when their wait
	// is over, instead of holding the shutdown up. nil: never.
	Stopping <-chan struct{}
	// WaitPoll is how often a waiting StartTransaction (Prefer: wait) or robot/next looks
	// again when no wake-up came, a fallback against a lost notification; 0: one second.
	WaitPoll time.Duration
	// CacheTTL is how long this node reuses organizations, tenants, principals, their
	// roles, folders and queues it read (cache.go): changes made on other nodes show
	// within it. 0: one second; negative: every call reads the store.
	CacheTTL time.Duration
	// RobotSignal wakes robot/next calls waiting for work; nil: one of the API's own.
	// Pass the one the PostgreSQL listener feeds.
	RobotSignal *robots.Signal
	// RobotHeartbeatInterval and RobotUnresponsiveAfter are told to robots when they
	// connect (0: the defaults of package robots).
	RobotHeartbeatInterval time.Duration
	RobotUnresponsiveAfter time.Duration
	// JobTokens mints the tokens of jobs handed to robots; nil: Auth when it can.
	JobTokens JobTokenIssuer
}

// shuttingDown reports whether the server has begun to shut down (Options.Stopping).
func (a *API) shuttingDown() bool {
	select {
	case <-a.stopping:
		return true
	default:
		return false
	}
}

// API serves the Orchestrator API.
type API struct {
	st      store.Store
	auth    Authenticator
	public  string
	logger  *slog.Logger
	version string
	revoker Revoker
	key     *secret.Key
	now     func() time.Time
	queues  *queueState
	robots  *robotState
	routes  []route
	limits  *limits
	cache   *nodeCache
	// waitPoll is Options.WaitPoll; stopping is Options.Stopping.
	waitPoll time.Duration
	stopping <-chan struct{}
	// refusals counts 401s, 403s and 429s by reason.
	refusals *prometheus.CounterVec
}

// New makes the API with its route table.
func New(o Options) *API {
	a := &API{st: o.Store, auth: o.Auth, public: strings.TrimRight(o.PublicURL, "/"), logger: o.Logger, version: o.Version,
		revoker: o.Revoker, key: o.SecretKey}
	if a.logger == nil {
		a.logger = slog.New(slog.DiscardHandler)
	}
	a.routes = a.routeTable()
	a.limits = newLimits(nil)
	a.cache = newNodeCache(o.CacheTTL, nil)
	a.waitPoll, a.stopping = o.WaitPoll, o.Stopping
	if a.waitPoll <= 0 {
		a.waitPoll = queues.PollInterval
	}
	a.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orch_api_refusals_total",
		Help: "Orchestrator API calls refused with 401, 403 or 429, by status and reason."}, []string{"status", "reason"})
	if o.Registry != nil {
		o.Registry.MustRegister(a.refusals)
	}
	a.initQueues(o)
	a.initRobots(o)
	return a
}

// Mux is where the API mounts itself (server.Server).
type Mux interface {
	HandleFunc(pattern string, h http.HandlerFunc)
}

// Mount adds the API's entry points. OData paths (Folders(5), Jobs/…StartJobs) cannot be
// ServeMux patterns, so each layout has one catch-all that the API routes itself.
func (a *API) Mount(m Mux) {
	m.HandleFunc("/{org}/{tenant}/orchestrator_/odata/{path...}", a.entry(layoutCurrent, false))
	m.HandleFunc("/{org}/{tenant}/odata/{path...}", a.entry(layoutOlder, false))
	m.HandleFunc("/{org}/{tenant}/orchestrator_/api/{path...}", a.entry(layoutCurrent, true))
	m.HandleFunc("/{org}/{tenant}/api/{path...}", a.entry(layoutOlder, true))
	m.HandleFunc("GET /orchestrator_/api/status/version", a.statusVersion)
	// UploadPackage takes bodies larger than the server's cap; the server learns so for
	// those requests only (server.Server.AddBodyLimit).
	if l, ok := m.(interface {
		AddBodyLimit(rule func(*http.Request) int64)
	}); ok {
		l.AddBodyLimit(a.bodyLimit)
	}
	m.HandleFunc("GET /{org}/{tenant}/orchestrator_/swagger/v20.0/swagger.json", a.swagger)
	// The OData metadata and service documents, on both layouts; these patterns are more
	// specific than the catch-alls, so they win. A %24 in the URL reaches them decoded.
	for _, odata := range []struct {
		prefix string
		layout layout
	}{{"/{org}/{tenant}/orchestrator_/odata", layoutCurrent}, {"/{org}/{tenant}/odata", layoutOlder}} {
		m.HandleFunc(odata.prefix+"/$metadata", a.metadata(odata.layout))
		m.HandleFunc(odata.prefix+"/{$}", a.serviceDocument(odata.layout))
		m.HandleFunc(odata.prefix, a.serviceDocument(odata.layout))
	}
}

// call is one API request on its way through the pipeline.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	layout layout
	plain  bool // under …/api/ rather than …/odata/
	org    tenancy.Organization
	tenant tenancy.Tenant
	who    *caller
	route  *route
	path   resourcePath
	folder *tenancy.Folder // the folder context, for folder-scoped routes that have one
	base   string          // the API base URL: {public}/{org}/{tenant}/orchestrator_
}

func (c *call) ctx() context.Context { return c.r.Context() }

// entry returns the handler of one layout's catch-all.
func (a *API) entry(l layout, plain bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := &call{w: w, r: r, layout: l, plain: plain}
		if e := a.serve(c); e != nil {
			if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden || e.Status == http.StatusTooManyRequests {
				reason := e.Reason
				if reason == "" {
					reason = "other"
				}
				a.refusals.WithLabelValues(strconv.Itoa(e.Status), reason).Inc()
			}
			render(w, r, l, e)
		}
	}
}

func (a *API) serve(c *call) *apiError {
	r := c.r
	if e := a.resolveTenant(c); e != nil {
		server.SetRoute(r, "odata (unknown tenant)")
		return e
	}
	var rt *route
	var e *apiError
	if c.plain {
		rt, e = a.matchPlain(r.Method, r.PathValue("path"))
	} else {
		rp, ok := parseResourcePath(r.PathValue("path"))
		if !ok {
			server.SetRoute(r, "odata (unmatched)")
			return notFound("%s is not an OData resource path: expected EntitySet, EntitySet(key) or EntitySet/Namespace.Action", r.PathValue("path"))
		}
		c.path = rp
		rt, e = a.match(r.Method, rp)
	}
	if e != nil {
		server.SetRoute(r, "api (unmatched)")
		return e
	}
	c.route = rt
	server.SetRoute(r, rt.label())
	if c.who, e = a.authenticate(c); e != nil {
		return e
	}
	if e := a.rateLimit(c); e != nil {
		return e
	}
	if e := a.authorize(c); e != nil {
		return e
	}
	return rt.handle(a, c)
}

// resolveTenant finds the organization and tenant of the URL (logical name in any case, or
// Key) and, on the older layout, checks X-UIPATH-TenantName against the URL.
func (a *API) resolveTenant(c *call) *apiError {
	ctx := c.ctx()
	orgName, tenantName := c.r.PathValue("org"), c.r.PathValue("tenant")
	key := tenantCacheKey{orgName, tenantName}
	ref, ok := a.cache.tenants.get(key)
	if !ok {
		read := a.cache.begin()
		org, err := a.st.OrganizationGetByName(ctx, orgName)
		if errors.Is(err, store.ErrNotFound) {
			return notFound("organization %q does not exist on this server; the first segment of the URL is the organization's logical name or Key", orgName)
		} else if err != nil {
			return internalError(c.r, err)
		}
		t, err := a.st.TenantGetByName(ctx, org.ID, tenantName)
		if errors.Is(err, store.ErrNotFound) {
			return notFound("tenant %q does not exist in organization %s%s", tenantName, org.Name, a.tenantHint(ctx, org))
		} else if err != nil {
			return internalError(c.r, err)
		}
		ref = tenantRef{org, t}
		a.cache.tenants.put(read, key, ref)
	}
	org, t := ref.org, ref.tenant
	if h := c.r.Header.Get("X-UIPATH-TenantName"); h != "" && !strings.EqualFold(h, t.Name) && !strings.EqualFold(h, t.Key) {
		return invalid("the X-UIPATH-TenantName header says tenant %q but the URL says %q; make them agree (or drop the header)", h, tenantName)
	}
	c.org, c.tenant = org, t
	seg := "/orchestrator_"
	c.base = a.public + "/" + orgName + "/" + tenantName + seg
	return nil
}

// tenantHint lists an organization's tenants for a "did you mean" in messages.
func (a *API) tenantHint(ctx context.Context, org tenancy.Organization) string {
	ts, err := a.st.TenantList(ctx, org.ID)
	if err != nil || len(ts) == 0 {
		return ""
	}
	names := make([]string, 0, len(ts))
	for _, t := range ts {
		names = append(names, t.Name)
	}
	return " (its tenants: " + strings.Join(names, ", ") + ")"
}

func (a *API) statusVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": a.version, "deployment": "OpenOrch"})
}
