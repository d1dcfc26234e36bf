package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openorch/openorch/internal/robots"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// The robot protocol (docs/robot-protocol.md): the calls `orch robot` makes under
// …/orchestrator_/api/robot/, with its machine's token.

// JobTokenIssuer mints the access token of a job for the machine that runs it
// (identity.Service.IssueJobToken).
type JobTokenIssuer interface {
	IssueJobToken(m tenancy.Machine, orgKey, folderKey, jobKey string) (token string, expires time.Time, err error)
}

// Limits of the protocol.
const (
	robotMaxWait        = 30 * time.Second
	robotHostNameMax    = 128
	robotLogEntriesMax  = 1000
	robotLogMessageMax  = 64 << 10
	robotOutputMax      = 10000
	robotTokenRenewLeft = 30 * time.Minute // renew job tokens with less than this left (half of 1 h)
)

// robotState is what the robot calls share on this node.
type robotState struct {
	signal            *robots.Signal
	heartbeat         time.Duration
	unresponsiveAfter time.Duration
	tokens            JobTokenIssuer
	// latency observes, for each dispatched job, the time from its creation to its robot.
	latency *prometheus.HistogramVec
	// delivered remembers the stops robot/next has handed to each robot (job Key →
	// strategy), so that a robot waiting for more work is not woken again and again by a
	// stop it already has. Heartbeats always repeat them.
	mu        sync.Mutex
	delivered map[int64]map[string]string
}

// touchFresh is how stale a robot's reporting time may be left: a second, or less when
// robots are declared unresponsive sooner (an eighth of that), so that a robot that keeps
// calling never looks silent.
func (rs *robotState) touchFresh() time.Duration {
	return min(time.Second, rs.unresponsiveAfter/8)
}

func (a *API) initRobots(o Options) {
	rs := &robotState{signal: o.RobotSignal, heartbeat: o.RobotHeartbeatInterval, unresponsiveAfter: o.RobotUnresponsiveAfter,
		tokens: o.JobTokens, delivered: map[int64]map[string]string{}}
	if rs.signal == nil {
		rs.signal = robots.NewSignal()
	}
	if rs.heartbeat <= 0 {
		rs.heartbeat = robots.DefaultHeartbeatInterval
	}
	if rs.unresponsiveAfter <= 0 {
		rs.unresponsiveAfter = robots.DefaultUnresponsiveAfter
	}
	if rs.tokens == nil {
		rs.tokens, _ = o.Auth.(JobTokenIssuer)
	}
	rs.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "orch_job_dispatch_latency_seconds",
		Help:    "Time from a job's creation (StartJobs, RestartJob) to a robot taking it, for the jobs dispatched by this node.",
		Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600}}, nil)
	if o.Registry != nil {
		o.Registry.MustRegister(rs.latency, &robotGauges{st: o.Store, unresponsiveAfter: rs.unresponsiveAfter})
	}
	a.robots = rs
}

// wakeRobots tells the robots of the tenant waiting on this node that something changed:
// jobs to take or to stop. Other nodes learn it from the store's notification.
func (a *API) wakeRobots(tenantID int64) { a.robots.signal.Notify(tenantID) }

// robotRoutes are the calls of the robot protocol.
func (a *API) robotRoutes() []route {
	r := func(method, path string, h func(*API, *call) *apiError, summary string) route {
		return route{Method: method, Plain: "robot/" + path, Scope: "OR.Robots", Folder: tenantLevel, Handle: h, NoRateLimit: true,
			Summary: "Robot protocol (docs/robot-protocol.md), for the tokens of machines only: " + summary}
	}
	return []route{
		r("POST", "connect", robotConnect, "register a host ({hostName, slots, version, runningJobKeys}); the answer names its robot and the intervals to keep."),
		r("POST", "next", robotNext, "long-poll for jobs to take and stops ({robotKey, freeSlots, waitSeconds}); 204 when nothing came within the wait."),
		r("POST", "heartbeat", robotHeartbeat, "keep the session alive and list the running jobs ({robotKey, jobs}); the answer carries stops, cancellations and renewed job tokens."),
		r("POST", "logs", robotLogs, "the lines the jobs' processes wrote ({robotKey, entries}: at most 1000, 64 KiB each)."),
		r("POST", "job-state", robotJobState, "a job's process ended ({robotKey, jobKey, event: Succeed|Fail, outputArguments, error})."),
		r("GET", "package", robotPackage, "?jobKey=K: the .nupkg of the package version the job runs, for the robot running it."),
		r("POST", "disconnect", robotDisconnect, "a clean exit ({robotKey}): the session becomes Disconnected."),
	}
}

