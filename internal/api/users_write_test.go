package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

func TestUserWrites(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			ctx := context.Background()
			acme, _ := e.st.OrganizationGetByName(ctx, "acme")
			tn, _ := e.st.TenantGetByName(ctx, acme.ID, "DefaultTenant")
			other, _ := e.st.TenantGetByName(ctx, acme.ID, "Other")
			annU, _ := e.st.UserGetByEmail(ctx, acme.ID, "ann@acme.test")
			bobU, _ := e.st.UserGetByEmail(ctx, acme.ID, "bob@acme.test")
			eveU, _ := e.st.UserGetByEmail(ctx, acme.ID, "eve@acme.test")
			botApp, _ := e.st.AppGetByClientID(ctx, "acme-bot")
			ann := bearer(e.userToken(t, "acme", "ann@acme.test", "OR.Users"))
			bobTok := e.userToken(t, "acme", "bob@acme.test", "OrchestratorApiUserAccess")
			bob := bearer(bobTok)
			users := base + "/odata/Users"
			storedUser := func(id int64) tenancy.User {
				t.Helper()
				u, err := e.st.UserGet(ctx, acme.ID, id)
				if err != nil {
					t.Fatal(err)
				}
				return u
			}
			tenantRoles := func(id int64) []int64 {
				t.Helper()
				ms, err := e.st.MembershipListPrincipal(ctx, tn.ID, tenancy.Principal{Kind: tenancy.PrincipalUser, ID: id})
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range ms {
					if m.FolderID == 0 {
						return m.RoleIDs
					}
				}
				return nil
			}
			admin, _ := e.st.RoleGetByName(ctx, tn.ID, tenancy.RoleAdministrator)

			// Create, camelCase or PascalCase, with a tenant role and a password.
			const carolPassword = "carol-password-1"
			r := e.send(t, "POST", users, `{"userName":"carol@acme.test","name":"Carol","surname":"Smith","password":"`+carolPassword+`","rolesList":["administrator"]}`, ann)
			wantStatus(t, r, 201, `"UserName":"carol@acme.test"`, `"EmailAddress":"carol@acme.test"`, `"Name":"Carol Smith"`,
				`"RolesList":["Administrator"]`, `"IsActive":true`, `"Type":"User"`, `"@odata.context"`)
			if strings.Contains(strings.ToLower(r.raw), "password") || strings.Contains(r.raw, "argon2") {
				t.Errorf("the answer shows a password or its hash: %s", r.raw)
			}
			carolID := int64(r.body["Id"].(float64))
			if !strings.HasSuffix(r.header.Get("Location"), "/odata/Users("+itoa(carolID)+")") {
				t.Errorf("Location = %q", r.header.Get("Location"))
			}
			carol := storedUser(carolID)
			if ok, err := secret.PasswordMatches(carolPassword, carol.PasswordHash); !ok || err != nil {
				t.Errorf("the stored hash does not match the password (%v)", err)
			}
			if got := tenantRoles(carolID); len(got) != 1 || got[0] != admin.ID {
				t.Errorf("carol's tenant roles %v, want [%d]", got, admin.ID)
			}
			// She is now an administrator of the tenant: her token may create folders.
			carolTok := bearer(e.userToken(t, "acme", "carol@acme.test", "OR.Folders"))
			wantStatus(t, e.send(t, "POST", base+"/odata/Folders", `{"DisplayName":"Carols"}`, carolTok), 201)
			// Without roles: a user of the organization, not yet a member of the tenant.
			r = e.send(t, "POST", users, `{"EmailAddress":"dan@acme.test","Name":"Dan"}`, ann)
			wantStatus(t, r, 201, `"RolesList":[]`)
			danID := int64(r.body["Id"].(float64))
			if storedUser(danID).PasswordHash != "" {
				t.Error("dan has a password he was never given")
			}

			// Refusals.
			wantStatus(t, e.send(t, "POST", users, `{"UserName":"CAROL@acme.test","Name":"Again"}`, ann), 409, "already exists")
			wantStatus(t, e.send(t, "POST", users, `{"UserName":"x@acme.test","Name":"X","RolesList":["Boss"]}`, ann), 400,
				`\"Boss\" is not a tenant role`, "Administrator")
			wantStatus(t, e.send(t, "POST", users, `{"UserName":"x@acme.test","Name":"X","RolesList":["Automation User"]}`, ann), 400,
				"not a tenant role", "the tenant roles are: Administrator")
			wantStatus(t, e.send(t, "POST", users, `{"Name":"X"}`, ann), 400, "UserName or EmailAddress is required")
			wantStatus(t, e.send(t, "POST", users, `{"UserName":"x","Name":"X"}`, ann), 400, "not an email address")
			wantStatus(t, e.send(t, "POST", users, `{"UserName":"x@acme.test","EmailAddress":"y@acme.test","Name":"X"}`, ann), 400, "differ")
			wantStatus(t, e.send(t, "POST", users, `{"UserName":"x@acme.test"}`, ann), 400, "Name is required")
			wantStatus(t, e.send(t, "POST", users, `{"UserName":"x@acme.test","Name":"`+strings.Repeat("n", 65)+`"}`, ann), 400, "the limit is 64")
			wantStatus(t, e.send(t, "POST", users, `{"UserName":"x@acme.test","Name":"X","Password":"short"}`, ann), 400, "at least 8")
			wantStatus(t, e.send(t, "POST", users, `{"UserName":"x@acme.test","Name":"X","RolesList":"Administrator"}`, ann), 400, "RolesList: expected a list")
			wantStatus(t, e.send(t, "POST", users, `{"UserName":"x@acme.test","Name":"X"}`, bob), 403, "Users.Create")
			if _, err := e.st.UserGetByEmail(ctx, acme.ID, "x@acme.test"); err == nil {
				t.Error("a refused create left a user")
			}

			// Update: Name and Surname become one name; RolesList replaces the tenant roles.
			carolURL := users + "(" + itoa(carolID) + ")"
			wantStatus(t, e.send(t, "PATCH", carolURL, `{"Name":"Caroline","Surname":"Smith-Jones"}`, ann), 200)
			wantStatus(t, e.get(t, carolURL, ann), 200, `"Name":"Caroline Smith-Jones"`, `"FullName":"Caroline Smith-Jones"`)
			wantStatus(t, e.send(t, "PATCH", carolURL, `{"Surname":"Jones"}`, ann), 400, "send Name with Surname")
			wantStatus(t, e.send(t, "PUT", carolURL, `{"IsActive":true}`, ann), 400, "Name is required with PUT")
			wantStatus(t, e.send(t, "PATCH", carolURL, `{"EmailAddress":"c@acme.test"}`, ann), 400, "cannot be changed")
			wantStatus(t, e.send(t, "PUT", carolURL, `{"Name":"Caroline","UserName":"Carol@acme.test","RolesList":[]}`, ann), 200)
			if got := tenantRoles(carolID); len(got) != 0 {
				t.Errorf("RolesList [] left tenant roles %v", got)
			}
			wantStatus(t, e.send(t, "POST", base+"/odata/Folders", `{"DisplayName":"Carols2"}`, carolTok), 403, "Folders.Create")
			wantStatus(t, e.send(t, "PATCH", users+"(999999)", `{"Name":"X"}`, ann), 404, "user 999999 does not exist in organization acme")
			wantStatus(t, e.send(t, "PATCH", users+"(abc)", `{"Name":"X"}`, ann), 400, "must be a user Id")
			wantStatus(t, e.send(t, "PATCH", carolURL, `{"RolesList":["Nope"]}`, ann), 400, "not a tenant role")
			wantStatus(t, e.send(t, "PATCH", carolURL, `{"Name":"X"}`, bob), 403, "Users.Edit")

			// External applications are the identity service's.
			appURL := users + "(" + itoa(-botApp.ID) + ")"
			for _, c := range []struct{ method, path, body string }{
				{"PATCH", appURL, `{"Name":"X"}`},
				{"PUT", appURL, `{"Name":"X"}`},
				{"DELETE", appURL, ""},
				{"POST", appURL + "/UiPath.Server.Configuration.OData.SetPassword", `{"password":"whatever-long"}`},
			} {
				wantStatus(t, e.send(t, c.method, c.path, c.body, ann), 400, "external applications are managed at /acme/identity_/api/ExternalApplications")
			}

			// Disabling: the API refuses the user's token at once; enabling lets it back in.
			bobURL := users + "(" + itoa(bobU.ID) + ")"
			wantStatus(t, e.get(t, base+"/odata/Folders", bob), 200)
			wantStatus(t, e.send(t, "PATCH", bobURL, `{"IsActive":false}`, ann), 200)
			wantStatus(t, e.get(t, base+"/odata/Folders", bob), 401, "disabled")
			wantStatus(t, e.get(t, bobURL, ann), 200, `"IsActive":false`)
			wantStatus(t, e.send(t, "PATCH", bobURL, `{"IsActive":true}`, ann), 200)
			wantStatus(t, e.get(t, base+"/odata/Folders", bob), 200)
			annURL := users + "(" + itoa(annU.ID) + ")"
			wantStatus(t, e.send(t, "PATCH", annURL, `{"IsActive":false}`, ann), 400, "cannot disable yourself")

			// SetPassword: at least 8 characters; the user can sign in with it.
			setPw := bobURL + "/UiPath.Server.Configuration.OData.SetPassword"
			const bobPassword = "bob-new-password-42"
			wantStatus(t, e.send(t, "POST", setPw, `{"password":"short"}`, ann), 400, "at least 8")
			wantStatus(t, e.send(t, "POST", setPw, `{}`, ann), 400, "password is required")
			wantStatus(t, e.send(t, "POST", setPw, `{"password":"`+bobPassword+`"}`, bob), 403, "Users.Edit")
			wantStatus(t, e.send(t, "POST", users+"(999999)/UiPath.Server.Configuration.OData.SetPassword", `{"password":"`+bobPassword+`"}`, ann), 404)
			r = e.send(t, "POST", setPw, `{"password":"`+bobPassword+`"}`, ann)
			wantStatus(t, r, 204)
			if ok, _ := secret.PasswordMatches(bobPassword, storedUser(bobU.ID).PasswordHash); !ok {
				t.Error("SetPassword did not store the password's hash")
			}
			// A password in PATCH works too.
			wantStatus(t, e.send(t, "PATCH", bobURL, `{"Password":"bob-third-password"}`, ann), 200)
			if ok, _ := secret.PasswordMatches("bob-third-password", storedUser(bobU.ID).PasswordHash); !ok {
				t.Error("PATCH Password did not store the password's hash")
			}

			// Only an organization administrator may change an organization administrator,
			// or set the password of, disable or delete a member of another tenant.
			tad, err := e.st.UserCreate(ctx, store.UserCreateParams{OrgID: acme.ID, Email: "tad@acme.test", Name: "Tad"})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.st.MembershipSet(ctx, tenancy.Membership{TenantID: tn.ID, Principal: tenancy.Principal{Kind: tenancy.PrincipalUser, ID: tad.ID},
				RoleIDs: []int64{admin.ID}}); err != nil {
				t.Fatal(err)
			}
			hidden, _ := e.st.FolderGetByPath(ctx, other.ID, "Hidden")
			au, _ := e.st.RoleGetByName(ctx, tn.ID, tenancy.RoleAutomationUser)
			if err := e.st.MembershipSet(ctx, tenancy.Membership{TenantID: other.ID, FolderID: hidden.ID,
				Principal: tenancy.Principal{Kind: tenancy.PrincipalUser, ID: eveU.ID}, RoleIDs: []int64{au.ID}}); err != nil {
				t.Fatal(err)
			}
			tadTok := bearer(e.userToken(t, "acme", "tad@acme.test", "OR.Users"))
			eveURL := users + "(" + itoa(eveU.ID) + ")"
			wantStatus(t, e.send(t, "PATCH", annURL, `{"Name":"Ann"}`, tadTok), 403, "organization administrator")
			wantStatus(t, e.send(t, "POST", annURL+"/UiPath.Server.Configuration.OData.SetPassword", `{"password":"taken-over!"}`, tadTok), 403, "organization administrator")
			wantStatus(t, e.send(t, "DELETE", annURL, "", tadTok), 403, "organization administrator")
			wantStatus(t, e.send(t, "POST", eveURL+"/UiPath.Server.Configuration.OData.SetPassword", `{"password":"taken-over!"}`, tadTok), 403, "also a member of tenant Other")
			wantStatus(t, e.send(t, "PATCH", eveURL, `{"IsActive":false}`, tadTok), 403, "also a member of tenant Other")
			wantStatus(t, e.send(t, "PATCH", eveURL, `{"Name":"Eve","RolesList":[]}`, tadTok), 200)
			wantStatus(t, e.send(t, "POST", setPw, `{"password":"set-by-tad-1"}`, tadTok), 204)
			wantStatus(t, e.send(t, "POST", annURL+"/UiPath.Server.Configuration.OData.SetPassword", `{"password":"ann-password-2"}`, ann), 204)

			// Delete: the user leaves the organization and their token stops working.
			danURL := users + "(" + itoa(danID) + ")"
			wantStatus(t, e.send(t, "DELETE", annURL, "", ann), 400, "cannot delete yourself")
			wantStatus(t, e.send(t, "DELETE", danURL, "", bob), 403, "Users.Delete")
			wantStatus(t, e.send(t, "DELETE", danURL, "", ann), 204)
			wantStatus(t, e.send(t, "DELETE", danURL, "", ann), 404)
			wantStatus(t, e.send(t, "DELETE", carolURL, "", tadTok), 204)
			wantStatus(t, e.get(t, base+"/odata/Folders", carolTok), 401, "no longer exists")
			if _, err := e.st.UserGet(ctx, acme.ID, carolID); err == nil {
				t.Error("carol is still in the organization")
			}

			// Every change is audited, without a password.
			audit := bearer(e.userToken(t, "acme", "ann@acme.test", "OR.Audit.Read"))
			r = e.get(t, base+"/odata/AuditLogs?$filter=Component+eq+'Users'&$orderby=Id", audit)
			wantStatus(t, r, 200, `"OperationText":"created user carol@acme.test with tenant roles [Administrator] and a password"`,
				`"OperationText":"updated user carol@acme.test: name"`, `"OperationText":"updated user carol@acme.test: name, tenant roles []"`,
				`"OperationText":"updated user bob@acme.test: disabled"`, `"OperationText":"set the password of user bob@acme.test"`,
				`"OperationText":"updated user bob@acme.test: password set"`, `"OperationText":"deleted user dan@acme.test from organization acme"`,
				`"UserName":"user tad@acme.test"`)
			got := strings.Join(names(t, r, "Action"), ",")
			want := "Create,Create,Update,Update,Update,Update,SetPassword,Update,Update,SetPassword,SetPassword,Delete,Delete"
			if got != want {
				t.Errorf("audit actions %s, want %s", got, want)
			}
			for _, p := range []string{carolPassword, bobPassword, "bob-third-password", "set-by-tad-1", "ann-password-2", "argon2"} {
				if strings.Contains(r.raw, p) {
					t.Errorf("the audit log shows %q: %s", p, r.raw)
				}
			}
		})
	}
}
