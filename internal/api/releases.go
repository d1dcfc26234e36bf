package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openorch/openorch/internal/packages"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// Releases ("processes" in UiPath's UI): a package version run in a folder, with the input
// values its jobs start from, their priority and an optional maximum run time.

// Limits of a release's fields.
const (
	releaseNameMax        = 128
	releaseDescriptionMax = 500
	// releaseInputMax is UiPath's limit on the JSON of a process's input arguments.
	releaseInputMax = 10_000
	// releaseMaxRunTimeMax bounds MaxRunTimeSeconds: 30 days.
	releaseMaxRunTimeMax = 30 * 24 * 60 * 60
)

func (a *API) releaseRoutes() []route {
	return []route{
		{Method: "GET", Set: "Releases", Scope: "OR.Execution", Perm: "Processes.View", Folder: folderRequired, Handle: listReleases,
			Summary: "The processes (releases) of the folder; $filter=ProcessKey eq 'Calculator' finds those of a package."},
		{Method: "GET", Set: "Releases", Key: true, Scope: "OR.Execution", Perm: "Processes.View", Folder: folderRequired, Handle: getRelease,
			Summary: "One process of the folder by Id."},
		{Method: "POST", Set: "Releases", Scope: "OR.Execution", Perm: "Processes.Create", Folder: folderRequired, Handle: createRelease,
			Summary: "Create a process in the folder: ProcessKey (a package id), ProcessVersion (default: the latest), Name (default: ProcessKey; unique in the folder), Description, InputArguments (a JSON object, or a string holding one, checked against the arguments the package declares), JobPriority (Low, Normal, High), MaxRunTimeSeconds (after which a job is killed and Faulted; null or 0: no limit). 201 with Id and Key."},
		{Method: "PUT", Set: "Releases", Key: true, Scope: "OR.Execution", Perm: "Processes.Edit", Folder: folderRequired, Handle: updateRelease,
			Summary: "Replace a process's fields: Name, ProcessKey (it cannot change) and ProcessVersion are required; the others as with POST."},
		{Method: "PATCH", Set: "Releases", Key: true, Scope: "OR.Execution", Perm: "Processes.Edit", Folder: folderRequired, Handle: updateRelease,
			Summary: "Change some of a process's Name, Description, ProcessVersion, InputArguments, JobPriority and MaxRunTimeSeconds. Moving to another version keeps the input values that version still declares."},
		{Method: "DELETE", Set: "Releases", Key: true, Scope: "OR.Execution", Perm: "Processes.Delete", Folder: folderRequired, Handle: deleteRelease,
			Summary: "Delete a process and its version history."},
		{Method: "POST", Set: "Releases", Key: true, Action: "UpdateToSpecificPackageVersion", Scope: "OR.Execution", Perm: "Processes.Edit",
			Folder: folderRequired, Handle: updateToSpecificVersion,
			Summary: "{\"packageVersion\":\"1.0.1\"}: the process runs that version of its package from now on; the answer is the process."},
		{Method: "POST", Set: "Releases", Key: true, Action: "UpdateToLatestPackageVersion", Scope: "OR.Execution", Perm: "Processes.Edit",
			Folder: folderRequired, Handle: updateToLatestVersion,
			Summary: "The process runs the latest version of its package from now on (the highest by version precedence); the answer is the process."},
		{Method: "POST", Set: "Releases", Key: true, Action: "RollbackToPreviousReleaseVersion", Scope: "OR.Execution", Perm: "Processes.Edit",
			Folder: folderRequired, Handle: rollbackRelease,
			Summary: "The process goes back to the version it ran before its current one (each rollback steps one version further back); the answer is the process."},
	}
}

