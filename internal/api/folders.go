package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// folderDTO is UiPath's FolderDto.
type folderDTO struct {
	ID                 int64   `json:"Id"`
	Key                string  `json:"Key"`
	DisplayName        string  `json:"DisplayName"`
	FullyQualifiedName string  `json:"FullyQualifiedName"`
	Description        string  `json:"Description"`
	FolderType         string  `json:"FolderType"`
	IsPersonal         bool    `json:"IsPersonal"`
	ProvisionType      string  `json:"ProvisionType"`
	PermissionModel    string  `json:"PermissionModel"`
	ParentID           *int64  `json:"ParentId"`
	ParentKey          *string `json:"ParentKey"`
	FeedType           string  `json:"FeedType"`
}

func toFolderDTO(f tenancy.Folder, byID map[int64]tenancy.Folder) folderDTO {
	d := folderDTO{ID: f.ID, Key: f.Key, DisplayName: f.DisplayName, FullyQualifiedName: f.FullyQualifiedName,
		Description: f.Description, FolderType: "Standard", ProvisionType: "Automatic", PermissionModel: "FineGrained",
		FeedType: "Processes"}
	if f.ParentID != 0 {
		id := f.ParentID
		d.ParentID = &id
		if p, ok := byID[f.ParentID]; ok {
			key := p.Key
			d.ParentKey = &key
		}
	}
	return d
}

// listFolders serves GET /odata/Folders: the folders the caller may use.
func listFolders(a *API, c *call) *apiError {
	acc, e := a.accessOf(c)
	if e != nil {
		return e
	}
	all, err := a.st.FolderList(c.ctx(), c.tenant.ID)
	if err != nil {
		return internalError(c.r, err)
	}
	byID := make(map[int64]tenancy.Folder, len(all))
	for _, f := range all {
		byID[f.ID] = f
	}
	var out []folderDTO
	for _, f := range all {
		if len(acc.FolderPermissions(f.ID)) > 0 {
			out = append(out, toFolderDTO(f, byID))
		}
	}
	return writeList(c, "Folders", out)
}

// getFolder serves GET /odata/Folders(id).
func getFolder(a *API, c *call) *apiError {
	id, err := strconv.ParseInt(c.path.Key, 10, 64)
	if err != nil {
		return invalid("Folders(%s): the key must be a folder Id (an integer)", c.path.Key)
	}
	acc, e := a.accessOf(c)
	if e != nil {
		return e
	}
	f, err := a.st.FolderGet(c.ctx(), c.tenant.ID, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && len(acc.FolderPermissions(f.ID)) == 0 {
		return notFound("folder %d does not exist or you may not use it", id)
	} else if err != nil {
		return internalError(c.r, err)
	}
	byID := map[int64]tenancy.Folder{}
	if f.ParentID != 0 {
		if p, err := a.st.FolderGet(c.ctx(), c.tenant.ID, f.ParentID); err == nil {
			byID[p.ID] = p
		}
	}
	return writeEntity(c, "Folders", toFolderDTO(f, byID))
}

// queueDefinitionDTO is UiPath's QueueDefinitionDto.
type queueDefinitionDTO struct {
	ID                       int64     `json:"Id"`
	Key                      string    `json:"Key"`
	Name                     string    `json:"Name"`
	Description              string    `json:"Description"`
	MaxNumberOfRetries       int       `json:"MaxNumberOfRetries"`
	AcceptAutomaticallyRetry bool      `json:"AcceptAutomaticallyRetry"`
	EnforceUniqueReference   bool      `json:"EnforceUniqueReference"`
	CreationTime             time.Time `json:"CreationTime"`
	OrganizationUnitID       int64     `json:"OrganizationUnitId"`
}

// listQueueDefinitions serves GET /odata/QueueDefinitions in the folder of the headers.
func listQueueDefinitions(a *API, c *call) *apiError {
	qs, err := a.st.QueueDefinitionList(c.ctx(), c.tenant.ID, c.folder.ID)
	if err != nil {
		return internalError(c.r, err)
	}
	out := make([]queueDefinitionDTO, 0, len(qs))
	for _, q := range qs {
		out = append(out, queueDefinitionDTO{ID: q.ID, Key: q.Key, Name: q.Name, Description: q.Description,
			MaxNumberOfRetries: q.MaxNumberOfRetries, AcceptAutomaticallyRetry: q.MaxNumberOfRetries > 0,
			EnforceUniqueReference: q.EnforceUniqueReference, CreationTime: q.CreatedAt, OrganizationUnitID: q.FolderID})
	}
	return writeList(c, "QueueDefinitions", out)
}

// userDTO is UiPath's UserDto (the fields clients read).
type userDTO struct {
	ID           int64  `json:"Id"`
	Key          string `json:"Key"`
	UserName     string `json:"UserName"`
	Name         string `json:"Name"`
	FullName     string `json:"FullName"`
	EmailAddress string `json:"EmailAddress"`
	IsActive     bool   `json:"IsActive"`
	TenancyName  string `json:"TenancyName"`
	Type         string `json:"Type"`
}

// getCurrentUser serves GET /odata/Users/…GetCurrentUser.
func getCurrentUser(a *API, c *call) *apiError {
	who := c.who
	d := userDTO{ID: who.principal.ID, Key: who.claims.Subject, TenancyName: c.tenant.Name, IsActive: true}
	switch {
	case who.user != nil:
		d.UserName, d.Name, d.FullName, d.EmailAddress, d.Type = who.user.Email, who.user.Name, who.user.Name, who.user.Email, "User"
	case who.principal.Kind == tenancy.PrincipalApp:
		d.UserName, d.Name, d.FullName, d.Type = who.claims.ClientID, who.name, who.name, "DirectoryExternalApplication"
	default:
		d.UserName, d.Name, d.FullName, d.Type = who.claims.ClientID, who.name, who.name, "Robot"
	}
	return writeEntity(c, "Users", d)
}

// writeList writes an OData collection, with $top, $skip and $count applied.
func writeList[T any](c *call, set string, items []T) *apiError {
	q := c.r.URL.Query()
	for _, opt := range []string{"$filter", "$orderby", "$select", "$expand"} {
		if q.Has(opt) {
			return invalid("%s is not supported on %s yet; $top, $skip and $count are", opt, set)
		}
	}
	top, skip := 1000, 0
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return invalid("$top must be a whole number ≥ 0 (got %q)", v)
		}
		if n > 1000 {
			return invalid("$top is %d but the most this list returns is 1000; page with $skip", n)
		}
		top = n
	}
	if v := q.Get("$skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return invalid("$skip must be a whole number ≥ 0 (got %q)", v)
		}
		skip = n
	}
	total := len(items)
	items = items[min(skip, total):min(skip+top, total)]
	if items == nil {
		items = []T{}
	}
	body := map[string]any{"@odata.context": c.base + "/odata/$metadata#" + set, "value": items}
	if q.Get("$count") == "true" {
		body["@odata.count"] = total
	}
	writeJSON(c.w, http.StatusOK, body)
	return nil
}

// writeEntity writes one entity with its @odata.context.
func writeEntity(c *call, set string, v any) *apiError {
	writeJSON(c.w, http.StatusOK, withContext(c.base+"/odata/$metadata#"+set+"/$entity", v))
	return nil
}
