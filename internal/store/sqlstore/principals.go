package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// ---- users

const userColumns = `id, key, org_id, email, name, password_hash, org_admin, basic_auth, disabled, created_at`

func scanUser(r interface{ Scan(...any) error }) (tenancy.User, error) {
	var u tenancy.User
	err := r.Scan(&u.ID, &u.Key, &u.OrgID, &u.Email, &u.Name, &u.PasswordHash, &u.OrgAdmin, &u.BasicAuth, &u.Disabled, dbTime{&u.CreatedAt})
	return u, err
}

func userConflict(email string) string {
	return fmt.Sprintf("a user with email %q already exists in this organization", email)
}

// UserCreate implements store.Store.
func (s *DB) UserCreate(ctx context.Context, p store.UserCreateParams) (tenancy.User, error) {
	u, err := scanUser(s.w().QueryRowContext(ctx,
		`INSERT INTO users (key, org_id, email, email_norm, name, password_hash, org_admin, basic_auth, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING `+userColumns,
		newKey(), p.OrgID, p.Email, norm(p.Email), p.Name, p.PasswordHash, p.OrgAdmin, p.BasicAuth, s.t(s.timestamp())))
	if s.d.IsForeignKey(err) {
		return u, fmt.Errorf("organization %d: %w", p.OrgID, store.ErrNotFound)
	}
	return u, s.classify(err, userConflict(p.Email))
}

// UserGet implements store.Store.
func (s *DB) UserGet(ctx context.Context, orgID, id int64) (tenancy.User, error) {
	u, err := scanUser(s.r().QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE org_id = $1 AND id = $2`, orgID, id))
	return u, s.notFound(err, "user %d", id)
}

// UserGetByEmail implements store.Store.
func (s *DB) UserGetByEmail(ctx context.Context, orgID int64, email string) (tenancy.User, error) {
	u, err := scanUser(s.r().QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE org_id = $1 AND email_norm = $2`, orgID, norm(email)))
	return u, s.notFound(err, "user %q", email)
}

// UserGetByKey implements store.Store.
func (s *DB) UserGetByKey(ctx context.Context, orgID int64, key string) (tenancy.User, error) {
	u, err := scanUser(s.r().QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE org_id = $1 AND key = $2`, orgID, strings.ToLower(key)))
	return u, s.notFound(err, "user with key %q", key)
}

// UserList implements store.Store.
func (s *DB) UserList(ctx context.Context, orgID int64) ([]tenancy.User, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE org_id = $1 ORDER BY id`, orgID)
	return collect(rows, err, func(r *sql.Rows) (tenancy.User, error) { return scanUser(r) })
}

// UserUpdate implements store.Store.
func (s *DB) UserUpdate(ctx context.Context, orgID, id int64, fn func(tenancy.User) (tenancy.User, error)) (tenancy.User, error) {
	var out tenancy.User
	err := s.inTx(ctx, func(tx *DB) error {
		old, err := scanUser(tx.w().QueryRowContext(ctx,
			`SELECT `+userColumns+` FROM users WHERE org_id = $1 AND id = $2`+tx.d.ForUpdate, orgID, id))
		if err = tx.notFound(err, "user %d", id); err != nil {
			return err
		}
		nw, err := fn(old)
		if err != nil {
			return err
		}
		out, err = scanUser(tx.w().QueryRowContext(ctx,
			`UPDATE users SET email = $2, email_norm = $3, name = $4, password_hash = $5, org_admin = $6, basic_auth = $7, disabled = $8
			 WHERE id = $1 RETURNING `+userColumns,
			id, nw.Email, norm(nw.Email), nw.Name, nw.PasswordHash, nw.OrgAdmin, nw.BasicAuth, nw.Disabled))
		return tx.classify(err, userConflict(nw.Email))
	})
	return out, err
}