// releaseDTO is UiPath's ReleaseDto. Arguments are the arguments the package version
// declares, InputArguments the input values set on the process (a JSON string, as UiPath
// has it). MaxRunTimeSeconds is OpenOrch's: how long a job may run before it is killed and
// ends Faulted (null: no limit).
type releaseDTO struct {
	ID                                 int64            `json:"Id"`
	Key                                string           `json:"Key"`
	Name                               string           `json:"Name"`
	Description                        string           `json:"Description"`
	ProcessKey                         string           `json:"ProcessKey"`
	ProcessVersion                     string           `json:"ProcessVersion"`
	IsLatestVersion                    bool             `json:"IsLatestVersion"`
	IsProcessDeleted                   bool             `json:"IsProcessDeleted"`
	EntryPointPath                     string           `json:"EntryPointPath"`
	InputArguments                     *string          `json:"InputArguments"`
	Arguments                          argumentMetadata `json:"Arguments"`
	ProcessType                        string           `json:"ProcessType"`
	JobPriority                        string           `json:"JobPriority"`
	MaxRunTimeSeconds                  *int64           `json:"MaxRunTimeSeconds"`
	FolderKey                          string           `json:"FolderKey"`
	OrganizationUnitID                 int64            `json:"OrganizationUnitId"`
	OrganizationUnitFullyQualifiedName string           `json:"OrganizationUnitFullyQualifiedName"`
	CreationTime                       time.Time        `json:"CreationTime"`
	LastModificationTime               time.Time        `json:"LastModificationTime"`
}

// toReleaseDTO writes a release of the call's folder.
func toReleaseDTO(c *call, r store.Release) releaseDTO { return releaseDTOIn(*c.folder, r) }

// releaseDTOIn writes a release of folder f.
func releaseDTOIn(f tenancy.Folder, r store.Release) releaseDTO {
	d := releaseDTO{ID: r.ID, Key: r.Key, Name: r.Name, Description: r.Description, ProcessKey: r.PackageName,
		ProcessVersion: r.PackageVersion, IsLatestVersion: r.Package.IsLatest, EntryPointPath: r.Package.EntryPoint,
		Arguments: argumentsOf(r.Package.Arguments), ProcessType: "Process", JobPriority: r.JobPriority,
		FolderKey: f.Key, OrganizationUnitID: r.FolderID, OrganizationUnitFullyQualifiedName: f.FullyQualifiedName,
		CreationTime: r.CreatedAt, LastModificationTime: r.UpdatedAt}
	if r.InputArguments != "" {
		in := r.InputArguments
		d.InputArguments = &in
	}
	if r.MaxRunTimeSeconds > 0 {
		m := r.MaxRunTimeSeconds
		d.MaxRunTimeSeconds = &m
	}
	return d
}

// listReleases serves GET /odata/Releases in the folder of the headers.
func listReleases(a *API, c *call) *apiError {
	q, e := listQuery(c, 1000)
	if e != nil {
		return e
	}
	page, total, err := a.st.ReleaseSearch(c.ctx(), store.SearchParams{TenantID: c.tenant.ID, FolderID: c.folder.ID, Query: q})
	if err != nil {
		return searchError(c, err)
	}
	out := make([]releaseDTO, 0, len(page))
	for _, r := range page {
		out = append(out, toReleaseDTO(c, r))
	}
	return writeList(a, c, "Releases", out, total)
}

func releaseID(c *call) (int64, *apiError) {
	id, err := strconv.ParseInt(c.path.Key, 10, 64)
	if err != nil {
		return 0, invalid("Releases(%s): the key must be a process Id (an integer)", c.path.Key)
	}
	return id, nil
}

// releaseMissing is the 404 of a release the folder does not have; one of another folder
// looks the same.
func releaseMissing(c *call, id int64) *apiError {
	return notFound("process %d does not exist in folder %s; GET /odata/Releases with this folder lists its processes",
		id, c.folder.FullyQualifiedName)
}

// inFolder checks that a release read for a call is in the call's folder.
func inFolder(c *call, r store.Release) error {
	if r.FolderID != c.folder.ID {
		return releaseMissing(c, r.ID)
	}
	return nil
}

