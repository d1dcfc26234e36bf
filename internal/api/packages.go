package api

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openorch/openorch/internal/packages"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// Process packages: UiPath's Processes entity set (one row per package, its latest
// version), the package actions, and the tenant's one package feed. Packages belong to the
// tenant; the releases that run them live in folders (releases.go).

// uploadBodyLimit is the body cap of UploadPackage: the largest package, with room for the
// multipart framing and small form fields. Every other call keeps the server's cap.
const uploadBodyLimit = packages.MaxSize + 1<<20

// codeAlreadyExists is UiPath's error code for a package version uploaded twice.
const codeAlreadyExists = 1004

func (a *API) packageRoutes() []route {
	return []route{
		{Method: "GET", Set: "Processes", Scope: "OR.Execution", Folder: tenantLevel, Handle: listPackages,
			Summary: "The tenant's packages, each as its latest version (the highest by version precedence). Needs Packages.View at tenant level or in any folder."},
		{Method: "GET", Set: "Processes", Action: "GetProcessVersions", Scope: "OR.Execution", Folder: tenantLevel, Handle: getProcessVersions,
			Summary: "GetProcessVersions(processId='Calculator'): every version of a package. Needs Packages.View at tenant level or in any folder."},
		{Method: "GET", Set: "Processes", Action: "DownloadPackage", Scope: "OR.Execution", Folder: tenantLevel, Handle: downloadPackage,
			Summary: "DownloadPackage(key='Calculator:1.0.0'): the .nupkg as uploaded (key='Calculator': the latest version); ETag and Repr-Digest carry its SHA-256. Needs Packages.View at tenant level or in any folder."},
		{Method: "POST", Set: "Processes", Action: "UploadPackage", Scope: "OR.Execution", Perm: "Packages.Create", Folder: tenantLevel, Handle: uploadPackage,
			Summary: "Upload .nupkg files as multipart/form-data, in fields named file or uploads[] (at most 64 MiB of packages per request): 200, or 409 when that id and version exist. The package is checked: a zip with <id>.nuspec (id, version) and project.json whose main names the file to run."},
		{Method: "DELETE", Set: "Processes", Key: true, Scope: "OR.Execution", Perm: "Packages.Delete", Folder: tenantLevel, Handle: deletePackage,
			Summary: "Processes('Calculator:1.0.0') deletes one version, Processes('Calculator') every version; a version a release runs is not deleted (409 naming the releases)."},
		{Method: "GET", Plain: "PackageFeeds/GetFolderFeed", Scope: "OR.Execution", Folder: tenantLevel, Handle: getFolderFeed,
			Summary: "?folderId=<folder Id>: the folder's package feed. OpenOrch has one feed per tenant, so the answer is null (the tenant feed) for every folder the caller may use."},
	}
}

// argumentMetadata is UiPath's ArgumentMetadata: the declared input and output arguments,
// each a JSON array (as a string) of {"name","type","required","hasDefault"}, or null.
type argumentMetadata struct {
	Input  *string `json:"Input"`
	Output *string `json:"Output"`
}

func argumentsOf(encoded string) argumentMetadata {
	decl, err := packages.ParseArguments(encoded)
	if err != nil {
		return argumentMetadata{}
	}
	in, out := decl.Metadata()
	return argumentMetadata{Input: in, Output: out}
}

// processDTO is UiPath's ProcessDto: one version of a package. Id is the package's id, Key
// "id:version". ContentSha256 and Size are OpenOrch's: the .nupkg's SHA-256 (hex) and length.
type processDTO struct {
	ID                 string           `json:"Id"`
	Key                string           `json:"Key"`
	Version            string           `json:"Version"`
	Title              string           `json:"Title"`
	Description        string           `json:"Description"`
	Authors            string           `json:"Authors"`
	ReleaseNotes       string           `json:"ReleaseNotes"`
	Published          time.Time        `json:"Published"`
	IsActive           bool             `json:"IsActive"`
	IsLatestVersion    bool             `json:"IsLatestVersion"`
	MainEntryPointPath string           `json:"MainEntryPointPath"`
	Arguments          argumentMetadata `json:"Arguments"`
	ContentSha256      string           `json:"ContentSha256"`
	Size               int64            `json:"Size"`
}

