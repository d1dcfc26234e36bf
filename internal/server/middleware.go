package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"
)

// observe is the outermost middleware: it creates the request state, counts the request in
// the metrics and writes the access log line. The log line carries the path, never the
// query string or any header: token endpoints take secrets in both.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		st := &requestState{}
		r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
		rw := &responseWriter{ResponseWriter: w, st: st}

		s.metrics.inFlight.Inc()
		completed := false
		// Deferred so that a request aborted by a panic (http.ErrAbortHandler) is counted too.
		defer func() {
			s.metrics.inFlight.Dec()
			elapsed := time.Since(start)
			status := st.status
			if status == 0 && completed {
				status = http.StatusOK // net/http writes it when the handler wrote nothing
			}
			route := st.route
			if route == "" {
				route = routeUnmatched
			}
			s.metrics.observe(route, r.Method, status, elapsed)
			attrs := []slog.Attr{
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Int64("bytes", st.bytes),
				slog.Duration("duration", elapsed),
				slog.String("client_ip", addrString(st.clientIP)),
				slog.String("request_id", st.requestID),
				slog.String("trace_id", st.traceID),
			}
			if !completed {
				attrs = append(attrs, slog.Bool("aborted", true))
			}
			s.logger.LogAttrs(r.Context(), slog.LevelInfo, "http request", attrs...)
		}()
		next.ServeHTTP(rw, r)
		completed = true
	})
}

// withRequestContext sets the request id and the W3C trace context, echoes both in the
// response headers and creates the request-scoped logger.
func (s *Server) withRequestContext(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := stateFrom(r.Context())

		st.requestID = r.Header.Get("X-Request-Id")
		if !saneRequestID(st.requestID) {
			st.requestID = randomHex(16)
		}
		if traceID, ok := parseTraceParent(r.Header.Get("Traceparent")); ok {
			st.traceID = traceID // continue the caller's trace
		} else {
			st.traceID = randomHex(16)
		}
		st.spanID = randomHex(8)
		st.baseLogger = s.logger.With("request_id", st.requestID, "trace_id", st.traceID, "method", r.Method)
		st.logger = st.baseLogger

		h := w.Header()
		h.Set("X-Request-Id", st.requestID)
		h.Set("Traceparent", TraceParent(r.Context()))
		next.ServeHTTP(w, r)
	})
}

// resolveClient finds the client's address, scheme and host. X-Forwarded-For, -Proto and
// -Host are believed only when the peer is a trusted proxy.
func (s *Server) resolveClient(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := stateFrom(r.Context())
		peer := peerAddr(r)
		st.clientIP, st.scheme, st.host = peer, connScheme(r), r.Host
		if peer.IsValid() && s.trusted(peer) {
			st.clientIP = s.forwardedFor(r.Header.Values("X-Forwarded-For"), peer)
			if proto := strings.ToLower(firstListValue(r.Header.Get("X-Forwarded-Proto"))); proto == "http" || proto == "https" {
				st.scheme = proto
			}
			if host := firstListValue(r.Header.Get("X-Forwarded-Host")); validHost(host) {
				st.host = host
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.trustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedFor walks X-Forwarded-For from the right, past trusted proxies, to the first
// address that is not one: the client. Entries left of it may be forged by the client.
// It stops at a malformed entry, keeping the last proxy as the client.
func (s *Server) forwardedFor(values []string, peer netip.Addr) netip.Addr {
	var hops []string
	for _, v := range values {
		hops = append(hops, strings.Split(v, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(strings.TrimSpace(hops[i]))
		if !ok {
			break
		}
		client = a
		if !s.trusted(a) {
			break
		}
	}
	return client
}

// parseHop parses an X-Forwarded-For entry: an address, with or without a port.
func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// firstListValue returns the first element of a comma-separated header value: the one the
// proxy nearest the client wrote.
func firstListValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.TrimSpace(first)
}

// validHost reports whether h can be used as the host of a URL: a name or address with an
// optional port, nothing that could smuggle a path, user info or markup.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '-', c == '_', c == ':', c == '[', c == ']':
		default:
			return false
		}
	}
	return true
}

// recoverPanic turns a panic into a logged error and a 500 that shows only the trace id.
// http.ErrAbortHandler is re-panicked, as net/http expects; so is any panic after the
// response has started, as http.ErrAbortHandler, to cut the connection rather than let the
// client take a truncated response for a complete one.
func (s *Server) recoverPanic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			Logger(r.Context()).Error("panic serving request",
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if stateFrom(r.Context()).status != 0 {
				panic(http.ErrAbortHandler)
			}
			WriteError(w, r, http.StatusInternalServerError, codeNone, internalErrorMessage)
		}()
		next.ServeHTTP(w, r)
	})
}