// robotMachine is the machine of a robot call; tokens of users and apps, and the tokens of
// jobs, are refused.
func (a *API) robotMachine(c *call) (tenancy.Machine, *apiError) {
	if c.who.principal.Kind != tenancy.PrincipalMachine {
		return tenancy.Machine{}, because("not_robot", forbidden("%s is for robots: sign in with a machine's client id and secret (client_credentials); this token is of %s",
			c.route.label(), c.who.name))
	}
	if c.who.claims.Job != "" {
		return tenancy.Machine{}, because("not_robot", forbidden("%s is for robots, and this is the token of job %s: the robot calls with its machine's own token",
			c.route.label(), c.who.claims.Job))
	}
	m, err := a.st.MachineGet(c.ctx(), c.tenant.ID, c.who.principal.ID)
	if err != nil {
		return m, storeError(c, err)
	}
	return m, nil
}

// robotOf finds the robot named by a call's robotKey and checks that it is the caller's.
func (a *API) robotOf(c *call, m tenancy.Machine, key string) (store.Robot, *apiError) {
	key = strings.TrimSpace(key)
	if key == "" {
		return store.Robot{}, invalid("robotKey is missing: send the robotKey robot/connect answered")
	}
	r, err := a.st.RobotGetByKey(c.ctx(), c.tenant.ID, key)
	if errors.Is(err, store.ErrNotFound) {
		return r, notFound("robot with Key %s does not exist in tenant %s: connect again (robot/connect)", key, c.tenant.Name)
	} else if err != nil {
		return r, internalError(c.r, err)
	}
	if r.MachineID != m.ID {
		return r, because("not_robot", forbidden("robot %s belongs to machine %s, not to %s", r.Name, r.MachineName, m.Name))
	}
	return r, nil
}

// touch records that the robot called. The reporting time is written at most every
// touchFresh while the robot's state stays the same: a robot taking and ending many jobs a
// second would otherwise make a write of each call.
func (a *API) touch(c *call, r store.Robot) (store.Robot, *apiError) {
	r, err := a.st.RobotTouch(c.ctx(), c.tenant.ID, r.ID, a.now(), a.robots.touchFresh())
	if err != nil {
		return r, storeError(c, err)
	}
	return r, nil
}

func seconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

// intervalSeconds is an interval told to robots: seconds, with a fraction when the setting
// has one (a heartbeat of 200ms is 0.2, not rounded up to a whole second).
func intervalSeconds(d time.Duration) float64 { return d.Round(time.Millisecond).Seconds() }

// checkHostName refuses a host name that is empty, too long, or holds control characters.
func checkHostName(h string) *apiError {
	switch {
	case h == "":
		return invalid("hostName is missing: send the name of the host the robot runs on")
	case len([]rune(h)) > robotHostNameMax:
		return invalid("hostName is %d characters long; the limit is %d", len([]rune(h)), robotHostNameMax)
	case strings.IndexFunc(h, unicode.IsControl) >= 0:
		return invalid("hostName %q holds control characters", h)
	}
	return nil
}

