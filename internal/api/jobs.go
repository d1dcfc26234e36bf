package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/openorch/openorch/internal/odata"
	"github.com/openorch/openorch/internal/packages"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// Jobs: runs of a process (a release). StartJobs needs the folder of the process; the
// other routes, without a folder header, act on every folder where the caller holds the
// permission (UiPath's cross-folder reads), and with one, in that folder only.
//
// The states a job goes through are the store's state machine (store.JobNext); the API
// moves jobs by the stop events only, robots by the others. Without a robot a started job
// stays Pending, its Info saying what it waits for.
//
// Every write is audited, one entry per call: StartJobs lists the jobs it made, StopJobs
// the jobs it stopped. As UiPath does, starting and stopping jobs and reading one job are
// not rate limited (NoRateLimit); the Jobs list is.

// Limits.
const (
	// jobsListMax is the cap of the Jobs list (DESIGN §5).
	jobsListMax = 100
	// jobsCountMax bounds JobsCount: one call makes at most this many jobs.
	jobsCountMax = store.JobCreateMax
	// stopJobsMax bounds the jobIds of one StopJobs call.
	stopJobsMax = 1000
	// jobInputMax is UiPath's limit on StartJobs' InputArguments.
	jobInputMax     = 10_000
	jobReferenceMax = 128
	jobSourceMax    = 100
)

func (a *API) jobRoutes() []route {
	return []route{
		{Method: "GET", Set: "Jobs", Scope: "OR.Jobs", Perm: "Jobs.View", Folder: folderOptional, Handle: listJobs,
			Summary: "Jobs: of the folder given by a header, or of every folder where the caller may view jobs. At most 100 without $top; $top above 100 is refused. InputArguments and OutputArguments are null in the list, as UiPath's: read them with Jobs(Id). $expand=Release adds the process, $expand=Robot the robot that took the job."},
		{Method: "GET", Set: "Jobs", Key: true, Scope: "OR.Jobs", Perm: "Jobs.View", Folder: folderOptional, Handle: getJob, NoRateLimit: true,
			Summary: "One job by Id, with its InputArguments and OutputArguments (JSON strings). Not rate limited."},
		{Method: "GET", Set: "Jobs", Action: "GetByKey", Scope: "OR.Jobs", Perm: "Jobs.View", Folder: folderOptional, Handle: getJobByKey,
			NoRateLimit: true, Summary: "GetByKey(identifier=<job Key>): one job by its Key. Not rate limited."},
		{Method: "POST", Set: "Jobs", Action: "StartJobs", Scope: "OR.Jobs", Perm: "Jobs.Create", Folder: folderRequired, Handle: startJobs,
			NoRateLimit: true,
			Summary:     "{\"startInfo\":{\"ReleaseKey\" or \"ReleaseName\", \"Strategy\":\"ModernJobsCount\" (or JobsCount; the default), \"JobsCount\" (default 1, at most 1000), \"JobPriority\":\"Low|Normal|High\" (default the process's), \"InputArguments\" (a JSON string holding an object, or an object; checked against the arguments the package declares, over the process's values), \"Source\", \"Reference\"}} → 201 {\"value\":[JobDto…]}, the jobs Pending. Specific (RobotIds) needs robots; All and RobotCount are strategies of classic folders. Not rate limited."},
		{Method: "POST", Set: "Jobs", Key: true, Action: "StopJob", Scope: "OR.Jobs", Perm: "Jobs.Edit", Folder: folderOptional, Handle: stopJob,
			NoRateLimit: true,
			Summary:     "{\"strategy\":\"SoftStop\"|\"Kill\"}: a Pending, Resumed or Suspended job ends Stopped at once; a running one goes Stopping (SoftStop) or Terminating (Kill) until its robot ends it. A job that has ended is 409 with its state. Not rate limited."},
		{Method: "POST", Set: "Jobs", Action: "StopJobs", Scope: "OR.Jobs", Perm: "Jobs.Edit", Folder: folderOptional, Handle: stopJobs,
			NoRateLimit: true,
			Summary:     "{\"jobIds\":[…],\"strategy\":\"SoftStop\"|\"Kill\"}: StopJob for each job, all or none: a job that has ended is 409 naming it and nothing is stopped. Not rate limited."},
		{Method: "POST", Set: "Jobs", Action: "RestartJob", Scope: "OR.Jobs", Perm: "Jobs.Create", Folder: folderOptional, Handle: restartJob,
			NoRateLimit: true,
			Summary:     "{\"jobId\":…}: a new Pending job of the same process with the same input values, priority, Source and Reference, from a job that has ended; the answer is the new job."},
	}
}

