package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/store/postgres"
	"github.com/openorch/openorch/internal/store/sqlite"
	"github.com/openorch/openorch/internal/store/storetest"
)

// seededAsset is the Text asset every environment has in acme/DefaultTenant/Shared, so
// that the Assets entity set has a row for the metadata test.
const seededAsset = "Greeting"

func init() {
	envSeeds = append(envSeeds, func(t testing.TB, e *env) {
		ctx := context.Background()
		acme, err := e.st.OrganizationGetByName(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		tn, err := e.st.TenantGetByName(ctx, acme.ID, "DefaultTenant")
		if err != nil {
			t.Fatal(err)
		}
		shared, err := e.st.FolderGetByPath(ctx, tn.ID, "Shared")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.AssetCreate(ctx, store.AssetCreateParams{TenantID: tn.ID, FolderID: shared.ID, Name: seededAsset,
			Description: "said first", ValueScope: store.AssetGlobal, ValueType: store.AssetText, StringValue: "Hello, world"}); err != nil {
			t.Fatal(err)
		}
	})
	matrixFixtures = append(matrixFixtures, func(t *testing.T, e *env, fx *matrixFixture) {
		ctx := context.Background()
		mk := func(name string) string {
			as, err := e.st.AssetCreate(ctx, store.AssetCreateParams{TenantID: fx.tenantID, FolderID: fx.shared, Name: name,
				ValueScope: store.AssetGlobal, ValueType: store.AssetText, StringValue: "matrix"})
			if err != nil {
				t.Fatal(err)
			}
			return itoa(as.ID)
		}
		fx.keys["Assets"], fx.deleteKeys["Assets"] = mk("matrix-keyed"), mk("matrix-doomed")
		fx.bodies["POST /odata/Assets"] = `{"Name":"matrix-new","ValueScope":"Global","ValueType":"Credential","CredentialUsername":"u","CredentialPassword":"p"}`
		fx.bodies["PUT /odata/Assets({key})"] = `{"Name":"matrix-keyed","ValueScope":"Global","ValueType":"Text","StringValue":"put"}`
		fx.bodies["PATCH /odata/Assets({key})"] = `{"Description":"patched"}`
	})
}

// assetCanary makes a distinctive value to look for: prefix and 16 random hex digits.
func assetCanary(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// openAsset reads an asset from the store and opens its sealed value with the environment's
// secret key, as robots will.
func openAsset(t *testing.T, e *env, id string) string {
	t.Helper()
	as, err := e.st.AssetGet(context.Background(), mustTenant(t, e).ID, parseAssetID(t, id))
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.secretKey.Open(as.SealedValue, store.AssetSealAAD(as.TenantID, as.Key, as.ValueType))
	if err != nil {
		t.Fatalf("asset %s: the sealed value does not open: %v", id, err)
	}
	return string(b)
}

func parseAssetID(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		t.Fatalf("id %q: %v", s, err)
	}
	return n
}

func assetIDOf(r reply) string { return itoa(int64(r.body["Id"].(float64))) }

// noAssetSecrets checks that a body carries none of the given values, and that its
// CredentialPassword and SecretValue properties are all null.
func noAssetSecrets(t *testing.T, where string, r reply, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(r.raw, s) {
			t.Errorf("%s shows a secret value %q: %s", where, s, r.raw)
		}
	}
	objs := values(r)
	if objs == nil && r.body != nil {
		objs = []map[string]any{r.body}
	}
	for _, o := range objs {
		for _, k := range []string{"CredentialPassword", "SecretValue"} {
			if v, present := o[k]; present && v != nil {
				t.Errorf("%s: %s is %v, want null", where, k, v)
			}
		}
	}
}

