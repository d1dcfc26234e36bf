package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHandleAnyCase checks that a path mounted with HandleAnyCase is served in any letter
// case, wildcards keeping what was sent, ahead of a broader catch-all that would otherwise
// take it; and that other paths, methods and routes are untouched.
func TestHandleAnyCase(t *testing.T) {
	t.Parallel()
	s := New(Options{})
	reply := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, name+" "+r.URL.Path+" org="+r.PathValue("org")+" tenant="+r.PathValue("tenant"))
		}
	}
	s.HandleFuncAnyCase("POST /api/account/authenticate", reply("bare"))
	s.HandleFuncAnyCase("POST /{org}/{tenant}/api/account/authenticate", reply("tenant"))
	s.HandleFunc("/{org}/{tenant}/api/{path...}", reply("catchall"))
	s.HandleFunc("GET /Exact/Case", reply("exact"))
	ts := httptest.NewServer(s)
	defer ts.Close()

	for _, c := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"POST", "/api/account/authenticate", 200, "bare /api/account/authenticate"},
		{"POST", "/API/Account/Authenticate", 200, "bare /api/account/authenticate"},
		{"POST", "/api/ACCOUNT/authenticate", 200, "bare /api/account/authenticate"},
		{"POST", "/Acme/Default/api/Account/Authenticate", 200, "tenant /Acme/Default/api/account/authenticate org=Acme tenant=Default"},
		{"POST", "/acme/default/Api/account/AUTHENTICATE", 200, "tenant /acme/default/api/account/authenticate org=acme tenant=default"},
		// Other paths under the catch-all stay with it, in the case sent.
		{"POST", "/acme/default/api/Account/Other", 200, "catchall /acme/default/api/Account/Other"},
		{"GET", "/acme/default/api/Status", 200, "catchall /acme/default/api/Status"},
		// Routes mounted with Handle keep matching exactly.
		{"GET", "/Exact/Case", 200, "exact /Exact/Case"},
		{"GET", "/exact/case", 404, "No route for GET /exact/case"},
		// The wrong method on a folded path is a 405 naming the allowed one.
		{"GET", "/API/Account/Authenticate", 405, "Allowed: POST"},
		// Only whole segments fold: more or fewer segments are other paths.
		{"POST", "/api/account/authenticate/x", 404, "No route"},
		{"POST", "//api/account/authenticate", 0, ""},
	} {
		req, err := http.NewRequest(c.method, ts.URL+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if c.status == 0 {
			// The mux cleans "//…" with a redirect; whatever it does, the folding must not
			// have served it.
			if strings.HasPrefix(string(b), "bare") || strings.HasPrefix(string(b), "tenant") {
				t.Errorf("%s %s was served by an any-case route: %s", c.method, c.path, b)
			}
			continue
		}
		if res.StatusCode != c.status || !strings.Contains(string(b), c.body) {
			t.Errorf("%s %s: %d %s; want %d containing %q", c.method, c.path, res.StatusCode, b, c.status, c.body)
		}
	}
}

func TestHandleAnyCaseRefusesWhatItCannotFold(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"POST /{org}/{rest...}", "example.com/api"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("HandleAnyCase(%q) did not panic", p)
				}
			}()
			New(Options{}).HandleFuncAnyCase(p, func(http.ResponseWriter, *http.Request) {})
		}()
	}
}

// BenchmarkFoldCaseMiss measures what every other request pays for the any-case routes: a
// path of the same length that does not match.
func BenchmarkFoldCaseMiss(b *testing.B) {
	s := New(Options{})
	s.HandleFuncAnyCase("POST /api/account/authenticate", func(http.ResponseWriter, *http.Request) {})
	s.HandleFuncAnyCase("POST /{org}/{tenant}/api/account/authenticate", func(http.ResponseWriter, *http.Request) {})
	r := httptest.NewRequest(http.MethodGet, "/acme/DefaultTenant/orchestrator_/odata/Folders", nil)
	b.ReportAllocs()
	for b.Loop() {
		if s.foldCase(r) != r {
			b.Fatal("folded a path that does not match")
		}
	}
}
