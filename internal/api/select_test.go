package api_test

import (
	"strings"
	"testing"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/store/storetest"
)

func TestSelect(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(tb testing.TB) store.Store { return storetest.NewSQLite(tb) })
	ann := bearer(e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess"))
	r := e.get(t, base+"/odata/Folders?$select=id,FullyQualifiedName&$filter=DisplayName+eq+'Shared'", ann)
	wantStatus(t, r, 200, `"value":[{"FullyQualifiedName":"Shared","Id":`)
	if strings.Contains(r.raw, `"Key"`) || strings.Contains(r.raw, `"DisplayName"`) {
		t.Errorf("$select kept other properties: %s", r.raw)
	}
	wantStatus(t, e.get(t, base+"/odata/Folders?$select=Nope", ann), 400, "Nope is not a property", "FullyQualifiedName")
	wantStatus(t, e.get(t, base+"/odata/Folders?$select=*", ann), 200, `"Key"`)
	wantStatus(t, e.get(t, base+"/odata/Folders?$expand=Parent", ann), 400, "$expand is not available")
}
