-- One transaction cycle as the PostgreSQL store runs it: StartTransaction
-- (sqlstore.QueueItemStart), then a successful SetTransactionResult
-- (sqlstore.QueueItemSetResult), each one statement in autocommit, one round trip each.
-- Where the store passes the caller, the event's action or the time as parameters, this
-- script writes literals or calls now().
\set tenant 1
\set queue 1
WITH taken AS (
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
), started AS (
  INSERT INTO queue_item_events (tenant_id, folder_id, queue_item_id, action, data, status, review_status, user_name,
    client_id, at)
  SELECT tenant_id, folder_id, id, 'Started', '', status, review_status, 'app bot', 'acme-bot', now() FROM taken
)
SELECT id, tenant_id, folder_id, queue_id, key, unique_key, status, review_status, priority, reference,
  specific_content, output, analytics, progress, exception_type, exception_reason, exception_details, defer_date,
  due_date, risk_sla_date, start_processing, end_processing, retry_number, ancestor_id, holder, robot_key, source,
  created_at, updated_at, version
FROM taken
\gset item_
WITH ended AS (
  UPDATE queue_items SET status = 'Successful', end_processing = now(), updated_at = now(), output = '', analytics = '',
    progress = COALESCE(NULL, progress), exception_type = '', exception_reason = '', exception_details = '',
    version = version + 1
  WHERE tenant_id = :tenant AND id = :item_id AND status = 'InProgress' AND holder = 'app:1' AND folder_id = :item_folder_id
  RETURNING id, tenant_id, folder_id, queue_id, key, unique_key, status, review_status, priority, reference,
    specific_content, output, analytics, progress, exception_type, exception_reason, exception_details, defer_date,
    due_date, risk_sla_date, start_processing, end_processing, retry_number, ancestor_id, holder, robot_key, source,
    created_at, updated_at, version
), recorded AS (
  INSERT INTO queue_item_events (tenant_id, folder_id, queue_item_id, action, data, status, review_status, user_name,
    client_id, at)
  SELECT tenant_id, folder_id, id, 'Succeeded', '', status, review_status, 'app bot', 'acme-bot', now() FROM ended
)
SELECT id, tenant_id, folder_id, queue_id, key, unique_key, status, review_status, priority, reference,
  specific_content, output, analytics, progress, exception_type, exception_reason, exception_details, defer_date,
  due_date, risk_sla_date, start_processing, end_processing, retry_number, ancestor_id, holder, robot_key, source,
  created_at, updated_at, version
FROM ended;
