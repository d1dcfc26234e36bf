package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/openorch/openorch/internal/queues"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// Work queues: QueueDefinitions (this file), queue items (queueitems.go) and transactions
// (transactions.go).
//
// What is audited: changes of queues, and of items made by people (PUT, DELETE, DeleteBulk,
// SetItemReviewStatus, BulkAddQueueItems as one entry per call) go to the audit log. The
// traffic of robots — AddQueueItem, StartTransaction, SetTransactionProgress,
// SetTransactionResult — does not: at volume that would be an audit row per transaction.
// Every change of an item, these included, is recorded in the item's history
// (QueueItemEvents, GetQueueItemEventsHistory) with who made it and through which client.

// queueRoutes are the routes of queues, queue items and transactions.
func (a *API) queueRoutes() []route {
	return slices.Concat(a.queueDefinitionRoutes(), a.queueItemRoutes(), a.transactionRoutes())
}

func (a *API) queueDefinitionRoutes() []route {
	const writable = "Name (at most 50 characters, unique in the folder whatever its case), Description (at most 250), " +
		"MaxNumberOfRetries (0 to 50), AcceptAutomaticallyRetry (default: on when MaxNumberOfRetries > 0), RetryAbandonedItems, " +
		"EnforceUniqueReference (set at creation only), SpecificDataJsonSchema (a JSON Schema every item's SpecificContent must match), SlaInMinutes"
	return []route{
		{Method: "GET", Set: "QueueDefinitions", Scope: "OR.Queues", Perm: "Queues.View", Folder: folderRequired, Handle: listQueueDefinitions,
			Summary: "The queues of the folder."},
		{Method: "GET", Set: "QueueDefinitions", Key: true, Scope: "OR.Queues", Perm: "Queues.View", Folder: folderRequired, Handle: getQueueDefinition,
			Summary: "One queue of the folder by Id."},
		{Method: "POST", Set: "QueueDefinitions", Scope: "OR.Queues", Perm: "Queues.Create", Folder: folderRequired, Handle: createQueueDefinition,
			Summary: "Create a queue in the folder: " + writable + "."},
		{Method: "PUT", Set: "QueueDefinitions", Key: true, Scope: "OR.Queues", Perm: "Queues.Edit", Folder: folderRequired, Handle: updateQueueDefinition,
			Summary: "Change a queue: Name is required, the other fields of the create may be sent (EnforceUniqueReference cannot change)."},
		{Method: "PATCH", Set: "QueueDefinitions", Key: true, Scope: "OR.Queues", Perm: "Queues.Edit", Folder: folderRequired, Handle: updateQueueDefinition,
			Summary: "Change some of a queue's fields."},
		{Method: "DELETE", Set: "QueueDefinitions", Key: true, Scope: "OR.Queues", Perm: "Queues.Delete", Folder: folderRequired, Handle: deleteQueueDefinition,
			Summary: "Delete a queue with all its items and their history."},
		{Method: "GET", Set: "QueueProcessingRecords", Action: "RetrieveQueuesProcessingStatus", Scope: "OR.Queues", Perm: "Queues.View",
			Folder: folderRequired, Handle: queuesProcessingStatus,
			Summary: "The queues of the folder with their items counted by status: ItemsToProcess (New), ItemsInProgress, and OpenOrch's ItemsByStatus."},
	}
}

// Limits, as UiPath's cloud (reference/semantics.md §1); text lengths count UTF-16 code
// units, as UiPath does.
const (
	queueNameMax        = 50
	queueDescriptionMax = 250
	queueMaxRetries     = 50
	referenceMax        = 128
	specificContentMax  = 256_000
	progressMax         = 104_857
	outputMax           = 51_200
	analyticsMax        = 5_120
	exceptionTextMax    = 102_400
	sourceMax           = 20
	bulkItemsMax        = 15_000
)

// codeDuplicateReference is UiPath's error code for a reference a unique-reference queue
// already has.
const codeDuplicateReference = 1016

// queueState is what the queue routes keep between calls.
type queueState struct {
	signal  *queues.Signal
	schemas sync.Map // schema text → *jsonschema.Schema
	// transactions counts transaction outcomes on this node; added counts items added.
	transactions *prometheus.CounterVec
	added        prometheus.Counter
}

