package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openorch/openorch/internal/odata"
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
	q, e := listQuery(c, 1000)
	if e != nil {
		return e
	}
	p := store.SearchParams{TenantID: c.tenant.ID, Query: q}
	if !acc.TenantAdmin {
		p.OnlyFolders = acc.VisibleFolders()
		if p.OnlyFolders == nil {
			p.OnlyFolders = []int64{}
		}
	}
	page, total, err := a.st.FolderSearch(c.ctx(), p)
	if err != nil {
		return searchError(c, err)
	}
	all, err := a.st.FolderList(c.ctx(), c.tenant.ID) // for ParentKey
	if err != nil {
		return internalError(c.r, err)
	}
	byID := make(map[int64]tenancy.Folder, len(all))
	for _, f := range all {
		byID[f.ID] = f
	}
	out := make([]folderDTO, 0, len(page))
	for _, f := range page {
		out = append(out, toFolderDTO(f, byID))
	}
	return writeList(c, "Folders", out, total)
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
	q, e := listQuery(c, 1000)
	if e != nil {
		return e
	}
	qs, total, err := a.st.QueueDefinitionSearch(c.ctx(), store.SearchParams{TenantID: c.tenant.ID, FolderID: c.folder.ID, Query: q})
	if err != nil {
		return searchError(c, err)
	}
	out := make([]queueDefinitionDTO, 0, len(qs))
	for _, q := range qs {
		out = append(out, queueDefinitionDTO{ID: q.ID, Key: q.Key, Name: q.Name, Description: q.Description,
			MaxNumberOfRetries: q.MaxNumberOfRetries, AcceptAutomaticallyRetry: q.MaxNumberOfRetries > 0,
			EnforceUniqueReference: q.EnforceUniqueReference, CreationTime: q.CreatedAt, OrganizationUnitID: q.FolderID})
	}
	return writeList(c, "QueueDefinitions", out, total)
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
	d := userDTO{ID: store.TenantUserID(who.principal), Key: who.claims.Subject, TenancyName: c.tenant.Name, IsActive: true}
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

// listQuery parses the OData query options of a list, with the paging cap of DESIGN §5:
// without $top a list returns the cap, and a $top above it is refused.
func listQuery(c *call, limit int) (odata.Query, *apiError) {
	v, err := odata.ParseQueryString(c.r.URL.RawQuery)
	if err != nil {
		return odata.Query{}, invalid("the query string is malformed: %s", err)
	}
	q, err := odata.Parse(v, odata.Limits{DefaultTop: limit, MaxTop: limit})
	if err != nil {
		return odata.Query{}, invalid("%s", err)
	}
	if len(q.Expand) > 0 {
		return odata.Query{}, invalid("$expand is not available on %s", c.route.Set)
	}
	c.selectFields = q.Select
	return q, nil
}

// searchError turns a store search error into the answer: a query the entity set cannot
// answer is the caller's mistake (400), anything else is internal.
func searchError(c *call, err error) *apiError {
	if errors.Is(err, store.ErrInvalid) {
		return invalid("%s", strings.TrimPrefix(err.Error(), store.ErrInvalid.Error()+": "))
	}
	return storeError(c, err)
}

// writeList writes an OData collection; total is the count for $count=true (-1: not asked).
func writeList[T any](c *call, set string, items []T, total int) *apiError {
	var value any = items
	if items == nil {
		value = []T{}
	}
	if len(c.selectFields) > 0 && !(len(c.selectFields) == 1 && c.selectFields[0] == "*") {
		projected, e := project(items, c.selectFields)
		if e != nil {
			return e
		}
		value = projected
	}
	body := map[string]any{"@odata.context": c.base + "/odata/$metadata#" + set, "value": value}
	if total >= 0 {
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
