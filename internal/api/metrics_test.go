package api_test

import (
	"strings"
	"testing"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/store/storetest"
)

// Refusals are counted on /metrics by status and a reason from a fixed set.
func TestRefusalMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(tb testing.TB) store.Store { return storetest.NewSQLite(tb) })
	e.get(t, base+"/odata/Folders", nil)
	e.get(t, base+"/odata/Folders", bearer("garbage"))
	narrow := e.appToken(t, "acme-narrow", "acme-narrow-secret-0123456789abcdef-x", "")
	e.get(t, base+"/odata/Folders", bearer(narrow))
	eve := e.userToken(t, "acme", "eve@acme.test", "OrchestratorApiUserAccess")
	e.get(t, base+"/odata/Folders", bearer(eve))
	r := e.get(t, "/metrics", nil)
	for _, want := range []string{
		`orch_api_refusals_total{reason="no_token",status="401"} 1`,
		`orch_api_refusals_total{reason="invalid_token",status="401"} 1`,
		`orch_api_refusals_total{reason="missing_scope",status="403"} 1`,
		`orch_api_refusals_total{reason="not_member",status="403"} 1`,
	} {
		if !strings.Contains(r.raw, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