func (a *API) initQueues(o Options) {
	a.now = o.Now
	if a.now == nil {
		a.now = time.Now
	}
	qs := &queueState{signal: o.QueueSignal}
	if qs.signal == nil {
		qs.signal = queues.NewSignal()
	}
	qs.transactions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orch_queue_transactions_total",
		Help: "Queue transactions handled by this node, by outcome: started, successful, application_exception (retried or not), business_exception."},
		[]string{"outcome"})
	qs.added = prometheus.NewCounter(prometheus.CounterOpts{Name: "orch_queue_items_added_total",
		Help: "Queue items added through this node (AddQueueItem, BulkAddQueueItems, StartTransaction with SpecificContent)."})
	if o.Registry != nil {
		o.Registry.MustRegister(qs.transactions, qs.added, &queueDepth{st: o.Store})
	}
	a.queues = qs
}

// queueDepth reports the items of every queue by status when /metrics is read. With
// several nodes each reports the same database-wide figures: aggregate them with max.
type queueDepth struct{ st store.Store }

var queueDepthDesc = prometheus.NewDesc("orch_queue_items",
	"Queue items by queue and status, read from the database at scrape time.",
	[]string{"tenant_id", "folder_id", "queue_id", "queue", "status"}, nil)

func (q *queueDepth) Describe(ch chan<- *prometheus.Desc) { ch <- queueDepthDesc }

func (q *queueDepth) Collect(ch chan<- prometheus.Metric) {
	if q.st == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := q.st.QueueItemCounts(ctx, 0, 0)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueDepthDesc, err)
		return
	}
	for _, c := range counts {
		ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(c.Count),
			strconv.FormatInt(c.TenantID, 10), strconv.FormatInt(c.FolderID, 10), strconv.FormatInt(c.QueueID, 10), c.Queue, string(c.Status))
	}
}

// textLen is the length of s as UiPath counts it: UTF-16 code units.
func textLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// checkText refuses a text longer than limit, naming the field and the limit.
func checkText(field, v string, limit int) *apiError {
	if n := textLen(v); n > limit {
		return invalid("%s is %d characters long; the limit is %d", field, n, limit)
	}
	return nil
}

// actorOf is the caller as the queue store records it.
func actorOf(c *call) store.QueueActor {
	p := c.who.principal
	return store.QueueActor{Principal: string(p.Kind) + ":" + strconv.FormatInt(p.ID, 10), Name: c.who.name, ClientID: c.who.claims.ClientID}
}

// needPerms checks permissions beyond the route's own in a folder (UiPath asks for two on
// most queue routes, such as Queues.View and Transactions.Create).
func (a *API) needPerms(c *call, f tenancy.Folder, perms ...tenancy.Permission) *apiError {
	acc, e := a.accessOf(c)
	if e != nil {
		return e
	}
	have := acc.FolderPermissions(f.ID)
	for _, p := range perms {
		if !have.Has(p) {
			return because("missing_permission", forbidden("%s lacks permission %s in folder %s", c.who.name, p, f.FullyQualifiedName))
		}
	}
	return nil
}

// queueByName finds a queue of the call's folder by name; field names the body field.
func (a *API) queueByName(c *call, field string, name *string) (tenancy.QueueDefinition, *apiError) {
	if name == nil || strings.TrimSpace(*name) == "" {
		return tenancy.QueueDefinition{}, invalid("%s is required: the name of the queue", field)
	}
	q, err := a.queueByNameCached(c.ctx(), c.tenant.ID, c.folder.ID, strings.TrimSpace(*name))
	if errors.Is(err, store.ErrNotFound) {
		return q, notFound("folder %s has no queue named %q%s", c.folder.FullyQualifiedName, *name, a.queueHint(c))
	}
	if err != nil {
		return q, internalError(c.r, err)
	}
	return q, nil
}

// queueHint names the queues of the call's folder for a "did you mean".
func (a *API) queueHint(c *call) string {
	qs, err := a.st.QueueDefinitionList(c.ctx(), c.tenant.ID, c.folder.ID)
	if err != nil || len(qs) == 0 {
		return " (it has none)"
	}
	names := make([]string, len(qs))
	for i, q := range qs {
		names[i] = q.Name
	}
	return " (its queues: " + strings.Join(names, ", ") + ")"
}

