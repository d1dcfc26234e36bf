package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// Transactions: adding items and processing them. UiPath does not rate-limit these
// (reference/semantics.md §1), nor does OpenOrch (NoRateLimit). They are recorded in the
// items' history, not in the audit log (see queues.go), except BulkAddQueueItems, audited
// once per call.

func (a *API) transactionRoutes() []route {
	return []route{
		{Method: "POST", Set: "Queues", Action: "AddQueueItem", Scope: "OR.Queues", Perm: "Transactions.Create", Folder: folderRequired,
			Handle: addQueueItem, NoRateLimit: true,
			Summary: "{\"itemData\":{\"Name\":<queue>,\"Priority\":\"High|Normal|Low\",\"Reference\",\"SpecificContent\":{…},\"DeferDate\",\"DueDate\",\"RiskSlaDate\",\"Progress\",\"Source\"}} → 201 QueueItemDto. A reference a queue with unique references already took (deleted items' included) is 409, errorCode 1016, with the existing item in details."},
		{Method: "POST", Set: "Queues", Action: "BulkAddQueueItems", Scope: "OR.Queues", Perm: "Transactions.Create", Folder: folderRequired,
			Handle: bulkAddQueueItems, NoRateLimit: true,
			Summary: "{\"queueName\",\"commitType\":\"AllOrNothing|StopOnFirstFailure|ProcessAllIndependently\",\"queueItems\":[QueueItemDataDto…]} (at most 15,000) → {Success, Message, FailedItems:[{Ordinal (0-based), ErrorCode, ErrorMessage}]}."},
		{Method: "POST", Set: "Queues", Action: "StartTransaction", Scope: "OR.Queues", Perm: "Transactions.Edit", Folder: folderRequired,
			Handle: startTransaction, NoRateLimit: true,
			Summary: "{\"transactionData\":{\"Name\":<queue>,\"RobotIdentifier\",\"Reference\",\"ReferenceFilterOption\":\"Equals|StartsWith\",\"SpecificContent\"}}: the next item (deadline first, then priority, then oldest), now InProgress and held by the caller; 204 when none is available. With SpecificContent, a new item is added and started. Prefer: wait=N (N ≤ 60) waits up to N seconds for an item (Preference-Applied says so). Needs Queues.View and Transactions.View too (and Transactions.Create with SpecificContent)."},
		{Method: "POST", Set: "Queues", Key: true, Action: "SetTransactionResult", Scope: "OR.Queues", Perm: "Transactions.Edit", Folder: folderRequired,
			Handle: setTransactionResult, NoRateLimit: true,
			Summary: "Queues(<item Id>): {\"transactionResult\":{\"IsSuccessful\",\"ProcessingException\":{\"Reason\",\"Details\",\"Type\":\"ApplicationException|BusinessException\"},\"Output\":{…},\"Analytics\":{…},\"Progress\",\"DeferDate\",\"DueDate\"}}. An application exception is retried while the queue allows (DeferDate and DueDate then apply to the retry); a business exception never. 409 with the item's state when it is not InProgress or another caller holds it."},
		{Method: "POST", Set: "QueueItems", Key: true, Action: "SetTransactionProgress", Scope: "OR.Queues", Perm: "Transactions.Edit",
			Folder: folderOptional, Handle: setTransactionProgress, NoRateLimit: true,
			Summary: "{\"progress\":\"…\"}: the progress of an InProgress item, by the caller holding it (409 otherwise)."},
	}
}

// flexTime reads the dates clients send: ISO 8601 with or without a zone (none means
// UTC, as .NET clients write), or a date alone.
type flexTime struct{ t time.Time }

func (f *flexTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a date must be a string such as \"2024-04-04T12:00:00Z\", got %s", b)
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			f.t = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("%q is not a date and time; send ISO 8601 such as 2024-04-04T12:00:00Z", s)
}

func (f *flexTime) time() *time.Time {
	if f == nil {
		return nil
	}
	t := f.t
	return &t
}

// itemInput is UiPath's QueueItemDataDto, bound case-insensitively.
type itemInput struct {
	Name            *string         `json:"Name"`
	Priority        *string         `json:"Priority"`
	SpecificContent json.RawMessage `json:"SpecificContent"`
	DeferDate       *flexTime       `json:"DeferDate"`
	DueDate         *flexTime       `json:"DueDate"`
	RiskSlaDate     *flexTime       `json:"RiskSlaDate"`
	Reference       *string         `json:"Reference"`
	Progress        *string         `json:"Progress"`
	Source          *string         `json:"Source"`
}

