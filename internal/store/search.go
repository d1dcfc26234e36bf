package store

import "github.com/openorch/openorch/internal/odata"

// SearchParams select a page of an entity set with an OData query: the query's filter,
// order, $top and $skip apply within the rows the caller may see.
type SearchParams struct {
	TenantID int64
	// FolderID limits the rows to one folder (0: no such limit).
	FolderID int64
	// OnlyFolders limits the rows to these folders when not nil (the caller's visible
	// folders); an empty, non-nil slice selects nothing.
	OnlyFolders []int64
	Query       odata.Query
}
