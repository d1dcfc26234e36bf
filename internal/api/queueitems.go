package api

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// Queue items and their history. Items live in folders through their queue. Without a
// folder header the lists cover every folder where the caller may read transactions, and
// a single item is found wherever the caller may use it.

func (a *API) queueItemRoutes() []route {
	return []route{
		{Method: "GET", Set: "QueueItems", Scope: "OR.Queues", Perm: "Transactions.View", Folder: folderOptional, Handle: listQueueItems,
			Summary: "Queue items: of the folder given by a header, or of every folder where the caller may view transactions. At most 100 without $top; $top above 100 is refused."},
		{Method: "GET", Set: "QueueItems", Key: true, Scope: "OR.Queues", Perm: "Transactions.View", Folder: folderOptional, Handle: getQueueItem,
			Summary: "One queue item by Id; $expand=QueueDefinition adds its queue."},
		{Method: "PUT", Set: "QueueItems", Key: true, Scope: "OR.Queues", Perm: "Transactions.Edit", Folder: folderOptional, Handle: updateQueueItem,
			Summary: "Change a New item (QueueItemDataDto): Priority, Reference, SpecificContent, Progress, DeferDate, DueDate, RiskSlaDate. Needs Queues.Edit too. An item in another state is 409."},
		{Method: "DELETE", Set: "QueueItems", Key: true, Scope: "OR.Queues", Perm: "Transactions.Delete", Folder: folderOptional, Handle: deleteQueueItem,
			Summary: "Mark a New, Failed or Abandoned item Deleted (it stays readable, and its reference stays taken); 409 for an item in another state."},
		{Method: "POST", Set: "QueueItems", Action: "DeleteBulk", Scope: "OR.Queues", Perm: "Transactions.Delete", Folder: folderOptional, Handle: deleteQueueItems,
			Summary: "{\"queueItems\":[{\"Id\":…},…]}: mark items Deleted; the answer lists in FailedItems the ids that were not."},
		{Method: "POST", Set: "QueueItems", Action: "SetItemReviewStatus", Scope: "OR.Queues", Perm: "Transactions.Edit", Folder: folderOptional,
			Handle:  setItemReviewStatus,
			Summary: "{\"status\":\"None|InReview|Verified|Retried\",\"queueItems\":[{\"Id\":…},…]}: the review status of Failed or Abandoned items; FailedItems lists the ids that were not changed."},
		{Method: "GET", Set: "QueueItems", Key: true, Action: "GetItemProcessingHistory", Scope: "OR.Queues", Perm: "Transactions.View",
			Folder: folderOptional, Handle: getItemProcessingHistory,
			Summary: "Every attempt at the item: the items with its Key (the item, the items it retried and its retries), oldest first."},
		{Method: "GET", Set: "QueueItemEvents", Scope: "OR.Queues", Perm: "Transactions.View", Folder: folderOptional, Handle: listQueueItemEvents,
			Summary: "The history of queue items: every change (Created, Started, Progress, Succeeded, Failed, Abandoned, Edited, Deleted, ReviewStatusChanged) with who made it; of the folder of the header or of every folder where the caller may view transactions."},
		{Method: "GET", Set: "QueueItemEvents", Action: "GetQueueItemEventsHistory", Scope: "OR.Queues", Perm: "Transactions.View",
			Folder: folderOptional, Handle: getQueueItemEventsHistory,
			Summary: "GetQueueItemEventsHistory(queueItemId=<Id>): the history of an item and of every attempt with its Key, oldest first."},
	}
}

// dictionary is a JSON object of any content (UiPath's SpecificContent, Output,
// Analytics): an open complex type in $metadata. It keeps the JSON as it was stored, so
// numbers keep their precision.
type dictionary struct{ raw json.RawMessage }

func (d dictionary) MarshalJSON() ([]byte, error) { return d.raw, nil }
func (dictionary) edmOpenType()                   {}

func dict(s string) *dictionary {
	if s == "" {
		return nil
	}
	return &dictionary{raw: json.RawMessage(s)}
}

func optText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// processingExceptionDTO is UiPath's ProcessingExceptionDto.
type processingExceptionDTO struct {
	Reason                  string  `json:"Reason"`
	Details                 string  `json:"Details"`
	Type                    string  `json:"Type"`
	AssociatedImageFilePath *string `json:"AssociatedImageFilePath"`
}

