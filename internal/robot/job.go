package robot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openorch/openorch/internal/packages"
)

// stderrTail is how much of a job's stderr is kept for its error detail.
const stderrTail = 4 << 10

// maxOutputFile bounds the output file read (whitespace included).
const maxOutputFile = 1 << 20

// orchDirName is the directory, inside a job's, that holds what the robot gives the
// process: the input, output and token files, and TMPDIR.
const orchDirName = ".orch"

// job is a job this robot runs.
type job struct {
	a   JobAssignment
	dir string // {work-dir}/jobs/{jobKey}: the unpacked package

	mu             sync.Mutex
	grace          time.Duration
	token          string
	tokenExpiresAt time.Time
	tokenFile      string // set once the job's directory exists
	proc           *os.Process
	exited         bool
	stop           string // the stop requested: SoftStop or Kill
	cancelled      bool   // killed at the server's word: not reported
	overtime       bool   // killed for running past its maximum run time
	graceTimer     *time.Timer
}

func (j *job) heartbeat() HeartbeatJob {
	j.mu.Lock()
	defer j.mu.Unlock()
	h := HeartbeatJob{JobKey: j.a.JobKey}
	if !j.tokenExpiresAt.IsZero() {
		t := j.tokenExpiresAt.UTC()
		h.TokenExpiresAt = &t
	}
	return h
}

// requestStop stops the job's process: Kill at once, SoftStop with SIGTERM and, after
// grace, SIGKILL. A stop before the process started keeps it from starting.
func (j *job) requestStop(strategy string, grace time.Duration) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.exited || j.stop == Kill || (j.stop == SoftStop && strategy == SoftStop) {
		return
	}
	j.stop = strategy
	if j.proc == nil {
		return
	}
	if strategy == Kill {
		killGroup(j.proc)
		return
	}
	terminateGroup(j.proc)
	j.graceTimer = time.AfterFunc(grace, func() {
		j.mu.Lock()
		defer j.mu.Unlock()
		if !j.exited {
			killGroup(j.proc)
		}
	})
}

// cancel kills the job's process for good; the job is not reported.
func (j *job) cancel() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.cancelled = true
	if j.proc != nil && !j.exited {
		killGroup(j.proc)
	}
}

// renewToken keeps the job's new token and writes it to its token file.
func (j *job) renewToken(token string, expiresAt time.Time) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.token, j.tokenExpiresAt = token, expiresAt
	if j.tokenFile == "" || j.exited {
		return nil
	}
	return writeFileAtomic(j.tokenFile, []byte(token))
}

