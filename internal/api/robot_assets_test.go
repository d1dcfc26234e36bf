package api_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/openorch/openorch/internal/store"
)

func init() {
	metadataSeeds = append(metadataSeeds, seedPerRobotAsset)
}

// seedPerRobotAsset gives the metadata test a PerRobot asset of Shared with a value for a
// robot, so that the answers carry RobotValues.
func seedPerRobotAsset(t testing.TB, e *env) {
	t.Helper()
	ctx := context.Background()
	acme, _ := e.st.OrganizationGetByName(ctx, "acme")
	tn, _ := e.st.TenantGetByName(ctx, acme.ID, "DefaultTenant")
	shared, err := e.st.FolderGetByPath(ctx, tn.ID, "Shared")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := robotMachine(t, e, "seed-per-robot", "Shared")
	r, _, err := e.st.RobotConnect(ctx, store.RobotConnectParams{TenantID: tn.ID, MachineID: m.ID, HostName: "seed-host", Slots: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.AssetCreate(ctx, store.AssetCreateParams{TenantID: tn.ID, FolderID: shared.ID, Name: "SeedPerRobot",
		ValueScope: store.AssetPerRobot, ValueType: store.AssetText, RobotValues: []store.AssetRobotValue{{RobotID: r.ID, StringValue: "mine"}}}); err != nil {
		t.Fatal(err)
	}
}

// TestAssetPerRobot plays PerRobot assets over HTTP: an administrator gives robots their
// values, each robot reads its own (passwords and secrets included), a robot without one
// reads the default or gets a 404 that says how to add one, and values go with their
// robot's machine and with their asset.
func TestAssetPerRobot(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			ctx := context.Background()
			tn := mustTenant(t, e)
			ann := with(bearer(e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess")), "X-UIPATH-FolderPath", "Shared")
			assets := base + "/odata/Assets"

			// Two robots of one machine, a third of another machine, all serving Shared; a
			// fourth of a machine of folder Secret only.
			m1, tok1 := robotMachine(t, e, "per-robot-one", "Shared")
			r1, r2 := connect(t, e, tok1, "host-a"), connect(t, e, tok1, "host-b")
			_, tok3 := robotMachine(t, e, "per-robot-three", "Shared")
			r3 := connect(t, e, tok3, "host-c")
			_, tokOut := robotMachine(t, e, "per-robot-out", "Secret")
			out := connect(t, e, tokOut, "host-x")
			read := func(tok string, robotKey, asset string) reply {
				t.Helper()
				return e.get(t, assets+"/UiPath.Server.Configuration.OData.GetRobotAssetByNameForRobotKey(robotKey='"+robotKey+"',assetName='"+asset+"')",
					with(bearer(tok), "X-UIPATH-FolderPath", "Shared"))
			}
			pw1, pw2, sv1, sv2, svDefault := assetCanary("pw1"), assetCanary("pw2"), assetCanary("sv1"), assetCanary("sv2"), assetCanary("svd")
			secrets := []string{pw1, pw2, sv1, sv2, svDefault}
			// noRobotSecrets checks a body shows no password or secret, in RobotValues too.
			noRobotSecrets := func(where string, r reply) {
				t.Helper()
				noAssetSecrets(t, where, r, secrets...)
				objs := values(r)
				if objs == nil {
					objs = []map[string]any{r.body}
				}
				for _, o := range objs {
					rvs, _ := o["RobotValues"].([]any)
					for _, rv := range rvs {
						for _, k := range []string{"CredentialPassword", "SecretValue"} {
							if v := rv.(map[string]any)[k]; v != nil {
								t.Errorf("%s: a robot value's %s is %v, want null", where, k, v)
							}
						}
					}
				}
			}

			// A Credential with a value for each of two robots and no default, bound
			// case-insensitively.
			r := e.send(t, "POST", assets, `{"name":"Mailbox","valueScope":"perrobot","valueType":"Credential","robotValues":[`+
				`{"robotId":`+itoa(r1.RobotID)+`,"credentialUsername":"one@acme.test","credentialPassword":"`+pw1+`"},`+
				`{"RobotId":`+itoa(r2.RobotID)+`,"CredentialUsername":"two@acme.test","CredentialPassword":"`+pw2+`"}]}`, ann)
			wantStatus(t, r, 201, `"ValueScope":"PerRobot"`, `"HasDefaultValue":false`, `"Value":""`,
				`"RobotId":`+itoa(r1.RobotID), `"RobotName":"`+r1.RobotName+`"`, `"CredentialUsername":"one@acme.test"`,
				`"RobotName":"`+r2.RobotName+`"`, `"CredentialUsername":"two@acme.test"`, `"ValueType":"Credential"`)
			noRobotSecrets("the created PerRobot credential", r)
			mailbox := assetIDOf(r)
			// A Secret with values for the same robots and a default.
			r = e.send(t, "POST", assets, `{"Name":"ApiToken","ValueScope":"PerRobot","ValueType":"Secret","SecretValue":"`+svDefault+`","RobotValues":[`+
				`{"RobotId":`+itoa(r1.RobotID)+`,"SecretValue":"`+sv1+`"},{"RobotId":`+itoa(r2.RobotID)+`,"ValueType":"Secret","SecretValue":"`+sv2+`"}]}`, ann)
			wantStatus(t, r, 201, `"HasDefaultValue":true`)
			noRobotSecrets("the created PerRobot secret", r)
			// A Text with a default and a value for the third robot.
			r = e.send(t, "POST", assets, `{"Name":"Region","ValueScope":"PerRobot","ValueType":"Text","StringValue":"eu","RobotValues":[`+
				`{"RobotId":`+itoa(r3.RobotID)+`,"StringValue":"us"}]}`, ann)
			wantStatus(t, r, 201, `"Value":"eu"`, `"StringValue":"us"`, `"Value":"us"`)
			region := assetIDOf(r)

			// Each robot reads its own value, passwords and secrets included.
			wantStatus(t, read(tok1, r1.RobotKey, "Mailbox"), 200, `"CredentialUsername":"one@acme.test"`, `"CredentialPassword":"`+pw1+`"`)
			wantStatus(t, read(tok1, r2.RobotKey, "mailbox"), 200, `"CredentialUsername":"two@acme.test"`, `"CredentialPassword":"`+pw2+`"`)
			wantStatus(t, read(tok1, r1.RobotKey, "ApiToken"), 200, `"SecretValue":"`+sv1+`"`)
			wantStatus(t, read(tok1, r2.RobotKey, "ApiToken"), 200, `"SecretValue":"`+sv2+`"`)
			wantStatus(t, read(tok3, r3.RobotKey, "Region"), 200, `"StringValue":"us"`)
			// The deprecated GetRobotAsset(robotId=…) answers the same.
			wantStatus(t, e.get(t, assets+"/UiPath.Server.Configuration.OData.GetRobotAsset(robotId='"+r2.RobotKey+"',assetName='Mailbox')",
				with(bearer(tok1), "X-UIPATH-FolderPath", "Shared")), 200, `"CredentialPassword":"`+pw2+`"`)
			wantStatus(t, e.send(t, "POST", assets+"/UiPathODataSvc.GetRobotAssetByNameForRobotKey", `{"robotKey":"`+r1.RobotKey+`","assetName":"ApiToken"}`,
				with(bearer(tok1), "X-UIPATH-FolderPath", "Shared")), 200, `"SecretValue":"`+sv1+`"`)
			// A robot without a value reads the default, or learns how to get a value.
			wantStatus(t, read(tok3, r3.RobotKey, "ApiToken"), 200, `"SecretValue":"`+svDefault+`"`)
			wantStatus(t, read(tok1, r1.RobotKey, "Region"), 200, `"StringValue":"eu"`)
			wantStatus(t, read(tok3, r3.RobotKey, "Mailbox"), 404, "asset Mailbox", "robot "+r3.RobotName, "RobotValues", "PUT odata/Assets("+mailbox+")")
			// A robot reads for itself only.
			if r := read(tok3, r1.RobotKey, "Mailbox"); r.status != 403 {
				t.Errorf("a robot reading another machine's robot's value: %d %s", r.status, r.raw)
			}

			// Values are not shown in lists, nor in one asset.
			r = e.get(t, assets+"?$filter=ValueScope+eq+'PerRobot'&$orderby=Name", ann)
			wantStatus(t, r, 200, `"RobotName":"`+r1.RobotName+`"`)
			if n := len(values(r)); n != 3 {
				t.Errorf("PerRobot assets listed: %d, want 3: %s", n, r.raw)
			}
			noRobotSecrets("the list of assets", r)
			noRobotSecrets("one asset", e.get(t, assets+"("+mailbox+")", ann))

			// A robot of a machine that does not serve the folder, or a robot twice, is refused.
			wantStatus(t, e.send(t, "POST", assets, `{"Name":"Elsewhere","ValueScope":"PerRobot","ValueType":"Text","RobotValues":[`+
				`{"RobotId":`+itoa(out.RobotID)+`,"StringValue":"x"}]}`, ann), 400,
				"RobotValues[0]: robot "+out.RobotName, "is not a robot of folder Shared", "per-robot-out", "AssignMachines")
			wantStatus(t, e.send(t, "PUT", assets+"("+region+")", `{"Name":"Region","RobotValues":[`+
				`{"RobotId":`+itoa(r3.RobotID)+`,"StringValue":"a"},{"RobotId":`+itoa(r3.RobotID)+`,"StringValue":"b"}]}`, ann), 400, "listed twice")
			wantStatus(t, e.send(t, "PUT", assets+"("+region+")", `{"Name":"Region","RobotValues":[{"RobotId":`+itoa(r1.RobotID)+`,"IntValue":3}]}`, ann),
				400, "RobotValues[0].IntValue is for Integer assets")
			wantStatus(t, e.send(t, "POST", assets, `{"Name":"NoPassword","ValueScope":"PerRobot","ValueType":"Credential","RobotValues":[`+
				`{"RobotId":`+itoa(r1.RobotID)+`,"CredentialUsername":"u"}]}`, ann), 400, "RobotValues[0].CredentialPassword is required")
			// Global assets have no robot values, and become Global only with a value.
			wantStatus(t, e.send(t, "PATCH", assets+"("+mailbox+")", `{"ValueScope":"Global"}`, ann), 400, "no value of its own")

			// A PUT that leaves out a robot's password keeps it, and drops the robots it
			// does not list.
			wantStatus(t, e.send(t, "PUT", assets+"("+mailbox+")", `{"Name":"Mailbox","RobotValues":[`+
				`{"RobotId":`+itoa(r1.RobotID)+`,"CredentialUsername":"uno@acme.test","CredentialPassword":null}]}`, ann), 200)
			wantStatus(t, read(tok1, r1.RobotKey, "Mailbox"), 200, `"CredentialUsername":"uno@acme.test"`, `"CredentialPassword":"`+pw1+`"`)
			wantStatus(t, read(tok1, r2.RobotKey, "Mailbox"), 404, "robot "+r2.RobotName)
			// A default added later is what robots without a value read.
			wantStatus(t, e.send(t, "PATCH", assets+"("+mailbox+")", `{"CredentialUsername":"all@acme.test","CredentialPassword":"`+pw2+`"}`, ann), 200)
			wantStatus(t, read(tok1, r2.RobotKey, "Mailbox"), 200, `"CredentialUsername":"all@acme.test"`, `"CredentialPassword":"`+pw2+`"`)
			wantStatus(t, e.get(t, assets+"("+mailbox+")", ann), 200, `"HasDefaultValue":true`, `"Value":"all@acme.test"`)
			wantStatus(t, e.send(t, "PATCH", assets+"("+mailbox+")", `{"HasDefaultValue":false}`, ann), 200)
			wantStatus(t, read(tok1, r2.RobotKey, "Mailbox"), 404)

			// The writes are audited without values.
			r = e.get(t, base+"/odata/AuditLogs?$filter=Component+eq+'Assets'&$orderby=Id", ann)
			wantStatus(t, r, 200, "created PerRobot Credential asset Mailbox in folder Shared with values for robots "+r1.RobotName+", "+r2.RobotName,
				"values set for robots "+r1.RobotName, "values for robots "+r2.RobotName+" removed", "default value added", "default value removed")
			noAssetSecrets(t, "the audit log", r, secrets...)

			// A robot's values go with its machine; an asset's with the asset.
			wantStatus(t, e.send(t, "DELETE", base+"/odata/Machines("+itoa(m1.ID)+")", "", ann), 204)
			r = e.get(t, assets+"?$filter=Name+eq+'ApiToken'", ann)
			if rv := values(r)[0]["RobotValues"].([]any); len(rv) != 0 {
				t.Errorf("robot values after their machine was deleted: %v", rv)
			}
			regionID := parseAssetID(t, region)
			wantStatus(t, e.send(t, "DELETE", assets+"("+region+")", "", ann), 204)
			if _, err := e.st.AssetRobotValueGet(ctx, tn.ID, regionID, r3.RobotID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the robot value of a deleted asset: %v", err)
			}
			if strings.Contains(r.raw, sv1) {
				t.Errorf("the list shows a secret: %s", r.raw)
			}
		})
	}
}