// getRelease serves GET /odata/Releases(id).
func getRelease(a *API, c *call) *apiError {
	id, e := releaseID(c)
	if e != nil {
		return e
	}
	r, err := a.st.ReleaseGet(c.ctx(), c.tenant.ID, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && r.FolderID != c.folder.ID {
		return releaseMissing(c, id)
	} else if err != nil {
		return internalError(c.r, err)
	}
	return writeEntity(a, c, "Releases", toReleaseDTO(c, r))
}

// releaseInput is what POST, PUT and PATCH /odata/Releases take (ReleaseDto's writable
// fields, in any case). Other ReleaseDto fields are ignored, so a DTO read with GET may be
// sent back.
type releaseInput struct {
	Name           *string `json:"Name"`
	Description    *string `json:"Description"`
	ProcessKey     *string `json:"ProcessKey"`
	ProcessVersion *string `json:"ProcessVersion"`
	// InputArguments is a JSON string holding an object, as UiPath has it, or an object.
	InputArguments json.RawMessage `json:"InputArguments"`
	// Arguments.Input is the package's declarations in a DTO read with GET (ignored), or
	// input values, as UiPath documents PATCH {"Arguments":{"Input":"{\"a\":1}"}}.
	Arguments *struct {
		Input json.RawMessage `json:"Input"`
	} `json:"Arguments"`
	JobPriority       *string         `json:"JobPriority"`
	MaxRunTimeSeconds json.RawMessage `json:"MaxRunTimeSeconds"`
	EntryPointPath    *string         `json:"EntryPointPath"`
}

// fields is what a release input asks for, checked on its face; the package version it
// names is checked against the store in the transaction.
type releaseFields struct {
	name, description, processKey, version *string
	values                                 map[string]json.RawMessage
	hasValues                              bool
	priority                               *string
	maxRunTime                             *int64
	entryPoint                             *string
}

func (in releaseInput) check() (releaseFields, *apiError) {
	var f releaseFields
	trim := func(p *string) *string {
		if p == nil {
			return nil
		}
		s := strings.TrimSpace(*p)
		return &s
	}
	f.name, f.description, f.processKey, f.entryPoint = trim(in.Name), in.Description, trim(in.ProcessKey), trim(in.EntryPointPath)
	if f.name != nil {
		if *f.name == "" {
			return f, invalid("Name cannot be empty")
		}
		if e := checkLen("Name", *f.name, releaseNameMax); e != nil {
			return f, e
		}
	}
	if f.description != nil {
		if e := checkLen("Description", *f.description, releaseDescriptionMax); e != nil {
			return f, e
		}
	}
	if f.processKey != nil && *f.processKey == "" {
		return f, invalid("ProcessKey cannot be empty: it is the id of an uploaded package (GET /odata/Processes lists them)")
	}
	if v := trim(in.ProcessVersion); v != nil && *v != "" {
		n, err := packages.NormalizeVersion(*v)
		if err != nil {
			return f, invalid("ProcessVersion: %v", err)
		}
		f.version = &n
	}
	values, has, e := in.inputValues()
	if e != nil {
		return f, e
	}
	f.values, f.hasValues = values, has
	if p := trim(in.JobPriority); p != nil {
		pr, ok := jobPriority(*p)
		if !ok {
			return f, invalid("JobPriority %q is not Low, Normal or High", *p)
		}
		f.priority = &pr
	}
	if in.MaxRunTimeSeconds != nil {
		var secs int64
		raw := bytes.TrimSpace(in.MaxRunTimeSeconds)
		if string(raw) != "null" {
			if err := json.Unmarshal(raw, &secs); err != nil || secs < 0 || secs > releaseMaxRunTimeMax {
				return f, invalid("MaxRunTimeSeconds must be a whole number of seconds from 1 to %d (30 days), or null or 0 for no limit; got %s",
					releaseMaxRunTimeMax, raw)
			}
		}
		f.maxRunTime = &secs
	}
	return f, nil
}

// inputValues reads the input values of a body: InputArguments, else Arguments.Input when
// it holds values (an object) rather than declarations (an array).
func (in releaseInput) inputValues() (map[string]json.RawMessage, bool, *apiError) {
	raw, field := in.InputArguments, "InputArguments"
	if raw == nil && in.Arguments != nil && in.Arguments.Input != nil {
		var s string
		if json.Unmarshal(in.Arguments.Input, &s) == nil && strings.HasPrefix(strings.TrimSpace(s), "[") {
			return nil, false, nil // the package's declarations, as GET shows them
		}
		raw, field = in.Arguments.Input, "Arguments.Input"
	}
	if raw == nil {
		return nil, false, nil
	}
	values, err := packages.DecodeValues(raw)
	if err != nil {
		return nil, false, invalid("%s %v", field, err)
	}
	if n := len(packages.EncodeValues(values)); n > releaseInputMax {
		return nil, false, invalid("%s is %d characters long as JSON; the limit is %d", field, n, releaseInputMax)
	}
	return values, true, nil
}

func jobPriority(s string) (string, bool) {
	for _, p := range []string{store.PriorityLow, store.PriorityNormal, store.PriorityHigh} {
		if strings.EqualFold(s, p) {
			return p, true
		}
	}
	return "", false
}

// packageVersion finds a version of a package for a release (latest when version is ""),
// answering 400 when it is missing: the body, not the URL, named it.
func packageVersion(c *call, tx store.Store, name, version string) (store.Package, error) {
	var p store.Package
	var err error
	if version == "" {
		p, err = tx.PackageGetLatest(c.ctx(), c.tenant.ID, name)
	} else {
		p, err = tx.PackageGet(c.ctx(), c.tenant.ID, name, version)
	}
	switch {
	case errors.Is(err, store.ErrNotFound) && version == "":
		return p, invalid("package %s does not exist in tenant %s: upload it first (UploadPackage), or name another (GET /odata/Processes lists them)", name, c.tenant.Name)
	case errors.Is(err, store.ErrNotFound):
		return p, invalid("package %s has no version %s in tenant %s; GetProcessVersions(processId='%s') lists its versions", name, version, c.tenant.Name, name)
	}
	return p, err
}

// checkValues checks input values against what a package version declares.
func checkValues(values map[string]json.RawMessage, p store.Package) error {
	decl, err := packages.ParseArguments(p.Arguments)
	if err != nil {
		return err
	}
	if err := decl.CheckInput(values); err != nil {
		return invalid("InputArguments: %v (package %s version %s)", err, p.Name, p.Version)
	}
	return nil
}

// moveTo makes r run package version p, keeping the input values p still declares; it
// returns the words of the change for the audit log.
func moveTo(r *store.Release, p store.Package) ([]string, error) {
	if strings.EqualFold(r.PackageVersion, p.Version) && r.Package.ID == p.ID {
		return nil, nil
	}
	changes := []string{fmt.Sprintf("package version %s → %s", r.PackageVersion, p.Version)}
	decl, err := packages.ParseArguments(p.Arguments)
	if err != nil {
		return nil, err
	}
	old, err := packages.DecodeValues(json.RawMessage(r.InputArguments))
	if err != nil {
		return nil, err
	}
	kept, dropped := decl.Fit(old)
	if len(dropped) > 0 {
		changes = append(changes, fmt.Sprintf("input values %s dropped (version %s does not take them)", strings.Join(dropped, ", "), p.Version))
	}
	r.PackageVersion, r.Package, r.InputArguments = p.Version, p, packages.EncodeValues(kept)
	return changes, nil
}

// createRelease serves POST /odata/Releases: 201 with the process.
func createRelease(a *API, c *call) *apiError {
	var in releaseInput
	if e := bind(c, &in); e != nil {
		return e
	}
	f, e := in.check()
	if e != nil {
		return e
	}
	if f.processKey == nil {
		return invalid("ProcessKey is required: the id of an uploaded package (GET /odata/Processes lists them)")
	}
	name := *f.processKey
	if f.name != nil {
		name = *f.name
	}
	version := ""
	if f.version != nil {
		version = *f.version
	}
	var r store.Release
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		p, err := packageVersion(c, tx, *f.processKey, version)
		if err != nil {
			return store.AuditEntry{}, err
		}
		if f.entryPoint != nil && *f.entryPoint != "" && *f.entryPoint != p.EntryPoint {
			return store.AuditEntry{}, invalid("EntryPointPath %q: package %s version %s has one entry point, %s; leave EntryPointPath out",
				*f.entryPoint, p.Name, p.Version, p.EntryPoint)
		}
		if err := checkValues(f.values, p); err != nil {
			return store.AuditEntry{}, err
		}
		params := store.ReleaseCreateParams{TenantID: c.tenant.ID, FolderID: c.folder.ID, Name: name, PackageName: p.Name,
			PackageVersion: p.Version, InputArguments: packages.EncodeValues(f.values)}
		if f.description != nil {
			params.Description = *f.description
		}
		if f.priority != nil {
			params.JobPriority = *f.priority
		}
		if f.maxRunTime != nil {
			params.MaxRunTimeSeconds = *f.maxRunTime
		}
		r, err = tx.ReleaseCreate(c.ctx(), params)
		return store.AuditEntry{Action: "Create", Component: "Processes", EntityID: r.ID, EntityName: r.Name,
			Details: fmt.Sprintf("created process %s in folder %s, running package %s version %s", r.Name, c.folder.FullyQualifiedName,
				r.PackageName, r.PackageVersion)}, err
	})
	if e := releaseWriteError(c, err, name); e != nil {
		return e
	}
	c.w.Header().Set("Location", c.base+"/odata/Releases("+strconv.FormatInt(r.ID, 10)+")")
	writeJSON(c.w, http.StatusCreated, withContext(c.base+"/odata/$metadata#Releases/$entity", toReleaseDTO(c, r)))
	return nil
}

