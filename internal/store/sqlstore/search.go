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
	machineEntity = odata.Entity{Set: "Machines", Props: []odata.Prop{
		{Name: "Id", Column: "id", Type: odata.Int},
		{Name: "Key", Column: "key", Type: odata.Guid},
		{Name: "Name", Column: "name_norm", Type: odata.String, Folded: true},
		{Name: "ClientId", Column: "client_id", Type: odata.String},
		{Name: "UnattendedSlots", Column: "slots", Type: odata.Int},
	}}
	roleEntity = odata.Entity{Set: "Roles", Props: []odata.Prop{
		{Name: "Id", Column: "id", Type: odata.Int},
		{Name: "Name", Column: "name_norm", Type: odata.String, Folded: true},
		{Name: "DisplayName", Column: "name_norm", Type: odata.String, Folded: true},
		{Name: "Type", Column: "type", Type: odata.Enum, Enum: []string{"Mixed", "Tenant", "Folder"}},
		{Name: "IsStatic", Column: "(tenant_id IS NULL)", Type: odata.Bool},
		{Name: "IsEditable", Column: "(tenant_id IS NOT NULL)", Type: odata.Bool},
	}}
	// tenantUserEntity is over the columns of tenantUsersFrom.
	tenantUserEntity = odata.Entity{Set: "Users", Props: []odata.Prop{
		{Name: "Id", Column: "id", Type: odata.Int},
		{Name: "Key", Column: "key", Type: odata.Guid},
		{Name: "UserName", Column: "user_name", Type: odata.String},
		{Name: "Name", Column: "name", Type: odata.String},
		{Name: "FullName", Column: "name", Type: odata.String},
		{Name: "EmailAddress", Column: "email", Type: odata.String},
		{Name: "IsActive", Column: "is_active", Type: odata.Bool},
		// UiPath's UserType, by number.
		{Name: "Type", Column: "type", Type: odata.Enum, Enum: []string{"User", "Robot", "DirectoryUser", "DirectoryGroup", "DirectoryRobot", "DirectoryExternalApplication"}},
		{Name: "CreationTime", Column: "created_at", Type: odata.Time},
	}}
)

// tenantUsersFrom is the Users entity set of every organization: users, and external
// applications with minus their id as Id (store.TenantUser). First-party apps have no
// organization and so never match the organization's condition.
const tenantUsersFrom = `(SELECT 'user' AS kind, u.id AS pid, u.id AS id, u.key AS key, u.org_id AS org_id,
		u.email AS user_name, u.name AS name, u.email AS email, u.disabled AS disabled, NOT u.disabled AS is_active,
		u.org_admin AS org_admin, 'User' AS type, u.created_at AS created_at
	FROM users u
	UNION ALL
	SELECT 'app', a.id, -a.id, a.key, a.org_id, a.client_id, a.name, '', FALSE, TRUE, FALSE,
		'DirectoryExternalApplication', a.created_at
	FROM apps a) tu`

// tenantUsersMember keeps the rows of organization $1 that are members of tenant $2.
const tenantUsersMember = `org_id = $1 AND (org_admin OR EXISTS (SELECT 1 FROM memberships m
	WHERE m.tenant_id = $2 AND m.principal_kind = tu.kind AND m.principal_id = tu.pid))`

const tenantUserColumns = `kind, pid, id, key, user_name, name, email, disabled, org_admin, created_at`

func scanTenantUser(r *sql.Rows) (store.TenantUser, error) {
	var (
		u    store.TenantUser
		kind string
	)
	err := r.Scan(&kind, &u.Principal.ID, &u.ID, &u.Key, &u.UserName, &u.Name, &u.Email, &u.Disabled, &u.OrgAdmin, dbTime{&u.CreatedAt})
	u.Principal.Kind = tenancy.PrincipalKind(kind)
	return u, err
}

// searchInvalid marks an OData query the entity cannot answer: the caller shows it as 400.
func searchInvalid(err error) error { return fmt.Errorf("%w: %w", store.ErrInvalid, err) }

// search runs a paged OData query over table, within the fixed conditions of p: the rows
// of tenant p.TenantID (column tenant_id), narrowed by p.FolderID and p.OnlyFolders on
// folderColumn.
func search[T any](ctx context.Context, s *DB, table, columns, folderColumn string, e odata.Entity, p store.SearchParams,
	scan func(*sql.Rows) (T, error)) ([]T, int, error) {
	return searchIn(ctx, s, searchScope{from: table, where: "tenant_id = $1", args: []any{p.TenantID}},
		columns, folderColumn, e, p, scan)
}

// searchScope is what a search reads and the fixed condition that keeps it to the rows the
// call may see. Both are SQL written in this package, never text of a request; where uses
// the placeholders $1 … $n for args, and the query's own values are numbered after them.
type searchScope struct {
	from  string // a table, or a parenthesised subquery with an alias
	where string // the fixed condition; never empty
	args  []any
}

// searchIn runs a paged OData query over sc, narrowed by p.FolderID and p.OnlyFolders on
// folderColumn (p.TenantID is sc's to use). total is -1 unless the query asks for $count.
func searchIn[T any](ctx context.Context, s *DB, sc searchScope, columns, folderColumn string, e odata.Entity, p store.SearchParams,
	scan func(*sql.Rows) (T, error)) ([]T, int, error) {
	conds := []string{sc.where}
	args := append([]any(nil), sc.args...)
	if (p.FolderID != 0 || p.OnlyFolders != nil) && folderColumn == "" {
		return nil, 0, fmt.Errorf("sqlstore: %s cannot be narrowed by folder", e.Set) // a caller's bug, not a bad query
	}
	if p.FolderID != 0 {
		args = append(args, p.FolderID)
		conds = append(conds, fmt.Sprintf("%s = $%d", folderColumn, len(args)))
	}
	if p.OnlyFolders != nil {
		if len(p.OnlyFolders) == 0 {
			if p.Query.Count {
				return nil, 0, nil
			}
			return nil, -1, nil
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
	from := " FROM " + sc.from + " WHERE " + strings.Join(conds, " AND ")
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

// MachineSearch implements store.Store.
func (s *DB) MachineSearch(ctx context.Context, p store.SearchParams) ([]tenancy.Machine, int, error) {
	return search(ctx, s, "machines", machineColumns, "", machineEntity, p,
		func(r *sql.Rows) (tenancy.Machine, error) { return scanMachine(r) })
}

// RoleSearch implements store.Store.
func (s *DB) RoleSearch(ctx context.Context, p store.SearchParams) ([]tenancy.Role, int, error) {
	sc := searchScope{from: "roles", where: "(tenant_id IS NULL OR tenant_id = $1)", args: []any{p.TenantID}}
	return searchIn(ctx, s, sc, roleColumns, "", roleEntity, p,
		func(r *sql.Rows) (tenancy.Role, error) { return scanRole(r) })
}

// TenantUserSearch implements store.Store.
func (s *DB) TenantUserSearch(ctx context.Context, orgID int64, p store.SearchParams) ([]store.TenantUser, int, error) {
	sc := searchScope{from: tenantUsersFrom, where: tenantUsersMember, args: []any{orgID, p.TenantID}}
	return searchIn(ctx, s, sc, tenantUserColumns, "", tenantUserEntity, p, scanTenantUser)
}
