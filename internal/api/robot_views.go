package api

import (
	"time"

	"github.com/openorch/openorch/internal/store"
)

// The read-only entity sets of robots: Robots and Sessions (scope OR.Robots, permission
// Robots.View) and RobotLogs (scope OR.Monitoring, permission Logs.View). A robot is seen
// in the folders its machine serves.

func (a *API) robotViewRoutes() []route {
	return []route{
		{Method: "GET", Set: "Robots", Scope: "OR.Robots", Perm: "Robots.View", Folder: folderOptional, Handle: listRobots,
			Summary: "The robots (one per machine and host) of the machines serving the folder, or every folder where the caller holds Robots.View."},
		{Method: "GET", Set: "Sessions", Scope: "OR.Robots", Perm: "Robots.View", Folder: folderOptional, Handle: listSessions,
			Summary: "The robots' sessions: State Available, Busy or Disconnected, IsUnresponsive when the robot stopped calling, ReportingTime."},
		{Method: "GET", Set: "RobotLogs", Scope: "OR.Monitoring", Perm: "Logs.View", Folder: folderOptional, Handle: listRobotLogs,
			Summary: "What the jobs' processes wrote, as their robots sent it (stdout at Info, stderr at Error); filter by JobKey."},
	}
}

// robotDTO is UiPath's RobotDto, for robots of unattended machines.
type robotDTO struct {
	ID            int64     `json:"Id"`
	Key           string    `json:"Key"`
	LicenseKey    string    `json:"LicenseKey"`
	Name          string    `json:"Name"`
	MachineName   string    `json:"MachineName"`
	MachineID     int64     `json:"MachineId"`
	HostName      string    `json:"HostName"`
	Type          string    `json:"Type"`
	HostingType   string    `json:"HostingType"`
	ProvisionType string    `json:"ProvisionType"`
	Username      string    `json:"Username"`
	Enabled       bool      `json:"Enabled"`
	Slots         int       `json:"Slots"`
	Version       string    `json:"Version"`
	CreationTime  time.Time `json:"CreationTime"`
}

func toRobotDTO(r store.Robot) robotDTO {
	return robotDTO{ID: r.ID, Key: r.Key, LicenseKey: r.Key, Name: r.Name, MachineName: r.MachineName, MachineID: r.MachineID,
		HostName: r.HostName, Type: "Unattended", HostingType: "Standard", ProvisionType: "Automatic", Username: "", Enabled: true,
		Slots: r.Slots, Version: r.Version, CreationTime: r.CreatedAt}
}

// sessionDTO is UiPath's SessionDto: one per robot.
type sessionDTO struct {
	ID              int64     `json:"Id"`
	RobotID         int64     `json:"RobotId"`
	RobotName       string    `json:"RobotName"`
	MachineID       int64     `json:"MachineId"`
	MachineName     string    `json:"MachineName"`
	HostMachineName string    `json:"HostMachineName"`
	State           string    `json:"State"`
	IsUnresponsive  bool      `json:"IsUnresponsive"`
	ReportingTime   time.Time `json:"ReportingTime"`
	Version         string    `json:"Version"`
	// RunningJobs and Slots are OpenOrch's: how busy the robot is.
	RunningJobs int `json:"RunningJobs"`
	Slots       int `json:"Slots"`
}

// robotLogDTO is UiPath's LogDto of RobotLogs (no WindowsIdentity: robots run as the
// user of `orch robot`).
type robotLogDTO struct {
	ID                 int64     `json:"Id"`
	Level              string    `json:"Level"`
	TimeStamp          time.Time `json:"TimeStamp"`
	Message            string    `json:"Message"`
	JobKey             string    `json:"JobKey"`
	ProcessName        string    `json:"ProcessName"`
	RobotName          string    `json:"RobotName"`
	HostMachineName    string    `json:"HostMachineName"`
	OrganizationUnitID int64     `json:"OrganizationUnitId"`
}

// listRobots serves GET /odata/Robots.
func listRobots(a *API, c *call) *apiError {
	p, e := a.scopedSearch(c, 1000, "Robots.View")
	if e != nil {
		return e
	}
	page, total, err := a.st.RobotSearch(c.ctx(), p)
	if err != nil {
		return searchError(c, err)
	}
	out := make([]robotDTO, 0, len(page))
	for _, r := range page {
		out = append(out, toRobotDTO(r))
	}
	return writeList(a, c, "Robots", out, total)
}

// listSessions serves GET /odata/Sessions.
func listSessions(a *API, c *call) *apiError {
	p, e := a.scopedSearch(c, 1000, "Robots.View")
	if e != nil {
		return e
	}
	page, total, err := a.st.SessionSearch(c.ctx(), p)
	if err != nil {
		return searchError(c, err)
	}
	since := a.now().Add(-a.robots.unresponsiveAfter)
	out := make([]sessionDTO, 0, len(page))
	for _, r := range page {
		out = append(out, sessionDTO{ID: r.ID, RobotID: r.ID, RobotName: r.Name, MachineID: r.MachineID, MachineName: r.MachineName,
			HostMachineName: r.HostName, State: r.State, IsUnresponsive: r.State != store.RobotDisconnected && r.ReportingTime.Before(since),
			ReportingTime: r.ReportingTime, Version: r.Version, RunningJobs: r.Running, Slots: r.Slots})
	}
	return writeList(a, c, "Sessions", out, total)
}

// listRobotLogs serves GET /odata/RobotLogs.
func listRobotLogs(a *API, c *call) *apiError {
	p, e := a.scopedSearch(c, 1000, "Logs.View")
	if e != nil {
		return e
	}
	page, total, err := a.st.RobotLogSearch(c.ctx(), p)
	if err != nil {
		return searchError(c, err)
	}
	out := make([]robotLogDTO, 0, len(page))
	for _, l := range page {
		out = append(out, robotLogDTO{ID: l.ID, Level: l.Level, TimeStamp: l.Time, Message: l.Message, JobKey: l.JobKey,
			ProcessName: l.ProcessName, RobotName: l.RobotName, HostMachineName: l.HostMachineName, OrganizationUnitID: l.FolderID})
	}
	return writeList(a, c, "RobotLogs", out, total)
}
