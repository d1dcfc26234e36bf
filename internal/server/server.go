// Package server is the HTTP skeleton of orch serve: a standard library ServeMux with
// method patterns inside one middleware chain (metrics and access log, request id and W3C
// trace context, trusted-proxy resolution, panic recovery, body size limit), the ops
// endpoints /healthz, /readyz and /metrics, JSON answers for unmatched routes, the
// Orchestrator error writer, and Serve, which runs an http.Server until its context ends.
//
// Feature packages mount their routes with Server.Handle; handlers reach the request's
// logger, trace id and real client address through Logger, TraceID, TraceParent, ClientIP
// and ExternalURL.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultMaxBodyBytes is the request body cap when Options.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 10 << 20

// readyTimeout bounds the database ping of /readyz.
const readyTimeout = 2 * time.Second

// Pinger is what /readyz checks: the database.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Options configure New. The zero value works: no logging, no database check, no trusted
// proxies, a 10 MiB body cap and a new metrics registry.
type Options struct {
	Logger *slog.Logger // nil: discard
	DB     Pinger       // /readyz pings it with a 2s timeout; nil: always ready

	// TrustedProxies are the peers whose X-Forwarded-For, -Proto and -Host are believed.
	TrustedProxies []netip.Prefix

	// MaxBodyBytes caps request bodies; larger ones answer 413. 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64

	// Version is exported as the version label of the orch_build_info metric.
	Version string

	// Registry receives the HTTP metrics and is served at GET /metrics. nil: a new registry,
	// with the Go and process collectors registered on it.
	Registry *prometheus.Registry
}

// Server routes requests to the handlers mounted on it, inside the middleware chain.
// It is an http.Handler; hand it to Serve.
type Server struct {
	mux            *http.ServeMux
	handler        http.Handler // the middleware chain around the mux
	logger         *slog.Logger
	db             Pinger
	trustedProxies []netip.Prefix
	maxBody        int64
	registry       *prometheus.Registry
	metrics        *httpMetrics
	anyCase        []anyCasePath // paths of HandleAnyCase, matched in any letter case

	// bodyRules are the body caps features set for their own requests (AddBodyLimit).
	bodyRules atomic.Pointer[[]func(*http.Request) int64]
}

// New returns a Server with the ops endpoints GET /healthz, GET /readyz and GET /metrics
// mounted. It panics if a metric of the same name but a different kind is already in
// opts.Registry.
func New(opts Options) *Server {
	s := &Server{
		mux:      http.NewServeMux(),
		logger:   opts.Logger,
		db:       opts.DB,
		maxBody:  opts.MaxBodyBytes,
		registry: opts.Registry,
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	for _, p := range opts.TrustedProxies {
		if p.Addr().Is4In6() { // an IPv4 prefix written as IPv6; client addresses are unmapped
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		s.trustedProxies = append(s.trustedProxies, p.Masked())
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
		s.registry.MustRegister(
			collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		)
	}
	s.metrics = newHTTPMetrics(s.registry, opts.Version)
	s.handler = s.chain()

	s.HandleFunc("GET /healthz", s.healthz)
	s.HandleFunc("GET /readyz", s.readyz)
	s.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelError),
		Registry: s.registry,
	}))
	return s
}

// chain is the whole middleware stack, outermost first.
func (s *Server) chain() http.Handler {
	return s.observe( // metrics and access log
		s.withRequestContext( // request id, trace context, request logger
			s.resolveClient( // trusted proxies: client address, scheme, host
				s.recoverPanic( // panics: logged, 500 with the trace id
					s.limitBody( // body size cap: 413
						http.HandlerFunc(s.route)))))) // the mux, JSON for 404 and 405
}

// Handle mounts h on the mux for pattern, a ServeMux pattern such as
// "GET /{org}/identity_/connect/token". The pattern is the route label of the request's
// metrics and logs. Like ServeMux.Handle, it panics on an invalid or conflicting pattern.
func (s *Server) Handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetRoute(r, r.Pattern)
		h.ServeHTTP(w, r)
	}))
}

// SetRoute names the route of a request whose handler dispatches it further itself (the
// Orchestrator API routes OData paths, such as Folders(5), that ServeMux patterns cannot
// express). The name replaces the mux pattern as the label of metrics and logs, so it must
// come from a fixed set, never from the raw path.
func SetRoute(r *http.Request, route string) {
	if st := stateFrom(r.Context()); st != nil {
		st.route = route
		st.logger = st.baseLogger.With("route", route)
	}
}

// HandleFunc mounts h for pattern, as Handle does.
func (s *Server) HandleFunc(pattern string, h http.HandlerFunc) {
	s.Handle(pattern, h)
}

// ServeHTTP serves r through the full middleware chain and the mux.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// Registry returns the metrics registry served at GET /metrics, for other packages to
// register their metrics on.
func (s *Server) Registry() *prometheus.Registry {
	return s.registry
}

// route dispatches to the mux, once the paths of HandleAnyCase routes are spelled as
// mounted. When no pattern matches, the mux's plain-text 404 and 405
// (with its Allow header) are turned into the JSON error shape.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	r = s.foldCase(r)
	if _, pattern := s.mux.Handler(r); pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	s.mux.ServeHTTP(&noRouteWriter{ResponseWriter: w, r: r}, r)
}

// noRouteWriter replaces the mux's 404 and 405 with JSON and passes anything else (the
// mux's redirects to cleaned paths) through.
type noRouteWriter struct {
	http.ResponseWriter
	r           *http.Request
	intercepted bool
}

func (w *noRouteWriter) WriteHeader(code int) {
	switch {
	case w.intercepted:
	case code == http.StatusNotFound:
		w.intercepted = true
		WriteError(w.ResponseWriter, w.r, code, codeNone, fmt.Sprintf(
			"No route for %s %s. Check the method and the path: the Orchestrator API is under /{organization}/{tenant}/orchestrator_/, the identity service under /identity_/.",
			w.r.Method, w.r.URL.Path))
	case code == http.StatusMethodNotAllowed:
		w.intercepted = true
		WriteError(w.ResponseWriter, w.r, code, codeNone, fmt.Sprintf(
			"Method %s is not allowed for %s. Allowed: %s.",
			w.r.Method, w.r.URL.Path, w.Header().Get("Allow")))
	default:
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *noRouteWriter) Write(p []byte) (int, error) {
	if w.intercepted {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

func (w *noRouteWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// healthStatus is the body of /healthz and /readyz.
type healthStatus struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// healthz answers as long as the process serves HTTP.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, http.StatusOK, healthStatus{Status: "ok"})
}

// readyz answers 200 when the database answers a ping within 2s, 503 otherwise. The reason
// names the kind of failure only: database errors may quote connection strings.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if s.db != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := s.db.Ping(ctx); err != nil {
			reason := fmt.Sprintf("database: ping failed (%T)", rootCause(err))
			if ctx.Err() != nil {
				reason = fmt.Sprintf("database: did not answer within %s", readyTimeout)
			}
			Logger(r.Context()).Warn("not ready", "reason", reason, "err", err)
			WriteJSON(w, http.StatusServiceUnavailable, healthStatus{Status: "unavailable", Reason: reason})
			return
		}
	}
	WriteJSON(w, http.StatusOK, healthStatus{Status: "ready"})
}

// rootCause follows the chain of wrapped errors to the innermost one, whose type says more
// than that of a wrapper.
func rootCause(err error) error {
	for {
		inner := errors.Unwrap(err)
		if inner == nil {
			return err
		}
		err = inner
	}
}
