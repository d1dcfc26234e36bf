package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/store/storetest"
)

// The robots end to end: `orch serve --demo` in-process, `orch robot` as a real process
// signed in as the demo machine, packages published with `orch packages publish`, jobs
// started over HTTP as UiPath's clients start them, and their processes really run.

// Short robot settings, so that a robot killed with SIGKILL is noticed within seconds.
const (
	e2eHeartbeat    = "200ms"
	e2eUnresponsive = "1500ms"
)

// robotE2E is a --demo server with short robot settings, the demo app's token for the API
// and a CLI signed in as the demo app.
type robotE2E struct {
	cliDemo
	token string
	tc    *testCLI
}

func startRobotE2E(t *testing.T, engine string) *robotE2E {
	t.Helper()
	args := []string{"--demo", "--data-dir", t.TempDir(),
		"--robot-heartbeat-interval", e2eHeartbeat, "--robot-unresponsive-after", e2eUnresponsive}
	var kv map[string]string
	if engine == "postgres" {
		args = append(args, "--database-url", storetest.PostgresURL(t))
		kv = map[string]string{"ORCH_SECRET_KEY": strings.Repeat("5a", 32)}
	}
	return newRobotE2E(t, startServe(t, env(kv), args...))
}

// newRobotE2E signs the demo app in to a --demo server s: a token for the API, and the CLI.
func newRobotE2E(t *testing.T, s *served) *robotE2E {
	t.Helper()
	e := &robotE2E{cliDemo: cliDemo{served: s, ex: demoExports(s.Stdout.String())}}
	resp, err := http.PostForm(e.URL+"/identity_/connect/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {e.ex["ORCH_DEMO_CLIENT_ID"]}, "client_secret": {e.ex["ORCH_DEMO_CLIENT_SECRET"]}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if tok.AccessToken == "" {
		t.Fatalf("no token for the demo app: %d", resp.StatusCode)
	}
	e.token = tok.AccessToken
	e.tc = newTestCLI(t, nil)
	e.tc.must(t, e.loginArgs("--client-id", e.ex["ORCH_DEMO_CLIENT_ID"], "--client-secret", e.ex["ORCH_DEMO_CLIENT_SECRET"])...)
	return e
}

// api makes an API call in folder Shared as the demo app; body is JSON-encoded.
func (e *robotE2E) api(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, e.apiBase()+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("X-UIPATH-FolderPath", "Shared")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data
}

