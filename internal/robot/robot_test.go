package robot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/robot"
	"github.com/openorch/openorch/internal/robot/robottest"
	"github.com/openorch/openorch/internal/testutil"
)

// syncBuffer is a buffer several goroutines write.
type syncBuffer = testutil.Buffer

func newTestLogger(w *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// testRobot is a robot running against a fake server.
type testRobot struct {
	cfg    robot.Config
	log    *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// startRobot runs a robot with test-sized intervals; mod changes its configuration.
func startRobot(t *testing.T, s *robottest.Server, mod func(*robot.Config)) *testRobot {
	t.Helper()
	cfg := s.Config()
	cfg.WorkDir = t.TempDir()
	logBuf := &syncBuffer{}
	cfg.Logger = newTestLogger(logBuf)
	cfg.BackoffMin, cfg.BackoffMax = 10*time.Millisecond, 100*time.Millisecond
	cfg.LogFlushInterval = 20 * time.Millisecond
	cfg.ShutdownTimeout = 10 * time.Second
	cfg.FinalReportTimeout = 5 * time.Second
	cfg.StopGrace = 5 * time.Second
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tr := &testRobot{cfg: cfg, log: logBuf, cancel: cancel, done: make(chan error, 1)}
	go func() { tr.done <- robot.Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-tr.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("the robot did not stop within 30 s of its context's end")
		}
		if t.Failed() {
			t.Logf("robot log:\n%s", logBuf.String())
		}
	})
	return tr
}

// stop ends the robot's context and returns what Run returned.
func (tr *testRobot) stop(t *testing.T) error {
	t.Helper()
	tr.cancel()
	select {
	case err := <-tr.done:
		tr.done <- err // for the cleanup
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("the robot did not stop within 30 s of its context's end")
		return nil
	}
}

var jobSeq struct {
	sync.Mutex
	n int
}

// newJob is an assignment with a fresh key.
func newJob() robot.JobAssignment {
	jobSeq.Lock()
	jobSeq.n++
	n := jobSeq.n
	jobSeq.Unlock()
	return robot.JobAssignment{JobKey: fmt.Sprintf("0000000%d-aaaa-bbbb-cccc-000000000000", n), JobID: int64(100 + n),
		FolderID: 3, FolderKey: "folder-key-3", FolderPath: "Shared", ProcessName: "Proc", PackageID: "Test.Proc",
		PackageVersion: "1.0.0"}
}

func messages(entries []robot.LogEntry, level string) []string {
	var out []string
	for _, e := range entries {
		if level == "" || e.Level == level {
			out = append(out, e.Message)
		}
	}
	return out
}

func TestSuccessWithOutputArguments(t *testing.T) {
	t.Parallel()
	s := robottest.New(t)
	tr := startRobot(t, s, nil)
	pkg := robottest.Package(t, "Test.Proc", "1.0.0", `
echo "hello from $ORCH_JOB_KEY"
echo "input: $(cat "$ORCH_INPUT_FILE")"
echo "a warning" >&2
pwd > "$TMPDIR/pwd"
printf '{"total":3,"input":%s,"cwd":"%s"}' "$(cat "$ORCH_INPUT_FILE")" "$(pwd)" > "$ORCH_OUTPUT_FILE"
`)
	a := newJob()
	a.InputArguments = json.RawMessage(`{"amount":42}`)
	a = s.AddJob(a, pkg)
	st := s.WaitState(t, a.JobKey, 20*time.Second)
	if st.Event != robot.EventSucceed || st.Error != nil {
		t.Fatalf("report = %+v, want Succeed", st)
	}
	var out struct {
		Total int             `json:"total"`
		Input json.RawMessage `json:"input"`
		Cwd   string          `json:"cwd"`
	}
	if err := json.Unmarshal(st.OutputArguments, &out); err != nil {
		t.Fatalf("output arguments %s: %v", st.OutputArguments, err)
	}
	if out.Total != 3 || string(out.Input) != `{"amount":42}` {
		t.Errorf("output arguments = %s", st.OutputArguments)
	}
	jobDir := filepath.Join(tr.cfg.WorkDir, "jobs", a.JobKey)
	if out.Cwd != jobDir {
		t.Errorf("the process ran in %s, want the job's directory %s", out.Cwd, jobDir)
	}
	if _, err := os.Stat(jobDir); !os.IsNotExist(err) {
		t.Errorf("the job's directory is still there after the job: %v", err)
	}
	logs := s.Logs(a.JobKey)
	if got := messages(logs, robot.LevelInfo); !slices.Equal(got, []string{"hello from " + a.JobKey, `input: {"amount":42}`}) {
		t.Errorf("Info lines = %q", got)
	}
	if got := messages(logs, robot.LevelError); !slices.Equal(got, []string{"a warning"}) {
		t.Errorf("Error lines = %q", got)
	}
	c := s.Connects()
	if len(c) == 0 || c[0].HostName != "test-host" || len(c[0].RunningJobKeys) != 0 {
		t.Errorf("connects = %+v", c)
	}
	if s.Running(a.JobKey) {
		t.Error("the server still has the job running")
	}
}

