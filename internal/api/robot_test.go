package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/api"
	"github.com/openorch/openorch/internal/identity"
	"github.com/openorch/openorch/internal/odata"
	"github.com/openorch/openorch/internal/robots"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

func init() {
	matrixFixtures = append(matrixFixtures, robotMatrixFixtures)
	metadataSeeds = append(metadataSeeds, seedRobot)
}

// seedRobot gives the metadata test a disconnected robot of a machine serving folder
// Secret, and a log line of the seeded job: the metadata test needs a row of each entity
// set.
func seedRobot(t testing.TB, e *env) {
	t.Helper()
	ctx := context.Background()
	acme, _ := e.st.OrganizationGetByName(ctx, "acme")
	tn, _ := e.st.TenantGetByName(ctx, acme.ID, "DefaultTenant")
	m, _ := robotMachine(t, e, "seed-robot", "Secret")
	r, _, err := e.st.RobotConnect(ctx, store.RobotConnectParams{TenantID: tn.ID, MachineID: m.ID, HostName: "seed-host", Slots: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.RobotDisconnect(ctx, tn.ID, r.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	jobs, _, err := e.st.JobSearch(ctx, store.SearchParams{TenantID: tn.ID, Query: odata.Query{Top: 1}})
	if err != nil || len(jobs) == 0 {
		t.Fatalf("seed job: %v", err)
	}
	if err := e.st.RobotLogAdd(ctx, []store.RobotLog{{TenantID: tn.ID, FolderID: jobs[0].FolderID, JobID: jobs[0].ID, JobKey: jobs[0].Key,
		RobotID: r.ID, RobotName: r.Name, ProcessName: jobs[0].ReleaseName, HostMachineName: r.HostName, Level: "Info", Time: time.Now(),
		Message: "seeded"}}); err != nil {
		t.Fatal(err)
	}
}

const robotBase = base + "/api/robot/"

// machineToken is the access token a machine gets with client_credentials.
func (e *env) machineToken(t testing.TB, m tenancy.Machine, orgKey string) string {
	t.Helper()
	tok, _, err := e.keys.Issue(identity.Claims{Issuer: e.url + "/identity_", Subject: m.Key, SubType: identity.SubRobot,
		ClientID: m.ClientID, OrgKey: orgKey, Scope: strings.Join(identity.RobotScopes, " ")}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// robotMachine makes a machine serving folder (by path) and returns it with a token.
func robotMachine(t testing.TB, e *env, name, folder string) (tenancy.Machine, string) {
	t.Helper()
	ctx := context.Background()
	acme, _ := e.st.OrganizationGetByName(ctx, "acme")
	tn, _ := e.st.TenantGetByName(ctx, acme.ID, "DefaultTenant")
	f, err := e.st.FolderGetByPath(ctx, tn.ID, folder)
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.st.MachineCreate(ctx, store.MachineCreateParams{TenantID: tn.ID, Name: name, ClientID: name,
		SecretHash: strings.Repeat("0", 64), Slots: 2})
	if err != nil {
		t.Fatal(err)
	}
	role, _ := e.st.RoleGetByName(ctx, tn.ID, tenancy.RoleRobot)
	if err := e.st.MembershipSet(ctx, tenancy.Membership{TenantID: tn.ID, FolderID: f.ID, Principal: tenancy.Principal{Kind: tenancy.PrincipalMachine, ID: m.ID},
		RoleIDs: []int64{role.ID}}); err != nil {
		t.Fatal(err)
	}
	return m, e.machineToken(t, m, acme.Key)
}

// robotCall is one protocol call: status, body and how long it took.
type robotReply struct {
	status int
	raw    string
	took   time.Duration
}

func (r robotReply) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.raw), v); err != nil {
		t.Fatalf("decode %s: %v", r.raw, err)
	}
}

func robotPost(t testing.TB, e *env, tok, call string, body any) robotReply {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", e.url+robotBase+call, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return robotReply{status: resp.StatusCode, raw: string(raw), took: time.Since(start)}
}

type connectReply struct {
	RobotID   int64  `json:"robotId"`
	RobotKey  string `json:"robotKey"`
	RobotName string `json:"robotName"`
	Slots     int    `json:"slots"`
}

type nextReply struct {
	Jobs []struct {
		JobKey         string          `json:"jobKey"`
		JobID          int64           `json:"jobId"`
		FolderPath     string          `json:"folderPath"`
		ProcessName    string          `json:"processName"`
		PackageSHA256  string          `json:"packageSha256"`
		EntryPoint     string          `json:"entryPoint"`
		InputArguments json.RawMessage `json:"inputArguments"`
		AccessToken    string          `json:"accessToken"`
	} `json:"jobs"`
	Stops []struct {
		JobKey   string `json:"jobKey"`
		Strategy string `json:"strategy"`
	} `json:"stops"`
}

func connect(t testing.TB, e *env, tok, host string) connectReply {
	t.Helper()
	r := robotPost(t, e, tok, "connect", map[string]any{"hostName": host, "slots": 5, "version": "test"})
	if r.status != 200 {
		t.Fatalf("connect %s: %d %s", host, r.status, r.raw)
	}
	var c connectReply
	r.decode(t, &c)
	return c
}

// next long-polls and expects work.
func next(t testing.TB, e *env, tok string, robot connectReply, free, wait int) (nextReply, robotReply) {
	t.Helper()
	r := robotPost(t, e, tok, "next", map[string]any{"robotKey": robot.RobotKey, "freeSlots": free, "waitSeconds": wait})
	var n nextReply
	if r.status == 200 {
		r.decode(t, &n)
	}
	return n, r
}

// wakeBound is how soon a waiting robot/next must answer after a start or a stop. The tests
// that check it set the poll, the fallback when no wake-up comes, to a minute, so the bound
// leaves room for a loaded CI machine running the race detector (the wake-up itself takes a
// few milliseconds; see docs/benchmarks.md, "Robots: dispatch").
const (
	wakeBound = 3 * time.Second
	slowPoll  = time.Minute
)

// TestRobotProtocol plays a robot over HTTP against the real API. It runs alone (neither it
// nor its engines are parallel) because it asserts wake-up latencies.
func TestRobotProtocol(t *testing.T) {
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			e := newEnvWith(t, open, func(o *api.Options) { o.WaitPoll = slowPoll })
			ctx := context.Background()
			acme, _ := e.st.OrganizationGetByName(ctx, "acme")
			tn, _ := e.st.TenantGetByName(ctx, acme.ID, "DefaultTenant")
			_, tokA := robotMachine(t, e, "worker-a", "Shared")
			_, tokB := robotMachine(t, e, "worker-b", "Finance/AP")
			ann := e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess")
			inShared := map[string]string{"Authorization": "Bearer " + ann, "X-UIPATH-FolderPath": "Shared"}

			// Only robots may call; hosts are checked.
			if r := robotPost(t, e, ann, "connect", map[string]any{"hostName": "h"}); r.status != 403 || !strings.Contains(r.raw, "is for robots") {
				t.Errorf("connect with a user's token: %d %s", r.status, r.raw)
			}
			if r := robotPost(t, e, tokA, "connect", map[string]any{"hostName": "bad\nhost"}); r.status != 400 || !strings.Contains(r.raw, "control characters") {
				t.Errorf("connect with a bad host: %d %s", r.status, r.raw)
			}
			a := connect(t, e, tokA, "host-a")
			if a.RobotName != "worker-a@host-a" || a.Slots != 2 {
				t.Errorf("connect = %+v, want worker-a@host-a with the machine's 2 slots", a)
			}
			b := connect(t, e, tokB, "host-b")
			// The license counts the slots of the connected robots as used.
			wantStatus(t, e.get(t, base+"/odata/Settings/UiPath.Server.Configuration.OData.GetLicense", inShared), 200,
				`"Used":{"Unattended":4,`)
			if r := robotPost(t, e, tokB, "next", map[string]any{"robotKey": a.RobotKey, "freeSlots": 1, "waitSeconds": 0}); r.status != 403 {
				t.Errorf("next with another machine's robot: %d %s", r.status, r.raw)
			}

			// A waiting next returns at once when a job starts; the robot of the other
			// folder never gets it.
			type result struct {
				n  nextReply
				r  robotReply
				at time.Time
			}
			waitA, waitB := make(chan result, 1), make(chan result, 1)
			go func() {
				n, r := next(t, e, tokA, a, 1, 10)
				waitA <- result{n, r, time.Now()}
			}()
			go func() {
				n, r := next(t, e, tokB, b, 2, 1)
				waitB <- result{n, r, time.Now()}
			}()
			time.Sleep(300 * time.Millisecond)
			started := e.send(t, "POST", startJobsPath, `{"startInfo":{"ReleaseName":"Hello","InputArguments":"{\"who\":\"robot\"}"}}`, inShared)
			done := time.Now()
			if started.status != 201 {
				t.Fatalf("StartJobs: %d %s", started.status, started.raw)
			}
			got := <-waitA
			if got.r.status != 200 || len(got.n.Jobs) != 1 {
				t.Fatalf("next of robot a: %d %s", got.r.status, got.r.raw)
			}
			if lag := got.at.Sub(done); lag > wakeBound {
				t.Errorf("next answered %v after StartJobs; want within %v (the wake-up, not the %v poll)", lag, wakeBound, slowPoll)
			}
			if gb := <-waitB; gb.r.status != 204 {
				t.Errorf("next of robot b (folder Finance/AP): %d %s", gb.r.status, gb.r.raw)
			}
			job := got.n.Jobs[0]
			wantStatus(t, e.get(t, base+"/odata/Jobs("+itoa(job.JobID)+")?$expand=Robot($select=Id,Name,MachineName)&$select=Id", inShared), 200,
				`"Robot":{"Id":`+itoa(a.RobotID)+`,"Name":"worker-a@host-a","MachineName":"worker-a"}`)
			if job.FolderPath != "Shared" || job.ProcessName != "Hello" || job.EntryPoint != "run.sh" || string(job.InputArguments) != `{"who":"robot"}` {
				t.Errorf("assignment = %+v", job)
			}
			view := e.get(t, base+"/odata/Jobs("+itoa(job.JobID)+")", inShared)
			wantStatus(t, view, 200, `"State":"Running"`, `"HostMachineName":"host-a"`)

			// The package, for the robot running the job only.
			req, _ := http.NewRequest("GET", e.url+robotBase+"package?jobKey="+job.JobKey, nil)
			req.Header.Set("Authorization", "Bearer "+tokA)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			pkg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			sum := sha256.Sum256(pkg)
			if resp.StatusCode != 200 || hex.EncodeToString(sum[:]) != job.PackageSHA256 {
				t.Errorf("package: %d, sha %x want %s", resp.StatusCode, sum, job.PackageSHA256)
			}
			req.Header.Set("Authorization", "Bearer "+tokB)
			if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 {
				t.Errorf("package for another machine: %v %v", resp.StatusCode, err)
			}

			// The job's token: its folder only, and only while the job runs.
			jobTok := map[string]string{"Authorization": "Bearer " + job.AccessToken}
			add := func(folder, queue string) reply {
				h := map[string]string{"Authorization": "Bearer " + job.AccessToken, "X-UIPATH-FolderPath": folder}
				return e.send(t, "POST", base+"/odata/Queues/UiPathODataSvc.AddQueueItem", `{"itemData":{"Name":"`+queue+`"}}`, h)
			}
			wantStatus(t, add("Shared", "Invoices"), 201)
			if r := add("Finance/AP", "Payments"); r.status != 403 {
				t.Errorf("AddQueueItem in another folder with the job's token: %d %s", r.status, r.raw)
			}
			if r := e.get(t, base+"/odata/Machines", jobTok); r.status != 403 {
				t.Errorf("a tenant-level read with the job's token: %d %s", r.status, r.raw)
			}
			if r := robotPost(t, e, job.AccessToken, "heartbeat", map[string]any{"robotKey": a.RobotKey}); r.status != 403 {
				t.Errorf("heartbeat with the job's token: %d %s", r.status, r.raw)
			}

			// The job reads a credential with its password, as its robot.
			wantStatus(t, e.send(t, "POST", base+"/odata/Assets", `{"Name":"db","ValueScope":"Global","ValueType":"Credential",`+
				`"CredentialUsername":"u","CredentialPassword":"s3cret"}`, inShared), 201)
			assetPath := base + "/odata/Assets/UiPath.Server.Configuration.OData.GetRobotAssetByNameForRobotKey(robotKey='" + a.RobotKey + "',assetName='db')"
			wantStatus(t, e.get(t, assetPath, map[string]string{"Authorization": "Bearer " + job.AccessToken, "X-UIPATH-FolderPath": "Shared"}), 200,
				`"CredentialUsername":"u"`, `"CredentialPassword":"s3cret"`)
			if r := e.get(t, assetPath, inShared); r.status != 403 {
				t.Errorf("GetRobotAssetByNameForRobotKey as a user: %d %s", r.status, r.raw)
			}

			// Logs, then RobotLogs by JobKey.
			at := time.Now().UTC().Truncate(time.Millisecond)
			r := robotPost(t, e, tokA, "logs", map[string]any{"robotKey": a.RobotKey, "entries": []map[string]any{
				{"jobKey": job.JobKey, "level": "Info", "timeStamp": at, "message": "hello robot"},
				{"jobKey": job.JobKey, "level": "Error", "timeStamp": at.Add(time.Millisecond), "message": "oops"}}})
			if r.status != 204 {
				t.Errorf("logs: %d %s", r.status, r.raw)
			}
			if r := robotPost(t, e, tokA, "logs", map[string]any{"robotKey": a.RobotKey, "entries": []map[string]any{
				{"jobKey": job.JobKey, "level": "Loud", "message": "x"}}}); r.status != 400 || !strings.Contains(r.raw, "entries[0].level") {
				t.Errorf("logs with a bad level: %d %s", r.status, r.raw)
			}
			if r := robotPost(t, e, tokB, "logs", map[string]any{"robotKey": b.RobotKey, "entries": []map[string]any{
				{"jobKey": job.JobKey, "level": "Info", "message": "x"}}}); r.status != 403 || !strings.Contains(r.raw, "is not a job of robot worker-b@host-b") {
				t.Errorf("logs of another robot's job: %d %s", r.status, r.raw)
			}
			logs := e.get(t, base+"/odata/RobotLogs?$filter="+url.QueryEscape("JobKey eq "+job.JobKey)+"&$orderby=TimeStamp&$count=true", inShared)
			wantStatus(t, logs, 200, `"@odata.count":2`, `"Message":"hello robot"`, `"Level":"Error"`, `"RobotName":"worker-a@host-a"`,
				`"ProcessName":"Hello"`, `"HostMachineName":"host-a"`)
			sessions := e.get(t, base+"/odata/Sessions?$filter="+url.QueryEscape("State eq 'Busy'"), inShared)
			wantStatus(t, sessions, 200, `"RobotName":"worker-a@host-a"`, `"IsUnresponsive":false`)
			robotsList := e.get(t, base+"/odata/Robots", inShared)
			wantStatus(t, robotsList, 200, `"Name":"worker-a@host-a"`, `"HostingType":"Standard"`, `"Type":"Unattended"`)
			if strings.Contains(robotsList.raw, "worker-b") {
				t.Errorf("Robots in Shared lists the robot of Finance/AP: %s", robotsList.raw)
			}

			// Succeed → Successful with the output; the job's token stops working.
			r = robotPost(t, e, tokA, "job-state", map[string]any{"robotKey": a.RobotKey, "jobKey": job.JobKey, "event": "Succeed",
				"outputArguments": map[string]any{"total": 3}})
			if r.status != 200 || !strings.Contains(r.raw, `"state":"Successful"`) {
				t.Fatalf("job-state Succeed: %d %s", r.status, r.raw)
			}
			wantStatus(t, e.get(t, base+"/odata/Jobs("+itoa(job.JobID)+")", inShared), 200, `"State":"Successful"`,
				`"OutputArguments":"{\"total\":3}"`)
			if r := add("Shared", "Invoices"); r.status != 401 || !strings.Contains(r.raw, "has ended (Successful)") {
				t.Errorf("the job's token after the job ended: %d %s", r.status, r.raw)
			}
			if r := robotPost(t, e, tokA, "job-state", map[string]any{"robotKey": a.RobotKey, "jobKey": job.JobKey, "event": "Fail"}); r.status != 409 {
				t.Errorf("job-state of an ended job: %d %s", r.status, r.raw)
			}

			// Fail → Faulted with the robot's JobError.
			startOne := func() nextReply {
				t.Helper()
				wantStatus(t, e.send(t, "POST", startJobsPath, `{"startInfo":{"ReleaseName":"Hello"}}`, inShared), 201)
				n, r := next(t, e, tokA, a, 1, 5)
				if r.status != 200 || len(n.Jobs) != 1 {
					t.Fatalf("next: %d %s", r.status, r.raw)
				}
				return n
			}
			failed := startOne().Jobs[0]
			r = robotPost(t, e, tokA, "job-state", map[string]any{"robotKey": a.RobotKey, "jobKey": failed.JobKey, "event": "Fail",
				"error": map[string]any{"code": "ExitCode", "title": "The process exited with 2", "detail": "boom"}})
			if r.status != 200 || !strings.Contains(r.raw, `"state":"Faulted"`) {
				t.Errorf("job-state Fail: %d %s", r.status, r.raw)
			}
			wantStatus(t, e.get(t, base+"/odata/Jobs("+itoa(failed.JobID)+")", inShared), 200, `"State":"Faulted"`,
				`"Code":"ExitCode"`, `"Title":"The process exited with 2"`)

			// StopJob while Running: a waiting next and the heartbeat deliver it; Fail → Stopped.
			stopped := startOne().Jobs[0]
			waitStop := make(chan result, 1)
			go func() {
				n, r := next(t, e, tokA, a, 0, 10)
				waitStop <- result{n, r, time.Now()}
			}()
			time.Sleep(300 * time.Millisecond)
			wantStatus(t, e.send(t, "POST", stopJobPath(itoa(stopped.JobID)), `{"strategy":"SoftStop"}`, inShared), 200)
			stopAt := time.Now()
			gs := <-waitStop
			if gs.r.status != 200 || len(gs.n.Stops) != 1 || gs.n.Stops[0].JobKey != stopped.JobKey || gs.n.Stops[0].Strategy != "SoftStop" {
				t.Errorf("next after StopJob: %d %s", gs.r.status, gs.r.raw)
			} else if lag := gs.at.Sub(stopAt); lag > wakeBound {
				t.Errorf("next delivered the stop %v after StopJob", lag)
			}
			if _, r := next(t, e, tokA, a, 0, 0); r.status != 204 {
				t.Errorf("next again after the stop was delivered: %d %s (a stop is delivered once)", r.status, r.raw)
			}
			hb := robotPost(t, e, tokA, "heartbeat", map[string]any{"robotKey": a.RobotKey, "jobs": []map[string]any{
				{"jobKey": stopped.JobKey, "tokenExpiresAt": time.Now().Add(time.Minute)}, {"jobKey": failed.JobKey}}})
			if hb.status != 200 || !strings.Contains(hb.raw, `"stops":[{"jobKey":"`+stopped.JobKey+`","strategy":"SoftStop"}]`) ||
				!strings.Contains(hb.raw, `"cancel":["`+failed.JobKey+`"]`) || !strings.Contains(hb.raw, `"tokens":[{"jobKey":"`+stopped.JobKey) {
				t.Errorf("heartbeat: %d %s", hb.status, hb.raw)
			}
			r = robotPost(t, e, tokA, "job-state", map[string]any{"robotKey": a.RobotKey, "jobKey": stopped.JobKey, "event": "Fail"})
			if r.status != 200 || !strings.Contains(r.raw, `"state":"Stopped"`) {
				t.Errorf("job-state Fail of a stopping job: %d %s", r.status, r.raw)
			}

			// A robot that stops answering: its job ends Faulted RobotUnresponsive.
			lost := startOne().Jobs[0]
			time.Sleep(300 * time.Millisecond)
			sw := &robots.Sweeper{Store: e.st, UnresponsiveAfter: 200 * time.Millisecond}
			res, err := sw.Sweep(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Unresponsive) != 1 || res.Unresponsive[0].Key != lost.JobKey {
				t.Fatalf("sweep: %+v", res)
			}
			wantStatus(t, e.get(t, base+"/odata/Jobs("+itoa(lost.JobID)+")", inShared), 200, `"State":"Faulted"`,
				`"Code":"RobotUnresponsive"`, `robot worker-a@host-a was last seen at`)
			wantStatus(t, e.get(t, base+"/odata/Sessions?$filter="+url.QueryEscape("RobotId eq "+itoa(a.RobotID)), inShared), 200)

			// A job running past its maximum run time (and the grace) ends Faulted.
			shared, _ := e.st.FolderGetByPath(ctx, tn.ID, "Shared")
			if _, err := e.st.ReleaseCreate(ctx, store.ReleaseCreateParams{TenantID: tn.ID, FolderID: shared.ID, Name: "Short",
				PackageName: "Hello", PackageVersion: "1.0.0", MaxRunTimeSeconds: 1}); err != nil {
				t.Fatal(err)
			}
			wantStatus(t, e.send(t, "POST", startJobsPath, `{"startInfo":{"ReleaseName":"Short"}}`, inShared), 201)
			n, nr := next(t, e, tokA, a, 1, 5)
			if nr.status != 200 || len(n.Jobs) != 1 {
				t.Fatalf("next: %d %s", nr.status, nr.raw)
			}
			late := &robots.Sweeper{Store: e.st, UnresponsiveAfter: time.Hour, Now: func() time.Time { return time.Now().Add(32 * time.Second) }}
			res, err = late.Sweep(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Overdue) != 1 || res.Overdue[0].Key != n.Jobs[0].JobKey {
				t.Fatalf("overdue sweep: %+v", res)
			}
			wantStatus(t, e.get(t, base+"/odata/Jobs("+itoa(n.Jobs[0].JobID)+")", inShared), 200, `"Code":"MaxRunTimeExceeded"`)

			// Disconnect: the session says so.
			if r := robotPost(t, e, tokB, "disconnect", map[string]any{"robotKey": b.RobotKey}); r.status != 204 {
				t.Errorf("disconnect: %d %s", r.status, r.raw)
			}
			adminAll := map[string]string{"Authorization": "Bearer " + ann}
			wantStatus(t, e.get(t, base+"/odata/Sessions?$filter="+url.QueryEscape("State eq 'Disconnected'"), adminAll), 200,
				`"RobotName":"worker-b@host-b"`)

			// Metrics.
			resp, err = http.Get(e.url + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			metrics, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, want := range []string{"orch_robots_connected 1", "orch_robot_busy_slots 0", "orch_jobs_pending 0",
				"orch_job_dispatch_latency_seconds_count 5"} {
				if !strings.Contains(string(metrics), want) {
					t.Errorf("/metrics lacks %q", want)
				}
			}
		})
	}
}