// mustAPI makes a call that must answer want, and decodes its answer into out.
func (e *robotE2E) mustAPI(t *testing.T, want int, method, path string, body, out any) {
	t.Helper()
	status, data := e.api(t, method, path, body)
	if status != want {
		t.Fatalf("%s %s: %d %s; want %d", method, path, status, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
}

// publish packs a process from a directory (project.json and main.sh) with `orch packages
// publish`, which creates the process of the same name in folder Shared.
func (e *robotE2E) publish(t *testing.T, name, script string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	proj := `{"name":"` + name + `","version":"1.0.0","main":"main.sh"}`
	if err := os.WriteFile(filepath.Join(dir, "project.json"), []byte(proj), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.sh"), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	e.tc.mustRes(t, "packages", "publish", dir, "--folder", "Shared")
}

// e2eJob is what the tests read of a job.
type e2eJob struct {
	ID                 int64   `json:"Id"`
	Key                string  `json:"Key"`
	State              string  `json:"State"`
	OutputArguments    *string `json:"OutputArguments"`
	HostMachineName    *string `json:"HostMachineName"`
	OrganizationUnitID int64   `json:"OrganizationUnitId"`
	JobError           *struct {
		Code, Title, Detail string
	} `json:"JobError"`
}

// output is the job's output arguments, decoded.
func (j e2eJob) output(t *testing.T) map[string]any {
	t.Helper()
	if j.OutputArguments == nil {
		t.Fatalf("job %d has no OutputArguments", j.ID)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(*j.OutputArguments), &m); err != nil {
		t.Fatalf("job %d: OutputArguments %q: %v", j.ID, *j.OutputArguments, err)
	}
	return m
}

// startJob starts one job of a process with StartJobs, InputArguments as a JSON string as
// UiPath's CLI sends them.
func (e *robotE2E) startJob(t *testing.T, process, input string) e2eJob {
	t.Helper()
	info := map[string]any{"ReleaseName": process, "Strategy": "ModernJobsCount", "JobsCount": 1}
	if input != "" {
		info["InputArguments"] = input
	}
	var out struct{ Value []e2eJob }
	e.mustAPI(t, http.StatusCreated, "POST", "/odata/Jobs/UiPath.Server.Configuration.OData.StartJobs",
		map[string]any{"startInfo": info}, &out)
	if len(out.Value) != 1 || out.Value[0].State != "Pending" {
		t.Fatalf("StartJobs of %s: %+v; want one Pending job", process, out.Value)
	}
	return out.Value[0]
}

func (e *robotE2E) job(t *testing.T, id int64) e2eJob {
	t.Helper()
	var j e2eJob
	e.mustAPI(t, http.StatusOK, "GET", fmt.Sprintf("/odata/Jobs(%d)", id), nil, &j)
	return j
}

// waitJob polls a job until cond holds of it, failing after timeout.
func (e *robotE2E) waitJob(t *testing.T, id int64, timeout time.Duration, what string, cond func(e2eJob) bool) e2eJob {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		j := e.job(t, id)
		if cond(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d is %s after %s; want it %s (JobError %+v)", id, j.State, timeout, what, j.JobError)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitEnded waits for a job to end and checks its final state.
func (e *robotE2E) waitEnded(t *testing.T, id int64, want string) e2eJob {
	t.Helper()
	j := e.waitJob(t, id, 30*time.Second, "ended", func(j e2eJob) bool {
		return j.State == "Successful" || j.State == "Faulted" || j.State == "Stopped"
	})
	if j.State != want {
		t.Fatalf("job %d ended %s (JobError %+v, output %v); want %s", id, j.State, j.JobError, str(j.OutputArguments), want)
	}
	return j
}

type e2eLog struct {
	Level, Message string
}

// logs lists a job's RobotLogs in the order they were taken.
func (e *robotE2E) logs(t *testing.T, jobKey string) []e2eLog {
	t.Helper()
	v := url.Values{"$filter": {"JobKey eq " + jobKey}, "$orderby": {"Id"}, "$top": {"1000"}}
	var out struct{ Value []e2eLog }
	e.mustAPI(t, http.StatusOK, "GET", "/odata/RobotLogs?"+v.Encode(), nil, &out)
	return out.Value
}

// messages are the messages of the log lines at level.
func messages(logs []e2eLog, level string) []string {
	var out []string
	for _, l := range logs {
		if l.Level == level {
			out = append(out, l.Message)
		}
	}
	return out
}

// waitLog waits until a job's logs hold message (a running job's lines come at least
// every second).
func (e *robotE2E) waitLog(t *testing.T, jobKey, message string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !slices.ContainsFunc(e.logs(t, jobKey), func(l e2eLog) bool { return l.Message == message }) {
		if time.Now().After(deadline) {
			t.Fatalf("job %s logged no %q within 15s: %+v", jobKey, message, e.logs(t, jobKey))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type e2eSession struct {
	RobotName, HostMachineName, State string
	IsUnresponsive                    bool
	RunningJobs                       int
}

func (e *robotE2E) session(t *testing.T, host string) (e2eSession, bool) {
	t.Helper()
	var out struct{ Value []e2eSession }
	e.mustAPI(t, http.StatusOK, "GET", "/odata/Sessions", nil, &out)
	for _, s := range out.Value {
		if s.HostMachineName == host {
			return s, true
		}
	}
	return e2eSession{}, false
}

// robotProc is `orch robot` running as a process of its own group.
type robotProc struct {
	host, workDir string
	cmd           *exec.Cmd
	log           *syncBuffer
	done          chan struct{}
}

// startRobot runs `orch robot` as the demo machine on host name host and waits until its
// session is Available. At the end of the test it gets SIGTERM (a clean exit), then
// SIGKILL if it is still there.
func (e *robotE2E) startRobot(t *testing.T, host string) *robotProc {
	t.Helper()
	home := t.TempDir()
	p := &robotProc{host: host, workDir: filepath.Join(home, "work"), log: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(orchBin, "robot", "--url", e.URL, "--org", e.ex["ORCH_DEMO_ORG"], "--tenant", e.ex["ORCH_DEMO_TENANT"],
		"--client-id", e.ex["ORCH_DEMO_MACHINE_CLIENT_ID"], "--work-dir", p.workDir, "--host-name", host,
		"--stop-grace", "5s", "--shutdown-timeout", "1s", "--log-level", "debug")
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "ORCH_ROBOT_CLIENT_SECRET=" + e.ex["ORCH_DEMO_MACHINE_CLIENT_SECRET"]}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Errorf("orch robot %s did not exit within 10s of SIGTERM", host)
		}
		p.kill()
		if t.Failed() {
			t.Logf("orch robot %s log:\n%s", host, p.log)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if s, ok := e.session(t, host); ok && s.State == "Available" && !s.IsUnresponsive {
			break
		}
		select {
		case <-p.done:
			t.Fatalf("orch robot exited before connecting: %v\n%s", p.cmd.ProcessState, p.log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the robot on %s was not Available within 30s\n%s", host, p.log)
		}
	}
	return p
}

// kill sends SIGKILL to the robot's process group and waits for the robot to exit.
func (p *robotProc) kill() {
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// TestRobotEndToEnd runs jobs through a real `orch robot`, on SQLite and (with
// ORCH_TEST_POSTGRES_URL) on PostgreSQL.
func TestRobotEndToEnd(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh: jobs cannot run")
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			t.Run("shared", func(t *testing.T) { testRobotShared(t, engine) })
			t.Run("killed", func(t *testing.T) { testRobotKilled(t, engine) })
		})
	}
}

// testRobotShared runs every test that one robot can serve, one after the other.
func testRobotShared(t *testing.T, engine string) {
	e := startRobotE2E(t, engine)
	p := e.startRobot(t, "e2e-host")
	// The sub-second heartbeat reached the robot as it is. The robot logs its connection
	// after the server has it, so the line may come a moment after startRobot returns.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(p.log.String(), "heartbeat="+e2eHeartbeat); {
		if time.Now().After(deadline) {
			t.Errorf("the robot's log does not say heartbeat=%s:\n%s", e2eHeartbeat, p.log)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	e.publish(t, "Greet", `echo "first line"
echo "broken pipe of the flux capacitor" >&2
echo "second line"
who=$(sed -n 's/.*"who":"\([^"]*\)".*/\1/p' "$ORCH_INPUT_FILE")
echo "last line for $who"
echo "done" >&2
printf '{"greeting":"hello %s","n":3}' "$who" > "$ORCH_OUTPUT_FILE"
`)
	e.publish(t, "Broken", `echo "reading the invoice"
echo "line one of the trouble" >&2
echo "invoice 17 has no total" >&2
exit 3
`)
	e.publish(t, "Sleeper", `sleep 0.5`)

	t.Run("dispatch is immediate", func(t *testing.T) {
		if s, _ := e.session(t, p.host); s.State != "Available" || s.RunningJobs != 0 {
			t.Fatalf("the robot is not idle: %+v", s)
		}
		j := e.startJob(t, "Sleeper", "")
		started := time.Now()
		j = e.waitJob(t, j.ID, 5*time.Second, "taken by the robot", func(j e2eJob) bool { return j.State != "Pending" })
		took := time.Since(started)
		t.Logf("job %d was %s %s after StartJobs", j.ID, j.State, took.Round(time.Millisecond))
		// The whole path with a real process, on a CI machine that may be loaded: the bound
		// is loose. That the wake-up, not the poll, answers is shown with a one-minute poll
		// by TestRobotProtocol and TestWakeAcrossNodes (internal/api).
		if (j.State != "Running" && j.State != "Successful") || took > 3*time.Second {
			t.Errorf("job %d was %s after %s; want Running within 3s", j.ID, j.State, took)
		}
		if j.HostMachineName == nil || *j.HostMachineName != p.host {
			t.Errorf("job %d runs on host %v; want %s", j.ID, str(j.HostMachineName), p.host)
		}
		e.waitEnded(t, j.ID, "Successful")
	})

	t.Run("successful job", func(t *testing.T) {
		j := e.startJob(t, "Greet", `{"who":"e2e"}`)
		j = e.waitEnded(t, j.ID, "Successful")
		if got, want := j.output(t), map[string]any{"greeting": "hello e2e", "n": 3.0}; !reflect.DeepEqual(got, want) {
			t.Errorf("OutputArguments = %v; want %v", got, want)
		}
		logs := e.logs(t, j.Key)
		if got, want := messages(logs, "Info"), []string{"first line", "second line", "last line for e2e"}; !slices.Equal(got, want) {
			t.Errorf("Info lines = %q; want %q", got, want)
		}
		if got, want := messages(logs, "Error"), []string{"broken pipe of the flux capacitor", "done"}; !slices.Equal(got, want) {
			t.Errorf("Error lines = %q; want %q", got, want)
		}
		if len(logs) != 5 {
			t.Errorf("%d log lines; want 5: %+v", len(logs), logs)
		}

		// orch jobs logs prints them, in the same order.
		out := e.tc.mustRes(t, "jobs", "logs", fmt.Sprint(j.ID), "--folder", "Shared")
		var printed []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if _, rest, ok := strings.Cut(line, " "); ok { // the time first
				printed = append(printed, strings.Join(strings.Fields(rest), " "))
			}
		}
		var want []string
		for _, l := range logs {
			want = append(want, l.Level+" "+l.Message)
		}
		if !slices.Equal(printed, want) {
			t.Errorf("orch jobs logs printed %q; want %q", printed, want)
		}
	})

	t.Run("jobs start --wait", func(t *testing.T) {
		out, errOut, err := e.tc.res("jobs", "start", "Greet", "--folder", "Shared", "--input", `{"who":"cli"}`, "--wait")
		if err != nil || !strings.Contains(out, "State: Successful") || !strings.Contains(out, `hello cli`) {
			t.Errorf("jobs start Greet --wait: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
		}
		if !strings.Contains(errOut, ": Successful") {
			t.Errorf("jobs start --wait showed no Successful state on stderr:\n%s", errOut)
		}
		out, errOut, err = e.tc.res("jobs", "start", "Broken", "--folder", "Shared", "--wait")
		if err == nil || !strings.Contains(err.Error(), "ended Faulted") || !strings.Contains(out, "State: Faulted") ||
			!strings.Contains(out, "JobError: ExitCode") {
			t.Errorf("jobs start Broken --wait: %v; want an error saying Faulted\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
		}
	})

	t.Run("faulted job", func(t *testing.T) {
		j := e.startJob(t, "Broken", "")
		j = e.waitEnded(t, j.ID, "Faulted")
		if j.JobError == nil || j.JobError.Code != "ExitCode" || !strings.Contains(j.JobError.Title, "3") ||
			!strings.Contains(j.JobError.Detail, "line one of the trouble\ninvoice 17 has no total") {
			t.Errorf("JobError = %+v; want code ExitCode naming status 3, with the stderr tail in Detail", j.JobError)
		}
		if got := messages(e.logs(t, j.Key), "Error"); !slices.Equal(got, []string{"line one of the trouble", "invoice 17 has no total"}) {
			t.Errorf("Error lines = %q", got)
		}
	})

	t.Run("soft stop", func(t *testing.T) {
		e.publish(t, "Polite", `trap 'echo "cleaning up after TERM"; exit 0' TERM
echo "working"
while :; do sleep 0.1; done
`)
		j := e.startJob(t, "Polite", "")
		e.waitLog(t, j.Key, "working")
		e.mustAPI(t, http.StatusOK, "POST", fmt.Sprintf("/odata/Jobs(%d)/UiPath.Server.Configuration.OData.StopJob", j.ID),
			map[string]any{"strategy": "SoftStop"}, nil)
		j = e.waitEnded(t, j.ID, "Stopped")
		if got := messages(e.logs(t, j.Key), "Info"); !slices.Equal(got, []string{"working", "cleaning up after TERM"}) {
			t.Errorf("Info lines = %q; want the line the TERM trap wrote after working", got)
		}
	})

	t.Run("kill", func(t *testing.T) {
		e.publish(t, "Stubborn", `trap '' TERM
echo "ignoring TERM"
while :; do sleep 0.1; done
`)
		j := e.startJob(t, "Stubborn", "")
		e.waitLog(t, j.Key, "ignoring TERM")
		stopped := time.Now()
		e.mustAPI(t, http.StatusOK, "POST", fmt.Sprintf("/odata/Jobs(%d)/UiPath.Server.Configuration.OData.StopJob", j.ID),
			map[string]any{"strategy": "Kill"}, nil)
		e.waitEnded(t, j.ID, "Stopped")
		// The robot's stop grace is 5s: a Kill that waited for it, or a SIGTERM, would not
		// end the job this soon.
		if took := time.Since(stopped); took > 3*time.Second {
			t.Errorf("a killed job took %s to end Stopped; want it quickly", took)
		}
	})

	t.Run("work queue", func(t *testing.T) {
		if _, err := exec.LookPath("curl"); err != nil {
			t.Skip("curl is not installed: the dispatcher and performer jobs call the API with it")
		}
		const n = 5
		// The dispatcher adds n items to the demo queue with the job's own token, naming
		// the folder by its Id.
		e.publish(t, "Dispatcher", `set -e
n=$(sed -n 's/.*"count":\([0-9]*\).*/\1/p' "$ORCH_INPUT_FILE")
i=1
while [ "$i" -le "$n" ]; do
  curl -fsS -o /dev/null -X POST "$ORCH_URL/odata/Queues/UiPathODataSvc.AddQueueItem" \
    -H "Authorization: Bearer $ORCH_ACCESS_TOKEN" -H "X-UIPATH-OrganizationUnitId: $ORCH_FOLDER_ID" \
    -H "Content-Type: application/json" \
    -d '{"itemData":{"Name":"Invoices","Priority":"Normal","Reference":"e2e-inv-'"$i"'","SpecificContent":{"Number":'"$i"'}}}'
  echo "added e2e-inv-$i"
  i=$((i + 1))
done
printf '{"added":%d}' "$n" > "$ORCH_OUTPUT_FILE"
`)
		// The performer takes items until StartTransaction answers 204, with the token of
		// its file and the folder by its path.
		e.publish(t, "Performer", `set -e
done=0
while :; do
  code=$(curl -sS -o "$TMPDIR/item.json" -w '%{http_code}' -X POST "$ORCH_URL/odata/Queues/UiPathODataSvc.StartTransaction" \
    -H "Authorization: Bearer $(cat "$ORCH_ACCESS_TOKEN_FILE")" -H "X-UIPATH-FolderPath: $ORCH_FOLDER_PATH" \
    -H "Content-Type: application/json" -d '{"transactionData":{"Name":"Invoices"}}')
  [ "$code" = 204 ] && break
  if [ "$code" != 200 ]; then echo "StartTransaction answered $code: $(cat "$TMPDIR/item.json")" >&2; exit 1; fi
  id=$(grep -o '"Id":[0-9]*' "$TMPDIR/item.json" | head -n 1 | cut -d: -f2)
  curl -fsS -o /dev/null -X POST "$ORCH_URL/odata/Queues($id)/UiPathODataSvc.SetTransactionResult" \
    -H "Authorization: Bearer $(cat "$ORCH_ACCESS_TOKEN_FILE")" -H "X-UIPATH-FolderPath: $ORCH_FOLDER_PATH" \
    -H "Content-Type: application/json" -d '{"transactionResult":{"IsSuccessful":true}}'
  echo "processed item $id"
  done=$((done + 1))
done
printf '{"processed":%d}' "$done" > "$ORCH_OUTPUT_FILE"
`)
		d := e.startJob(t, "Dispatcher", fmt.Sprintf(`{"count":%d}`, n))
		d = e.waitEnded(t, d.ID, "Successful")
		if got := d.output(t); got["added"] != float64(n) {
			t.Errorf("dispatcher output = %v; want added %d", got, n)
		}
		perf := e.startJob(t, "Performer", "")
		perf = e.waitEnded(t, perf.ID, "Successful")
		if got := perf.output(t); got["processed"] != float64(n) {
			t.Errorf("performer output = %v; want processed %d", got, n)
		}
		var items struct {
			Value []struct{ Reference, Status string }
		}
		e.mustAPI(t, http.StatusOK, "GET", "/odata/QueueItems?"+url.Values{"$filter": {"startswith(Reference,'e2e-inv-')"},
			"$orderby": {"Id"}}.Encode(), nil, &items)
		if len(items.Value) != n {
			t.Fatalf("%d items with the dispatcher's references; want %d: %+v", len(items.Value), n, items.Value)
		}
		for i, it := range items.Value {
			if it.Reference != fmt.Sprintf("e2e-inv-%d", i+1) || it.Status != "Successful" {
				t.Errorf("item %d: %+v; want e2e-inv-%d Successful", i, it, i+1)
			}
		}
	})

	t.Run("clean environment", func(t *testing.T) {
		e.publish(t, "Env", `env
printf '{"env":"%s"}' "$(env | base64 | tr -d '\n')" > "$ORCH_OUTPUT_FILE"
`)
		j := e.startJob(t, "Env", "")
		j = e.waitEnded(t, j.ID, "Successful")
		raw, err := base64.StdEncoding.DecodeString(fmt.Sprint(j.output(t)["env"]))
		if err != nil {
			t.Fatal(err)
		}
		vars := map[string]string{}
		for _, line := range strings.Split(string(raw), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				vars[k] = v
			}
		}
		var robots struct {
			Value []struct{ Key, HostName string }
		}
		e.mustAPI(t, http.StatusOK, "GET", "/odata/Robots", nil, &robots)
		var robotKey string
		for _, r := range robots.Value {
			if r.HostName == p.host {
				robotKey = r.Key
			}
		}
		want := map[string]string{"ORCH_URL": e.apiBase(), "ORCH_JOB_KEY": j.Key, "ORCH_JOB_ID": fmt.Sprint(j.ID),
			"ORCH_FOLDER_ID": fmt.Sprint(j.OrganizationUnitID), "ORCH_FOLDER_PATH": "Shared", "ORCH_ROBOT_KEY": robotKey,
			"ORCH_ORG": e.ex["ORCH_DEMO_ORG"], "ORCH_TENANT": e.ex["ORCH_DEMO_TENANT"]}
		for k, v := range want {
			if vars[k] != v || v == "" {
				t.Errorf("%s = %q in the job's environment; want %q", k, vars[k], v)
			}
		}
		for _, k := range []string{"ORCH_ACCESS_TOKEN", "ORCH_ACCESS_TOKEN_FILE", "ORCH_INPUT_FILE", "ORCH_OUTPUT_FILE", "TMPDIR"} {
			if vars[k] == "" {
				t.Errorf("%s is missing from the job's environment", k)
			}
		}
		for k := range vars {
			if strings.HasPrefix(k, "ORCH_ROBOT_") && k != "ORCH_ROBOT_KEY" {
				t.Errorf("the job's environment has the robot's setting %s", k)
			}
		}
		secret := e.ex["ORCH_DEMO_MACHINE_CLIENT_SECRET"]
		if secret == "" {
			t.Fatal("no machine secret in the demo block")
		}
		logs := e.logs(t, j.Key)
		if !slices.ContainsFunc(logs, func(l e2eLog) bool { return l.Message == "ORCH_JOB_KEY="+j.Key }) {
			t.Errorf("the job's logs do not hold its env output: %+v", logs)
		}
		all, _ := json.Marshal(logs)
		for where, text := range map[string]string{"environment": string(raw), "logs": string(all), "output": *j.OutputArguments,
			"robot's own log": p.log.String()} {
			if strings.Contains(text, secret) {
				t.Errorf("the machine's client secret appears in the job's %s", where)
			}
		}
	})
}

// testRobotKilled kills a robot with SIGKILL while it runs a job: after the unresponsive
// setting the server ends the job Faulted (RobotUnresponsive) and shows the robot
// unresponsive. It has a server of its own, so that no other robot takes its job.
func testRobotKilled(t *testing.T, engine string) {
	e := startRobotE2E(t, engine)
	p := e.startRobot(t, "doomed-host")
	// The job ends by itself once its robot is gone (its parent changes), so that it
	// outlives the robot only briefly.
	e.publish(t, "LongRun", `echo "running"
while kill -0 "$PPID" 2>/dev/null; do sleep 0.1; done
`)
	j := e.startJob(t, "LongRun", "")
	e.waitLog(t, j.Key, "running")
	if s, _ := e.session(t, p.host); s.State != "Busy" || s.RunningJobs != 1 {
		t.Errorf("session of the robot running the job: %+v; want Busy with 1 job", s)
	}
	p.kill()
	killed := time.Now()
	j = e.waitEnded(t, j.ID, "Faulted")
	took := time.Since(killed)
	if j.JobError == nil || j.JobError.Code != "RobotUnresponsive" || !strings.Contains(j.JobError.Detail, "doomed-host") {
		t.Errorf("JobError = %+v; want code RobotUnresponsive naming the robot", j.JobError)
	}
	// Its last call came at most a heartbeat (200ms) before the kill.
	if unresponsive, _ := time.ParseDuration(e2eUnresponsive); took < unresponsive-500*time.Millisecond || took > unresponsive+5*time.Second {
		t.Errorf("the job ended Faulted %s after the kill; want about %s", took, unresponsive)
	}
	s, ok := e.session(t, p.host)
	if !ok || !s.IsUnresponsive || s.State == "Disconnected" || s.RunningJobs != 0 {
		t.Errorf("session of the killed robot: %+v (found %v); want IsUnresponsive, not Disconnected, no running job", s, ok)
	}
}

// TestRobotSurvivesServerRestart stops the server while a job runs and starts it again on
// the same data and address: the robot reconnects, naming the job it still runs, and the
// job ends Successful with its output, as the robot reports it once the server is back.
func TestRobotSurvivesServerRestart(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	// Robots are declared unresponsive only after 30 s: the restart, and the robot's
	// backoff, take less, so the job is not ended for its robot's silence.
	args := []string{"--data-dir", t.TempDir(), "--listen", addr, "--robot-heartbeat-interval", e2eHeartbeat,
		"--robot-unresponsive-after", "30s"}
	first := startServe(t, env(nil), append([]string{"--demo"}, args...)...)
	e := newRobotE2E(t, first)
	p := e.startRobot(t, "restart-host")
	e.publish(t, "Patient", `echo "before"
while [ ! -e "$ORCH_INPUT_FILE.go" ] && [ $(( ${n:=0} )) -lt 100 ]; do n=$((n + 1)); sleep 0.1; done
echo "after"
printf '{"waited":%d}' "$n" > "$ORCH_OUTPUT_FILE"
`)
	j := e.startJob(t, "Patient", "")
	e.waitLog(t, j.Key, "before")

	if err := first.stop(); err != nil {
		t.Fatalf("the first server did not stop cleanly: %v", err)
	}
	stoppedAt := time.Now()
	// The job goes on without a server; its process ends after about 10 s.
	time.Sleep(time.Second)
	second := startServe(t, env(nil), args...)
	if second.URL != first.URL {
		t.Fatalf("the second server serves %s, not %s", second.URL, first.URL)
	}
	e.served = second
	ended := e.waitEnded(t, j.ID, "Successful")
	if out := ended.output(t); out["waited"] == nil {
		t.Errorf("output arguments %v; want what the process wrote", out)
	}
	if got := messages(e.logs(t, j.Key), "Info"); !slices.Equal(got, []string{"before", "after"}) {
		t.Errorf("the job's Info lines %q; want before and after, each once", got)
	}
	// The robot connected again, naming the job it still ran.
	if n := strings.Count(p.log.String(), "msg=connected"); n < 2 {
		t.Errorf("the robot connected %d times; want again after the restart\n%s", n, p.log)
	}
	t.Logf("job %d ended %s after the server stopped", j.ID, time.Since(stoppedAt).Round(time.Millisecond))
}
