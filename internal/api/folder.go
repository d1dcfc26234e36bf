package api

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// The folder headers, in the order they are looked at.
const (
	hdrFolderID      = "X-UIPATH-OrganizationUnitId"
	hdrFolderKey     = "X-UIPATH-FolderKey"
	hdrFolderPath    = "X-UIPATH-FolderPath"
	hdrFolderPathEnc = "X-UIPATH-FolderPath-Encoded"
)

// folderDetails is the details of the folder errors: why, how to say which folder, and the
// folders the caller may use.
type folderDetails struct {
	Reason  string       `json:"reason"`
	Headers []string     `json:"headers"`
	Folders []folderHint `json:"folders"`
}

type folderHint struct {
	ID                 int64  `json:"Id"`
	Key                string `json:"Key"`
	FullyQualifiedName string `json:"FullyQualifiedName"`
}

var folderHeaderHelp = []string{
	hdrFolderID + ": <folder Id>",
	hdrFolderKey + ": <folder Key>",
	hdrFolderPath + ": <FullyQualifiedName, e.g. Shared or Finance/AP>",
	hdrFolderPathEnc + ": <base64 of the UTF-16LE path; may be relative: /, ., ..>",
}

// folderContext reads the folder headers (names in any case). It returns nil when none is
// sent. A folder that does not exist and one the caller may not use get the same answer,
// so that no one learns which folders exist.
func (a *API) folderContext(c *call, acc *tenancy.Access) (*tenancy.Folder, *apiError) {
	h := c.r.Header
	ctx := c.ctx()
	var (
		f    tenancy.Folder
		err  error
		sent string
	)
	ambient := func() (*tenancy.Folder, error) {
		if v := h.Get(hdrFolderID); v != "" {
			id, perr := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if perr != nil {
				return nil, store.ErrNotFound
			}
			f, err := a.folderByIDCached(ctx, c.tenant.ID, id)
			return &f, err
		}
		if v := h.Get(hdrFolderKey); v != "" {
			f, err := a.folderByKeyCached(ctx, c.tenant.ID, strings.TrimSpace(v))
			return &f, err
		}
		return nil, nil
	}
	switch {
	case h.Get(hdrFolderPathEnc) != "":
		sent = hdrFolderPathEnc + ": " + h.Get(hdrFolderPathEnc)
		path, ok := decodeFolderPath(h.Get(hdrFolderPathEnc))
		if !ok {
			return nil, invalid("%s is not base64 of a UTF-16LE string", hdrFolderPathEnc)
		}
		f, err = a.resolvePath(c, path, ambient)
	case h.Get(hdrFolderPath) != "":
		sent = hdrFolderPath + ": " + h.Get(hdrFolderPath)
		f, err = a.folderByPathCached(ctx, c.tenant.ID, strings.TrimSpace(h.Get(hdrFolderPath)))
	case h.Get(hdrFolderID) != "" || h.Get(hdrFolderKey) != "":
		if h.Get(hdrFolderID) != "" {
			sent = hdrFolderID + ": " + h.Get(hdrFolderID)
		} else {
			sent = hdrFolderKey + ": " + h.Get(hdrFolderKey)
		}
		var fp *tenancy.Folder
		fp, err = ambient()
		if fp != nil {
			f = *fp
		}
	default:
		return nil, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, internalError(c.r, err)
	}
	if err != nil || len(acc.FolderPermissions(f.ID)) == 0 {
		return nil, &apiError{Status: http.StatusForbidden, Code: codeFolderInvalid, Reason: "folder",
			Message: "Folder does not exist or the user does not have access to the folder.",
			Details: folderDetails{Reason: "no folder you may use matches " + sent, Headers: folderHeaderHelp, Folders: a.usableFolders(c, acc)}}
	}
	return &f, nil
}

// resolvePath resolves an X-UIPATH-FolderPath-Encoded value: absolute paths name a folder;
// "." is the ambient folder (from the Id or Key header), each ".." one level up, and a
// leading "/" the top of the ambient folder's tree.
func (a *API) resolvePath(c *call, path string, ambient func() (*tenancy.Folder, error)) (tenancy.Folder, error) {
	ctx := c.ctx()
	if !strings.HasPrefix(path, ".") && !(strings.HasPrefix(path, "/") && (path == "/" || ambientSent(c))) {
		return a.folderByPathCached(ctx, c.tenant.ID, strings.TrimPrefix(path, "/"))
	}
	amb, err := ambient()
	if err != nil {
		return tenancy.Folder{}, err
	}
	if amb == nil {
		return tenancy.Folder{}, store.ErrNotFound
	}
	segs := strings.Split(amb.FullyQualifiedName, "/")
	rest := path
	if strings.HasPrefix(rest, "/") {
		segs, rest = segs[:1], strings.TrimPrefix(rest, "/")
	}
	for _, p := range strings.Split(rest, "/") {
		switch p {
		case "", ".":
		case "..":
			if len(segs) == 0 {
				return tenancy.Folder{}, store.ErrNotFound
			}
			segs = segs[:len(segs)-1]
		default:
			segs = append(segs, p)
		}
	}
	if len(segs) == 0 {
		return tenancy.Folder{}, store.ErrNotFound // the tenant's root is not a folder
	}
	return a.folderByPathCached(ctx, c.tenant.ID, strings.Join(segs, "/"))
}

func ambientSent(c *call) bool {
	return c.r.Header.Get(hdrFolderID) != "" || c.r.Header.Get(hdrFolderKey) != ""
}

// decodeFolderPath decodes base64 of UTF-16LE.
func decodeFolderPath(v string) (string, bool) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil || len(b)%2 != 0 {
		return "", false
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return string(utf16.Decode(u)), true
}

func (a *API) folderRequiredError(c *call, acc *tenancy.Access) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: codeFolderRequired,
		Message: "An organization unit is required for this action.",
		Details: folderDetails{Reason: c.route.label() + " works in one folder: say which with one of these headers",
			Headers: folderHeaderHelp, Folders: a.usableFolders(c, acc)}}
}

// usableFolders lists the folders the caller may use, for error details.
func (a *API) usableFolders(c *call, acc *tenancy.Access) []folderHint {
	all, err := a.st.FolderList(c.ctx(), c.tenant.ID)
	if err != nil {
		return nil
	}
	out := []folderHint{}
	for _, f := range all {
		if len(acc.FolderPermissions(f.ID)) > 0 {
			out = append(out, folderHint{ID: f.ID, Key: f.Key, FullyQualifiedName: f.FullyQualifiedName})
		}
	}
	return out
}
