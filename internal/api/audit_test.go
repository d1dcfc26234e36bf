package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/store/storetest"
)

// Identity events (refused tokens, sign-ins, secrets regenerated…) are in every tenant's
// audit log of their organization, and never carry a secret.
func TestAuditLogShowsIdentityEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(tb testing.TB) store.Store { return storetest.NewSQLite(tb) })
	resp, err := http.PostForm(e.url+"/identity_/connect/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {"acme-bot"}, "client_secret": {"wrong-secret-value-1234567890"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	audit := bearer(e.userToken(t, "acme", "ann@acme.test", "OR.Audit"))
	for _, tenant := range []string{"DefaultTenant", "Other"} {
		r := e.get(t, "/acme/"+tenant+"/orchestrator_/odata/AuditLogs?$filter=Component+eq+'Identity'", audit)
		wantStatus(t, r, 200, `"Action":"token.refused"`, `"ClientId":"acme-bot"`, "client_secret is wrong")
		if strings.Contains(r.raw, "wrong-secret-value") {
			t.Error("the audit log shows the secret that was sent")
		}
	}
	// Not in another organization's log: globex's administrator sees a log without them.
	globex, err := e.st.OrganizationGetByName(context.Background(), "globex")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.UserCreate(context.Background(), store.UserCreateParams{OrgID: globex.ID, Email: "gina@globex.test",
		Name: "Gina", OrgAdmin: true}); err != nil {
		t.Fatal(err)
	}
	g := bearer(e.userToken(t, "globex", "gina@globex.test", "OR.Audit"))
	r := e.get(t, "/globex/DefaultTenant/orchestrator_/odata/AuditLogs?$count=true", g)
	wantStatus(t, r, 200, `"@odata.count":0`)
}
