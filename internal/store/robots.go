package store

import (
	"context"
	"time"
)

// RobotStore keeps robots, their sessions and their logs, and hands jobs to them.
//
// A robot is one (machine, host name) pair: `orch robot` on a host signs in as its
// machine and connects, which creates the robot the first time. Its session is its state
// (Available, Busy, Disconnected) and the last time it called (ReportingTime); a robot that
// has not called for the unresponsive setting is Unresponsive, worked out when read.
//
// Jobs reach robots through JobDispatch, which moves them Pending → Running along the job
// state machine (JobNext) and records the robot; RobotSweep ends Faulted the jobs of
// robots that stopped answering and those running past their maximum time, so that
// nothing stays Running forever.
type RobotStore interface {
	// RobotConnect creates or finds the robot of (p.MachineID, p.HostName) (host names
	// match case-insensitively), makes its session Available and reporting now, and ends
	// Faulted (JobEventLost, JobError code RobotRestarted) the jobs the store has running
	// on it whose Key is not in p.RunningJobKeys: their process is gone. It returns the
	// robot and the jobs it ended.
	RobotConnect(ctx context.Context, p RobotConnectParams) (Robot, []Job, error)
	RobotGet(ctx context.Context, tenantID, id int64) (Robot, error)
	RobotGetByKey(ctx context.Context, tenantID int64, key string) (Robot, error)
	// RobotTouch records that the robot called at now: its reporting time, and its state
	// Busy when a job runs on it, Available otherwise. When the robot's state stays the
	// same and its reporting time is less than fresh before now, nothing is written: a
	// robot calling many times a second costs no write (and on PostgreSQL no WAL flush) for
	// each call.
	RobotTouch(ctx context.Context, tenantID, robotID int64, now time.Time, fresh time.Duration) (Robot, error)
	// RobotDisconnect makes the robot's session Disconnected.
	RobotDisconnect(ctx context.Context, tenantID, robotID int64, now time.Time) error
	// RobotJobs lists the jobs running on the robot (Running, Stopping, Terminating), in
	// id order.
	RobotJobs(ctx context.Context, tenantID, robotID int64) ([]Job, error)
	// RobotSearch pages the robots of a tenant with an OData query (the Robots entity
	// set). p.FolderID and p.OnlyFolders narrow them to the robots of
	// machines that serve those folders (a member of the folder or of an ancestor).
	RobotSearch(ctx context.Context, p SearchParams) (page []Robot, total int, err error)
	// SessionSearch is RobotSearch with the properties of the Sessions entity set.
	SessionSearch(ctx context.Context, p SearchParams) (page []Robot, total int, err error)
	// RobotsOfFolder lists the robots of the machines that serve a folder, with the
	// number of jobs running on each, and the machines themselves (by name): why a job of
	// the folder waits.
	RobotsOfFolder(ctx context.Context, tenantID, folderID int64) (robots []Robot, machines []string, err error)

	// JobDispatch takes up to p.Max Pending jobs for robot p.RobotID, never more than its
	// free slots (its Slots less the jobs running on it): jobs of the folders its machine
	// serves, whose Specific robots (Job.RobotIDs) include it when set, by priority (High
	// first) then oldest first. Each moves to Running by JobEventStart with
	// HostMachineName the robot's host and RobotID the robot, in one transaction: a job
	// goes to one robot only, however many dispatch at once.
	JobDispatch(ctx context.Context, p JobDispatchParams) ([]Job, error)

	// RobotLogAdd stores log entries.
	RobotLogAdd(ctx context.Context, logs []RobotLog) error
	// RobotLogSearch pages a tenant's robot logs with an OData query; p.FolderID and
	// p.OnlyFolders narrow them to folders.
	RobotLogSearch(ctx context.Context, p SearchParams) (page []RobotLog, total int, err error)

	// RobotSweep runs one sweep under an installation-wide lock (one node at a time): the
	// jobs running on robots that have not called since p.UnresponsiveBefore (or whose
	// robot is gone) end Faulted with JobError RobotUnresponsive; those running past
	// their maximum run time plus p.Grace end Faulted with MaxRunTimeExceeded; robot logs
	// older than p.LogsBefore are deleted (at most RobotLogSweepBatch). A zero time skips
	// its part; p.LogsOnly skips the jobs.
	RobotSweep(ctx context.Context, p RobotSweepParams) (RobotSweepResult, error)
	// RobotStats counts, across the installation, what the metrics show.
	// With tenantID 0 it counts the whole installation.
	RobotStats(ctx context.Context, tenantID int64, connectedSince time.Time) (RobotStats, error)
}