// queueItemDTO is UiPath's QueueItemDto. Key is shared by an item and its retries;
// UniqueKey is the item's own.
type queueItemDTO struct {
	ID                                 int64                   `json:"Id"`
	Key                                string                  `json:"Key"`
	UniqueKey                          string                  `json:"UniqueKey"`
	QueueDefinitionID                  int64                   `json:"QueueDefinitionId"`
	Status                             string                  `json:"Status"`
	ReviewStatus                       string                  `json:"ReviewStatus"`
	ReviewerUserID                     *int64                  `json:"ReviewerUserId"`
	Reference                          string                  `json:"Reference"`
	Priority                           string                  `json:"Priority"`
	ProcessingExceptionType            *string                 `json:"ProcessingExceptionType"`
	ProcessingException                *processingExceptionDTO `json:"ProcessingException"`
	SpecificContent                    *dictionary             `json:"SpecificContent"`
	SpecificData                       *string                 `json:"SpecificData"`
	Output                             *dictionary             `json:"Output"`
	OutputData                         *string                 `json:"OutputData"`
	Analytics                          *dictionary             `json:"Analytics"`
	AnalyticsData                      *string                 `json:"AnalyticsData"`
	Progress                           *string                 `json:"Progress"`
	DeferDate                          *time.Time              `json:"DeferDate"`
	DueDate                            *time.Time              `json:"DueDate"`
	RiskSlaDate                        *time.Time              `json:"RiskSlaDate"`
	StartProcessing                    *time.Time              `json:"StartProcessing"`
	EndProcessing                      *time.Time              `json:"EndProcessing"`
	SecondsInPreviousAttempts          int64                   `json:"SecondsInPreviousAttempts"`
	AncestorID                         *int64                  `json:"AncestorId"`
	RetryNumber                        int                     `json:"RetryNumber"`
	RobotID                            *int64                  `json:"RobotId"`
	Encrypted                          bool                    `json:"Encrypted"`
	Source                             *string                 `json:"Source"`
	CreationTime                       time.Time               `json:"CreationTime"`
	RowVersion                         string                  `json:"RowVersion"`
	OrganizationUnitID                 int64                   `json:"OrganizationUnitId"`
	OrganizationUnitFullyQualifiedName string                  `json:"OrganizationUnitFullyQualifiedName"`
}

func toItemDTO(it store.QueueItem, folderPath string) queueItemDTO {
	d := queueItemDTO{ID: it.ID, Key: it.Key, UniqueKey: it.UniqueKey, QueueDefinitionID: it.QueueID, Status: string(it.Status),
		ReviewStatus: string(it.ReviewStatus), Reference: it.Reference, Priority: string(it.Priority),
		SpecificContent: dict(it.SpecificContent), SpecificData: optText(it.SpecificContent), Output: dict(it.Output),
		OutputData: optText(it.Output), Analytics: dict(it.Analytics), AnalyticsData: optText(it.Analytics),
		Progress: optText(it.Progress), DeferDate: it.DeferDate, DueDate: it.DueDate, RiskSlaDate: it.RiskSLADate,
		StartProcessing: it.StartProcessing, EndProcessing: it.EndProcessing, RetryNumber: it.RetryNumber,
		Source: optText(it.Source), CreationTime: it.CreatedAt, RowVersion: rowVersion(it.Version),
		OrganizationUnitID: it.FolderID, OrganizationUnitFullyQualifiedName: folderPath}
	if it.AncestorID != 0 {
		id := it.AncestorID
		d.AncestorID = &id
	}
	if it.Exception != nil {
		t := string(it.Exception.Type)
		d.ProcessingExceptionType = &t
		d.ProcessingException = &processingExceptionDTO{Reason: it.Exception.Reason, Details: it.Exception.Details, Type: t}
	}
	return d
}

// rowVersion renders an item's version as UiPath's RowVersion: base64 of 8 bytes.
func rowVersion(v int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v))
	return base64.StdEncoding.EncodeToString(b[:])
}

// queueItemEventDTO is UiPath's QueueItemEventDto.
type queueItemEventDTO struct {
	ID               int64     `json:"Id"`
	QueueItemID      int64     `json:"QueueItemId"`
	Timestamp        time.Time `json:"Timestamp"`
	Action           string    `json:"Action"`
	Data             string    `json:"Data"`
	UserID           *int64    `json:"UserId"`
	UserName         string    `json:"UserName"`
	Status           string    `json:"Status"`
	ReviewStatus     string    `json:"ReviewStatus"`
	ReviewerUserID   *int64    `json:"ReviewerUserId"`
	ReviewerUserName *string   `json:"ReviewerUserName"`
	ExternalClientID string    `json:"ExternalClientId"`
}