// UserDelete implements store.Store; the user's memberships go with it.
func (s *DB) UserDelete(ctx context.Context, orgID, id int64) error {
	return s.inTx(ctx, func(tx *DB) error {
		res, err := tx.w().ExecContext(ctx, `DELETE FROM users WHERE org_id = $1 AND id = $2`, orgID, id)
		if err := tx.affected(res, err, "user %d", id); err != nil {
			return err
		}
		return tx.deleteMemberships(ctx, tenancy.Principal{Kind: tenancy.PrincipalUser, ID: id})
	})
}

func (s *DB) deleteMemberships(ctx context.Context, p tenancy.Principal) error {
	_, err := s.w().ExecContext(ctx, `DELETE FROM memberships WHERE principal_kind = $1 AND principal_id = $2`, string(p.Kind), p.ID)
	return err
}

// ---- client ids, shared by apps and machines

func clientIDConflict(clientID string) string {
	return fmt.Sprintf("client id %q is already in use in this installation", clientID)
}

// claimClientID records that clientID belongs to an app or a machine; a clash with either
// is a conflict.
func (s *DB) claimClientID(ctx context.Context, clientID string, appID, machineID int64) error {
	_, err := s.w().ExecContext(ctx, `INSERT INTO client_ids (client_id, app_id, machine_id) VALUES ($1, $2, $3)`,
		clientID, nullID(appID), nullID(machineID))
	return s.classify(err, clientIDConflict(clientID))
}

// ---- apps

const appColumns = `id, key, org_id, name, client_id, secret_hash, app_scopes, user_scopes, redirect_uris, first_party, created_at`

func scanApp(r interface{ Scan(...any) error }) (tenancy.App, error) {
	var a tenancy.App
	err := r.Scan(&a.ID, &a.Key, dbID{&a.OrgID}, &a.Name, &a.ClientID, &a.SecretHash,
		dbStrings{&a.AppScopes}, dbStrings{&a.UserScopes}, dbStrings{&a.RedirectURIs}, &a.FirstParty, dbTime{&a.CreatedAt})
	return a, err
}

func appConflict(name, clientID string) string {
	return fmt.Sprintf("app %q: its name is taken in this organization or client id %q is in use", name, clientID)
}

// AppCreate implements store.Store.
func (s *DB) AppCreate(ctx context.Context, p store.AppCreateParams) (tenancy.App, error) {
	if p.OrgID == 0 {
		return tenancy.App{}, fmt.Errorf("an app needs an organization: %w", store.ErrInvalid)
	}
	if p.Name == "" {
		p.Name = p.ClientID
	}
	var out tenancy.App
	err := s.inTx(ctx, func(tx *DB) error {
		var err error
		out, err = scanApp(tx.w().QueryRowContext(ctx,
			`INSERT INTO apps (key, org_id, name, name_norm, client_id, secret_hash, app_scopes, user_scopes, redirect_uris, created_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING `+appColumns,
			newKey(), p.OrgID, p.Name, norm(p.Name), p.ClientID, p.SecretHash,
			jsonList(p.AppScopes), jsonList(p.UserScopes), jsonList(p.RedirectURIs), tx.t(tx.timestamp())))
		if tx.d.IsForeignKey(err) {
			return fmt.Errorf("organization %d: %w", p.OrgID, store.ErrNotFound)
		}
		if err = tx.classify(err, appConflict(p.Name, p.ClientID)); err != nil {
			return err
		}
		return tx.claimClientID(ctx, p.ClientID, out.ID, 0)
	})
	return out, err
}

// AppGet implements store.Store.
func (s *DB) AppGet(ctx context.Context, orgID, id int64) (tenancy.App, error) {
	a, err := scanApp(s.r().QueryRowContext(ctx, `SELECT `+appColumns+` FROM apps WHERE org_id = $1 AND id = $2`, orgID, id))
	return a, s.notFound(err, "app %d", id)
}

// AppGetByClientID implements store.Store.
func (s *DB) AppGetByClientID(ctx context.Context, clientID string) (tenancy.App, error) {
	a, err := scanApp(s.r().QueryRowContext(ctx, `SELECT `+appColumns+` FROM apps WHERE client_id = $1`, clientID))
	return a, s.notFound(err, "app with client id %q", clientID)
}

