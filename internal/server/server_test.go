package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/server"
)

// logBuffer collects log output; the server writes to it from its own goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the JSON log records.
func (b *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(b.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// newServer returns a Server whose log goes to the returned buffer as JSON.
func newServer(t *testing.T, opts server.Options) (*server.Server, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return server.New(opts), logs
}

// serve runs s.ServeHTTP on req and returns the recorded response.
func serve(s http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

type errorBody struct {
	Message   string `json:"message"`
	ErrorCode int    `json:"errorCode"`
	TraceID   string `json:"traceId"`
}

func decode[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return v
}

var traceParentRE = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-01$`)

// traceParts splits a traceparent we generated into trace id and span id.
func traceParts(t *testing.T, tp string) (traceID, spanID string) {
	t.Helper()
	m := traceParentRE.FindStringSubmatch(tp)
	if m == nil {
		t.Fatalf("traceparent %q is not 00-<32hex>-<16hex>-01", tp)
	}
	return m[1], m[2]
}

// startServe runs Serve on 127.0.0.1:0 and returns the base URL, a cancel func and the
// channel Serve's result arrives on.
func startServe(t *testing.T, h http.Handler, o server.ServeOptions, wrap func(net.Listener) net.Listener) (base string, stop context.CancelFunc, done <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		ln = wrap(ln)
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		errc <- server.Serve(ctx, ln, h, o)
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	scheme := "http"
	if o.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + ln.Addr().String(), cancel, errc
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, server.Options{})
	rec := serve(s, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"status":"ok"}` {
		t.Fatalf("got %d %q", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
}

type pingFunc func(ctx context.Context) error

func (f pingFunc) Ping(ctx context.Context) error { return f(ctx) }

// secretError looks like a driver error that quotes a connection string.
type secretError struct{}

func (secretError) Error() string { return "dial postgres://orch:hunter2@db/orch: refused" }

func TestReadyz(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		db         server.Pinger
		wantStatus int
		wantBody   string
	}{
		{"no database", nil, 200, `{"status":"ready"}`},
		{"database answers", pingFunc(func(context.Context) error { return nil }), 200, `{"status":"ready"}`},
		{"database fails", pingFunc(func(context.Context) error { return fmt.Errorf("store: ping: %w", secretError{}) }), 503,
			`{"status":"unavailable","reason":"database: ping failed (server_test.secretError)"}`},
		{"database hangs", pingFunc(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }), 503,
			`{"status":"unavailable","reason":"database: did not answer within 2s"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newServer(t, server.Options{DB: tt.db})
			rec := serve(s, httptest.NewRequest("GET", "/readyz", nil))
			if rec.Code != tt.wantStatus || strings.TrimSpace(rec.Body.String()) != tt.wantBody {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Body, tt.wantStatus, tt.wantBody)
			}
			if strings.Contains(rec.Body.String(), "hunter2") {
				t.Fatal("the password reached the response")
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, server.Options{})
	tests := []struct {
		name, sent string
		kept       bool
	}{
		{"none sent", "", false},
		{"sane", "req-42.abc_DEF:1", true},
		{"printable with space", "job 7 / retry 2", true},
		{"too long", strings.Repeat("a", 129), false},
		{"control character", "abc\x01def", false},
		{"not ascii", "réquête", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest("GET", "/healthz", nil)
			if tt.sent != "" {
				req.Header.Set("X-Request-Id", tt.sent)
			}
			got := serve(s, req).Header().Get("X-Request-Id")
			if tt.kept && got != tt.sent {
				t.Fatalf("X-Request-Id %q, want %q echoed", got, tt.sent)
			}
			if !tt.kept && !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(got) {
				t.Fatalf("X-Request-Id %q, want a generated 32-hex id", got)
			}
		})
	}
}

func TestTraceParent(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, server.Options{})
	s.HandleFunc("GET /trace", func(w http.ResponseWriter, r *http.Request) {
		server.WriteJSON(w, 200, map[string]string{
			"traceId":     server.TraceID(r.Context()),
			"traceParent": server.TraceParent(r.Context()),
		})
	})
	const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct {
		name, sent, wantTraceID string // wantTraceID "" means a generated one
	}{
		{"continued", incoming, "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"continued, not sampled", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"none", "", ""},
		{"all-zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", ""},
		{"all-zero parent id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", ""},
		{"unknown version", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ""},
		{"upper case", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", ""},
		{"short", "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", ""},
		{"garbage", "hello", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest("GET", "/trace", nil)
			if tt.sent != "" {
				req.Header.Set("traceparent", tt.sent)
			}
			rec := serve(s, req)
			tp := rec.Header().Get("traceparent")
			traceID, spanID := traceParts(t, tp)
			if tt.wantTraceID != "" && traceID != tt.wantTraceID {
				t.Errorf("trace id %s, want %s continued", traceID, tt.wantTraceID)
			}
			if tt.wantTraceID == "" && strings.Contains(tt.sent, traceID) {
				t.Errorf("trace id %s taken from the invalid header %q", traceID, tt.sent)
			}
			if spanID == "00f067aa0ba902b7" {
				t.Error("the caller's span id was reused; want a new span")
			}
			got := decode[map[string]string](t, rec.Body.Bytes())
			if got["traceId"] != traceID || got["traceParent"] != tp {
				t.Errorf("handler saw %v, response header traceparent %s", got, tp)
			}
		})
	}
}

func TestPanicRecovery(t *testing.T) {
	t.Parallel()
	s, logs := newServer(t, server.Options{})
	s.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Partial", "yes")
		panic("database password is PANICX")
	})
	rec := serve(s, httptest.NewRequest("GET", "/boom", nil))
	if rec.Code != 500 {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "PANICX") {
		t.Fatalf("the panic text reached the client: %s", rec.Body)
	}
	body := decode[errorBody](t, rec.Body.Bytes())
	tp := rec.Header().Get("traceparent")
	want := errorBody{Message: "An internal error occurred. Quote the trace id when reporting it.", ErrorCode: 0, TraceID: tp}
	if body != want {
		t.Fatalf("body %+v, want %+v", body, want)
	}
	traceID, _ := traceParts(t, tp)

	var found bool
	for _, l := range logs.lines(t) {
		if l["level"] == "ERROR" && strings.Contains(l["panic"].(string), "PANICX") {
			found = true
			if l["trace_id"] != traceID {
				t.Errorf("panic log trace_id %v, want %s", l["trace_id"], traceID)
			}
			if !strings.Contains(l["stack"].(string), "server_test.TestPanicRecovery") {
				t.Errorf("panic log has no useful stack: %v", l["stack"])
			}
		}
	}
	if !found {
		t.Fatalf("no ERROR log with the panic text:\n%s", logs)
	}
}

// TestPanicAborts checks the panics that must reach net/http as http.ErrAbortHandler, which
// cuts the connection: that value itself, and any panic once the response has started.
func TestPanicAborts(t *testing.T) {
	t.Parallel()
	s, logs := newServer(t, server.Options{})
	s.HandleFunc("GET /abort", func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	})
	s.HandleFunc("GET /half", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		panic("LATEPANICX")
	})
	for _, path := range []string{"/abort", "/half"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if v := recover(); v != http.ErrAbortHandler {
					t.Fatalf("recovered %v, want http.ErrAbortHandler", v)
				}
			}()
			serve(s, httptest.NewRequest("GET", path, nil))
			t.Fatal("ServeHTTP returned normally")
		})
	}
	t.Cleanup(func() {
		if !strings.Contains(logs.String(), "LATEPANICX") {
			t.Errorf("the late panic was not logged:\n%s", logs)
		}
	})
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	const limit = 16
	s, _ := newServer(t, server.Options{MaxBodyBytes: limit})
	// A naive handler: on a read error it answers 400 with the error text.
	s.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		server.WriteJSON(w, 200, map[string]int{"read": len(b)})
	})
	base, _, _ := startServe(t, s, server.ServeOptions{}, nil)

	wantTooLarge := func(t *testing.T, resp *http.Response) {
		t.Helper()
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 413 {
			t.Fatalf("status %d %q, want 413", resp.StatusCode, b)
		}
		body := decode[errorBody](t, b)
		want := errorBody{Message: "request body is larger than the limit of 16 bytes", ErrorCode: 1000, TraceID: resp.Header.Get("traceparent")}
		if body != want || body.TraceID == "" {
			t.Fatalf("body %+v, want %+v", body, want)
		}
	}

	t.Run("at the limit", func(t *testing.T) {
		t.Parallel()
		resp, err := http.Post(base+"/upload", "text/plain", strings.NewReader(strings.Repeat("x", limit)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d, want 200", resp.StatusCode)
		}
	})
	t.Run("Content-Length over the limit", func(t *testing.T) {
		t.Parallel()
		resp, err := http.Post(base+"/upload", "text/plain", strings.NewReader(strings.Repeat("x", limit+1)))
		if err != nil {
			t.Fatal(err)
		}
		wantTooLarge(t, resp)
	})
	t.Run("chunked over the limit", func(t *testing.T) {
		t.Parallel()
		// io.MultiReader hides the length: the client sends Transfer-Encoding: chunked.
		req, err := http.NewRequest("POST", base+"/upload", io.MultiReader(strings.NewReader(strings.Repeat("x", 4*limit))))
		if err != nil {
			t.Fatal(err)
		}
		if req.ContentLength != 0 || req.Body == nil {
			t.Fatalf("the request would not be chunked: ContentLength %d", req.ContentLength)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		wantTooLarge(t, resp)
	})
	t.Run("chunked within the limit", func(t *testing.T) {
		t.Parallel()
		req, err := http.NewRequest("POST", base+"/upload", io.MultiReader(strings.NewReader("small")))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || strings.TrimSpace(string(b)) != `{"read":5}` {
			t.Fatalf("got %d %q", resp.StatusCode, b)
		}
	})
}

func TestTrustedProxies(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, server.Options{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("::ffff:172.16.0.0/108"), // 172.16.0.0/12 written as IPv6
	}})
	s.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		server.WriteJSON(w, 200, map[string]string{
			"ip":  server.ClientIP(r).String(),
			"url": server.ExternalURL(r).String(),
		})
	})
	forwarded := http.Header{
		"X-Forwarded-For":   {"203.0.113.7"},
		"X-Forwarded-Proto": {"https"},
		"X-Forwarded-Host":  {"orch.example.com"},
	}
	tests := []struct {
		name    string
		peer    string
		header  http.Header
		tls     bool
		wantIP  string
		wantURL string
	}{
		{"trusted proxy", "10.1.2.3:4000", forwarded, false, "203.0.113.7", "https://orch.example.com"},
		{"trusted proxy, IPv4-mapped peer", "[::ffff:10.1.2.3]:4000", forwarded, false, "203.0.113.7", "https://orch.example.com"},
		{"trusted proxy given as IPv4-mapped prefix", "172.16.5.5:4000", forwarded, false, "203.0.113.7", "https://orch.example.com"},
		{"untrusted peer", "192.0.2.1:4000", forwarded, false, "192.0.2.1", "http://orch.internal:8080"},
		{"untrusted peer over TLS", "192.0.2.1:4000", forwarded, true, "192.0.2.1", "https://orch.internal:8080"},
		{"no headers from trusted proxy", "10.1.2.3:4000", http.Header{}, false, "10.1.2.3", "http://orch.internal:8080"},
		{"chain: spoofed entry left of the client is ignored", "10.1.2.3:4000", http.Header{
			"X-Forwarded-For": {"198.51.100.66, 203.0.113.7, 10.9.9.9"},
		}, false, "203.0.113.7", "http://orch.internal:8080"},
		{"chain over several header lines", "10.1.2.3:4000", http.Header{
			"X-Forwarded-For": {"198.51.100.66, 203.0.113.7", "10.9.9.9"},
		}, false, "203.0.113.7", "http://orch.internal:8080"},
		{"only proxies: the leftmost", "10.1.2.3:4000", http.Header{
			"X-Forwarded-For": {"10.5.5.5, 10.9.9.9"},
		}, false, "10.5.5.5", "http://orch.internal:8080"},
		{"entry with a port", "10.1.2.3:4000", http.Header{
			"X-Forwarded-For": {"[2001:db8::1]:5555"},
		}, false, "2001:db8::1", "http://orch.internal:8080"},
		{"malformed entry: stop at the proxy", "10.1.2.3:4000", http.Header{
			"X-Forwarded-For": {"203.0.113.7, unknown"},
		}, false, "10.1.2.3", "http://orch.internal:8080"},
		{"bad proto and host are ignored", "10.1.2.3:4000", http.Header{
			"X-Forwarded-Proto": {"javascript"},
			"X-Forwarded-Host":  {"evil.example/path?x"},
		}, false, "10.1.2.3", "http://orch.internal:8080"},
		{"first of a list of protos and hosts", "10.1.2.3:4000", http.Header{
			"X-Forwarded-Proto": {"HTTPS, http"},
			"X-Forwarded-Host":  {"orch.example.com:8443, internal"},
		}, false, "10.1.2.3", "https://orch.example.com:8443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest("GET", "http://orch.internal:8080/whoami", nil)
			req.RemoteAddr = tt.peer
			req.Header = tt.header.Clone()
			if !tt.tls {
				req.TLS = nil
			} else {
				req.TLS = &tls.ConnectionState{}
			}
			rec := serve(s, req)
			got := decode[map[string]string](t, rec.Body.Bytes())
			if got["ip"] != tt.wantIP || got["url"] != tt.wantURL {
				t.Fatalf("ClientIP %s, ExternalURL %s; want %s, %s", got["ip"], got["url"], tt.wantIP, tt.wantURL)
			}
		})
	}
}

func TestNoRoute(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, server.Options{})

	rec := serve(s, httptest.NewRequest("GET", "/nope?x=1", nil))
	body := decode[errorBody](t, rec.Body.Bytes())
	if rec.Code != 404 || !strings.HasPrefix(body.Message, "No route for GET /nope. ") || body.ErrorCode != 0 ||
		body.TraceID != rec.Header().Get("traceparent") {
		t.Fatalf("got %d %+v", rec.Code, body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}

	rec = serve(s, httptest.NewRequest("POST", "/healthz", nil))
	body = decode[errorBody](t, rec.Body.Bytes())
	if rec.Code != 405 || rec.Header().Get("Allow") != "GET, HEAD" ||
		body.Message != "Method POST is not allowed for /healthz. Allowed: GET, HEAD." ||
		body.TraceID != rec.Header().Get("traceparent") {
		t.Fatalf("got %d Allow %q %+v", rec.Code, rec.Header().Get("Allow"), body)
	}

	// The mux's redirect to a cleaned path is not an error and passes through.
	rec = serve(s, httptest.NewRequest("GET", "/x/../healthz", nil))
	if rec.Code != http.StatusTemporaryRedirect && rec.Code != http.StatusMovedPermanently {
		t.Fatalf("cleaned-path redirect: got %d %q", rec.Code, rec.Body)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, server.Options{Version: "1.2.3-test"})
	s.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {})
	serve(s, httptest.NewRequest("GET", "/healthz", nil))
	serve(s, httptest.NewRequest("GET", "/does/not/exist/123", nil))
	serve(s, httptest.NewRequest("GET", "/items/4242", nil))
	serve(s, httptest.NewRequest("BREW", "/healthz", nil))

	rec := serve(s, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d", rec.Code)
	}
	exposition := rec.Body.String()
	for _, want := range []string{
		`orch_http_requests_total{code="200",method="GET",route="GET /healthz"} 1`,
		`orch_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`orch_http_requests_total{code="200",method="GET",route="GET /items/{id}"} 1`,
		`orch_http_requests_total{code="405",method="OTHER",route="unmatched"} 1`,
		`orch_http_request_duration_seconds_bucket{method="GET",route="GET /healthz",le="0.005"}`,
		`orch_http_requests_in_flight 1`, // the /metrics request itself
		`orch_build_info{version="1.2.3-test"} 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(exposition, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	for _, raw := range []string{"/does/not/exist/123", "4242", "BREW"} {
		if strings.Contains(exposition, raw) {
			t.Errorf("exposition has the raw %q", raw)
		}
	}
}

func TestSharedRegistry(t *testing.T) {
	t.Parallel()
	a, _ := newServer(t, server.Options{})
	b, _ := newServer(t, server.Options{Registry: a.Registry()}) // must not panic
	serve(a, httptest.NewRequest("GET", "/healthz", nil))
	serve(b, httptest.NewRequest("GET", "/healthz", nil))
	rec := serve(b, httptest.NewRequest("GET", "/metrics", nil))
	if want := `orch_http_requests_total{code="200",method="GET",route="GET /healthz"} 2`; !strings.Contains(rec.Body.String(), want) {
		t.Fatalf("exposition lacks %q", want)
	}
}

func TestAccessLogKeepsSecretsOut(t *testing.T) {
	t.Parallel()
	s, logs := newServer(t, server.Options{})
	s.HandleFunc("POST /identity_/connect/token", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		server.Logger(r.Context()).Info("issuing token", "grant_type", r.PostForm.Get("grant_type"))
		server.WriteJSON(w, 200, map[string]string{"access_token": "x"})
	})
	req := httptest.NewRequest("POST", "/identity_/connect/token?client_secret=SECRETX&code=CODEX",
		strings.NewReader("grant_type=client_credentials&client_secret=BODYSECRETX"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer TOKENX")
	req.Header.Set("Cookie", "session=COOKIEX")
	req.Header.Set("X-Request-Id", "req-1")
	req.RemoteAddr = "192.0.2.9:1234"
	rec := serve(s, req)
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}

	out := logs.String()
	for _, secret := range []string{"SECRETX", "CODEX", "TOKENX", "COOKIEX", "client_secret"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log contains %q:\n%s", secret, out)
		}
	}
	lines := logs.lines(t)
	if len(lines) != 2 {
		t.Fatalf("want the handler's line and the access line, got:\n%s", out)
	}
	handler, access := lines[0], lines[1]
	traceID, _ := traceParts(t, rec.Header().Get("traceparent"))
	for k, want := range map[string]any{
		"msg": "issuing token", "request_id": "req-1", "trace_id": traceID, "method": "POST",
		"route": "POST /identity_/connect/token", "grant_type": "client_credentials",
	} {
		if handler[k] != want {
			t.Errorf("request logger: %s = %v, want %v", k, handler[k], want)
		}
	}
	for k, want := range map[string]any{
		"level": "INFO", "msg": "http request", "method": "POST", "route": "POST /identity_/connect/token",
		"path": "/identity_/connect/token", "status": float64(200), "bytes": float64(len(rec.Body.Bytes())),
		"client_ip": "192.0.2.9", "request_id": "req-1", "trace_id": traceID,
	} {
		if access[k] != want {
			t.Errorf("access log: %s = %v, want %v", k, access[k], want)
		}
	}
	if _, ok := access["duration"]; !ok {
		t.Error("access log has no duration")
	}
}

// notifyListener closes closed when Serve closes the listener, which Shutdown does first.
type notifyListener struct {
	net.Listener
	once   sync.Once
	closed chan struct{}
}

func (l *notifyListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

func TestServeGracefulShutdown(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, server.Options{})
	started := make(chan struct{})
	ln := &notifyListener{closed: make(chan struct{})}
	s.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-ln.closed // the shutdown has begun while this request is in flight
		server.WriteJSON(w, 200, map[string]string{"done": "yes"})
	})
	base, stop, done := startServe(t, s, server.ServeOptions{}, func(inner net.Listener) net.Listener {
		ln.Listener = inner
		return ln
	})

	type result struct {
		status int
		body   string
		err    error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{resp.StatusCode, string(b), err}
	}()

	<-started
	stop()
	r := <-got
	if r.err != nil || r.status != 200 || strings.TrimSpace(r.body) != `{"done":"yes"}` {
		t.Fatalf("in-flight request: %d %q %v", r.status, r.body, r.err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve returned %v, want nil", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("the server still accepts requests after shutdown")
	}
}

func TestServeShutdownTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		select {
		case <-release:
		case <-r.Context().Done(): // the connection was cut
		}
	})
	base, stop, done := startServe(t, h, server.ServeOptions{ShutdownTimeout: 50 * time.Millisecond}, nil)
	defer close(release)
	go func() {
		if resp, err := http.Get(base); err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	stop()
	if err := <-done; err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Serve returned %v, want a deadline error", err)
	}
}

func TestServeTLS(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := writeSelfSignedCert(t)
	s, _ := newServer(t, server.Options{})
	s.HandleFunc("GET /url", func(w http.ResponseWriter, r *http.Request) {
		server.WriteJSON(w, 200, map[string]string{"url": server.ExternalURL(r).String()})
	})
	base, _, _ := startServe(t, s, server.ServeOptions{TLSCert: certFile, TLSKey: keyFile}, nil)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(base + "/url")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	u, _ := url.Parse(base)
	if got := decode[map[string]string](t, b)["url"]; got != "https://"+u.Host {
		t.Fatalf("ExternalURL %q, want https://%s", got, u.Host)
	}
}

func TestServeRejectsHalfTLS(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = server.Serve(t.Context(), ln, http.NotFoundHandler(), server.ServeOptions{TLSCert: "cert.pem"})
	if err == nil || !strings.Contains(err.Error(), "both a certificate and a key") {
		t.Fatalf("got %v", err)
	}
}

// writeSelfSignedCert writes a certificate for 127.0.0.1 and its key into a temporary
// directory and returns their paths and a pool that trusts the certificate.
func writeSelfSignedCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
