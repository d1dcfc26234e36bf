package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// ---- organizations

const orgColumns = `id, key, name, display_name, created_at`

func scanOrg(r interface{ Scan(...any) error }) (tenancy.Organization, error) {
	var o tenancy.Organization
	err := r.Scan(&o.ID, &o.Key, &o.Name, &o.DisplayName, dbTime{&o.CreatedAt})
	return o, err
}

// OrganizationCreate implements store.Store.
func (s *DB) OrganizationCreate(ctx context.Context, p store.OrganizationCreateParams) (tenancy.Organization, error) {
	if p.DisplayName == "" {
		p.DisplayName = p.Name
	}
	o, err := scanOrg(s.w().QueryRowContext(ctx,
		`INSERT INTO organizations (key, name, name_norm, display_name, created_at) VALUES ($1, $2, $3, $4, $5)
		 RETURNING `+orgColumns,
		newKey(), p.Name, norm(p.Name), p.DisplayName, s.t(s.timestamp())))
	return o, s.classify(err, fmt.Sprintf("organization name %q is taken", p.Name))
}

// OrganizationGet implements store.Store.
func (s *DB) OrganizationGet(ctx context.Context, id int64) (tenancy.Organization, error) {
	o, err := scanOrg(s.r().QueryRowContext(ctx, `SELECT `+orgColumns+` FROM organizations WHERE id = $1`, id))
	return o, s.notFound(err, "organization %d", id)
}

// OrganizationGetByName implements store.Store.
func (s *DB) OrganizationGetByName(ctx context.Context, nameOrKey string) (tenancy.Organization, error) {
	o, err := scanOrg(s.r().QueryRowContext(ctx,
		`SELECT `+orgColumns+` FROM organizations WHERE name_norm = $1 OR key = $2`, norm(nameOrKey), strings.ToLower(nameOrKey)))
	return o, s.notFound(err, "organization %q", nameOrKey)
}

// OrganizationList implements store.Store.
func (s *DB) OrganizationList(ctx context.Context) ([]tenancy.Organization, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+orgColumns+` FROM organizations ORDER BY id`)
	return collect(rows, err, func(r *sql.Rows) (tenancy.Organization, error) { return scanOrg(r) })
}

// OrganizationUpdate implements store.Store.
func (s *DB) OrganizationUpdate(ctx context.Context, id int64, fn func(tenancy.Organization) (tenancy.Organization, error)) (tenancy.Organization, error) {
	var out tenancy.Organization
	err := s.inTx(ctx, func(tx *DB) error {
		old, err := scanOrg(tx.w().QueryRowContext(ctx, `SELECT `+orgColumns+` FROM organizations WHERE id = $1`+tx.d.ForUpdate, id))
		if err = tx.notFound(err, "organization %d", id); err != nil {
			return err
		}
		nw, err := fn(old)
		if err != nil {
			return err
		}
		out, err = scanOrg(tx.w().QueryRowContext(ctx,
			`UPDATE organizations SET name = $2, name_norm = $3, display_name = $4 WHERE id = $1 RETURNING `+orgColumns,
			id, nw.Name, norm(nw.Name), nw.DisplayName))
		return tx.classify(err, fmt.Sprintf("organization name %q is taken", nw.Name))
	})
	return out, err
}

// OrganizationDelete implements store.Store. Everything of the organization goes with it.
func (s *DB) OrganizationDelete(ctx context.Context, id int64) error {
	return s.inTx(ctx, func(tx *DB) error {
		// Memberships name principals without a foreign key: remove those of the org's
		// users and apps explicitly (machines' go with their tenants).
		if _, err := tx.w().ExecContext(ctx, `DELETE FROM memberships WHERE
			(principal_kind = 'user' AND principal_id IN (SELECT id FROM users WHERE org_id = $1)) OR
			(principal_kind = 'app' AND principal_id IN (SELECT id FROM apps WHERE org_id = $1))`, id); err != nil {
			return err
		}
		res, err := tx.w().ExecContext(ctx, `DELETE FROM organizations WHERE id = $1`, id)
		return tx.affected(res, err, "organization %d", id)
	})
}

