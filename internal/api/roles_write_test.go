package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/openorch/openorch/internal/tenancy"
)

func TestRoleWrites(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			ctx := context.Background()
			tn := mustTenant(t, e)
			ann := bearer(e.userToken(t, "acme", "ann@acme.test", "OR.Users"))
			bob := bearer(e.userToken(t, "acme", "bob@acme.test", "OrchestratorApiUserAccess"))
			roles := base + "/odata/Roles"

			// PermissionDto objects (IsGranted false grants nothing; left out, it grants).
			r := e.send(t, "POST", roles, `{"name":"Invoice Clerks","type":"Folder","permissions":[
				{"Name":"Jobs.View","IsGranted":true},{"name":"Queues.View"},{"Name":"Assets.View","IsGranted":false}]}`, ann)
			wantStatus(t, r, 201, `"Name":"Invoice Clerks"`, `"Type":"Folder"`, `"IsStatic":false`, `"IsEditable":true`, `"@odata.context"`,
				`{"Name":"Jobs.View","IsGranted":true`, `{"Name":"Queues.View","IsGranted":true`, `{"Name":"Assets.View","IsGranted":false`)
			clerks := int64(r.body["Id"].(float64))
			if !strings.HasSuffix(r.header.Get("Location"), "/odata/Roles("+itoa(clerks)+")") {
				t.Errorf("Location = %q", r.header.Get("Location"))
			}
			// A plain list of names, in any case: stored in UiPath's spelling.
			r = e.send(t, "POST", roles, `{"Name":"Machine Keepers","Type":"tenant","Permissions":["machines.view","MACHINES.EDIT","Jobs.View"]}`, ann)
			wantStatus(t, r, 201, `"Type":"Tenant"`, `{"Name":"Machines.View","IsGranted":true`, `{"Name":"Machines.Edit","IsGranted":true`)
			keepers := int64(r.body["Id"].(float64))

			// Reads.
			wantStatus(t, e.get(t, roles+"("+itoa(clerks)+")", ann), 200, `"Name":"Invoice Clerks"`, `{"Name":"Queues.View","IsGranted":true`)
			r = e.get(t, roles+"?$filter=IsStatic+eq+false&$orderby=Name&$count=true", ann)
			wantStatus(t, r, 200, `"@odata.count":2`)
			if got := strings.Join(names(t, r, "Name"), ","); got != "Invoice Clerks,Machine Keepers" {
				t.Errorf("custom roles %s", got)
			}
			wantStatus(t, e.get(t, roles+"?$filter=Name+eq+'invoice+clerks'+and+Type+eq+'Folder'&$count=true", ann), 200, `"@odata.count":1`)

			// Refusals.
			r = e.send(t, "POST", roles, `{"Name":"X","Type":"Folder","Permissions":["Jobs.Fly","Nope","Jobs.View"]}`, ann)
			wantStatus(t, r, 400, `unknown permissions: \"Jobs.Fly\", \"Nope\"`, "Area.View", "Machines")
			r = e.send(t, "POST", roles, `{"Name":"X","Type":"Folder","Permissions":["Jobs.View","Machines.View","Users.Edit"]}`, ann)
			wantStatus(t, r, 400, "a Folder role cannot grant Machines.View, Users.Edit", "make it a Tenant role")
			wantStatus(t, e.send(t, "POST", roles, `{"Name":"X","Permissions":[]}`, ann), 400, "Type is required")
			wantStatus(t, e.send(t, "POST", roles, `{"Name":"X","Type":"Mixed"}`, ann), 400, `Type \"Mixed\" is not a role type`)
			wantStatus(t, e.send(t, "POST", roles, `{"Type":"Folder"}`, ann), 400, "Name is required")
			wantStatus(t, e.send(t, "POST", roles, `{"Name":7,"Type":"Folder"}`, ann), 400, "Name: expected a string, got number")
			wantStatus(t, e.send(t, "POST", roles, `{"Name":"X","Type":"Folder","Permissions":"Jobs.View"}`, ann), 400, "Permissions: expected a list")
			wantStatus(t, e.send(t, "POST", roles, `{"Name":"X","Type":"Folder","Permissions":[5]}`, ann), 400, "Permissions[0]: expected a permission name")
			wantStatus(t, e.send(t, "POST", roles, `{"Name":"X","Type":"Folder","Permissions":[{"IsGranted":true}]}`, ann), 400, "Permissions[0]: Name is required")
			wantStatus(t, e.send(t, "POST", roles, `{"Name":"`+strings.Repeat("r", 101)+`","Type":"Folder"}`, ann), 400, "101 characters long; the limit is 100")
			wantStatus(t, e.send(t, "POST", roles, `{"Name":"INVOICE CLERKS","Type":"Folder"}`, ann), 409, `role name \"INVOICE CLERKS\" is taken`)
			wantStatus(t, e.send(t, "POST", roles, `{"Name":"automation user","Type":"Folder"}`, ann), 409, "is taken")
			wantStatus(t, e.send(t, "POST", roles, `{"Name":"X","Type":"Folder"}`, bob), 403, "Roles.Create")
			wantStatus(t, e.send(t, "POST", roles, `{"Name":"`+strings.Repeat("r", 100)+`","Type":"Folder"}`, ann), 201)

			// Updates: permissions replaced, name changed; the type stays.
			r = e.send(t, "PATCH", roles+"("+itoa(clerks)+")", `{"Permissions":["Jobs.View","Transactions.Create"]}`, ann)
			wantStatus(t, r, 200)
			wantStatus(t, e.get(t, roles+"("+itoa(clerks)+")", ann), 200, `{"Name":"Transactions.Create","IsGranted":true`,
				`{"Name":"Queues.View","IsGranted":false`, `"Name":"Invoice Clerks"`)
			wantStatus(t, e.send(t, "PATCH", roles+"("+itoa(clerks)+")", `{"Permissions":["Audit.View"]}`, ann), 400, "a Folder role cannot grant Audit.View")
			wantStatus(t, e.send(t, "PATCH", roles+"("+itoa(clerks)+")", `{"Type":"Tenant"}`, ann), 400, "Type of role Invoice Clerks cannot change")
			wantStatus(t, e.send(t, "PATCH", roles+"("+itoa(clerks)+")", `{"Type":"Folder","Name":"AP Clerks"}`, ann), 200)
			wantStatus(t, e.send(t, "PUT", roles+"("+itoa(clerks)+")", `{"Permissions":[]}`, ann), 400, "Name is required with PUT")
			wantStatus(t, e.send(t, "PUT", roles+"("+itoa(keepers)+")", `{"Name":"ap clerks"}`, ann), 409, "is taken")
			wantStatus(t, e.send(t, "PATCH", roles+"(999999)", `{"Name":"Y"}`, ann), 404)
			wantStatus(t, e.send(t, "PATCH", roles+"(x)", `{"Name":"Y"}`, ann), 400, "must be a role Id")
			wantStatus(t, e.send(t, "PATCH", roles+"("+itoa(clerks)+")", `{"Name":"Y"}`, bob), 403, "Roles.Edit")
			// Built-in roles are not editable.
			admin, err := e.st.RoleGetByName(ctx, tn.ID, tenancy.RoleAdministrator)
			if err != nil {
				t.Fatal(err)
			}
			wantStatus(t, e.send(t, "PATCH", roles+"("+itoa(admin.ID)+")", `{"Name":"Boss"}`, ann), 400, `role \"Administrator\" is built in and cannot be edited`)
			wantStatus(t, e.send(t, "PUT", roles+"("+itoa(admin.ID)+")", `{"Name":"Administrator","Permissions":["Jobs.View"]}`, ann), 400, "built in and cannot be edited")
			wantStatus(t, e.send(t, "DELETE", roles+"("+itoa(admin.ID)+")", "", ann), 400, "built in and cannot be deleted")

			// Deleting a role takes it from the memberships holding it: eve, who held only
			// it, is no longer a member of the tenant.
			eve, _ := e.st.UserGetByEmail(ctx, tn.OrgID, "eve@acme.test")
			shared, _ := e.st.FolderGetByPath(ctx, tn.ID, "Shared")
			if err := e.st.MembershipSet(ctx, tenancy.Membership{TenantID: tn.ID, FolderID: shared.ID,
				Principal: tenancy.Principal{Kind: tenancy.PrincipalUser, ID: eve.ID}, RoleIDs: []int64{clerks}}); err != nil {
				t.Fatal(err)
			}
			eveTok := bearer(e.userToken(t, "acme", "eve@acme.test", "OrchestratorApiUserAccess"))
			wantStatus(t, e.get(t, base+"/odata/Folders", eveTok), 200, `"FullyQualifiedName":"Shared"`)
			wantStatus(t, e.send(t, "DELETE", roles+"("+itoa(clerks)+")", "", bob), 403, "Roles.Delete")
			wantStatus(t, e.send(t, "DELETE", roles+"("+itoa(clerks)+")", "", ann), 204)
			wantStatus(t, e.get(t, roles+"("+itoa(clerks)+")", ann), 404)
			wantStatus(t, e.send(t, "DELETE", roles+"("+itoa(clerks)+")", "", ann), 404)
			wantStatus(t, e.get(t, base+"/odata/Folders", eveTok), 403, "not a member")
			ms, err := e.st.MembershipListFolder(ctx, tn.ID, shared.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				if m.Principal.Kind == tenancy.PrincipalUser && m.Principal.ID == eve.ID {
					t.Errorf("eve still holds roles %v in Shared", m.RoleIDs)
				}
			}

			// The audit log has every change, in order.
			audit := bearer(e.userToken(t, "acme", "ann@acme.test", "OR.Audit.Read"))
			r = e.get(t, base+"/odata/AuditLogs?$filter=Component+eq+'Roles'&$orderby=Id", audit)
			wantStatus(t, r, 200, `"OperationText":"created Folder role Invoice Clerks granting Jobs.View, Queues.View"`,
				`"OperationText":"created Tenant role Machine Keepers granting Jobs.View, Machines.Edit, Machines.View"`,
				`"OperationText":"updated role Invoice Clerks: granted Transactions.Create; no longer grants Queues.View"`,
				`"OperationText":"updated role AP Clerks: renamed from Invoice Clerks"`,
				`"OperationText":"deleted Folder role AP Clerks"`, `"UserName":"user ann@acme.test"`)
			if got, want := strings.Join(names(t, r, "Action"), ","), "Create,Create,Create,Update,Update,Delete"; got != want {
				t.Errorf("audit actions %s, want %s", got, want)
			}
		})
	}
}