// queueDefinitionDTO is UiPath's QueueDefinitionDto.
type queueDefinitionDTO struct {
	ID                                 int64     `json:"Id"`
	Key                                string    `json:"Key"`
	Name                               string    `json:"Name"`
	Description                        string    `json:"Description"`
	MaxNumberOfRetries                 int       `json:"MaxNumberOfRetries"`
	AcceptAutomaticallyRetry           bool      `json:"AcceptAutomaticallyRetry"`
	RetryAbandonedItems                bool      `json:"RetryAbandonedItems"`
	EnforceUniqueReference             bool      `json:"EnforceUniqueReference"`
	Encrypted                          bool      `json:"Encrypted"`
	SpecificDataJSONSchema             *string   `json:"SpecificDataJsonSchema"`
	OutputDataJSONSchema               *string   `json:"OutputDataJsonSchema"`
	AnalyticsDataJSONSchema            *string   `json:"AnalyticsDataJsonSchema"`
	CreationTime                       time.Time `json:"CreationTime"`
	SlaInMinutes                       int       `json:"SlaInMinutes"`
	RiskSlaInMinutes                   int       `json:"RiskSlaInMinutes"`
	ReleaseID                          *int64    `json:"ReleaseId"`
	FoldersCount                       int       `json:"FoldersCount"`
	OrganizationUnitID                 int64     `json:"OrganizationUnitId"`
	OrganizationUnitFullyQualifiedName string    `json:"OrganizationUnitFullyQualifiedName"`
}

func toQueueDTO(q tenancy.QueueDefinition, folderPath string) queueDefinitionDTO {
	d := queueDefinitionDTO{ID: q.ID, Key: q.Key, Name: q.Name, Description: q.Description, MaxNumberOfRetries: q.MaxNumberOfRetries,
		AcceptAutomaticallyRetry: q.AcceptAutomaticallyRetry, RetryAbandonedItems: q.RetryAbandonedItems,
		EnforceUniqueReference: q.EnforceUniqueReference, CreationTime: q.CreatedAt, SlaInMinutes: q.SlaInMinutes,
		FoldersCount: 1, OrganizationUnitID: q.FolderID, OrganizationUnitFullyQualifiedName: folderPath}
	if q.SpecificDataJSONSchema != "" {
		s := q.SpecificDataJSONSchema
		d.SpecificDataJSONSchema = &s
	}
	return d
}

// listQueueDefinitions serves GET /odata/QueueDefinitions in the folder of the headers.
func listQueueDefinitions(a *API, c *call) *apiError {
	q, e := listQuery(c, 1000)
	if e != nil {
		return e
	}
	qs, total, err := a.st.QueueDefinitionSearch(c.ctx(), store.SearchParams{TenantID: c.tenant.ID, FolderID: c.folder.ID, Query: q})
	if err != nil {
		return searchError(c, err)
	}
	out := make([]queueDefinitionDTO, 0, len(qs))
	for _, q := range qs {
		out = append(out, toQueueDTO(q, c.folder.FullyQualifiedName))
	}
	return writeList(a, c, "QueueDefinitions", out, total)
}

func keyID(c *call) (int64, *apiError) {
	id, err := strconv.ParseInt(c.path.Key, 10, 64)
	if err != nil {
		return 0, invalid("%s(%s): the key must be an Id (an integer)", c.path.Set, c.path.Key)
	}
	return id, nil
}

// queueInFolder reads a queue of the call's folder; one of another folder or tenant is
// not found.
func queueInFolder(c *call, st store.Store, id int64) (tenancy.QueueDefinition, error) {
	q, err := st.QueueDefinitionGet(c.ctx(), c.tenant.ID, id)
	if err == nil && q.FolderID != c.folder.ID {
		return q, fmt.Errorf("queue %d is not in folder %s: %w", id, c.folder.FullyQualifiedName, store.ErrNotFound)
	}
	return q, err
}

// getQueueDefinition serves GET /odata/QueueDefinitions(id).
func getQueueDefinition(a *API, c *call) *apiError {
	id, e := keyID(c)
	if e != nil {
		return e
	}
	q, err := queueInFolder(c, a.st, id)
	if err != nil {
		return storeError(c, err)
	}
	return writeEntity(a, c, "QueueDefinitions", toQueueDTO(q, c.folder.FullyQualifiedName))
}

// queueInput is what POST and PUT/PATCH /odata/QueueDefinitions take.
type queueInput struct {
	Name                     *string `json:"Name"`
	Description              *string `json:"Description"`
	MaxNumberOfRetries       *int    `json:"MaxNumberOfRetries"`
	AcceptAutomaticallyRetry *bool   `json:"AcceptAutomaticallyRetry"`
	RetryAbandonedItems      *bool   `json:"RetryAbandonedItems"`
	EnforceUniqueReference   *bool   `json:"EnforceUniqueReference"`
	SpecificDataJSONSchema   *string `json:"SpecificDataJsonSchema"`
	SlaInMinutes             *int    `json:"SlaInMinutes"`
}