// releaseWriteError turns the error of a release write into the answer.
func releaseWriteError(c *call, err error, name string) *apiError {
	var ae *apiError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, store.ErrConflict):
		return errorf(http.StatusConflict, 1001, "a process named %q already exists in folder %s; choose another name, or change that process (PATCH /odata/Releases(Id))",
			name, c.folder.FullyQualifiedName)
	}
	return storeError(c, err)
}

// updateRelease serves PUT and PATCH /odata/Releases(id).
func updateRelease(a *API, c *call) *apiError {
	id, e := releaseID(c)
	if e != nil {
		return e
	}
	var in releaseInput
	if e := bind(c, &in); e != nil {
		return e
	}
	f, e := in.check()
	if e != nil {
		return e
	}
	if c.r.Method == http.MethodPut && (f.name == nil || f.processKey == nil || in.ProcessVersion == nil) {
		return invalid("PUT replaces the process: send Name, ProcessKey and ProcessVersion (use PATCH to change only some fields)")
	}
	name := ""
	if f.name != nil {
		name = *f.name
	}
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		var changes []string
		r, err := tx.ReleaseUpdate(c.ctx(), c.tenant.ID, id, func(r store.Release) (store.Release, error) {
			if err := inFolder(c, r); err != nil {
				return r, err
			}
			if f.processKey != nil && !strings.EqualFold(*f.processKey, r.PackageName) {
				return r, invalid("process %s runs package %s, and a process runs one package: to run %s, create another process",
					r.Name, r.PackageName, *f.processKey)
			}
			if f.version != nil {
				p, err := packageVersion(c, tx, r.PackageName, *f.version)
				if err != nil {
					return r, err
				}
				moved, err := moveTo(&r, p)
				if err != nil {
					return r, err
				}
				changes = append(changes, moved...)
			}
			if f.entryPoint != nil && *f.entryPoint != "" && *f.entryPoint != r.Package.EntryPoint {
				return r, invalid("EntryPointPath %q: package %s version %s has one entry point, %s; leave EntryPointPath out",
					*f.entryPoint, r.PackageName, r.PackageVersion, r.Package.EntryPoint)
			}
			if f.name != nil && *f.name != r.Name {
				changes = append(changes, "renamed from "+r.Name)
				r.Name = *f.name
			}
			if name == "" {
				name = r.Name
			}
			if f.description != nil && *f.description != r.Description {
				changes = append(changes, "description changed")
				r.Description = *f.description
			}
			if f.hasValues {
				if err := checkValues(f.values, r.Package); err != nil {
					return r, err
				}
				if v := packages.EncodeValues(f.values); v != r.InputArguments {
					changes = append(changes, "input values set to "+orNone(v))
					r.InputArguments = v
				}
			}
			if f.priority != nil && *f.priority != r.JobPriority {
				changes = append(changes, fmt.Sprintf("job priority %s → %s", r.JobPriority, *f.priority))
				r.JobPriority = *f.priority
			}
			if f.maxRunTime != nil && *f.maxRunTime != r.MaxRunTimeSeconds {
				changes = append(changes, fmt.Sprintf("maximum run time %s → %s", runTime(r.MaxRunTimeSeconds), runTime(*f.maxRunTime)))
				r.MaxRunTimeSeconds = *f.maxRunTime
			}
			return r, nil
		})
		details := "updated process " + r.Name + " in folder " + c.folder.FullyQualifiedName
		if len(changes) > 0 {
			details += ": " + strings.Join(changes, ", ")
		}
		return store.AuditEntry{Action: "Update", Component: "Processes", EntityID: id, EntityName: r.Name, Details: details}, err
	})
	if errors.Is(err, store.ErrNotFound) {
		return releaseMissing(c, id)
	}
	if e := releaseWriteError(c, err, name); e != nil {
		return e
	}
	c.w.WriteHeader(http.StatusOK)
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func runTime(secs int64) string {
	if secs == 0 {
		return "none"
	}
	return (time.Duration(secs) * time.Second).String()
}