func toEventDTO(e store.QueueItemEvent) queueItemEventDTO {
	return queueItemEventDTO{ID: e.ID, QueueItemID: e.QueueItemID, Timestamp: e.At, Action: e.Action, Data: e.Data,
		UserName: e.UserName, Status: string(e.Status), ReviewStatus: string(e.ReviewStatus), ExternalClientID: e.ClientID}
}

// loadItemQueues is the QueueDefinition navigation of QueueItemDto: the queues of a page,
// read once.
func loadItemQueues(a *API, c *call, page []any) ([]any, *apiError) {
	paths, e := a.folderPaths(c)
	if e != nil {
		return nil, e
	}
	return loadByID(c, page, func(it queueItemDTO) int64 { return it.QueueDefinitionID }, func(id int64) (queueDefinitionDTO, error) {
		q, err := a.st.QueueDefinitionGet(c.ctx(), c.tenant.ID, id)
		return toQueueDTO(q, paths[q.FolderID]), err
	})
}

// folderPaths maps the tenant's folder ids to their FullyQualifiedName.
func (a *API) folderPaths(c *call) (map[int64]string, *apiError) {
	fs, err := a.st.FolderList(c.ctx(), c.tenant.ID)
	if err != nil {
		return nil, internalError(c.r, err)
	}
	out := make(map[int64]string, len(fs))
	for _, f := range fs {
		out[f.ID] = f.FullyQualifiedName
	}
	return out, nil
}