// ---- tenants

const tenantColumns = `id, key, org_id, name, display_name, legacy_basic_auth, legacy_basic_auth_until, created_at`

func scanTenant(r interface{ Scan(...any) error }) (tenancy.Tenant, error) {
	var t tenancy.Tenant
	err := r.Scan(&t.ID, &t.Key, &t.OrgID, &t.Name, &t.DisplayName, &t.LegacyBasicAuth,
		dbNullTime{&t.LegacyBasicAuthUntil}, dbTime{&t.CreatedAt})
	return t, err
}

// TenantCreate implements store.Store.
func (s *DB) TenantCreate(ctx context.Context, p store.TenantCreateParams) (tenancy.Tenant, error) {
	if p.DisplayName == "" {
		p.DisplayName = p.Name
	}
	t, err := scanTenant(s.w().QueryRowContext(ctx,
		`INSERT INTO tenants (key, org_id, name, name_norm, display_name, legacy_basic_auth, legacy_basic_auth_until, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+tenantColumns,
		newKey(), p.OrgID, p.Name, norm(p.Name), p.DisplayName, p.LegacyBasicAuth, s.nt(p.LegacyBasicAuthUntil), s.t(s.timestamp())))
	if s.d.IsForeignKey(err) {
		return t, fmt.Errorf("organization %d: %w", p.OrgID, store.ErrNotFound)
	}
	return t, s.classify(err, fmt.Sprintf("tenant name %q is taken in this organization", p.Name))
}

// TenantGet implements store.Store.
func (s *DB) TenantGet(ctx context.Context, orgID, id int64) (tenancy.Tenant, error) {
	t, err := scanTenant(s.r().QueryRowContext(ctx,
		`SELECT `+tenantColumns+` FROM tenants WHERE org_id = $1 AND id = $2`, orgID, id))
	return t, s.notFound(err, "tenant %d", id)
}

// TenantGetByID implements store.Store.
func (s *DB) TenantGetByID(ctx context.Context, id int64) (tenancy.Tenant, error) {
	t, err := scanTenant(s.r().QueryRowContext(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, id))
	return t, s.notFound(err, "tenant %d", id)
}

// TenantGetByName implements store.Store.
func (s *DB) TenantGetByName(ctx context.Context, orgID int64, nameOrKey string) (tenancy.Tenant, error) {
	t, err := scanTenant(s.r().QueryRowContext(ctx,
		`SELECT `+tenantColumns+` FROM tenants WHERE org_id = $1 AND (name_norm = $2 OR key = $3)`,
		orgID, norm(nameOrKey), strings.ToLower(nameOrKey)))
	return t, s.notFound(err, "tenant %q", nameOrKey)
}

// TenantList implements store.Store.
func (s *DB) TenantList(ctx context.Context, orgID int64) ([]tenancy.Tenant, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE org_id = $1 ORDER BY id`, orgID)
	return collect(rows, err, func(r *sql.Rows) (tenancy.Tenant, error) { return scanTenant(r) })
}

// TenantUpdate implements store.Store.
func (s *DB) TenantUpdate(ctx context.Context, orgID, id int64, fn func(tenancy.Tenant) (tenancy.Tenant, error)) (tenancy.Tenant, error) {
	var out tenancy.Tenant
	err := s.inTx(ctx, func(tx *DB) error {
		old, err := scanTenant(tx.w().QueryRowContext(ctx,
			`SELECT `+tenantColumns+` FROM tenants WHERE org_id = $1 AND id = $2`+tx.d.ForUpdate, orgID, id))
		if err = tx.notFound(err, "tenant %d", id); err != nil {
			return err
		}
		nw, err := fn(old)
		if err != nil {
			return err
		}
		out, err = scanTenant(tx.w().QueryRowContext(ctx,
			`UPDATE tenants SET name = $2, name_norm = $3, display_name = $4, legacy_basic_auth = $5, legacy_basic_auth_until = $6
			 WHERE id = $1 RETURNING `+tenantColumns,
			id, nw.Name, norm(nw.Name), nw.DisplayName, nw.LegacyBasicAuth, tx.nt(nw.LegacyBasicAuthUntil)))
		return tx.classify(err, fmt.Sprintf("tenant name %q is taken in this organization", nw.Name))
	})
	return out, err
}

// TenantDelete implements store.Store.
func (s *DB) TenantDelete(ctx context.Context, orgID, id int64) error {
	res, err := s.w().ExecContext(ctx, `DELETE FROM tenants WHERE org_id = $1 AND id = $2`, orgID, id)
	return s.affected(res, err, "tenant %d", id)
}

// ---- folders

const folderColumns = `id, key, tenant_id, parent_id, display_name, fqn, description, depth, created_at`

func scanFolder(r interface{ Scan(...any) error }) (tenancy.Folder, error) {
	var f tenancy.Folder
	err := r.Scan(&f.ID, &f.Key, &f.TenantID, dbID{&f.ParentID}, &f.DisplayName, &f.FullyQualifiedName,
		&f.Description, &f.Depth, dbTime{&f.CreatedAt})
	return f, err
}

func folderConflict(fqn string) string {
	return fmt.Sprintf("folder %q already exists in this tenant", fqn)
}

// FolderCreate implements store.Store.
func (s *DB) FolderCreate(ctx context.Context, p store.FolderCreateParams) (tenancy.Folder, error) {
	if p.DisplayName == "" || strings.Contains(p.DisplayName, "/") {
		return tenancy.Folder{}, fmt.Errorf("folder name %q must be non-empty and contain no '/': %w", p.DisplayName, store.ErrInvalid)
	}
	var out tenancy.Folder
	err := s.inTx(ctx, func(tx *DB) error {
		fqn, depth := p.DisplayName, 1
		if p.ParentID != 0 {
			parent, err := tx.FolderGet(ctx, p.TenantID, p.ParentID)
			if err != nil {
				return fmt.Errorf("parent folder: %w", err)
			}
			fqn, depth = parent.FullyQualifiedName+"/"+p.DisplayName, parent.Depth+1
		}
		if depth > tenancy.MaxFolderDepth {
			return fmt.Errorf("folder %q would be %d levels deep; the limit is %d: %w", fqn, depth, tenancy.MaxFolderDepth, store.ErrInvalid)
		}
		var err error
		out, err = scanFolder(tx.w().QueryRowContext(ctx,
			`INSERT INTO folders (key, tenant_id, parent_id, display_name, fqn, fqn_norm, description, depth, created_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING `+folderColumns,
			newKey(), p.TenantID, nullID(p.ParentID), p.DisplayName, fqn, norm(fqn), p.Description, depth, tx.t(tx.timestamp())))
		if tx.d.IsForeignKey(err) {
			return fmt.Errorf("tenant %d: %w", p.TenantID, store.ErrNotFound)
		}
		return tx.classify(err, folderConflict(fqn))
	})
	return out, err
}

// FolderGet implements store.Store.
func (s *DB) FolderGet(ctx context.Context, tenantID, id int64) (tenancy.Folder, error) {
	f, err := scanFolder(s.r().QueryRowContext(ctx,
		`SELECT `+folderColumns+` FROM folders WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	return f, s.notFound(err, "folder %d", id)
}

// FolderGetByKey implements store.Store.
func (s *DB) FolderGetByKey(ctx context.Context, tenantID int64, key string) (tenancy.Folder, error) {
	f, err := scanFolder(s.r().QueryRowContext(ctx,
		`SELECT `+folderColumns+` FROM folders WHERE tenant_id = $1 AND key = $2`, tenantID, strings.ToLower(key)))
	return f, s.notFound(err, "folder with key %q", key)
}

// FolderGetByPath implements store.Store.
func (s *DB) FolderGetByPath(ctx context.Context, tenantID int64, path string) (tenancy.Folder, error) {
	f, err := scanFolder(s.r().QueryRowContext(ctx,
		`SELECT `+folderColumns+` FROM folders WHERE tenant_id = $1 AND fqn_norm = $2`, tenantID, norm(path)))
	return f, s.notFound(err, "folder %q", path)
}

// FolderList implements store.Store.
func (s *DB) FolderList(ctx context.Context, tenantID int64) ([]tenancy.Folder, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+folderColumns+` FROM folders WHERE tenant_id = $1 ORDER BY id`, tenantID)
	return collect(rows, err, func(r *sql.Rows) (tenancy.Folder, error) { return scanFolder(r) })
}

// FolderUpdate implements store.Store.
func (s *DB) FolderUpdate(ctx context.Context, tenantID, id int64, fn func(tenancy.Folder) (tenancy.Folder, error)) (tenancy.Folder, error) {
	var out tenancy.Folder
	err := s.inTx(ctx, func(tx *DB) error {
		old, err := scanFolder(tx.w().QueryRowContext(ctx,
			`SELECT `+folderColumns+` FROM folders WHERE tenant_id = $1 AND id = $2`+tx.d.ForUpdate, tenantID, id))
		if err = tx.notFound(err, "folder %d", id); err != nil {
			return err
		}
		nw, err := fn(old)
		if err != nil {
			return err
		}
		if nw.DisplayName == "" || strings.Contains(nw.DisplayName, "/") {
			return fmt.Errorf("folder name %q must be non-empty and contain no '/': %w", nw.DisplayName, store.ErrInvalid)
		}
		fqn := nw.DisplayName
		if i := strings.LastIndexByte(old.FullyQualifiedName, '/'); i >= 0 {
			fqn = old.FullyQualifiedName[:i+1] + nw.DisplayName
		}
		out, err = scanFolder(tx.w().QueryRowContext(ctx,
			`UPDATE folders SET display_name = $2, fqn = $3, fqn_norm = $4, description = $5 WHERE id = $1 RETURNING `+folderColumns,
			id, nw.DisplayName, fqn, norm(fqn), nw.Description))
		if err = tx.classify(err, folderConflict(fqn)); err != nil {
			return err
		}
		if fqn == old.FullyQualifiedName {
			return nil
		}
		return tx.renameDescendants(ctx, tenantID, old.FullyQualifiedName, fqn)
	})
	return out, err
}

// renameDescendants rewrites the names of every folder below a renamed one.
func (s *DB) renameDescendants(ctx context.Context, tenantID int64, oldPrefix, newPrefix string) error {
	all, err := s.FolderList(ctx, tenantID)
	if err != nil {
		return err
	}
	for _, f := range all {
		rest, ok := strings.CutPrefix(f.FullyQualifiedName, oldPrefix+"/")
		if !ok {
			continue
		}
		fqn := newPrefix + "/" + rest
		if _, err := s.w().ExecContext(ctx, `UPDATE folders SET fqn = $2, fqn_norm = $3 WHERE id = $1`,
			f.ID, fqn, norm(fqn)); err != nil {
			return s.classify(err, folderConflict(fqn))
		}
	}
	return nil
}

// FolderDelete implements store.Store.
func (s *DB) FolderDelete(ctx context.Context, tenantID, id int64) error {
	return s.inTx(ctx, func(tx *DB) error {
		var children int
		if err := tx.w().QueryRowContext(ctx,
			`SELECT COUNT(*) FROM folders WHERE tenant_id = $1 AND parent_id = $2`, tenantID, id).Scan(&children); err != nil {
			return err
		}
		if children > 0 {
			return fmt.Errorf("folder %d still has %d subfolders; delete them first: %w", id, children, store.ErrConflict)
		}
		res, err := tx.w().ExecContext(ctx, `DELETE FROM folders WHERE tenant_id = $1 AND id = $2`, tenantID, id)
		return tx.affected(res, err, "folder %d", id)
	})
}
