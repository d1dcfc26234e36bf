package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openorch/openorch/internal/odata"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// ---- queue definitions ----

const queueColumns = `id, key, tenant_id, folder_id, name, description, max_retries, unique_reference, auto_retry,
	retry_abandoned, specific_data_schema, sla_minutes, created_at`

// queueEntity is the OData view of the QueueDefinitions entity set.
var queueEntity = odata.Entity{Set: "QueueDefinitions", Props: []odata.Prop{
	{Name: "Id", Column: "id", Type: odata.Int},
	{Name: "Key", Column: "key", Type: odata.Guid},
	{Name: "Name", Column: "name_norm", Type: odata.String, Folded: true},
	{Name: "Description", Column: "description", Type: odata.String},
	{Name: "MaxNumberOfRetries", Column: "max_retries", Type: odata.Int},
	{Name: "AcceptAutomaticallyRetry", Column: "auto_retry", Type: odata.Bool},
	{Name: "RetryAbandonedItems", Column: "retry_abandoned", Type: odata.Bool},
	{Name: "EnforceUniqueReference", Column: "unique_reference", Type: odata.Bool},
	{Name: "SlaInMinutes", Column: "sla_minutes", Type: odata.Int},
	{Name: "CreationTime", Column: "created_at", Type: odata.Time},
	{Name: "OrganizationUnitId", Column: "folder_id", Type: odata.Int},
}}

func scanQueue(r interface{ Scan(...any) error }) (tenancy.QueueDefinition, error) {
	var q tenancy.QueueDefinition
	err := r.Scan(&q.ID, &q.Key, &q.TenantID, &q.FolderID, &q.Name, &q.Description, &q.MaxNumberOfRetries,
		&q.EnforceUniqueReference, &q.AcceptAutomaticallyRetry, &q.RetryAbandonedItems, &q.SpecificDataJSONSchema,
		&q.SlaInMinutes, dbTime{&q.CreatedAt})
	return q, err
}

func queueConflict(name string) string {
	return fmt.Sprintf("a queue named %q already exists in this folder", name)
}

// QueueDefinitionCreate implements store.Store.
func (s *DB) QueueDefinitionCreate(ctx context.Context, p store.QueueDefinitionCreateParams) (tenancy.QueueDefinition, error) {
	auto := p.MaxNumberOfRetries > 0
	if p.AcceptAutomaticallyRetry != nil {
		auto = *p.AcceptAutomaticallyRetry
	}
	var out tenancy.QueueDefinition
	err := s.inTx(ctx, func(tx *DB) error {
		if _, err := tx.FolderGet(ctx, p.TenantID, p.FolderID); err != nil {
			return err
		}
		var err error
		out, err = scanQueue(tx.w().QueryRowContext(ctx,
			`INSERT INTO queue_definitions (key, tenant_id, folder_id, name, name_norm, description, max_retries, unique_reference,
				auto_retry, retry_abandoned, specific_data_schema, sla_minutes, created_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING `+queueColumns,
			newKey(), p.TenantID, p.FolderID, p.Name, norm(p.Name), p.Description, p.MaxNumberOfRetries, p.EnforceUniqueReference,
			auto, p.RetryAbandonedItems, p.SpecificDataJSONSchema, p.SlaInMinutes, tx.t(tx.timestamp())))
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

// QueueDefinitionSearch implements store.Store.
func (s *DB) QueueDefinitionSearch(ctx context.Context, p store.SearchParams) ([]tenancy.QueueDefinition, int, error) {
	return search(ctx, s, "queue_definitions", queueColumns, "folder_id", queueEntity, p,
		func(r *sql.Rows) (tenancy.QueueDefinition, error) { return scanQueue(r) })
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
			`UPDATE queue_definitions SET name = $2, name_norm = $3, description = $4, max_retries = $5, unique_reference = $6,
				auto_retry = $7, retry_abandoned = $8, specific_data_schema = $9, sla_minutes = $10
			 WHERE id = $1 RETURNING `+queueColumns,
			id, nw.Name, norm(nw.Name), nw.Description, nw.MaxNumberOfRetries, nw.EnforceUniqueReference,
			nw.AcceptAutomaticallyRetry, nw.RetryAbandonedItems, nw.SpecificDataJSONSchema, nw.SlaInMinutes))
		return tx.classify(err, queueConflict(nw.Name))
	})
	return out, err
}