func TestAssetCRUD(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			ann := with(bearer(e.userToken(t, "acme", "ann@acme.test", "OR.Assets")), "X-UIPATH-FolderPath", "Shared")
			assets := base + "/odata/Assets"
			password, secretValue := assetCanary("pw"), assetCanary("sv")

			// One of each type, with PascalCase and camelCase bodies alike.
			r := e.send(t, "POST", assets, `{"Name":"Banner","ValueScope":"Global","ValueType":"Text","StringValue":"Welcome","Description":"shown on top"}`, ann)
			wantStatus(t, r, 201, `"Name":"Banner"`, `"ValueType":"Text"`, `"ValueScope":"Global"`, `"Value":"Welcome"`,
				`"StringValue":"Welcome"`, `"Description":"shown on top"`, `"@odata.context":"`+e.url+base+`/odata/$metadata#Assets/$entity"`,
				`"OrganizationUnitId":`+itoa(assetFolderID(t, e, "Shared")))
			text := assetIDOf(r)
			if !strings.HasSuffix(r.header.Get("Location"), "/odata/Assets("+text+")") {
				t.Errorf("Location = %q", r.header.Get("Location"))
			}
			r = e.send(t, "POST", assets, `{"name":"Enabled","valueScope":"global","valueType":"bool","boolValue":true}`, ann)
			wantStatus(t, r, 201, `"ValueType":"Bool"`, `"BoolValue":true`, `"Value":"True"`)
			boolID := assetIDOf(r)
			// ValueScope defaults to Global.
			r = e.send(t, "POST", assets, `{"Name":"Retries","ValueType":"Integer","IntValue":-3}`, ann)
			wantStatus(t, r, 201, `"ValueType":"Integer"`, `"IntValue":-3`, `"Value":"-3"`, `"ValueScope":"Global"`)
			intID := assetIDOf(r)
			r = e.send(t, "POST", assets, `{"name":"Mailbox","valueScope":"Global","valueType":"Credential","credentialUsername":"robot@acme.test","credentialPassword":"`+password+`"}`, ann)
			wantStatus(t, r, 201, `"ValueType":"Credential"`, `"CredentialUsername":"robot@acme.test"`, `"Value":"robot@acme.test"`,
				`"CredentialPassword":null`, `"SecretValue":null`)
			noAssetSecrets(t, "the created credential", r, password)
			cred := assetIDOf(r)
			r = e.send(t, "POST", assets, `{"Name":"ApiToken","ValueScope":"Global","ValueType":"Secret","SecretValue":"`+secretValue+`"}`, ann)
			wantStatus(t, r, 201, `"ValueType":"Secret"`, `"Value":""`, `"SecretValue":null`, `"CredentialPassword":null`)
			noAssetSecrets(t, "the created secret", r, secretValue)
			sec := assetIDOf(r)
			// The store holds them sealed, and they open to what was sent.
			if got := openAsset(t, e, cred); got != password {
				t.Errorf("the credential's password opens to %q, want %q", got, password)
			}
			if got := openAsset(t, e, sec); got != secretValue {
				t.Errorf("the secret opens to %q, want %q", got, secretValue)
			}

			// Reads: one, and the list.
			wantStatus(t, e.get(t, assets+"("+boolID+")", ann), 200, `"Name":"Enabled"`, `"BoolValue":true`, `"@odata.context"`)
			r = e.get(t, assets+"("+cred+")", ann)
			wantStatus(t, r, 200, `"Name":"Mailbox"`, `"CredentialPassword":null`)
			noAssetSecrets(t, "GET of the credential", r, password)
			r = e.get(t, assets+"?$orderby=Name&$count=true", ann)
			wantStatus(t, r, 200, `"@odata.count":6`)
			if got := strings.Join(names(t, r, "Name"), ","); got != "ApiToken,Banner,Enabled,Greeting,Mailbox,Retries" {
				t.Errorf("list by Name: %s", got)
			}
			noAssetSecrets(t, "the list", r, password, secretValue)

			// Updates: PATCH some fields, PUT a DTO read with GET; passwords and secret values
			// not sent stay as they are.
			wantStatus(t, e.send(t, "PATCH", assets+"("+text+")", `{"stringValue":"Welcome back","description":""}`, ann), 200)
			wantStatus(t, e.get(t, assets+"("+text+")", ann), 200, `"StringValue":"Welcome back"`, `"Value":"Welcome back"`, `"Description":""`,
				`"LastModificationTime":"`)
			wantStatus(t, e.send(t, "PATCH", assets+"("+boolID+")", `{"BoolValue":false}`, ann), 200)
			wantStatus(t, e.get(t, assets+"("+boolID+")", ann), 200, `"BoolValue":false`, `"Value":"False"`)
			wantStatus(t, e.send(t, "PUT", assets+"("+intID+")", `{"Name":"Retries","ValueScope":"Global","ValueType":"Integer","IntValue":2147483647}`, ann), 200)
			wantStatus(t, e.get(t, assets+"("+intID+")", ann), 200, `"IntValue":2147483647`)
			for _, id := range []string{text, boolID, intID, cred, sec} {
				got := e.get(t, assets+"("+id+")", ann)
				got.body["Name"] = got.body["Name"].(string) + "-2"
				delete(got.body, "@odata.context")
				wantStatus(t, e.send(t, "PUT", assets+"("+id+")", toJSON(got.body), ann), 200)
				wantStatus(t, e.get(t, assets+"("+id+")", ann), 200, `"Name":"`+got.body["Name"].(string)+`"`)
			}
			if got := openAsset(t, e, cred); got != password {
				t.Errorf("after a PUT without a password, the password opens to %q, want it kept", got)
			}
			if got := openAsset(t, e, sec); got != secretValue {
				t.Errorf("after a PUT without a secret value, it opens to %q, want it kept", got)
			}
			password2, secretValue2 := assetCanary("pw2"), assetCanary("sv2")
			wantStatus(t, e.send(t, "PATCH", assets+"("+cred+")", `{"CredentialUsername":"bot@acme.test","CredentialPassword":"`+password2+`"}`, ann), 200)
			wantStatus(t, e.get(t, assets+"("+cred+")", ann), 200, `"CredentialUsername":"bot@acme.test"`, `"Value":"bot@acme.test"`)
			if got := openAsset(t, e, cred); got != password2 {
				t.Errorf("after a new password, it opens to %q, want %q", got, password2)
			}
			wantStatus(t, e.send(t, "PATCH", assets+"("+sec+")", `{"secretValue":"`+secretValue2+`"}`, ann), 200)
			if got := openAsset(t, e, sec); got != secretValue2 {
				t.Errorf("after a new secret value, it opens to %q, want %q", got, secretValue2)
			}
			wantStatus(t, e.send(t, "PATCH", assets+"("+sec+")", `{"SecretValue":null,"Description":"rotated"}`, ann), 200)
			if got := openAsset(t, e, sec); got != secretValue2 {
				t.Errorf("after a PATCH with SecretValue null, it opens to %q, want it kept", got)
			}

			// Refusals of updates.
			wantStatus(t, e.send(t, "PUT", assets+"("+text+")", `{"StringValue":"x"}`, ann), 400, "Name is required with PUT")
			wantStatus(t, e.send(t, "PATCH", assets+"("+text+")", `{"ValueType":"Integer","IntValue":3}`, ann), 400,
				"ValueType cannot change", "is a Text asset", "delete it and create it again")
			wantStatus(t, e.send(t, "PATCH", assets+"("+text+")", `{"IntValue":3}`, ann), 400, "IntValue is for Integer assets", "StringValue")
			wantStatus(t, e.send(t, "PATCH", assets+"("+cred+")", `{"SecretValue":"x"}`, ann), 400, "SecretValue is for Secret assets",
				"CredentialUsername and CredentialPassword")
			wantStatus(t, e.send(t, "PATCH", assets+"("+cred+")", `{"CredentialUsername":""}`, ann), 400, "CredentialUsername cannot be empty")
			wantStatus(t, e.send(t, "PATCH", assets+"("+text+")", `{"Name":"MAILBOX-2"}`, ann), 409, `"errorCode":1001`,
				`an asset named \"Mailbox-2\" already exists in folder Shared`)
			wantStatus(t, e.send(t, "PATCH", assets+"("+intID+")", `{"IntValue":"two"}`, ann), 400, "IntValue: expected a number, got string")
			wantStatus(t, e.send(t, "PATCH", assets+"(999999)", `{"Description":"x"}`, ann), 404, "asset 999999 does not exist in folder Shared")
			wantStatus(t, e.send(t, "PATCH", assets+"(abc)", `{"Description":"x"}`, ann), 400, "must be an asset Id")
			// A refused update changes nothing.
			wantStatus(t, e.get(t, assets+"("+text+")", ann), 200, `"Name":"Banner-2"`, `"StringValue":"Welcome back"`)

			// Delete.
			wantStatus(t, e.send(t, "DELETE", assets+"("+sec+")", "", ann), 204)
			wantStatus(t, e.get(t, assets+"("+sec+")", ann), 404, `"errorCode":1002`)
			wantStatus(t, e.send(t, "DELETE", assets+"("+sec+")", "", ann), 404)
			// Its name is free again.
			wantStatus(t, e.send(t, "POST", assets, `{"Name":"apitoken-2","ValueType":"Secret","SecretValue":"s"}`, ann), 201)
		})
	}
}

