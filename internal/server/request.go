package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
)

// requestState is what the middleware learns about one request. The outermost middleware
// creates it and puts a pointer into the request context; the inner layers fill it in, so
// the access log sees what they found (route, client address, status) once the handler
// returns. Only the goroutine serving the request writes it.
type requestState struct {
	requestID  string
	traceID    string       // 32 lowercase hex digits
	spanID     string       // 16 lowercase hex digits: our span, sent back in traceparent
	logger     *slog.Logger // baseLogger with the route
	baseLogger *slog.Logger // request id, trace id, method

	clientIP netip.Addr
	scheme   string // as the client saw it: "http" or "https"
	host     string // as the client saw it

	route  string // the mux pattern that matched; "" when none did
	status int    // the status written, 0 until the header is written
	bytes  int64  // body bytes written
}

// stateKey is the context key of the *requestState.
type stateKey struct{}

func stateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(stateKey{}).(*requestState)
	return st
}

// ClientIP returns the address of the client that made the request: the peer address, or,
// when the peer is a trusted proxy, the address it forwarded in X-Forwarded-For. It returns
// the zero netip.Addr when the peer address is not an IP address (a Unix socket, say).
func ClientIP(r *http.Request) netip.Addr {
	if st := stateFrom(r.Context()); st != nil {
		return st.clientIP
	}
	return peerAddr(r)
}

// ExternalURL returns scheme://host of the request as the client saw it: https for TLS
// connections, and X-Forwarded-Proto and X-Forwarded-Host when the peer is a trusted
// proxy. It returns a new URL on each call; callers may modify it.
func ExternalURL(r *http.Request) *url.URL {
	if st := stateFrom(r.Context()); st != nil {
		return &url.URL{Scheme: st.scheme, Host: st.host}
	}
	return &url.URL{Scheme: connScheme(r), Host: r.Host}
}

// TraceID returns the W3C trace id of the request (32 hex digits), or "" outside a request
// served by a Server.
func TraceID(ctx context.Context) string {
	if st := stateFrom(ctx); st != nil {
		return st.traceID
	}
	return ""
}

// TraceParent returns the W3C traceparent of our span of the request,
// "00-<trace id>-<span id>-01": the form UiPath puts in the traceId of error bodies. It
// returns "" outside a request served by a Server.
func TraceParent(ctx context.Context) string {
	if st := stateFrom(ctx); st != nil && st.traceID != "" {
		return "00-" + st.traceID + "-" + st.spanID + "-01"
	}
	return ""
}

// Logger returns the request-scoped logger, which carries request_id, trace_id, method and,
// once the mux has matched, route. Outside a request served by a Server it returns a logger
// that discards everything.
func Logger(ctx context.Context) *slog.Logger {
	if st := stateFrom(ctx); st != nil && st.logger != nil {
		return st.logger
	}
	return slog.New(slog.DiscardHandler)
}

// peerAddr is the IP address of the connection's peer, or the zero Addr.
func peerAddr(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(r.RemoteAddr); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}

func connScheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// saneRequestID reports whether a client-supplied X-Request-Id may be reused: 1 to 128
// printable ASCII characters.
func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// parseTraceParent returns the trace id of a W3C traceparent header of version 00
// ("00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>"), and ok false when the header
// is absent or malformed, or either id is all zeros.
func parseTraceParent(h string) (traceID string, ok bool) {
	if len(h) != 55 || h[0:3] != "00-" || h[35] != '-' || h[52] != '-' {
		return "", false
	}
	traceID, parentID, flags := h[3:35], h[36:52], h[53:55]
	if !lowerHex(traceID) || !lowerHex(parentID) || !lowerHex(flags) || allZeros(traceID) || allZeros(parentID) {
		return "", false
	}
	return traceID, true
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func allZeros(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}

// randomHex returns n random bytes as 2n lowercase hex digits, never all zeros (an
// all-zero trace or span id is invalid).
func randomHex(n int) string {
	b := make([]byte, n)
	for {
		rand.Read(b) // never fails: crypto/rand.Read crashes the program rather than return an error
		s := hex.EncodeToString(b)
		if !allZeros(s) {
			return s
		}
	}
}