// bindOptional binds a body that may be absent or empty (actions whose parameters are all
// optional); an empty body leaves v as it is.
func bindOptional(c *call, v any) *apiError {
	if c.r.Body == nil || c.r.Body == http.NoBody {
		return nil
	}
	b, err := io.ReadAll(c.r.Body)
	if err != nil {
		return invalid("the body could not be read: %s", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	c.r.Body = io.NopCloser(bytes.NewReader(b))
	return bind(c, v)
}

// versionAction changes the version a release runs and answers with the release: to is
// called in the transaction with the release as it is.
func versionAction(a *API, c *call, action string, to func(tx store.Store, r store.Release) (store.Package, error)) *apiError {
	id, e := releaseID(c)
	if e != nil {
		return e
	}
	var r store.Release
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		var changes []string
		var from string
		var err error
		r, err = tx.ReleaseUpdate(c.ctx(), c.tenant.ID, id, func(r store.Release) (store.Release, error) {
			if err := inFolder(c, r); err != nil {
				return r, err
			}
			from = r.PackageVersion
			p, err := to(tx, r)
			if err != nil {
				return r, err
			}
			changes, err = moveTo(&r, p)
			return r, err
		})
		details := fmt.Sprintf("process %s in folder %s stays at version %s of package %s", r.Name, c.folder.FullyQualifiedName, r.PackageVersion, r.PackageName)
		if len(changes) > 0 {
			details = fmt.Sprintf("process %s in folder %s now runs version %s of package %s (was %s): %s", r.Name, c.folder.FullyQualifiedName,
				r.PackageVersion, r.PackageName, from, strings.Join(changes, ", "))
		}
		return store.AuditEntry{Action: action, Component: "Processes", EntityID: id, EntityName: r.Name, Details: details}, err
	})
	if errors.Is(err, store.ErrNotFound) {
		return releaseMissing(c, id)
	}
	if e := releaseWriteError(c, err, r.Name); e != nil {
		return e
	}
	return writeEntity(a, c, "Releases", toReleaseDTO(c, r))
}