func assetFolderID(t *testing.T, e *env, path string) int64 {
	t.Helper()
	f, err := e.st.FolderGetByPath(context.Background(), mustTenant(t, e).ID, path)
	if err != nil {
		t.Fatal(err)
	}
	return f.ID
}

func TestAssetRefusals(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			annTok := e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess")
			ann := with(bearer(annTok), "X-UIPATH-FolderPath", "Shared")
			bob := with(bearer(e.userToken(t, "acme", "bob@acme.test", "OrchestratorApiUserAccess")), "X-UIPATH-FolderPath", "Shared")
			assets := base + "/odata/Assets"
			post := func(body string) reply { return e.send(t, "POST", assets, body, ann) }
			supported := "the supported value types are Text, Bool, Integer, Credential and Secret"

			// Values of the wrong JSON type name their field.
			wantStatus(t, post(`{"Name":"N","ValueType":"Integer","IntValue":"two"}`), 400, "IntValue: expected a number, got string")
			wantStatus(t, post(`{"Name":"N","ValueType":"Bool","BoolValue":"yes"}`), 400, "BoolValue: expected true or false, got string")
			wantStatus(t, post(`{"Name":5,"ValueType":"Text","StringValue":"x"}`), 400, "Name: expected a string, got number")
			wantStatus(t, post(`{"Name":"N","ValueType":"Text","StringValue":7}`), 400, "StringValue: expected a string, got number")
			wantStatus(t, post(`{"Name":"N","ValueType":"Integer","IntValue":3000000000}`), 400, "IntValue 3000000000 is out of range", "-2147483648 to 2147483647")
			// Types and scopes.
			wantStatus(t, post(`{"Name":"N","StringValue":"x"}`), 400, "ValueType is required", "Text, Bool, Integer, Credential and Secret")
			wantStatus(t, post(`{"Name":"N","ValueType":"Foo"}`), 400, `ValueType \"Foo\" is not a value type`, supported)
			for _, typ := range []string{"KeyValueList", "WindowsCredential", "DBConnectionString", "HttpConnectionString"} {
				wantStatus(t, post(`{"Name":"N","ValueType":"`+typ+`"}`), 400, "ValueType "+typ+" is not supported by OpenOrch", supported)
			}
			wantStatus(t, post(`{"Name":"N","ValueScope":"Everywhere","ValueType":"Text","StringValue":"x"}`), 400, `ValueScope \"Everywhere\"`, "Global")
			wantStatus(t, post(`{"Name":"N","ValueType":"Text","StringValue":"x","RobotValues":[{"RobotId":1,"StringValue":"y"}]}`), 400,
				"RobotValues are for assets of ValueScope PerRobot", "asset N is Global")
			wantStatus(t, post(`{"Name":"N","ValueScope":"PerRobot","ValueType":"Text","RobotValues":[{"StringValue":"y"}]}`), 400,
				"RobotValues[0].RobotId is required")
			wantStatus(t, post(`{"Name":"N","ValueScope":"PerRobot","ValueType":"Text","RobotValues":[{"RobotId":999999,"StringValue":"y"}]}`), 400,
				"RobotValues[0]: robot 999999 does not exist")
			// Required values, per type.
			wantStatus(t, post(`{"ValueType":"Text","StringValue":"x"}`), 400, "Name is required")
			wantStatus(t, post(`{"Name":"  ","ValueType":"Text","StringValue":"x"}`), 400, "Name is required")
			wantStatus(t, post(`{"Name":"N","ValueType":"Text"}`), 400, "StringValue is required for a Text asset")
			wantStatus(t, post(`{"Name":"N","ValueType":"Bool"}`), 400, "BoolValue is required for a Bool asset")
			wantStatus(t, post(`{"Name":"N","ValueType":"Integer"}`), 400, "IntValue is required for an Integer asset")
			wantStatus(t, post(`{"Name":"N","ValueType":"Credential","CredentialPassword":"p"}`), 400, "CredentialUsername is required")
			wantStatus(t, post(`{"Name":"N","ValueType":"Credential","CredentialUsername":"u"}`), 400, "CredentialPassword is required")
			wantStatus(t, post(`{"Name":"N","ValueType":"Secret","SecretValue":""}`), 400, "SecretValue is required")
			wantStatus(t, post(`{"Name":"N","ValueType":"Text","Value":"x"}`), 400, "StringValue is required for a Text asset")
			wantStatus(t, post(`{"Name":"N","ValueType":"Secret","StringValue":"s"}`), 400, "StringValue is for Text assets", "goes in SecretValue")
			// Limits name the limit.
			wantStatus(t, post(`{"Name":"`+strings.Repeat("n", 257)+`","ValueType":"Text","StringValue":"x"}`), 400, "Name is 257 characters long; the limit is 256")
			wantStatus(t, post(`{"Name":"`+strings.Repeat("n", 256)+`","ValueType":"Text","StringValue":"x"}`), 201)
			wantStatus(t, post(`{"Name":"D","ValueType":"Text","StringValue":"x","Description":"`+strings.Repeat("d", 251)+`"}`), 400,
				"Description is 251 characters long; the limit is 250")
			// Names are unique in a folder whatever their case, and only there.
			r := post(`{"Name":"greeting","ValueType":"Bool","BoolValue":true}`)
			wantStatus(t, r, 409, `"errorCode":1001`, `an asset named \"Greeting\" already exists in folder Shared`)
			wantStatus(t, e.send(t, "POST", assets, `{"Name":"Greeting","ValueType":"Bool","BoolValue":true}`,
				with(bearer(annTok), "X-UIPATH-FolderPath", "Finance/AP")), 201)
			// A folder is required, and the permissions of the folder apply.
			wantStatus(t, e.send(t, "POST", assets, `{"Name":"N","ValueType":"Text","StringValue":"x"}`, bearer(annTok)), 400, `"errorCode":1101`)
			wantStatus(t, e.get(t, assets, bearer(annTok)), 400, `"errorCode":1101`)
			wantStatus(t, e.get(t, assets, bob), 200, `"Name":"Greeting"`)
			wantStatus(t, e.send(t, "POST", assets, `{"Name":"N","ValueType":"Text","StringValue":"x"}`, bob), 403, "Assets.Create")
			wantStatus(t, e.send(t, "DELETE", assets+"(1)", "", bob), 403, "Assets.Delete")
			wantStatus(t, e.get(t, assets, with(bearer(e.userToken(t, "acme", "ann@acme.test", "OR.Jobs")), "X-UIPATH-FolderPath", "Shared")),
				403, "OR.Assets")
			wantStatus(t, e.get(t, assets+"(abc)", ann), 400, "must be an asset Id")
		})
	}
}

