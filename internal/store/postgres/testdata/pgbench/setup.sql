-- The database of the queue pgbench scripts, after the migrations: one organization,
-- tenant, folder and queue (id 1 each), and :items New items with priorities High, Normal
-- and Low in turn, each with its Created event, as BulkAddQueueItems leaves them.
--   psql -v items=20000 -f setup.sql
INSERT INTO organizations (id, key, name, name_norm, display_name, created_at)
  VALUES (1, 'pgbench-org', 'pgbench', 'pgbench', 'pgbench', now());
INSERT INTO tenants (id, key, org_id, name, name_norm, display_name, created_at)
  VALUES (1, 'pgbench-tenant', 1, 'DefaultTenant', 'defaulttenant', 'DefaultTenant', now());
INSERT INTO folders (id, key, tenant_id, display_name, fqn, fqn_norm, depth, created_at)
  VALUES (1, 'pgbench-folder', 1, 'Shared', 'Shared', 'shared', 1, now());
INSERT INTO queue_definitions (id, key, tenant_id, folder_id, name, name_norm, max_retries, auto_retry, created_at)
  VALUES (1, 'pgbench-queue', 1, 1, 'bench', 'bench', 1, true, now());
INSERT INTO queue_items (key, unique_key, tenant_id, folder_id, queue_id, status, priority, pick_class, specific_content,
    created_at, updated_at)
  SELECT gen_random_uuid()::text, gen_random_uuid()::text, 1, 1, 1, 'New', (ARRAY['High', 'Normal', 'Low'])[i % 3 + 1],
    i % 3 + 3, '{"n":1}', now(), now()
  FROM generate_series(0, :items - 1) AS i;
INSERT INTO queue_item_events (tenant_id, folder_id, queue_item_id, action, data, status, review_status, user_name, client_id, at)
  SELECT tenant_id, folder_id, id, 'Created', '', status, review_status, 'app bot', 'acme-bot', created_at FROM queue_items;
VACUUM ANALYZE;
