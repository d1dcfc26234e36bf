package api_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// Known machine secrets: their hashes are stored and must never be shown.
const (
	worker1Secret = "worker-1-client-credential-0123456789abcdef"
	worker2Secret = "worker-2-client-credential-0123456789abcdef"
)

// tenantFixture adds what the Users, Roles, Machines and Settings tests need to the
// setup of api_test.go: machines in both tenants of acme, custom roles, a user holding a
// custom tenant role, a disabled user, and eve as a member of the Other tenant only.
type tenantFixture struct {
	tenant, other      tenancy.Tenant
	ann, bob, eve      tenancy.User
	carl, dora         tenancy.User
	bot, narrow, gbot  tenancy.App
	worker1, worker2   tenancy.Machine
	hiddenWorker       tenancy.Machine
	reader, otherRole  tenancy.Role
	automationUserRole tenancy.Role
}

func newTenantFixture(t *testing.T, e *env) tenantFixture {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var f tenantFixture
	acme, err := e.st.OrganizationGetByName(ctx, "acme")
	must(err)
	f.tenant, err = e.st.TenantGetByName(ctx, acme.ID, "DefaultTenant")
	must(err)
	f.other, err = e.st.TenantGetByName(ctx, acme.ID, "Other")
	must(err)
	for _, u := range []struct {
		p     *tenancy.User
		email string
	}{{&f.ann, "ann@acme.test"}, {&f.bob, "bob@acme.test"}, {&f.eve, "eve@acme.test"}} {
		*u.p, err = e.st.UserGetByEmail(ctx, acme.ID, u.email)
		must(err)
	}
	f.bot, err = e.st.AppGetByClientID(ctx, "acme-bot")
	must(err)
	f.narrow, err = e.st.AppGetByClientID(ctx, "acme-narrow")
	must(err)
	f.gbot, err = e.st.AppGetByClientID(ctx, "globex-bot")
	must(err)

	f.worker1, err = e.st.MachineCreate(ctx, store.MachineCreateParams{TenantID: f.tenant.ID, Name: "worker-1",
		ClientID: "worker-1", SecretHash: secret.HashToken(worker1Secret), Slots: 2})
	must(err)
	f.worker2, err = e.st.MachineCreate(ctx, store.MachineCreateParams{TenantID: f.tenant.ID, Name: "Worker-2",
		ClientID: "worker-2", SecretHash: secret.HashToken(worker2Secret), Slots: 3})
	must(err)
	f.hiddenWorker, err = e.st.MachineCreate(ctx, store.MachineCreateParams{TenantID: f.other.ID, Name: "hidden-worker",
		ClientID: "hidden-worker", SecretHash: secret.HashToken("hidden-worker-client-credential-0123456789"), Slots: 7})
	must(err)

	f.reader, err = e.st.RoleCreate(ctx, store.RoleCreateParams{TenantID: f.tenant.ID, Name: "User Reader",
		Type: tenancy.RoleTypeTenant, Permissions: []tenancy.Permission{"Users.View"}})
	must(err)
	f.otherRole, err = e.st.RoleCreate(ctx, store.RoleCreateParams{TenantID: f.other.ID, Name: "Other Role",
		Type: tenancy.RoleTypeTenant, Permissions: []tenancy.Permission{"Users.View"}})
	must(err)
	f.automationUserRole, err = e.st.RoleGetByName(ctx, f.tenant.ID, tenancy.RoleAutomationUser)
	must(err)

	// carl holds the custom tenant role; dora is a disabled folder member; eve is a
	// member of the Other tenant only.
	f.carl, err = e.st.UserCreate(ctx, store.UserCreateParams{OrgID: acme.ID, Email: "carl@acme.test", Name: "Carl"})
	must(err)
	must(e.st.MembershipSet(ctx, tenancy.Membership{TenantID: f.tenant.ID,
		Principal: tenancy.Principal{Kind: tenancy.PrincipalUser, ID: f.carl.ID}, RoleIDs: []int64{f.reader.ID}}))
	f.dora, err = e.st.UserCreate(ctx, store.UserCreateParams{OrgID: acme.ID, Email: "dora@acme.test", Name: "Dora"})
	must(err)
	shared, err := e.st.FolderGetByPath(ctx, f.tenant.ID, "Shared")
	must(err)
	must(e.st.MembershipSet(ctx, tenancy.Membership{TenantID: f.tenant.ID, FolderID: shared.ID,
		Principal: tenancy.Principal{Kind: tenancy.PrincipalUser, ID: f.dora.ID}, RoleIDs: []int64{f.automationUserRole.ID}}))
	f.dora, err = e.st.UserUpdate(ctx, acme.ID, f.dora.ID, func(u tenancy.User) (tenancy.User, error) { u.Disabled = true; return u, nil })
	must(err)
	hidden, err := e.st.FolderGetByPath(ctx, f.other.ID, "Hidden")
	must(err)
	must(e.st.MembershipSet(ctx, tenancy.Membership{TenantID: f.other.ID, FolderID: hidden.ID,
		Principal: tenancy.Principal{Kind: tenancy.PrincipalUser, ID: f.eve.ID}, RoleIDs: []int64{f.automationUserRole.ID}}))
	return f
}

