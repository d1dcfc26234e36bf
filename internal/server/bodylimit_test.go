package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openorch/openorch/internal/server"
)

// TestAddBodyLimit: a rule gives its own requests a cap of their own, larger or smaller
// than the server's, both for a declared length and for a chunked body; other requests keep
// the server's cap.
func TestAddBodyLimit(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, server.Options{MaxBodyBytes: 16})
	s.AddBodyLimit(func(r *http.Request) int64 {
		if strings.HasPrefix(r.URL.Path, "/big") {
			return 64
		}
		return 0
	})
	s.AddBodyLimit(func(r *http.Request) int64 {
		if strings.HasPrefix(r.URL.Path, "/big") || strings.HasPrefix(r.URL.Path, "/tiny") {
			return 4 // the first rule wins for /big
		}
		return 0
	})
	read := func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		server.WriteJSON(w, 200, map[string]int{"read": len(b)})
	}
	for _, p := range []string{"POST /big", "POST /tiny", "POST /other"} {
		s.HandleFunc(p, read)
	}
	base, _, _ := startServe(t, s, server.ServeOptions{}, nil)
	post := func(path string, n int, chunked bool) (int, string) {
		t.Helper()
		var body io.Reader = strings.NewReader(strings.Repeat("x", n))
		if chunked {
			body = io.MultiReader(body) // hides the length: Transfer-Encoding: chunked
		}
		resp, err := http.Post(base+path, "text/plain", body)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, chunked := range []bool{false, true} {
		for _, c := range []struct {
			path   string
			n      int
			status int
			limit  string
		}{
			{"/big", 64, 200, ""},
			{"/big", 65, 413, "limit of 64 bytes"},
			{"/tiny", 4, 200, ""},
			{"/tiny", 5, 413, "limit of 4 bytes"},
			{"/other", 16, 200, ""},
			{"/other", 17, 413, "limit of 16 bytes"},
		} {
			status, body := post(c.path, c.n, chunked)
			if status != c.status || !strings.Contains(body, c.limit) {
				t.Errorf("%d bytes to %s (chunked %v): %d %s, want %d naming the %q", c.n, c.path, chunked, status, body, c.status, c.limit)
			}
		}
	}
}