// QueueDefinitionDelete implements store.Store. Items, their events and the queue's
// references go with it (ON DELETE CASCADE).
func (s *DB) QueueDefinitionDelete(ctx context.Context, tenantID, id int64) error {
	res, err := s.w().ExecContext(ctx, `DELETE FROM queue_definitions WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return s.affected(res, err, "queue %d", id)
}

// ---- queue items ----

const itemColumns = `id, tenant_id, folder_id, queue_id, key, unique_key, status, review_status, priority, reference,
	specific_content, output, analytics, progress, exception_type, exception_reason, exception_details, defer_date,
	due_date, risk_sla_date, start_processing, end_processing, retry_number, ancestor_id, holder, robot_key, source,
	created_at, updated_at, version`

func enumNames[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// itemEntity is the OData view of the QueueItems entity set. QueueDefinitionName (also
// as QueueDefinition/Name) reads the queue's name, as the Python SDK filters.
var itemEntity = odata.Entity{Set: "QueueItems", Props: []odata.Prop{
	{Name: "Id", Column: "id", Type: odata.Int},
	{Name: "Key", Column: "key", Type: odata.Guid},
	{Name: "UniqueKey", Column: "unique_key", Type: odata.Guid},
	{Name: "QueueDefinitionId", Column: "queue_id", Type: odata.Int},
	{Name: "QueueDefinitionName", Column: queueNameColumn, Type: odata.String, Folded: true},
	{Name: "QueueDefinition/Name", Column: queueNameColumn, Type: odata.String, Folded: true},
	{Name: "QueueDefinition/Id", Column: "queue_id", Type: odata.Int},
	{Name: "Status", Column: "status", Type: odata.Enum, Enum: enumNames(store.QueueItemStatuses)},
	{Name: "ReviewStatus", Column: "review_status", Type: odata.Enum, Enum: enumNames(store.QueueReviewStatuses)},
	{Name: "Priority", Column: "priority", Type: odata.Enum, Enum: enumNames(store.QueuePriorities)},
	{Name: "ProcessingExceptionType", Column: "NULLIF(exception_type, '')", Type: odata.Enum, Enum: enumNames(store.QueueExceptionTypes)},
	{Name: "Reference", Column: "reference_norm", Type: odata.String, Folded: true},
	{Name: "Progress", Column: "progress", Type: odata.String},
	{Name: "SpecificData", Column: "specific_content", Type: odata.String, NoSort: true},
	{Name: "SpecificContent", Column: "specific_content", Type: odata.String, NoFilter: true, NoSort: true},
	{Name: "OutputData", Column: "output", Type: odata.String, NoSort: true},
	{Name: "CreationTime", Column: "created_at", Type: odata.Time},
	{Name: "DeferDate", Column: "defer_date", Type: odata.Time},
	{Name: "DueDate", Column: "due_date", Type: odata.Time},
	{Name: "RiskSlaDate", Column: "risk_sla_date", Type: odata.Time},
	{Name: "StartProcessing", Column: "start_processing", Type: odata.Time},
	{Name: "EndProcessing", Column: "end_processing", Type: odata.Time},
	{Name: "RetryNumber", Column: "retry_number", Type: odata.Int},
	{Name: "AncestorId", Column: "ancestor_id", Type: odata.Int},
	{Name: "OrganizationUnitId", Column: "folder_id", Type: odata.Int},
}}

const queueNameColumn = `(SELECT qd.name_norm FROM queue_definitions qd WHERE qd.id = queue_items.queue_id)`

// eventEntity is the OData view of the QueueItemEvents entity set.
var eventEntity = odata.Entity{Set: "QueueItemEvents", Props: []odata.Prop{
	{Name: "Id", Column: "id", Type: odata.Int},
	{Name: "QueueItemId", Column: "queue_item_id", Type: odata.Int},
	{Name: "Timestamp", Column: "at", Type: odata.Time},
	{Name: "Action", Column: "action", Type: odata.String},
	{Name: "Data", Column: "data", Type: odata.String},
	{Name: "UserName", Column: "user_name", Type: odata.String},
	{Name: "ExternalClientId", Column: "client_id", Type: odata.String},
	{Name: "Status", Column: "status", Type: odata.Enum, Enum: enumNames(store.QueueItemStatuses)},
	{Name: "ReviewStatus", Column: "review_status", Type: odata.Enum, Enum: enumNames(store.QueueReviewStatuses)},
	{Name: "OrganizationUnitId", Column: "folder_id", Type: odata.Int},
}}

const eventColumns = `id, tenant_id, folder_id, queue_item_id, action, data, status, review_status, user_name, client_id, at`

func scanItem(r interface{ Scan(...any) error }) (store.QueueItem, error) {
	var (
		it                     store.QueueItem
		exType, exReason, exDt string
	)
	err := r.Scan(&it.ID, &it.TenantID, &it.FolderID, &it.QueueID, &it.Key, &it.UniqueKey, &it.Status, &it.ReviewStatus,
		&it.Priority, &it.Reference, &it.SpecificContent, &it.Output, &it.Analytics, &it.Progress, &exType, &exReason, &exDt,
		dbNullTime{&it.DeferDate}, dbNullTime{&it.DueDate}, dbNullTime{&it.RiskSLADate}, dbNullTime{&it.StartProcessing},
		dbNullTime{&it.EndProcessing}, &it.RetryNumber, dbID{&it.AncestorID}, &it.Holder, &it.RobotKey, &it.Source,
		dbTime{&it.CreatedAt}, dbTime{&it.UpdatedAt}, &it.Version)
	if exType != "" {
		it.Exception = &store.QueueItemException{Type: store.QueueExceptionType(exType), Reason: exReason, Details: exDt}
	}
	return it, err
}

func scanEvent(r interface{ Scan(...any) error }) (store.QueueItemEvent, error) {
	var e store.QueueItemEvent
	err := r.Scan(&e.ID, &e.TenantID, &e.FolderID, &e.QueueItemID, &e.Action, &e.Data, &e.Status, &e.ReviewStatus,
		&e.UserName, &e.ClientID, dbTime{&e.At})
	return e, err
}

// pickClass is the rank of an item's class in the order items are taken (see
// queue_items.pick_class in the migration): deadline first, then priority.
func pickClass(p store.QueuePriority, due *time.Time) int {
	c := slices.Index(store.QueuePriorities, p)
	if c < 0 {
		c = 1
	}
	if due == nil {
		c += len(store.QueuePriorities)
	}
	return c
}

// at returns t as stored, or the store's clock when t is zero.
func (s *DB) at(t time.Time) time.Time {
	if t.IsZero() {
		return s.timestamp()
	}
	return t.UTC().Truncate(time.Microsecond)
}

// eventDataMax bounds the text an event keeps of what the change carried (a progress
// message, a failure reason): the item itself keeps all of it.
const eventDataMax = 1000

func clip(s string) string {
	if len(s) <= eventDataMax {
		return s
	}
	cut := eventDataMax
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// event records a change of it in its history.
func (s *DB) event(ctx context.Context, it store.QueueItem, action, data string, a store.QueueActor, at time.Time) error {
	_, err := s.w().ExecContext(ctx,
		`INSERT INTO queue_item_events (tenant_id, folder_id, queue_item_id, action, data, status, review_status, user_name, client_id, at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		it.TenantID, it.FolderID, it.ID, action, clip(data), string(it.Status), string(it.ReviewStatus), a.Name, a.ClientID, s.t(at))
	return err
}

// notifyQueue tells the other nodes, when the transaction commits, that queue id has
// items to take.
func (s *DB) notifyQueue(ctx context.Context, queueID int64) error {
	if s.d.Notify == "" {
		return nil
	}
	_, err := s.w().ExecContext(ctx, s.d.Notify, store.QueueNotifyChannel, strconv.FormatInt(queueID, 10))
	return err
}

// newItem is what addItem needs beyond the caller's data.
type newItem struct {
	start       bool // InProgress at once, held by the actor
	robotKey    string
	key         string // a retry's: its ancestor's Key
	retryNumber int
	ancestorID  int64
}

// addItem inserts an item into q (inside a transaction) with its first event. A reference
// taken in a queue with unique references is *store.DuplicateReferenceError; retries are
// exempt.
func (s *DB) addItem(ctx context.Context, q tenancy.QueueDefinition, d store.QueueItemData, a store.QueueActor, now time.Time, n newItem) (store.QueueItem, error) {
	if d.Priority == "" {
		d.Priority = store.QueuePriorityNormal
	}
	key := n.key
	if key == "" {
		key = newKey()
	}
	if q.EnforceUniqueReference && d.Reference != "" && n.ancestorID == 0 {
		if err := s.takeReference(ctx, q, d.Reference, key); err != nil {
			return store.QueueItem{}, err
		}
	}
	status, holder, robot := store.QueueItemNew, "", ""
	var started any
	if n.start {
		status, holder, robot, started = store.QueueItemInProgress, a.Principal, n.robotKey, s.t(now)
	}
	it, err := scanItem(s.w().QueryRowContext(ctx,
		`INSERT INTO queue_items (key, unique_key, tenant_id, folder_id, queue_id, status, priority, pick_class, reference,
			reference_norm, specific_content, progress, defer_date, due_date, risk_sla_date, start_processing, retry_number,
			ancestor_id, holder, robot_key, source, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $22)
		 RETURNING `+itemColumns,
		key, newKey(), q.TenantID, q.FolderID, q.ID, string(status), string(d.Priority), pickClass(d.Priority, d.DueDate),
		d.Reference, norm(d.Reference), d.SpecificContent, d.Progress, s.nt(d.DeferDate), s.nt(d.DueDate), s.nt(d.RiskSLADate),
		started, n.retryNumber, nullID(n.ancestorID), holder, robot, d.Source, s.t(now)))
	if err != nil {
		return store.QueueItem{}, s.classify(err, "")
	}
	data := ""
	if n.ancestorID != 0 {
		data = fmt.Sprintf("retry %d of item %d", n.retryNumber, n.ancestorID)
	}
	return it, s.event(ctx, it, "Created", data, a, now)
}

// takeReference records that q's reference ref belongs to the items of Key key; when it
// is taken already it returns *store.DuplicateReferenceError naming the item that holds it.
func (s *DB) takeReference(ctx context.Context, q tenancy.QueueDefinition, ref, key string) error {
	res, err := s.w().ExecContext(ctx,
		`INSERT INTO queue_references (queue_id, reference_norm, item_key) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		q.ID, norm(ref), key)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	dup := &store.DuplicateReferenceError{Queue: q.Name, Reference: ref}
	if err := s.w().QueryRowContext(ctx, `SELECT item_key FROM queue_references WHERE queue_id = $1 AND reference_norm = $2`,
		q.ID, norm(ref)).Scan(&dup.Key); err != nil {
		return err
	}
	var status string
	err = s.w().QueryRowContext(ctx, `SELECT id, status FROM queue_items WHERE queue_id = $1 AND key = $2 ORDER BY id DESC LIMIT 1`,
		q.ID, dup.Key).Scan(&dup.ItemID, &status)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	dup.Status = store.QueueItemStatus(status)
	return dup
}

// QueueItemAdd implements store.Store.
func (s *DB) QueueItemAdd(ctx context.Context, p store.QueueItemAddParams) (store.QueueItem, error) {
	now := s.at(p.Now)
	var out store.QueueItem
	err := s.inTx(ctx, func(tx *DB) error {
		q, err := tx.QueueDefinitionGet(ctx, p.TenantID, p.QueueID)
		if err != nil {
			return err
		}
		out, err = tx.addItem(ctx, q, p.Data, p.Actor, now, newItem{start: p.Start, robotKey: p.RobotKey})
		if err != nil || p.Start {
			return err
		}
		return tx.notifyQueue(ctx, q.ID)
	})
	return out, err
}

// QueueItemAddBulk implements store.Store.
func (s *DB) QueueItemAddBulk(ctx context.Context, p store.QueueItemAddBulkParams) (store.QueueItemBulkResult, error) {
	now := s.at(p.Now)
	var res store.QueueItemBulkResult
	err := s.inTx(ctx, func(tx *DB) error {
		res = store.QueueItemBulkResult{Stopped: -1}
		q, err := tx.QueueDefinitionGet(ctx, p.TenantID, p.QueueID)
		if err != nil {
			return err
		}
		for i, d := range p.Items {
			ordinal := i
			if p.Ordinals != nil {
				ordinal = p.Ordinals[i]
			}
			it, err := tx.addItem(ctx, q, d, p.Actor, now, newItem{})
			if dup, ok := store.AsDuplicateReference(err); ok {
				res.Failed = append(res.Failed, store.QueueItemFailure{Ordinal: ordinal, Code: "DuplicateReference", Message: dup.Error(), Err: dup})
				if p.Commit == store.QueueStopOnFirstFailure {
					res.Stopped = ordinal
					break
				}
				continue
			} else if err != nil {
				return err
			}
			res.Added = append(res.Added, it)
		}
		if len(res.Failed) > 0 && p.Commit == store.QueueAllOrNothing {
			res.Added = nil
			return store.ErrNothingAdded
		}
		if len(res.Added) == 0 {
			return nil
		}
		return tx.notifyQueue(ctx, q.ID)
	})
	return res, err
}

// eventInsert is the INSERT of event() for the single statements of the WritingCTE
// dialects: for every item row the CTE from returns, it records the action, data, user,
// client and time found in the parameters of those numbers.
func eventInsert(from string, action, data, user, client, at int) string {
	return fmt.Sprintf(`INSERT INTO queue_item_events (tenant_id, folder_id, queue_item_id, action, data, status, review_status, user_name, client_id, at)
		SELECT tenant_id, folder_id, id, $%d, $%d, status, review_status, $%d, $%d, $%d FROM %s`, action, data, user, client, at, from)
}

// QueueItemStart implements store.Store. On PostgreSQL the inner SELECT locks the row it
// picks and skips rows other callers have locked; a row another caller took and committed
// meanwhile no longer matches status = 'New' when it is re-checked under the lock. On
// SQLite the statement runs on the single writer connection, alone.
//
// With a WritingCTE dialect the change and its event are one statement, which is atomic
// on its own: the item is taken with its history or not at all.
func (s *DB) QueueItemStart(ctx context.Context, p store.QueueItemStartParams) (store.QueueItem, bool, error) {
	now := s.at(p.Now)
	args := []any{p.TenantID, p.QueueID, s.t(now), p.Actor.Principal, p.RobotKey}
	refCond := ""
	if p.Reference != "" {
		if p.ReferenceStartsWith {
			args = append(args, escapeLike(norm(p.Reference))+"%")
			refCond = ` AND reference_norm LIKE $6 ESCAPE '\'`
		} else {
			args = append(args, norm(p.Reference))
			refCond = ` AND reference_norm = $6`
		}
	}
	take := `UPDATE queue_items SET status = 'InProgress', start_processing = $3, holder = $4, robot_key = $5, updated_at = $3,
			version = version + 1
		 WHERE id = (SELECT id FROM queue_items
			WHERE tenant_id = $1 AND queue_id = $2 AND status = 'New' AND (defer_date IS NULL OR defer_date <= $3)` + refCond + `
			ORDER BY pick_class, due_date, id LIMIT 1` + s.d.SkipLocked + `)
		   AND status = 'New'
		 RETURNING ` + itemColumns
	if s.d.WritingCTE {
		n := len(args)
		args = append(args, "Started", clip(p.RobotKey), p.Actor.Name, p.Actor.ClientID)
		out, err := scanItem(s.w().QueryRowContext(ctx,
			`WITH taken AS (`+take+`), started AS (`+eventInsert("taken", n+1, n+2, n+3, n+4, 3)+`)
			 SELECT `+itemColumns+` FROM taken`, args...))
		if errors.Is(err, sql.ErrNoRows) {
			return out, false, nil
		}
		return out, err == nil, err
	}
	var (
		out store.QueueItem
		ok  bool
	)
	err := s.inTx(ctx, func(tx *DB) error {
		var err error
		out, err = scanItem(tx.w().QueryRowContext(ctx, take, args...))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		ok = true
		return tx.event(ctx, out, "Started", p.RobotKey, p.Actor, now)
	})
	return out, ok, err
}