// foldersWith lists the tenant's folders where the caller holds every permission of
// perms. No folder at all is a 403 naming the first missing permission.
func (a *API) foldersWith(c *call, perms ...tenancy.Permission) ([]int64, *apiError) {
	acc, e := a.accessOf(c)
	if e != nil {
		return nil, e
	}
	var out []int64
	for id := range acc.Parent {
		have := acc.FolderPermissions(id)
		if !slices.ContainsFunc(perms, func(p tenancy.Permission) bool { return !have.Has(p) }) {
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		names := make([]string, len(perms))
		for i, p := range perms {
			names[i] = string(p)
		}
		return nil, because("missing_permission", forbidden("%s lacks permission %s in every folder of tenant %s",
			c.who.name, strings.Join(names, " and "), c.tenant.Name))
	}
	slices.Sort(out)
	return out, nil
}

// itemScope is where an item route may act: the header's folder, or every folder where
// the caller holds perms.
func (a *API) itemScope(c *call, perms ...tenancy.Permission) ([]int64, *apiError) {
	if c.folder != nil {
		if e := a.needPerms(c, *c.folder, perms...); e != nil {
			return nil, e
		}
		return []int64{c.folder.ID}, nil
	}
	return a.foldersWith(c, perms...)
}

// scopedSearch is the search of a list of folder items (jobs, queue items, robots, logs):
// the folders of itemScope for perms, and the call's OData query with at most limit rows.
func (a *API) scopedSearch(c *call, limit int, perms ...tenancy.Permission) (store.SearchParams, *apiError) {
	folders, e := a.itemScope(c, perms...)
	if e != nil {
		return store.SearchParams{}, e
	}
	q, e := listQuery(c, limit)
	if e != nil {
		return store.SearchParams{}, e
	}
	return store.SearchParams{TenantID: c.tenant.ID, OnlyFolders: folders, Query: q}, nil
}

// itemFor reads the item of the URL for a route that needs perms in its folder. An item
// outside the folders the caller may use is not found, as one that does not exist.
func (a *API) itemFor(c *call, id int64, perms ...tenancy.Permission) (store.QueueItem, *apiError) {
	folders, e := a.itemScope(c, perms...)
	if e != nil {
		return store.QueueItem{}, e
	}
	it, err := a.st.QueueItemGet(c.ctx(), c.tenant.ID, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && !slices.Contains(folders, it.FolderID) {
		where := "in a folder you may use"
		if c.folder != nil {
			where = "in folder " + c.folder.FullyQualifiedName
		}
		return it, notFound("queue item %d does not exist %s", id, where)
	} else if err != nil {
		return it, internalError(c.r, err)
	}
	return it, nil
}

// listQueueItems serves GET /odata/QueueItems.
func listQueueItems(a *API, c *call) *apiError {
	p, e := a.scopedSearch(c, 100, "Queues.View", "Transactions.View")
	if e != nil {
		return e
	}
	page, total, err := a.st.QueueItemSearch(c.ctx(), p)
	if err != nil {
		return searchError(c, err)
	}
	paths, e := a.folderPaths(c)
	if e != nil {
		return e
	}
	out := make([]queueItemDTO, 0, len(page))
	for _, it := range page {
		out = append(out, toItemDTO(it, paths[it.FolderID]))
	}
	return writeList(a, c, "QueueItems", out, total)
}

// writeItem writes one item with its @odata.context.
func (a *API) writeItem(c *call, status int, it store.QueueItem) *apiError {
	var path string
	if c.folder != nil && c.folder.ID == it.FolderID {
		// The call's folder, as for every item added or started: no need to list the tenant's.
		path = c.folder.FullyQualifiedName
	} else {
		paths, e := a.folderPaths(c)
		if e != nil {
			return e
		}
		path = paths[it.FolderID]
	}
	if status == http.StatusOK {
		return writeEntity(a, c, "QueueItems", toItemDTO(it, path))
	}
	writeJSON(c.w, status, withContext(c.base+"/odata/$metadata#QueueItems/$entity", toItemDTO(it, path)))
	return nil
}

// getQueueItem serves GET /odata/QueueItems(id).
func getQueueItem(a *API, c *call) *apiError {
	id, e := keyID(c)
	if e != nil {
		return e
	}
	it, e := a.itemFor(c, id, "Queues.View", "Transactions.View")
	if e != nil {
		return e
	}
	return a.writeItem(c, http.StatusOK, it)
}

// updateQueueItem serves PUT /odata/QueueItems(id): UiPath changes Priority, DueDate,
// DeferDate, SpecificContent and Progress from the QueueItemDataDto; OpenOrch also takes
// Reference and RiskSlaDate. Fields left out stay as they are.
func updateQueueItem(a *API, c *call) *apiError {
	id, e := keyID(c)
	if e != nil {
		return e
	}
	old, e := a.itemFor(c, id, "Queues.Edit", "Transactions.Edit")
	if e != nil {
		return e
	}
	var in itemInput
	if e := bind(c, &in); e != nil {
		return e
	}
	q, err := a.st.QueueDefinitionGet(c.ctx(), c.tenant.ID, old.QueueID)
	if err != nil {
		return storeError(c, err)
	}
	var it store.QueueItem
	err = a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		var err error
		it, err = tx.QueueItemUpdate(c.ctx(), store.QueueItemUpdateParams{TenantID: c.tenant.ID, ItemID: id, Actor: actorOf(c), Now: a.now()},
			func(it store.QueueItem) (store.QueueItem, error) {
				d, e := a.itemData(q, "", in, &it)
				if e != nil {
					return it, e
				}
				it.Priority, it.Reference, it.SpecificContent, it.Progress = d.Priority, d.Reference, d.SpecificContent, d.Progress
				it.DeferDate, it.DueDate, it.RiskSLADate = d.DeferDate, d.DueDate, d.RiskSLADate
				return it, nil
			})
		return store.AuditEntry{Action: "Update", Component: "QueueItems", EntityID: id, EntityName: old.Reference,
			Details: fmt.Sprintf("changed queue item %d of queue %s", id, q.Name)}, err
	})
	if e := queueWriteError(c, err); e != nil {
		return e
	}
	a.queues.signal.Notify(it.QueueID)
	return a.writeItem(c, http.StatusOK, it)
}

