package api_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

func TestFolderAssignments(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			ctx := context.Background()
			acme, _ := e.st.OrganizationGetByName(ctx, "acme")
			tn, _ := e.st.TenantGetByName(ctx, acme.ID, "DefaultTenant")
			other, _ := e.st.TenantGetByName(ctx, acme.ID, "Other")
			bobU, _ := e.st.UserGetByEmail(ctx, acme.ID, "bob@acme.test")
			annU, _ := e.st.UserGetByEmail(ctx, acme.ID, "ann@acme.test")
			botApp, _ := e.st.AppGetByClientID(ctx, "acme-bot")
			gbot, _ := e.st.AppGetByClientID(ctx, "globex-bot")
			shared, _ := e.st.FolderGetByPath(ctx, tn.ID, "Shared")
			finance, _ := e.st.FolderGetByPath(ctx, tn.ID, "Finance")
			ap, _ := e.st.FolderGetByPath(ctx, tn.ID, "Finance/AP")
			secretF, _ := e.st.FolderGetByPath(ctx, tn.ID, "Secret")
			hidden, _ := e.st.FolderGetByPath(ctx, other.ID, "Hidden")
			role := func(name string) tenancy.Role {
				r, err := e.st.RoleGetByName(ctx, tn.ID, name)
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			au, dev, admin, robot := role(tenancy.RoleAutomationUser), role(tenancy.RoleAutomationDeveloper), role(tenancy.RoleAdministrator), role(tenancy.RoleRobot)
			ann := bearer(e.userToken(t, "acme", "ann@acme.test", "OR.Folders"))
			bob := bearer(e.userToken(t, "acme", "bob@acme.test", "OrchestratorApiUserAccess"))
			botTok := func() map[string]string {
				return bearer(e.appToken(t, "acme-bot", "acme-bot-secret-0123456789abcdef-xyz", ""))
			}
			folders := base + "/odata/Folders/UiPath.Server.Configuration.OData."
			queues := func(h map[string]string, folderID int64) reply {
				return e.get(t, base+"/odata/QueueDefinitions", with(h, "X-UIPATH-OrganizationUnitId", itoa(folderID)))
			}
			assign := func(userIDs string, folderID int64, roleIDs ...int64) string {
				var ids []string
				for _, id := range roleIDs {
					ids = append(ids, itoa(id))
				}
				return `{"assignments":{"UserIds":[` + userIDs + `],"RolesPerFolder":[{"FolderId":` + itoa(folderID) + `,"RoleIds":[` + strings.Join(ids, ",") + `]}]}}`
			}

			// AssignUsers grants access: bob may then list the queues of Secret.
			wantStatus(t, queues(bob, secretF.ID), 403, `"errorCode":1100`)
			wantStatus(t, e.send(t, "POST", folders+"AssignUsers", assign(itoa(bobU.ID), secretF.ID, au.ID), ann), 204)
			wantStatus(t, queues(bob, secretF.ID), 200)
			// The UiPathODataSvc namespace works as well; an app is named by its negative Id.
			wantStatus(t, queues(botTok(), ap.ID), 403, `"errorCode":1100`)
			wantStatus(t, e.send(t, "POST", base+"/odata/Folders/UiPathODataSvc.AssignUsers", assign(itoa(-botApp.ID), finance.ID, dev.ID), ann), 204)
			wantStatus(t, queues(botTok(), ap.ID), 200, `"Name":"Payments"`)
			// Roles are replaced, not added.
			wantStatus(t, e.send(t, "POST", folders+"AssignUsers", assign(itoa(bobU.ID), secretF.ID, dev.ID, dev.ID), ann), 204)
			ms, _ := e.st.MembershipListFolder(ctx, tn.ID, secretF.ID)
			if len(ms) != 1 || !slices.Equal(ms[0].RoleIDs, []int64{dev.ID}) {
				t.Errorf("memberships of Secret: %+v, want bob with [%d]", ms, dev.ID)
			}

			// GetUsersForFolder: those with roles there; with includeInherited, also above:
			// tess holds Administrator at tenant level; rita a tenant role without folder
			// permissions, which gives her nothing in folders.
			tess, _ := e.st.UserCreate(ctx, store.UserCreateParams{OrgID: acme.ID, Email: "tess@acme.test", Name: "Tess"})
			rita, _ := e.st.UserCreate(ctx, store.UserCreateParams{OrgID: acme.ID, Email: "rita@acme.test", Name: "Rita"})
			reader, err := e.st.RoleCreate(ctx, store.RoleCreateParams{TenantID: tn.ID, Name: "User Reader", Type: tenancy.RoleTypeTenant,
				Permissions: []tenancy.Permission{"Users.View"}})
			if err != nil {
				t.Fatal(err)
			}
			for p, r := range map[int64]int64{tess.ID: admin.ID, rita.ID: reader.ID} {
				if err := e.st.MembershipSet(ctx, tenancy.Membership{TenantID: tn.ID, Principal: tenancy.Principal{Kind: tenancy.PrincipalUser, ID: p},
					RoleIDs: []int64{r}}); err != nil {
					t.Fatal(err)
				}
			}
			r := e.get(t, folders+"GetUsersForFolder(key="+itoa(ap.ID)+",includeInherited=false)", ann)
			wantStatus(t, r, 200, `"@odata.context":"`+e.url+base+`/odata/$metadata#UserRoles"`, `"@odata.count":1`,
				`"Id":`+itoa(bobU.ID)+`,"UserEntity":{"Id":`+itoa(bobU.ID), `"UserName":"bob@acme.test"`, `"IsInherited":false`,
				`"Roles":[{"Id":`+itoa(au.ID)+`,"Name":"Automation User","Origin":"Assigned"}]`)
			r = e.get(t, folders+"GetUsersForFolder(key="+itoa(ap.ID)+",includeInherited=true)", ann)
			wantStatus(t, r, 200, `"@odata.count":4`,
				`"Roles":[{"Id":`+itoa(admin.ID)+`,"Name":"Administrator","Origin":"Inherited"}]`,
				`"Id":`+itoa(-botApp.ID)+`,"UserEntity":{"Id":`+itoa(-botApp.ID), `"Type":"DirectoryExternalApplication"`,
				`"Roles":[{"Id":`+itoa(dev.ID)+`,"Name":"Automation Developer","Origin":"Inherited"}]`)
			var ids []int64
			for _, v := range values(r) {
				ids = append(ids, int64(v["Id"].(float64)))
				ent := v["UserEntity"].(map[string]any)
				if inh := ent["IsInherited"].(bool); inh != (v["Id"].(float64) != float64(bobU.ID)) {
					t.Errorf("IsInherited of %v: %v", v["Id"], inh)
				}
			}
			if want := []int64{annU.ID, bobU.ID, tess.ID, -botApp.ID}; !slices.Equal(ids, want) {
				t.Errorf("GetUsersForFolder ids %v, want %v", ids, want)
			}
			wantStatus(t, e.get(t, folders+"GetUsersForFolder(key="+itoa(hidden.ID)+",includeInherited=false)", ann), 404, "folder "+itoa(hidden.ID)+" does not exist in tenant DefaultTenant")
			wantStatus(t, e.get(t, folders+"GetUsersForFolder(includeInherited=false)", ann), 400, "key=<folder Id>")
			wantStatus(t, e.get(t, folders+"GetUsersForFolder(key=1,includeInherited=maybe)", ann), 400, "true or false")
			wantStatus(t, e.get(t, folders+"GetUsersForFolder(key="+itoa(ap.ID)+")", bob), 403, "Folders.View")

			// RemoveUserFromFolder, unkeyed and keyed: the access goes at once.
			wantStatus(t, e.send(t, "POST", folders+"RemoveUserFromFolder", `{"userId":`+itoa(bobU.ID)+`,"folderId":`+itoa(secretF.ID)+`}`, ann), 204)
			wantStatus(t, queues(bob, secretF.ID), 403, `"errorCode":1100`)
			wantStatus(t, e.send(t, "POST", folders+"RemoveUserFromFolder", `{"userId":`+itoa(bobU.ID)+`,"folderId":`+itoa(secretF.ID)+`}`, ann), 404,
				"user bob@acme.test holds no role in folder Secret")
			keyed := base + "/odata/Folders(" + itoa(finance.ID) + ")/UiPath.Server.Configuration.OData.RemoveUserFromFolder"
			wantStatus(t, e.send(t, "POST", keyed, `{"userId":`+itoa(-botApp.ID)+`}`, ann), 204)
			wantStatus(t, queues(botTok(), ap.ID), 403, `"errorCode":1100`)
			wantStatus(t, e.send(t, "POST", keyed, `{"userId":`+itoa(bobU.ID)+`,"folderId":`+itoa(shared.ID)+`}`, ann), 400, "differs from the folder of the URL")
			wantStatus(t, e.send(t, "POST", folders+"RemoveUserFromFolder", `{"userId":`+itoa(bobU.ID)+`}`, ann), 400, "folderId is required")
			wantStatus(t, e.send(t, "POST", folders+"RemoveUserFromFolder", `{"folderId":`+itoa(shared.ID)+`}`, ann), 400, "userId is required")
			wantStatus(t, e.send(t, "POST", folders+"RemoveUserFromFolder", `{"userId":999999,"folderId":`+itoa(shared.ID)+`}`, ann), 404, "user 999999")
			wantStatus(t, e.send(t, "POST", folders+"RemoveUserFromFolder", `{"userId":`+itoa(bobU.ID)+`,"folderId":999999}`, ann), 404, "folder 999999")

			// AssignUsers refusals name what is wrong; none of them changes anything.
			for _, c := range []struct {
				body   string
				status int
				want   string
			}{
				{assign("999999", shared.ID, au.ID), 404, "user 999999 does not exist in organization acme"},
				{assign(itoa(-gbot.ID), shared.ID, au.ID), 404, "user " + itoa(-gbot.ID) + " (an external application) does not exist"},
				{assign("0", shared.ID, au.ID), 400, "user Id 0"},
				{assign(itoa(bobU.ID), 999999, au.ID), 404, "folder 999999 does not exist in tenant DefaultTenant"},
				{assign(itoa(bobU.ID), hidden.ID, au.ID), 404, "folder " + itoa(hidden.ID)},
				{assign(itoa(bobU.ID), shared.ID, 999999), 404, "role 999999 does not exist"},
				{assign(itoa(bobU.ID), shared.ID, admin.ID), 400, `role \"Administrator\" (Id ` + itoa(admin.ID) + `) is a tenant role`},
				{assign(itoa(bobU.ID), shared.ID), 400, "RoleIds is empty"},
				{`{"assignments":{"UserIds":[],"RolesPerFolder":[]}}`, 400, "UserIds is empty"},
				{`{"assignments":{"UserIds":[1]}}`, 400, "RolesPerFolder is empty"},
				{`{"assignments":{"UserIds":[1],"RolesPerFolder":[{"RoleIds":[1]}]}}`, 400, "RolesPerFolder[0].FolderId is required"},
				{`{}`, 400, "assignments is required"},
				{`{"assignments":{"UserIds":"x"}}`, 400, "expected a list"},
			} {
				wantStatus(t, e.send(t, "POST", folders+"AssignUsers", c.body, ann), c.status, c.want)
			}
			wantStatus(t, e.send(t, "POST", folders+"AssignUsers", assign(itoa(bobU.ID), secretF.ID, au.ID), bob), 403, "Folders.Edit")
			wantStatus(t, queues(bob, secretF.ID), 403)

			// AssignMachines: the machine's robots hold Robot there, besides what they held.
			m, err := e.st.MachineCreate(ctx, store.MachineCreateParams{TenantID: tn.ID, Name: "assign-worker", ClientID: "assign-worker",
				SecretHash: strings.Repeat("0", 64), Slots: 1})
			if err != nil {
				t.Fatal(err)
			}
			mp := tenancy.Principal{Kind: tenancy.PrincipalMachine, ID: m.ID}
			if err := e.st.MembershipSet(ctx, tenancy.Membership{TenantID: tn.ID, FolderID: shared.ID, Principal: mp, RoleIDs: []int64{au.ID}}); err != nil {
				t.Fatal(err)
			}
			body := `{"assignments":{"MachineIds":[` + itoa(m.ID) + `],"FolderIds":[` + itoa(shared.ID) + `,` + itoa(secretF.ID) + `]}}`
			wantStatus(t, e.send(t, "POST", folders+"AssignMachines", body, ann), 204)
			held, _ := e.st.MembershipListPrincipal(ctx, tn.ID, mp)
			got := map[int64][]int64{}
			for _, h := range held {
				got[h.FolderID] = h.RoleIDs
			}
			if !slices.Equal(got[secretF.ID], []int64{robot.ID}) || len(got[shared.ID]) != 2 || !slices.Contains(got[shared.ID], au.ID) || !slices.Contains(got[shared.ID], robot.ID) {
				t.Errorf("machine memberships %v; want Robot in Secret, Robot and Automation User in Shared", got)
			}
			acc, _ := e.st.AccessGet(ctx, tn.ID, mp, false)
			if !acc.FolderPermissions(secretF.ID).Has("Queues.View") {
				t.Error("the machine cannot view the queues of Secret")
			}
			// Machines are not users: GetUsersForFolder leaves them out.
			r = e.get(t, folders+"GetUsersForFolder(key="+itoa(secretF.ID)+",includeInherited=false)", ann)
			wantStatus(t, r, 200, `"@odata.count":0`)
			wantStatus(t, e.send(t, "POST", folders+"AssignMachines", `{"assignments":{"MachineIds":[999999],"FolderIds":[`+itoa(shared.ID)+`]}}`, ann), 404, "machine 999999")
			wantStatus(t, e.send(t, "POST", folders+"AssignMachines", `{"assignments":{"MachineIds":[`+itoa(m.ID)+`],"FolderIds":[999999]}}`, ann), 404, "folder 999999")
			wantStatus(t, e.send(t, "POST", folders+"AssignMachines", `{"assignments":{"MachineIds":[`+itoa(m.ID)+`]}}`, ann), 400, "at least one")
			wantStatus(t, e.send(t, "POST", folders+"AssignMachines", body, bob), 403, "Folders.Edit")

			// Every assignment is audited.
			audit := bearer(e.userToken(t, "acme", "ann@acme.test", "OR.Audit.Read"))
			r = e.get(t, base+"/odata/AuditLogs?$filter=Component+eq+'Folders'&$orderby=Id", audit)
			wantStatus(t, r, 200,
				`"OperationText":"assigned user bob@acme.test in folder Secret: roles [Automation User]"`,
				`"OperationText":"assigned app bot in folder Finance: roles [Automation Developer]"`,
				`"OperationText":"removed user bob@acme.test from folder Secret"`,
				`"OperationText":"removed app bot from folder Finance"`,
				`"OperationText":"assigned machines assign-worker to folders Shared, Secret with role Robot"`)
			want := "AssignUsers,AssignUsers,AssignUsers,RemoveUserFromFolder,RemoveUserFromFolder,AssignMachines"
			if got := strings.Join(names(t, r, "Action"), ","); got != want {
				t.Errorf("audit actions %s, want %s", got, want)
			}
		})
	}
}