func TestFailureKeepsStderrTail(t *testing.T) {
	t.Parallel()
	s := robottest.New(t)
	startRobot(t, s, nil)
	pkg := robottest.Package(t, "Test.Fail", "1.0.0", `
i=0
while [ $i -lt 200 ]; do echo "noise line $i: 0123456789012345678901234567890123456789" >&2; i=$((i+1)); done
echo "the last words" >&2
exit 3
`)
	a := s.AddJob(newJob(), pkg)
	st := s.WaitState(t, a.JobKey, 20*time.Second)
	if st.Event != robot.EventFail || st.Error == nil || st.Error.Code != robot.CodeExitCode || st.Error.Title != "The process exited with 3" {
		t.Fatalf("report = %+v, want Fail ExitCode with 3", st)
	}
	if !strings.HasSuffix(st.Error.Detail, "the last words") || len(st.Error.Detail) > 4096 || len(st.Error.Detail) < 4000 {
		t.Errorf("detail (%d bytes) should be the last 4 KiB of stderr, ending in the last line: …%q",
			len(st.Error.Detail), st.Error.Detail[max(0, len(st.Error.Detail)-80):])
	}
	if st.OutputArguments != nil {
		t.Errorf("a failed job sent output arguments %s", st.OutputArguments)
	}
}

func TestInvalidOutputFails(t *testing.T) {
	t.Parallel()
	s := robottest.New(t)
	startRobot(t, s, nil)
	for _, tc := range []struct{ name, write string }{
		{"not JSON", `echo 'total=3' > "$ORCH_OUTPUT_FILE"`},
		{"an array", `echo '[1,2]' > "$ORCH_OUTPUT_FILE"`},
	} {
		a := s.AddJob(newJob(), robottest.Package(t, "Test.Out", "1.0.0", tc.write))
		st := s.WaitState(t, a.JobKey, 20*time.Second)
		if st.Event != robot.EventFail || st.Error == nil || st.Error.Code != robot.CodeOutputInvalid ||
			!strings.Contains(st.Error.Title, "not a JSON object") {
			t.Errorf("%s: report = %+v, want Fail OutputInvalid saying it is not a JSON object", tc.name, st)
		}
	}
}

// waitLog waits for a job's log line.
func waitLog(t *testing.T, s *robottest.Server, jobKey, line string) {
	t.Helper()
	robottest.Eventually(t, 20*time.Second, "log line "+line, func() bool {
		return slices.Contains(messages(s.Logs(jobKey), ""), line)
	})
}