// robotConnect serves POST robot/connect.
func robotConnect(a *API, c *call) *apiError {
	m, e := a.robotMachine(c)
	if e != nil {
		return e
	}
	var in struct {
		HostName       string   `json:"hostName"`
		Slots          int      `json:"slots"`
		Version        string   `json:"version"`
		RunningJobKeys []string `json:"runningJobKeys"`
	}
	if e := bind(c, &in); e != nil {
		return e
	}
	if e := checkHostName(in.HostName); e != nil {
		return e
	}
	if in.Slots < 0 {
		return invalid("slots is %d: send the jobs the host may run at once, or 0 for the machine's %d", in.Slots, m.Slots)
	}
	slots := m.Slots
	if in.Slots > 0 {
		slots = min(in.Slots, m.Slots)
	}
	r, ended, err := a.st.RobotConnect(c.ctx(), store.RobotConnectParams{TenantID: c.tenant.ID, MachineID: m.ID, HostName: in.HostName,
		Slots: slots, Version: in.Version, RunningJobKeys: in.RunningJobKeys, Now: a.now()})
	if err != nil {
		return storeError(c, err)
	}
	for _, j := range ended {
		a.logger.Warn("job faulted: its robot connected again without it", "job", j.ID, "robot", r.Name)
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"robotId": r.ID, "robotKey": r.Key, "robotName": r.Name, "machineName": m.Name,
		"slots": r.Slots, "heartbeatIntervalSeconds": intervalSeconds(a.robots.heartbeat),
		"unresponsiveAfterSeconds": intervalSeconds(a.robots.unresponsiveAfter), "maxWaitSeconds": seconds(robotMaxWait)})
	return nil
}

// jobAssignment is a job handed to a robot.
type jobAssignment struct {
	JobKey               string          `json:"jobKey"`
	JobID                int64           `json:"jobId"`
	FolderID             int64           `json:"folderId"`
	FolderKey            string          `json:"folderKey"`
	FolderPath           string          `json:"folderPath"`
	ProcessName          string          `json:"processName"`
	PackageID            string          `json:"packageId"`
	PackageVersion       string          `json:"packageVersion"`
	PackageSHA256        string          `json:"packageSha256"`
	PackageSize          int64           `json:"packageSize"`
	EntryPoint           string          `json:"entryPoint"`
	InputArguments       json.RawMessage `json:"inputArguments"`
	MaxRunTimeSeconds    int64           `json:"maxRunTimeSeconds"`
	AccessToken          string          `json:"accessToken"`
	AccessTokenExpiresAt time.Time       `json:"accessTokenExpiresAt"`
}

type jobStop struct {
	JobKey   string `json:"jobKey"`
	Strategy string `json:"strategy"`
}

// assign builds the assignment of a job the robot took.
func (a *API) assign(c *call, m tenancy.Machine, j store.Job) (jobAssignment, error) {
	f, err := a.folderByIDCached(c.ctx(), c.tenant.ID, j.FolderID)
	if err != nil {
		return jobAssignment{}, err
	}
	p, err := a.st.PackageGet(c.ctx(), c.tenant.ID, j.PackageName, j.PackageVersion)
	if err != nil {
		return jobAssignment{}, fmt.Errorf("package %s %s of job %d: %w", j.PackageName, j.PackageVersion, j.ID, err)
	}
	if a.robots.tokens == nil {
		return jobAssignment{}, errors.New("no job token issuer is configured")
	}
	token, exp, err := a.robots.tokens.IssueJobToken(m, c.org.Key, f.Key, j.Key)
	if err != nil {
		return jobAssignment{}, err
	}
	input := json.RawMessage(j.InputArguments)
	if len(bytes.TrimSpace(input)) == 0 {
		input = json.RawMessage("{}")
	}
	return jobAssignment{JobKey: j.Key, JobID: j.ID, FolderID: f.ID, FolderKey: f.Key, FolderPath: f.FullyQualifiedName,
		ProcessName: j.ReleaseName, PackageID: j.PackageName, PackageVersion: j.PackageVersion, PackageSHA256: p.SHA256,
		PackageSize: p.Size, EntryPoint: j.EntryPoint, InputArguments: input, MaxRunTimeSeconds: j.MaxRunTimeSeconds,
		AccessToken: token, AccessTokenExpiresAt: exp}, nil
}