// writeFileAtomic replaces name with data (mode 0600): a reader sees the old or the new
// content, never a part.
func writeFileAtomic(name string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

// safeJobKey says whether a job key can name a directory.
func safeJobKey(k string) bool {
	return k != "" && len(k) <= 128 && k != "." && k != ".." && !strings.ContainsAny(k, `/\`+"\x00")
}

// startJob takes a job the server assigned and runs it in its own goroutine.
func (r *Robot) startJob(a JobAssignment) {
	if !safeJobKey(a.JobKey) {
		r.log.Error("the server assigned a job with an unusable key", "job", a.JobKey)
		r.queueReport(failReport(a.JobKey, fail(CodeStartFailed, "the job key %q cannot name a directory", a.JobKey)))
		return
	}
	r.mu.Lock()
	if r.shutting {
		r.mu.Unlock()
		r.log.Warn("a job came while shutting down: not running it", "job", a.JobKey)
		r.queueReport(failReport(a.JobKey, fail(CodeRobotShuttingDown, "the robot was shutting down when the job came")))
		return
	}
	if _, dup := r.jobs[a.JobKey]; dup {
		r.mu.Unlock()
		r.log.Warn("the server assigned a job this robot is already running", "job", a.JobKey)
		return
	}
	if len(r.jobs) >= r.slots {
		r.log.Warn("the server assigned more jobs than free slots: running it anyway", "job", a.JobKey)
	}
	j := &job{a: a, dir: filepath.Join(r.jobsDir(), a.JobKey), grace: r.cfg.StopGrace,
		token: a.AccessToken, tokenExpiresAt: a.AccessTokenExpiresAt}
	r.jobs[a.JobKey] = j
	r.jobsWG.Add(1)
	ctx := r.jobCtx
	r.mu.Unlock()
	go r.runJob(ctx, j)
}

func failReport(jobKey string, f *jobFailure) *JobStateRequest {
	return &JobStateRequest{JobKey: jobKey, Event: EventFail, Error: &JobError{Code: f.code, Title: f.title, Detail: f.detail}}
}

// runJob runs a job to its end, reports it and cleans up.
func (r *Robot) runJob(ctx context.Context, j *job) {
	defer r.jobsWG.Done()
	start := time.Now()
	r.log.Info("job received", "job", j.a.JobKey, "process", j.a.ProcessName, "package", j.a.PackageID, "version", j.a.PackageVersion)
	rep := r.execute(ctx, j)
	if err := removeAll(j.dir); err != nil {
		r.log.Warn("cannot remove the job's directory", "dir", j.dir, "error", err)
	}
	if rep == nil {
		r.log.Info("job cancelled", "job", j.a.JobKey)
	} else {
		args := []any{"job", j.a.JobKey, "event", rep.Event, "duration", time.Since(start).Round(time.Millisecond)}
		if rep.Error != nil {
			args = append(args, "code", rep.Error.Code, "reason", rep.Error.Title)
		}
		r.log.Info("job ended", args...)
	}
	// The report is queued before the job leaves the list: a reconnection in between
	// still names it among the running jobs.
	r.mu.Lock()
	if rep != nil {
		r.pending = append(r.pending, rep)
	}
	delete(r.jobs, j.a.JobKey)
	if rep == nil {
		r.freeSlot() // the server has ended it already; with a report, its delivery frees the slot
	}
	r.mu.Unlock()
	select {
	case r.reportKick <- struct{}{}:
	default:
	}
}

// removeAll removes a job's directory, even parts the process made read-only.
func removeAll(dir string) error {
	if err := os.RemoveAll(dir); err == nil {
		return nil
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

// execute prepares and runs the job's process; it returns the report, or nil for a job
// cancelled by the server.
func (r *Robot) execute(ctx context.Context, j *job) *JobStateRequest {
	a := j.a
	cmd, files, err := r.prepare(ctx, j)
	if err != nil {
		var f *jobFailure
		if !errors.As(err, &f) {
			f = fail(CodeStartFailed, "the job could not be prepared: %v", err)
		}
		j.mu.Lock()
		cancelled := j.cancelled
		j.mu.Unlock()
		if cancelled {
			return nil
		}
		return failReport(a.JobKey, f)
	}

	outR, outW, err := os.Pipe()
	if err != nil {
		return failReport(a.JobKey, fail(CodeStartFailed, "cannot make a pipe: %v", err))
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return failReport(a.JobKey, fail(CodeStartFailed, "cannot make a pipe: %v", err))
	}
	cmd.Stdout, cmd.Stderr = outW, errW

	j.mu.Lock()
	if j.cancelled || j.stop != "" {
		stop, cancelled := j.stop, j.cancelled
		j.exited = true
		j.mu.Unlock()
		for _, f := range []*os.File{outR, outW, errR, errW} {
			f.Close()
		}
		if cancelled {
			return nil
		}
		return failReport(a.JobKey, fail(CodeStartFailed, "the job was stopped (%s) before its process started", stop))
	}
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		j.exited = true
		j.mu.Unlock()
		outR.Close()
		errR.Close()
		return failReport(a.JobKey, fail(CodeStartFailed, "the process could not start: %v", err))
	}
	j.proc = cmd.Process
	j.mu.Unlock()
	r.log.Info("job started", "job", a.JobKey, "pid", cmd.Process.Pid, "command", strings.Join(cmd.Args, " "))

	tail := &tailBuffer{max: stderrTail}
	var pumps sync.WaitGroup
	pumps.Go(func() { r.logs.pump(a.JobKey, LevelInfo, outR, nil) })
	pumps.Go(func() { r.logs.pump(a.JobKey, LevelError, errR, tail) })

	var maxTimer *time.Timer
	if a.MaxRunTimeSeconds > 0 {
		maxTimer = time.AfterFunc(seconds(a.MaxRunTimeSeconds, 0), func() {
			j.mu.Lock()
			defer j.mu.Unlock()
			if !j.exited {
				j.overtime = true
				killGroup(j.proc)
			}
		})
	}
	cmd.Wait()
	j.mu.Lock()
	j.exited = true
	if j.graceTimer != nil {
		j.graceTimer.Stop()
	}
	stop, cancelled, overtime := j.stop, j.cancelled, j.overtime
	j.mu.Unlock()
	if maxTimer != nil {
		maxTimer.Stop()
	}
	// What the process left running in its group ends with it.
	killGroup(cmd.Process)
	pumped := make(chan struct{})
	go func() { pumps.Wait(); close(pumped) }()
	select {
	case <-pumped:
	case <-time.After(5 * time.Second):
		// Something outside the group holds the pipes open: stop reading.
		outR.Close()
		errR.Close()
		<-pumped
	}
	outR.Close()
	errR.Close()

	if cancelled {
		return nil
	}
	ps := cmd.ProcessState
	detail := tail.String()
	stopped := ""
	if stop != "" {
		stopped = " after a " + stop + " request"
	}
	switch {
	case overtime:
		return &JobStateRequest{JobKey: a.JobKey, Event: EventFail, Error: &JobError{Code: CodeMaxRunTimeExceeded,
			Title:  fmt.Sprintf("The job ran past its maximum run time of %s and was killed", seconds(a.MaxRunTimeSeconds, 0)),
			Detail: detail}}
	case ps.Success():
		out, err := readOutput(files.output)
		if err != nil {
			f := err.(*jobFailure)
			return &JobStateRequest{JobKey: a.JobKey, Event: EventFail, Error: &JobError{Code: f.code, Title: f.title, Detail: detail}}
		}
		return &JobStateRequest{JobKey: a.JobKey, Event: EventSucceed, OutputArguments: out}
	case ps.ExitCode() < 0:
		return &JobStateRequest{JobKey: a.JobKey, Event: EventFail, Error: &JobError{Code: CodeSignal,
			Title: fmt.Sprintf("The process was ended by a signal (%s)%s", ps.String(), stopped), Detail: detail}}
	}
	return &JobStateRequest{JobKey: a.JobKey, Event: EventFail, Error: &JobError{Code: CodeExitCode,
		Title: fmt.Sprintf("The process exited with %d%s", ps.ExitCode(), stopped), Detail: detail}}
}

// jobFiles are the files the robot gives a job's process.
type jobFiles struct {
	input, output, token, tmp string
}

// prepare fetches and unpacks the package and builds the command (DESIGN §7).
func (r *Robot) prepare(ctx context.Context, j *job) (*exec.Cmd, jobFiles, error) {
	a := j.a
	var files jobFiles
	pkg, err := r.fetchPackage(ctx, a)
	if err != nil {
		return nil, files, err
	}
	if err := removeAll(j.dir); err != nil {
		return nil, files, fail(CodeStartFailed, "cannot clear the job's directory: %v", err)
	}
	if err := unpack(pkg, j.dir, r.cfg.MaxUnpackedSize); err != nil {
		return nil, files, err
	}
	entry := a.EntryPoint
	if entry == "" {
		content, err := os.ReadFile(pkg)
		if err != nil {
			return nil, files, fail(CodeStartFailed, "cannot read the package: %v", err)
		}
		m, err := packages.Read(content)
		if err != nil {
			return nil, files, fail(CodePackageInvalid, "the package is not valid: %v", err)
		}
		entry = m.EntryPoint
	}
	rel, err := safeName(entry)
	if err != nil {
		return nil, files, fail(CodePackageInvalid, "the entry point %q is not a path inside the package", entry)
	}
	entryPath := filepath.Join(j.dir, filepath.FromSlash(rel))
	if fi, err := os.Lstat(entryPath); err != nil || !fi.Mode().IsRegular() {
		return nil, files, fail(CodePackageInvalid, "the entry point %s is not a file of the package", rel)
	}

	orch := filepath.Join(j.dir, orchDirName)
	if err := os.Mkdir(orch, 0o700); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, files, fail(CodePackageInvalid, "the package holds %s, a name the robot keeps for the job's own files", orchDirName)
		}
		return nil, files, fail(CodeStartFailed, "cannot create the job's files: %v", err)
	}
	files = jobFiles{input: filepath.Join(orch, "input.json"), output: filepath.Join(orch, "output.json"),
		token: filepath.Join(orch, "access-token"), tmp: filepath.Join(orch, "tmp")}
	if err := os.Mkdir(files.tmp, 0o700); err != nil {
		return nil, files, fail(CodeStartFailed, "cannot create the job's TMPDIR: %v", err)
	}
	input, err := inputObject(a.InputArguments)
	if err != nil {
		return nil, files, err
	}
	if err := os.WriteFile(files.input, input, 0o600); err != nil {
		return nil, files, fail(CodeStartFailed, "cannot write the input file: %v", err)
	}
	j.mu.Lock()
	j.tokenFile = files.token
	err = writeFileAtomic(files.token, []byte(j.token))
	token := j.token
	j.mu.Unlock()
	if err != nil {
		return nil, files, fail(CodeStartFailed, "cannot write the token file: %v", err)
	}

	var argv []string
	switch strings.ToLower(filepath.Ext(rel)) {
	case ".sh":
		argv = []string{"sh", entryPath}
	case ".py":
		argv = []string{"python3", entryPath}
	case ".js":
		argv = []string{"node", entryPath}
	default:
		argv = []string{entryPath}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = j.dir
	cmd.Env = r.jobEnv(a, token, files)
	ownGroup(cmd)
	return cmd, files, nil
}

// jobEnv is the whole environment of a job's process (docs/robot-protocol.md): nothing
// of the robot's but PATH, HOME and LANG.
func (r *Robot) jobEnv(a JobAssignment, token string, files jobFiles) []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	home := os.Getenv("HOME")
	if home == "" {
		home = filepath.Dir(files.tmp)
	}
	lang := os.Getenv("LANG")
	if lang == "" {
		lang = "C.UTF-8"
	}
	key, _ := r.session()
	return []string{
		"PATH=" + path,
		"HOME=" + home,
		"LANG=" + lang,
		"TMPDIR=" + files.tmp,
		"ORCH_URL=" + strings.TrimSuffix(r.api.BaseURL().String(), "/"),
		"ORCH_ORG=" + r.cfg.Org,
		"ORCH_TENANT=" + r.cfg.Tenant,
		"ORCH_FOLDER_ID=" + strconv.FormatInt(a.FolderID, 10),
		"ORCH_FOLDER_KEY=" + a.FolderKey,
		"ORCH_FOLDER_PATH=" + a.FolderPath,
		"ORCH_JOB_KEY=" + a.JobKey,
		"ORCH_JOB_ID=" + strconv.FormatInt(a.JobID, 10),
		"ORCH_ROBOT_KEY=" + key,
		"ORCH_ACCESS_TOKEN=" + token,
		"ORCH_ACCESS_TOKEN_FILE=" + files.token,
		"ORCH_INPUT_FILE=" + files.input,
		"ORCH_OUTPUT_FILE=" + files.output,
	}
}

// inputObject is the job's input arguments as a JSON object ({} when none).
func inputObject(raw json.RawMessage) ([]byte, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return []byte("{}"), nil
	}
	var obj map[string]json.RawMessage
	if t[0] != '{' || json.Unmarshal(t, &obj) != nil {
		return nil, fail(CodeInputInvalid, "the job's input arguments are not a JSON object")
	}
	return t, nil
}

// readOutput reads the output arguments the process wrote: nil when it wrote none.
func readOutput(name string) (json.RawMessage, error) {
	fi, err := os.Lstat(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fail(CodeOutputInvalid, "the output file (ORCH_OUTPUT_FILE) cannot be read: %v", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fail(CodeOutputInvalid, "the output file (ORCH_OUTPUT_FILE) is not a regular file")
	}
	if fi.Size() > maxOutputFile {
		return nil, fail(CodeOutputInvalid, "the output file (ORCH_OUTPUT_FILE) is %s; output arguments are at most %d characters as JSON",
			packages.Size(fi.Size()), MaxOutputArguments)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fail(CodeOutputInvalid, "the output file (ORCH_OUTPUT_FILE) cannot be read: %v", err)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil || data[0] != '{' {
		why := "it is not an object"
		if err != nil {
			why = err.Error()
		}
		return nil, fail(CodeOutputInvalid, "the output file (ORCH_OUTPUT_FILE) is not a JSON object: %s", why)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return nil, fail(CodeOutputInvalid, "the output file (ORCH_OUTPUT_FILE) is not a JSON object: %v", err)
	}
	if n := len([]rune(buf.String())); n > MaxOutputArguments {
		return nil, fail(CodeOutputInvalid, "the output arguments are %d characters as JSON; the limit is %d", n, MaxOutputArguments)
	}
	return buf.Bytes(), nil
}
