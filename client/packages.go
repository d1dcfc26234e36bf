package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"time"
)

// Release is a process: one version of a package run in a folder (ReleaseDto).
type Release struct {
	ID                                 int64     `json:"Id"`
	Key                                string    `json:"Key"`
	Name                               string    `json:"Name"`
	Description                        string    `json:"Description"`
	ProcessKey                         string    `json:"ProcessKey"`
	ProcessVersion                     string    `json:"ProcessVersion"`
	IsLatestVersion                    bool      `json:"IsLatestVersion"`
	EntryPointPath                     string    `json:"EntryPointPath"`
	InputArguments                     *string   `json:"InputArguments"`
	JobPriority                        string    `json:"JobPriority"`
	OrganizationUnitID                 int64     `json:"OrganizationUnitId"`
	OrganizationUnitFullyQualifiedName string    `json:"OrganizationUnitFullyQualifiedName"`
	CreationTime                       time.Time `json:"CreationTime"`
	LastModificationTime               time.Time `json:"LastModificationTime"`
}

// NewRelease is a process to create. ProcessKey is the package id; an empty
// ProcessVersion is its latest version and an empty Name the package id.
type NewRelease struct {
	Name           string `json:"name,omitempty"`
	ProcessKey     string `json:"processKey"`
	ProcessVersion string `json:"processVersion,omitempty"`
	Description    string `json:"description,omitempty"`
}

// ReleasesService is the calls of the Releases entity set (scope OR.Execution). Releases
// live in folders: name one with a RequestOption unless the client has a default folder.
type ReleasesService struct {
	client *Client
}

// List returns the processes of the request's folder.
func (s *ReleasesService) List(ctx context.Context, opts *ListOptions, ropts ...RequestOption) ([]Release, *Response, error) {
	page, resp, err := List[Release](ctx, s.client, "odata/Releases", opts, ropts...)
	if err != nil {
		return nil, resp, err
	}
	return page.Value, resp, nil
}

// FindByProcessKey returns the processes of the request's folder that run the package
// with this id (none, one, or several under different names).
func (s *ReleasesService) FindByProcessKey(ctx context.Context, processKey string, opts ...RequestOption) ([]Release, *Response, error) {
	filter := "ProcessKey eq '" + strings.ReplaceAll(processKey, "'", "''") + "'"
	return s.List(ctx, &ListOptions{Filter: filter}, opts...)
}

// Create creates a process in the request's folder.
func (s *ReleasesService) Create(ctx context.Context, r NewRelease, opts ...RequestOption) (*Release, *Response, error) {
	req, err := s.client.NewRequest(http.MethodPost, "odata/Releases", r, opts...)
	if err != nil {
		return nil, nil, err
	}
	var out Release
	resp, err := s.client.Do(ctx, req, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// UpdateToVersion makes the process with this Id run another version of its package.
func (s *ReleasesService) UpdateToVersion(ctx context.Context, id int64, version string, opts ...RequestOption) (*Response, error) {
	req, err := s.client.NewRequest(http.MethodPost, fmt.Sprintf("odata/Releases(%d)/%sUpdateToSpecificPackageVersion", id, actionNS),
		map[string]string{"packageVersion": version}, opts...)
	if err != nil {
		return nil, err
	}
	return s.client.Do(ctx, req, nil)
}

// UploadResult is the server's word on one uploaded file.
type UploadResult struct {
	Key    string `json:"Key"`    // the file's name
	Status string `json:"Status"` // "OK"
	Body   string `json:"Body"`   // {"Id","Version"} as a JSON string
}

// PackagesService is the calls of packages (the Processes entity set, scope
// OR.Execution). Packages belong to the tenant, not to a folder.
type PackagesService struct {
	client *Client
}

// Upload uploads a .nupkg, sent as the multipart field "file" as UiPath's CLI does. An id
// and version that exist already are an *Error with status 409 (errorCode 1004).
func (s *PackagesService) Upload(ctx context.Context, fileName string, nupkg io.Reader, opts ...RequestOption) (*UploadResult, *Response, error) {
	// Packages are at most 64 MiB: building the body in memory keeps the request
	// repeatable, should the token need renewing.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("file", fileName)
	if err != nil {
		return nil, nil, err
	}
	if _, err := io.Copy(part, nupkg); err != nil {
		return nil, nil, fmt.Errorf("client: read the package: %w", err)
	}
	if err := mw.Close(); err != nil {
		return nil, nil, err
	}
	req, err := s.client.NewRequest(http.MethodPost, "odata/Processes/"+actionNS+"UploadPackage", &body, opts...)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	var page Page[UploadResult]
	resp, err := s.client.Do(ctx, req, &page)
	if err != nil {
		return nil, resp, err
	}
	if len(page.Value) == 0 {
		return &UploadResult{Key: fileName}, resp, nil
	}
	return &page.Value[0], resp, nil
}