// stopsOf lists the stop requests of the jobs running on the robot; with fresh, only
// those this node has not handed to it yet (and it remembers them).
func (a *API) stopsOf(running []store.Job, robotID int64, fresh bool) []jobStop {
	stops := []jobStop{}
	now := map[string]string{}
	for _, j := range running {
		if j.State == store.JobStopping || j.State == store.JobTerminating {
			strategy := j.StopStrategy
			if strategy == "" {
				strategy = store.StopSoft
			}
			now[j.Key] = strategy
			stops = append(stops, jobStop{JobKey: j.Key, Strategy: strategy})
		}
	}
	if !fresh {
		return stops
	}
	rs := a.robots
	rs.mu.Lock()
	defer rs.mu.Unlock()
	before := rs.delivered[robotID]
	stops = slices.DeleteFunc(stops, func(s jobStop) bool { return before[s.JobKey] == s.Strategy })
	if len(now) == 0 {
		delete(rs.delivered, robotID)
	} else {
		rs.delivered[robotID] = now
	}
	return stops
}

// robotNext serves POST robot/next: jobs and stops at once when there are some,
// otherwise as soon as some come within the wait, otherwise 204.
func robotNext(a *API, c *call) *apiError {
	m, e := a.robotMachine(c)
	if e != nil {
		return e
	}
	var in struct {
		RobotKey    string `json:"robotKey"`
		FreeSlots   *int   `json:"freeSlots"`
		WaitSeconds *int   `json:"waitSeconds"`
	}
	if e := bind(c, &in); e != nil {
		return e
	}
	r, e := a.robotOf(c, m, in.RobotKey)
	if e != nil {
		return e
	}
	if in.FreeSlots == nil {
		return invalid("freeSlots is missing: send how many jobs the robot takes now (0 to %d)", r.Slots)
	}
	free := *in.FreeSlots
	if free < 0 || free > r.Slots {
		return invalid("freeSlots is %d; robot %s has %d slots, so send 0 to %d", free, r.Name, r.Slots, r.Slots)
	}
	wait := robotMaxWait
	if in.WaitSeconds != nil {
		if *in.WaitSeconds < 0 {
			return invalid("waitSeconds is %d; send 0 to %d", *in.WaitSeconds, seconds(robotMaxWait))
		}
		wait = min(time.Duration(*in.WaitSeconds)*time.Second, robotMaxWait)
	}
	if r, e = a.touch(c, r); e != nil {
		return e
	}
	deadline := time.Now().Add(wait)
	for {
		// Waiting starts before looking, so that a start in between still wakes the call.
		woken, done := a.robots.signal.Wait(c.tenant.ID)
		jobs, stops, e := a.nextWork(c, m, r, free)
		if e != nil {
			done()
			return e
		}
		if len(jobs)+len(stops) > 0 {
			done()
			writeJSON(c.w, http.StatusOK, map[string]any{"jobs": jobs, "stops": stops})
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 || a.shuttingDown() {
			done()
			break
		}
		timer := time.NewTimer(min(left, a.waitPoll))
		select {
		case <-woken:
		case <-timer.C:
		case <-c.ctx().Done():
		case <-a.stopping:
		}
		timer.Stop()
		done()
		if c.ctx().Err() != nil {
			return nil // the robot is gone; nothing was taken for it
		}
	}
	if _, e := a.touch(c, r); e != nil {
		return e
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// nextWork takes up to free jobs for the robot and gathers the stops it has not had yet.
func (a *API) nextWork(c *call, m tenancy.Machine, r store.Robot, free int) ([]jobAssignment, []jobStop, *apiError) {
	running, err := a.st.RobotJobs(c.ctx(), c.tenant.ID, r.ID)
	if err != nil {
		return nil, nil, internalError(c.r, err)
	}
	stops := a.stopsOf(running, r.ID, true)
	assigned := []jobAssignment{}
	if free == 0 {
		return assigned, stops, nil
	}
	jobs, err := a.st.JobDispatch(c.ctx(), store.JobDispatchParams{TenantID: c.tenant.ID, RobotID: r.ID, Max: free, Now: a.now()})
	if err != nil {
		return nil, nil, storeError(c, err)
	}
	for i, j := range jobs {
		as, err := a.assign(c, m, j)
		if err != nil {
			// The robot will never hear of these jobs: end them rather than leave them Running.
			for _, lost := range jobs[i:] {
				a.abandonAssignment(c, lost, r, err)
			}
			return nil, nil, internalError(c.r, err)
		}
		a.robots.latency.WithLabelValues().Observe(a.now().Sub(j.CreatedAt).Seconds())
		assigned = append(assigned, as)
	}
	return assigned, stops, nil
}

// abandonAssignment ends Faulted a job taken for a robot that could not be handed to it.
func (a *API) abandonAssignment(c *call, j store.Job, r store.Robot, cause error) {
	_, err := a.st.JobTransition(c.ctx(), store.JobTransitionParams{TenantID: c.tenant.ID, JobID: j.ID, Event: store.JobEventLost, Now: a.now(),
		Change: func(j store.Job) (store.Job, error) {
			j.Error = &store.JobError{Code: "DispatchFailed", Title: "The job could not be handed to its robot",
				Detail: fmt.Sprintf("robot %s took the job but the server could not send it (see the server log)", r.Name)}
			return j, nil
		}})
	a.logger.Error("a dispatched job could not be handed to its robot", "job", j.ID, "robot", r.Name, "err", cause, "faultErr", err)
}

// robotHeartbeat serves POST robot/heartbeat.
func robotHeartbeat(a *API, c *call) *apiError {
	m, e := a.robotMachine(c)
	if e != nil {
		return e
	}
	var in struct {
		RobotKey string `json:"robotKey"`
		Jobs     []struct {
			JobKey         string     `json:"jobKey"`
			TokenExpiresAt *time.Time `json:"tokenExpiresAt"`
		} `json:"jobs"`
	}
	if e := bind(c, &in); e != nil {
		return e
	}
	r, e := a.robotOf(c, m, in.RobotKey)
	if e != nil {
		return e
	}
	if _, e := a.touch(c, r); e != nil {
		return e
	}
	running, err := a.st.RobotJobs(c.ctx(), c.tenant.ID, r.ID)
	if err != nil {
		return internalError(c.r, err)
	}
	byKey := map[string]store.Job{}
	for _, j := range running {
		byKey[j.Key] = j
	}
	type renewed struct {
		JobKey               string    `json:"jobKey"`
		AccessToken          string    `json:"accessToken"`
		AccessTokenExpiresAt time.Time `json:"accessTokenExpiresAt"`
	}
	cancel, tokens := []string{}, []renewed{}
	for _, listed := range in.Jobs {
		j, ok := byKey[strings.ToLower(strings.TrimSpace(listed.JobKey))]
		if !ok {
			cancel = append(cancel, listed.JobKey)
			continue
		}
		if listed.TokenExpiresAt != nil && time.Until(*listed.TokenExpiresAt) > robotTokenRenewLeft {
			continue
		}
		f, err := a.folderByIDCached(c.ctx(), c.tenant.ID, j.FolderID)
		if err != nil {
			return internalError(c.r, err)
		}
		if a.robots.tokens == nil {
			continue
		}
		token, exp, err := a.robots.tokens.IssueJobToken(m, c.org.Key, f.Key, j.Key)
		if err != nil {
			return internalError(c.r, err)
		}
		tokens = append(tokens, renewed{JobKey: j.Key, AccessToken: token, AccessTokenExpiresAt: exp})
	}
	listed := make(map[string]bool, len(in.Jobs))
	for _, l := range in.Jobs {
		listed[strings.ToLower(strings.TrimSpace(l.JobKey))] = true
	}
	if running, e = a.endUnlisted(c, r, running, listed); e != nil {
		return e
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"heartbeatIntervalSeconds": intervalSeconds(a.robots.heartbeat),
		"stops": a.stopsOf(running, r.ID, false), "cancel": cancel, "tokens": tokens})
	return nil
}

// endUnlisted ends Faulted the jobs the server has running on a robot that the robot's
// heartbeat does not list, when the robot took them longer ago than it may stay silent
// (--robot-unresponsive-after): the robot lost them (an answer of robot/next that never
// reached it), and nothing else would end them while the robot keeps answering. A job
// taken more recently may still be on its way to the robot. It returns the jobs still
// running.
func (a *API) endUnlisted(c *call, r store.Robot, running []store.Job, listed map[string]bool) ([]store.Job, *apiError) {
	now := a.now()
	kept := running[:0:0]
	for _, j := range running {
		if listed[j.Key] || j.StartTime == nil || now.Sub(*j.StartTime) < a.robots.unresponsiveAfter {
			kept = append(kept, j)
			continue
		}
		taken := j.StartTime.UTC().Format(time.RFC3339)
		_, err := a.st.JobTransition(c.ctx(), store.JobTransitionParams{TenantID: c.tenant.ID, JobID: j.ID, Event: store.JobEventLost, Now: now,
			Change: func(j store.Job) (store.Job, error) {
				j.Error = &store.JobError{Code: "RobotLostJob", Title: "The robot no longer runs the job",
					Detail: fmt.Sprintf("robot %s took the job at %s but its heartbeats do not list it: its process is not running", r.Name, taken)}
				return j, nil
			}})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return nil, internalError(c.r, err)
		}
		a.logger.Warn("a robot does not list a job it took: ended it Faulted", "job", j.ID, "robot", r.Name, "takenAt", taken)
	}
	return kept, nil
}

// robotJob finds a job a robot names and checks that it is this robot's.
func (a *API) robotJob(c *call, r store.Robot, key string) (store.Job, *apiError) {
	key = strings.TrimSpace(key)
	if key == "" {
		return store.Job{}, invalid("jobKey is missing")
	}
	j, err := a.st.JobGetByKey(c.ctx(), c.tenant.ID, key)
	if errors.Is(err, store.ErrNotFound) {
		return j, because("not_robots_job", forbidden("job %s is not a job of robot %s: no such job exists in tenant %s", key, r.Name, c.tenant.Name))
	} else if err != nil {
		return j, internalError(c.r, err)
	}
	if j.RobotID != r.ID {
		return j, because("not_robots_job", forbidden("job %d (Key %s) is not a job of robot %s", j.ID, j.Key, r.Name))
	}
	return j, nil
}

// robotLogs serves POST robot/logs.
func robotLogs(a *API, c *call) *apiError {
	m, e := a.robotMachine(c)
	if e != nil {
		return e
	}
	var in struct {
		RobotKey string `json:"robotKey"`
		Entries  []struct {
			JobKey    string    `json:"jobKey"`
			Level     string    `json:"level"`
			TimeStamp time.Time `json:"timeStamp"`
			Message   string    `json:"message"`
		} `json:"entries"`
	}
	if e := bind(c, &in); e != nil {
		return e
	}
	r, e := a.robotOf(c, m, in.RobotKey)
	if e != nil {
		return e
	}
	if len(in.Entries) > robotLogEntriesMax {
		return invalid("entries holds %d entries; one call sends at most %d", len(in.Entries), robotLogEntriesMax)
	}
	jobs := map[string]store.Job{}
	logs := make([]store.RobotLog, 0, len(in.Entries))
	now := a.now()
	for i, en := range in.Entries {
		level := ""
		for _, l := range store.RobotLogLevels {
			if strings.EqualFold(strings.TrimSpace(en.Level), l) {
				level = l
			}
		}
		if level == "" {
			return invalid("entries[%d].level %q is not one of %s", i, en.Level, strings.Join(store.RobotLogLevels, ", "))
		}
		if len(en.Message) > robotLogMessageMax {
			return invalid("entries[%d].message is %d bytes long; the limit is %d (cut longer lines)", i, len(en.Message), robotLogMessageMax)
		}
		key := strings.ToLower(strings.TrimSpace(en.JobKey))
		j, ok := jobs[key]
		if !ok {
			if j, e = a.robotJob(c, r, key); e != nil {
				return e
			}
			jobs[key] = j
		}
		at := en.TimeStamp
		if at.IsZero() {
			at = now
		}
		logs = append(logs, store.RobotLog{TenantID: c.tenant.ID, FolderID: j.FolderID, JobID: j.ID, JobKey: j.Key, RobotID: r.ID,
			RobotName: r.Name, ProcessName: j.ReleaseName, HostMachineName: r.HostName, Level: level, Time: at, Message: en.Message})
	}
	if err := a.st.RobotLogAdd(c.ctx(), logs); err != nil {
		return storeError(c, err)
	}
	if _, e := a.touch(c, r); e != nil {
		return e
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// robotJobState serves POST robot/job-state: a job's process ended.
func robotJobState(a *API, c *call) *apiError {
	m, e := a.robotMachine(c)
	if e != nil {
		return e
	}
	var in struct {
		RobotKey        string          `json:"robotKey"`
		JobKey          string          `json:"jobKey"`
		Event           string          `json:"event"`
		OutputArguments json.RawMessage `json:"outputArguments"`
		Error           *struct {
			Code   string `json:"code"`
			Title  string `json:"title"`
			Detail string `json:"detail"`
		} `json:"error"`
	}
	if e := bind(c, &in); e != nil {
		return e
	}
	r, e := a.robotOf(c, m, in.RobotKey)
	if e != nil {
		return e
	}
	var ev store.JobEvent
	switch strings.ToLower(strings.TrimSpace(in.Event)) {
	case "succeed":
		ev = store.JobEventSucceed
	case "fail":
		ev = store.JobEventFail
	default:
		return invalid("event %q is not Succeed (the process exited with 0) or Fail", in.Event)
	}
	output := ""
	if raw := bytes.TrimSpace(in.OutputArguments); len(raw) > 0 && string(raw) != "null" {
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return invalid("outputArguments must be a JSON object, got %.40s", raw)
		}
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return invalid("outputArguments is not valid JSON: %v", err)
		}
		if b.Len() > robotOutputMax {
			return invalid("outputArguments is %d characters long as JSON; the limit is %d", b.Len(), robotOutputMax)
		}
		output = b.String()
	}
	j, e := a.robotJob(c, r, in.JobKey)
	if e != nil {
		return e
	}
	if j.State.Final() {
		return &apiError{Status: http.StatusConflict, Code: codeInvalid,
			Message: fmt.Sprintf("job %d has already ended (%s); its robot should no longer run it", j.ID, j.State),
			Details: map[string]any{"Id": j.ID, "Key": j.Key, "State": string(j.State), "EndTime": j.EndTime}}
	}
	j, err := a.st.JobTransition(c.ctx(), store.JobTransitionParams{TenantID: c.tenant.ID, JobID: j.ID, Event: ev, Now: a.now(),
		Change: func(j store.Job) (store.Job, error) {
			j.OutputArguments = output
			switch j.State {
			case store.JobSuccessful:
				j.Info = "Ended on robot " + r.Name
			case store.JobStopped:
				j.Info = fmt.Sprintf("Stopped (%s) on robot %s", j.StopStrategy, r.Name)
			case store.JobFaulted:
				je := &store.JobError{Code: "ProcessFailed", Title: "The process failed"}
				if in.Error != nil {
					je.Code = orDefault(in.Error.Code, je.Code)
					je.Title = orDefault(in.Error.Title, je.Title)
					je.Detail = in.Error.Detail
				}
				j.Error = je
				j.Info = je.Title
			}
			return j, nil
		}})
	var se *store.JobStateError
	if errors.As(err, &se) {
		return jobStateError(se)
	} else if err != nil {
		return storeError(c, err)
	}
	if _, e := a.touch(c, r); e != nil {
		return e
	}
	writeJSON(c.w, http.StatusOK, map[string]string{"state": string(j.State)})
	return nil
}

func orDefault(s, fallback string) string {
	if strings.TrimSpace(s) == "" {
		return fallback
	}
	return s
}

// robotPackage serves GET robot/package?jobKey=K.
func robotPackage(a *API, c *call) *apiError {
	m, e := a.robotMachine(c)
	if e != nil {
		return e
	}
	key := strings.TrimSpace(c.r.URL.Query().Get("jobKey"))
	if key == "" {
		return invalid("jobKey is missing: GET robot/package?jobKey=<the job's Key>")
	}
	j, err := a.st.JobGetByKey(c.ctx(), c.tenant.ID, key)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("job with Key %s does not exist in tenant %s", key, c.tenant.Name)
	} else if err != nil {
		return internalError(c.r, err)
	}
	r, err := a.st.RobotGet(c.ctx(), c.tenant.ID, j.RobotID)
	if j.RobotID == 0 || errors.Is(err, store.ErrNotFound) || err == nil && r.MachineID != m.ID {
		return because("not_robots_job", forbidden("job %d is not run by a robot of machine %s: only the robot running a job may download its package", j.ID, m.Name))
	} else if err != nil {
		return internalError(c.r, err)
	}
	p, err := a.st.PackageGet(c.ctx(), c.tenant.ID, j.PackageName, j.PackageVersion)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("package %s version %s of job %d no longer exists", j.PackageName, j.PackageVersion, j.ID)
	} else if err != nil {
		return internalError(c.r, err)
	}
	content, err := a.st.PackageContent(c.ctx(), c.tenant.ID, p.SHA256)
	if err != nil {
		return internalError(c.r, err)
	}
	if sum := sha256.Sum256(content); hex.EncodeToString(sum[:]) != p.SHA256 {
		return internalError(c.r, fmt.Errorf("package %s %s: stored content does not match its SHA-256 %s", p.Name, p.Version, p.SHA256))
	}
	h := c.w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.Itoa(len(content)))
	h.Set("ETag", `"`+p.SHA256+`"`)
	c.w.WriteHeader(http.StatusOK)
	if c.r.Method != http.MethodHead {
		c.w.Write(content)
	}
	return nil
}

