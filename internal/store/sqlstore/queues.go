package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

const queueColumns = `id, key, tenant_id, folder_id, name, description, max_retries, unique_reference, created_at`

func scanQueue(r interface{ Scan(...any) error }) (tenancy.QueueDefinition, error) {
	var q tenancy.QueueDefinition
	err := r.Scan(&q.ID, &q.Key, &q.TenantID, &q.FolderID, &q.Name, &q.Description, &q.MaxNumberOfRetries,
		&q.EnforceUniqueReference, dbTime{&q.CreatedAt})
	return q, err
}

func queueConflict(name string) string {
	return fmt.Sprintf("a queue named %q already exists in this folder", name)
}

// QueueDefinitionCreate implements store.Store.
func (s *DB) QueueDefinitionCreate(ctx context.Context, p store.QueueDefinitionCreateParams) (tenancy.QueueDefinition, error) {
	var out tenancy.QueueDefinition
	err := s.inTx(ctx, func(tx *DB) error {
		if _, err := tx.FolderGet(ctx, p.TenantID, p.FolderID); err != nil {
			return err
		}
		var err error
		out, err = scanQueue(tx.w().QueryRowContext(ctx,
			`INSERT INTO queue_definitions (key, tenant_id, folder_id, name, name_norm, description, max_retries, unique_reference, created_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING `+queueColumns,
			newKey(), p.TenantID, p.FolderID, p.Name, norm(p.Name), p.Description, p.MaxNumberOfRetries, p.EnforceUniqueReference,
			tx.t(tx.timestamp())))
		return tx.classify(err, queueConflict(p.Name))
	})
	return out, err
}

// QueueDefinitionGet implements store.Store.
func (s *DB) QueueDefinitionGet(ctx context.Context, tenantID, id int64) (tenancy.QueueDefinition, error) {
	q, err := scanQueue(s.r().QueryRowContext(ctx,
		`SELECT `+queueColumns+` FROM queue_definitions WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	return q, s.notFound(err, "queue %d", id)
}

// QueueDefinitionGetByName implements store.Store.
func (s *DB) QueueDefinitionGetByName(ctx context.Context, tenantID, folderID int64, name string) (tenancy.QueueDefinition, error) {
	q, err := scanQueue(s.r().QueryRowContext(ctx,
		`SELECT `+queueColumns+` FROM queue_definitions WHERE tenant_id = $1 AND folder_id = $2 AND name_norm = $3`,
		tenantID, folderID, norm(name)))
	return q, s.notFound(err, "queue %q", name)
}

// QueueDefinitionList implements store.Store.
func (s *DB) QueueDefinitionList(ctx context.Context, tenantID, folderID int64) ([]tenancy.QueueDefinition, error) {
	rows, err := s.r().QueryContext(ctx,
		`SELECT `+queueColumns+` FROM queue_definitions WHERE tenant_id = $1 AND folder_id = $2 ORDER BY id`, tenantID, folderID)
	return collect(rows, err, func(r *sql.Rows) (tenancy.QueueDefinition, error) { return scanQueue(r) })
}

// QueueDefinitionUpdate implements store.Store. A queue stays in its folder.
func (s *DB) QueueDefinitionUpdate(ctx context.Context, tenantID, id int64, fn func(tenancy.QueueDefinition) (tenancy.QueueDefinition, error)) (tenancy.QueueDefinition, error) {
	var out tenancy.QueueDefinition
	err := s.inTx(ctx, func(tx *DB) error {
		old, err := scanQueue(tx.w().QueryRowContext(ctx,
			`SELECT `+queueColumns+` FROM queue_definitions WHERE tenant_id = $1 AND id = $2`+tx.d.ForUpdate, tenantID, id))
		if err = tx.notFound(err, "queue %d", id); err != nil {
			return err
		}
		nw, err := fn(old)
		if err != nil {
			return err
		}
		out, err = scanQueue(tx.w().QueryRowContext(ctx,
			`UPDATE queue_definitions SET name = $2, name_norm = $3, description = $4, max_retries = $5, unique_reference = $6
			 WHERE id = $1 RETURNING `+queueColumns,
			id, nw.Name, norm(nw.Name), nw.Description, nw.MaxNumberOfRetries, nw.EnforceUniqueReference))
		return tx.classify(err, queueConflict(nw.Name))
	})
	return out, err
}

// QueueDefinitionDelete implements store.Store.
func (s *DB) QueueDefinitionDelete(ctx context.Context, tenantID, id int64) error {
	res, err := s.w().ExecContext(ctx, `DELETE FROM queue_definitions WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return s.affected(res, err, "queue %d", id)
}
