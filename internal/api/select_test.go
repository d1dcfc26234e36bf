package api_test

import (
	"context"
	"encoding/json"
	"slices"
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
	wantStatus(t, r, 200, `"FullyQualifiedName":"Shared"`)
	if got := keysOf(t, r, 0); !slices.Equal(got, []string{"Id", "FullyQualifiedName"}) {
		t.Errorf("$select=id,FullyQualifiedName kept %v, want Id and FullyQualifiedName in the DTO's order: %s", got, r.raw)
	}
	wantStatus(t, e.get(t, base+"/odata/Folders?$select=Nope", ann), 400, "Nope is not a property", "FullyQualifiedName")
	// Checked even when nothing matches.
	wantStatus(t, e.get(t, base+"/odata/Folders?$select=Nope&$filter=Id+eq+-1", ann), 400, "Nope is not a property")
	wantStatus(t, e.get(t, base+"/odata/Folders?$select=*", ann), 200, `"Key"`)
}

// keysOf lists the property names of the answer's value[i] in the order they were written.
func keysOf(t *testing.T, r reply, i int) []string {
	t.Helper()
	var page struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal([]byte(r.raw), &page); err != nil || len(page.Value) <= i {
		t.Fatalf("no value[%d]: %s", i, r.raw)
	}
	return objectKeys(t, page.Value[i])
}

func objectKeys(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.Token()
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	return keys
}

func TestExpand(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			ann := bearer(e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess"))
			roles := base + "/odata/Roles?$orderby=Id"

			t.Run("Permissions on the Roles list gives what the role carries", func(t *testing.T) {
				plain := e.get(t, roles, ann)
				wantStatus(t, plain, 200)
				expanded := e.get(t, roles+"&$expand=Permissions", ann)
				wantStatus(t, expanded, 200, `"Permissions":[{"Name":`)
				if toJSON(plain.body["value"]) != toJSON(expanded.body["value"]) {
					t.Errorf("$expand=Permissions changed the roles:\n%s\n%s", plain.raw, expanded.raw)
				}
			})
			t.Run("with $select the expanded navigation is kept", func(t *testing.T) {
				r := e.get(t, roles+"&$select=Name&$expand=Permissions($select=Name,IsGranted)", ann)
				wantStatus(t, r, 200)
				if got := keysOf(t, r, 0); !slices.Equal(got, []string{"Name", "Permissions"}) {
					t.Errorf("properties %v, want Name and Permissions: %s", got, r.raw)
				}
				var page struct {
					Value []struct{ Permissions []json.RawMessage }
				}
				json.Unmarshal([]byte(r.raw), &page)
				if len(page.Value) == 0 || len(page.Value[0].Permissions) == 0 {
					t.Fatalf("no permissions: %s", r.raw)
				}
				if got := objectKeys(t, page.Value[0].Permissions[0]); !slices.Equal(got, []string{"Name", "IsGranted"}) {
					t.Errorf("a permission has %v, want Name and IsGranted", got)
				}
				// Without $expand, $select leaves Permissions out.
				r = e.get(t, roles+"&$select=Name", ann)
				if got := keysOf(t, r, 0); !slices.Equal(got, []string{"Name"}) {
					t.Errorf("$select=Name kept %v", got)
				}
			})
			t.Run("on a single role", func(t *testing.T) {
				r := e.get(t, base+"/odata/Roles(1)?$expand=Permissions", ann)
				wantStatus(t, r, 200, `"@odata.context":"`+e.url+base+`/odata/$metadata#Roles/$entity"`, `"Name":"Administrator"`, `"Permissions":[{`)
				r = e.get(t, base+"/odata/Roles(1)?$select=Id,Name&$expand=Permissions($select=Name)", ann)
				wantStatus(t, r, 200)
				var role struct {
					Permissions []map[string]any
				}
				json.Unmarshal([]byte(r.raw), &role)
				if got := objectKeys(t, json.RawMessage(r.raw)); !slices.Equal(got, []string{"@odata.context", "Id", "Name", "Permissions"}) {
					t.Errorf("Roles(1) shaped to %v: %s", got, r.raw)
				}
				if len(role.Permissions) == 0 || len(role.Permissions[0]) != 1 || role.Permissions[0]["Name"] == nil {
					t.Errorf("the permissions are not shaped by their $select: %s", r.raw)
				}
				wantStatus(t, e.get(t, base+"/odata/Roles(1)?$expand=Nope", ann), 400, "Nope is not a navigation property of Roles", "Permissions")
				wantStatus(t, e.get(t, base+"/odata/Roles(1)?$top=1", ann), 400, "$top applies to lists")
				wantStatus(t, e.get(t, base+"/odata/Roles(1)?$nope=1", ann), 400, "$nope")
				wantStatus(t, e.get(t, base+"/odata/Users/UiPath.Server.Configuration.OData.GetCurrentUser?$select=UserName", ann), 200,
					`"UserName":"ann@acme.test"`)
			})
			t.Run("unknown navigation properties", func(t *testing.T) {
				wantStatus(t, e.get(t, roles+"&$expand=Nope", ann), 400, `"errorCode":1000`,
					"$expand: Nope is not a navigation property of Roles; its navigation properties are Permissions")
				wantStatus(t, e.get(t, base+"/odata/Folders?$expand=Parent", ann), 400,
					"$expand: Folders has no navigation properties, so Parent cannot be expanded")
				wantStatus(t, e.get(t, roles+"&$expand=Permissions($expand=Role)", ann), 400,
					"Roles/Permissions has no navigation properties, so Role cannot be expanded")
				wantStatus(t, e.get(t, roles+"&$expand=Permissions($select=Nope)", ann), 400,
					"$select: Nope is not a property of Roles/Permissions; its properties are IsGranted, Name, RoleId")
				// The older layout answers in its envelope.
				r := e.get(t, "/acme/DefaultTenant/odata/Roles?$expand=Nope", ann)
				wantStatus(t, r, 400, `"__abp":true`, "Nope is not a navigation property of Roles")
			})
			t.Run("too deep is refused by the parser, whose message comes through", func(t *testing.T) {
				wantStatus(t, e.get(t, roles+"&$expand=Permissions($expand=A($expand=B))", ann), 400,
					"$expand goes at most 2 levels deep; B would be level 3")
				wantStatus(t, e.get(t, roles+"&$expand=Permissions/A/B", ann), 400, "$expand goes at most 2 levels deep")
			})
			t.Run("GetUsersForFolder as UiPath documents it", func(t *testing.T) {
				r := e.get(t, base+"/odata/Folders/UiPath.Server.Configuration.OData.GetUsersForFolder(key="+
					folderID(t, e, "Shared")+",includeInherited=true)?$expand=UserEntity%2CRoles", ann)
				wantStatus(t, r, 200, `"UserEntity":{`, `"Roles":[{`)
				r = e.get(t, base+"/odata/Folders/UiPath.Server.Configuration.OData.GetUsersForFolder(key="+
					folderID(t, e, "Shared")+")?$select=Id&$expand=UserEntity($select=UserName)", ann)
				if got := keysOf(t, r, 0); !slices.Equal(got, []string{"Id", "UserEntity"}) {
					t.Errorf("shaped to %v: %s", got, r.raw)
				}
			})
		})
	}
}

// folderID is the Id of a folder of acme's DefaultTenant, by path.
func folderID(t *testing.T, e *env, path string) string {
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
	f, err := e.st.FolderGetByPath(ctx, tn.ID, path)
	if err != nil {
		t.Fatal(err)
	}
	return itoa(f.ID)
}