// robotDisconnect serves POST robot/disconnect.
func robotDisconnect(a *API, c *call) *apiError {
	m, e := a.robotMachine(c)
	if e != nil {
		return e
	}
	var in struct {
		RobotKey string `json:"robotKey"`
	}
	if e := bind(c, &in); e != nil {
		return e
	}
	r, e := a.robotOf(c, m, in.RobotKey)
	if e != nil {
		return e
	}
	if err := a.st.RobotDisconnect(c.ctx(), c.tenant.ID, r.ID, a.now()); err != nil {
		return storeError(c, err)
	}
	a.robots.mu.Lock()
	delete(a.robots.delivered, r.ID)
	a.robots.mu.Unlock()
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// robotGauges reports robots, slots and pending jobs when /metrics is read. With several
// nodes each reports the same database-wide figures: aggregate them with max.
type robotGauges struct {
	st                store.Store
	unresponsiveAfter time.Duration
}

var (
	robotsConnectedDesc = prometheus.NewDesc("orch_robots_connected", "Robots connected and answering (across the installation).", nil, nil)
	robotSlotsDesc      = prometheus.NewDesc("orch_robot_slots", "Slots of the connected robots.", nil, nil)
	robotBusySlotsDesc  = prometheus.NewDesc("orch_robot_busy_slots", "Jobs running on robots (Running, Stopping, Terminating).", nil, nil)
	jobsPendingDesc     = prometheus.NewDesc("orch_jobs_pending", "Jobs waiting for a robot (Pending).", nil, nil)
)

func (g *robotGauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- robotsConnectedDesc
	ch <- robotSlotsDesc
	ch <- robotBusySlotsDesc
	ch <- jobsPendingDesc
}

func (g *robotGauges) Collect(ch chan<- prometheus.Metric) {
	if g.st == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := g.st.RobotStats(ctx, 0, time.Now().Add(-g.unresponsiveAfter))
	if err != nil {
		ch <- prometheus.NewInvalidMetric(robotsConnectedDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(robotsConnectedDesc, prometheus.GaugeValue, float64(st.Connected))
	ch <- prometheus.MustNewConstMetric(robotSlotsDesc, prometheus.GaugeValue, float64(st.Slots))
	ch <- prometheus.MustNewConstMetric(robotBusySlotsDesc, prometheus.GaugeValue, float64(st.BusySlots))
	ch <- prometheus.MustNewConstMetric(jobsPendingDesc, prometheus.GaugeValue, float64(st.PendingJobs))
}