// noSecrets checks that a body shows no secret nor the hash of one.
func noSecrets(t *testing.T, r reply, hashes ...string) {
	t.Helper()
	if strings.Contains(strings.ToLower(r.raw), "secret") {
		t.Errorf("the body mentions a secret: %s", r.raw)
	}
	for _, h := range hashes {
		if h != "" && strings.Contains(strings.ToLower(r.raw), strings.ToLower(h)) {
			t.Errorf("the body shows the hash %s: %s", h, r.raw)
		}
	}
}

// values returns the value list of a list reply.
func values(r reply) []map[string]any {
	var out []map[string]any
	vals, _ := r.body["value"].([]any)
	for _, v := range vals {
		out = append(out, v.(map[string]any))
	}
	return out
}

func TestUsers(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			f := newTenantFixture(t, e)
			ann := e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess")
			bob := e.userToken(t, "acme", "bob@acme.test", "OrchestratorApiUserAccess")
			carl := e.userToken(t, "acme", "carl@acme.test", "OR.Users.Read")
			hashes := []string{f.bot.SecretHash, f.narrow.SecretHash, f.worker1.SecretHash}
			q := func(tok, raw string) reply {
				return e.get(t, base+"/odata/Users"+strings.ReplaceAll(raw, " ", "%20"), bearer(tok))
			}

			t.Run("members of the tenant, apps included", func(t *testing.T) {
				r := q(ann, "")
				wantStatus(t, r, 200, `"@odata.context":"`+e.url+base+`/odata/$metadata#Users"`)
				noSecrets(t, r, hashes...)
				// Default order is by Id: the app (negative Id) first.
				got := strings.Join(names(t, r, "UserName"), ",")
				if got != "acme-bot,ann@acme.test,bob@acme.test,carl@acme.test,dora@acme.test" {
					t.Errorf("Users lists %s", got)
				}
				byName := map[string]map[string]any{}
				for _, v := range values(r) {
					byName[v["UserName"].(string)] = v
				}
				bot := byName["acme-bot"]
				if bot["Type"] != "DirectoryExternalApplication" || bot["Id"] != float64(-f.bot.ID) || bot["Key"] != f.bot.Key ||
					bot["FullName"] != "bot" || bot["IsActive"] != true {
					t.Errorf("the app as a user: %v", bot)
				}
				a := byName["ann@acme.test"]
				if a["Type"] != "User" || a["Id"] != float64(f.ann.ID) || a["EmailAddress"] != "ann@acme.test" || a["Name"] != "Ann" ||
					a["FullName"] != "Ann" || a["Surname"] != "" || a["TenancyName"] != "DefaultTenant" || a["TenantId"] != float64(f.tenant.ID) {
					t.Errorf("ann: %v", a)
				}
				roles := func(u map[string]any) string {
					var out []string
					for _, x := range u["RolesList"].([]any) {
						out = append(out, x.(string))
					}
					return strings.Join(out, ",")
				}
				if roles(a) != "Administrator" || roles(byName["carl@acme.test"]) != "User Reader" || roles(byName["bob@acme.test"]) != "" {
					t.Errorf("RolesList: ann %q, carl %q, bob %q", roles(a), roles(byName["carl@acme.test"]), roles(byName["bob@acme.test"]))
				}
				if byName["dora@acme.test"]["IsActive"] != false {
					t.Errorf("dora is disabled: %v", byName["dora@acme.test"])
				}
			})
			t.Run("OData queries", func(t *testing.T) {
				r := q(ann, "?$filter=Type eq 'User' and IsActive&$orderby=UserName desc&$count=true")
				wantStatus(t, r, 200, `"@odata.count":3`)
				if got := strings.Join(names(t, r, "UserName"), ","); got != "carl@acme.test,bob@acme.test,ann@acme.test" {
					t.Errorf("users, active, by UserName desc: %s", got)
				}
				r = q(ann, "?$filter=Type eq 'DirectoryExternalApplication' or contains(EmailAddress,'DORA')&$orderby=Id desc")
				wantStatus(t, r, 200)
				if got := strings.Join(names(t, r, "UserName"), ","); got != "dora@acme.test,acme-bot" {
					t.Errorf("app or dora: %s", got)
				}
				r = q(ann, "?$filter=IsActive eq false&$count=true")
				wantStatus(t, r, 200, `"@odata.count":1`, `"UserName":"dora@acme.test"`)
				r = q(ann, "?$filter=Id lt 0")
				wantStatus(t, r, 200)
				if got := strings.Join(names(t, r, "UserName"), ","); got != "acme-bot" {
					t.Errorf("Id lt 0: %s", got)
				}
				r = q(ann, "?$orderby=FullName&$top=2&$skip=1&$count=true")
				wantStatus(t, r, 200, `"@odata.count":5`)
				if got := strings.Join(names(t, r, "FullName"), ","); got != "Bob,bot" {
					t.Errorf("by FullName, page 2 of 2: %s", got)
				}
				wantStatus(t, q(ann, "?$filter=Password eq 'x'"), 400, "Password", "UserName")
				wantStatus(t, q(ann, "?$filter=Type eq 'Nope'"), 400, "Type")
			})
			t.Run("one member by Id", func(t *testing.T) {
				r := e.get(t, base+"/odata/Users("+itoa(f.bob.ID)+")", bearer(ann))
				wantStatus(t, r, 200, `"@odata.context":"`+e.url+base+`/odata/$metadata#Users/$entity"`, `"UserName":"bob@acme.test"`, `"RolesList":[]`)
				r = e.get(t, base+"/odata/Users("+itoa(-f.bot.ID)+")", bearer(ann))
				wantStatus(t, r, 200, `"Type":"DirectoryExternalApplication"`, `"UserName":"acme-bot"`)
				noSecrets(t, r, hashes...)
				wantStatus(t, e.get(t, base+"/odata/Users(abc)", bearer(ann)), 400, "integer")
			})
			t.Run("non-members and other organizations are not found", func(t *testing.T) {
				for who, id := range map[string]int64{
					"eve (a member of another tenant)": f.eve.ID,
					"an app without roles":             -f.narrow.ID,
					"another organization's app":       -f.gbot.ID,
					"no one":                           999999,
				} {
					if r := e.get(t, base+"/odata/Users("+itoa(id)+")", bearer(ann)); r.status != 404 {
						t.Errorf("%s: %d %s", who, r.status, r.raw)
					}
				}
				r := e.get(t, "/acme/Other/orchestrator_/odata/Users", bearer(ann))
				wantStatus(t, r, 200)
				if got := strings.Join(names(t, r, "UserName"), ","); got != "ann@acme.test,eve@acme.test" {
					t.Errorf("tenant Other lists %s", got)
				}
				wantStatus(t, e.get(t, "/acme/Other/orchestrator_/odata/Users("+itoa(f.eve.ID)+")", bearer(ann)), 200, `"TenancyName":"Other"`)
			})
			t.Run("permission and scope", func(t *testing.T) {
				wantStatus(t, q(bob, ""), 403, "user bob@acme.test lacks permission Users.View in tenant DefaultTenant")
				wantStatus(t, e.get(t, base+"/odata/Users("+itoa(f.bob.ID)+")", bearer(bob)), 403, "Users.View")
				// A custom tenant role granting Users.View is enough, with OR.Users.Read.
				wantStatus(t, q(carl, ""), 200, `"UserName":"carl@acme.test"`)
				bot := e.appToken(t, "acme-bot", "acme-bot-secret-0123456789abcdef-xyz", "")
				wantStatus(t, q(bot, ""), 403, "lacks scope OR.Users or OR.Users.Read")
			})
		})
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			f := newTenantFixture(t, e)
			ann := e.userToken(t, "acme", "ann@acme.test", "OR.Users.Read")
			q := func(tok, raw string) reply {
				return e.get(t, base+"/odata/Roles"+strings.ReplaceAll(raw, " ", "%20"), bearer(tok))
			}
			t.Run("built-in and the tenant's custom roles", func(t *testing.T) {
				r := q(ann, "")
				wantStatus(t, r, 200, `"@odata.context":"`+e.url+base+`/odata/$metadata#Roles"`)
				got := names(t, r, "Name")
				if !slices.Equal(got, []string{"Administrator", "Folder Administrator", "Automation Developer", "Automation User", "Robot", "User Reader"}) {
					t.Errorf("Roles lists %v", got)
				}
				for _, v := range values(r) {
					static := v["Name"] != "User Reader"
					if v["IsStatic"] != static || v["IsEditable"] != !static || v["DisplayName"] != v["Name"] {
						t.Errorf("role %v", v)
					}
				}
			})
			t.Run("OData queries", func(t *testing.T) {
				r := q(ann, "?$filter=Type eq 'Folder'&$orderby=Name&$count=true")
				wantStatus(t, r, 200, `"@odata.count":4`)
				if got := strings.Join(names(t, r, "Name"), ","); got != "Automation Developer,Automation User,Folder Administrator,Robot" {
					t.Errorf("folder roles by name: %s", got)
				}
				r = q(ann, "?$filter=IsEditable&$count=true")
				wantStatus(t, r, 200, `"@odata.count":1`, `"Name":"User Reader"`, `"Type":"Tenant"`)
				r = q(ann, "?$filter=DisplayName eq 'robot' or Id eq 1&$orderby=Id desc")
				wantStatus(t, r, 200)
				if got := strings.Join(names(t, r, "Name"), ","); got != "Robot,Administrator" {
					t.Errorf("robot or 1: %s", got)
				}
				wantStatus(t, q(ann, "?$filter=Permissions eq 'x'"), 400, "Permissions")
			})
			t.Run("one role with its permissions", func(t *testing.T) {
				r := e.get(t, base+"/odata/Roles("+itoa(f.automationUserRole.ID)+")", bearer(ann))
				id := itoa(f.automationUserRole.ID)
				wantStatus(t, r, 200, `"Name":"Automation User"`, `"Type":"Folder"`, `"IsStatic":true`, `"IsEditable":false`,
					`{"Name":"Jobs.View","IsGranted":true,"RoleId":`+id+`}`, `{"Name":"Jobs.Delete","IsGranted":false,"RoleId":`+id+`}`)
				if strings.Contains(r.raw, "Users.View") {
					t.Errorf("a folder role lists tenant permissions: %s", r.raw)
				}
				r = e.get(t, base+"/odata/Roles("+itoa(f.reader.ID)+")", bearer(ann))
				wantStatus(t, r, 200, `"Name":"User Reader"`, `{"Name":"Users.View","IsGranted":true`, `{"Name":"Users.Edit","IsGranted":false`,
					`{"Name":"Jobs.View","IsGranted":false`)
				wantStatus(t, e.get(t, base+"/odata/Roles(1)", bearer(ann)), 200, `{"Name":"Settings.Edit","IsGranted":true,"RoleId":1}`)
			})
			t.Run("another tenant's role is not found", func(t *testing.T) {
				wantStatus(t, e.get(t, base+"/odata/Roles("+itoa(f.otherRole.ID)+")", bearer(ann)), 404, "role")
				wantStatus(t, e.get(t, "/acme/Other/orchestrator_/odata/Roles("+itoa(f.otherRole.ID)+")", bearer(ann)), 200, `"Name":"Other Role"`)
				r := q(ann, "?$filter=Name eq 'Other Role'&$count=true")
				wantStatus(t, r, 200, `"@odata.count":0`)
			})
			t.Run("permission", func(t *testing.T) {
				bob := e.userToken(t, "acme", "bob@acme.test", "OrchestratorApiUserAccess")
				wantStatus(t, q(bob, ""), 403, "lacks permission Roles.View")
				carl := e.userToken(t, "acme", "carl@acme.test", "OrchestratorApiUserAccess")
				wantStatus(t, q(carl, ""), 403, "user carl@acme.test lacks permission Roles.View")
			})
		})
	}
}