func TestAssetFolderIsolation(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			ctx := context.Background()
			tok := bearer(e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess"))
			shared, ap := with(tok, "X-UIPATH-FolderPath", "Shared"), with(tok, "X-UIPATH-FolderPath", "Finance/AP")
			assets := base + "/odata/Assets"
			r := e.send(t, "POST", assets, `{"Name":"SharedOnly","ValueType":"Text","StringValue":"shared value"}`, shared)
			wantStatus(t, r, 201)
			id := assetIDOf(r)

			// The asset of Shared is not visible with Finance/AP's header.
			r = e.get(t, assets+"?$count=true", ap)
			wantStatus(t, r, 200, `"@odata.count":0`)
			wantStatus(t, e.get(t, base+"/odata/Assets/UiPath.Server.Configuration.OData.GetFiltered?$count=true", ap), 200, `"@odata.count":0`)
			wantStatus(t, e.get(t, assets+"("+id+")", ap), 404, "does not exist in folder Finance/AP")
			wantStatus(t, e.send(t, "PATCH", assets+"("+id+")", `{"StringValue":"moved"}`, ap), 404)
			wantStatus(t, e.send(t, "PUT", assets+"("+id+")", `{"Name":"SharedOnly","StringValue":"moved"}`, ap), 404)
			wantStatus(t, e.send(t, "DELETE", assets+"("+id+")", "", ap), 404)
			wantStatus(t, e.get(t, assets+"("+id+")", shared), 200, `"StringValue":"shared value"`)

			// Another tenant's asset is not found, whatever the folder header.
			acme, _ := e.st.OrganizationGetByName(ctx, "acme")
			other, _ := e.st.TenantGetByName(ctx, acme.ID, "Other")
			hidden, _ := e.st.FolderGetByPath(ctx, other.ID, "Hidden")
			theirs, err := e.st.AssetCreate(ctx, store.AssetCreateParams{TenantID: other.ID, FolderID: hidden.ID, Name: "Theirs",
				ValueScope: store.AssetGlobal, ValueType: store.AssetText, StringValue: "other tenant"})
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range []map[string]string{shared, ap} {
				wantStatus(t, e.get(t, assets+"("+itoa(theirs.ID)+")", h), 404)
				wantStatus(t, e.send(t, "PATCH", assets+"("+itoa(theirs.ID)+")", `{"StringValue":"hijacked"}`, h), 404)
				wantStatus(t, e.send(t, "DELETE", assets+"("+itoa(theirs.ID)+")", "", h), 404)
			}
			// The other tenant's folder cannot be named from this tenant either.
			wantStatus(t, e.get(t, assets, with(tok, "X-UIPATH-OrganizationUnitId", itoa(hidden.ID))), 403, `"errorCode":1100`)
			got, err := e.st.AssetGet(ctx, other.ID, theirs.ID)
			if err != nil || got.StringValue != "other tenant" {
				t.Errorf("the other tenant's asset: %+v, %v", got, err)
			}
			if r := e.get(t, assets+"?$filter=Name+eq+'Theirs'&$count=true", shared); !strings.Contains(r.raw, `"@odata.count":0`) {
				t.Errorf("a list shows another tenant's asset: %s", r.raw)
			}
		})
	}
}