func toProcessDTO(p store.Package) processDTO {
	return processDTO{ID: p.Name, Key: p.Name + ":" + p.Version, Version: p.Version, Title: p.Title, Description: p.Description,
		Authors: p.Authors, ReleaseNotes: p.ReleaseNotes, Published: p.CreatedAt, IsActive: true, IsLatestVersion: p.IsLatest,
		MainEntryPointPath: p.EntryPoint, Arguments: argumentsOf(p.Arguments), ContentSha256: p.SHA256, Size: p.Size}
}

func toProcessDTOs(page []store.Package) []processDTO {
	out := make([]processDTO, 0, len(page))
	for _, p := range page {
		out = append(out, toProcessDTO(p))
	}
	return out
}

// requireAnywhere refuses a caller who holds perm neither at tenant level nor in any
// folder. Packages belong to the tenant, but the roles that may read them (Automation User,
// Automation Developer, Robot) are held in folders.
func (a *API) requireAnywhere(c *call, perm tenancy.Permission) *apiError {
	acc, e := a.accessOf(c)
	if e != nil {
		return e
	}
	if acc.TenantPermissions().Has(perm) {
		return nil
	}
	for _, id := range acc.VisibleFolders() {
		if acc.FolderPermissions(id).Has(perm) {
			return nil
		}
	}
	return because("missing_permission", forbidden("%s lacks permission %s, at tenant level and in every folder of tenant %s: it needs it in one of them (the Automation User, Automation Developer and Robot roles grant it)",
		c.who.name, perm, c.tenant.Name))
}

// listPackages serves GET /odata/Processes.
func listPackages(a *API, c *call) *apiError {
	if e := a.requireAnywhere(c, "Packages.View"); e != nil {
		return e
	}
	q, e := listQuery(c, 1000)
	if e != nil {
		return e
	}
	page, total, err := a.st.PackageSearch(c.ctx(), store.SearchParams{TenantID: c.tenant.ID, Query: q})
	if err != nil {
		return searchError(c, err)
	}
	return writeList(a, c, "Processes", toProcessDTOs(page), total)
}

// getProcessVersions serves GET /odata/Processes/…GetProcessVersions(processId='x'), with
// @odata.count as UiPath answers it.
func getProcessVersions(a *API, c *call) *apiError {
	if e := a.requireAnywhere(c, "Packages.View"); e != nil {
		return e
	}
	id := strings.TrimSpace(c.path.Params["processid"])
	if id == "" {
		return invalid("GetProcessVersions needs the package id: …/Processes/UiPath.Server.Configuration.OData.GetProcessVersions(processId='Calculator')")
	}
	q, e := listQuery(c, 1000)
	if e != nil {
		return e
	}
	q.Count = true
	page, total, err := a.st.PackageVersionSearch(c.ctx(), id, store.SearchParams{TenantID: c.tenant.ID, Query: q})
	if err != nil {
		return searchError(c, err)
	}
	return writeList(a, c, "Processes", toProcessDTOs(page), total)
}

// packageKey splits a package key: "Calculator:1.0.0" or "Calculator" (version ""), quoted
// or not, with the version normalized.
func packageKey(raw, what string) (name, version string, e *apiError) {
	raw = strings.TrimSpace(raw)
	if len(raw) >= 2 && raw[0] == '\'' && raw[len(raw)-1] == '\'' {
		raw = strings.ReplaceAll(raw[1:len(raw)-1], "''", "'")
	}
	name, version, _ = strings.Cut(raw, ":")
	name = strings.TrimSpace(name)
	if name == "" {
		return "", "", invalid("%s needs a package key: 'Calculator:1.0.0' (one version) or 'Calculator'", what)
	}
	if version = strings.TrimSpace(version); version != "" {
		v, err := packages.NormalizeVersion(version)
		if err != nil {
			return "", "", invalid("%s: %v", what, err)
		}
		version = v
	}
	return name, version, nil
}

