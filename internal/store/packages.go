package store

import (
	"context"
	"time"
)

// PackageStore keeps process packages and the releases that run them.
//
// A package version is one row; its .nupkg bytes are kept once per tenant and SHA-256, in
// the database, so that every server node serves every package. Names and versions match
// case-insensitively, and every version of a package keeps the spelling of the name its
// first version had; versions are stored in the normalized form of packages.Version (the
// store also matches other spellings of the same version: 1.0 is 1.0.0). Exactly one version of each package is its latest: the
// highest by version precedence (packages.CompareVersions), whatever the upload order.
//
// A release ("process" in UiPath's UI) runs one version of one package in one folder. It
// keeps the history of the versions it ran, so that it can roll back.
type PackageStore interface {
	// PackageAdd stores a package version and its content. The same name and version
	// again is ErrConflict (whatever the content).
	PackageAdd(ctx context.Context, p PackageAddParams) (Package, error)
	// PackageGet finds one version of a package.
	PackageGet(ctx context.Context, tenantID int64, name, version string) (Package, error)
	// PackageGetLatest finds the latest version of a package.
	PackageGetLatest(ctx context.Context, tenantID int64, name string) (Package, error)
	// PackageList lists the versions of a package, the highest first (none: an empty list).
	PackageList(ctx context.Context, tenantID int64, name string) ([]Package, error)
	// PackageSearch pages the latest version of each of a tenant's packages (UiPath's
	// Processes entity set) with an OData query; p.FolderID and p.OnlyFolders must be unset.
	PackageSearch(ctx context.Context, p SearchParams) (page []Package, total int, err error)
	// PackageVersionSearch pages the versions of one package with an OData query.
	PackageVersionSearch(ctx context.Context, name string, p SearchParams) (page []Package, total int, err error)
	// PackageContent returns the .nupkg bytes of a tenant's package by their SHA-256 (hex).
	PackageContent(ctx context.Context, tenantID int64, sha256 string) ([]byte, error)
	// PackageDelete deletes one version of a package, or every version when version is "",
	// and the content no remaining version uses; it returns the versions deleted. A version
	// a release runs, or a job that has not ended, is not deleted: ErrConflict naming them.
	PackageDelete(ctx context.Context, tenantID int64, name, version string) ([]Package, error)

	// ReleaseCreate adds a release running an existing package version (ErrNotFound
	// otherwise) in an existing folder of the tenant; a release of the same name in the
	// folder is ErrConflict. Its version history starts with that version.
	ReleaseCreate(ctx context.Context, p ReleaseCreateParams) (Release, error)
	ReleaseGet(ctx context.Context, tenantID, id int64) (Release, error)
	// ReleaseGetByKey finds a release by its Key (StartJobs' ReleaseKey).
	ReleaseGetByKey(ctx context.Context, tenantID int64, key string) (Release, error)
	// ReleaseGetByName finds a release of a folder by name, case-insensitively (StartJobs'
	// ReleaseName).
	ReleaseGetByName(ctx context.Context, tenantID, folderID int64, name string) (Release, error)
	// ReleaseSearch pages releases with an OData query; p.FolderID and p.OnlyFolders narrow
	// them to folders.
	ReleaseSearch(ctx context.Context, p SearchParams) (page []Release, total int, err error)
	// ReleaseUpdate may change Name, Description, PackageVersion, InputArguments,
	// JobPriority and MaxRunTimeSeconds. A new PackageVersion must exist (ErrNotFound) and
	// joins the version history; PackageName cannot change (ErrInvalid): a release runs one
	// package.
	ReleaseUpdate(ctx context.Context, tenantID, id int64, fn func(Release) (Release, error)) (Release, error)
	// ReleaseRollback moves a release back to the version it ran before its current one,
	// which leaves the version history. fn then sees the release at that version (Package
	// filled) and may change what ReleaseUpdate may, except the version. A release without
	// an earlier version is ErrInvalid; an earlier version deleted since is ErrNotFound.
	ReleaseRollback(ctx context.Context, tenantID, id int64, fn func(Release) (Release, error)) (Release, error)
	// ReleaseVersions lists the versions a release ran, the first first; the last is its
	// current version.
	ReleaseVersions(ctx context.Context, tenantID, id int64) ([]ReleaseVersion, error)
	// ReleaseDelete deletes a release and its version history. A release with jobs that
	// have not ended is not deleted: ErrConflict naming them. Its ended jobs stay, with
	// ReleaseID 0.
	ReleaseDelete(ctx context.Context, tenantID, id int64) error
}

// Package is one version of a process package.
type Package struct {
	ID       int64 // the row's id
	TenantID int64
	// Name is the package id of its .nuspec (UiPath's ProcessDto.Id, a release's
	// ProcessKey), as the package's first version spelled it.
	Name         string
	Version      string // normalized
	Title        string
	Description  string
	Authors      string
	ReleaseNotes string
	// EntryPoint is the file the robot runs, as a path from the package's root.
	EntryPoint string
	// Arguments are the declared arguments as packages.Arguments.Encode writes them; ""
	// when the package declares none.
	Arguments string
	SHA256    string // hex SHA-256 of the .nupkg
	Size      int64  // bytes of the .nupkg
	IsLatest  bool   // the highest version of the package
	CreatedAt time.Time
}

// PackageAddParams are a package version to store with its content.
type PackageAddParams struct {
	TenantID     int64
	Name         string
	Version      string // normalized
	Title        string
	Description  string
	Authors      string
	ReleaseNotes string
	EntryPoint   string
	Arguments    string
	Content      []byte // the .nupkg; its SHA-256 and size are computed by the store
}

// Job priorities a release may set for its jobs.
const (
	PriorityLow    = "Low"
	PriorityNormal = "Normal"
	PriorityHigh   = "High"
)

// Release runs one version of one package in one folder.
type Release struct {
	ID          int64
	Key         string // GUID: StartJobs' ReleaseKey
	TenantID    int64
	FolderID    int64
	Name        string // unique case-insensitively within the folder
	Description string
	// PackageName and PackageVersion name the package version the release runs
	// (UiPath's ProcessKey and ProcessVersion).
	PackageName    string
	PackageVersion string
	// InputArguments are the input values set on the release, a JSON object as
	// packages.EncodeValues writes it; "" for none. Jobs start from them.
	InputArguments string
	// JobPriority is the priority of the release's jobs: Low, Normal (the default) or High.
	JobPriority string
	// MaxRunTimeSeconds is how long a job of the release may run before it is killed and
	// ends Faulted; 0 for no limit.
	MaxRunTimeSeconds int64
	CreatedAt         time.Time
	UpdatedAt         time.Time
	// Package is the version the release runs, filled on reads and ignored on writes.
	Package Package
}

// ReleaseCreateParams are a new release.
type ReleaseCreateParams struct {
	TenantID          int64
	FolderID          int64
	Name              string
	Description       string
	PackageName       string
	PackageVersion    string // normalized
	InputArguments    string
	JobPriority       string // "" is Normal
	MaxRunTimeSeconds int64
}

// ReleaseVersion is one entry of a release's version history.
type ReleaseVersion struct {
	ID        int64
	ReleaseID int64
	Version   string
	CreatedAt time.Time
}