// jsonObjectText checks that raw is a JSON object (or null/absent: "") and returns it
// compacted, refusing it above limit characters.
func jsonObjectText(field string, raw json.RawMessage, limit int) (string, *apiError) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return "", nil
	}
	if t[0] != '{' {
		return "", invalid("%s must be a JSON object of names and values, such as {\"Email\":\"a@b.c\"}", field)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, t); err != nil {
		return "", invalid("%s is not valid JSON: %s", field, err)
	}
	s := b.String()
	if e := checkText(field+" (as JSON)", s, limit); e != nil {
		return "", e
	}
	return s, nil
}

// itemData checks an item's fields against the limits and the queue's schema; prefix
// names the object in messages ("itemData", "queueItems[3]"). With old, fields left out
// keep old's values.
func (a *API) itemData(q tenancy.QueueDefinition, prefix string, in itemInput, old *store.QueueItem) (store.QueueItemData, *apiError) {
	field := func(n string) string {
		if prefix == "" {
			return n
		}
		return prefix + "." + n
	}
	var d store.QueueItemData
	if old != nil {
		d = store.QueueItemData{Priority: old.Priority, Reference: old.Reference, SpecificContent: old.SpecificContent,
			Progress: old.Progress, DeferDate: old.DeferDate, DueDate: old.DueDate, RiskSLADate: old.RiskSLADate, Source: old.Source}
	}
	if in.Priority != nil && strings.TrimSpace(*in.Priority) != "" {
		p, e := parseEnum(field("Priority"), *in.Priority, store.QueuePriorities)
		if e != nil {
			return d, e
		}
		d.Priority = p
	}
	if in.Reference != nil {
		if e := checkText(field("Reference"), *in.Reference, referenceMax); e != nil {
			return d, e
		}
		d.Reference = *in.Reference
	}
	if in.SpecificContent != nil {
		s, e := jsonObjectText(field("SpecificContent"), in.SpecificContent, specificContentMax)
		if e != nil {
			return d, e
		}
		d.SpecificContent = s
	}
	if e := a.checkSchema(q, field("SpecificContent"), d.SpecificContent); e != nil {
		return d, e
	}
	if in.Progress != nil {
		if e := checkText(field("Progress"), *in.Progress, progressMax); e != nil {
			return d, e
		}
		d.Progress = *in.Progress
	}
	if in.Source != nil {
		if e := checkText(field("Source"), *in.Source, sourceMax); e != nil {
			return d, e
		}
		d.Source = *in.Source
	}
	if in.DeferDate != nil {
		d.DeferDate = in.DeferDate.time()
	}
	if in.DueDate != nil {
		d.DueDate = in.DueDate.time()
	}
	if in.RiskSlaDate != nil {
		d.RiskSLADate = in.RiskSlaDate.time()
	}
	return d, nil
}

// addQueueItem serves POST /odata/Queues/AddQueueItem.
func addQueueItem(a *API, c *call) *apiError {
	if e := a.needPerms(c, *c.folder, "Queues.View"); e != nil {
		return e
	}
	var body struct {
		ItemData *itemInput `json:"itemData"`
	}
	if e := bind(c, &body); e != nil {
		return e
	}
	if body.ItemData == nil {
		return invalid("the body must be {\"itemData\":{\"Name\":<queue name>, …}}")
	}
	q, e := a.queueByName(c, "itemData.Name", body.ItemData.Name)
	if e != nil {
		return e
	}
	d, e := a.itemData(q, "itemData", *body.ItemData, nil)
	if e != nil {
		return e
	}
	it, err := a.st.QueueItemAdd(c.ctx(), store.QueueItemAddParams{TenantID: c.tenant.ID, QueueID: q.ID, Data: d, Actor: actorOf(c), Now: a.now()})
	if e := queueWriteError(c, err); e != nil {
		return e
	}
	a.queues.added.Inc()
	a.queues.signal.Notify(q.ID)
	c.w.Header().Set("Location", c.base+"/odata/QueueItems("+strconv.FormatInt(it.ID, 10)+")")
	return a.writeItem(c, http.StatusCreated, it)
}