// AppList implements store.Store.
func (s *DB) AppList(ctx context.Context, orgID int64) ([]tenancy.App, error) {
	q := `SELECT ` + appColumns + ` FROM apps WHERE org_id = $1 ORDER BY id`
	args := []any{orgID}
	if orgID == 0 {
		q, args = `SELECT `+appColumns+` FROM apps WHERE org_id IS NULL ORDER BY id`, nil
	}
	rows, err := s.r().QueryContext(ctx, q, args...)
	return collect(rows, err, func(r *sql.Rows) (tenancy.App, error) { return scanApp(r) })
}

// AppUpdate implements store.Store. The client id cannot change; first-party apps cannot be
// edited.
func (s *DB) AppUpdate(ctx context.Context, orgID, id int64, fn func(tenancy.App) (tenancy.App, error)) (tenancy.App, error) {
	var out tenancy.App
	err := s.inTx(ctx, func(tx *DB) error {
		old, err := scanApp(tx.w().QueryRowContext(ctx,
			`SELECT `+appColumns+` FROM apps WHERE org_id = $1 AND id = $2`+tx.d.ForUpdate, orgID, id))
		if err = tx.notFound(err, "app %d", id); err != nil {
			return err
		}
		nw, err := fn(old)
		if err != nil {
			return err
		}
		if nw.ClientID != old.ClientID {
			return fmt.Errorf("the client id of app %q cannot change: %w", old.Name, store.ErrInvalid)
		}
		out, err = scanApp(tx.w().QueryRowContext(ctx,
			`UPDATE apps SET name = $2, name_norm = $3, secret_hash = $4, app_scopes = $5, user_scopes = $6, redirect_uris = $7
			 WHERE id = $1 RETURNING `+appColumns,
			id, nw.Name, norm(nw.Name), nw.SecretHash, jsonList(nw.AppScopes), jsonList(nw.UserScopes), jsonList(nw.RedirectURIs)))
		return tx.classify(err, appConflict(nw.Name, nw.ClientID))
	})
	return out, err
}

// AppDelete implements store.Store; the app's memberships go with it.
func (s *DB) AppDelete(ctx context.Context, orgID, id int64) error {
	return s.inTx(ctx, func(tx *DB) error {
		res, err := tx.w().ExecContext(ctx, `DELETE FROM apps WHERE org_id = $1 AND id = $2`, orgID, id)
		if err := tx.affected(res, err, "app %d", id); err != nil {
			return err
		}
		return tx.deleteMemberships(ctx, tenancy.Principal{Kind: tenancy.PrincipalApp, ID: id})
	})
}

// ---- machines

const machineColumns = `id, key, tenant_id, name, client_id, secret_hash, slots, created_at`

func scanMachine(r interface{ Scan(...any) error }) (tenancy.Machine, error) {
	var m tenancy.Machine
	err := r.Scan(&m.ID, &m.Key, &m.TenantID, &m.Name, &m.ClientID, &m.SecretHash, &m.Slots, dbTime{&m.CreatedAt})
	return m, err
}

func machineConflict(name, clientID string) string {
	return fmt.Sprintf("machine %q: its name is taken in this tenant or client id %q is in use", name, clientID)
}