// packageMissing is the 404 of a package or version the tenant does not have.
func packageMissing(c *call, name, version string) *apiError {
	if version == "" {
		return notFound("package %s does not exist in tenant %s; GET /odata/Processes lists the packages", name, c.tenant.Name)
	}
	return notFound("package %s has no version %s in tenant %s; GetProcessVersions(processId='%s') lists its versions",
		name, version, c.tenant.Name, name)
}

// downloadPackage serves GET /odata/Processes/…DownloadPackage(key='x:1.0.0'): the bytes
// as uploaded, checked against their SHA-256 on the way out.
func downloadPackage(a *API, c *call) *apiError {
	if e := a.requireAnywhere(c, "Packages.View"); e != nil {
		return e
	}
	raw, ok := c.path.Params["key"]
	if !ok {
		return invalid("DownloadPackage needs the package key: …/Processes/UiPath.Server.Configuration.OData.DownloadPackage(key='Calculator:1.0.0')")
	}
	name, version, e := packageKey(raw, "DownloadPackage")
	if e != nil {
		return e
	}
	var p store.Package
	var err error
	if version == "" {
		p, err = a.st.PackageGetLatest(c.ctx(), c.tenant.ID, name)
	} else {
		p, err = a.st.PackageGet(c.ctx(), c.tenant.ID, name, version)
	}
	if errors.Is(err, store.ErrNotFound) {
		return packageMissing(c, name, version)
	} else if err != nil {
		return internalError(c.r, err)
	}
	etag := `"` + p.SHA256 + `"`
	h := c.w.Header()
	h.Set("ETag", etag)
	if match := c.r.Header.Get("If-None-Match"); match != "" && (match == etag || match == "*") {
		c.w.WriteHeader(http.StatusNotModified)
		return nil
	}
	content, err := a.st.PackageContent(c.ctx(), c.tenant.ID, p.SHA256)
	if err != nil {
		return internalError(c.r, err)
	}
	sum := sha256.Sum256(content)
	if hex.EncodeToString(sum[:]) != p.SHA256 {
		return internalError(c.r, fmt.Errorf("package %s %s: stored content does not match its SHA-256 %s", p.Name, p.Version, p.SHA256))
	}
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": p.Name + "." + p.Version + ".nupkg"}))
	h.Set("Content-Length", strconv.Itoa(len(content)))
	h.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":")
	c.w.WriteHeader(http.StatusOK)
	if c.r.Method != http.MethodHead {
		c.w.Write(content)
	}
	return nil
}

// upload is one package of an UploadPackage request.
type upload struct {
	file     string // the part's file name, for messages and the answer's Key
	content  []byte
	manifest packages.Manifest
}

// isPackageField reports whether a multipart field carries a package: "file" (UiPath's CLI),
// "uploads[]" (the node client) and their kin, or any part whose file name ends in .nupkg.
func isPackageField(p *multipart.Part) bool {
	switch strings.ToLower(p.FormName()) {
	case "file", "files", "files[]", "uploads", "uploads[]":
		return true
	}
	return strings.HasSuffix(strings.ToLower(p.FileName()), ".nupkg")
}

func tooLarge(format string, args ...any) *apiError {
	return errorf(http.StatusRequestEntityTooLarge, codeInvalid, format, args...)
}

