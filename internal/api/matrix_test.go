package api_test

import (
	"cmp"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openorch/openorch/internal/api"
	"github.com/openorch/openorch/internal/store"
)

// TestAuthorizationMatrix calls every route of the table with no token, another
// organization's token, a token without the route's scope, a principal without the
// permission, and the right principal. Routes added later join it automatically: a route
// this test cannot address fails it until a fixture is added below.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			ctx := context.Background()
			acme, _ := e.st.OrganizationGetByName(ctx, "acme")
			tn, _ := e.st.TenantGetByName(ctx, acme.ID, "DefaultTenant")
			shared, _ := e.st.FolderGetByPath(ctx, tn.ID, "Shared")
			ann, _ := e.st.UserGetByEmail(ctx, acme.ID, "ann@acme.test")
			worker, err := e.st.MachineCreate(ctx, store.MachineCreateParams{TenantID: tn.ID, Name: "matrix-worker",
				ClientID: "matrix-worker", SecretHash: strings.Repeat("0", 64), Slots: 1})
			if err != nil {
				t.Fatal(err)
			}
			keys := map[string]string{"Folders": itoa(shared.ID), "Users": itoa(ann.ID), "Roles": "1", "Machines": itoa(worker.ID)}
			// Writes get a valid body, and deletes a row of their own, so that the right
			// principal succeeds.
			deletable, err := e.st.FolderCreate(ctx, store.FolderCreateParams{TenantID: tn.ID, DisplayName: "Deletable"})
			if err != nil {
				t.Fatal(err)
			}
			deleteKeys := map[string]string{"Folders": itoa(deletable.ID)}
			// Machines and custom roles: PUT and PATCH need an editable role (built-in ones are
			// refused), deletes a machine and a role of their own.
			spareMachine, err := e.st.MachineCreate(ctx, store.MachineCreateParams{TenantID: tn.ID, Name: "matrix-spare",
				ClientID: "matrix-spare", SecretHash: strings.Repeat("0", 64), Slots: 1})
			if err != nil {
				t.Fatal(err)
			}
			editableRole, err := e.st.RoleCreate(ctx, store.RoleCreateParams{TenantID: tn.ID, Name: "Matrix Editable", Type: "Folder"})
			if err != nil {
				t.Fatal(err)
			}
			deletableRole, err := e.st.RoleCreate(ctx, store.RoleCreateParams{TenantID: tn.ID, Name: "Matrix Deletable", Type: "Tenant"})
			if err != nil {
				t.Fatal(err)
			}
			keys["Roles"] = itoa(editableRole.ID)
			keys["Settings"] = "'OpenOrch.RateLimit.TenantRequestsPerMinute'"
			deleteKeys["Machines"], deleteKeys["Roles"] = itoa(spareMachine.ID), itoa(deletableRole.ID)
			bodies := map[string]string{
				"POST /odata/Folders":         `{"DisplayName":"Matrix"}`,
				"PUT /odata/Folders({key})":   `{"DisplayName":"Shared","Description":"put"}`,
				"PATCH /odata/Folders({key})": `{"Description":"patched"}`,

				"POST /odata/Machines":         `{"Name":"matrix-new"}`,
				"PUT /odata/Machines({key})":   `{"Name":"matrix-worker","UnattendedSlots":2}`,
				"PATCH /odata/Machines({key})": `{"UnattendedSlots":3}`,
				"POST /odata/Machines({key})/UiPath.Server.Configuration.OData.RegenerateSecret": `{}`,
				"POST /odata/Roles":         `{"Name":"Matrix Role","Type":"Folder","Permissions":["Jobs.View"]}`,
				"PUT /odata/Roles({key})":   `{"Name":"Matrix Editable","Permissions":["Queues.View"]}`,
				"PATCH /odata/Roles({key})": `{"Permissions":[{"Name":"Jobs.View","IsGranted":true}]}`,
				// Settings stay at their defaults, so rate limits stay off for the other routes.
				"PUT /odata/Settings({key})":                                        `{"Value":"0"}`,
				"POST /odata/Settings/UiPath.Server.Configuration.OData.UpdateBulk": `{"settings":[{"Name":"OpenOrch.RateLimit.ClientRequestsPerMinute","Value":"0"}]}`,
			}

			// Users and folder assignments: a user of its own to delete; assignments move bob
			// and the acme-bot app, never eve (she must stay without any role).
			bob, _ := e.st.UserGetByEmail(ctx, acme.ID, "bob@acme.test")
			bot, _ := e.st.AppGetByClientID(ctx, "acme-bot")
			ap, _ := e.st.FolderGetByPath(ctx, tn.ID, "Finance/AP")
			secretF, _ := e.st.FolderGetByPath(ctx, tn.ID, "Secret")
			automationUser, _ := e.st.RoleGetByName(ctx, tn.ID, "Automation User")
			doomed, err := e.st.UserCreate(ctx, store.UserCreateParams{OrgID: acme.ID, Email: "matrix-doomed@acme.test", Name: "Doomed"})
			if err != nil {
				t.Fatal(err)
			}
			deleteKeys["Users"] = itoa(doomed.ID)
			bodies["POST /odata/Users"] = `{"UserName":"matrix-new@acme.test","Name":"Matrix","RolesList":["Administrator"]}`
			bodies["PUT /odata/Users({key})"] = `{"Name":"Ann"}`
			bodies["PATCH /odata/Users({key})"] = `{"IsActive":true}`
			bodies["POST /odata/Users({key})/UiPath.Server.Configuration.OData.SetPassword"] = `{"password":"matrix-password"}`
			bodies["POST /odata/Folders/UiPath.Server.Configuration.OData.AssignUsers"] = `{"assignments":{"UserIds":[` + itoa(bob.ID) +
				`],"RolesPerFolder":[{"FolderId":` + itoa(secretF.ID) + `,"RoleIds":[` + itoa(automationUser.ID) + `]}]}}`
			bodies["POST /odata/Folders/UiPath.Server.Configuration.OData.AssignMachines"] = `{"assignments":{"MachineIds":[` + itoa(worker.ID) +
				`],"FolderIds":[` + itoa(shared.ID) + `]}}`
			bodies["POST /odata/Folders/UiPath.Server.Configuration.OData.RemoveUserFromFolder"] = `{"userId":` + itoa(bob.ID) + `,"folderId":` + itoa(ap.ID) + `}`
			bodies["POST /odata/Folders({key})/UiPath.Server.Configuration.OData.RemoveUserFromFolder"] = `{"userId":` + itoa(-bot.ID) + `}`
			// Functions with parameters get them appended to the path.
			funcParams := map[string]string{
				"GET /odata/Folders/UiPath.Server.Configuration.OData.GetUsersForFolder": "(key=" + itoa(shared.ID) + ",includeInherited=true)",
			}

			// Entity sets with fixtures of their own add them here.
			fx := &matrixFixture{tenantID: tn.ID, shared: shared.ID, keys: keys, deleteKeys: deleteKeys, bodies: bodies,
				funcParams: funcParams, contentTypes: map[string]string{}, routeKeys: map[string]string{},
				tokens: map[string]string{}}
			for _, add := range matrixFixtures {
				add(t, e, fx)
			}

			// ann: organization administrator (every permission); eve: no role anywhere;
			// globex: another organization; scopeless: a token without the route's scope.
			right := e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess")
			noPerm := e.userToken(t, "acme", "eve@acme.test", "OrchestratorApiUserAccess")
			otherOrg := e.appToken(t, "globex-bot", "globex-bot-secret-0123456789abcdef-xy", "")
			scopeless := e.userToken(t, "acme", "ann@acme.test", "OR.Webhooks")

			routes := api.New(api.Options{}).Routes()
			if len(routes) == 0 {
				t.Fatal("no routes")
			}
			for _, rt := range routes {
				path := rt.Path
				if strings.Contains(path, "{key}") {
					set := strings.TrimPrefix(path[:strings.Index(path, "(")], "/odata/")
					k, ok := keys[set]
					if rt.Method == http.MethodDelete {
						k, ok = deleteKeys[set]
					}
					if rk, has := fx.routeKeys[rt.Method+" "+rt.Path]; has {
						k, ok = rk, true
					}
					if !ok {
						t.Errorf("%s %s: no fixture key for %s; add one to this test", rt.Method, rt.Path, set)
						continue
					}
					path = strings.Replace(path, "{key}", k, 1)
				}
				path += funcParams[rt.Method+" "+rt.Path]
				h := map[string]string{}
				if rt.Folder == "required" {
					h["X-UIPATH-OrganizationUnitId"] = itoa(shared.ID)
				}
				call := func(tok string) int {
					hh := map[string]string{}
					for k, v := range h {
						hh[k] = v
					}
					if tok != "" {
						hh["Authorization"] = "Bearer " + tok
					}
					var body io.Reader
					if b, ok := bodies[rt.Method+" "+rt.Path]; ok {
						body = strings.NewReader(b)
					} else if rt.Method != http.MethodGet && rt.Method != http.MethodDelete {
						t.Fatalf("%s %s: no fixture body; add one to this test", rt.Method, rt.Path)
					}
					req, _ := http.NewRequest(rt.Method, e.url+base+path, body)
					if body != nil {
						ct := fx.contentTypes[rt.Method+" "+rt.Path]
						if ct == "" {
							ct = "application/json"
						}
						req.Header.Set("Content-Type", ct)
					}
					for k, v := range hh {
						req.Header.Set(k, v)
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					return resp.StatusCode
				}
				label := rt.Method + " " + rt.Path
				for _, c := range []struct {
					who  string
					tok  string
					want int
				}{
					{"no token", "", http.StatusUnauthorized},
					{"another organization's token", otherOrg, http.StatusUnauthorized},
					{"a token without the scope", scopeless, http.StatusForbidden},
					{"a principal without the permission", noPerm, http.StatusForbidden},
					{"the right principal", cmp.Or(fx.tokens[label], right), http.StatusOK},
				} {
					got := call(c.tok)
					if c.want == http.StatusOK && got >= 200 && got < 300 {
						continue // 201 for creates, 204 for deletes
					}
					if got != c.want {
						t.Errorf("%s with %s: %d, want %d", label, c.who, got, c.want)
					}
				}
			}
		})
	}
}

// matrixFixture is what the matrix test needs to call every route with success for the
// right principal: keys for Set({key}) (deleteKeys for DELETE, so that each deletes a row
// of its own), bodies and content types for writes ("METHOD /odata/Set…" as in
// api.RouteInfo), and parameters appended to function paths.
type matrixFixture struct {
	tenantID, shared   int64 // acme/DefaultTenant and its folder Shared
	keys, deleteKeys   map[string]string
	bodies, funcParams map[string]string
	contentTypes       map[string]string
	// routeKeys gives one route ("METHOD /odata/Set({key})/…" as in api.RouteInfo) a key
	// of its own, for a route that needs a row in another state than keys[Set].
	routeKeys map[string]string
	// tokens gives one route ("METHOD /api/…" or "METHOD /odata/…" as in api.RouteInfo)
	// the token of its right principal, for routes only one kind of caller may use (the
	// robot protocol: a machine's token).
	tokens map[string]string
}

// matrixFixtures lets each entity set's tests add its fixtures (from an init function),
// so that new routes join the matrix without editing this file.
var matrixFixtures []func(t *testing.T, e *env, fx *matrixFixture)