func TestMachines(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			f := newTenantFixture(t, e)
			ann := e.userToken(t, "acme", "ann@acme.test", "OR.Machines.Read")
			hashes := []string{f.worker1.SecretHash, f.worker2.SecretHash, f.hiddenWorker.SecretHash}
			q := func(tok, raw string) reply {
				return e.get(t, base+"/odata/Machines"+strings.ReplaceAll(raw, " ", "%20"), bearer(tok))
			}
			t.Run("the tenant's machines", func(t *testing.T) {
				r := q(ann, "")
				wantStatus(t, r, 200, `"@odata.context":"`+e.url+base+`/odata/$metadata#Machines"`)
				noSecrets(t, r, hashes...)
				if got := strings.Join(names(t, r, "Name"), ","); got != "worker-1,Worker-2" {
					t.Errorf("Machines lists %s", got)
				}
				v := values(r)[0]
				want := map[string]any{"Id": float64(f.worker1.ID), "Key": f.worker1.Key, "Name": "worker-1", "Type": "Standard",
					"Scope": "Default", "UnattendedSlots": float64(2), "NonProductionSlots": float64(0), "HeadlessSlots": float64(0),
					"TestAutomationSlots": float64(0), "Description": "", "ClientId": "worker-1"}
				for k, w := range want {
					if v[k] != w {
						t.Errorf("%s = %v, want %v", k, v[k], w)
					}
				}
				if len(v) != len(want) {
					t.Errorf("fields %v, want exactly %v", v, want)
				}
			})
			t.Run("OData queries", func(t *testing.T) {
				r := q(ann, "?$filter=UnattendedSlots gt 2&$count=true")
				wantStatus(t, r, 200, `"@odata.count":1`, `"Name":"Worker-2"`)
				r = q(ann, "?$orderby=Name desc&$top=1")
				wantStatus(t, r, 200)
				if got := strings.Join(names(t, r, "Name"), ","); got != "Worker-2" {
					t.Errorf("by Name desc, top 1: %s", got)
				}
				r = q(ann, "?$filter=Name eq 'WORKER-1' or ClientId eq 'hidden-worker'")
				wantStatus(t, r, 200)
				if got := strings.Join(names(t, r, "Name"), ","); got != "worker-1" {
					t.Errorf("worker-1 or another tenant's: %s", got)
				}
				wantStatus(t, q(ann, "?$filter=SecretHash eq 'x'"), 400, "SecretHash", "ClientId")
			})
			t.Run("one machine; another tenant's is not found", func(t *testing.T) {
				r := e.get(t, base+"/odata/Machines("+itoa(f.worker2.ID)+")", bearer(ann))
				wantStatus(t, r, 200, `"@odata.context":"`+e.url+base+`/odata/$metadata#Machines/$entity"`, `"UnattendedSlots":3`, `"ClientId":"worker-2"`)
				noSecrets(t, r, hashes...)
				wantStatus(t, e.get(t, base+"/odata/Machines("+itoa(f.hiddenWorker.ID)+")", bearer(ann)), 404, "machine")
			})
			t.Run("permission and scope", func(t *testing.T) {
				bob := e.userToken(t, "acme", "bob@acme.test", "OrchestratorApiUserAccess")
				wantStatus(t, q(bob, ""), 403, "lacks permission Machines.View")
				users := e.userToken(t, "acme", "ann@acme.test", "OR.Users")
				wantStatus(t, q(users, ""), 403, "lacks scope OR.Machines or OR.Machines.Read")
			})
		})
	}
}
