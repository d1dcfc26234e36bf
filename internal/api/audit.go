package api

import (
	"time"

	"github.com/openorch/openorch/internal/store"
)

// write runs a change and its audit entry in one transaction: both land or neither does.
// fn returns the entry to record (OrgID, TenantID, principal and client are filled in).
// When it ends, this node forgets what it cached (cache.go), so that the change — a role
// removed, a user disabled — applies from the next call on.
func (a *API) write(c *call, fn func(tx store.Store) (store.AuditEntry, error)) error {
	defer a.cache.invalidate()
	return a.st.Tx(c.ctx(), func(tx store.Store) error {
		e, err := fn(tx)
		if err != nil {
			return err
		}
		e.OrgID, e.TenantID = c.org.ID, c.tenant.ID
		e.Principal, e.ClientID = c.who.name, c.who.claims.ClientID
		return tx.AuditAdd(c.ctx(), e)
	})
}

// auditDTO is UiPath's AuditLogDto (the fields clients read).
type auditDTO struct {
	ID            int64     `json:"Id"`
	ServiceName   string    `json:"ServiceName"`
	MethodName    string    `json:"MethodName"`
	Action        string    `json:"Action"`
	Component     string    `json:"Component"`
	DisplayName   string    `json:"DisplayName"`
	EntityID      *int64    `json:"EntityId"`
	OperationText string    `json:"OperationText"`
	UserName      string    `json:"UserName"`
	ClientID      string    `json:"ClientId"`
	ExecutionTime time.Time `json:"ExecutionTime"`
}

// listAuditLogs serves GET /odata/AuditLogs.
func listAuditLogs(a *API, c *call) *apiError {
	q, e := listQuery(c, 1000)
	if e != nil {
		return e
	}
	page, total, err := a.st.AuditSearch(c.ctx(), c.org.ID, store.SearchParams{TenantID: c.tenant.ID, Query: q})
	if err != nil {
		return searchError(c, err)
	}
	out := make([]auditDTO, 0, len(page))
	for _, x := range page {
		d := auditDTO{ID: x.ID, ServiceName: "Orchestrator", MethodName: x.Action, Action: x.Action, Component: x.Component,
			DisplayName: x.EntityName, OperationText: x.Details, UserName: x.Principal, ClientID: x.ClientID, ExecutionTime: x.At}
		if x.EntityID != 0 {
			id := x.EntityID
			d.EntityID = &id
		}
		out = append(out, d)
	}
	return writeList(a, c, "AuditLogs", out, total)
}
