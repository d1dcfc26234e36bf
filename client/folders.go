package client

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf16"
)

// The folder headers of UiPath's API: a call in a folder names it with one of them.
const (
	HeaderFolderID          = "X-UIPATH-OrganizationUnitId"
	HeaderFolderKey         = "X-UIPATH-FolderKey"
	HeaderFolderPath        = "X-UIPATH-FolderPath"
	HeaderFolderPathEncoded = "X-UIPATH-FolderPath-Encoded"
)

// InFolder runs a request in a folder named by its Id in decimal ("1") or by its path
// ("Shared", "Finance/AP"). It replaces any folder named before (the client's default).
func InFolder(ref string) RequestOption {
	ref = strings.TrimSpace(ref)
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return InFolderID(id)
	}
	return InFolderPath(ref)
}

// InFolderID runs a request in the folder with this Id.
func InFolderID(id int64) RequestOption {
	return func(r *http.Request) {
		clearFolder(r.Header)
		r.Header.Set(HeaderFolderID, strconv.FormatInt(id, 10))
	}
}

// InFolderKey runs a request in the folder with this Key (a GUID, which never changes).
func InFolderKey(key string) RequestOption {
	return func(r *http.Request) {
		clearFolder(r.Header)
		r.Header.Set(HeaderFolderKey, key)
	}
}

// InFolderPath runs a request in the folder with this path (its FullyQualifiedName). A
// path that is not plain ASCII goes base64-encoded (UTF-16LE), as header values must be.
func InFolderPath(path string) RequestOption {
	return func(r *http.Request) {
		clearFolder(r.Header)
		if isPlainASCII(path) {
			r.Header.Set(HeaderFolderPath, path)
		} else {
			r.Header.Set(HeaderFolderPathEncoded, EncodeFolderPath(path))
		}
	}
}

// EncodeFolderPath is the value of X-UIPATH-FolderPath-Encoded for a path: base64 of its
// UTF-16LE code units.
func EncodeFolderPath(path string) string {
	units := utf16.Encode([]rune(path))
	b := make([]byte, 0, 2*len(units))
	for _, u := range units {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func clearFolder(h http.Header) {
	for _, k := range []string{HeaderFolderID, HeaderFolderKey, HeaderFolderPath, HeaderFolderPathEncoded} {
		h.Del(k)
	}
}

// Folder is a folder as the API shows it (FolderDto).
type Folder struct {
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

// FoldersService is the calls of the Folders entity set (scope OR.Folders).
type FoldersService struct {
	client *Client
}

// List returns the folders the caller may use (every folder for a tenant Administrator).
func (s *FoldersService) List(ctx context.Context, opts *ListOptions) ([]Folder, *Response, error) {
	page, resp, err := List[Folder](ctx, s.client, "odata/Folders", opts)
	if err != nil {
		return nil, resp, err
	}
	return page.Value, resp, nil
}

// Get returns the folder with this Id.
func (s *FoldersService) Get(ctx context.Context, id int64) (*Folder, *Response, error) {
	req, err := s.client.NewRequest(http.MethodGet, fmt.Sprintf("odata/Folders(%d)", id), nil)
	if err != nil {
		return nil, nil, err
	}
	var f Folder
	resp, err := s.client.Do(ctx, req, &f)
	if err != nil {
		return nil, resp, err
	}
	return &f, resp, nil
}

// GetByPath returns the folder with this path (FullyQualifiedName, e.g. "Finance/AP"), as
// UiPath's CLI looks folders up. A path no usable folder has is an *Error with status 404
// and errorCode 1002, like a missing Id.
func (s *FoldersService) GetByPath(ctx context.Context, path string) (*Folder, *Response, error) {
	filter := "FullyQualifiedName eq '" + strings.ReplaceAll(path, "'", "''") + "'"
	page, resp, err := List[Folder](ctx, s.client, "odata/Folders", &ListOptions{Filter: filter, Top: 1})
	if err != nil {
		return nil, resp, err
	}
	if len(page.Value) == 0 {
		return nil, resp, &Error{StatusCode: http.StatusNotFound, Method: http.MethodGet, Path: s.client.base.Path + "odata/Folders",
			Message: fmt.Sprintf("no folder you may use has the path %q", path), ErrorCode: 1002}
	}
	return &page.Value[0], resp, nil
}
