package robot

import (
	"encoding/json"
	"time"
)

// The bodies of the robot protocol (docs/robot-protocol.md). Durations the server gives in
// seconds are read as numbers that may carry a fraction.

// ConnectRequest is the body of robot/connect.
type ConnectRequest struct {
	HostName       string   `json:"hostName"`
	Slots          int      `json:"slots"`
	Version        string   `json:"version"`
	RunningJobKeys []string `json:"runningJobKeys"`
}

// ConnectResponse is the answer to robot/connect.
type ConnectResponse struct {
	RobotID                  int64   `json:"robotId"`
	RobotKey                 string  `json:"robotKey"`
	RobotName                string  `json:"robotName"`
	MachineName              string  `json:"machineName"`
	Slots                    int     `json:"slots"`
	HeartbeatIntervalSeconds float64 `json:"heartbeatIntervalSeconds"`
	UnresponsiveAfterSeconds float64 `json:"unresponsiveAfterSeconds"`
	MaxWaitSeconds           float64 `json:"maxWaitSeconds"`
}

// NextRequest is the body of robot/next.
type NextRequest struct {
	RobotKey    string `json:"robotKey"`
	FreeSlots   int    `json:"freeSlots"`
	WaitSeconds int    `json:"waitSeconds"`
}

// NextResponse is the answer to robot/next.
type NextResponse struct {
	Jobs  []JobAssignment `json:"jobs"`
	Stops []StopRequest   `json:"stops"`
}

// JobAssignment is a job the server gives the robot to run.
type JobAssignment struct {
	JobKey               string          `json:"jobKey"`
	JobID                int64           `json:"jobId"`
	FolderID             int64           `json:"folderId"`
	FolderKey            string          `json:"folderKey"`
	FolderPath           string          `json:"folderPath"`
	ProcessName          string          `json:"processName"`
	PackageID            string          `json:"packageId"`
	PackageVersion       string          `json:"packageVersion"`
	PackageSha256        string          `json:"packageSha256"`
	PackageSize          int64           `json:"packageSize"`
	EntryPoint           string          `json:"entryPoint"`
	InputArguments       json.RawMessage `json:"inputArguments,omitempty"`
	MaxRunTimeSeconds    float64         `json:"maxRunTimeSeconds"`
	AccessToken          string          `json:"accessToken"`
	AccessTokenExpiresAt time.Time       `json:"accessTokenExpiresAt"`
}

// Stop strategies.
const (
	SoftStop = "SoftStop"
	Kill     = "Kill"
)

// StopRequest asks the robot to stop one of its jobs.
type StopRequest struct {
	JobKey   string `json:"jobKey"`
	Strategy string `json:"strategy"`
}

// HeartbeatRequest is the body of robot/heartbeat.
type HeartbeatRequest struct {
	RobotKey string         `json:"robotKey"`
	Jobs     []HeartbeatJob `json:"jobs"`
}

// HeartbeatJob is a running job as a heartbeat lists it.
type HeartbeatJob struct {
	JobKey         string     `json:"jobKey"`
	TokenExpiresAt *time.Time `json:"tokenExpiresAt,omitempty"`
}

// HeartbeatResponse is the answer to robot/heartbeat.
type HeartbeatResponse struct {
	HeartbeatIntervalSeconds float64       `json:"heartbeatIntervalSeconds"`
	Stops                    []StopRequest `json:"stops"`
	Cancel                   []string      `json:"cancel"`
	Tokens                   []JobToken    `json:"tokens"`
}

// JobToken is a renewed job token.
type JobToken struct {
	JobKey               string    `json:"jobKey"`
	AccessToken          string    `json:"accessToken"`
	AccessTokenExpiresAt time.Time `json:"accessTokenExpiresAt"`
}

// Log levels (UiPath's LogLevel).
const (
	LevelTrace = "Trace"
	LevelInfo  = "Info"
	LevelWarn  = "Warn"
	LevelError = "Error"
	LevelFatal = "Fatal"
)

// LogsRequest is the body of robot/logs.
type LogsRequest struct {
	RobotKey string     `json:"robotKey"`
	Entries  []LogEntry `json:"entries"`
}

// LogEntry is one line a job wrote.
type LogEntry struct {
	JobKey    string    `json:"jobKey"`
	Level     string    `json:"level"`
	TimeStamp time.Time `json:"timeStamp"`
	Message   string    `json:"message"`
}

// Job-state events.
const (
	EventSucceed = "Succeed"
	EventFail    = "Fail"
)

// JobStateRequest is the body of robot/job-state: how a job ended.
type JobStateRequest struct {
	RobotKey        string          `json:"robotKey"`
	JobKey          string          `json:"jobKey"`
	Event           string          `json:"event"`
	OutputArguments json.RawMessage `json:"outputArguments,omitempty"`
	Error           *JobError       `json:"error,omitempty"`
}

// JobError says why a job failed.
type JobError struct {
	Code   string `json:"code"`
	Title  string `json:"title"`
	Detail string `json:"detail,omitempty"`
}

// JobStateResponse is the answer to robot/job-state.
type JobStateResponse struct {
	State string `json:"state"`
}

// DisconnectRequest is the body of robot/disconnect.
type DisconnectRequest struct {
	RobotKey string `json:"robotKey"`
}

// The limits of the protocol.
const (
	// MaxLogEntries is how many entries one robot/logs call carries at most.
	MaxLogEntries = 1000
	// MaxLogMessage bounds one entry's message, in bytes; a longer line is cut and marked.
	MaxLogMessage = 64 << 10
	// MaxOutputArguments bounds the output arguments, as JSON.
	MaxOutputArguments = 10_000
)

// Error codes of the job-state reports this robot sends.
const (
	CodeExitCode           = "ExitCode"
	CodeSignal             = "Signal"
	CodeMaxRunTimeExceeded = "MaxRunTimeExceeded"
	CodePackageInvalid     = "PackageInvalid"
	CodePackageDownload    = "PackageDownloadFailed"
	CodeStartFailed        = "StartFailed"
	CodeInputInvalid       = "InputInvalid"
	CodeOutputInvalid      = "OutputInvalid"
	CodeRobotShuttingDown  = "RobotShuttingDown"
)
