-- Work queues: the queue settings UiPath has, queue items, the references taken in queues
-- with unique references, and the history of every item.
-- Timestamps are INTEGER microseconds since the Unix epoch, UTC; booleans 0/1.
ALTER TABLE queue_definitions ADD COLUMN auto_retry INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queue_definitions ADD COLUMN retry_abandoned INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queue_definitions ADD COLUMN specific_data_schema TEXT NOT NULL DEFAULT '';
ALTER TABLE queue_definitions ADD COLUMN sla_minutes INTEGER NOT NULL DEFAULT 0;
-- Queues made before: automatic retry is on where retries are allowed, UiPath's default.
UPDATE queue_definitions SET auto_retry = 1 WHERE max_retries > 0;

-- pick_class orders the New items as UiPath takes them: 0-2 items with a deadline by
-- priority High, Normal, Low; 3-5 the items without one, by priority. Within a class,
-- the earliest deadline and then the oldest item first (queue_items_pick).
CREATE TABLE queue_items (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  key               TEXT NOT NULL,
  unique_key        TEXT NOT NULL UNIQUE,
  tenant_id         INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  folder_id         INTEGER NOT NULL,
  queue_id          INTEGER NOT NULL REFERENCES queue_definitions(id) ON DELETE CASCADE,
  status            TEXT NOT NULL,
  review_status     TEXT NOT NULL DEFAULT 'None',
  priority          TEXT NOT NULL,
  pick_class        INTEGER NOT NULL,
  reference         TEXT NOT NULL DEFAULT '',
  reference_norm    TEXT NOT NULL DEFAULT '',
  specific_content  TEXT NOT NULL DEFAULT '',
  output            TEXT NOT NULL DEFAULT '',
  analytics         TEXT NOT NULL DEFAULT '',
  progress          TEXT NOT NULL DEFAULT '',
  exception_type    TEXT NOT NULL DEFAULT '',
  exception_reason  TEXT NOT NULL DEFAULT '',
  exception_details TEXT NOT NULL DEFAULT '',
  defer_date        INTEGER,
  due_date          INTEGER,
  risk_sla_date     INTEGER,
  start_processing  INTEGER,
  end_processing    INTEGER,
  retry_number      INTEGER NOT NULL DEFAULT 0,
  ancestor_id       INTEGER,
  holder            TEXT NOT NULL DEFAULT '',
  robot_key         TEXT NOT NULL DEFAULT '',
  source            TEXT NOT NULL DEFAULT '',
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL,
  version           INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX queue_items_pick ON queue_items(queue_id, pick_class, due_date, id) WHERE status = 'New';
CREATE INDEX queue_items_queue_status ON queue_items(queue_id, status);
CREATE INDEX queue_items_tenant ON queue_items(tenant_id, folder_id, id);
CREATE INDEX queue_items_key ON queue_items(queue_id, key);
CREATE INDEX queue_items_in_progress ON queue_items(start_processing) WHERE status = 'InProgress';
CREATE INDEX queue_items_finished ON queue_items(updated_at)
  WHERE status IN ('Failed', 'Successful', 'Abandoned', 'Retried', 'Deleted');

-- The references taken in queues with unique references, lower-cased. A row outlives its
-- item (deleted or swept away): a reference is never reused. item_key names the item.
CREATE TABLE queue_references (
  queue_id       INTEGER NOT NULL REFERENCES queue_definitions(id) ON DELETE CASCADE,
  reference_norm TEXT NOT NULL,
  item_key       TEXT NOT NULL,
  PRIMARY KEY (queue_id, reference_norm)
);

-- The history of each item: every change, with who made it.
CREATE TABLE queue_item_events (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id     INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  folder_id     INTEGER NOT NULL,
  queue_item_id INTEGER NOT NULL REFERENCES queue_items(id) ON DELETE CASCADE,
  action        TEXT NOT NULL,
  data          TEXT NOT NULL DEFAULT '',
  status        TEXT NOT NULL,
  review_status TEXT NOT NULL,
  user_name     TEXT NOT NULL DEFAULT '',
  client_id     TEXT NOT NULL DEFAULT '',
  at            INTEGER NOT NULL
);
CREATE INDEX queue_item_events_item ON queue_item_events(queue_item_id, id);
CREATE INDEX queue_item_events_tenant ON queue_item_events(tenant_id, folder_id, id);