// jobDTO is UiPath's JobDto. InputArguments and OutputArguments are JSON strings. Robot
// and Machine are not there yet: robots add them. ProcessKey, ProcessVersion and
// MaxRunTimeSeconds are OpenOrch's: the package version the job runs and how long it may
// run (null: no limit).
type jobDTO struct {
	ID                                 int64        `json:"Id"`
	Key                                string       `json:"Key"`
	State                              string       `json:"State"`
	JobPriority                        string       `json:"JobPriority"`
	SpecificPriorityValue              int          `json:"SpecificPriorityValue"`
	CreationTime                       time.Time    `json:"CreationTime"`
	StartTime                          *time.Time   `json:"StartTime"`
	EndTime                            *time.Time   `json:"EndTime"`
	LastModificationTime               *time.Time   `json:"LastModificationTime"`
	ReleaseName                        string       `json:"ReleaseName"`
	ProcessKey                         string       `json:"ProcessKey"`
	ProcessVersion                     string       `json:"ProcessVersion"`
	EntryPointPath                     string       `json:"EntryPointPath"`
	Type                               string       `json:"Type"`
	RuntimeType                        string       `json:"RuntimeType"`
	ProcessType                        string       `json:"ProcessType"`
	Source                             string       `json:"Source"`
	SourceType                         string       `json:"SourceType"`
	InputArguments                     *string      `json:"InputArguments"`
	OutputArguments                    *string      `json:"OutputArguments"`
	InputFile                          *string      `json:"InputFile"`
	OutputFile                         *string      `json:"OutputFile"`
	Info                               *string      `json:"Info"`
	HostMachineName                    *string      `json:"HostMachineName"`
	BatchExecutionKey                  string       `json:"BatchExecutionKey"`
	Reference                          string       `json:"Reference"`
	StopStrategy                       *string      `json:"StopStrategy"`
	MaxRunTimeSeconds                  *int64       `json:"MaxRunTimeSeconds"`
	ErrorCode                          *string      `json:"ErrorCode"`
	JobError                           *jobErrorDTO `json:"JobError"`
	OrganizationUnitID                 int64        `json:"OrganizationUnitId"`
	OrganizationUnitFullyQualifiedName string       `json:"OrganizationUnitFullyQualifiedName"`

	releaseID int64 // for the Release navigation
	robotID   int64 // for the Robot navigation: the robot that took the job, 0 for none
}

// jobErrorDTO is UiPath's JobError.
type jobErrorDTO struct {
	Code      string    `json:"Code"`
	Title     string    `json:"Title"`
	Detail    string    `json:"Detail"`
	Category  string    `json:"Category"`
	Status    *int      `json:"Status"`
	Timestamp time.Time `json:"Timestamp"`
}

// specificPriority is UiPath's SpecificPriorityValue (1 to 100) of a priority.
var specificPriority = map[string]int{store.PriorityLow: 25, store.PriorityNormal: 45, store.PriorityHigh: 65}

// toJobDTO writes a job of the folder at folderPath. Lists leave the arguments out
// (withArgs false), as UiPath's list does: a page of 100 jobs would carry every job's
// input and output.
func toJobDTO(j store.Job, folderPath string, withArgs bool) jobDTO {
	updated := j.UpdatedAt
	d := jobDTO{ID: j.ID, Key: j.Key, State: string(j.State), JobPriority: j.Priority, SpecificPriorityValue: specificPriority[j.Priority],
		CreationTime: j.CreatedAt, StartTime: j.StartTime, EndTime: j.EndTime, LastModificationTime: &updated,
		ReleaseName: j.ReleaseName, ProcessKey: j.PackageName, ProcessVersion: j.PackageVersion, EntryPointPath: j.EntryPoint,
		Type: "Unattended", RuntimeType: "Unattended", ProcessType: "Process", Source: j.Source, SourceType: j.Source,
		Info: optText(j.Info), HostMachineName: optText(j.HostMachineName), BatchExecutionKey: j.BatchKey, Reference: j.Reference,
		StopStrategy: optText(j.StopStrategy), OrganizationUnitID: j.FolderID, OrganizationUnitFullyQualifiedName: folderPath,
		releaseID: j.ReleaseID, robotID: j.RobotID}
	if withArgs {
		in := j.InputArguments
		if in == "" {
			in = "{}"
		}
		d.InputArguments, d.OutputArguments = &in, optText(j.OutputArguments)
	}
	if j.MaxRunTimeSeconds > 0 {
		m := j.MaxRunTimeSeconds
		d.MaxRunTimeSeconds = &m
	}
	if j.Error != nil {
		code := j.Error.Code
		d.ErrorCode = &code
		d.JobError = &jobErrorDTO{Code: j.Error.Code, Title: j.Error.Title, Detail: j.Error.Detail, Category: "System", Timestamp: j.Error.At}
	}
	return d
}

