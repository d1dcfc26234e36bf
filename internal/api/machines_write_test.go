package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/tenancy"
)

// tokenStatus asks for a client_credentials token and returns only the status.
func (e *env) tokenStatus(t *testing.T, id, secretValue string) int {
	t.Helper()
	resp, err := http.PostForm(e.url+"/identity_/connect/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {id}, "client_secret": {secretValue}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestMachineWrites(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			ctx := context.Background()
			ann := bearer(e.userToken(t, "acme", "ann@acme.test", "OR.Machines"))
			bob := bearer(e.userToken(t, "acme", "bob@acme.test", "OrchestratorApiUserAccess"))
			machines := base + "/odata/Machines"

			// camelCase and PascalCase bodies alike; the answer has the generated credentials.
			r := e.send(t, "POST", machines, `{"name":"worker-1","unattendedSlots":2,"type":"Standard","description":""}`, ann)
			wantStatus(t, r, 201, `"Name":"worker-1"`, `"UnattendedSlots":2`, `"Type":"Standard"`, `"@odata.context"`,
				`"ClientId":"machine-`, `"ClientSecret":"oo_cs_`)
			w1 := int64(r.body["Id"].(float64))
			w1Client, w1Secret := r.body["ClientId"].(string), r.body["ClientSecret"].(string)
			if !strings.HasSuffix(r.header.Get("Location"), "/odata/Machines("+itoa(w1)+")") {
				t.Errorf("Location = %q", r.header.Get("Location"))
			}
			r = e.send(t, "POST", machines, `{"Name":"  worker-2  "}`, ann)
			wantStatus(t, r, 201, `"Name":"worker-2"`, `"UnattendedSlots":1`)
			w2 := int64(r.body["Id"].(float64))
			w2Client := r.body["ClientId"].(string)
			if w1Client == w2Client || len(w1Client) != len("machine-")+12 {
				t.Errorf("client ids %q and %q", w1Client, w2Client)
			}
			// The secret is stored as its hash only, and works at the token endpoint.
			m, err := e.st.MachineGet(ctx, mustTenant(t, e).ID, w1)
			if err != nil || m.SecretHash != secret.HashToken(w1Secret) {
				t.Fatalf("stored hash %q, err %v", m.SecretHash, err)
			}
			if s := e.tokenStatus(t, w1Client, w1Secret); s != 200 {
				t.Errorf("token with the new machine's credentials: %d", s)
			}

			// Reads: one, and the list with a filter; never a secret.
			r = e.get(t, machines+"("+itoa(w1)+")", ann)
			wantStatus(t, r, 200, `"Name":"worker-1"`, `"ClientId":"`+w1Client+`"`)
			r = e.get(t, machines+"?$filter=Name+eq+'WORKER-1'&$count=true", ann)
			wantStatus(t, r, 200, `"@odata.count":1`, `"Name":"worker-1"`)
			r = e.get(t, machines+"?$filter=UnattendedSlots+ge+2+and+ClientId+eq+'"+w1Client+"'&$count=true", ann)
			wantStatus(t, r, 200, `"@odata.count":1`)

			// Refusals: duplicates, types, limits, values OpenOrch does not hold.
			wantStatus(t, e.send(t, "POST", machines, `{"Name":"Worker-1"}`, ann), 409, `a machine named \"worker-1\" already exists`)
			wantStatus(t, e.send(t, "POST", machines, `{"Name":5}`, ann), 400, "Name: expected a string, got number")
			wantStatus(t, e.send(t, "POST", machines, `{"Name":"x","UnattendedSlots":"2"}`, ann), 400, "UnattendedSlots: expected a number, got string")
			wantStatus(t, e.send(t, "POST", machines, `{}`, ann), 400, "Name is required")
			wantStatus(t, e.send(t, "POST", machines, `{"Name":"   "}`, ann), 400, "Name is required")
			wantStatus(t, e.send(t, "POST", machines, `{"Name":"`+strings.Repeat("m", 101)+`"}`, ann), 400, "101 characters long; the limit is 100")
			wantStatus(t, e.send(t, "POST", machines, `{"Name":"x","UnattendedSlots":0}`, ann), 400, "between 1 and 100 (got 0)")
			wantStatus(t, e.send(t, "POST", machines, `{"Name":"x","UnattendedSlots":101}`, ann), 400, "between 1 and 100 (got 101)")
			wantStatus(t, e.send(t, "POST", machines, `{"Name":"x","Type":"Template"}`, ann), 400, `Type \"Template\"`, "Standard")
			wantStatus(t, e.send(t, "POST", machines, `{"Name":"x","Description":"rack 4"}`, ann), 400, "does not store a description")
			wantStatus(t, e.send(t, "POST", machines, `{"Name":"`+strings.Repeat("m", 100)+`","UnattendedSlots":100}`, ann), 201)
			wantStatus(t, e.send(t, "POST", machines, `{"Name":"x"}`, bob), 403, "Machines.Create")

			// Updates.
			wantStatus(t, e.send(t, "PATCH", machines+"("+itoa(w1)+")", `{"UnattendedSlots":5}`, ann), 200)
			wantStatus(t, e.get(t, machines+"("+itoa(w1)+")", ann), 200, `"UnattendedSlots":5`, `"Name":"worker-1"`)
			wantStatus(t, e.send(t, "PUT", machines+"("+itoa(w1)+")", `{"UnattendedSlots":4}`, ann), 400, "Name is required with PUT")
			// A DTO read with GET may be sent back with PUT.
			got := e.get(t, machines+"("+itoa(w1)+")", ann)
			got.body["Name"] = "worker-one"
			delete(got.body, "@odata.context")
			wantStatus(t, e.send(t, "PUT", machines+"("+itoa(w1)+")", toJSON(got.body), ann), 200)
			wantStatus(t, e.get(t, machines+"("+itoa(w1)+")", ann), 200, `"Name":"worker-one"`, `"UnattendedSlots":5`, `"ClientId":"`+w1Client+`"`)
			wantStatus(t, e.send(t, "PATCH", machines+"("+itoa(w2)+")", `{"Name":"WORKER-ONE"}`, ann), 409, `a machine named \"worker-one\" already exists`)
			wantStatus(t, e.send(t, "PATCH", machines+"("+itoa(w2)+")", `{"UnattendedSlots":0}`, ann), 400, "between 1 and 100")
			wantStatus(t, e.send(t, "PATCH", machines+"(999999)", `{"UnattendedSlots":2}`, ann), 404)
			wantStatus(t, e.send(t, "PATCH", machines+"(abc)", `{"UnattendedSlots":2}`, ann), 400, "must be a machine Id")
			wantStatus(t, e.send(t, "PATCH", machines+"("+itoa(w1)+")", `{"UnattendedSlots":2}`, bob), 403, "Machines.Edit")

			// Delete: gone, with its credentials.
			wantStatus(t, e.send(t, "DELETE", machines+"("+itoa(w2)+")", "", ann), 204)
			wantStatus(t, e.get(t, machines+"("+itoa(w2)+")", ann), 404)
			wantStatus(t, e.send(t, "DELETE", machines+"("+itoa(w2)+")", "", ann), 404)
			wantStatus(t, e.send(t, "DELETE", machines+"("+itoa(w1)+")", "", bob), 403, "Machines.Delete")

			// Regenerating the secret: under both namespaces; the old secret stops working.
			r = e.send(t, "POST", machines+"("+itoa(w1)+")/UiPathODataSvc.RegenerateSecret", "", ann)
			wantStatus(t, r, 200, `"ClientSecret":"oo_cs_`, `"ClientId":"`+w1Client+`"`, `"@odata.context"`)
			regenerated := r.body["ClientSecret"].(string)
			if regenerated == w1Secret {
				t.Fatal("the regenerated secret is the old one")
			}
			if s := e.tokenStatus(t, w1Client, w1Secret); s != 401 && s != 400 {
				t.Errorf("token with the old secret: %d", s)
			}
			wantStatus(t, e.send(t, "POST", machines+"(999999)/UiPath.Server.Configuration.OData.RegenerateSecret", "", ann), 404)
			wantStatus(t, e.send(t, "POST", machines+"("+itoa(w1)+")/UiPath.Server.Configuration.OData.RegenerateSecret", "", bob), 403, "Machines.Edit")

			// The audit log has every change, in order, and never a secret or its hash.
			audit := bearer(e.userToken(t, "acme", "ann@acme.test", "OR.Audit.Read"))
			r = e.get(t, base+"/odata/AuditLogs?$filter=Component+eq+'Machines'&$orderby=Id", audit)
			wantStatus(t, r, 200, `"OperationText":"created machine worker-1 with client id `+w1Client+` and 2 unattended slots"`,
				`"OperationText":"updated machine worker-1: unattended slots 2 → 5"`,
				`"OperationText":"updated machine worker-one: renamed from worker-1"`,
				`"OperationText":"deleted machine worker-2 (client id `+w2Client+`); the tokens issued to it were revoked"`,
				`"OperationText":"regenerated the client secret of machine worker-one`, `"UserName":"user ann@acme.test"`)
			if got, want := strings.Join(names(t, r, "Action"), ","), "Create,Create,Create,Update,Update,Delete,RegenerateSecret"; got != want {
				t.Errorf("audit actions %s, want %s", got, want)
			}
			list := e.get(t, machines, ann)
			for _, s := range []string{w1Secret, regenerated, secret.HashToken(w1Secret), secret.HashToken(regenerated), "oo_cs_"} {
				if strings.Contains(r.raw, s) || strings.Contains(list.raw, s) {
					t.Errorf("a secret or its hash (%.12s…) shows in the audit log or the machine list", s)
				}
			}
		})
	}
}

