package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// ---- roles

const roleColumns = `id, tenant_id, name, type, permissions`

func scanRole(r interface{ Scan(...any) error }) (tenancy.Role, error) {
	var (
		ro    tenancy.Role
		typ   string
		perms []string
	)
	err := r.Scan(&ro.ID, dbID{&ro.TenantID}, &ro.Name, &typ, dbStrings{&perms})
	ro.Type = tenancy.RoleType(typ)
	ro.BuiltIn = ro.TenantID == 0
	for _, p := range perms {
		ro.Permissions = append(ro.Permissions, tenancy.Permission(p))
	}
	return ro, err
}

func validRoleType(t tenancy.RoleType) error {
	if t != tenancy.RoleTypeTenant && t != tenancy.RoleTypeFolder {
		return fmt.Errorf("role type %q is not Tenant or Folder: %w", t, store.ErrInvalid)
	}
	return nil
}

// roleNameFree checks a custom role name against the built-in roles and the tenant's own.
func (s *DB) roleNameFree(ctx context.Context, tenantID, exceptID int64, name string) error {
	var n int
	err := s.w().QueryRowContext(ctx,
		`SELECT COUNT(*) FROM roles WHERE name_norm = $1 AND (tenant_id IS NULL OR tenant_id = $2) AND id <> $3`,
		norm(name), tenantID, exceptID).Scan(&n)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("role name %q is taken: %w", name, store.ErrConflict)
	}
	return nil
}

// RoleCreate implements store.Store.
func (s *DB) RoleCreate(ctx context.Context, p store.RoleCreateParams) (tenancy.Role, error) {
	if err := validRoleType(p.Type); err != nil {
		return tenancy.Role{}, err
	}
	if p.TenantID == 0 {
		return tenancy.Role{}, fmt.Errorf("a custom role needs a tenant: %w", store.ErrInvalid)
	}
	var out tenancy.Role
	err := s.inTx(ctx, func(tx *DB) error {
		if err := tx.roleNameFree(ctx, p.TenantID, 0, p.Name); err != nil {
			return err
		}
		var err error
		out, err = scanRole(tx.w().QueryRowContext(ctx,
			`INSERT INTO roles (tenant_id, name, name_norm, type, permissions) VALUES ($1, $2, $3, $4, $5) RETURNING `+roleColumns,
			p.TenantID, p.Name, norm(p.Name), string(p.Type), jsonList(p.Permissions)))
		if tx.d.IsForeignKey(err) {
			return fmt.Errorf("tenant %d: %w", p.TenantID, store.ErrNotFound)
		}
		return tx.classify(err, fmt.Sprintf("role name %q is taken", p.Name))
	})
	return out, err
}

// RoleGet implements store.Store.
func (s *DB) RoleGet(ctx context.Context, tenantID, id int64) (tenancy.Role, error) {
	ro, err := scanRole(s.r().QueryRowContext(ctx,
		`SELECT `+roleColumns+` FROM roles WHERE id = $1 AND (tenant_id IS NULL OR tenant_id = $2)`, id, tenantID))
	return ro, s.notFound(err, "role %d", id)
}

// RoleGetByName implements store.Store.
func (s *DB) RoleGetByName(ctx context.Context, tenantID int64, name string) (tenancy.Role, error) {
	ro, err := scanRole(s.r().QueryRowContext(ctx,
		`SELECT `+roleColumns+` FROM roles WHERE name_norm = $1 AND (tenant_id IS NULL OR tenant_id = $2)`, norm(name), tenantID))
	return ro, s.notFound(err, "role %q", name)
}

// RoleList implements store.Store.
func (s *DB) RoleList(ctx context.Context, tenantID int64) ([]tenancy.Role, error) {
	rows, err := s.r().QueryContext(ctx,
		`SELECT `+roleColumns+` FROM roles WHERE tenant_id IS NULL OR tenant_id = $1 ORDER BY id`, tenantID)
	return collect(rows, err, func(r *sql.Rows) (tenancy.Role, error) { return scanRole(r) })
}