func (a *API) checkQueueInput(in queueInput) *apiError {
	if in.Name != nil {
		if strings.TrimSpace(*in.Name) == "" {
			return invalid("Name cannot be empty")
		}
		if e := checkText("Name", strings.TrimSpace(*in.Name), queueNameMax); e != nil {
			return e
		}
	}
	if in.Description != nil {
		if e := checkText("Description", *in.Description, queueDescriptionMax); e != nil {
			return e
		}
	}
	if in.MaxNumberOfRetries != nil && (*in.MaxNumberOfRetries < 0 || *in.MaxNumberOfRetries > queueMaxRetries) {
		return invalid("MaxNumberOfRetries is %d; it must be from 0 to %d", *in.MaxNumberOfRetries, queueMaxRetries)
	}
	if in.SlaInMinutes != nil && *in.SlaInMinutes < 0 {
		return invalid("SlaInMinutes is %d; it must be 0 (none) or more", *in.SlaInMinutes)
	}
	if in.SpecificDataJSONSchema != nil && strings.TrimSpace(*in.SpecificDataJSONSchema) != "" {
		if _, err := a.compileSchema(*in.SpecificDataJSONSchema); err != nil {
			return invalid("SpecificDataJsonSchema is not a usable JSON Schema: %s", err)
		}
	}
	return nil
}

// createQueueDefinition serves POST /odata/QueueDefinitions.
func createQueueDefinition(a *API, c *call) *apiError {
	var in queueInput
	if e := bind(c, &in); e != nil {
		return e
	}
	if in.Name == nil {
		return invalid("Name is required: the name of the new queue")
	}
	if e := a.checkQueueInput(in); e != nil {
		return e
	}
	p := store.QueueDefinitionCreateParams{TenantID: c.tenant.ID, FolderID: c.folder.ID, Name: strings.TrimSpace(*in.Name),
		AcceptAutomaticallyRetry: in.AcceptAutomaticallyRetry}
	if in.Description != nil {
		p.Description = *in.Description
	}
	if in.MaxNumberOfRetries != nil {
		p.MaxNumberOfRetries = *in.MaxNumberOfRetries
	}
	if in.RetryAbandonedItems != nil {
		p.RetryAbandonedItems = *in.RetryAbandonedItems
	}
	if in.EnforceUniqueReference != nil {
		p.EnforceUniqueReference = *in.EnforceUniqueReference
	}
	if in.SpecificDataJSONSchema != nil {
		p.SpecificDataJSONSchema = strings.TrimSpace(*in.SpecificDataJSONSchema)
	}
	if in.SlaInMinutes != nil {
		p.SlaInMinutes = *in.SlaInMinutes
	}
	var q tenancy.QueueDefinition
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		var err error
		q, err = tx.QueueDefinitionCreate(c.ctx(), p)
		return store.AuditEntry{Action: "Create", Component: "QueueDefinitions", EntityID: q.ID, EntityName: q.Name,
			Details: fmt.Sprintf("created queue %s in folder %s (MaxNumberOfRetries %d, EnforceUniqueReference %t)",
				q.Name, c.folder.FullyQualifiedName, q.MaxNumberOfRetries, q.EnforceUniqueReference)}, err
	})
	if err != nil {
		return storeError(c, err)
	}
	c.w.Header().Set("Location", c.base+"/odata/QueueDefinitions("+strconv.FormatInt(q.ID, 10)+")")
	writeJSON(c.w, http.StatusCreated, withContext(c.base+"/odata/$metadata#QueueDefinitions/$entity", toQueueDTO(q, c.folder.FullyQualifiedName)))
	return nil
}