// loadJobReleases is the Release navigation of JobDto: the processes of a page, each read
// once (null for a job whose process is gone).
func loadJobReleases(a *API, c *call, page []any) ([]any, *apiError) {
	fs, err := a.st.FolderList(c.ctx(), c.tenant.ID)
	if err != nil {
		return nil, internalError(c.r, err)
	}
	folders := make(map[int64]tenancy.Folder, len(fs))
	for _, f := range fs {
		folders[f.ID] = f
	}
	return loadByID(c, page, func(j jobDTO) int64 { return j.releaseID }, func(id int64) (releaseDTO, error) {
		r, err := a.st.ReleaseGet(c.ctx(), c.tenant.ID, id)
		return releaseDTOIn(folders[r.FolderID], r), err
	})
}

// loadJobRobots is the Robot navigation of JobDto: the robot that took each job of a page
// (null for a job no robot took yet, or whose robot is gone), each read once.
func loadJobRobots(a *API, c *call, page []any) ([]any, *apiError) {
	return loadByID(c, page, func(j jobDTO) int64 { return j.robotID }, func(id int64) (robotDTO, error) {
		r, err := a.st.RobotGet(c.ctx(), c.tenant.ID, id)
		return toRobotDTO(r), err
	})
}

// listJobs serves GET /odata/Jobs.
func listJobs(a *API, c *call) *apiError {
	p, e := a.scopedSearch(c, jobsListMax, "Jobs.View")
	if e != nil {
		return e
	}
	page, total, err := a.st.JobSearch(c.ctx(), p)
	if err != nil {
		return searchError(c, err)
	}
	paths, e := a.folderPaths(c)
	if e != nil {
		return e
	}
	a.liveInfo(c, page)
	out := make([]jobDTO, 0, len(page))
	for _, j := range page {
		out = append(out, toJobDTO(j, paths[j.FolderID], false))
	}
	return writeList(a, c, "Jobs", out, total)
}

// jobWhere says where the caller was looking, for messages.
func jobWhere(c *call) string {
	if c.folder != nil {
		return "in folder " + c.folder.FullyQualifiedName
	}
	return "in a folder you may use"
}

// jobScoped checks that a job read for a route is in its scope: one outside the folders
// the caller may use looks as one that does not exist.
func jobScoped(c *call, j store.Job, err error, folders []int64, what string) (store.Job, *apiError) {
	if errors.Is(err, store.ErrNotFound) || err == nil && !slices.Contains(folders, j.FolderID) {
		return j, notFound("%s does not exist %s", what, jobWhere(c))
	} else if err != nil {
		return j, internalError(c.r, err)
	}
	return j, nil
}

// jobFor reads job id for a route that needs perms in the job's folder.
func (a *API) jobFor(c *call, id int64, perms ...tenancy.Permission) (store.Job, *apiError) {
	folders, e := a.itemScope(c, perms...)
	if e != nil {
		return store.Job{}, e
	}
	j, err := a.st.JobGet(c.ctx(), c.tenant.ID, id)
	return jobScoped(c, j, err, folders, "job "+strconv.FormatInt(id, 10))
}

// writeJob answers with one job, its arguments included.
func (a *API) writeJob(c *call, j store.Job) *apiError {
	paths, e := a.folderPaths(c)
	if e != nil {
		return e
	}
	jobs := []store.Job{j}
	a.liveInfo(c, jobs)
	return writeEntity(a, c, "Jobs", toJobDTO(jobs[0], paths[j.FolderID], true))
}

// getJob serves GET /odata/Jobs(id).
func getJob(a *API, c *call) *apiError {
	id, e := keyID(c)
	if e != nil {
		return e
	}
	j, e := a.jobFor(c, id, "Jobs.View")
	if e != nil {
		return e
	}
	return a.writeJob(c, j)
}