// readUploads reads the packages of a multipart body, each at most packages.MaxSize: the
// size is enforced while reading, so a larger one is never held whole.
func readUploads(c *call) ([]upload, *apiError) {
	ct := c.r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, invalid(`UploadPackage takes multipart/form-data with the .nupkg in a field named "file" (or "uploads[]"), as curl -F file=@Calculator.1.0.0.nupkg sends it; got Content-Type %q`, ct)
	}
	bodyTooLarge := func() *apiError {
		return tooLarge("the request is larger than the limit of %s for UploadPackage: send at most %s of packages per request",
			packages.Size(uploadBodyLimit), packages.Size(packages.MaxSize))
	}
	mr := multipart.NewReader(c.r.Body, params["boundary"])
	var out []upload
	var fields []string
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, bodyTooLarge()
		} else if err != nil {
			return nil, invalid("the multipart body is malformed: %v", err)
		}
		fields = append(fields, strconv.Quote(part.FormName()))
		if !isPackageField(part) {
			if _, err := io.Copy(io.Discard, part); errors.As(err, &mbe) {
				return nil, bodyTooLarge()
			}
			continue
		}
		name := part.FileName()
		if name == "" {
			name = part.FormName()
		}
		b, err := io.ReadAll(io.LimitReader(part, packages.MaxSize+1))
		if errors.As(err, &mbe) {
			return nil, bodyTooLarge()
		} else if err != nil {
			return nil, invalid("the upload of %s was cut short: %v", name, err)
		}
		if len(b) > packages.MaxSize {
			return nil, tooLarge("package %s is larger than the limit of %s (%d bytes): keep only the files the process needs",
				name, packages.Size(packages.MaxSize), packages.MaxSize)
		}
		out = append(out, upload{file: name, content: b})
	}
	if len(out) == 0 {
		sent := "none"
		if len(fields) > 0 {
			sent = strings.Join(fields, ", ")
		}
		return nil, invalid(`the request holds no package: send the .nupkg in a multipart field named "file" (or "uploads[]"); fields sent: %s`, sent)
	}
	return out, nil
}

// queryParam reads a query parameter whose name may come in any case (feedId, folderid).
func queryParam(c *call, name string) string {
	for k, v := range c.r.URL.Query() {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// bulkItem is UiPath's BulkItemDto of string: one file of an upload and how it went.
type bulkItem struct {
	Key    string `json:"Key"`
	Status string `json:"Status"`
	Body   string `json:"Body"`
}

// uploadPackage serves POST /odata/Processes/…UploadPackage: every package of the request
// is checked, then all are stored in one transaction with their audit entries, or none is.
func uploadPackage(a *API, c *call) *apiError {
	if f := strings.TrimSpace(queryParam(c, "feedId")); f != "" && f != "null" && !strings.EqualFold(f, c.tenant.Key) {
		return invalid("feedId %q names no feed of tenant %s: OpenOrch has one package feed per tenant (GetFolderFeed answers null for it); leave feedId out", f, c.tenant.Name)
	}
	ups, e := readUploads(c)
	if e != nil {
		return e
	}
	seen := map[string]string{}
	for i := range ups {
		m, err := packages.Read(ups[i].content)
		var ie *packages.InvalidError
		if errors.As(err, &ie) {
			return invalid("%s is not a usable package: %s", ups[i].file, ie.Reason)
		} else if err != nil {
			return internalError(c.r, err)
		}
		ups[i].manifest = m
		k := strings.ToLower(m.ID + ":" + m.Version)
		if other, dup := seen[k]; dup {
			return errorf(http.StatusConflict, codeAlreadyExists, "%s and %s are both package %s version %s; upload one", other, ups[i].file, m.ID, m.Version)
		}
		seen[k] = ups[i].file
	}
	var added []store.Package
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		var last store.AuditEntry
		for i, u := range ups {
			m := u.manifest
			p, err := tx.PackageAdd(c.ctx(), store.PackageAddParams{TenantID: c.tenant.ID, Name: m.ID, Version: m.Version, Title: m.Title,
				Description: m.Description, Authors: m.Authors, ReleaseNotes: m.ReleaseNotes, EntryPoint: m.EntryPoint,
				Arguments: m.Arguments.Encode(), Content: u.content})
			if err != nil {
				return store.AuditEntry{}, err
			}
			added = append(added, p)
			last = store.AuditEntry{Action: "Create", Component: "Packages", EntityID: p.ID, EntityName: p.Name,
				Details: fmt.Sprintf("uploaded package %s version %s (%s, SHA-256 %s)", p.Name, p.Version, packages.Size(p.Size), p.SHA256)}
			if i < len(ups)-1 { // a.write records the last entry; the others here, in the same transaction
				if err := a.auditAlso(c, tx, last); err != nil {
					return store.AuditEntry{}, err
				}
			}
		}
		return last, nil
	})
	if errors.Is(err, store.ErrConflict) {
		return errorf(http.StatusConflict, codeAlreadyExists, "%s", strings.TrimSuffix(err.Error(), ": "+store.ErrConflict.Error()))
	} else if e := storeError(c, err); e != nil {
		return e
	}
	items := make([]bulkItem, 0, len(added))
	for i, p := range added {
		body, _ := json.Marshal(map[string]string{"Id": p.Name, "Version": p.Version})
		items = append(items, bulkItem{Key: ups[i].file, Status: "OK", Body: string(body)})
	}
	writeJSON(c.w, http.StatusOK, map[string]any{
		"@odata.context": c.base + "/odata/$metadata#Collection(" + edmNamespace + ".BulkItemDto_1OfString)", "value": items})
	return nil
}

