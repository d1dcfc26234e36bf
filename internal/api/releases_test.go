package api_test

import (
	"strings"
	"testing"
)

// TestReleases: creating, reading, changing and deleting processes (releases) in a folder,
// with the input values checked against what the package declares.
func TestReleases(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			tok := e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess")
			ann := bearer(tok)
			shared := with(ann, "X-UIPATH-FolderPath", "Shared")
			ap := with(ann, "X-UIPATH-FolderPath", "Finance/AP")
			bob := with(bearer(e.userToken(t, "acme", "bob@acme.test", "OrchestratorApiUserAccess")), "X-UIPATH-FolderPath", "Shared")
			releases := base + "/odata/Releases"
			args1 := `{"main":"run.sh","arguments":{"input":[{"name":"amount","type":"number","required":true},{"name":"currency","type":"string","default":"EUR"}]}}`
			args2 := `{"main":"run.sh","arguments":{"input":[{"name":"amount","type":"number","required":true}]}}`
			wantStatus(t, e.upload(t, tok, "file", "a1", nupkg(t, "Billing", "1.0.0", args1)), 200)
			wantStatus(t, e.upload(t, tok, "file", "a2", nupkg(t, "Billing", "2.0.0", args2)), 200)
			wantStatus(t, e.upload(t, tok, "file", "a3", nupkg(t, "Billing", "1.5.0", args1)), 200)

			// PascalCase, every field; the version defaults to the latest.
			r := e.send(t, "POST", releases, `{"Name":"Invoices run","ProcessKey":"billing","Description":"nightly",
				"InputArguments":"{\"amount\":12.5}","JobPriority":"high","MaxRunTimeSeconds":3600}`, shared)
			wantStatus(t, r, 201, `"Name":"Invoices run"`, `"ProcessKey":"Billing"`, `"ProcessVersion":"2.0.0"`, `"IsLatestVersion":true`,
				`"InputArguments":"{\"amount\":12.5}"`, `"JobPriority":"High"`, `"MaxRunTimeSeconds":3600`, `"EntryPointPath":"run.sh"`,
				`"Arguments":{"Input":"[{\"name\":\"amount\",\"type\":\"number\",\"required\":true,\"hasDefault\":false}]","Output":null}`,
				`"ProcessType":"Process"`, `"OrganizationUnitFullyQualifiedName":"Shared"`, `"Description":"nightly"`)
			id := itoa(int64(r.body["Id"].(float64)))
			if !strings.HasSuffix(r.header.Get("Location"), "/odata/Releases("+id+")") {
				t.Errorf("Location = %q", r.header.Get("Location"))
			}
			// Defaults: the name is the package id; input values as an object.
			r = e.send(t, "POST", releases, `{"processKey":"Billing","processVersion":"1.0","inputArguments":{"currency":"USD"}}`, shared)
			wantStatus(t, r, 201, `"Name":"Billing"`, `"ProcessVersion":"1.0.0"`, `"IsLatestVersion":false`, `"InputArguments":"{\"currency\":\"USD\"}"`,
				`"JobPriority":"Normal"`, `"MaxRunTimeSeconds":null`)
			old := itoa(int64(r.body["Id"].(float64)))

			// Refusals, each saying what to do.
			for body, want := range map[string]string{
				`{"Name":"x"}`:          "ProcessKey is required",
				`{"ProcessKey":"Nope"}`: "package Nope does not exist in tenant DefaultTenant: upload it first",
				`{"ProcessKey":"Billing","ProcessVersion":"3"}`:                                                         `ProcessVersion: version \"3\" is not a package version`,
				`{"ProcessKey":"Billing","ProcessVersion":"3.0"}`:                                                       "package Billing has no version 3.0.0",
				`{"ProcessKey":"Billing","Name":"y","JobPriority":"Urgent"}`:                                            `JobPriority \"Urgent\" is not Low, Normal or High`,
				`{"ProcessKey":"Billing","Name":"y","MaxRunTimeSeconds":-5}`:                                            "MaxRunTimeSeconds must be a whole number of seconds from 1 to 2592000",
				`{"ProcessKey":"Billing","Name":"y","MaxRunTimeSeconds":"60"}`:                                          "MaxRunTimeSeconds must be a whole number",
				`{"ProcessKey":"Billing","Name":"y","InputArguments":"{\"total\":1}"}`:                                  `InputArguments: \"total\" is not an input argument of the package; its input arguments are amount (package Billing version 2.0.0)`,
				`{"ProcessKey":"Billing","Name":"y","InputArguments":{"amount":"many"}}`:                                `input argument \"amount\" must be a number, got \"many\" (a string)`,
				`{"ProcessKey":"Billing","Name":"y","InputArguments":"[1]"}`:                                            "InputArguments must be a JSON object of argument values",
				`{"ProcessKey":"Billing","Name":"y","EntryPointPath":"Main.xaml"}`:                                      `EntryPointPath \"Main.xaml\": package Billing version 2.0.0 has one entry point, run.sh`,
				`{"ProcessKey":"Billing","Name":"` + strings.Repeat("n", 129) + `"}`:                                    "Name is 129 characters long; the limit is 128",
				`{"ProcessKey":"Billing","Name":"y","InputArguments":{"amount":"` + strings.Repeat("9", 10_000) + `"}}`: "InputArguments is 10013 characters long as JSON; the limit is 10000",
			} {
				r := e.send(t, "POST", releases, body, shared)
				if r.status != 400 || !strings.Contains(r.raw, want) {
					t.Errorf("POST %.80s: %d %s\nwant 400 with %q", body, r.status, r.raw, want)
				}
			}
			wantStatus(t, e.send(t, "POST", releases, `{"Name":"INVOICES RUN","ProcessKey":"Billing"}`, shared), 409,
				`a process named \"INVOICES RUN\" already exists in folder Shared`)
			wantStatus(t, e.send(t, "POST", releases, `{"Name":"Invoices run","ProcessKey":"Billing"}`, ap), 201) // another folder
			wantStatus(t, e.send(t, "POST", releases, `{"ProcessKey":"Billing","Name":"z"}`, bob), 403, "Processes.Create")
			wantStatus(t, e.send(t, "POST", releases, `{"ProcessKey":"Billing","Name":"z"}`, ann), 400, `"errorCode":1101`)

			// Reads: in the folder only; OData options through the store.
			wantStatus(t, e.get(t, releases+"("+id+")", bob), 200, `"Name":"Invoices run"`, `"@odata.context"`)
			wantStatus(t, e.get(t, releases+"("+id+")", ap), 404, "process "+id+" does not exist in folder Finance/AP")
			wantStatus(t, e.get(t, releases+"(x)", ann), 400) // no folder header is checked before the key
			wantStatus(t, e.get(t, releases+"(x)", shared), 400, "must be a process Id")
			r = e.get(t, releases+"?$filter=ProcessKey+eq+'BILLING'&$orderby=Name+desc&$count=true", bob)
			wantStatus(t, r, 200, `"@odata.count":2`)
			if got := strings.Join(names(t, r, "Name"), ","); got != "Invoices run,Billing" {
				t.Errorf("ProcessKey filter in Shared: %s", got)
			}
			r = e.get(t, releases+"?$filter=IsLatestVersion+eq+false+and+JobPriority+eq+'Normal'&$top=1", shared)
			wantStatus(t, r, 200)
			if got := strings.Join(names(t, r, "Name"), ","); got != "Billing" {
				t.Errorf("IsLatestVersion and JobPriority: %s", got)
			}
			r = e.get(t, releases+"?$filter=contains(Name,'run')&$select=Name,ProcessVersion", shared)
			wantStatus(t, r, 200, `{"Name":"Invoices run","ProcessVersion":"2.0.0"}`)
			wantStatus(t, e.get(t, releases+"?$filter=Bogus+eq+1", shared), 400, "Bogus")

			// Changes. UiPath documents input values in Arguments.Input, as a string.
			patch := func(id, body string, h map[string]string) reply {
				return e.send(t, "PATCH", releases+"("+id+")", body, h)
			}
			wantStatus(t, patch(id, `{"Description":"hourly","JobPriority":"Low","MaxRunTimeSeconds":null,"Arguments":{"Input":"{\"amount\":7}"}}`, shared), 200)
			wantStatus(t, e.get(t, releases+"("+id+")", shared), 200, `"Description":"hourly"`, `"JobPriority":"Low"`, `"MaxRunTimeSeconds":null`,
				`"InputArguments":"{\"amount\":7}"`)
			// A DTO read with GET goes back with PUT unchanged (its Arguments are declarations).
			got := e.get(t, releases+"("+id+")", shared)
			delete(got.body, "@odata.context")
			wantStatus(t, e.send(t, "PUT", releases+"("+id+")", toJSON(got.body), shared), 200)
			after := e.get(t, releases+"("+id+")", shared)
			for _, field := range []string{"InputArguments", "ProcessVersion", "JobPriority", "Description", "Name"} {
				if after.body[field] != got.body[field] {
					t.Errorf("PUT of the DTO changed %s: %v → %v", field, got.body[field], after.body[field])
				}
			}
			wantStatus(t, e.send(t, "PUT", releases+"("+id+")", `{"Name":"x"}`, shared), 400, "send Name, ProcessKey and ProcessVersion")
			wantStatus(t, patch(id, `{"ProcessKey":"Hello"}`, shared), 400, "a process runs one package: to run Hello, create another process")
			wantStatus(t, patch(id, `{"Name":"billing"}`, shared), 409, `a process named \"billing\" already exists in folder Shared`)
			wantStatus(t, patch(id, `{"InputArguments":{"amount":true}}`, shared), 400, `must be a number, got true (a boolean)`)
			wantStatus(t, patch(id, `{"ProcessVersion":"7.0.0"}`, shared), 400, "package Billing has no version 7.0.0")
			wantStatus(t, patch(id, `{"Description":"x"}`, ap), 404, "does not exist in folder Finance/AP")
			wantStatus(t, patch("999999", `{"Description":"x"}`, shared), 404, "process 999999 does not exist in folder Shared")
			wantStatus(t, patch(id, `{"Description":"x"}`, bob), 403, "Processes.Edit")

			// Moving to a version keeps the values it still declares: currency goes with 2.0.0.
			wantStatus(t, patch(old, `{"InputArguments":"{\"currency\":\"USD\",\"amount\":3}"}`, shared), 200)
			wantStatus(t, patch(old, `{"ProcessVersion":"2.0.0"}`, shared), 200)
			wantStatus(t, e.get(t, releases+"("+old+")", shared), 200, `"ProcessVersion":"2.0.0"`, `"InputArguments":"{\"amount\":3}"`)
			r = e.send(t, "POST", releases+"("+old+")/UiPath.Server.Configuration.OData.RollbackToPreviousReleaseVersion", "", shared)
			wantStatus(t, r, 200, `"ProcessVersion":"1.0.0"`, `"InputArguments":"{\"amount\":3}"`)
			// Clearing the values.
			wantStatus(t, patch(old, `{"InputArguments":null}`, shared), 200)
			wantStatus(t, e.get(t, releases+"("+old+")", shared), 200, `"InputArguments":null`)
			// A version deleted since cannot be rolled back to.
			wantStatus(t, patch(old, `{"ProcessVersion":"1.5.0"}`, shared), 200)
			wantStatus(t, e.send(t, "DELETE", base+"/odata/Processes('Billing:1.0.0')", "", ann), 204)
			wantStatus(t, e.send(t, "POST", releases+"("+old+")/UiPathODataSvc.RollbackToPreviousReleaseVersion", "{}", shared), 409,
				`version 1.0.0 of package Billing, which process \"Billing\" ran before 1.5.0, has been deleted`)

			// Deletes.
			wantStatus(t, e.send(t, "DELETE", releases+"("+id+")", "", bob), 403, "Processes.Delete")
			wantStatus(t, e.send(t, "DELETE", releases+"("+id+")", "", ap), 404)
			wantStatus(t, e.send(t, "DELETE", releases+"("+id+")", "", shared), 204)
			wantStatus(t, e.get(t, releases+"("+id+")", shared), 404)
			wantStatus(t, e.send(t, "DELETE", releases+"("+id+")", "", shared), 404)

			audit := bearer(e.userToken(t, "acme", "ann@acme.test", "OR.Audit.Read"))
			r = e.get(t, base+"/odata/AuditLogs?$filter=Component+eq+'Processes'&$orderby=Id", audit)
			wantStatus(t, r, 200,
				`"OperationText":"created process Invoices run in folder Shared, running package Billing version 2.0.0"`,
				`"OperationText":"updated process Invoices run in folder Shared: description changed, input values set to {\"amount\":7}, job priority High → Low, maximum run time 1h0m0s → none"`,
				`"OperationText":"updated process Billing in folder Shared: package version 1.0.0 → 2.0.0, input values currency dropped (version 2.0.0 does not take them)"`,
				`"OperationText":"rolled back process Billing in folder Shared from version 2.0.0 to 1.0.0 of package Billing"`,
				`"OperationText":"deleted process Invoices run from folder Shared (it ran version 2.0.0 of package Billing)"`)
			want := "Create,Create,Create,Update,Update,Update,Update,RollbackToPreviousReleaseVersion,Update,Update,Delete"
			if got := strings.Join(names(t, r, "Action"), ","); got != want {
				t.Errorf("audit actions\n got %s\nwant %s", got, want)
			}
		})
	}
}