// getJobByKey serves GET /odata/Jobs/…GetByKey(identifier=<Key>).
func getJobByKey(a *API, c *call) *apiError {
	key := strings.TrimSpace(c.path.Params["identifier"])
	if key == "" {
		return invalid("GetByKey needs the job's Key: Jobs/UiPath.Server.Configuration.OData.GetByKey(identifier=<Key>)")
	}
	if _, err := uuid.Parse(key); err != nil {
		return invalid("GetByKey(identifier=%s): a job's Key is a GUID such as 0f8fad5b-d9cb-469f-a165-70867728950e", key)
	}
	folders, e := a.itemScope(c, "Jobs.View")
	if e != nil {
		return e
	}
	j, err := a.st.JobGetByKey(c.ctx(), c.tenant.ID, key)
	j, e = jobScoped(c, j, err, folders, "a job with Key "+key)
	if e != nil {
		return e
	}
	return a.writeJob(c, j)
}

// ---- StartJobs

// startInfo is UiPath's StartProcessDto, bound case-insensitively: the official CLI sends
// PascalCase, the TypeScript SDK camelCase.
type startInfo struct {
	ReleaseKey  *string `json:"ReleaseKey"`
	ReleaseName *string `json:"ReleaseName"`
	// Strategy is a name (ModernJobsCount) or UiPath's number of one.
	Strategy      json.RawMessage `json:"Strategy"`
	JobsCount     *int            `json:"JobsCount"`
	NoOfRobots    *int            `json:"NoOfRobots"`
	RobotIDs      []int64         `json:"RobotIds"`
	MachineRobots []any           `json:"MachineRobots"`
	JobPriority   *string         `json:"JobPriority"`
	Source        *string         `json:"Source"`
	Reference     *string         `json:"Reference"`
	// InputArguments is a JSON string holding an object, as UiPath has it, or an object.
	InputArguments json.RawMessage `json:"InputArguments"`
	InputFile      *string         `json:"InputFile"`
	EntryPointPath *string         `json:"EntryPointPath"`
}

// startStrategies are UiPath's StartStrategy values by number.
var startStrategies = []string{"All", "Specific", "RobotCount", "JobsCount", "ModernJobsCount"}

// strategyOf reads startInfo.Strategy: a name in any case or a number; "" when absent.
func strategyOf(raw json.RawMessage) (string, *apiError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var name string
	var n int
	switch {
	case json.Unmarshal(raw, &name) == nil:
		for _, s := range startStrategies {
			if strings.EqualFold(strings.TrimSpace(name), s) {
				return s, nil
			}
		}
		if v, err := strconv.Atoi(strings.TrimSpace(name)); err == nil && v >= 0 && v < len(startStrategies) {
			return startStrategies[v], nil
		}
	case json.Unmarshal(raw, &n) == nil && n >= 0 && n < len(startStrategies):
		return startStrategies[n], nil
	}
	return "", invalid("startInfo.Strategy %s is not a start strategy; use ModernJobsCount with JobsCount (the jobs any robot of the folder may take)", raw)
}

// jobStart is a checked startInfo.
type jobStart struct {
	count     int
	priority  string // "": the process's
	source    string
	reference string
	values    map[string]json.RawMessage
	// robotIDs are the robots that may take the jobs (Specific); nil: any robot.
	robotIDs []int64
}

// check reads what startInfo asks for, on its face; the process is found afterwards.
func (in *startInfo) check() (jobStart, *apiError) {
	var s jobStart
	strategy, e := strategyOf(in.Strategy)
	if e != nil {
		return s, e
	}
	robots := len(in.RobotIDs) > 0 || len(in.MachineRobots) > 0
	switch {
	case strategy == "All" || strategy == "RobotCount" || in.NoOfRobots != nil && *in.NoOfRobots > 0:
		if strategy == "" || strategy == "JobsCount" || strategy == "ModernJobsCount" {
			strategy = "RobotCount"
		}
		return s, &apiError{Status: http.StatusBadRequest, Code: codeInvalid,
			Message: fmt.Sprintf("startInfo.Strategy %s is a strategy of classic folders (StrategyNotAvailableInModernFolder), and every OpenOrch folder is a modern folder: use ModernJobsCount with JobsCount", strategy),
			Details: map[string]any{"reason": "StrategyNotAvailableInModernFolder", "strategy": strategy}}
	case len(in.MachineRobots) > 0:
		return s, invalid("startInfo.MachineRobots is not supported: name the robots in startInfo.RobotIds (Robots(Id)) with Strategy Specific")
	case strategy == "Specific" || robots:
		if len(in.RobotIDs) == 0 {
			return s, invalid("startInfo.Strategy Specific needs startInfo.RobotIds: the Ids of the robots (odata/Robots) that may take the jobs")
		}
		s.robotIDs = slices.Compact(slices.Sorted(slices.Values(in.RobotIDs)))
	}
	s.count = 1
	if in.JobsCount != nil {
		s.count = *in.JobsCount
	}
	if s.count < 1 || s.count > jobsCountMax {
		return s, invalid("startInfo.JobsCount must be from 1 to %d, got %d", jobsCountMax, s.count)
	}
	if in.JobPriority != nil && strings.TrimSpace(*in.JobPriority) != "" {
		p, ok := jobPriority(strings.TrimSpace(*in.JobPriority))
		if !ok {
			return s, invalid("startInfo.JobPriority %q is not Low, Normal or High (leave it out for the process's)", *in.JobPriority)
		}
		s.priority = p
	}
	if in.Source != nil {
		s.source = strings.TrimSpace(*in.Source)
		if e := checkText("startInfo.Source", s.source, jobSourceMax); e != nil {
			return s, e
		}
	}
	if in.Reference != nil {
		s.reference = strings.TrimSpace(*in.Reference)
		if e := checkText("startInfo.Reference", s.reference, jobReferenceMax); e != nil {
			return s, e
		}
	}
	if in.InputFile != nil && strings.TrimSpace(*in.InputFile) != "" {
		return s, invalid("startInfo.InputFile: input files are not supported; send the values in startInfo.InputArguments")
	}
	values, err := packages.DecodeValues(in.InputArguments)
	if err != nil {
		return s, invalid("startInfo.InputArguments %v", err)
	}
	if n := len(packages.EncodeValues(values)); n > jobInputMax {
		return s, invalid("startInfo.InputArguments is %d characters long as JSON; the limit is %d", n, jobInputMax)
	}
	s.values = values
	return s, nil
}