// queueWriteError maps the refusals of queue writes: an *apiError of a validation, a
// duplicate reference (409, 1016) and a state conflict (409 with the item).
func queueWriteError(c *call, err error) *apiError {
	if err == nil {
		return nil
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	if dup, ok := store.AsDuplicateReference(err); ok {
		return duplicateError(dup)
	}
	var se *store.QueueItemStateError
	if errors.As(err, &se) {
		return stateError(se)
	}
	return storeError(c, err)
}

// duplicateError is the 409 of a reference taken: errorCode 1016 with the item holding it.
func duplicateError(dup *store.DuplicateReferenceError) *apiError {
	details := map[string]any{"reason": "DuplicateReference", "queue": dup.Queue, "reference": dup.Reference, "existingItem": map[string]any{
		"Id": dup.ItemID, "Key": dup.Key, "Status": nilIfEmpty(string(dup.Status))}}
	return &apiError{Status: http.StatusConflict, Code: codeDuplicateReference,
		Message: "Error creating Transaction. Duplicate Reference: " + dup.Error(), Details: details}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// stateError is the 409 of a change the item's state does not allow, with the item's
// state.
func stateError(se *store.QueueItemStateError) *apiError {
	it := se.Item
	return &apiError{Status: http.StatusConflict, Code: codeInvalid, Message: se.Reason,
		Details: map[string]any{"Id": it.ID, "Key": it.Key, "Status": string(it.Status), "StartProcessing": it.StartProcessing,
			"EndProcessing": it.EndProcessing}}
}

// deleteQueueItem serves DELETE /odata/QueueItems(id).
func deleteQueueItem(a *API, c *call) *apiError {
	id, e := keyID(c)
	if e != nil {
		return e
	}
	it, e := a.itemFor(c, id, "Queues.View", "Transactions.Delete")
	if e != nil {
		return e
	}
	var res store.QueueItemBulkIDsResult
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		var err error
		res, err = tx.QueueItemDelete(c.ctx(), store.QueueItemBulkParams{TenantID: c.tenant.ID, ItemIDs: []int64{id}, Actor: actorOf(c), Now: a.now()})
		return store.AuditEntry{Action: "Delete", Component: "QueueItems", EntityID: id, EntityName: it.Reference,
			Details: fmt.Sprintf("deleted queue item %d", id)}, err
	})
	if err != nil {
		return storeError(c, err)
	}
	if len(res.Failed) > 0 {
		return &apiError{Status: http.StatusConflict, Code: codeInvalid, Message: res.Failed[0].Reason,
			Details: map[string]any{"Id": it.ID, "Key": it.Key, "Status": string(it.Status)}}
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// bulkItemsInput is what DeleteBulk and SetItemReviewStatus take: UiPath sends
// LongVersionedEntity objects ({"Id","RowVersion"}); OpenOrch reads the Id.
type bulkItemsInput struct {
	QueueItems []struct {
		ID *int64 `json:"Id"`
	} `json:"queueItems"`
	Status *string `json:"status"`
}

func (in bulkItemsInput) ids() ([]int64, *apiError) {
	if len(in.QueueItems) == 0 {
		return nil, invalid("queueItems is required: a list of {\"Id\": <queue item Id>}")
	}
	if len(in.QueueItems) > bulkItemsMax {
		return nil, invalid("queueItems has %d items; the limit is %d per call", len(in.QueueItems), bulkItemsMax)
	}
	out := make([]int64, 0, len(in.QueueItems))
	for i, x := range in.QueueItems {
		if x.ID == nil {
			return nil, invalid("queueItems[%d].Id is required", i)
		}
		out = append(out, *x.ID)
	}
	return out, nil
}

// bulkResultDTO is UiPath's BulkOperationResponseDtoOfInt64; OpenOrch adds why each item
// failed.
type bulkResultDTO struct {
	Success     bool             `json:"Success"`
	Message     string           `json:"Message"`
	FailedItems []int64          `json:"FailedItems"`
	Reasons     map[int64]string `json:"FailedItemReasons,omitempty"`
}

func toBulkResult(res store.QueueItemBulkIDsResult, verb string) bulkResultDTO {
	out := bulkResultDTO{Success: len(res.Failed) == 0, FailedItems: []int64{}}
	for _, f := range res.Failed {
		out.FailedItems = append(out.FailedItems, f.ID)
		if out.Reasons == nil {
			out.Reasons = map[int64]string{}
		}
		out.Reasons[f.ID] = f.Reason
	}
	out.Message = fmt.Sprintf("%d items %s", len(res.Changed), verb)
	if len(res.Failed) > 0 {
		out.Message += fmt.Sprintf("; %d not (see FailedItemReasons)", len(res.Failed))
	}
	return out
}

// deleteQueueItems serves POST /odata/QueueItems/DeleteBulk.
func deleteQueueItems(a *API, c *call) *apiError {
	folders, e := a.itemScope(c, "Queues.View", "Transactions.Delete")
	if e != nil {
		return e
	}
	var in bulkItemsInput
	if e := bind(c, &in); e != nil {
		return e
	}
	ids, e := in.ids()
	if e != nil {
		return e
	}
	var res store.QueueItemBulkIDsResult
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		var err error
		res, err = tx.QueueItemDelete(c.ctx(), store.QueueItemBulkParams{TenantID: c.tenant.ID, ItemIDs: ids, FolderIDs: folders, Actor: actorOf(c), Now: a.now()})
		return store.AuditEntry{Action: "Delete", Component: "QueueItems",
			Details: fmt.Sprintf("deleted %d queue items of %d asked", len(res.Changed), len(ids))}, err
	})
	if err != nil {
		return storeError(c, err)
	}
	writeJSON(c.w, http.StatusOK, toBulkResult(res, "deleted"))
	return nil
}