// RoleUpdate implements store.Store.
func (s *DB) RoleUpdate(ctx context.Context, tenantID, id int64, fn func(tenancy.Role) (tenancy.Role, error)) (tenancy.Role, error) {
	var out tenancy.Role
	err := s.inTx(ctx, func(tx *DB) error {
		old, err := scanRole(tx.w().QueryRowContext(ctx,
			`SELECT `+roleColumns+` FROM roles WHERE id = $1 AND (tenant_id IS NULL OR tenant_id = $2)`+tx.d.ForUpdate, id, tenantID))
		if err = tx.notFound(err, "role %d", id); err != nil {
			return err
		}
		if old.BuiltIn {
			return fmt.Errorf("role %q is built in and cannot be edited: %w", old.Name, store.ErrInvalid)
		}
		nw, err := fn(old)
		if err != nil {
			return err
		}
		if err := validRoleType(nw.Type); err != nil {
			return err
		}
		if err := tx.roleNameFree(ctx, tenantID, id, nw.Name); err != nil {
			return err
		}
		out, err = scanRole(tx.w().QueryRowContext(ctx,
			`UPDATE roles SET name = $2, name_norm = $3, type = $4, permissions = $5 WHERE id = $1 RETURNING `+roleColumns,
			id, nw.Name, norm(nw.Name), string(nw.Type), jsonList(nw.Permissions)))
		return tx.classify(err, fmt.Sprintf("role name %q is taken", nw.Name))
	})
	return out, err
}