// startRelease finds the process a startInfo names in the call's folder: ReleaseKey (a
// GUID; anything else is taken as a name, as the TypeScript SDK's examples send one) or
// ReleaseName.
func (a *API) startRelease(c *call, tx store.Store, in *startInfo) (store.Release, error) {
	ctx := c.ctx()
	key, name := "", ""
	if in.ReleaseKey != nil {
		key = strings.TrimSpace(*in.ReleaseKey)
	}
	if in.ReleaseName != nil {
		name = strings.TrimSpace(*in.ReleaseName)
	}
	var r store.Release
	var err error
	switch {
	case key != "" && isGUID(key):
		r, err = tx.ReleaseGetByKey(ctx, c.tenant.ID, key)
		if err == nil && r.FolderID != c.folder.ID {
			return r, notFound("no process with Key %s in folder %s%s; GET /odata/Releases with this folder lists its processes and their Keys",
				key, c.folder.FullyQualifiedName, a.elsewhere(c, r.FolderID))
		}
		if errors.Is(err, store.ErrNotFound) {
			return r, notFound("no process with Key %s in folder %s; GET /odata/Releases with this folder lists its processes and their Keys",
				key, c.folder.FullyQualifiedName)
		}
	case key != "":
		r, err = tx.ReleaseGetByName(ctx, c.tenant.ID, c.folder.ID, key)
		if errors.Is(err, store.ErrNotFound) {
			return r, notFound("startInfo.ReleaseKey %q is neither a process Key (a GUID) nor the name of a process in folder %s%s",
				key, c.folder.FullyQualifiedName, a.releaseHint(c))
		}
	case name != "":
		r, err = tx.ReleaseGetByName(ctx, c.tenant.ID, c.folder.ID, name)
		if errors.Is(err, store.ErrNotFound) {
			return r, notFound("folder %s has no process named %q%s", c.folder.FullyQualifiedName, name, a.releaseHint(c))
		}
	default:
		return r, invalid("startInfo needs the process to start: ReleaseKey (its Key) or ReleaseName; GET /odata/Releases lists the processes of the folder")
	}
	if err != nil {
		return r, err
	}
	if key != "" && name != "" && !strings.EqualFold(name, r.Name) {
		return r, invalid("startInfo.ReleaseKey names process %q but startInfo.ReleaseName says %q; send one of them", r.Name, name)
	}
	return r, nil
}

func isGUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && strings.Count(s, "-") == 4
}

// releaseHint names the processes of the call's folder for a "did you mean".
func (a *API) releaseHint(c *call) string {
	q := odata.Query{Top: 20, OrderBy: []odata.Order{{Path: "Name"}}}
	rs, _, err := a.st.ReleaseSearch(c.ctx(), store.SearchParams{TenantID: c.tenant.ID, FolderID: c.folder.ID, Query: q})
	if err != nil || len(rs) == 0 {
		return " (it has none)"
	}
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Name
	}
	return " (its processes: " + strings.Join(names, ", ") + ")"
}