// auditAlso records one more audit entry of a write, inside its transaction (a.write
// records the one its function returns).
func (a *API) auditAlso(c *call, tx store.Store, e store.AuditEntry) error {
	e.OrgID, e.TenantID = c.org.ID, c.tenant.ID
	e.Principal, e.ClientID = c.who.name, c.who.claims.ClientID
	return tx.AuditAdd(c.ctx(), e)
}

// deletePackage serves DELETE /odata/Processes('x:1.0.0') and Processes('x').
func deletePackage(a *API, c *call) *apiError {
	name, version, e := packageKey(c.path.Key, "Processes(key)")
	if e != nil {
		return e
	}
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		gone, err := tx.PackageDelete(c.ctx(), c.tenant.ID, name, version)
		if err != nil {
			return store.AuditEntry{}, err
		}
		versions := make([]string, len(gone))
		for i, p := range gone {
			versions[i] = p.Version
		}
		details := fmt.Sprintf("deleted package %s version %s", gone[0].Name, gone[0].Version)
		if version == "" {
			details = fmt.Sprintf("deleted package %s (every version: %s)", gone[0].Name, strings.Join(versions, ", "))
		}
		return store.AuditEntry{Action: "Delete", Component: "Packages", EntityID: gone[0].ID, EntityName: gone[0].Name, Details: details}, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return packageMissing(c, name, version)
	} else if e := storeError(c, err); e != nil {
		return e
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// getFolderFeed serves GET /api/PackageFeeds/GetFolderFeed?folderId=n: null, the tenant
// feed, for every folder the caller may use.
func getFolderFeed(a *API, c *call) *apiError {
	if v := strings.TrimSpace(queryParam(c, "folderId")); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return invalid("folderId must be a folder Id (an integer), got %q", v)
		}
		acc, e := a.accessOf(c)
		if e != nil {
			return e
		}
		f, err := a.st.FolderGet(c.ctx(), c.tenant.ID, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return internalError(c.r, err)
		}
		if err != nil || len(acc.FolderPermissions(f.ID)) == 0 {
			return &apiError{Status: http.StatusForbidden, Code: codeFolderInvalid, Reason: "folder",
				Message: "Folder does not exist or the user does not have access to the folder.",
				Details: folderDetails{Reason: fmt.Sprintf("no folder you may use has Id %d", id), Headers: folderHeaderHelp, Folders: a.usableFolders(c, acc)}}
		}
	}
	writeJSON(c.w, http.StatusOK, nil)
	return nil
}

// bodyLimit is the API's rule for the server's body cap (server.AddBodyLimit):
// UploadPackage takes up to uploadBodyLimit; every other request keeps the server's cap.
func (a *API) bodyLimit(r *http.Request) int64 {
	if r.Method != http.MethodPost {
		return 0
	}
	p := strings.ToLower(strings.TrimSuffix(r.URL.Path, "/"))
	if i := strings.LastIndex(p, "/odata/processes/"); i >= 0 && strings.HasSuffix(p, ".uploadpackage") &&
		!strings.Contains(p[i+len("/odata/processes/"):], "/") {
		return uploadBodyLimit
	}
	return 0
}