// MachineCreate implements store.Store.
func (s *DB) MachineCreate(ctx context.Context, p store.MachineCreateParams) (tenancy.Machine, error) {
	if p.Slots < 1 {
		return tenancy.Machine{}, fmt.Errorf("machine %q needs at least 1 slot (got %d): %w", p.Name, p.Slots, store.ErrInvalid)
	}
	var out tenancy.Machine
	err := s.inTx(ctx, func(tx *DB) error {
		var err error
		out, err = scanMachine(tx.w().QueryRowContext(ctx,
			`INSERT INTO machines (key, tenant_id, name, name_norm, client_id, secret_hash, slots, created_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+machineColumns,
			newKey(), p.TenantID, p.Name, norm(p.Name), p.ClientID, p.SecretHash, p.Slots, tx.t(tx.timestamp())))
		if tx.d.IsForeignKey(err) {
			return fmt.Errorf("tenant %d: %w", p.TenantID, store.ErrNotFound)
		}
		if err = tx.classify(err, machineConflict(p.Name, p.ClientID)); err != nil {
			return err
		}
		return tx.claimClientID(ctx, p.ClientID, 0, out.ID)
	})
	return out, err
}

// MachineGet implements store.Store.
func (s *DB) MachineGet(ctx context.Context, tenantID, id int64) (tenancy.Machine, error) {
	m, err := scanMachine(s.r().QueryRowContext(ctx,
		`SELECT `+machineColumns+` FROM machines WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	return m, s.notFound(err, "machine %d", id)
}

// MachineGetByName implements store.Store.
func (s *DB) MachineGetByName(ctx context.Context, tenantID int64, name string) (tenancy.Machine, error) {
	m, err := scanMachine(s.r().QueryRowContext(ctx,
		`SELECT `+machineColumns+` FROM machines WHERE tenant_id = $1 AND name_norm = $2`, tenantID, norm(name)))
	return m, s.notFound(err, "machine %q", name)
}

// MachineGetByClientID implements store.Store.
func (s *DB) MachineGetByClientID(ctx context.Context, clientID string) (tenancy.Machine, error) {
	m, err := scanMachine(s.r().QueryRowContext(ctx, `SELECT `+machineColumns+` FROM machines WHERE client_id = $1`, clientID))
	return m, s.notFound(err, "machine with client id %q", clientID)
}

// MachineList implements store.Store.
func (s *DB) MachineList(ctx context.Context, tenantID int64) ([]tenancy.Machine, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+machineColumns+` FROM machines WHERE tenant_id = $1 ORDER BY id`, tenantID)
	return collect(rows, err, func(r *sql.Rows) (tenancy.Machine, error) { return scanMachine(r) })
}

// MachineUpdate implements store.Store. The client id cannot change.
func (s *DB) MachineUpdate(ctx context.Context, tenantID, id int64, fn func(tenancy.Machine) (tenancy.Machine, error)) (tenancy.Machine, error) {
	var out tenancy.Machine
	err := s.inTx(ctx, func(tx *DB) error {
		old, err := scanMachine(tx.w().QueryRowContext(ctx,
			`SELECT `+machineColumns+` FROM machines WHERE tenant_id = $1 AND id = $2`+tx.d.ForUpdate, tenantID, id))
		if err = tx.notFound(err, "machine %d", id); err != nil {
			return err
		}
		nw, err := fn(old)
		if err != nil {
			return err
		}
		if nw.ClientID != old.ClientID {
			return fmt.Errorf("the client id of machine %q cannot change: %w", old.Name, store.ErrInvalid)
		}
		if nw.Slots < 1 {
			return fmt.Errorf("machine %q needs at least 1 slot (got %d): %w", nw.Name, nw.Slots, store.ErrInvalid)
		}
		out, err = scanMachine(tx.w().QueryRowContext(ctx,
			`UPDATE machines SET name = $2, name_norm = $3, secret_hash = $4, slots = $5 WHERE id = $1 RETURNING `+machineColumns,
			id, nw.Name, norm(nw.Name), nw.SecretHash, nw.Slots))
		return tx.classify(err, machineConflict(nw.Name, nw.ClientID))
	})
	return out, err
}

// MachineDelete implements store.Store; the machine's memberships go with it.
func (s *DB) MachineDelete(ctx context.Context, tenantID, id int64) error {
	return s.inTx(ctx, func(tx *DB) error {
		res, err := tx.w().ExecContext(ctx, `DELETE FROM machines WHERE tenant_id = $1 AND id = $2`, tenantID, id)
		if err := tx.affected(res, err, "machine %d", id); err != nil {
			return err
		}
		return tx.deleteMemberships(ctx, tenancy.Principal{Kind: tenancy.PrincipalMachine, ID: id})
	})
}
