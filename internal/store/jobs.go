package store

import (
	"context"
	"fmt"
	"time"
)

// JobStore keeps jobs: runs of a release (a process), started with StartJobs and taken by
// robots.
//
// A job copies what it runs when it is created: the release's folder and name, the
// package version the release runs then, its entry point and maximum run time, and the
// input values resolved from the package's defaults, the release's values and the job's
// own. Changing the release later does not change a job already started. A job outlives
// its release (ReleaseID becomes 0) and its package version (PackageID becomes 0), but
// neither can be deleted while a job of it has not ended (ReleaseDelete and PackageDelete
// refuse with ErrConflict naming the jobs).
//
// # States
//
// A job moves only along the transitions of JobNext; JobTransition is the one way to move
// it, so that the API and the robots follow the same machine. Methods that depend on the
// time take it in their params (Now; zero means the store's clock).
type JobStore interface {
	// JobCreate adds p.Count Pending jobs of p.Release (as read by the caller, in the
	// same transaction, so that the input values were checked against the version the
	// jobs record). They share a BatchKey. A release deleted meanwhile is ErrNotFound.
	JobCreate(ctx context.Context, p JobCreateParams) ([]Job, error)
	JobGet(ctx context.Context, tenantID, id int64) (Job, error)
	// JobGetByKey finds a job by its Key (GetByKey(identifier=…)).
	JobGetByKey(ctx context.Context, tenantID int64, key string) (Job, error)
	// JobSearch pages jobs with an OData query; p.FolderID and p.OnlyFolders narrow them
	// to folders.
	JobSearch(ctx context.Context, p SearchParams) (page []Job, total int, err error)
	// JobTransition applies an event to a job under a row lock: the state moves as
	// JobNext says (a refused event is *JobStateError, errors.Is ErrConflict), StartTime
	// is set when the job first runs, EndTime when it reaches a final state, and
	// StopStrategy when a stop is asked for. p.Change may then set what the event carries
	// (Info, OutputArguments, Error, HostMachineName); it cannot change the state.
	JobTransition(ctx context.Context, p JobTransitionParams) (Job, error)
}

// JobState is UiPath's job state, by name.
type JobState string

// The states, numbered as UiPath numbers them (JobStates).
const (
	JobPending     JobState = "Pending"
	JobRunning     JobState = "Running"
	JobStopping    JobState = "Stopping"
	JobTerminating JobState = "Terminating"
	JobFaulted     JobState = "Faulted"
	JobSuccessful  JobState = "Successful"
	JobStopped     JobState = "Stopped"
	JobSuspended   JobState = "Suspended"
	JobResumed     JobState = "Resumed"
)

// JobStates lists the states by UiPath's number: JobStates[4] is Faulted.
var JobStates = []JobState{JobPending, JobRunning, JobStopping, JobTerminating, JobFaulted, JobSuccessful, JobStopped,
	JobSuspended, JobResumed}

// Final reports whether a job in state s has ended: Successful, Faulted or Stopped.
func (s JobState) Final() bool {
	return s == JobSuccessful || s == JobFaulted || s == JobStopped
}

// Stop strategies (UiPath's StopStrategy).
const (
	StopSoft = "SoftStop"
	StopKill = "Kill"
)

// JobEvent is what happens to a job: a person or a script asks for a stop, or a robot
// reports what it did.
type JobEvent string

// The events. SoftStop and Kill come through the API; the others from robots.
const (
	// JobEventStart: a robot took the job and started its process.
	JobEventStart JobEvent = "Start"
	// JobEventSoftStop asks the process to end (SIGTERM); JobEventKill ends it at once
	// (SIGKILL to its process group).
	JobEventSoftStop JobEvent = "SoftStop"
	JobEventKill     JobEvent = "Kill"
	// JobEventSucceed: the process exited with 0. JobEventFail: it exited otherwise or
	// could not start.
	JobEventSucceed JobEvent = "Succeed"
	JobEventFail    JobEvent = "Fail"
	// JobEventLost: the job's robot stopped answering, or the job outlived its maximum
	// run time and was killed. Nothing is left running forever.
	JobEventLost JobEvent = "Lost"
	// JobEventSuspend and JobEventResume: a long-running process waits for something
	// and is later taken up again.
	JobEventSuspend JobEvent = "Suspend"
	JobEventResume  JobEvent = "Resume"
)

// jobMachine is the state machine: for each state, where each event leads. An event
// missing from a state's row is refused.
//
//	Pending     Start→Running  SoftStop→Stopped  Kill→Stopped
//	Resumed     Start→Running  SoftStop→Stopped  Kill→Stopped
//	Running     SoftStop→Stopping  Kill→Terminating  Succeed→Successful  Fail→Faulted
//	            Lost→Faulted  Suspend→Suspended
//	Stopping    SoftStop→Stopping  Kill→Terminating  Succeed→Stopped  Fail→Stopped  Lost→Faulted
//	Terminating SoftStop→Terminating  Kill→Terminating  Succeed→Stopped  Fail→Stopped  Lost→Faulted
//	Suspended   Resume→Resumed  SoftStop→Stopped  Kill→Stopped
//	Successful, Faulted, Stopped: final, no event
//
// Nothing runs a Pending, Resumed or Suspended job, so a stop ends it at once. A running
// job's stop waits for its robot: a requested stop wins over how the process then ends
// (DESIGN §7), so Stopping and Terminating end Stopped. A stop never softens: SoftStop on
// a job being killed leaves it Terminating.
var jobMachine = map[JobState]map[JobEvent]JobState{
	JobPending: {JobEventStart: JobRunning, JobEventSoftStop: JobStopped, JobEventKill: JobStopped},
	JobResumed: {JobEventStart: JobRunning, JobEventSoftStop: JobStopped, JobEventKill: JobStopped},
	JobRunning: {JobEventSoftStop: JobStopping, JobEventKill: JobTerminating, JobEventSucceed: JobSuccessful,
		JobEventFail: JobFaulted, JobEventLost: JobFaulted, JobEventSuspend: JobSuspended},
	JobStopping: {JobEventSoftStop: JobStopping, JobEventKill: JobTerminating, JobEventSucceed: JobStopped,
		JobEventFail: JobStopped, JobEventLost: JobFaulted},
	JobTerminating: {JobEventSoftStop: JobTerminating, JobEventKill: JobTerminating, JobEventSucceed: JobStopped,
		JobEventFail: JobStopped, JobEventLost: JobFaulted},
	JobSuspended: {JobEventResume: JobResumed, JobEventSoftStop: JobStopped, JobEventKill: JobStopped},
}