// TestStartJobsSpecific: jobs started for chosen robots go to them only, and say why
// they wait.
func TestStartJobsSpecific(t *testing.T) {
	t.Parallel()
	e := newEnv(t, engines()["sqlite"])
	_, tokA := robotMachine(t, e, "worker-a", "Shared")
	_, tokB := robotMachine(t, e, "worker-b", "Finance/AP")
	a1 := connect(t, e, tokA, "one")
	a2 := connect(t, e, tokA, "two")
	b := connect(t, e, tokB, "b")
	ann := e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess")
	inShared := map[string]string{"Authorization": "Bearer " + ann, "X-UIPATH-FolderPath": "Shared"}
	r := e.send(t, "POST", startJobsPath, `{"startInfo":{"ReleaseName":"Hello","Strategy":"Specific","RobotIds":[`+itoa(b.RobotID)+`]}}`, inShared)
	wantStatus(t, r, 400, "robot worker-b@b", "does not serve folder Shared")
	r = e.send(t, "POST", startJobsPath, `{"startInfo":{"ReleaseName":"Hello","Strategy":"Specific","RobotIds":[987654]}}`, inShared)
	wantStatus(t, r, 400, "robot 987654 does not exist")
	r = e.send(t, "POST", startJobsPath, `{"startInfo":{"ReleaseName":"Hello","Strategy":"Specific"}}`, inShared)
	wantStatus(t, r, 400, "needs startInfo.RobotIds")
	r = e.send(t, "POST", startJobsPath, `{"startInfo":{"ReleaseName":"Hello","Strategy":"Specific","RobotIds":[`+itoa(a2.RobotID)+`]}}`, inShared)
	wantStatus(t, r, 201)
	if _, nr := next(t, e, tokA, a1, 2, 0); nr.status != 204 {
		t.Errorf("robot one took a job for robot two: %d %s", nr.status, nr.raw)
	}
	n, nr := next(t, e, tokA, a2, 1, 0)
	if nr.status != 200 || len(n.Jobs) != 1 {
		t.Fatalf("robot two: %d %s", nr.status, nr.raw)
	}
	// Robot two is busy (1 slot used of 2): fill it, then a Specific job waits and says why.
	wantStatus(t, e.send(t, "POST", startJobsPath, `{"startInfo":{"ReleaseName":"Hello","Strategy":"Specific","RobotIds":[`+itoa(a2.RobotID)+`]}}`, inShared), 201)
	if n, nr := next(t, e, tokA, a2, 1, 0); nr.status != 200 || len(n.Jobs) != 1 {
		t.Fatalf("robot two, second job: %d %s", nr.status, nr.raw)
	}
	r = e.send(t, "POST", startJobsPath, `{"startInfo":{"ReleaseName":"Hello","Strategy":"Specific","RobotIds":[`+itoa(a2.RobotID)+`]}}`, inShared)
	wantStatus(t, r, 201, "all 2 slots of the connected robots that may take it are busy (worker-a@two)")
}

