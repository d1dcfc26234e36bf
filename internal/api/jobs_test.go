package api_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/store/storetest"
)

func init() {
	matrixFixtures = append(matrixFixtures, jobMatrixFixtures)
}

// seedJob gives every environment a job of the seeded process Hello (seedHello calls it),
// stopped: the metadata test needs a row of each entity set, and an ended job blocks no
// delete.
func seedJob(t testing.TB, e *env, tenantID int64, hello store.Release) {
	t.Helper()
	ctx := context.Background()
	jobs, err := e.st.JobCreate(ctx, store.JobCreateParams{TenantID: tenantID, Release: hello, Count: 1, InputArguments: `{"who":"seed"}`})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.JobTransition(ctx, store.JobTransitionParams{TenantID: tenantID, JobID: jobs[0].ID, Event: store.JobEventSoftStop}); err != nil {
		t.Fatal(err)
	}
}

// jobMatrixFixtures: Pending jobs for the reads and each stop, an ended one to restart.
func jobMatrixFixtures(t *testing.T, e *env, fx *matrixFixture) {
	ctx := context.Background()
	r, err := e.st.ReleaseGetByName(ctx, fx.tenantID, fx.shared, "Hello")
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := e.st.JobCreate(ctx, store.JobCreateParams{TenantID: fx.tenantID, Release: r, Count: 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.JobTransition(ctx, store.JobTransitionParams{TenantID: fx.tenantID, JobID: jobs[3].ID, Event: store.JobEventKill}); err != nil {
		t.Fatal(err)
	}
	const action = "/UiPath.Server.Configuration.OData."
	fx.keys["Jobs"] = itoa(jobs[0].ID)
	fx.routeKeys["POST /odata/Jobs({key})"+action+"StopJob"] = itoa(jobs[1].ID)
	fx.bodies["POST /odata/Jobs({key})"+action+"StopJob"] = `{"strategy":"SoftStop"}`
	fx.bodies["POST /odata/Jobs"+action+"StopJobs"] = `{"jobIds":[` + itoa(jobs[2].ID) + `],"strategy":"Kill"}`
	fx.bodies["POST /odata/Jobs"+action+"StartJobs"] = `{"startInfo":{"ReleaseName":"Hello"}}`
	fx.bodies["POST /odata/Jobs"+action+"RestartJob"] = `{"jobId":` + itoa(jobs[3].ID) + `}`
	fx.funcParams["GET /odata/Jobs"+action+"GetByKey"] = "(identifier=" + jobs[0].Key + ")"
}

const (
	startJobsPath = base + "/odata/Jobs/UiPath.Server.Configuration.OData.StartJobs"
	stopJobsPath  = base + "/odata/Jobs/UiPath.Server.Configuration.OData.StopJobs"
	restartPath   = base + "/odata/Jobs/UiPath.Server.Configuration.OData.RestartJob"
)

func stopJobPath(id string) string {
	return base + "/odata/Jobs(" + id + ")/UiPath.Server.Configuration.OData.StopJob"
}

// jobsOf returns the jobs of a list or StartJobs answer.
func jobsOf(t *testing.T, r reply) []map[string]any {
	t.Helper()
	var out []map[string]any
	vals, _ := r.body["value"].([]any)
	for _, v := range vals {
		out = append(out, v.(map[string]any))
	}
	return out
}

func jobID(m map[string]any) string { return itoa(int64(m["Id"].(float64))) }

func jobIDs(jobs []map[string]any) string {
	var out []string
	for _, j := range jobs {
		out = append(out, jobID(j))
	}
	return strings.Join(out, ",")
}

// TestJobs starts jobs in every request shape of reference/clients.md, lists them with
// OData options within and across folders, and stops and restarts them over HTTP.
func TestJobs(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			ctx := context.Background()
			acme, _ := e.st.OrganizationGetByName(ctx, "acme")
			tn, _ := e.st.TenantGetByName(ctx, acme.ID, "DefaultTenant")
			sharedF, _ := e.st.FolderGetByPath(ctx, tn.ID, "Shared")
			apF, _ := e.st.FolderGetByPath(ctx, tn.ID, "Finance/AP")
			secretF, _ := e.st.FolderGetByPath(ctx, tn.ID, "Secret")
			hello, err := e.st.ReleaseGetByName(ctx, tn.ID, sharedF.ID, "Hello")
			if err != nil {
				t.Fatal(err)
			}
			addPackage(t, e.st, tn.ID, nupkg(t, "Calc", "1.0.0",
				`{"main":"run.sh","arguments":{"input":[{"name":"a","type":"number","required":true},{"name":"op","type":"string","default":"add"}]}}`))
			mkRelease := func(folder int64, name string, priority string) store.Release {
				r, err := e.st.ReleaseCreate(ctx, store.ReleaseCreateParams{TenantID: tn.ID, FolderID: folder, Name: name,
					PackageName: "Calc", PackageVersion: "1.0.0", JobPriority: priority})
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			calc := mkRelease(sharedF.ID, "Calc", store.PriorityHigh)
			payroll := mkRelease(apF.ID, "Payroll", "")
			vault := mkRelease(secretF.ID, "Vault", "")

			ann := bearer(e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess"))
			bob := bearer(e.userToken(t, "acme", "bob@acme.test", "OrchestratorApiUserAccess"))
			eve := bearer(e.userToken(t, "acme", "eve@acme.test", "OrchestratorApiUserAccess"))
			inShared := with(ann, "X-UIPATH-OrganizationUnitId", itoa(sharedF.ID))
			bobShared := with(bob, "X-UIPATH-FolderPath", "Shared")
			start := func(body string, h map[string]string) reply {
				t.Helper()
				return e.send(t, "POST", startJobsPath, body, h)
			}

			// The official CLI: PascalCase, InputArguments as a JSON string, the Key.
			r := start(`{"startInfo":{"InputArguments":"{\"a\":1}","JobsCount":1,"ReleaseKey":"`+calc.Key+`","Strategy":"ModernJobsCount"}}`, inShared)
			wantStatus(t, r, 201, `"@odata.context":"`+e.url+base+`/odata/$metadata#Jobs"`, `"State":"Pending"`, `"ReleaseName":"Calc"`,
				`"InputArguments":"{\"a\":1,\"op\":\"add\"}"`, `"JobPriority":"High"`, `"Source":"Manual"`, `"ProcessKey":"Calc"`,
				`"ProcessVersion":"1.0.0"`, `"OrganizationUnitFullyQualifiedName":"Shared"`, `"OutputArguments":null`,
				`"Info":"Waiting for a robot: no machine is assigned to folder Shared; assign one (Folders/AssignMachines) and start its robot (orch robot)"`)
			cliJob := jobsOf(t, r)
			if len(cliJob) != 1 {
				t.Fatalf("the CLI's start made %d jobs", len(cliJob))
			}
			// The TypeScript SDK: camelCase, the Key only; the process's input values apply.
			r = start(`{"startInfo":{"releaseKey":"`+hello.Key+`"}}`, with(bob, "x-uipath-folderkey", sharedF.Key))
			wantStatus(t, r, 201, `"InputArguments":"{\"who\":\"you\"}"`, `"JobPriority":"Normal"`)
			tsJob := jobsOf(t, r)[0]
			// Its examples send a name as releaseKey: that finds the process too.
			wantStatus(t, start(`{"startInfo":{"releaseKey":"hello"}}`, bobShared), 201, `"ReleaseName":"Hello"`)
			// The Python SDK: ReleaseName, InputArguments "{}", Source; no Strategy.
			r = start(`{"startInfo":{"ReleaseName":"Hello","InputArguments":"{}","Source":"AgentService"}}`,
				with(bob, "X-UIPATH-FolderPath-Encoded", utf16b64("Shared")))
			wantStatus(t, r, 201, `"Source":"AgentService"`, `"SourceType":"AgentService"`, `"InputArguments":"{\"who\":\"you\"}"`)
			pyJob := jobsOf(t, r)[0]
			// JobsCount 3: three jobs of one batch; input as an object; priority and reference.
			r = start(`{"startInfo":{"ReleaseName":"HELLO","JobsCount":3,"InputArguments":{"who":"obj"},"JobPriority":"low","Reference":"batch-1"}}`, inShared)
			wantStatus(t, r, 201, `"InputArguments":"{\"who\":\"obj\"}"`, `"JobPriority":"Low"`, `"Reference":"batch-1"`)
			three := jobsOf(t, r)
			if len(three) != 3 || three[0]["BatchExecutionKey"] != three[2]["BatchExecutionKey"] || three[0]["BatchExecutionKey"] == tsJob["BatchExecutionKey"] {
				t.Fatalf("JobsCount 3: %s", r.raw)
			}
			// Jobs of the other folders, for the cross-folder reads.
			wantStatus(t, start(`{"startInfo":{"ReleaseName":"Payroll","InputArguments":"{\"a\":2}"}}`, with(ann, "X-UIPATH-FolderPath", "Finance/AP")), 201)
			r = start(`{"startInfo":{"ReleaseKey":"`+vault.Key+`","InputArguments":"{\"a\":3}"}}`, with(ann, "X-UIPATH-FolderPath", "Secret"))
			wantStatus(t, r, 201)
			vaultJob := jobsOf(t, r)[0]

			// Refusals, each naming the field and the way out.
			for _, c := range []struct {
				body   string
				status int
				want   string
			}{
				{`{"startInfo":{"ReleaseName":"Hello","JobsCount":"3"}}`, 400, "startInfo.JobsCount: expected a number"},
				{`{"startInfo":{"ReleaseKey":"` + calc.Key + `","InputArguments":"{\"a\":1,\"b\":2}"}}`, 400,
					`startInfo.InputArguments: \"b\" is not an input argument of the package; its input arguments are a, op (process Calc runs package Calc version 1.0.0)`},
				{`{"startInfo":{"ReleaseName":"Calc","InputArguments":{"a":"one"}}}`, 400, `input argument \"a\" must be a number, got \"one\" (a string)`},
				{`{"startInfo":{"ReleaseName":"Calc"}}`, 400, "the required input arguments a have no value: give them in the job's InputArguments or on the process"},
				{`{"startInfo":{"ReleaseName":"Calc","InputArguments":"[1]"}}`, 400, "startInfo.InputArguments must be a JSON object of argument values"},
				{`{"startInfo":{"ReleaseName":"Nope"}}`, 404, `folder Shared has no process named \"Nope\" (its processes: Calc, Hello)`},
				{`{"startInfo":{"ReleaseKey":"0f8fad5b-d9cb-469f-a165-70867728950e"}}`, 404, "no process with Key 0f8fad5b-d9cb-469f-a165-70867728950e in folder Shared"},
				{`{"startInfo":{"ReleaseKey":"` + payroll.Key + `"}}`, 404, "in folder Shared (it is in folder Finance/AP: send X-UIPATH-FolderPath: Finance/AP)"},
				{`{"startInfo":{"ReleaseKey":"nope"}}`, 404, `startInfo.ReleaseKey \"nope\" is neither a process Key (a GUID) nor the name of a process in folder Shared`},
				{`{"startInfo":{"ReleaseKey":"` + hello.Key + `","ReleaseName":"Calc"}}`, 400, `startInfo.ReleaseKey names process \"Hello\" but startInfo.ReleaseName says \"Calc\"`},
				{`{"startInfo":{"ReleaseName":"Hello","Strategy":"Specific","RobotIds":[1]}}`, 400, "startInfo.RobotIds: robot 1 does not exist in tenant DefaultTenant"},
				{`{"startInfo":{"ReleaseName":"Hello","RobotIds":[7]}}`, 400, "startInfo.RobotIds: robot 7 does not exist in tenant DefaultTenant"},
				{`{"startInfo":{"ReleaseName":"Hello","Strategy":"All"}}`, 400, "startInfo.Strategy All is a strategy of classic folders (StrategyNotAvailableInModernFolder)"},
				{`{"startInfo":{"ReleaseName":"Hello","Strategy":2,"NoOfRobots":2}}`, 400, "startInfo.Strategy RobotCount is a strategy of classic folders"},
				{`{"startInfo":{"ReleaseName":"Hello","Strategy":"Sometimes"}}`, 400, `startInfo.Strategy \"Sometimes\" is not a start strategy; use ModernJobsCount`},
				{`{"startInfo":{"ReleaseName":"Hello","JobsCount":0}}`, 400, "startInfo.JobsCount must be from 1 to 1000, got 0"},
				{`{"startInfo":{"ReleaseName":"Hello","JobPriority":"Urgent"}}`, 400, `startInfo.JobPriority \"Urgent\" is not Low, Normal or High`},
				{`{"startInfo":{"ReleaseName":"Hello","Reference":"` + strings.Repeat("r", 129) + `"}}`, 400, "startInfo.Reference is 129 characters long; the limit is 128"},
				{`{"startInfo":{"ReleaseName":"Hello","InputFile":"0f8fad5b-d9cb-469f-a165-70867728950e"}}`, 400, "input files are not supported"},
				{`{"startInfo":{}}`, 400, "startInfo needs the process to start: ReleaseKey (its Key) or ReleaseName"},
				{`{"ReleaseName":"Hello"}`, 400, `StartJobs takes {\"startInfo\":`},
			} {
				r := start(c.body, inShared)
				if r.status != c.status || !strings.Contains(r.raw, c.want) {
					t.Errorf("StartJobs %.90s: %d %s\nwant %d with %q", c.body, r.status, r.raw, c.status, c.want)
				}
			}
			r = start(`{"startInfo":{"ReleaseName":"Hello","Strategy":"All"}}`, inShared)
			wantStatus(t, r, 400, `"reason":"StrategyNotAvailableInModernFolder"`)
			// bob may not see Secret: the Key of its process is not found, and nothing says where it is.
			r = start(`{"startInfo":{"ReleaseKey":"`+vault.Key+`"}}`, bobShared)
			wantStatus(t, r, 404, "no process with Key "+vault.Key+" in folder Shared;")
			if strings.Contains(r.raw, "Secret") {
				t.Errorf("the refusal names a folder bob may not use: %s", r.raw)
			}
			wantStatus(t, start(`{"startInfo":{"ReleaseName":"Hello"}}`, ann), 400, `"errorCode":1101`)
			wantStatus(t, start(`{"startInfo":{"ReleaseName":"Hello"}}`, with(eve, "X-UIPATH-FolderPath", "Shared")), 403, `"errorCode":1100`)

			// Lists: the cap, filters on names and numbers, the folders of the caller.
			list := func(query string, h map[string]string) reply {
				t.Helper()
				return e.get(t, base+"/odata/Jobs?"+strings.ReplaceAll(query, " ", "+"), h)
			}
			r = list("$filter=State eq 'Pending'&$count=true&$orderby=Id", ann)
			wantStatus(t, r, 200, `"@odata.count":9`, `"InputArguments":null`, `"OutputArguments":null`)
			pending := jobIDs(jobsOf(t, r))
			if got := jobIDs(jobsOf(t, list("$filter=State eq 0&$orderby=Id", ann))); got != pending {
				t.Errorf("State eq 0: %s, want %s", got, pending)
			}
			if got := jobIDs(jobsOf(t, list("%24filter=State+eq+%270%27&%24orderby=Id", ann))); got != pending {
				t.Errorf("State eq '0': %s, want %s", got, pending)
			}
			r = list("$filter=Release/Name eq 'Hello' and State eq 'Pending'&$orderby=CreationTime desc,Id desc&$count=true", ann)
			wantStatus(t, r, 200, `"@odata.count":6`)
			if got := jobsOf(t, r); jobID(got[0]) != jobID(three[2]) || got[0]["ReleaseName"] != "Hello" {
				t.Errorf("newest Hello job first: %s", jobIDs(got))
			}
			r = list("$filter=ReleaseName eq 'calc' or Release/Name eq 'Payroll'&$count=true", ann)
			wantStatus(t, r, 200, `"@odata.count":2`)
			r = list("$filter=JobPriority eq 'Low'&$select=Id,JobPriority,Reference", ann)
			wantStatus(t, r, 200, `{"Id":`+jobID(three[0])+`,"JobPriority":"Low","Reference":"batch-1"}`)
			wantStatus(t, list("$filter=Robot/Id eq 1", ann), 400, "Robot/Id", "Release/Name")
			// Cross-folder without a header: only the caller's folders.
			r = list("$count=true", bob)
			wantStatus(t, r, 200, `"@odata.count":9`) // the seeded job and 7 more in Shared, 1 in Finance/AP
			if strings.Contains(r.raw, `"Secret"`) || strings.Contains(r.raw, `"Id":`+jobID(vaultJob)+`,`) {
				t.Errorf("bob's cross-folder list shows a job of Secret: %s", r.raw)
			}
			r = list("$count=true", with(bob, "X-UIPATH-FolderPath", "Finance/AP"))
			wantStatus(t, r, 200, `"@odata.count":1`, `"OrganizationUnitFullyQualifiedName":"Finance/AP"`)
			wantStatus(t, list("", with(bob, "X-UIPATH-FolderPath", "Secret")), 403, `"errorCode":1100`)
			wantStatus(t, list("", eve), 403, "lacks permission Jobs.View in every folder of tenant DefaultTenant")
			// The cap: 100 rows without $top, and $top above 100 refused.
			wantStatus(t, start(`{"startInfo":{"ReleaseName":"Hello","JobsCount":95}}`, inShared), 201)
			r = list("$count=true", ann)
			wantStatus(t, r, 200, `"@odata.count":105`)
			if n := len(jobsOf(t, r)); n != 100 {
				t.Errorf("without $top the list has %d rows, want 100", n)
			}
			wantStatus(t, list("$top=101", ann), 400, "the most this list returns is 100")
			wantStatus(t, list("$top=100&$skip=100", ann), 200)

			// Info says what a job waits for: a machine assigned to the folder (here to its
			// parent) but no robot of it connected.
			finance, _ := e.st.FolderGetByPath(ctx, tn.ID, "Finance")
			m, err := e.st.MachineCreate(ctx, store.MachineCreateParams{TenantID: tn.ID, Name: "worker-1", ClientID: "jobs-worker-1",
				SecretHash: strings.Repeat("0", 64), Slots: 1})
			if err != nil {
				t.Fatal(err)
			}
			wantStatus(t, e.send(t, "POST", base+"/odata/Folders/UiPath.Server.Configuration.OData.AssignMachines",
				`{"assignments":{"MachineIds":[`+itoa(m.ID)+`],"FolderIds":[`+itoa(finance.ID)+`]}}`, ann), 204)
			r = start(`{"startInfo":{"ReleaseName":"Payroll","InputArguments":"{\"a\":4}"}}`, with(bob, "X-UIPATH-FolderPath", "Finance/AP"))
			wantStatus(t, r, 201, `"Info":"Waiting for a robot: no robot of a machine in folder Finance/AP is connected (its machines: worker-1)"`)
			wantStatus(t, e.send(t, "POST", stopJobsPath, `{"jobIds":[`+jobID(jobsOf(t, r)[0])+`],"strategy":"Kill"}`, bob), 200)

			// One job: its arguments, $expand=Release, GetByKey; outside one's folders, not found.
			r = e.get(t, base+"/odata/Jobs("+jobID(cliJob[0])+")?%24expand=Release", ann)
			wantStatus(t, r, 200, `"@odata.context":"`+e.url+base+`/odata/$metadata#Jobs/$entity"`, `"InputArguments":"{\"a\":1,\"op\":\"add\"}"`,
				`"Release":{"Id":`+itoa(calc.ID)+`,"Key":"`+calc.Key+`","Name":"Calc"`)
			r = e.get(t, base+"/odata/Jobs?$expand=Release($select=Name)&$select=Id&$filter=Id+eq+"+jobID(pyJob), ann)
			wantStatus(t, r, 200, `"value":[{"Id":`+jobID(pyJob)+`,"Release":{"Name":"Hello"}}]`)
			// No robot took it: Robot is null (TestRobotProtocol expands a taken job's).
			wantStatus(t, e.get(t, base+"/odata/Jobs("+jobID(cliJob[0])+")?%24expand=Robot", ann), 200, `"Robot":null`)
			wantStatus(t, e.get(t, base+"/odata/Jobs("+jobID(cliJob[0])+")?%24expand=Machine", ann), 400,
				"$expand: Machine is not a navigation property of Jobs; its navigation properties are Release, Robot")
			r = e.get(t, base+"/odata/Jobs/UiPath.Server.Configuration.OData.GetByKey(identifier="+tsJob["Key"].(string)+")", bob)
			wantStatus(t, r, 200, `"Id":`+jobID(tsJob)+`,`, `"InputArguments":"{\"who\":\"you\"}"`)
			wantStatus(t, e.get(t, base+"/odata/Jobs/UiPathODataSvc.GetByKey(identifier='"+vaultJob["Key"].(string)+"')", bob), 404,
				"a job with Key "+vaultJob["Key"].(string)+" does not exist in a folder you may use")
			wantStatus(t, e.get(t, base+"/odata/Jobs/UiPath.Server.Configuration.OData.GetByKey(identifier=12)", bob), 400, "a job's Key is a GUID")
			wantStatus(t, e.get(t, base+"/odata/Jobs("+jobID(vaultJob)+")", bob), 404, "job "+jobID(vaultJob)+" does not exist in a folder you may use")
			wantStatus(t, e.get(t, base+"/odata/Jobs("+jobID(cliJob[0])+")", with(bob, "X-UIPATH-FolderPath", "Finance/AP")), 404, "in folder Finance/AP")
			wantStatus(t, e.get(t, base+"/odata/Jobs(x)", ann), 400, "the key must be an Id")

			// Stops. A Pending job ends Stopped at once; an ended one is 409 with its state.
			stop := func(id, body string, h map[string]string) reply {
				t.Helper()
				return e.send(t, "POST", stopJobPath(id), body, h)
			}
			wantStatus(t, stop(jobID(tsJob), `{"strategy":"SoftStop"}`, bob), 200)
			r = e.get(t, base+"/odata/Jobs("+jobID(tsJob)+")", bob)
			wantStatus(t, r, 200, `"State":"Stopped"`, `"StopStrategy":"SoftStop"`, `"Info":"Stopped by user bob@acme.test before a robot ran it"`)
			if r.body["EndTime"] == nil {
				t.Errorf("a stopped job without EndTime: %s", r.raw)
			}
			wantStatus(t, stop(jobID(tsJob), `{"strategy":"Kill"}`, bob), 409,
				"job "+jobID(tsJob)+" has already ended (Stopped), so it cannot be killed; only a job that has not ended can be stopped", `"State":"Stopped"`)
			wantStatus(t, stop(jobID(pyJob), `{}`, bob), 400, `{\"strategy\":\"SoftStop\"}`)
			wantStatus(t, stop(jobID(pyJob), `{"strategy":"Gently"}`, bob), 400, `strategy \"Gently\" is not SoftStop or Kill`)
			wantStatus(t, stop(jobID(vaultJob), `{"strategy":"Kill"}`, bob), 404)
			wantStatus(t, stop(jobID(pyJob), `{"strategy":"Kill"}`, eve), 403)
			// A running job (a robot's doing, made here through the store) goes Stopping, then Terminating.
			running := int64(cliJob[0]["Id"].(float64))
			if _, err := e.st.JobTransition(ctx, store.JobTransitionParams{TenantID: tn.ID, JobID: running, Event: store.JobEventStart}); err != nil {
				t.Fatal(err)
			}
			wantStatus(t, stop(itoa(running), `{"strategy":1}`, ann), 200)
			wantStatus(t, e.get(t, base+"/odata/Jobs("+itoa(running)+")", ann), 200, `"State":"Stopping"`, `"StopStrategy":"SoftStop"`, `"EndTime":null`,
				"asked to stop the job (SoftStop): waiting for its robot to end the process")
			wantStatus(t, stop(itoa(running), `{"strategy":"kill"}`, ann), 200)
			wantStatus(t, e.get(t, base+"/odata/Jobs("+itoa(running)+")", ann), 200, `"State":"Terminating"`, `"StopStrategy":"Kill"`)

			// StopJobs: all or none.
			r = e.send(t, "POST", stopJobsPath, `{"jobIds":[`+jobID(three[0])+`,`+jobID(tsJob)+`],"strategy":"SoftStop"}`, ann)
			wantStatus(t, r, 409, "jobs "+jobID(tsJob)+" (Stopped) have already ended, so nothing was stopped; leave them out of jobIds")
			wantStatus(t, e.get(t, base+"/odata/Jobs("+jobID(three[0])+")", ann), 200, `"State":"Pending"`)
			wantStatus(t, e.send(t, "POST", stopJobsPath, `{"jobIds":[`+jobID(three[0])+`,999999],"strategy":"Kill"}`, ann), 404,
				"jobs 999999 do not exist in a folder you may use; nothing was stopped")
			wantStatus(t, e.send(t, "POST", stopJobsPath, `{"jobIds":[],"strategy":"Kill"}`, ann), 400, "StopJobs needs the jobs")
			wantStatus(t, e.send(t, "POST", stopJobsPath, `{"jobIds":[`+jobID(three[0])+`,`+jobID(three[1])+`],"strategy":"Kill"}`, bobShared), 200)
			r = list("$filter=BatchExecutionKey eq "+three[0]["BatchExecutionKey"].(string)+"&$orderby=Id", ann)
			wantStatus(t, r, 200)
			var states []string
			for _, j := range jobsOf(t, r) {
				states = append(states, fmt.Sprint(j["State"], "/", j["StopStrategy"]))
			}
			if got := strings.Join(states, ","); got != "Stopped/Kill,Stopped/Kill,Pending/<nil>" {
				t.Errorf("after StopJobs: %s, want two of three Stopped", got)
			}

			// RestartJob: a new Pending job like one that has ended.
			r = e.send(t, "POST", restartPath, `{"jobId":`+jobID(three[0])+`}`, bob)
			wantStatus(t, r, 200, `"@odata.context":"`+e.url+base+`/odata/$metadata#Jobs/$entity"`, `"State":"Pending"`,
				`"InputArguments":"{\"who\":\"obj\"}"`, `"JobPriority":"Low"`, `"Reference":"batch-1"`, `"ReleaseName":"Hello"`)
			if jobID(r.body) == jobID(three[0]) || r.body["BatchExecutionKey"] == three[0]["BatchExecutionKey"] {
				t.Errorf("the restart is not a new job: %s", r.raw)
			}
			wantStatus(t, e.send(t, "POST", restartPath, `{"jobId":`+jobID(pyJob)+`}`, bob), 409,
				"job "+jobID(pyJob)+" is Pending: only a job that has ended (Successful, Faulted or Stopped) can be restarted")
			wantStatus(t, e.send(t, "POST", restartPath, `{}`, bob), 400, `RestartJob needs the job: {\"jobId\":…}`)
			wantStatus(t, e.send(t, "POST", restartPath, `{"jobId":`+jobID(vaultJob)+`}`, bob), 404)

			// A process with jobs that have not ended cannot be deleted; once they ended it
			// can, and its jobs stay.
			r = e.send(t, "DELETE", base+"/odata/Releases("+itoa(hello.ID)+")", "", inShared)
			wantStatus(t, r, 409, `process \"Hello\" has jobs that have not ended: `, "stop them (StopJobs) or wait for them to end, then delete the process")
			r = list("$filter=Release/Name eq 'Hello' and State eq 'Pending'&$top=100", ann)
			var unended []string
			for _, j := range jobsOf(t, r) {
				unended = append(unended, jobID(j))
			}
			wantStatus(t, e.send(t, "POST", stopJobsPath, `{"jobIds":[`+strings.Join(unended, ",")+`],"strategy":"SoftStop"}`, ann), 200)
			wantStatus(t, e.send(t, "DELETE", base+"/odata/Releases("+itoa(hello.ID)+")", "", inShared), 204)
			r = e.get(t, base+"/odata/Jobs("+jobID(pyJob)+")?$expand=Release", ann)
			wantStatus(t, r, 200, `"ReleaseName":"Hello"`, `"State":"Stopped"`, `"Release":null`)
			wantStatus(t, e.send(t, "POST", restartPath, `{"jobId":`+jobID(pyJob)+`}`, ann), 409,
				"the process of job "+jobID(pyJob)+", Hello, has been deleted, so the job cannot be restarted")

			// Every write is audited, one entry per call.
			r = e.get(t, base+"/odata/AuditLogs?$filter="+url.QueryEscape("Component eq 'Jobs'")+"&$orderby=Id&$top=1000",
				bearer(e.userToken(t, "acme", "ann@acme.test", "OR.Audit.Read")))
			wantStatus(t, r, 200,
				`"OperationText":"started job `+jobID(cliJob[0])+` of process Calc (package Calc version 1.0.0) in folder Shared"`,
				`"OperationText":"started 3 jobs: `+jobID(three[0])+`, `+jobID(three[1])+`, `+jobID(three[2])+` of process Hello (package Hello version 1.0.0) in folder Shared"`,
				`"OperationText":"stopped job `+jobID(tsJob)+` of process Hello (SoftStop): Pending → Stopped"`,
				`"OperationText":"stopped 2 jobs (Kill): `+jobID(three[0])+` → Stopped, `+jobID(three[1])+` → Stopped"`,
				`"OperationText":"restarted job `+jobID(three[0])+` (Stopped) of process Hello in folder Shared as job `)
			want := "StartJobs,StartJobs,StartJobs,StartJobs,StartJobs,StartJobs,StartJobs,StartJobs,StartJobs,StopJobs,StopJob,StopJob,StopJob,StopJobs,RestartJob,StopJobs"
			if got := strings.Join(names(t, r, "Action"), ","); got != want {
				t.Errorf("audit actions\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestJobsRateLimits: the Jobs list counts against the rate limits; starting, stopping
// and reading one job do not, as UiPath exempts them.
func TestJobsRateLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, engines()["sqlite"])
	ann := bearer(e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess"))
	bob := with(bearer(e.userToken(t, "acme", "bob@acme.test", "OrchestratorApiUserAccess")), "X-UIPATH-FolderPath", "Shared")
	wantStatus(t, e.send(t, "POST", base+"/odata/Settings/UiPath.Server.Configuration.OData.UpdateBulk",
		`{"settings":[{"Name":"OpenOrch.RateLimit.ClientRequestsPerMinute","Value":"2"}]}`, ann), 200)
	wantStatus(t, e.get(t, base+"/odata/Jobs", bob), 200)
	wantStatus(t, e.get(t, base+"/odata/Jobs", bob), 200)
	wantStatus(t, e.get(t, base+"/odata/Jobs", bob), 429, "OpenOrch.RateLimit.ClientRequestsPerMinute")
	for range 3 {
		r := e.send(t, "POST", startJobsPath, `{"startInfo":{"ReleaseName":"Hello"}}`, bob)
		wantStatus(t, r, 201)
		j := jobsOf(t, r)[0]
		wantStatus(t, e.get(t, base+"/odata/Jobs("+jobID(j)+")", bob), 200)
		wantStatus(t, e.get(t, base+"/odata/Jobs/UiPath.Server.Configuration.OData.GetByKey(identifier="+j["Key"].(string)+")", bob), 200)
		wantStatus(t, e.send(t, "POST", stopJobPath(jobID(j)), `{"strategy":"SoftStop"}`, bob), 200)
		wantStatus(t, e.send(t, "POST", restartPath, `{"jobId":`+jobID(j)+`}`, bob), 200)
	}
	wantStatus(t, e.get(t, base+"/odata/Jobs", bob), 429)
}

// TestJobGoldenShapes pins the JSON of JobDto: as StartJobs answers it, as Jobs(id) with
// $expand=Release, in a list, and a refusal of a strategy. Run with -update after an
// intended change and review the diff.
func TestJobGoldenShapes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(tb testing.TB) store.Store { return storetest.NewSQLite(tb) })
	ann := bearer(e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess"))
	shared := with(ann, "X-UIPATH-FolderPath", "Shared")
	started := e.send(t, "POST", startJobsPath, `{"startInfo":{"ReleaseName":"Hello","InputArguments":"{\"who\":\"golden\"}","Reference":"gold-1"}}`, shared)
	wantStatus(t, started, 201)
	id := jobID(jobsOf(t, started)[0])
	wantStatus(t, e.send(t, "POST", stopJobPath(id), `{"strategy":"Kill"}`, ann), 200)
	cases := map[string]reply{
		"jobs_started":             started,
		"job":                      e.get(t, base+"/odata/Jobs("+id+")?$expand=Release", ann),
		"jobs":                     e.get(t, base+"/odata/Jobs?$orderby=Id&$count=true", ann),
		"error_start_classic_only": e.send(t, "POST", startJobsPath, `{"startInfo":{"ReleaseName":"Hello","Strategy":"All"}}`, shared),
	}
	for name, r := range cases {
		checkGolden(t, name, r.raw)
	}
}