// JobNext is the state a job in state from reaches on event ev; a refused event is
// *JobStateError.
func JobNext(from JobState, ev JobEvent) (JobState, error) {
	if to, ok := jobMachine[from][ev]; ok {
		return to, nil
	}
	return from, &JobStateError{State: from, Event: ev}
}

// JobEvents lists the events a job in state s accepts, in a fixed order.
func JobEvents(s JobState) []JobEvent {
	var out []JobEvent
	for _, ev := range []JobEvent{JobEventStart, JobEventSoftStop, JobEventKill, JobEventSucceed, JobEventFail, JobEventLost,
		JobEventSuspend, JobEventResume} {
		if _, ok := jobMachine[s][ev]; ok {
			out = append(out, ev)
		}
	}
	return out
}

// JobStateError refuses an event that the job's state does not accept. It is ErrConflict.
// Job, when the store filled it, is the job as it is.
type JobStateError struct {
	State JobState
	Event JobEvent
	Job   Job
}

func (e *JobStateError) Error() string {
	what := map[JobEvent]string{JobEventStart: "started", JobEventSoftStop: "stopped", JobEventKill: "killed",
		JobEventSucceed: "marked Successful", JobEventFail: "marked Faulted", JobEventLost: "marked Faulted",
		JobEventSuspend: "suspended", JobEventResume: "resumed"}[e.Event]
	if what == "" {
		what = "moved by " + string(e.Event)
	}
	name := "the job"
	if e.Job.ID != 0 {
		name = fmt.Sprintf("job %d", e.Job.ID)
	}
	if e.State.Final() {
		return fmt.Sprintf("%s has already ended (%s), so it cannot be %s", name, e.State, what)
	}
	return fmt.Sprintf("%s is %s, so it cannot be %s", name, e.State, what)
}

func (e *JobStateError) Is(target error) bool { return target == ErrConflict }

// Job is one run of a release.
type Job struct {
	ID       int64
	Key      string // GUID
	TenantID int64
	FolderID int64
	// ReleaseID is the release the job runs, 0 once it is deleted; ReleaseName is its
	// name (kept current while the release exists).
	ReleaseID   int64
	ReleaseName string
	// PackageID is the package version the job runs, 0 once it is deleted;
	// PackageName, PackageVersion and EntryPoint say what it was.
	PackageID      int64
	PackageName    string
	PackageVersion string
	EntryPoint     string
	State          JobState
	Priority       string // Low, Normal or High
	// InputArguments are the job's input values, resolved (a JSON object as
	// packages.EncodeValues writes it; "" for none). OutputArguments are what the process
	// wrote, once it ended.
	InputArguments  string
	OutputArguments string
	// Info says what the job waits for or how it ended, in words.
	Info      string
	Source    string // UiPath's Source: Manual, Agent, AgentService, …
	Reference string
	// BatchKey is shared by the jobs one StartJobs call created (BatchExecutionKey).
	BatchKey string
	// StopStrategy is the stop asked for ("", SoftStop or Kill); Kill wins.
	StopStrategy      string
	MaxRunTimeSeconds int64 // 0: no limit
	HostMachineName   string
	// RobotID is the robot that took the job (0: none yet, or it was deleted).
	RobotID int64
	// RobotIDs are the robots that may take the job when it was started with the
	// Specific strategy; empty: any robot of a machine serving its folder.
	RobotIDs  []int64
	Error     *JobError
	CreatedAt time.Time
	UpdatedAt time.Time
	StartTime *time.Time
	EndTime   *time.Time
}

// JobError is why a job faulted (UiPath's JobError).
type JobError struct {
	Code   string
	Title  string
	Detail string
	At     time.Time
}

// JobCreateParams are jobs to start.
type JobCreateParams struct {
	TenantID int64
	// Release is the release to run as the caller read it, its Package filled.
	Release Release
	Count   int // 1 to JobCreateMax
	// InputArguments are the resolved input values ("" for none).
	InputArguments string
	Priority       string // "": the release's
	Source         string // "": Manual
	Reference      string
	Info           string
	// RobotIDs, when set, are the only robots that may take the jobs (Specific).
	RobotIDs []int64
	Now      time.Time
}

// JobTransitionParams move one job by an event.
type JobTransitionParams struct {
	TenantID int64
	JobID    int64
	Event    JobEvent
	Now      time.Time
	// Change, when set, may change Info, OutputArguments, Error and HostMachineName of
	// the job once its state moved.
	Change func(Job) (Job, error)
}

// JobCreateMax is the most jobs one JobCreate makes.
const JobCreateMax = 1000

// JobSourceDefault is the Source of a job started without one.
const JobSourceDefault = "Manual"