// setItemReviewStatus serves POST /odata/QueueItems/SetItemReviewStatus.
func setItemReviewStatus(a *API, c *call) *apiError {
	folders, e := a.itemScope(c, "Queues.View", "Transactions.Edit")
	if e != nil {
		return e
	}
	var in bulkItemsInput
	if e := bind(c, &in); e != nil {
		return e
	}
	ids, e := in.ids()
	if e != nil {
		return e
	}
	if in.Status == nil {
		return invalid("status is required: one of %s", strings.Join(enumList(store.QueueReviewStatuses), ", "))
	}
	status, e := parseEnum("status", *in.Status, store.QueueReviewStatuses)
	if e != nil {
		return e
	}
	var res store.QueueItemBulkIDsResult
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		var err error
		res, err = tx.QueueItemSetReviewStatus(c.ctx(), store.QueueItemBulkParams{TenantID: c.tenant.ID, ItemIDs: ids, FolderIDs: folders,
			Actor: actorOf(c), Now: a.now()}, status)
		return store.AuditEntry{Action: "Update", Component: "QueueItems",
			Details: fmt.Sprintf("set the review status of %d queue items to %s", len(res.Changed), status)}, err
	})
	if err != nil {
		return storeError(c, err)
	}
	writeJSON(c.w, http.StatusOK, toBulkResult(res, "changed"))
	return nil
}

// getItemProcessingHistory serves GET /odata/QueueItems(id)/GetItemProcessingHistory.
func getItemProcessingHistory(a *API, c *call) *apiError {
	id, e := keyID(c)
	if e != nil {
		return e
	}
	if _, e := a.itemFor(c, id, "Queues.View", "Transactions.View"); e != nil {
		return e
	}
	hist, err := a.st.QueueItemHistory(c.ctx(), c.tenant.ID, id)
	if err != nil {
		return storeError(c, err)
	}
	paths, e := a.folderPaths(c)
	if e != nil {
		return e
	}
	out := make([]queueItemDTO, 0, len(hist))
	for _, it := range hist {
		out = append(out, toItemDTO(it, paths[it.FolderID]))
	}
	return writeList(a, c, "QueueItems", out, -1)
}

// listQueueItemEvents serves GET /odata/QueueItemEvents.
func listQueueItemEvents(a *API, c *call) *apiError {
	p, e := a.scopedSearch(c, 1000, "Queues.View", "Transactions.View")
	if e != nil {
		return e
	}
	page, total, err := a.st.QueueItemEventSearch(c.ctx(), p)
	if err != nil {
		return searchError(c, err)
	}
	out := make([]queueItemEventDTO, 0, len(page))
	for _, ev := range page {
		out = append(out, toEventDTO(ev))
	}
	return writeList(a, c, "QueueItemEvents", out, total)
}

// getQueueItemEventsHistory serves GET
// /odata/QueueItemEvents/GetQueueItemEventsHistory(queueItemId=N).
func getQueueItemEventsHistory(a *API, c *call) *apiError {
	raw, ok := c.path.Params["queueitemid"]
	if !ok {
		return invalid("GetQueueItemEventsHistory needs the item: GetQueueItemEventsHistory(queueItemId=<queue item Id>)")
	}
	id, err := strconv.ParseInt(strings.Trim(raw, "'"), 10, 64)
	if err != nil {
		return invalid("GetQueueItemEventsHistory(queueItemId=%s): the Id must be an integer", raw)
	}
	if _, e := a.itemFor(c, id, "Queues.View", "Transactions.View"); e != nil {
		return e
	}
	evs, err := a.st.QueueItemEventList(c.ctx(), c.tenant.ID, id)
	if err != nil {
		return storeError(c, err)
	}
	out := make([]queueItemEventDTO, 0, len(evs))
	for _, ev := range evs {
		out = append(out, toEventDTO(ev))
	}
	return writeList(a, c, "QueueItemEvents", out, -1)
}

// enumList names the values of an enumeration.
func enumList[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// parseEnum reads an enumeration value by name in any case, or by number.
func parseEnum[T ~string](field, s string, vs []T) (T, *apiError) {
	s = strings.TrimSpace(s)
	for i, v := range vs {
		if strings.EqualFold(s, string(v)) || s == strconv.Itoa(i) {
			return v, nil
		}
	}
	return "", invalid("%s %q is not one of %s", field, s, strings.Join(enumList(vs), ", "))
}