// elsewhere tells the caller which folder holds a process, when the caller may see that
// folder (otherwise nothing: folders one may not use are not revealed).
func (a *API) elsewhere(c *call, folderID int64) string {
	acc, e := a.accessOf(c)
	if e != nil || !acc.FolderPermissions(folderID).Has("Processes.View") {
		return ""
	}
	f, err := a.st.FolderGet(c.ctx(), c.tenant.ID, folderID)
	if err != nil {
		return ""
	}
	return fmt.Sprintf(" (it is in folder %s: send %s: %s)", f.FullyQualifiedName, hdrFolderPath, f.FullyQualifiedName)
}

// resolveInput makes a job's input values: the package's defaults, then the process's
// values, then the job's own (layers), checked against what the package version declares.
func resolveInput(field string, r store.Release, layers ...map[string]json.RawMessage) (string, error) {
	decl, err := packages.ParseArguments(r.Package.Arguments)
	if err != nil {
		return "", err
	}
	values, err := decl.Resolve(layers...)
	if err != nil {
		return "", invalid("%s: %v (process %s runs package %s version %s)", field, err, r.Name, r.PackageName, r.PackageVersion)
	}
	return packages.EncodeValues(values), nil
}

// startJobs serves POST /odata/Jobs/…StartJobs: 201 with the jobs, Pending.
func startJobs(a *API, c *call) *apiError {
	var body struct {
		StartInfo *startInfo `json:"startInfo"`
	}
	if e := bind(c, &body); e != nil {
		return e
	}
	in := body.StartInfo
	if in == nil {
		return invalid(`StartJobs takes {"startInfo":{"ReleaseKey" or "ReleaseName", "JobsCount", "InputArguments", …}}`)
	}
	s, e := in.check()
	if e != nil {
		return e
	}
	if e := a.checkSpecificRobots(c, *c.folder, s.robotIDs); e != nil {
		return e
	}
	info := a.waitingInfo(c, *c.folder, s.robotIDs)
	var jobs []store.Job
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		r, err := a.startRelease(c, tx, in)
		if err != nil {
			return store.AuditEntry{}, err
		}
		if in.EntryPointPath != nil && *in.EntryPointPath != "" && *in.EntryPointPath != r.Package.EntryPoint {
			return store.AuditEntry{}, invalid("startInfo.EntryPointPath %q: package %s version %s has one entry point, %s; leave EntryPointPath out",
				*in.EntryPointPath, r.PackageName, r.PackageVersion, r.Package.EntryPoint)
		}
		release, err := packages.DecodeValues(json.RawMessage(r.InputArguments))
		if err != nil {
			return store.AuditEntry{}, err
		}
		input, err := resolveInput("startInfo.InputArguments", r, release, s.values)
		if err != nil {
			return store.AuditEntry{}, err
		}
		jobs, err = tx.JobCreate(c.ctx(), store.JobCreateParams{TenantID: c.tenant.ID, Release: r, Count: s.count, InputArguments: input,
			Priority: s.priority, Source: s.source, Reference: s.reference, Info: info, RobotIDs: s.robotIDs, Now: a.now()})
		if err != nil {
			return store.AuditEntry{}, err
		}
		ids := make([]string, len(jobs))
		for i, j := range jobs {
			ids[i] = strconv.FormatInt(j.ID, 10)
		}
		what := "job " + ids[0]
		if len(jobs) > 1 {
			what = fmt.Sprintf("%d jobs: %s", len(jobs), strings.Join(ids, ", "))
		}
		return store.AuditEntry{Action: "StartJobs", Component: "Jobs", EntityID: jobs[0].ID, EntityName: r.Name,
			Details: fmt.Sprintf("started %s of process %s (package %s version %s) in folder %s", what, r.Name, r.PackageName,
				r.PackageVersion, c.folder.FullyQualifiedName)}, nil
	})
	if e := jobWriteError(c, err); e != nil {
		return e
	}
	a.wakeRobots(c.tenant.ID)
	out := make([]jobDTO, len(jobs))
	for i, j := range jobs {
		out[i] = toJobDTO(j, c.folder.FullyQualifiedName, true)
	}
	writeJSON(c.w, http.StatusCreated, map[string]any{"@odata.context": c.base + "/odata/$metadata#Jobs", "value": out})
	return nil
}