// AddBodyLimit gives the requests a rule picks a body cap of their own: rule returns the cap
// for r, or 0 to leave r to the other rules and the server's cap. A feature that takes
// larger bodies than the server's cap (package uploads) says so here, for its own requests
// only. Rules are tried in the order they were added.
func (s *Server) AddBodyLimit(rule func(r *http.Request) int64) {
	for {
		old := s.bodyRules.Load()
		var rules []func(*http.Request) int64
		if old != nil {
			rules = append(rules, *old...)
		}
		rules = append(rules, rule)
		if s.bodyRules.CompareAndSwap(old, &rules) {
			return
		}
	}
}

// bodyLimit is the body cap of r: the first rule's that names one, else the server's.
func (s *Server) bodyLimit(r *http.Request) int64 {
	if rules := s.bodyRules.Load(); rules != nil {
		for _, rule := range *rules {
			if n := rule(r); n > 0 {
				return n
			}
		}
	}
	return s.maxBody
}

// limitBody caps request bodies at s.bodyLimit(r) bytes. A declared Content-Length above the
// cap is refused at once with 413. A body of unknown length (chunked) is cut at the cap; if
// the handler hits the cap, its response is replaced by the same 413, whatever it tried to
// write.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := s.bodyLimit(r)
		if r.ContentLength > limit {
			writeTooLarge(w, r, limit)
			return
		}
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength >= 0 {
			// net/http already stops reading at the declared length, which is within the cap.
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			next.ServeHTTP(w, r)
			return
		}
		body := &limitedBody{ReadCloser: http.MaxBytesReader(w, r.Body, limit)}
		r.Body = body
		lw := &limitWriter{ResponseWriter: w, r: r, body: body, limit: limit}
		next.ServeHTTP(lw, r)
		lw.decide()
	})
}

func writeTooLarge(w http.ResponseWriter, r *http.Request, limit int64) {
	WriteError(w, r, http.StatusRequestEntityTooLarge, codeInvalidRequest,
		fmt.Sprintf("request body is larger than the limit of %d bytes", limit))
}

// limitedBody notes whether the reader hit the body size cap.
type limitedBody struct {
	io.ReadCloser
	exceeded atomic.Bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		b.exceeded.Store(true)
	}
	return n, err
}

// limitWriter holds back the handler's response until it starts, then answers 413 instead
// if the body went over the cap.
type limitWriter struct {
	http.ResponseWriter
	r        *http.Request
	body     *limitedBody
	limit    int64
	decided  bool
	rejected bool
}

// decide is called when the response starts, or when the handler returns without one.
func (w *limitWriter) decide() {
	if w.decided {
		return
	}
	w.decided = true
	if w.body.exceeded.Load() {
		w.rejected = true
		writeTooLarge(w.ResponseWriter, w.r, w.limit)
	}
}

func (w *limitWriter) WriteHeader(code int) {
	if code < 200 { // informational: the final response is yet to come
		if !w.decided {
			w.ResponseWriter.WriteHeader(code)
		}
		return
	}
	w.decide()
	if !w.rejected {
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *limitWriter) Write(p []byte) (int, error) {
	w.decide()
	if w.rejected {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

func (w *limitWriter) Flush() {
	w.decide()
	if !w.rejected {
		http.NewResponseController(w.ResponseWriter).Flush()
	}
}

func (w *limitWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// responseWriter records the status and size of the response in the request state.
type responseWriter struct {
	http.ResponseWriter
	st *requestState
}

func (w *responseWriter) WriteHeader(code int) {
	if w.st.status == 0 && code >= 200 {
		w.st.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.st.status == 0 {
		w.st.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.st.bytes += int64(n)
	return n, err
}

// Flush lets handlers that stream (long polls, logs) push what they wrote.
func (w *responseWriter) Flush() {
	if w.st.status == 0 {
		w.st.status = http.StatusOK
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController access to the connection's writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
