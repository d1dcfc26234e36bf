package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/openorch/openorch/internal/odata"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// The OData view of each searchable entity set: property names as clients send them, the
// columns behind them.
var (
	folderEntity = odata.Entity{Set: "Folders", Props: []odata.Prop{
		{Name: "Id", Column: "id", Type: odata.Int},
		{Name: "Key", Column: "key", Type: odata.Guid},
		{Name: "DisplayName", Column: "display_name", Type: odata.String},
		{Name: "FullyQualifiedName", Column: "fqn_norm", Type: odata.String, Folded: true},
		{Name: "Description", Column: "description", Type: odata.String},
		{Name: "ParentId", Column: "parent_id", Type: odata.Int},
	}}
	queueEntity = odata.Entity{Set: "QueueDefinitions", Props: []odata.Prop{
		{Name: "Id", Column: "id", Type: odata.Int},
		{Name: "Key", Column: "key", Type: odata.Guid},
		{Name: "Name", Column: "name_norm", Type: odata.String, Folded: true},
		{Name: "Description", Column: "description", Type: odata.String},
		{Name: "MaxNumberOfRetries", Column: "max_retries", Type: odata.Int},
		{Name: "EnforceUniqueReference", Column: "unique_reference", Type: odata.Bool},
		{Name: "CreationTime", Column: "created_at", Type: odata.Time},
		{Name: "OrganizationUnitId", Column: "folder_id", Type: odata.Int},
	}}
)

// searchInvalid marks an OData query the entity cannot answer: the caller shows it as 400.
func searchInvalid(err error) error { return fmt.Errorf("%w: %w", store.ErrInvalid, err) }

// search runs a paged OData query over table, within the fixed conditions of p.
func search[T any](ctx context.Context, s *DB, table, columns, folderColumn string, e odata.Entity, p store.SearchParams,
	scan func(*sql.Rows) (T, error)) ([]T, int, error) {
	conds := []string{"tenant_id = $1"}
	args := []any{p.TenantID}
	if p.FolderID != 0 {
		args = append(args, p.FolderID)
		conds = append(conds, fmt.Sprintf("%s = $%d", folderColumn, len(args)))
	}
	if p.OnlyFolders != nil {
		if len(p.OnlyFolders) == 0 {
			return nil, 0, nil
		}
		marks := make([]string, len(p.OnlyFolders))
		for i, id := range p.OnlyFolders {
			args = append(args, id)
			marks[i] = fmt.Sprintf("$%d", len(args))
		}
		conds = append(conds, folderColumn+" IN ("+strings.Join(marks, ", ")+")")
	}
	where, wargs, err := p.Query.Where(e, odata.SQLOptions{FirstArg: len(args) + 1, Time: s.d.Time})
	if err != nil {
		return nil, 0, searchInvalid(err)
	}
	if where != "" {
		conds = append(conds, where)
		args = append(args, wargs...)
	}
	order, err := p.Query.OrderBySQL(e)
	if err != nil {
		return nil, 0, searchInvalid(err)
	}
	if order == "" {
		order = "id"
	} else {
		order += ", id" // a stable tiebreak, so pages do not overlap
	}
	from := " FROM " + table + " WHERE " + strings.Join(conds, " AND ")
	total := -1
	if p.Query.Count {
		if err := s.r().QueryRowContext(ctx, "SELECT COUNT(*)"+from, args...).Scan(&total); err != nil {
			return nil, 0, err
		}
	}
	q := fmt.Sprintf("SELECT %s%s ORDER BY %s LIMIT %d OFFSET %d", columns, from, order, p.Query.Top, p.Query.Skip)
	rows, err := s.r().QueryContext(ctx, q, args...)
	page, err := collect(rows, err, scan)
	return page, total, err
}

// FolderSearch implements store.Store.
func (s *DB) FolderSearch(ctx context.Context, p store.SearchParams) ([]tenancy.Folder, int, error) {
	return search(ctx, s, "folders", folderColumns, "id", folderEntity, p,
		func(r *sql.Rows) (tenancy.Folder, error) { return scanFolder(r) })
}

// QueueDefinitionSearch implements store.Store.
func (s *DB) QueueDefinitionSearch(ctx context.Context, p store.SearchParams) ([]tenancy.QueueDefinition, int, error) {
	return search(ctx, s, "queue_definitions", queueColumns, "folder_id", queueEntity, p,
		func(r *sql.Rows) (tenancy.QueueDefinition, error) { return scanQueue(r) })
}
