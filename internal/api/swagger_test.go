package api_test

import (
	"strings"
	"testing"

	"github.com/openorch/openorch/internal/api"
	"github.com/openorch/openorch/internal/identity"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/store/storetest"
)

// The OpenAPI document lists exactly what the route tables serve.
func TestSwaggerFromRouteTable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(tb testing.TB) store.Store { return storetest.NewSQLite(tb) })
	r := e.get(t, base+"/swagger/v20.0/swagger.json", nil)
	wantStatus(t, r, 200, `"openapi":"3.0.3"`, `"tokenUrl":"`+e.url+`/identity_/connect/token"`)
	paths, _ := r.body["paths"].(map[string]any)
	for _, rt := range api.New(api.Options{}).Routes() {
		p, _ := paths[rt.Path].(map[string]any)
		op, _ := p[strings.ToLower(rt.Method)].(map[string]any)
		if op == nil {
			t.Errorf("%s %s is served but not in the document", rt.Method, rt.Path)
			continue
		}
		sec, _ := op["security"].([]any)
		if len(sec) == 0 || !strings.Contains(toJSON(sec), rt.Scope) {
			t.Errorf("%s %s: security %v lacks %s", rt.Method, rt.Path, sec, rt.Scope)
		}
	}
	for _, rt := range identity.AdminRoutes() {
		path := strings.Replace(rt.Path, "/{org}", "", 1)
		p, _ := paths[path].(map[string]any)
		if p[strings.ToLower(rt.Method)] == nil {
			t.Errorf("identity %s %s is not in the document", rt.Method, rt.Path)
		}
	}
	n := 0
	for _, p := range paths {
		n += len(p.(map[string]any))
	}
	if want := len(api.New(api.Options{}).Routes()) + len(identity.AdminRoutes()); n != want {
		t.Errorf("the document has %d operations, the route tables %d", n, want)
	}
	wantStatus(t, e.get(t, "/acme/nope/orchestrator_/swagger/v20.0/swagger.json", nil), 404)
}