// updateQueueDefinition serves PUT and PATCH /odata/QueueDefinitions(id).
func updateQueueDefinition(a *API, c *call) *apiError {
	id, e := keyID(c)
	if e != nil {
		return e
	}
	var in queueInput
	if e := bind(c, &in); e != nil {
		return e
	}
	if in.Name == nil && c.r.Method == http.MethodPut {
		return invalid("Name is required with PUT (use PATCH to change only some fields)")
	}
	if e := a.checkQueueInput(in); e != nil {
		return e
	}
	var q tenancy.QueueDefinition
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		if _, err := queueInFolder(c, tx, id); err != nil {
			return store.AuditEntry{}, err
		}
		var err error
		q, err = tx.QueueDefinitionUpdate(c.ctx(), c.tenant.ID, id, func(q tenancy.QueueDefinition) (tenancy.QueueDefinition, error) {
			if in.EnforceUniqueReference != nil && *in.EnforceUniqueReference != q.EnforceUniqueReference {
				return q, &apiError{Status: http.StatusBadRequest, Code: codeInvalid,
					Message: fmt.Sprintf("EnforceUniqueReference is set when a queue is created and cannot change (queue %s has it %t); create a new queue instead", q.Name, q.EnforceUniqueReference)}
			}
			if in.Name != nil {
				q.Name = strings.TrimSpace(*in.Name)
			}
			if in.Description != nil {
				q.Description = *in.Description
			}
			if in.MaxNumberOfRetries != nil {
				q.MaxNumberOfRetries = *in.MaxNumberOfRetries
			}
			if in.AcceptAutomaticallyRetry != nil {
				q.AcceptAutomaticallyRetry = *in.AcceptAutomaticallyRetry
			}
			if in.RetryAbandonedItems != nil {
				q.RetryAbandonedItems = *in.RetryAbandonedItems
			}
			if in.SpecificDataJSONSchema != nil {
				q.SpecificDataJSONSchema = strings.TrimSpace(*in.SpecificDataJSONSchema)
			}
			if in.SlaInMinutes != nil {
				q.SlaInMinutes = *in.SlaInMinutes
			}
			return q, nil
		})
		return store.AuditEntry{Action: "Update", Component: "QueueDefinitions", EntityID: id, EntityName: q.Name,
			Details: fmt.Sprintf("changed queue %s in folder %s", q.Name, c.folder.FullyQualifiedName)}, err
	})
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	if err != nil {
		return storeError(c, err)
	}
	return writeEntity(a, c, "QueueDefinitions", toQueueDTO(q, c.folder.FullyQualifiedName))
}

// deleteQueueDefinition serves DELETE /odata/QueueDefinitions(id).
func deleteQueueDefinition(a *API, c *call) *apiError {
	id, e := keyID(c)
	if e != nil {
		return e
	}
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		q, err := queueInFolder(c, tx, id)
		if err == nil {
			err = tx.QueueDefinitionDelete(c.ctx(), c.tenant.ID, id)
		}
		return store.AuditEntry{Action: "Delete", Component: "QueueDefinitions", EntityID: id, EntityName: q.Name,
			Details: fmt.Sprintf("deleted queue %s from folder %s with its items", q.Name, c.folder.FullyQualifiedName)}, err
	})
	if err != nil {
		return storeError(c, err)
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// queueStatusDTO is UiPath's QueueProcessingStatusDto (the fields OpenOrch knows), with
// every status counted in ItemsByStatus.
type queueStatusDTO struct {
	ID                                      int64            `json:"Id"`
	QueueDefinitionID                       int64            `json:"QueueDefinitionId"`
	QueueDefinitionKey                      string           `json:"QueueDefinitionKey"`
	QueueDefinitionName                     string           `json:"QueueDefinitionName"`
	QueueDefinitionDescription              string           `json:"QueueDefinitionDescription"`
	QueueDefinitionAcceptAutomaticallyRetry bool             `json:"QueueDefinitionAcceptAutomaticallyRetry"`
	QueueDefinitionMaxNumberOfRetries       int              `json:"QueueDefinitionMaxNumberOfRetries"`
	QueueDefinitionEnforceUniqueReference   bool             `json:"QueueDefinitionEnforceUniqueReference"`
	ItemsToProcess                          int64            `json:"ItemsToProcess"`
	ItemsInProgress                         int64            `json:"ItemsInProgress"`
	SuccessfulTransactionsNo                int64            `json:"SuccessfulTransactionsNo"`
	ItemsByStatus                           map[string]int64 `json:"ItemsByStatus"`
	SpecificDataJSONSchemaExists            bool             `json:"SpecificDataJsonSchemaExists"`
}

// queuesProcessingStatus serves GET /odata/QueueProcessingRecords/RetrieveQueuesProcessingStatus.
func queuesProcessingStatus(a *API, c *call) *apiError {
	qs, err := a.st.QueueDefinitionList(c.ctx(), c.tenant.ID, c.folder.ID)
	if err != nil {
		return internalError(c.r, err)
	}
	counts, err := a.st.QueueItemCounts(c.ctx(), c.tenant.ID, c.folder.ID)
	if err != nil {
		return internalError(c.r, err)
	}
	out := make([]queueStatusDTO, 0, len(qs))
	for _, q := range qs {
		d := queueStatusDTO{ID: q.ID, QueueDefinitionID: q.ID, QueueDefinitionKey: q.Key, QueueDefinitionName: q.Name,
			QueueDefinitionDescription: q.Description, QueueDefinitionAcceptAutomaticallyRetry: q.AcceptAutomaticallyRetry,
			QueueDefinitionMaxNumberOfRetries: q.MaxNumberOfRetries, QueueDefinitionEnforceUniqueReference: q.EnforceUniqueReference,
			ItemsByStatus: map[string]int64{}, SpecificDataJSONSchemaExists: q.SpecificDataJSONSchema != ""}
		for _, s := range store.QueueItemStatuses {
			d.ItemsByStatus[string(s)] = 0
		}
		for _, n := range counts {
			if n.QueueID == q.ID {
				d.ItemsByStatus[string(n.Status)] = n.Count
			}
		}
		d.ItemsToProcess, d.ItemsInProgress = d.ItemsByStatus["New"], d.ItemsByStatus["InProgress"]
		d.SuccessfulTransactionsNo = d.ItemsByStatus["Successful"]
		out = append(out, d)
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"@odata.context": c.base + "/odata/$metadata#Collection(" + edmNamespace + ".QueueProcessingStatusDto)",
		"value": out})
	return nil
}

