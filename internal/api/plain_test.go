package api_test

import "testing"

// TestPlainPaths: paths under …/api/ go through the same pipeline as OData ones, on both
// layouts, and an unknown one says where the API is.
func TestPlainPaths(t *testing.T) {
	t.Parallel()
	e := newEnv(t, engines()["sqlite"])
	ann := e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess")
	wantStatus(t, e.get(t, base+"/api/NoSuchThing/Here", bearer(ann)), 404, "there is no api/NoSuchThing/Here", "under odata/")
	r := e.get(t, "/acme/DefaultTenant/api/NoSuchThing", with(bearer(ann), "X-UIPATH-TenantName", "DefaultTenant"))
	wantStatus(t, r, 404, `"__abp":true`, "there is no api/NoSuchThing")
	wantStatus(t, e.get(t, "/acme/Nope/orchestrator_/api/NoSuchThing", bearer(ann)), 404, `tenant \"Nope\" does not exist`)
	// The version endpoint outside any tenant still answers.
	wantStatus(t, e.get(t, "/orchestrator_/api/status/version", nil), 200, `"version"`)
}