// robotMatrixFixtures: a robot of a machine in Shared with a job running on it, for the
// protocol's calls, which only its machine's token may make.
func robotMatrixFixtures(t *testing.T, e *env, fx *matrixFixture) {
	ctx := context.Background()
	f, err := e.st.FolderCreate(ctx, store.FolderCreateParams{TenantID: fx.tenantID, DisplayName: "MatrixRobots"})
	if err != nil {
		t.Fatal(err)
	}
	m, tok := robotMachine(t, e, "matrix-robot", "MatrixRobots")
	r, _, err := e.st.RobotConnect(ctx, store.RobotConnectParams{TenantID: fx.tenantID, MachineID: m.ID, HostName: "matrix-host", Slots: 2})
	if err != nil {
		t.Fatal(err)
	}
	rel, err := e.st.ReleaseCreate(ctx, store.ReleaseCreateParams{TenantID: fx.tenantID, FolderID: f.ID, Name: "MatrixHello",
		PackageName: "Hello", PackageVersion: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	running, err := e.st.JobCreate(ctx, store.JobCreateParams{TenantID: fx.tenantID, Release: rel, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.st.JobDispatch(ctx, store.JobDispatchParams{TenantID: fx.tenantID, RobotID: r.ID, Max: 1}); err != nil || len(got) != 1 {
		t.Fatalf("JobDispatch: %v %v", got, err)
	}
	key := running[0].Key
	robot := `"robotKey":"` + r.Key + `"`
	for path, body := range map[string]string{
		"connect":    `{"hostName":"matrix-host","runningJobKeys":["` + key + `"]}`,
		"next":       `{` + robot + `,"freeSlots":0,"waitSeconds":0}`,
		"heartbeat":  `{` + robot + `,"jobs":[{"jobKey":"` + key + `"}]}`,
		"logs":       `{` + robot + `,"entries":[{"jobKey":"` + key + `","level":"Info","message":"matrix"}]}`,
		"job-state":  `{` + robot + `,"jobKey":"` + key + `","event":"Succeed"}`,
		"disconnect": `{` + robot + `}`,
	} {
		fx.bodies["POST /api/robot/"+path] = body
		fx.tokens["POST /api/robot/"+path] = tok
	}
	fx.funcParams["GET /api/robot/package"] = "?jobKey=" + key
	fx.tokens["GET /api/robot/package"] = tok
	// The robot reads an asset of Shared too (assigned after dispatch, so that it took
	// none of the folder's jobs).
	role, _ := e.st.RoleGetByName(ctx, fx.tenantID, tenancy.RoleRobot)
	if err := e.st.MembershipSet(ctx, tenancy.Membership{TenantID: fx.tenantID, FolderID: fx.shared,
		Principal: tenancy.Principal{Kind: tenancy.PrincipalMachine, ID: m.ID}, RoleIDs: []int64{role.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.AssetCreate(ctx, store.AssetCreateParams{TenantID: fx.tenantID, FolderID: fx.shared, Name: "MatrixRobotAsset",
		ValueScope: store.AssetGlobal, ValueType: store.AssetText, StringValue: "v"}); err != nil {
		t.Fatal(err)
	}
	const action = "/odata/Assets/UiPath.Server.Configuration.OData.GetRobotAssetByNameForRobotKey"
	fx.funcParams["GET "+action] = "(robotKey='" + r.Key + "',assetName='MatrixRobotAsset')"
	fx.tokens["GET "+action] = tok
	fx.bodies["POST "+action] = `{"robotKey":"` + r.Key + `","assetName":"MatrixRobotAsset"}`
	fx.tokens["POST "+action] = tok
	const deprecated = "/odata/Assets/UiPath.Server.Configuration.OData.GetRobotAsset"
	fx.funcParams["GET "+deprecated] = "(robotId='" + r.Key + "',assetName='MatrixRobotAsset')"
	fx.tokens["GET "+deprecated] = tok
}

// TestRobotLostJob shows a job the server has running on a robot ends Faulted when the
// robot's heartbeat does not list it and the robot took it longer ago than a robot may
// stay silent, while the jobs it lists, and one it took a moment ago, keep running.
func TestRobotLostJob(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var (
				mu  sync.Mutex
				now = time.Now()
			)
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
			e := newEnvWith(t, open, func(o *api.Options) { o.Now = clock; o.RobotUnresponsiveAfter = time.Minute })
			_, tok := robotMachine(t, e, "worker-l", "Shared")
			ann := e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess")
			inShared := map[string]string{"Authorization": "Bearer " + ann, "X-UIPATH-FolderPath": "Shared"}
			rb := connect(t, e, tok, "host-l")
			take := func() string {
				t.Helper()
				wantStatus(t, e.send(t, "POST", startJobsPath, `{"startInfo":{"ReleaseName":"Hello"}}`, inShared), 201)
				n, r := next(t, e, tok, rb, 1, 5)
				if r.status != 200 || len(n.Jobs) != 1 {
					t.Fatalf("next: %d %s", r.status, r.raw)
				}
				return n.Jobs[0].JobKey
			}
			var kept string
			beat := func() {
				t.Helper()
				hb := robotPost(t, e, tok, "heartbeat", map[string]any{"robotKey": rb.RobotKey, "jobs": []map[string]any{{"jobKey": kept}}})
				if hb.status != 200 {
					t.Fatalf("heartbeat: %d %s", hb.status, hb.raw)
				}
			}
			// The machine has two slots: the robot takes two jobs, lists one of them.
			kept = take()
			lost := take()
			beat()
			advance(2 * time.Minute)
			beat()
			// The lost job freed its slot; a job taken now is not listed yet either.
			fresh := take()
			beat()
			state := func(key string) string {
				r := e.get(t, base+"/odata/Jobs/UiPath.Server.Configuration.OData.GetByKey(identifier="+key+")", inShared)
				var j struct {
					State    string
					JobError *struct{ Code, Detail string }
				}
				if err := json.Unmarshal([]byte(r.raw), &j); err != nil {
					t.Fatalf("job %s: %d %s", key, r.status, r.raw)
				}
				if j.JobError != nil {
					return j.State + " " + j.JobError.Code
				}
				return j.State
			}
			for key, want := range map[string]string{kept: "Running", lost: "Faulted RobotLostJob", fresh: "Running"} {
				if got := state(key); got != want {
					t.Errorf("job %s after the heartbeat: %s, want %s", key, got, want)
				}
			}
		})
	}
}

// TestWaitsEndOnShutdown shows the calls that wait — robot/next and StartTransaction with
// Prefer: wait — answer 204 at once when the server begins to shut down, rather than hold
// the shutdown up for the rest of their wait.
func TestWaitsEndOnShutdown(t *testing.T) {
	t.Parallel()
	stopping := make(chan struct{})
	e := newEnvWith(t, engines()["sqlite"], func(o *api.Options) { o.Stopping, o.WaitPoll = stopping, slowPoll })
	_, tok := robotMachine(t, e, "worker-s", "Shared")
	rb := connect(t, e, tok, "host-s")
	who := queueCallers(t, e)
	mkQueue(t, e, who.ann, `{"Name":"Quiet"}`)
	type answer struct {
		what   string
		status int
		at     time.Time
	}
	answers := make(chan answer, 2)
	go func() {
		r := robotPost(t, e, tok, "next", map[string]any{"robotKey": rb.RobotKey, "freeSlots": 1, "waitSeconds": 30})
		answers <- answer{"robot/next", r.status, time.Now()}
	}()
	go func() {
		r := e.send(t, "POST", base+"/odata/Queues/UiPathODataSvc.StartTransaction", `{"transactionData":{"Name":"Quiet"}}`,
			with(who.bot, "Prefer", "wait=30"))
		answers <- answer{"StartTransaction", r.status, time.Now()}
	}()
	time.Sleep(300 * time.Millisecond)
	close(stopping)
	closed := time.Now()
	for range 2 {
		select {
		case a := <-answers:
			if a.status != http.StatusNoContent || a.at.Sub(closed) > wakeBound {
				t.Errorf("%s answered %d %v after the shutdown began; want 204 at once", a.what, a.status, a.at.Sub(closed))
			}
		case <-time.After(20 * time.Second):
			t.Fatal("a waiting call did not answer when the server began to shut down")
		}
	}
}