// ---- JSON Schema of SpecificContent ----

// noRemoteSchemas refuses every $ref to another document: a schema given through the API
// must not make the server read files or fetch URLs.
type noRemoteSchemas struct{}

func (noRemoteSchemas) Load(url string) (any, error) {
	return nil, fmt.Errorf("the schema refers to %s; SpecificDataJsonSchema must be self-contained (no $ref to other documents)", url)
}

// compileSchema compiles a queue's SpecificDataJsonSchema, once per distinct text.
func (a *API) compileSchema(text string) (*jsonschema.Schema, error) {
	if s, ok := a.queues.schemas.Load(text); ok {
		return s.(*jsonschema.Schema), nil
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("it is not JSON: %v", err)
	}
	comp := jsonschema.NewCompiler()
	comp.UseLoader(noRemoteSchemas{})
	const loc = "queue-schema.json"
	if err := comp.AddResource(loc, doc); err != nil {
		return nil, err
	}
	s, err := comp.Compile(loc)
	if err != nil {
		return nil, errors.New(strings.ReplaceAll(err.Error(), "file://", ""))
	}
	a.queues.schemas.Store(text, s)
	return s, nil
}

var schemaPrinter = message.NewPrinter(language.English)

// checkSchema validates content (a JSON object as text) against q's schema; the refusal
// names the failing places by JSON pointer: "at /Email: …".
func (a *API) checkSchema(q tenancy.QueueDefinition, field, content string) *apiError {
	if q.SpecificDataJSONSchema == "" {
		return nil
	}
	sch, err := a.compileSchema(q.SpecificDataJSONSchema)
	if err != nil {
		return invalid("queue %s has a SpecificDataJsonSchema that cannot be used (%s); fix it with PUT /odata/QueueDefinitions(%d)", q.Name, err, q.ID)
	}
	if content == "" {
		content = "{}"
	}
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(content))
	if err != nil {
		return invalid("%s is not JSON: %s", field, err)
	}
	err = sch.Validate(v)
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	var fails []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			fails = append(fails, fmt.Sprintf("at %s: %s", jsonPointer(e.InstanceLocation), e.ErrorKind.LocalizedString(schemaPrinter)))
		}
		for _, x := range e.Causes {
			walk(x)
		}
	}
	walk(ve)
	return &apiError{Status: http.StatusBadRequest, Code: codeInvalid,
		Message: fmt.Sprintf("%s does not match the SpecificDataJsonSchema of queue %s: %s", field, q.Name, strings.Join(fails, "; ")),
		Details: map[string]any{"field": field, "errors": fails}}
}

// jsonPointer renders an instance location as a JSON pointer ("/" for the whole object).
func jsonPointer(tokens []string) string {
	if len(tokens) == 0 {
		return "/"
	}
	var b bytes.Buffer
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(t))
	}
	return b.String()
}