func TestSoftStopSendsSIGTERM(t *testing.T) {
	t.Parallel()
	s := robottest.New(t)
	startRobot(t, s, nil)
	marker := filepath.Join(t.TempDir(), "marker")
	pkg := robottest.Package(t, "Test.Soft", "1.0.0", fmt.Sprintf(`
trap 'echo got-term > %q; exit 7' TERM
echo ready
while true; do sleep 0.05; done
`, marker))
	a := s.AddJob(newJob(), pkg)
	waitLog(t, s, a.JobKey, "ready")
	s.Stop(a.JobKey, robot.SoftStop)
	st := s.WaitState(t, a.JobKey, 20*time.Second)
	if b, err := os.ReadFile(marker); err != nil || strings.TrimSpace(string(b)) != "got-term" {
		t.Errorf("the process did not get SIGTERM (marker: %q, %v)", b, err)
	}
	if st.Event != robot.EventFail || st.Error == nil || st.Error.Title != "The process exited with 7 after a SoftStop request" {
		t.Errorf("report = %+v, want the process's own end (exit 7) after the SoftStop", st)
	}
}

func TestSoftStopKillsAfterGrace(t *testing.T) {
	t.Parallel()
	s := robottest.New(t)
	startRobot(t, s, func(c *robot.Config) { c.StopGrace = 200 * time.Millisecond })
	pkg := robottest.Package(t, "Test.Stubborn", "1.0.0", `
trap 'echo ignoring TERM' TERM
echo ready
while true; do sleep 0.05; done
`)
	a := s.AddJob(newJob(), pkg)
	waitLog(t, s, a.JobKey, "ready")
	start := time.Now()
	s.Stop(a.JobKey, robot.SoftStop)
	st := s.WaitState(t, a.JobKey, 20*time.Second)
	if st.Event != robot.EventFail || st.Error == nil || st.Error.Code != robot.CodeSignal || !strings.Contains(st.Error.Title, "killed") {
		t.Errorf("report = %+v, want Fail by SIGKILL", st)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("the process was killed %s after SIGTERM, before the grace of 200ms", d)
	}
	waitLog(t, s, a.JobKey, "ignoring TERM")
}

func TestKillByHeartbeat(t *testing.T) {
	t.Parallel()
	s := robottest.New(t)
	startRobot(t, s, nil)
	pkg := robottest.Package(t, "Test.Kill", "1.0.0", `
trap 'echo should not run' TERM
echo ready
while true; do sleep 0.05; done
`)
	a := s.AddJob(newJob(), pkg)
	waitLog(t, s, a.JobKey, "ready")
	s.StopByHeartbeat(a.JobKey, robot.Kill)
	st := s.WaitState(t, a.JobKey, 20*time.Second)
	if st.Event != robot.EventFail || st.Error == nil || st.Error.Code != robot.CodeSignal ||
		st.Error.Title != "The process was ended by a signal (signal: killed) after a Kill request" {
		t.Errorf("report = %+v, want Fail by SIGKILL after the Kill", st)
	}
	if slices.Contains(messages(s.Logs(a.JobKey), ""), "should not run") {
		t.Error("Kill sent SIGTERM")
	}
}

func TestMaxRunTime(t *testing.T) {
	t.Parallel()
	s := robottest.New(t)
	startRobot(t, s, nil)
	a := newJob()
	a.MaxRunTimeSeconds = 0.3
	a = s.AddJob(a, robottest.Package(t, "Test.Long", "1.0.0", "echo started; sleep 60"))
	st := s.WaitState(t, a.JobKey, 20*time.Second)
	if st.Event != robot.EventFail || st.Error == nil || st.Error.Code != robot.CodeMaxRunTimeExceeded {
		t.Errorf("report = %+v, want Fail MaxRunTimeExceeded", st)
	}
}

