package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestSetRouteLabelsMetrics(t *testing.T) {
	t.Parallel()
	s := New(Options{})
	s.HandleFunc("/{org}/{rest...}", func(w http.ResponseWriter, r *http.Request) {
		SetRoute(r, "GET /odata/Folders({key})")
		w.WriteHeader(http.StatusNoContent)
	})
	ts := httptest.NewServer(s)
	defer ts.Close()
	for _, p := range []string{"/acme/odata/Folders(1)", "/acme/odata/Folders(2)"} {
		resp, err := http.Get(ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `orch_http_requests_total{code="204",method="GET",route="GET /odata/Folders({key})"} 2`) {
		t.Errorf("metrics lack the route set by the handler:\n%s", grepLines(string(body), "orch_http_requests_total"))
	}
	if strings.Contains(string(body), "Folders(1)") {
		t.Error("a raw path leaked into the metrics")
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