// updateToSpecificVersion serves POST /odata/Releases(id)/…UpdateToSpecificPackageVersion.
func updateToSpecificVersion(a *API, c *call) *apiError {
	var in struct {
		PackageVersion *string `json:"packageVersion"`
	}
	if e := bind(c, &in); e != nil {
		return e
	}
	if in.PackageVersion == nil || strings.TrimSpace(*in.PackageVersion) == "" {
		return invalid(`UpdateToSpecificPackageVersion needs the version: {"packageVersion":"1.0.1"}`)
	}
	v, err := packages.NormalizeVersion(*in.PackageVersion)
	if err != nil {
		return invalid("packageVersion: %v", err)
	}
	return versionAction(a, c, "UpdateToSpecificPackageVersion", func(tx store.Store, r store.Release) (store.Package, error) {
		return packageVersion(c, tx, r.PackageName, v)
	})
}

// updateToLatestVersion serves POST /odata/Releases(id)/…UpdateToLatestPackageVersion; its
// body (UiPath's {"mergePackageTags":…}) is optional and has nothing OpenOrch uses.
func updateToLatestVersion(a *API, c *call) *apiError {
	var in map[string]json.RawMessage
	if e := bindOptional(c, &in); e != nil {
		return e
	}
	return versionAction(a, c, "UpdateToLatestPackageVersion", func(tx store.Store, r store.Release) (store.Package, error) {
		return packageVersion(c, tx, r.PackageName, "")
	})
}