// RoleDelete implements store.Store. Memberships holding the role lose it.
func (s *DB) RoleDelete(ctx context.Context, tenantID, id int64) error {
	return s.inTx(ctx, func(tx *DB) error {
		ro, err := tx.RoleGet(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if ro.BuiltIn {
			return fmt.Errorf("role %q is built in and cannot be deleted: %w", ro.Name, store.ErrInvalid)
		}
		res, err := tx.w().ExecContext(ctx, `DELETE FROM roles WHERE tenant_id = $1 AND id = $2`, tenantID, id)
		return tx.affected(res, err, "role %d", id)
	})
}

// ---- memberships

// MembershipSet implements store.Store.
func (s *DB) MembershipSet(ctx context.Context, m tenancy.Membership) error {
	return s.inTx(ctx, func(tx *DB) error {
		if m.FolderID != 0 {
			if _, err := tx.FolderGet(ctx, m.TenantID, m.FolderID); err != nil {
				return err
			}
		}
		for _, id := range m.RoleIDs {
			ro, err := tx.RoleGet(ctx, m.TenantID, id)
			if err != nil {
				return err
			}
			want := tenancy.RoleTypeTenant
			if m.FolderID != 0 {
				want = tenancy.RoleTypeFolder
			}
			if ro.Type != want {
				return fmt.Errorf("role %q is a %s role and cannot be held %s: %w", ro.Name, ro.Type, placeName(m.FolderID), store.ErrInvalid)
			}
		}
		if err := tx.principalInTenant(ctx, m.TenantID, m.Principal); err != nil {
			return err
		}
		if _, err := tx.w().ExecContext(ctx,
			`DELETE FROM memberships WHERE tenant_id = $1 AND COALESCE(folder_id, 0) = $2 AND principal_kind = $3 AND principal_id = $4`,
			m.TenantID, m.FolderID, string(m.Principal.Kind), m.Principal.ID); err != nil {
			return err
		}
		ids := slices.Clone(m.RoleIDs)
		slices.Sort(ids)
		for _, id := range slices.Compact(ids) {
			if _, err := tx.w().ExecContext(ctx,
				`INSERT INTO memberships (tenant_id, folder_id, principal_kind, principal_id, role_id) VALUES ($1, $2, $3, $4, $5)`,
				m.TenantID, nullID(m.FolderID), string(m.Principal.Kind), m.Principal.ID, id); err != nil {
				return tx.classify(err, "")
			}
		}
		return nil
	})
}

func placeName(folderID int64) string {
	if folderID == 0 {
		return "at tenant level"
	}
	return "in a folder"
}

// principalInTenant checks that the principal exists and may belong to the tenant: users
// and apps of the tenant's organization, machines of the tenant itself.
func (s *DB) principalInTenant(ctx context.Context, tenantID int64, p tenancy.Principal) error {
	var q string
	switch p.Kind {
	case tenancy.PrincipalUser:
		q = `SELECT COUNT(*) FROM users u JOIN tenants t ON t.org_id = u.org_id WHERE t.id = $1 AND u.id = $2`
	case tenancy.PrincipalApp:
		q = `SELECT COUNT(*) FROM apps a JOIN tenants t ON t.org_id = a.org_id WHERE t.id = $1 AND a.id = $2`
	case tenancy.PrincipalMachine:
		q = `SELECT COUNT(*) FROM machines WHERE tenant_id = $1 AND id = $2`
	default:
		return fmt.Errorf("principal kind %q: %w", p.Kind, store.ErrInvalid)
	}
	var n int
	if err := s.w().QueryRowContext(ctx, q, tenantID, p.ID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s in tenant %d: %w", p, tenantID, store.ErrNotFound)
	}
	return nil
}

const membershipSelect = `SELECT tenant_id, folder_id, principal_kind, principal_id, role_id FROM memberships `

// groupMemberships folds rows (one per role) into memberships, in row order.
func groupMemberships(rows *sql.Rows, err error) ([]tenancy.Membership, error) {
	type row struct {
		m    tenancy.Membership
		role int64
	}
	rs, err := collect(rows, err, func(r *sql.Rows) (row, error) {
		var x row
		var kind string
		err := r.Scan(&x.m.TenantID, dbID{&x.m.FolderID}, &kind, &x.m.Principal.ID, &x.role)
		x.m.Principal.Kind = tenancy.PrincipalKind(kind)
		return x, err
	})
	if err != nil {
		return nil, err
	}
	var out []tenancy.Membership
	for _, x := range rs {
		if n := len(out); n > 0 && out[n-1].FolderID == x.m.FolderID && out[n-1].Principal == x.m.Principal {
			out[n-1].RoleIDs = append(out[n-1].RoleIDs, x.role)
			continue
		}
		x.m.RoleIDs = []int64{x.role}
		out = append(out, x.m)
	}
	return out, nil
}

// MembershipListPrincipal implements store.Store.
func (s *DB) MembershipListPrincipal(ctx context.Context, tenantID int64, p tenancy.Principal) ([]tenancy.Membership, error) {
	rows, err := s.r().QueryContext(ctx, membershipSelect+
		`WHERE tenant_id = $1 AND principal_kind = $2 AND principal_id = $3 ORDER BY COALESCE(folder_id, 0), role_id`,
		tenantID, string(p.Kind), p.ID)
	return groupMemberships(rows, err)
}

// MembershipListFolder implements store.Store.
func (s *DB) MembershipListFolder(ctx context.Context, tenantID, folderID int64) ([]tenancy.Membership, error) {
	rows, err := s.r().QueryContext(ctx, membershipSelect+
		`WHERE tenant_id = $1 AND COALESCE(folder_id, 0) = $2 ORDER BY principal_kind, principal_id, role_id`,
		tenantID, folderID)
	return groupMemberships(rows, err)
}

// AccessGet implements store.Store.
func (s *DB) AccessGet(ctx context.Context, tenantID int64, p tenancy.Principal, orgAdmin bool) (tenancy.Access, error) {
	ms, err := s.MembershipListPrincipal(ctx, tenantID, p)
	if err != nil {
		return tenancy.Access{}, err
	}
	roles, err := s.RoleList(ctx, tenantID)
	if err != nil {
		return tenancy.Access{}, err
	}
	byID := make(map[int64]tenancy.Role, len(roles))
	for _, r := range roles {
		byID[r.ID] = r
	}
	folders, err := s.FolderList(ctx, tenantID)
	if err != nil {
		return tenancy.Access{}, err
	}
	return tenancy.NewAccess(orgAdmin, ms, byID, folders), nil
}