func TestCancelKillsWithoutReport(t *testing.T) {
	t.Parallel()
	s := robottest.New(t)
	tr := startRobot(t, s, nil)
	marker := filepath.Join(t.TempDir(), "alive")
	a := s.AddJob(newJob(), robottest.Package(t, "Test.Cancel", "1.0.0", fmt.Sprintf(`
echo ready
while true; do date +%%s%%N > %q; sleep 0.02; done`, marker)))
	waitLog(t, s, a.JobKey, "ready")
	s.Cancel(a.JobKey)
	robottest.Eventually(t, 20*time.Second, "the job's directory removed", func() bool {
		_, err := os.Stat(filepath.Join(tr.cfg.WorkDir, "jobs", a.JobKey))
		return os.IsNotExist(err)
	})
	b1, _ := os.ReadFile(marker)
	time.Sleep(150 * time.Millisecond)
	if b2, _ := os.ReadFile(marker); !bytes.Equal(b1, b2) {
		t.Error("the cancelled job's process is still running")
	}
	if err := tr.stop(t); err != nil {
		t.Fatal(err)
	}
	for _, st := range s.States() {
		if st.JobKey == a.JobKey {
			t.Errorf("a cancelled job was reported: %+v", st)
		}
	}
}

func TestCleanEnvironment(t *testing.T) {
	t.Parallel()
	s := robottest.New(t)
	tr := startRobot(t, s, nil)
	a := s.AddJob(newJob(), robottest.Package(t, "Test.Env", "1.0.0", `env; echo "token file: $(cat "$ORCH_ACCESS_TOKEN_FILE")"`))
	st := s.WaitState(t, a.JobKey, 20*time.Second)
	if st.Event != robot.EventSucceed {
		t.Fatalf("report = %+v", st)
	}
	env := map[string]string{}
	var tokenFileLine string
	for _, m := range messages(s.Logs(a.JobKey), robot.LevelInfo) {
		if strings.HasPrefix(m, "token file: ") {
			tokenFileLine = m
			continue
		}
		k, v, ok := strings.Cut(m, "=")
		if ok {
			env[k] = v
		}
	}
	jobDir := filepath.Join(tr.cfg.WorkDir, "jobs", a.JobKey)
	want := map[string]string{
		"ORCH_URL":               s.URL + "/acme/DefaultTenant/orchestrator_",
		"ORCH_ORG":               "acme",
		"ORCH_TENANT":            "DefaultTenant",
		"ORCH_FOLDER_ID":         "3",
		"ORCH_FOLDER_KEY":        "folder-key-3",
		"ORCH_FOLDER_PATH":       "Shared",
		"ORCH_JOB_KEY":           a.JobKey,
		"ORCH_JOB_ID":            fmt.Sprint(a.JobID),
		"ORCH_ROBOT_KEY":         "robot-key-" + tr.cfg.HostName,
		"ORCH_ACCESS_TOKEN":      a.AccessToken,
		"ORCH_ACCESS_TOKEN_FILE": filepath.Join(jobDir, ".orch", "access-token"),
		"ORCH_INPUT_FILE":        filepath.Join(jobDir, ".orch", "input.json"),
		"ORCH_OUTPUT_FILE":       filepath.Join(jobDir, ".orch", "output.json"),
		"TMPDIR":                 filepath.Join(jobDir, ".orch", "tmp"),
		"PATH":                   os.Getenv("PATH"),
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	allowed := []string{"HOME", "LANG", "PWD", "OLDPWD", "SHLVL", "_"}
	for k := range env {
		if _, ok := want[k]; !ok && !slices.Contains(allowed, k) {
			t.Errorf("the job's environment has %s, which the robot must not pass", k)
		}
	}
	if tokenFileLine != "token file: "+a.AccessToken {
		t.Errorf("ORCH_ACCESS_TOKEN_FILE holds %q, want the job's token", tokenFileLine)
	}
	all := strings.Join(messages(s.Logs(a.JobKey), ""), "\n")
	for _, secret := range []string{s.ClientSecret, "robot-token-"} {
		if strings.Contains(all, secret) {
			t.Errorf("the job's process saw the robot's secret or token %q", secret)
		}
		if strings.Contains(tr.log.String(), secret) {
			t.Errorf("the robot's log holds its secret or token %q", secret)
		}
	}
}

func TestUnsafePackagesAreRefused(t *testing.T) {
	t.Parallel()
	s := robottest.New(t)
	outside := t.TempDir()
	startRobot(t, s, func(c *robot.Config) { c.MaxUnpackedSize = 64 << 10 })
	base := func(extra ...robottest.Entry) []byte {
		return robottest.Package(t, "Test.Bad", "1.0.0", "echo ran", extra...)
	}
	for _, tc := range []struct {
		name, want string
		pkg        []byte
	}{
		{"zip slip", "leads out of the package", base(robottest.Entry{Name: "../../../../../../" + outside + "/evil.sh", Body: "x"})},
		{"dot dot inside", "leads out of the package", base(robottest.Entry{Name: "lib/../../evil.sh", Body: "x"})},
		{"absolute", "is an absolute path", base(robottest.Entry{Name: outside + "/abs.sh", Body: "x"})},
		{"symlink", "is a symbolic link", base(robottest.Entry{Name: "link", Body: "/etc/passwd", Mode: fs.ModeSymlink | 0o777})},
		{"oversized", "the limit is 64 KiB", base(robottest.Entry{Name: "big.bin", Body: strings.Repeat("0", 100<<10)})},
	} {
		a := s.AddJob(newJob(), tc.pkg)
		st := s.WaitState(t, a.JobKey, 20*time.Second)
		if st.Event != robot.EventFail || st.Error == nil || st.Error.Code != robot.CodePackageInvalid || !strings.Contains(st.Error.Title, tc.want) {
			t.Errorf("%s: report = %+v, want Fail PackageInvalid saying %q", tc.name, st, tc.want)
		}
		if slices.Contains(messages(s.Logs(a.JobKey), ""), "ran") {
			t.Errorf("%s: the package ran", tc.name)
		}
	}
	if entries, _ := os.ReadDir(outside); len(entries) > 0 {
		t.Errorf("unpacking wrote outside the job's directory: %v", entries)
	}
}

func TestHashMismatchIsRefused(t *testing.T) {
	t.Parallel()
	s := robottest.New(t)
	tr := startRobot(t, s, nil)
	a := newJob()
	a.PackageSha256 = strings.Repeat("ab", 32)
	a = s.AddJob(a, robottest.Package(t, "Test.Hash", "1.0.0", "echo ran"))
	st := s.WaitState(t, a.JobKey, 20*time.Second)
	if st.Event != robot.EventFail || st.Error == nil || st.Error.Code != robot.CodePackageInvalid || !strings.Contains(st.Error.Title, "did not verify") {
		t.Errorf("report = %+v, want Fail PackageInvalid: did not verify", st)
	}
	if entries, _ := os.ReadDir(filepath.Join(tr.cfg.WorkDir, "packages")); len(entries) > 0 {
		t.Errorf("a package that did not verify was kept: %v", entries)
	}
}

func TestPackageDownloadedOnce(t *testing.T) {
	t.Parallel()
	s := robottest.New(t)
	tr := startRobot(t, s, nil)
	pkg := robottest.Package(t, "Test.Cache", "1.0.0", "echo ran")
	a1 := s.AddJob(newJob(), pkg)
	a2 := s.AddJob(newJob(), pkg)
	for _, a := range []robot.JobAssignment{a1, a2} {
		if st := s.WaitState(t, a.JobKey, 20*time.Second); st.Event != robot.EventSucceed {
			t.Errorf("report = %+v", st)
		}
	}
	a3 := s.AddJob(newJob(), pkg)
	if st := s.WaitState(t, a3.JobKey, 20*time.Second); st.Event != robot.EventSucceed {
		t.Errorf("report = %+v", st)
	}
	if n := s.Downloads(); n != 1 {
		t.Errorf("the package was downloaded %d times for three jobs, want once", n)
	}
	if _, err := os.Stat(filepath.Join(tr.cfg.WorkDir, "packages", a1.PackageSha256+".nupkg")); err != nil {
		t.Errorf("the package is not in the cache under its hash: %v", err)
	}
}

func TestLogsShippedInOrder(t *testing.T) {
	t.Parallel()
	s := robottest.New(t)
	startRobot(t, s, nil)
	a := s.AddJob(newJob(), robottest.Package(t, "Test.Logs", "1.0.0", `
i=1
while [ $i -le 2500 ]; do echo "line $i"; i=$((i+1)); done
echo "to stderr" >&2
head -c 70000 /dev/zero | tr '\0' 'x'; echo
echo done
`))
	if st := s.WaitState(t, a.JobKey, 30*time.Second); st.Event != robot.EventSucceed {
		t.Fatalf("report = %+v", st)
	}
	logs := s.Logs(a.JobKey)
	info := messages(logs, robot.LevelInfo)
	if len(info) != 2502 {
		t.Fatalf("%d Info lines, want 2502", len(info))
	}
	for i := range 2500 {
		if info[i] != fmt.Sprintf("line %d", i+1) {
			t.Fatalf("Info line %d = %q: out of order or lost", i, info[i])
		}
	}
	long := info[2500]
	if len(long) > robot.MaxLogMessage || !strings.HasPrefix(long, "xxxx") || !strings.Contains(long, "[cut: the line was 70000 bytes") {
		t.Errorf("a 70000-byte line became %d bytes ending %q, want it cut to 64 KiB and marked", len(long), long[max(0, len(long)-80):])
	}
	if info[2501] != "done" {
		t.Errorf("last line %q", info[2501])
	}
	if got := messages(logs, robot.LevelError); !slices.Equal(got, []string{"to stderr"}) {
		t.Errorf("Error lines = %q", got)
	}
}

func TestSlotsAreHonoured(t *testing.T) {
	t.Parallel()
	s := robottest.New(t)
	s.Slots = 3
	startRobot(t, s, func(c *robot.Config) { c.Slots = 1 })
	trace := filepath.Join(t.TempDir(), "trace")
	script := fmt.Sprintf(`echo "start $ORCH_JOB_KEY" >> %q; sleep 0.2; echo "end $ORCH_JOB_KEY" >> %q`, trace, trace)
	pkg := robottest.Package(t, "Test.Slots", "1.0.0", script)
	a1 := s.AddJob(newJob(), pkg)
	a2 := s.AddJob(newJob(), pkg)
	s.WaitState(t, a1.JobKey, 20*time.Second)
	s.WaitState(t, a2.JobKey, 20*time.Second)
	b, _ := os.ReadFile(trace)
	want := fmt.Sprintf("start %s\nend %s\nstart %s\nend %s\n", a1.JobKey, a1.JobKey, a2.JobKey, a2.JobKey)
	if string(b) != want {
		t.Errorf("with one slot the jobs overlapped:\n%s", b)
	}
	for _, n := range s.Nexts() {
		if n.FreeSlots > 1 {
			t.Errorf("robot/next offered %d free slots; --slots is 1", n.FreeSlots)
		}
	}
}

// A job's slot is free once its report is delivered, as the server counts it: the robot
// asks for no more jobs than the server would give it, and asks at once after the report
// rather than when its long poll ends.
func TestSlotFreedByReport(t *testing.T) {
	t.Parallel()
	s := robottest.New(t)
	s.Slots, s.MaxWait, s.StateDelay = 1, 30, 300*time.Millisecond
	startRobot(t, s, nil)
	pkg := robottest.Package(t, "Test.Report", "1.0.0", "true")
	a1 := s.AddJob(newJob(), pkg)
	a2 := s.AddJob(newJob(), pkg)
	s.WaitState(t, a1.JobKey, 20*time.Second)
	s.WaitState(t, a2.JobKey, 10*time.Second) // well within the 30 s poll
	nexts, running := s.Nexts(), s.RunningAtNexts()
	for i, n := range nexts {
		if n.FreeSlots+running[i] > s.Slots {
			t.Errorf("robot/next %d offered %d free slots while the server had %d of its 1 job running", i, n.FreeSlots, running[i])
		}
	}
}

// The assignment's entry point wins over project.json's main; a file without a known
// extension runs as an executable.
func TestEntryPointFromAssignment(t *testing.T) {
	t.Parallel()
	s := robottest.New(t)
	startRobot(t, s, nil)
	pkg := robottest.Package(t, "Test.Entry", "1.0.0", "echo main",
		robottest.Entry{Name: "bin/run", Body: "#!/bin/sh\necho \"run in $(pwd)\"\n", Mode: 0o755})
	a := newJob()
	a.EntryPoint = "bin/run"
	a = s.AddJob(a, pkg)
	if st := s.WaitState(t, a.JobKey, 20*time.Second); st.Event != robot.EventSucceed {
		t.Fatalf("report = %+v", st)
	}
	got := messages(s.Logs(a.JobKey), robot.LevelInfo)
	if len(got) != 1 || !strings.HasPrefix(got[0], "run in ") || !strings.HasSuffix(got[0], a.JobKey) {
		t.Errorf("log = %q, want bin/run to have run in the job's directory", got)
	}
	b := newJob()
	b.EntryPoint = "missing.sh"
	b = s.AddJob(b, pkg)
	if st := s.WaitState(t, b.JobKey, 20*time.Second); st.Error == nil || st.Error.Code != robot.CodePackageInvalid || !strings.Contains(st.Error.Title, "missing.sh") {
		t.Errorf("a missing entry point: report = %+v", st)
	}
}

// TestLaunchers shows entry files run by their extension (DESIGN §7): .py with python3 and
// .js with node, each skipped where the interpreter is not installed.
func TestLaunchers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ interpreter, entry, body string }{
		{"python3", "main.py", "import json, os\nprint('py', os.environ['ORCH_JOB_KEY'])\n" +
			"json.dump({'lang': 'py'}, open(os.environ['ORCH_OUTPUT_FILE'], 'w'))\n"},
		{"node", "main.js", "const fs = require('fs');\nconsole.log('js', process.env.ORCH_JOB_KEY);\n" +
			"fs.writeFileSync(process.env.ORCH_OUTPUT_FILE, JSON.stringify({lang: 'js'}));\n"},
	} {
		t.Run(tc.entry, func(t *testing.T) {
			t.Parallel()
			if _, err := exec.LookPath(tc.interpreter); err != nil {
				t.Skipf("%s is not installed", tc.interpreter)
			}
			s := robottest.New(t)
			startRobot(t, s, nil)
			pkg := robottest.Package(t, "Test.Lang", "1.0.0", "exit 9", robottest.Entry{Name: tc.entry, Body: tc.body, Mode: 0o644})
			a := newJob()
			a.EntryPoint = tc.entry
			a = s.AddJob(a, pkg)
			st := s.WaitState(t, a.JobKey, 20*time.Second)
			if st.Event != robot.EventSucceed || string(st.OutputArguments) == "" {
				t.Fatalf("report = %+v", st)
			}
			var out struct{ Lang string }
			if err := json.Unmarshal(st.OutputArguments, &out); err != nil || out.Lang != strings.TrimPrefix(filepath.Ext(tc.entry), ".") {
				t.Errorf("output arguments %s: %v", st.OutputArguments, err)
			}
			if got := messages(s.Logs(a.JobKey), robot.LevelInfo); !slices.Equal(got, []string{out.Lang + " " + a.JobKey}) {
				t.Errorf("Info lines = %q", got)
			}
		})
	}
}