// rollbackRelease serves POST /odata/Releases(id)/…RollbackToPreviousReleaseVersion.
func rollbackRelease(a *API, c *call) *apiError {
	id, e := releaseID(c)
	if e != nil {
		return e
	}
	var in map[string]json.RawMessage
	if e := bindOptional(c, &in); e != nil {
		return e
	}
	var r store.Release
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		before, err := tx.ReleaseGet(c.ctx(), c.tenant.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			return store.AuditEntry{}, releaseMissing(c, id)
		} else if err == nil {
			err = inFolder(c, before)
		}
		if err != nil {
			return store.AuditEntry{}, err
		}
		var dropped []string
		r, err = tx.ReleaseRollback(c.ctx(), c.tenant.ID, id, func(r store.Release) (store.Release, error) {
			// The values were fitted to the version rolled back from: fit them to this one.
			decl, err := packages.ParseArguments(r.Package.Arguments)
			if err != nil {
				return r, err
			}
			old, err := packages.DecodeValues(json.RawMessage(r.InputArguments))
			if err != nil {
				return r, err
			}
			var kept map[string]json.RawMessage
			kept, dropped = decl.Fit(old)
			r.InputArguments = packages.EncodeValues(kept)
			return r, nil
		})
		details := fmt.Sprintf("rolled back process %s in folder %s from version %s to %s of package %s", before.Name,
			c.folder.FullyQualifiedName, before.PackageVersion, r.PackageVersion, before.PackageName)
		if len(dropped) > 0 {
			details += fmt.Sprintf(": input values %s dropped (version %s does not take them)", strings.Join(dropped, ", "), r.PackageVersion)
		}
		return store.AuditEntry{Action: "RollbackToPreviousReleaseVersion", Component: "Processes", EntityID: id, EntityName: before.Name,
			Details: details}, err
	})
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, store.ErrNotFound):
		// The release exists (checked above): the version before is gone.
		return errorf(http.StatusConflict, codeNotFound, "%s", strings.TrimSuffix(err.Error(), ": "+store.ErrNotFound.Error()))
	}
	if e := storeError(c, err); e != nil {
		return e
	}
	return writeEntity(a, c, "Releases", toReleaseDTO(c, r))
}

// deleteRelease serves DELETE /odata/Releases(id).
func deleteRelease(a *API, c *call) *apiError {
	id, e := releaseID(c)
	if e != nil {
		return e
	}
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		r, err := tx.ReleaseGet(c.ctx(), c.tenant.ID, id)
		if err == nil {
			err = inFolder(c, r)
		}
		if err == nil {
			err = tx.ReleaseDelete(c.ctx(), c.tenant.ID, id)
		}
		return store.AuditEntry{Action: "Delete", Component: "Processes", EntityID: id, EntityName: r.Name,
			Details: fmt.Sprintf("deleted process %s from folder %s (it ran version %s of package %s)", r.Name, c.folder.FullyQualifiedName,
				r.PackageVersion, r.PackageName)}, err
	})
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	} else if errors.Is(err, store.ErrNotFound) {
		return releaseMissing(c, id)
	} else if err != nil {
		return storeError(c, err)
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}
