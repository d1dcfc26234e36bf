package server

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// routeUnmatched is the route label of requests that no registered pattern served.
const routeUnmatched = "unmatched"

// httpMetrics are the request metrics, labelled by route pattern, never by raw path.
type httpMetrics struct {
	requests *prometheus.CounterVec   // orch_http_requests_total{route,method,code}
	duration *prometheus.HistogramVec // orch_http_request_duration_seconds{route,method}
	inFlight prometheus.Gauge         // orch_http_requests_in_flight
}

func newHTTPMetrics(reg prometheus.Registerer, version string) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orch_http_requests_total",
			Help: "HTTP requests served, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "orch_http_request_duration_seconds",
			Help: "Time to serve HTTP requests, by route pattern and method.",
			// Up to two minutes: robots' long polls wait up to 60s.
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "orch_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
	}
	m.requests = register(reg, m.requests)
	m.duration = register(reg, m.duration)
	m.inFlight = register(reg, m.inFlight)

	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "orch_build_info",
		Help:        "Always 1; the version label is the version of the running orch.",
		ConstLabels: prometheus.Labels{"version": version},
	})
	info.Set(1)
	register(reg, info)
	return m
}

// register registers c, or returns the identical collector already registered (two Servers
// sharing one registry share their metrics). Any other registration error is a programming
// error and panics, as prometheus.MustRegister does.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic(err)
}

// observe records one finished request.
func (m *httpMetrics) observe(route, method string, status int, elapsed time.Duration) {
	method = methodLabel(method)
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route, method).Observe(elapsed.Seconds())
}

// methodLabel bounds the method label: a client may send any token as a method.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}