// escapeLike escapes the LIKE wildcards of s for ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// lockItem reads an item for a change inside a transaction, locking its row on PostgreSQL.
func (s *DB) lockItem(ctx context.Context, tenantID, id int64) (store.QueueItem, error) {
	it, err := scanItem(s.w().QueryRowContext(ctx,
		`SELECT `+itemColumns+` FROM queue_items WHERE tenant_id = $1 AND id = $2`+s.d.ForUpdate, tenantID, id))
	return it, s.notFound(err, "queue item %d", id)
}

// held checks that it is InProgress and held by a.
func held(it store.QueueItem, a store.QueueActor, doing string) error {
	if it.Status != store.QueueItemInProgress {
		return &store.QueueItemStateError{Item: it, Reason: fmt.Sprintf("queue item %d is %s, not InProgress: %s only applies to a transaction that was started and has not ended",
			it.ID, it.Status, doing)}
	}
	if it.Holder != a.Principal {
		return &store.QueueItemStateError{Item: it, Reason: fmt.Sprintf("queue item %d is InProgress for another caller (%s): only the caller that started the transaction may call %s",
			it.ID, it.Holder, doing)}
	}
	return nil
}

// QueueItemSetProgress implements store.Store.
func (s *DB) QueueItemSetProgress(ctx context.Context, p store.QueueItemProgressParams) (store.QueueItem, error) {
	now := s.at(p.Now)
	var out store.QueueItem
	err := s.inTx(ctx, func(tx *DB) error {
		it, err := tx.lockItem(ctx, p.TenantID, p.ItemID)
		if err != nil {
			return err
		}
		if err := held(it, p.Actor, "SetTransactionProgress"); err != nil {
			return err
		}
		out, err = scanItem(tx.w().QueryRowContext(ctx,
			`UPDATE queue_items SET progress = $2, updated_at = $3, version = version + 1 WHERE id = $1 RETURNING `+itemColumns,
			it.ID, p.Progress, tx.t(now)))
		if err != nil {
			return err
		}
		return tx.event(ctx, out, "Progress", p.Progress, p.Actor, now)
	})
	return out, err
}