// failedItemDTO is UiPath's FailedQueueItemDto.
type failedItemDTO struct {
	Ordinal      int    `json:"Ordinal"`
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

// bulkAddQueueItems serves POST /odata/Queues/BulkAddQueueItems.
func bulkAddQueueItems(a *API, c *call) *apiError {
	if e := a.needPerms(c, *c.folder, "Queues.View"); e != nil {
		return e
	}
	var body struct {
		QueueName  *string     `json:"queueName"`
		CommitType *string     `json:"commitType"`
		QueueItems []itemInput `json:"queueItems"`
	}
	if e := bind(c, &body); e != nil {
		return e
	}
	q, e := a.queueByName(c, "queueName", body.QueueName)
	if e != nil {
		return e
	}
	mode := store.QueueProcessAllIndependently
	if body.CommitType != nil && strings.TrimSpace(*body.CommitType) != "" {
		if mode, e = parseEnum("commitType", *body.CommitType, []store.QueueCommitType{store.QueueAllOrNothing,
			store.QueueStopOnFirstFailure, store.QueueProcessAllIndependently}); e != nil {
			return e
		}
	}
	switch n := len(body.QueueItems); {
	case n == 0:
		return invalid("queueItems is empty: send the items to add, as QueueItemDataDto objects")
	case n > bulkItemsMax:
		return invalid("queueItems has %d items; the limit is %d per call", n, bulkItemsMax)
	}
	// Items refused here (limits, schema) never reach the store.
	var failed []failedItemDTO
	var items []store.QueueItemData
	var ordinals []int
	for i, in := range body.QueueItems {
		d, e := a.itemData(q, fmt.Sprintf("queueItems[%d]", i), in, nil)
		if e != nil {
			failed = append(failed, failedItemDTO{Ordinal: i, ErrorCode: "InvalidItem", ErrorMessage: e.Message})
			if mode == store.QueueStopOnFirstFailure {
				break
			}
			continue
		}
		items, ordinals = append(items, d), append(ordinals, i)
	}
	var res store.QueueItemBulkResult
	if len(items) > 0 && !(mode == store.QueueAllOrNothing && len(failed) > 0) {
		err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
			var err error
			res, err = tx.QueueItemAddBulk(c.ctx(), store.QueueItemAddBulkParams{TenantID: c.tenant.ID, QueueID: q.ID, Commit: mode,
				Items: items, Ordinals: ordinals, Actor: actorOf(c), Now: a.now()})
			return store.AuditEntry{Action: "Create", Component: "QueueItems", EntityID: q.ID, EntityName: q.Name,
				Details: fmt.Sprintf("added %d of %d items to queue %s (%s)", len(res.Added), len(body.QueueItems), q.Name, mode)}, err
		})
		if err != nil && !errors.Is(err, store.ErrNothingAdded) {
			return storeError(c, err)
		}
		if errors.Is(err, store.ErrNothingAdded) {
			res.Added = nil
		}
		if mode == store.QueueStopOnFirstFailure && res.Stopped >= 0 {
			failed = nil // the store stopped before the item refused here
		}
	}
	for _, f := range res.Failed {
		failed = append(failed, failedItemDTO{Ordinal: f.Ordinal, ErrorCode: f.Code, ErrorMessage: f.Message})
	}
	sort.Slice(failed, func(i, j int) bool { return failed[i].Ordinal < failed[j].Ordinal })
	if len(res.Added) > 0 {
		a.queues.added.Add(float64(len(res.Added)))
		a.queues.signal.Notify(q.ID)
	}
	msg := fmt.Sprintf("%d of %d items added to queue %s", len(res.Added), len(body.QueueItems), q.Name)
	switch {
	case mode == store.QueueAllOrNothing && len(failed) > 0:
		msg = fmt.Sprintf("no item was added to queue %s: %d were refused and the commit type is AllOrNothing", q.Name, len(failed))
	case mode == store.QueueStopOnFirstFailure && len(failed) > 0:
		msg += fmt.Sprintf("; stopped at item %d (StopOnFirstFailure)", failed[0].Ordinal)
	}
	if failed == nil {
		failed = []failedItemDTO{}
	}
	writeJSON(c.w, http.StatusOK, map[string]any{
		"@odata.context": c.base + "/odata/$metadata#" + edmNamespace + ".BulkOperationResponseDtoOfFailedQueueItemDto",
		"Success":        len(failed) == 0, "Message": msg, "FailedItems": failed})
	return nil
}

// maxWait is the longest Prefer: wait OpenOrch applies, in seconds.
const maxWait = 60