// A robot token stops working on the API once its machine's secret is regenerated, and
// the new secret gets a working one; deleting the machine ends its tokens too.
func TestMachineSecretRevokesTokens(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			ctx := context.Background()
			ann := bearer(e.userToken(t, "acme", "ann@acme.test", "OR.Machines"))
			r := e.send(t, "POST", base+"/odata/Machines", `{"Name":"runner"}`, ann)
			wantStatus(t, r, 201)
			id := int64(r.body["Id"].(float64))
			clientID, clientSecret := r.body["ClientId"].(string), r.body["ClientSecret"].(string)

			// Its robots get the Robot role in Shared (as AssignMachines would give it).
			tn := mustTenant(t, e)
			shared, _ := e.st.FolderGetByPath(ctx, tn.ID, "Shared")
			robot, err := e.st.RoleGetByName(ctx, tn.ID, tenancy.RoleRobot)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.st.MembershipSet(ctx, tenancy.Membership{TenantID: tn.ID, FolderID: shared.ID,
				Principal: tenancy.Principal{Kind: tenancy.PrincipalMachine, ID: id}, RoleIDs: []int64{robot.ID}}); err != nil {
				t.Fatal(err)
			}
			queues := func(tok string) reply {
				return e.get(t, base+"/odata/QueueDefinitions", with(bearer(tok), "X-UIPATH-FolderPath", "Shared"))
			}
			old := e.appToken(t, clientID, clientSecret, "")
			wantStatus(t, queues(old), 200, `"Name":"Invoices"`)

			r = e.send(t, "POST", base+"/odata/Machines("+itoa(id)+")/UiPath.Server.Configuration.OData.RegenerateSecret", "", ann)
			wantStatus(t, r, 200)
			fresh := r.body["ClientSecret"].(string)
			wantStatus(t, queues(old), 401, "revoked", "secret was regenerated")
			time.Sleep(5 * time.Millisecond) // a new token must be issued after the revocation's instant
			renewed := e.appToken(t, clientID, fresh, "")
			wantStatus(t, queues(renewed), 200, `"Name":"Invoices"`)

			wantStatus(t, e.send(t, "DELETE", base+"/odata/Machines("+itoa(id)+")", "", ann), 204)
			wantStatus(t, queues(renewed), 401)
			if s := e.tokenStatus(t, clientID, fresh); s != 401 && s != 400 {
				t.Errorf("token for a deleted machine: %d", s)
			}
		})
	}
}

func mustTenant(t *testing.T, e *env) tenancy.Tenant {
	t.Helper()
	ctx := context.Background()
	acme, err := e.st.OrganizationGetByName(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	tn, err := e.st.TenantGetByName(ctx, acme.ID, "DefaultTenant")
	if err != nil {
		t.Fatal(err)
	}
	return tn
}