// QueueItemSetResult implements store.Store.
//
// With a WritingCTE dialect, an outcome that is never retried (success, business
// exception) is first tried as one statement that ends the item only if it is InProgress
// and held by the caller; the row's lock makes concurrent calls wait and re-check that
// condition, so exactly one of them ends it. When that statement changes nothing — the
// item is missing, not held by the caller, already ended — the transaction below runs and
// says why.
func (s *DB) QueueItemSetResult(ctx context.Context, p store.QueueItemResultParams) (store.QueueItemResult, error) {
	now := s.at(p.Now)
	status, action, data := store.QueueItemSuccessful, "Succeeded", ""
	var ex store.QueueItemException
	if !p.Success {
		ex = store.QueueItemException{Type: store.QueueApplicationException}
		if p.Exception != nil {
			ex = *p.Exception
			if ex.Type == "" {
				ex.Type = store.QueueApplicationException
			}
		}
		status, action, data = store.QueueItemFailed, "Failed", string(ex.Type)+": "+ex.Reason
	}
	if s.d.WritingCTE && ex.Type != store.QueueApplicationException {
		args := []any{p.TenantID, p.ItemID, p.Actor.Principal, string(status), s.t(now), p.Output, p.Analytics, p.Progress,
			string(ex.Type), ex.Reason, ex.Details, action, clip(data), p.Actor.Name, p.Actor.ClientID}
		folderCond := ""
		if p.FolderID != 0 {
			args = append(args, p.FolderID)
			folderCond = ` AND folder_id = $16`
		}
		it, err := scanItem(s.w().QueryRowContext(ctx,
			`WITH ended AS (
				UPDATE queue_items SET status = $4, end_processing = $5, updated_at = $5, output = $6, analytics = $7,
					progress = COALESCE($8, progress), exception_type = $9, exception_reason = $10, exception_details = $11,
					version = version + 1
				WHERE tenant_id = $1 AND id = $2 AND status = 'InProgress' AND holder = $3`+folderCond+`
				RETURNING `+itemColumns+`
			), recorded AS (`+eventInsert("ended", 12, 13, 14, 15, 5)+`)
			SELECT `+itemColumns+` FROM ended`, args...))
		if err == nil {
			return store.QueueItemResult{Item: it}, nil
		} else if !errors.Is(err, sql.ErrNoRows) {
			return store.QueueItemResult{}, err
		}
	}
	var out store.QueueItemResult
	err := s.inTx(ctx, func(tx *DB) error {
		it, err := tx.lockItem(ctx, p.TenantID, p.ItemID)
		if err == nil && p.FolderID != 0 && it.FolderID != p.FolderID {
			err = tx.notFound(sql.ErrNoRows, "queue item %d in folder %d", p.ItemID, p.FolderID)
		}
		if err != nil {
			return err
		}
		if err := held(it, p.Actor, "SetTransactionResult"); err != nil {
			return err
		}
		// Only an application exception may be retried; the queue says whether it is.
		var q tenancy.QueueDefinition
		retry := false
		if ex.Type == store.QueueApplicationException {
			if q, err = tx.QueueDefinitionGet(ctx, p.TenantID, it.QueueID); err != nil {
				return err
			}
			retry = q.AcceptAutomaticallyRetry && it.RetryNumber < q.MaxNumberOfRetries
		}
		ended := status
		if retry {
			ended = store.QueueItemRetried
		}
		progress := it.Progress
		if p.Progress != nil {
			progress = *p.Progress
		}
		out.Item, err = scanItem(tx.w().QueryRowContext(ctx,
			`UPDATE queue_items SET status = $2, end_processing = $3, updated_at = $3, output = $4, analytics = $5, progress = $6,
				exception_type = $7, exception_reason = $8, exception_details = $9, version = version + 1
			 WHERE id = $1 RETURNING `+itemColumns,
			it.ID, string(ended), tx.t(now), p.Output, p.Analytics, progress, string(ex.Type), ex.Reason, ex.Details))
		if err != nil {
			return err
		}
		if err := tx.event(ctx, out.Item, action, data, p.Actor, now); err != nil {
			return err
		}
		if !retry {
			return nil
		}
		d := itemData(it)
		if p.DeferDate != nil {
			d.DeferDate = p.DeferDate
		}
		if p.DueDate != nil {
			d.DueDate = p.DueDate
		}
		r, err := tx.addItem(ctx, q, d, p.Actor, now, newItem{key: it.Key, retryNumber: it.RetryNumber + 1, ancestorID: it.ID})
		if err != nil {
			return err
		}
		out.Retry = &r
		return tx.notifyQueue(ctx, q.ID)
	})
	return out, err
}

