-- AuditLogs are filtered by component (compared case-insensitively, as LOWER(component))
-- within a time range and read newest first: this index answers that without sorting.
CREATE INDEX audit_logs_org_component_at ON audit_logs(org_id, LOWER(component), at);