func TestAssetQueries(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			ann := with(bearer(e.userToken(t, "acme", "ann@acme.test", "OR.Assets.Read OR.Assets.Write")), "X-UIPATH-FolderPath", "Shared")
			for _, body := range []string{
				`{"Name":"Enabled","ValueType":"Bool","BoolValue":true}`,
				`{"Name":"Retries","ValueType":"Integer","IntValue":3}`,
				`{"Name":"Mailbox","ValueType":"Credential","CredentialUsername":"robot","CredentialPassword":"p"}`,
				`{"Name":"ApiToken","ValueType":"Secret","SecretValue":"s"}`,
			} {
				wantStatus(t, e.send(t, "POST", base+"/odata/Assets", body, ann), 201)
			}
			for _, list := range []string{"/odata/Assets", "/odata/Assets/UiPath.Server.Configuration.OData.GetFiltered", "/odata/Assets/UiPathODataSvc.GetFiltered"} {
				q := func(query string) reply {
					return e.get(t, base+list+"?"+strings.ReplaceAll(query, " ", "+"), ann)
				}
				for query, want := range map[string]string{
					"$filter=Name eq 'MAILBOX'":                         "Mailbox",
					"$filter=ValueType eq 'Credential'":                 "Mailbox",
					"$filter=ValueType eq '8'":                          "ApiToken",
					"$filter=Value eq 'true'":                           "Enabled",
					"$filter=IntValue ge 3 or BoolValue eq true":        "Enabled,Retries",
					"$filter=contains(Name,'a')&$orderby=Name desc":     "Mailbox,Enabled,ApiToken",
					"$orderby=ValueType,Name":                           "Greeting,Enabled,Retries,Mailbox,ApiToken",
					"$orderby=Name&$top=2&$skip=1":                      "Enabled,Greeting",
					"$filter=CredentialUsername eq 'robot'":             "Mailbox",
					"$filter=startswith(Description,'said')":            "Greeting",
					"$filter=ValueScope eq 'Global'&$orderby=Id&$top=1": "Greeting",
				} {
					r := q(query)
					wantStatus(t, r, 200, `"@odata.context":"`+e.url+base+`/odata/$metadata#Assets"`)
					if got := strings.Join(names(t, r, "Name"), ","); got != want {
						t.Errorf("%s?%s: %s, want %s", list, query, got, want)
					}
				}
				wantStatus(t, q("$count=true&$top=1"), 200, `"@odata.count":5`)
				r := q("$select=Name,Value&$filter=Name eq 'Mailbox'")
				wantStatus(t, r, 200, `{"Name":"Mailbox","Value":"robot"}`)
				wantStatus(t, q("$filter=CredentialPassword eq 'p'"), 400, "CredentialPassword", "CredentialUsername")
				wantStatus(t, q("$filter=SecretValue eq 's'"), 400, "SecretValue")
				wantStatus(t, q("$filter=ValueType eq 'Nope'"), 400, "ValueType has no value 'Nope'", "Credential (5)")
				wantStatus(t, q("$top=1001"), 400, "1000")
			}
		})
	}
}

