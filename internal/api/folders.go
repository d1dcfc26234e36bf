package api

import (
	"errors"
	"strconv"

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
	return writeList(a, c, "Folders", out, total)
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
	return writeEntity(a, c, "Folders", toFolderDTO(f, byID))
}
