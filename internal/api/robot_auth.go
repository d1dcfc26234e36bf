package api

import (
	"errors"
	"fmt"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// tokenAccess narrows what a token may do to what its claims allow, for accessOf: a token
// with a folder claim (a job's token) has the permissions its principal holds in that one
// folder and nothing elsewhere, not even at tenant level; a token with a job claim is
// refused (401) once its job has ended, or when the job is gone.
func (a *API) tokenAccess(c *call, acc tenancy.Access) (tenancy.Access, *apiError) {
	cl := c.who.claims
	if cl.Job != "" {
		j, err := a.st.JobGetByKey(c.ctx(), c.tenant.ID, cl.Job)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return acc, because("job_ended", unauthorized("the token was issued for job %s, which no longer exists", cl.Job))
		case err != nil:
			return acc, internalError(c.r, err)
		case j.State.Final():
			return acc, because("job_ended", unauthorized("the token was issued for job %d (Key %s), which has ended (%s): a job's token works only while the job runs",
				j.ID, j.Key, j.State))
		}
	}
	if cl.Folder == "" {
		return acc, nil
	}
	narrowed := tenancy.Access{Tenant: tenancy.PermissionSet{}, ByFolder: map[int64]tenancy.PermissionSet{}, Parent: map[int64]int64{}}
	f, err := a.folderByKeyCached(c.ctx(), c.tenant.ID, cl.Folder)
	if errors.Is(err, store.ErrNotFound) {
		return narrowed, because("folder_gone", unauthorized("the token is limited to folder %s, which does not exist in tenant %s", cl.Folder, c.tenant.Name))
	} else if err != nil {
		return acc, internalError(c.r, err)
	}
	// Parent holds the one folder, as a top-level one, so that neither its ancestors' nor
	// its subfolders' permissions are reachable.
	narrowed.Parent[f.ID] = 0
	narrowed.ByFolder[f.ID] = acc.FolderPermissions(f.ID)
	c.who.name = fmt.Sprintf("%s (a token limited to folder %s)", c.who.name, f.FullyQualifiedName)
	return narrowed, nil
}