func TestAssetSecrecy(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			tok := bearer(e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess"))
			ann := with(tok, "X-UIPATH-FolderPath", "Shared")
			assets := base + "/odata/Assets"
			pw, pw2, sv, sv2 := assetCanary("pw"), assetCanary("pw2"), assetCanary("sv"), assetCanary("sv2")
			r := e.send(t, "POST", assets, `{"Name":"Mailbox","ValueType":"Credential","CredentialUsername":"robot","CredentialPassword":"`+pw+`"}`, ann)
			wantStatus(t, r, 201)
			cred := assetIDOf(r)
			r = e.send(t, "POST", assets, `{"Name":"ApiToken","ValueType":"Secret","SecretValue":"`+sv+`"}`, ann)
			wantStatus(t, r, 201)
			sec := assetIDOf(r)
			wantStatus(t, e.send(t, "PATCH", assets+"("+cred+")", `{"CredentialPassword":"`+pw2+`"}`, ann), 200)
			wantStatus(t, e.send(t, "PUT", assets+"("+sec+")", `{"Name":"ApiToken","SecretValue":"`+sv2+`"}`, ann), 200)
			all := []string{pw, pw2, sv, sv2}

			for _, path := range []string{assets, assets + "(" + cred + ")", assets + "(" + sec + ")",
				assets + "/UiPath.Server.Configuration.OData.GetFiltered",
				assets + "?$select=Name,CredentialPassword,SecretValue", assets + "(" + cred + ")?$select=CredentialPassword"} {
				r := e.get(t, path, ann)
				wantStatus(t, r, 200)
				noAssetSecrets(t, path, r, all...)
			}
			// The older layout too.
			r = e.get(t, "/acme/DefaultTenant/odata/Assets", with(ann, "X-UIPATH-TenantName", "DefaultTenant"))
			wantStatus(t, r, 200, `"Name":"Mailbox"`)
			noAssetSecrets(t, "the older layout", r, all...)

			// The audit log has every change, and none of the values.
			wantStatus(t, e.send(t, "DELETE", assets+"("+sec+")", "", ann), 204)
			r = e.get(t, base+"/odata/AuditLogs?$filter=Component+eq+'Assets'&$orderby=Id&$count=true", tok)
			wantStatus(t, r, 200, `"@odata.count":5`, "created Credential asset Mailbox in folder Shared", "password changed",
				"secret value changed", "deleted Secret asset ApiToken from folder Shared", `"UserName":"user ann@acme.test"`)
			for _, s := range all {
				if strings.Contains(r.raw, s) {
					t.Errorf("the audit log shows %q: %s", s, r.raw)
				}
			}
		})
	}
}

