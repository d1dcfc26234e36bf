package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// folderInput is what POST and PUT/PATCH /odata/Folders take (FolderDto's writable fields).
type folderInput struct {
	DisplayName *string `json:"DisplayName"`
	Description *string `json:"Description"`
	ParentID    *int64  `json:"ParentId"`
	ParentKey   *string `json:"ParentKey"`
}

// createFolder serves POST /odata/Folders.
func createFolder(a *API, c *call) *apiError {
	var in folderInput
	if e := bind(c, &in); e != nil {
		return e
	}
	if in.DisplayName == nil || strings.TrimSpace(*in.DisplayName) == "" {
		return invalid("DisplayName is required")
	}
	if e := checkLen("DisplayName", *in.DisplayName, 115); e != nil {
		return e
	}
	var parentID int64
	switch {
	case in.ParentID != nil && *in.ParentID != 0:
		parentID = *in.ParentID
	case in.ParentKey != nil && *in.ParentKey != "":
		p, err := a.st.FolderGetByKey(c.ctx(), c.tenant.ID, *in.ParentKey)
		if errors.Is(err, store.ErrNotFound) {
			return notFound("parent folder with Key %s does not exist", *in.ParentKey)
		} else if err != nil {
			return internalError(c.r, err)
		}
		parentID = p.ID
	}
	desc := ""
	if in.Description != nil {
		desc = *in.Description
	}
	var f tenancy.Folder
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		var err error
		f, err = tx.FolderCreate(c.ctx(), store.FolderCreateParams{TenantID: c.tenant.ID, ParentID: parentID,
			DisplayName: strings.TrimSpace(*in.DisplayName), Description: desc})
		return store.AuditEntry{Action: "Create", Component: "Folders", EntityID: f.ID, EntityName: f.FullyQualifiedName,
			Details: "created folder " + f.FullyQualifiedName}, err
	})
	if e := storeError(c, err); e != nil {
		return e
	}
	c.w.Header().Set("Location", c.base+"/odata/Folders("+strconv.FormatInt(f.ID, 10)+")")
	writeJSON(c.w, http.StatusCreated, withContext(c.base+"/odata/$metadata#Folders/$entity", toFolderDTO(f, a.parentOf(c, f))))
	return nil
}

// updateFolder serves PUT and PATCH /odata/Folders(id): name and description (a folder
// does not move; its Key never changes).
func updateFolder(a *API, c *call) *apiError {
	id, e := folderKey(c)
	if e != nil {
		return e
	}
	var in folderInput
	if e := bind(c, &in); e != nil {
		return e
	}
	if in.DisplayName != nil {
		if strings.TrimSpace(*in.DisplayName) == "" {
			return invalid("DisplayName cannot be empty")
		}
		if e := checkLen("DisplayName", *in.DisplayName, 115); e != nil {
			return e
		}
	} else if c.r.Method == http.MethodPut {
		return invalid("DisplayName is required with PUT (use PATCH to change only some fields)")
	}
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		var before string
		f, err := tx.FolderUpdate(c.ctx(), c.tenant.ID, id, func(f tenancy.Folder) (tenancy.Folder, error) {
			before = f.FullyQualifiedName
			if in.DisplayName != nil {
				f.DisplayName = strings.TrimSpace(*in.DisplayName)
			}
			if in.Description != nil {
				f.Description = *in.Description
			}
			return f, nil
		})
		details := "updated folder " + f.FullyQualifiedName
		if before != f.FullyQualifiedName {
			details = "renamed folder " + before + " to " + f.FullyQualifiedName
		}
		return store.AuditEntry{Action: "Update", Component: "Folders", EntityID: id, EntityName: f.FullyQualifiedName, Details: details}, err
	})
	if e := storeError(c, err); e != nil {
		return e
	}
	c.w.WriteHeader(http.StatusOK)
	return nil
}

// deleteFolder serves DELETE /odata/Folders(id).
func deleteFolder(a *API, c *call) *apiError {
	id, e := folderKey(c)
	if e != nil {
		return e
	}
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		f, err := tx.FolderGet(c.ctx(), c.tenant.ID, id)
		if err == nil {
			err = tx.FolderDelete(c.ctx(), c.tenant.ID, id)
		}
		return store.AuditEntry{Action: "Delete", Component: "Folders", EntityID: id, EntityName: f.FullyQualifiedName,
			Details: "deleted folder " + f.FullyQualifiedName}, err
	})
	if e := storeError(c, err); e != nil {
		return e
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func folderKey(c *call) (int64, *apiError) {
	id, err := strconv.ParseInt(c.path.Key, 10, 64)
	if err != nil {
		return 0, invalid("Folders(%s): the key must be a folder Id (an integer)", c.path.Key)
	}
	return id, nil
}

func (a *API) parentOf(c *call, f tenancy.Folder) map[int64]tenancy.Folder {
	byID := map[int64]tenancy.Folder{}
	if f.ParentID != 0 {
		if p, err := a.st.FolderGet(c.ctx(), c.tenant.ID, f.ParentID); err == nil {
			byID[p.ID] = p
		}
	}
	return byID
}
