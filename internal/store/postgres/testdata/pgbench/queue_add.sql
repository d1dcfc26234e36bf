-- AddQueueItem as the store runs it (sqlstore.QueueItemAdd): BEGIN, read the queue, insert
-- the item, record its event, notify the other nodes, COMMIT; 6 round trips. The store
-- makes the keys itself; this script lets PostgreSQL make them.
\set tenant 1
\set queue 1
\set ref random(1, 1000000000)
BEGIN;
SELECT id, key, tenant_id, folder_id, name, description, max_retries, unique_reference, auto_retry,
  retry_abandoned, specific_data_schema, sla_minutes, created_at
FROM queue_definitions WHERE tenant_id = :tenant AND id = :queue;
INSERT INTO queue_items (key, unique_key, tenant_id, folder_id, queue_id, status, priority, pick_class, reference,
  reference_norm, specific_content, progress, defer_date, due_date, risk_sla_date, start_processing, retry_number,
  ancestor_id, holder, robot_key, source, created_at, updated_at)
VALUES (gen_random_uuid()::text, gen_random_uuid()::text, :tenant, 1, :queue, 'New', 'Normal', 4, 'r' || :ref,
  'r' || :ref, '{"Email":"a@b.c","Amount":12.5}', '', NULL, NULL, NULL, NULL, 0, NULL, '', '', '', now(), now())
RETURNING id, tenant_id, folder_id, queue_id, key, unique_key, status, review_status, priority, reference,
  specific_content, output, analytics, progress, exception_type, exception_reason, exception_details, defer_date,
  due_date, risk_sla_date, start_processing, end_processing, retry_number, ancestor_id, holder, robot_key, source,
  created_at, updated_at, version
\gset item_
INSERT INTO queue_item_events (tenant_id, folder_id, queue_item_id, action, data, status, review_status, user_name,
  client_id, at)
VALUES (:tenant, 1, :item_id, 'Created', '', 'New', 'None', 'app bot', 'acme-bot', now());
SELECT pg_notify('openorch_queue_items', '1');
COMMIT;