// The states of a robot's session (UiPath's SessionState, less Unknown).
const (
	RobotAvailable    = "Available"
	RobotBusy         = "Busy"
	RobotDisconnected = "Disconnected"
)

// Robot is one host of a machine that runs jobs, with its session.
type Robot struct {
	ID          int64
	Key         string // GUID
	TenantID    int64
	MachineID   int64
	MachineName string
	HostName    string
	Name        string // {machine}@{host}
	Slots       int    // how many jobs it may run at once
	State       string // RobotAvailable, RobotBusy or RobotDisconnected
	Version     string // of orch robot
	// ReportingTime is the last time it called; ConnectedAt when it last connected.
	ReportingTime time.Time
	ConnectedAt   time.Time
	CreatedAt     time.Time
	// Running is the number of jobs running on it (filled by RobotsOfFolder and
	// RobotSearch).
	Running int
}

// RobotConnectParams register a host.
type RobotConnectParams struct {
	TenantID  int64
	MachineID int64
	HostName  string
	Slots     int // what it may use: already capped by the machine's slots
	Version   string
	// RunningJobKeys are the jobs the robot process still runs.
	RunningJobKeys []string
	Now            time.Time
}

// JobDispatchParams ask for jobs for a robot.
type JobDispatchParams struct {
	TenantID int64
	RobotID  int64
	Max      int
	Now      time.Time
}

// RobotLog is one line a job's process wrote, as its robot sent it (RobotLogs).
type RobotLog struct {
	ID              int64
	TenantID        int64
	FolderID        int64
	JobID           int64 // 0 once the job is deleted
	JobKey          string
	RobotID         int64 // 0 once the robot is deleted
	RobotName       string
	ProcessName     string
	HostMachineName string
	Level           string // Trace, Info, Warn, Error or Fatal
	Time            time.Time
	Message         string
}

// RobotLogLevels are the levels of robot logs, as UiPath's LogLevel names them.
var RobotLogLevels = []string{"Trace", "Info", "Warn", "Error", "Fatal"}

// RobotSweepParams say what one sweep does.
type RobotSweepParams struct {
	UnresponsiveBefore time.Time
	// Grace is how long past its maximum run time a job may still run (its robot kills it
	// first).
	Grace      time.Duration
	LogsBefore time.Time
	// LogsOnly skips the jobs: the sweep only deletes logs (a further batch).
	LogsOnly bool
	Now      time.Time
}

// RobotLogSweepBatch is how many robot logs one RobotSweep deletes at most.
const RobotLogSweepBatch = 1000

// RobotSweepResult is what a sweep did: the jobs it ended, for the API to tell robots.
type RobotSweepResult struct {
	Unresponsive []Job
	Overdue      []Job
	LogsDeleted  int
}

// RobotStats are the installation's robot figures.
type RobotStats struct {
	Connected   int // robots not Disconnected that called since connectedSince
	Slots       int // their slots
	BusySlots   int // jobs running on robots
	PendingJobs int
}

// Job error codes set by the robots and the sweeper.
const (
	JobErrorRobotUnresponsive  = "RobotUnresponsive"
	JobErrorRobotRestarted     = "RobotRestarted"
	JobErrorMaxRunTimeExceeded = "MaxRunTimeExceeded"
)

// RobotNotifyChannel is the PostgreSQL notification channel on which the store announces,
// when a transaction commits, that robots of a tenant have something new: jobs to take or
// jobs to stop. The payload is the tenant id in decimal.
const RobotNotifyChannel = "openorch_robots"