// jobWriteError maps the refusals of job writes: an *apiError of a check, a state the
// event does not fit (409 with the job), and the store's sentinels.
func jobWriteError(c *call, err error) *apiError {
	if err == nil {
		return nil
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var se *store.JobStateError
	if errors.As(err, &se) {
		return jobStateError(se)
	}
	return storeError(c, err)
}

// jobStateError is the 409 of an event the job's state does not accept, with the job's
// state.
func jobStateError(se *store.JobStateError) *apiError {
	j := se.Job
	msg := se.Error()
	if se.Event == store.JobEventSoftStop || se.Event == store.JobEventKill {
		msg += "; only a job that has not ended can be stopped"
	}
	return &apiError{Status: http.StatusConflict, Code: codeInvalid, Message: msg,
		Details: map[string]any{"Id": j.ID, "Key": j.Key, "State": string(se.State), "EndTime": j.EndTime}}
}

// ---- stopping

// stopStrategyOf reads the strategy of StopJob and StopJobs: SoftStop or Kill, by name
// in any case or by UiPath's number (1, 2).
func stopStrategyOf(raw json.RawMessage) (store.JobEvent, *apiError) {
	raw = bytes.TrimSpace(raw)
	var name string
	var n int
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "", invalid(`say how to stop: {"strategy":"SoftStop"} lets the process end itself, {"strategy":"Kill"} ends it at once`)
	case json.Unmarshal(raw, &name) == nil:
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "softstop", "1":
			return store.JobEventSoftStop, nil
		case "kill", "2":
			return store.JobEventKill, nil
		}
	case json.Unmarshal(raw, &n) == nil:
		switch n {
		case 1:
			return store.JobEventSoftStop, nil
		case 2:
			return store.JobEventKill, nil
		}
	}
	return "", invalid("strategy %s is not SoftStop or Kill", raw)
}

// stopOne moves one job by a stop event in tx, saying in its Info who asked.
func (a *API) stopOne(c *call, tx store.Store, id int64, ev store.JobEvent) (store.Job, error) {
	return tx.JobTransition(c.ctx(), store.JobTransitionParams{TenantID: c.tenant.ID, JobID: id, Event: ev, Now: a.now(),
		Change: func(j store.Job) (store.Job, error) {
			switch {
			case j.State == store.JobStopped:
				j.Info = fmt.Sprintf("Stopped by %s before a robot ran it", c.who.name)
			case j.State == store.JobStopping:
				j.Info = fmt.Sprintf("%s asked to stop the job (SoftStop): waiting for its robot to end the process", c.who.name)
			case j.State == store.JobTerminating:
				j.Info = fmt.Sprintf("%s asked to kill the job (Kill): waiting for its robot to end the process", c.who.name)
			}
			return j, nil
		}})
}

// stopJob serves POST /odata/Jobs(id)/…StopJob.
func stopJob(a *API, c *call) *apiError {
	id, e := keyID(c)
	if e != nil {
		return e
	}
	var in struct {
		Strategy json.RawMessage `json:"strategy"`
	}
	if e := bindOptional(c, &in); e != nil {
		return e
	}
	ev, e := stopStrategyOf(in.Strategy)
	if e != nil {
		return e
	}
	old, e := a.jobFor(c, id, "Jobs.Edit")
	if e != nil {
		return e
	}
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		j, err := a.stopOne(c, tx, id, ev)
		return store.AuditEntry{Action: "StopJob", Component: "Jobs", EntityID: id, EntityName: old.ReleaseName,
			Details: fmt.Sprintf("stopped job %d of process %s (%s): %s → %s", id, old.ReleaseName, ev, old.State, j.State)}, err
	})
	if e := jobWriteError(c, err); e != nil {
		return e
	}
	a.wakeRobots(c.tenant.ID)
	c.w.WriteHeader(http.StatusOK)
	return nil
}

