package sqlstore

import (
	"context"
	"database/sql"

	"github.com/openorch/openorch/internal/odata"
	"github.com/openorch/openorch/internal/store"
)

var auditEntity = odata.Entity{Set: "AuditLogs", Props: []odata.Prop{
	{Name: "Id", Column: "id", Type: odata.Int},
	{Name: "ExecutionTime", Column: "at", Type: odata.Time},
	{Name: "Action", Column: "action", Type: odata.String},
	{Name: "Component", Column: "component", Type: odata.String},
	{Name: "EntityId", Column: "entity_id", Type: odata.Int},
	{Name: "DisplayName", Column: "entity_name", Type: odata.String},
	{Name: "UserName", Column: "principal", Type: odata.String},
	{Name: "ClientId", Column: "client_id", Type: odata.String},
}}

const auditColumns = `id, org_id, tenant_id, at, action, component, entity_id, entity_name, principal, client_id, details`

func scanAudit(r interface{ Scan(...any) error }) (store.AuditEntry, error) {
	var e store.AuditEntry
	err := r.Scan(&e.ID, &e.OrgID, dbID{&e.TenantID}, dbTime{&e.At}, &e.Action, &e.Component, dbID{&e.EntityID},
		&e.EntityName, &e.Principal, &e.ClientID, &e.Details)
	return e, err
}

// AuditAdd implements store.Store.
func (s *DB) AuditAdd(ctx context.Context, e store.AuditEntry) error {
	at := e.At
	if at.IsZero() {
		at = s.timestamp()
	}
	_, err := s.w().ExecContext(ctx,
		`INSERT INTO audit_logs (org_id, tenant_id, at, action, component, entity_id, entity_name, principal, client_id, details)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		e.OrgID, nullID(e.TenantID), s.t(at), e.Action, e.Component, nullID(e.EntityID), e.EntityName, e.Principal, e.ClientID, e.Details)
	return s.classify(err, "")
}

// AuditSearch implements store.Store.
func (s *DB) AuditSearch(ctx context.Context, orgID int64, p store.SearchParams) ([]store.AuditEntry, int, error) {
	sc := searchScope{from: "audit_logs", where: "org_id = $1 AND (tenant_id = $2 OR tenant_id IS NULL)", args: []any{orgID, p.TenantID}}
	return searchIn(ctx, s, sc, auditColumns, "", auditEntity, p,
		func(r *sql.Rows) (store.AuditEntry, error) { return scanAudit(r) })
}