// preferWait reads Prefer: wait=N (RFC 7240); ok is false without it. A larger N is cut to
// maxWait; a malformed one is ignored, as RFC 7240 has servers ignore preferences they
// cannot use.
func preferWait(r *http.Request) (secs int, ok bool) {
	for _, h := range r.Header.Values("Prefer") {
		for _, pref := range strings.Split(h, ",") {
			pref, _, _ = strings.Cut(pref, ";")
			name, value, hasValue := strings.Cut(pref, "=")
			if !strings.EqualFold(strings.TrimSpace(name), "wait") || !hasValue {
				continue
			}
			n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(value), `"`))
			if err != nil || n < 0 {
				continue
			}
			return min(n, maxWait), true
		}
	}
	return 0, false
}

// startTransaction serves POST /odata/Queues/StartTransaction.
func startTransaction(a *API, c *call) *apiError {
	if e := a.needPerms(c, *c.folder, "Queues.View", "Transactions.View"); e != nil {
		return e
	}
	var body struct {
		TransactionData *struct {
			itemInput
			RobotIdentifier       *string `json:"RobotIdentifier"`
			ReferenceFilterOption *string `json:"ReferenceFilterOption"`
		} `json:"transactionData"`
	}
	if e := bind(c, &body); e != nil {
		return e
	}
	td := body.TransactionData
	if td == nil {
		return invalid("the body must be {\"transactionData\":{\"Name\":<queue name>, …}}")
	}
	q, e := a.queueByName(c, "transactionData.Name", td.Name)
	if e != nil {
		return e
	}
	robot := ""
	if td.RobotIdentifier != nil {
		robot = *td.RobotIdentifier
	}
	if content := bytes.TrimSpace(td.SpecificContent); len(content) > 0 && string(content) != "null" {
		return a.startNewItem(c, q, td.itemInput, robot)
	}
	p := store.QueueItemStartParams{TenantID: c.tenant.ID, QueueID: q.ID, Actor: actorOf(c), RobotKey: robot}
	if td.Reference != nil {
		p.Reference = *td.Reference
	}
	if td.ReferenceFilterOption != nil && strings.TrimSpace(*td.ReferenceFilterOption) != "" {
		opt, e := parseEnum("transactionData.ReferenceFilterOption", *td.ReferenceFilterOption, []string{"Equals", "StartsWith"})
		if e != nil {
			return e
		}
		p.ReferenceStartsWith = opt == "StartsWith"
	}
	wait, waiting := preferWait(c.r)
	if waiting {
		c.w.Header().Set("Preference-Applied", "wait="+strconv.Itoa(wait))
	}
	deadline := time.Now().Add(time.Duration(wait) * time.Second)
	for {
		// Listen before looking, so that an item added between the look and the wait
		// still wakes this call.
		woken, stop := a.queues.signal.Wait(q.ID)
		p.Now = a.now()
		it, found, err := a.st.QueueItemStart(c.ctx(), p)
		if err != nil || found {
			stop()
			if err != nil {
				return storeError(c, err)
			}
			a.queues.transactions.WithLabelValues("started").Inc()
			return a.writeItem(c, http.StatusOK, it)
		}
		left := time.Until(deadline)
		if left <= 0 || a.shuttingDown() {
			stop()
			c.w.WriteHeader(http.StatusNoContent)
			return nil
		}
		timer := time.NewTimer(min(left, a.waitPoll))
		select {
		case <-woken:
		case <-timer.C:
		case <-c.ctx().Done():
		case <-a.stopping:
		}
		timer.Stop()
		stop()
		if c.ctx().Err() != nil {
			return nil // the caller went away
		}
	}
}

// startNewItem is StartTransaction with SpecificContent: a new item, added InProgress.
func (a *API) startNewItem(c *call, q tenancy.QueueDefinition, in itemInput, robot string) *apiError {
	if e := a.needPerms(c, *c.folder, "Transactions.Create"); e != nil {
		return e
	}
	d, e := a.itemData(q, "transactionData", in, nil)
	if e != nil {
		return e
	}
	it, err := a.st.QueueItemAdd(c.ctx(), store.QueueItemAddParams{TenantID: c.tenant.ID, QueueID: q.ID, Data: d, Actor: actorOf(c),
		Start: true, RobotKey: robot, Now: a.now()})
	if e := queueWriteError(c, err); e != nil {
		return e
	}
	a.queues.added.Inc()
	a.queues.transactions.WithLabelValues("started").Inc()
	return a.writeItem(c, http.StatusOK, it)
}