// stopJobs serves POST /odata/Jobs/…StopJobs: every job stops, or none does.
func stopJobs(a *API, c *call) *apiError {
	var in struct {
		JobIDs   []int64         `json:"jobIds"`
		Strategy json.RawMessage `json:"strategy"`
	}
	if e := bind(c, &in); e != nil {
		return e
	}
	if len(in.JobIDs) == 0 {
		return invalid(`StopJobs needs the jobs: {"jobIds":[…],"strategy":"SoftStop"}`)
	}
	if len(in.JobIDs) > stopJobsMax {
		return invalid("jobIds holds %d jobs; one call stops at most %d", len(in.JobIDs), stopJobsMax)
	}
	ev, e := stopStrategyOf(in.Strategy)
	if e != nil {
		return e
	}
	folders, e := a.itemScope(c, "Jobs.Edit")
	if e != nil {
		return e
	}
	ids := slices.Clone(in.JobIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var missing []string
	for _, id := range ids {
		j, err := a.st.JobGet(c.ctx(), c.tenant.ID, id)
		if _, e := jobScoped(c, j, err, folders, "job"); e != nil {
			if e.Status != http.StatusNotFound {
				return e
			}
			missing = append(missing, strconv.FormatInt(id, 10))
		}
	}
	if len(missing) > 0 {
		return notFound("jobs %s do not exist %s; nothing was stopped", strings.Join(missing, ", "), jobWhere(c))
	}
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		var ended []string
		moved := make([]string, 0, len(ids))
		for _, id := range ids {
			j, err := a.stopOne(c, tx, id, ev)
			var se *store.JobStateError
			if errors.As(err, &se) {
				ended = append(ended, fmt.Sprintf("%d (%s)", id, se.State))
				continue
			} else if err != nil {
				return store.AuditEntry{}, err
			}
			moved = append(moved, fmt.Sprintf("%d → %s", id, j.State))
		}
		if len(ended) > 0 {
			return store.AuditEntry{}, &apiError{Status: http.StatusConflict, Code: codeInvalid,
				Message: fmt.Sprintf("jobs %s have already ended, so nothing was stopped; leave them out of jobIds", strings.Join(ended, ", ")),
				Details: map[string]any{"ended": ended}}
		}
		return store.AuditEntry{Action: "StopJobs", Component: "Jobs", EntityID: ids[0],
			Details: fmt.Sprintf("stopped %d jobs (%s): %s", len(ids), ev, strings.Join(moved, ", "))}, nil
	})
	if e := jobWriteError(c, err); e != nil {
		return e
	}
	a.wakeRobots(c.tenant.ID)
	c.w.WriteHeader(http.StatusOK)
	return nil
}

// ---- restarting

// restartJob serves POST /odata/Jobs/…RestartJob: a new job like one that has ended.
func restartJob(a *API, c *call) *apiError {
	var in struct {
		JobID *int64 `json:"jobId"`
	}
	if e := bind(c, &in); e != nil {
		return e
	}
	if in.JobID == nil {
		return invalid(`RestartJob needs the job: {"jobId":…}`)
	}
	old, e := a.jobFor(c, *in.JobID, "Jobs.Create")
	if e != nil {
		return e
	}
	if !old.State.Final() {
		return &apiError{Status: http.StatusConflict, Code: codeInvalid,
			Message: fmt.Sprintf("job %d is %s: only a job that has ended (Successful, Faulted or Stopped) can be restarted; stop it first (StopJob) or wait for it to end", old.ID, old.State),
			Details: map[string]any{"Id": old.ID, "Key": old.Key, "State": string(old.State)}}
	}
	gone := &apiError{Status: http.StatusConflict, Code: codeNotFound,
		Message: fmt.Sprintf("the process of job %d, %s, has been deleted, so the job cannot be restarted; start a job of another process (StartJobs)", old.ID, old.ReleaseName)}
	if old.ReleaseID == 0 {
		return gone
	}
	f, err := a.st.FolderGet(c.ctx(), c.tenant.ID, old.FolderID)
	if err != nil {
		return storeError(c, err)
	}
	info := a.waitingInfo(c, f, old.RobotIDs)
	var j store.Job
	err = a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		r, err := tx.ReleaseGet(c.ctx(), c.tenant.ID, old.ReleaseID)
		if errors.Is(err, store.ErrNotFound) {
			return store.AuditEntry{}, gone
		} else if err != nil {
			return store.AuditEntry{}, err
		}
		values, err := packages.DecodeValues(json.RawMessage(old.InputArguments))
		if err != nil {
			return store.AuditEntry{}, err
		}
		input, err := resolveInput(fmt.Sprintf("the input values of job %d", old.ID), r, values)
		if err != nil {
			return store.AuditEntry{}, err
		}
		jobs, err := tx.JobCreate(c.ctx(), store.JobCreateParams{TenantID: c.tenant.ID, Release: r, Count: 1, InputArguments: input,
			Priority: old.Priority, Source: old.Source, Reference: old.Reference, Info: info, RobotIDs: old.RobotIDs, Now: a.now()})
		if err != nil {
			return store.AuditEntry{}, err
		}
		j = jobs[0]
		return store.AuditEntry{Action: "RestartJob", Component: "Jobs", EntityID: j.ID, EntityName: r.Name,
			Details: fmt.Sprintf("restarted job %d (%s) of process %s in folder %s as job %d", old.ID, old.State, r.Name,
				f.FullyQualifiedName, j.ID)}, nil
	})
	if e := jobWriteError(c, err); e != nil {
		return e
	}
	a.wakeRobots(c.tenant.ID)
	return writeEntity(a, c, "Jobs", toJobDTO(j, f.FullyQualifiedName, true))
}