// TestAssetPlaintextNeverInSQLiteFile creates a credential and a secret with distinctive
// values in a SQLite store of its own, closes it, and looks for those values' bytes in
// every file of the database: they must not be there. A Text asset's distinctive value,
// which is stored as it is, must be: that shows the search works.
func TestAssetPlaintextNeverInSQLiteFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "orch.db")
	var db interface{ Close() error }
	e := newEnv(t, func(tb testing.TB) store.Store {
		ctx := context.Background()
		s, err := sqlite.Open(ctx, dbPath, sqlite.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := sqlite.Migrate(ctx, s); err != nil {
			tb.Fatal(err)
		}
		db = s
		return s
	})
	ann := with(bearer(e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess")), "X-UIPATH-FolderPath", "Shared")
	assets := base + "/odata/Assets"
	text, pw, pw2, sv := assetCanary("text-canary"), assetCanary("password-canary"), assetCanary("password2-canary"), assetCanary("secret-canary")
	wantStatus(t, e.send(t, "POST", assets, `{"Name":"Control","ValueType":"Text","StringValue":"`+text+`"}`, ann), 201)
	r := e.send(t, "POST", assets, `{"Name":"Mailbox","ValueType":"Credential","CredentialUsername":"robot","CredentialPassword":"`+pw+`"}`, ann)
	wantStatus(t, r, 201)
	cred := assetIDOf(r)
	r = e.send(t, "POST", assets, `{"Name":"ApiToken","ValueType":"Secret","SecretValue":"`+sv+`"}`, ann)
	wantStatus(t, r, 201)
	wantStatus(t, e.send(t, "PATCH", assets+"("+cred+")", `{"CredentialPassword":"`+pw2+`"}`, ann), 200)
	// The values did reach the database, sealed.
	if got := openAsset(t, e, assetIDOf(r)); got != sv {
		t.Fatalf("the secret opens to %q, want %q", got, sv)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	files, _ := filepath.Glob(dbPath + "*") // orch.db and, if present, orch.db-wal and orch.db-shm
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if len(files) == 0 || !bytes.Contains(all, []byte(text)) {
		t.Fatalf("the Text asset's value %q is not in %v: the search cannot be trusted", text, files)
	}
	for _, s := range []string{pw, pw2, sv} {
		if bytes.Contains(all, []byte(s)) {
			t.Errorf("%q is in the database files %v in plaintext", s, files)
		}
	}
}

// TestAssetPlaintextNeverInPostgres does the same on PostgreSQL: it reads every row of
// every table of the test schema as text (bytea shows as hex there) and looks for the
// values and their hex.
func TestAssetPlaintextNeverInPostgres(t *testing.T) {
	t.Parallel()
	url := storetest.PostgresURL(t)
	e := newEnv(t, func(tb testing.TB) store.Store {
		ctx := context.Background()
		s, err := postgres.Open(ctx, url, postgres.Options{MaxConns: 4})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { s.Close() })
		if _, err := postgres.Migrate(ctx, s); err != nil {
			tb.Fatal(err)
		}
		return s
	})
	ann := with(bearer(e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess")), "X-UIPATH-FolderPath", "Shared")
	assets := base + "/odata/Assets"
	text, pw, sv := assetCanary("text-canary"), assetCanary("password-canary"), assetCanary("secret-canary")
	wantStatus(t, e.send(t, "POST", assets, `{"Name":"Control","ValueType":"Text","StringValue":"`+text+`"}`, ann), 201)
	r := e.send(t, "POST", assets, `{"Name":"Mailbox","ValueType":"Credential","CredentialUsername":"robot","CredentialPassword":"`+pw+`"}`, ann)
	wantStatus(t, r, 201)
	cred := assetIDOf(r)
	wantStatus(t, e.send(t, "POST", assets, `{"Name":"ApiToken","ValueType":"Secret","SecretValue":"`+sv+`"}`, ann), 201)
	if got := openAsset(t, e, cred); got != pw {
		t.Fatalf("the password opens to %q, want %q", got, pw)
	}

	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// The sealed column itself.
	var sealedCol []byte
	if err := raw.QueryRow(`SELECT sealed_value FROM assets WHERE name = 'Mailbox'`).Scan(&sealedCol); err != nil {
		t.Fatal(err)
	}
	if len(sealedCol) == 0 || bytes.Contains(sealedCol, []byte(pw)) {
		t.Errorf("sealed_value of the credential is %x: empty or the plaintext", sealedCol)
	}
	// Every row of every table, as text.
	rows, err := raw.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	var dump strings.Builder
	for _, table := range tables {
		rs, err := raw.Query(`SELECT CAST(t AS text) FROM "` + table + `" t`)
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var line string
			rs.Scan(&line)
			dump.WriteString(line + "\n")
		}
		rs.Close()
	}
	if !strings.Contains(dump.String(), text) {
		t.Fatalf("the Text asset's value %q is not in the dump of tables %v: the search cannot be trusted", text, tables)
	}
	for _, s := range []string{pw, sv} {
		if strings.Contains(dump.String(), s) || strings.Contains(dump.String(), hex.EncodeToString([]byte(s))) {
			t.Errorf("%q is in the database in plaintext", s)
		}
	}
}

// TestAssetGoldenShape pins the JSON of AssetDto, one asset of each type (golden_test.go;
// run with -update after an intended change).
func TestAssetGoldenShape(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(tb testing.TB) store.Store { return storetest.NewSQLite(tb) })
	ann := with(bearer(e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess")), "X-UIPATH-FolderPath", "Shared")
	for _, body := range []string{
		`{"Name":"Enabled","ValueType":"Bool","BoolValue":true}`,
		`{"Name":"Retries","ValueType":"Integer","IntValue":3,"Description":"how often"}`,
		`{"Name":"Mailbox","ValueType":"Credential","CredentialUsername":"robot@acme.test","CredentialPassword":"golden-password"}`,
		`{"Name":"ApiToken","ValueType":"Secret","SecretValue":"golden-secret"}`,
	} {
		wantStatus(t, e.send(t, "POST", base+"/odata/Assets", body, ann), 201)
	}
	r := e.get(t, base+"/odata/Assets?$orderby=Id&$count=true", ann)
	wantStatus(t, r, 200)
	checkGolden(t, "assets", r.raw)
}