// setTransactionProgress serves POST /odata/QueueItems(id)/SetTransactionProgress.
func setTransactionProgress(a *API, c *call) *apiError {
	id, e := keyID(c)
	if e != nil {
		return e
	}
	if _, e := a.itemFor(c, id, "Queues.View", "Transactions.Edit"); e != nil {
		return e
	}
	var body struct {
		Progress *string `json:"progress"`
	}
	if e := bind(c, &body); e != nil {
		return e
	}
	if body.Progress == nil {
		return invalid("the body must be {\"progress\":\"…\"}")
	}
	if e := checkText("progress", *body.Progress, progressMax); e != nil {
		return e
	}
	_, err := a.st.QueueItemSetProgress(c.ctx(), store.QueueItemProgressParams{TenantID: c.tenant.ID, ItemID: id, Progress: *body.Progress,
		Actor: actorOf(c), Now: a.now()})
	if e := queueWriteError(c, err); e != nil {
		return e
	}
	c.w.WriteHeader(http.StatusOK)
	return nil
}

// setTransactionResult serves POST /odata/Queues(id)/SetTransactionResult, id being the
// item's.
func setTransactionResult(a *API, c *call) *apiError {
	id, e := keyID(c)
	if e != nil {
		return e
	}
	if e := a.needPerms(c, *c.folder, "Queues.View"); e != nil {
		return e
	}
	var body struct {
		TransactionResult *struct {
			IsSuccessful        *bool `json:"IsSuccessful"`
			ProcessingException *struct {
				Reason  *string `json:"Reason"`
				Details *string `json:"Details"`
				Type    *string `json:"Type"`
			} `json:"ProcessingException"`
			DeferDate *flexTime       `json:"DeferDate"`
			DueDate   *flexTime       `json:"DueDate"`
			Output    json.RawMessage `json:"Output"`
			Analytics json.RawMessage `json:"Analytics"`
			Progress  *string         `json:"Progress"`
		} `json:"transactionResult"`
	}
	if e := bind(c, &body); e != nil {
		return e
	}
	tr := body.TransactionResult
	if tr == nil {
		return invalid("the body must be {\"transactionResult\":{\"IsSuccessful\":true|false, …}}")
	}
	p := store.QueueItemResultParams{TenantID: c.tenant.ID, ItemID: id, Success: tr.IsSuccessful != nil && *tr.IsSuccessful,
		DeferDate: tr.DeferDate.time(), DueDate: tr.DueDate.time(), Progress: tr.Progress, Actor: actorOf(c), Now: a.now()}
	if p.Output, e = jsonObjectText("transactionResult.Output", tr.Output, outputMax); e != nil {
		return e
	}
	if p.Analytics, e = jsonObjectText("transactionResult.Analytics", tr.Analytics, analyticsMax); e != nil {
		return e
	}
	if tr.Progress != nil {
		if e := checkText("transactionResult.Progress", *tr.Progress, progressMax); e != nil {
			return e
		}
	}
	if pe := tr.ProcessingException; pe != nil && !p.Success {
		ex := store.QueueItemException{Type: store.QueueApplicationException}
		if pe.Type != nil && strings.TrimSpace(*pe.Type) != "" {
			t := strings.TrimSpace(*pe.Type)
			if strings.EqualFold(t, "Application") || strings.EqualFold(t, "Business") {
				t += "Exception"
			}
			if ex.Type, e = parseEnum("transactionResult.ProcessingException.Type", t, store.QueueExceptionTypes); e != nil {
				return e
			}
		}
		for _, f := range []struct {
			name string
			v    *string
			to   *string
		}{{"Reason", pe.Reason, &ex.Reason}, {"Details", pe.Details, &ex.Details}} {
			if f.v == nil {
				continue
			}
			if e := checkText("transactionResult.ProcessingException."+f.name, *f.v, exceptionTextMax); e != nil {
				return e
			}
			*f.to = *f.v
		}
		p.Exception = &ex
	}
	// The store refuses an item of another folder as not found.
	p.FolderID = c.folder.ID
	res, err := a.st.QueueItemSetResult(c.ctx(), p)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("queue item %d does not exist in folder %s (SetTransactionResult takes the item's Id: Queues(<item Id>))", id, c.folder.FullyQualifiedName)
	}
	if e := queueWriteError(c, err); e != nil {
		return e
	}
	outcome := "successful"
	if res.Item.Exception != nil {
		outcome = map[store.QueueExceptionType]string{store.QueueApplicationException: "application_exception",
			store.QueueBusinessException: "business_exception"}[res.Item.Exception.Type]
	}
	a.queues.transactions.WithLabelValues(outcome).Inc()
	if res.Retry != nil {
		a.queues.signal.Notify(res.Retry.QueueID)
	}
	c.w.WriteHeader(http.StatusOK)
	return nil
}