// itemData is what a retry of it starts from.
func itemData(it store.QueueItem) store.QueueItemData {
	return store.QueueItemData{Priority: it.Priority, Reference: it.Reference, SpecificContent: it.SpecificContent,
		Progress: it.Progress, DeferDate: it.DeferDate, DueDate: it.DueDate, RiskSLADate: it.RiskSLADate, Source: it.Source}
}

// QueueItemGet implements store.Store.
func (s *DB) QueueItemGet(ctx context.Context, tenantID, id int64) (store.QueueItem, error) {
	it, err := scanItem(s.r().QueryRowContext(ctx,
		`SELECT `+itemColumns+` FROM queue_items WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	return it, s.notFound(err, "queue item %d", id)
}

// QueueItemSearch implements store.Store.
func (s *DB) QueueItemSearch(ctx context.Context, p store.SearchParams) ([]store.QueueItem, int, error) {
	return search(ctx, s, "queue_items", itemColumns, "folder_id", itemEntity, p,
		func(r *sql.Rows) (store.QueueItem, error) { return scanItem(r) })
}

// QueueItemUpdate implements store.Store.
func (s *DB) QueueItemUpdate(ctx context.Context, p store.QueueItemUpdateParams, fn func(store.QueueItem) (store.QueueItem, error)) (store.QueueItem, error) {
	now := s.at(p.Now)
	var out store.QueueItem
	err := s.inTx(ctx, func(tx *DB) error {
		old, err := tx.lockItem(ctx, p.TenantID, p.ItemID)
		if err != nil {
			return err
		}
		if old.Status != store.QueueItemNew {
			return &store.QueueItemStateError{Item: old, Reason: fmt.Sprintf("queue item %d is %s: only New items can be edited", old.ID, old.Status)}
		}
		nw, err := fn(old)
		if err != nil {
			return err
		}
		if nw.Priority == "" {
			nw.Priority = store.QueuePriorityNormal
		}
		if norm(nw.Reference) != norm(old.Reference) && nw.Reference != "" {
			q, err := tx.QueueDefinitionGet(ctx, p.TenantID, old.QueueID)
			if err != nil {
				return err
			}
			if q.EnforceUniqueReference && old.AncestorID == 0 {
				if err := tx.takeReference(ctx, q, nw.Reference, old.Key); err != nil {
					return err
				}
			}
		}
		out, err = scanItem(tx.w().QueryRowContext(ctx,
			`UPDATE queue_items SET priority = $2, pick_class = $3, reference = $4, reference_norm = $5, specific_content = $6,
				progress = $7, defer_date = $8, due_date = $9, risk_sla_date = $10, updated_at = $11, version = version + 1
			 WHERE id = $1 RETURNING `+itemColumns,
			old.ID, string(nw.Priority), pickClass(nw.Priority, nw.DueDate), nw.Reference, norm(nw.Reference), nw.SpecificContent,
			nw.Progress, tx.nt(nw.DeferDate), tx.nt(nw.DueDate), tx.nt(nw.RiskSLADate), tx.t(now)))
		if err != nil {
			return err
		}
		if err := tx.event(ctx, out, "Edited", "", p.Actor, now); err != nil {
			return err
		}
		return tx.notifyQueue(ctx, out.QueueID)
	})
	return out, err
}

// bulkItems applies change to each item of p in one transaction; an item change refuses
// (a reason) is left as it is and listed.
func (s *DB) bulkItems(ctx context.Context, p store.QueueItemBulkParams, change func(tx *DB, it store.QueueItem, now time.Time) (store.QueueItem, string, error)) (store.QueueItemBulkIDsResult, error) {
	now := s.at(p.Now)
	var res store.QueueItemBulkIDsResult
	err := s.inTx(ctx, func(tx *DB) error {
		res = store.QueueItemBulkIDsResult{}
		for _, id := range p.ItemIDs {
			it, err := tx.lockItem(ctx, p.TenantID, id)
			if errors.Is(err, store.ErrNotFound) || err == nil && p.FolderIDs != nil && !slices.Contains(p.FolderIDs, it.FolderID) {
				res.Failed = append(res.Failed, store.QueueItemIDFailure{ID: id, Reason: fmt.Sprintf("queue item %d does not exist or is in a folder you may not change", id)})
				continue
			} else if err != nil {
				return err
			}
			changed, reason, err := change(tx, it, now)
			if err != nil {
				return err
			}
			if reason != "" {
				res.Failed = append(res.Failed, store.QueueItemIDFailure{ID: id, Reason: reason})
				continue
			}
			res.Changed = append(res.Changed, changed)
		}
		return nil
	})
	return res, err
}

// QueueItemDelete implements store.Store.
func (s *DB) QueueItemDelete(ctx context.Context, p store.QueueItemBulkParams) (store.QueueItemBulkIDsResult, error) {
	return s.bulkItems(ctx, p, func(tx *DB, it store.QueueItem, now time.Time) (store.QueueItem, string, error) {
		switch it.Status {
		case store.QueueItemNew, store.QueueItemFailed, store.QueueItemAbandoned:
		case store.QueueItemInProgress:
			return it, fmt.Sprintf("queue item %d is InProgress: a robot is working on it; delete it after its transaction ends", it.ID), nil
		default:
			return it, fmt.Sprintf("queue item %d is %s: only New, Failed and Abandoned items can be deleted", it.ID, it.Status), nil
		}
		out, err := scanItem(tx.w().QueryRowContext(ctx,
			`UPDATE queue_items SET status = 'Deleted', updated_at = $2, version = version + 1 WHERE id = $1 RETURNING `+itemColumns,
			it.ID, tx.t(now)))
		if err != nil {
			return out, "", err
		}
		return out, "", tx.event(ctx, out, "Deleted", "", p.Actor, now)
	})
}

// QueueItemSetReviewStatus implements store.Store.
func (s *DB) QueueItemSetReviewStatus(ctx context.Context, p store.QueueItemBulkParams, status store.QueueReviewStatus) (store.QueueItemBulkIDsResult, error) {
	return s.bulkItems(ctx, p, func(tx *DB, it store.QueueItem, now time.Time) (store.QueueItem, string, error) {
		if it.Status != store.QueueItemFailed && it.Status != store.QueueItemAbandoned {
			return it, fmt.Sprintf("queue item %d is %s: only Failed and Abandoned items are reviewed", it.ID, it.Status), nil
		}
		out, err := scanItem(tx.w().QueryRowContext(ctx,
			`UPDATE queue_items SET review_status = $2, updated_at = $3, version = version + 1 WHERE id = $1 RETURNING `+itemColumns,
			it.ID, string(status), tx.t(now)))
		if err != nil {
			return out, "", err
		}
		return out, "", tx.event(ctx, out, "ReviewStatusChanged", string(status), p.Actor, now)
	})
}

// QueueItemHistory implements store.Store.
func (s *DB) QueueItemHistory(ctx context.Context, tenantID, id int64) ([]store.QueueItem, error) {
	it, err := s.QueueItemGet(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	rows, err := s.r().QueryContext(ctx,
		`SELECT `+itemColumns+` FROM queue_items WHERE tenant_id = $1 AND queue_id = $2 AND key = $3 ORDER BY id`,
		tenantID, it.QueueID, it.Key)
	return collect(rows, err, func(r *sql.Rows) (store.QueueItem, error) { return scanItem(r) })
}

// QueueItemEventSearch implements store.Store.
func (s *DB) QueueItemEventSearch(ctx context.Context, p store.SearchParams) ([]store.QueueItemEvent, int, error) {
	return search(ctx, s, "queue_item_events", eventColumns, "folder_id", eventEntity, p,
		func(r *sql.Rows) (store.QueueItemEvent, error) { return scanEvent(r) })
}

// QueueItemEventList implements store.Store.
func (s *DB) QueueItemEventList(ctx context.Context, tenantID, id int64) ([]store.QueueItemEvent, error) {
	it, err := s.QueueItemGet(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	rows, err := s.r().QueryContext(ctx,
		`SELECT `+eventColumns+` FROM queue_item_events WHERE tenant_id = $1 AND queue_item_id IN
			(SELECT id FROM queue_items WHERE tenant_id = $1 AND queue_id = $2 AND key = $3) ORDER BY id`,
		tenantID, it.QueueID, it.Key)
	return collect(rows, err, func(r *sql.Rows) (store.QueueItemEvent, error) { return scanEvent(r) })
}

// QueueItemCounts implements store.Store.
func (s *DB) QueueItemCounts(ctx context.Context, tenantID, folderID int64) ([]store.QueueItemCount, error) {
	q := `SELECT qd.tenant_id, qd.folder_id, qd.id, qd.name, i.status, COUNT(*)
		FROM queue_definitions qd JOIN queue_items i ON i.queue_id = qd.id`
	var conds []string
	var args []any
	if tenantID != 0 {
		args = append(args, tenantID)
		conds = append(conds, fmt.Sprintf("qd.tenant_id = $%d", len(args)))
	}
	if folderID != 0 {
		args = append(args, folderID)
		conds = append(conds, fmt.Sprintf("qd.folder_id = $%d", len(args)))
	}
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += " GROUP BY qd.tenant_id, qd.folder_id, qd.id, qd.name, i.status ORDER BY qd.id, i.status"
	rows, err := s.r().QueryContext(ctx, q, args...)
	return collect(rows, err, func(r *sql.Rows) (store.QueueItemCount, error) {
		var c store.QueueItemCount
		err := r.Scan(&c.TenantID, &c.FolderID, &c.QueueID, &c.Queue, &c.Status, &c.Count)
		return c, err
	})
}

// sweeperActor is who the sweep's changes are recorded as.
var sweeperActor = store.QueueActor{Name: "OpenOrch (queue sweeper)"}

// QueueSweep implements store.Store. The "queue-sweeper" lock keeps sweeps of several
// nodes apart; on PostgreSQL, items whose holder is ending them right now (row locked)
// are skipped and looked at again by the next sweep.
func (s *DB) QueueSweep(ctx context.Context, p store.QueueSweepParams) (store.QueueSweepResult, error) {
	now := s.at(p.Now)
	limit := p.PurgeLimit
	if limit <= 0 {
		limit = 1000
	}
	var res store.QueueSweepResult
	err := s.inTx(ctx, func(tx *DB) error {
		res = store.QueueSweepResult{}
		if err := tx.Lock(ctx, "queue-sweeper"); err != nil {
			return err
		}
		if !p.AbandonBefore.IsZero() {
			if err := tx.abandon(ctx, p.AbandonBefore, now, &res); err != nil {
				return err
			}
		}
		if !p.PurgeBefore.IsZero() {
			r, err := tx.w().ExecContext(ctx,
				`DELETE FROM queue_items WHERE id IN (SELECT id FROM queue_items
					WHERE status IN ('Failed', 'Successful', 'Abandoned', 'Retried', 'Deleted') AND updated_at < $1
					ORDER BY updated_at LIMIT $2)`, tx.t(p.PurgeBefore), limit)
			if err != nil {
				return err
			}
			n, err := r.RowsAffected()
			res.Purged = int(n)
			return err
		}
		return nil
	})
	return res, err
}

// abandon makes the items InProgress since before `before` Abandoned, in batches, and
// retries them where their queue says so.
func (s *DB) abandon(ctx context.Context, before, now time.Time, res *store.QueueSweepResult) error {
	queues := map[int64]tenancy.QueueDefinition{}
	for {
		rows, err := s.w().QueryContext(ctx,
			`SELECT `+itemColumns+` FROM queue_items WHERE status = 'InProgress' AND start_processing < $1 ORDER BY id LIMIT 500`+s.d.SkipLocked,
			s.t(before))
		stale, err := collect(rows, err, func(r *sql.Rows) (store.QueueItem, error) { return scanItem(r) })
		if err != nil || len(stale) == 0 {
			return err
		}
		for _, it := range stale {
			q, ok := queues[it.QueueID]
			if !ok {
				if q, err = s.QueueDefinitionGet(ctx, it.TenantID, it.QueueID); err != nil {
					return err
				}
				queues[q.ID] = q
			}
			out, err := scanItem(s.w().QueryRowContext(ctx,
				`UPDATE queue_items SET status = 'Abandoned', end_processing = $2, updated_at = $2, version = version + 1
				 WHERE id = $1 RETURNING `+itemColumns, it.ID, s.t(now)))
			if err != nil {
				return err
			}
			res.Abandoned++
			data := fmt.Sprintf("InProgress since %s without a result", it.StartProcessing.Format(time.RFC3339))
			if err := s.event(ctx, out, "Abandoned", data, sweeperActor, now); err != nil {
				return err
			}
			if !q.RetryAbandonedItems || it.RetryNumber >= q.MaxNumberOfRetries {
				continue
			}
			if _, err := s.addItem(ctx, q, itemData(it), sweeperActor, now,
				newItem{key: it.Key, retryNumber: it.RetryNumber + 1, ancestorID: it.ID}); err != nil {
				return err
			}
			res.Retried++
			if !slices.Contains(res.Queues, q.ID) {
				res.Queues = append(res.Queues, q.ID)
				if err := s.notifyQueue(ctx, q.ID); err != nil {
					return err
				}
			}
		}
		if len(stale) < 500 {
			return nil
		}
	}
}
