-- One transaction cycle as the store runs it in transactions: as PostgreSQL ran every
-- cycle before taking and ending an item became single statements (queue_cycle.sql), and
-- as SQLite still does. StartTransaction: BEGIN, take the item, record the event, COMMIT
-- (4 round trips); SetTransactionResult: BEGIN, lock the item, read its queue, end it,
-- record the event, COMMIT (6 round trips). The store now reads the queue only for an
-- application exception, which may be retried.
\set tenant 1
\set queue 1
BEGIN;
UPDATE queue_items SET status = 'InProgress', start_processing = now(), holder = 'app:1', robot_key = '',
  updated_at = now(), version = version + 1
WHERE id = (SELECT id FROM queue_items
    WHERE tenant_id = :tenant AND queue_id = :queue AND status = 'New' AND (defer_date IS NULL OR defer_date <= now())
    ORDER BY pick_class, due_date, id LIMIT 1 FOR UPDATE SKIP LOCKED)
  AND status = 'New'
RETURNING id, tenant_id, folder_id, queue_id, key, unique_key, status, review_status, priority, reference,
  specific_content, output, analytics, progress, exception_type, exception_reason, exception_details, defer_date,
  due_date, risk_sla_date, start_processing, end_processing, retry_number, ancestor_id, holder, robot_key, source,
  created_at, updated_at, version
\gset item_
INSERT INTO queue_item_events (tenant_id, folder_id, queue_item_id, action, data, status, review_status, user_name,
  client_id, at)
VALUES (:tenant, :item_folder_id, :item_id, 'Started', '', 'InProgress', 'None', 'app bot', 'acme-bot', now());
COMMIT;
BEGIN;
SELECT id, tenant_id, folder_id, queue_id, key, unique_key, status, review_status, priority, reference,
  specific_content, output, analytics, progress, exception_type, exception_reason, exception_details, defer_date,
  due_date, risk_sla_date, start_processing, end_processing, retry_number, ancestor_id, holder, robot_key, source,
  created_at, updated_at, version
FROM queue_items WHERE tenant_id = :tenant AND id = :item_id FOR UPDATE;
SELECT id, key, tenant_id, folder_id, name, description, max_retries, unique_reference, auto_retry,
  retry_abandoned, specific_data_schema, sla_minutes, created_at
FROM queue_definitions WHERE tenant_id = :tenant AND id = :queue;
UPDATE queue_items SET status = 'Successful', end_processing = now(), updated_at = now(), output = '', analytics = '',
  progress = '', exception_type = '', exception_reason = '', exception_details = '', version = version + 1
WHERE id = :item_id
RETURNING id, tenant_id, folder_id, queue_id, key, unique_key, status, review_status, priority, reference,
  specific_content, output, analytics, progress, exception_type, exception_reason, exception_details, defer_date,
  due_date, risk_sla_date, start_processing, end_processing, retry_number, ancestor_id, holder, robot_key, source,
  created_at, updated_at, version;
INSERT INTO queue_item_events (tenant_id, folder_id, queue_item_id, action, data, status, review_status, user_name,
  client_id, at)
VALUES (:tenant, :item_folder_id, :item_id, 'Succeeded', '', 'Successful', 'None', 'app bot', 'acme-bot', now());
COMMIT;
