package storetest

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/odata"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// The queue tests run on an injected clock: every time-dependent call passes Now.
var qt0 = time.Date(2030, 3, 1, 9, 0, 0, 0, time.UTC)

// queueEnv is a tenant with a folder and a queue, and two callers.
type queueEnv struct {
	env
	folder     tenancy.Folder
	queue      tenancy.QueueDefinition
	robot, bob store.QueueActor
}

func mustQueueEnv(t testing.TB, s store.Store, p store.QueueDefinitionCreateParams) queueEnv {
	t.Helper()
	e := mustEnv(t, s, "acme")
	f := mustFolder(t, s, e.tenant.ID, 0, "Shared")
	p.TenantID, p.FolderID = e.tenant.ID, f.ID
	if p.Name == "" {
		p.Name = "Invoices"
	}
	q, err := s.QueueDefinitionCreate(t.Context(), p)
	ok(t, err, "QueueDefinitionCreate")
	return queueEnv{env: e, folder: f, queue: q,
		robot: store.QueueActor{Principal: "machine:1", Name: "machine worker-1", ClientID: "worker-1"},
		bob:   store.QueueActor{Principal: "user:2", Name: "user bob@acme.test", ClientID: "orch-cli"}}
}

func (qe queueEnv) add(t testing.TB, s store.Store, d store.QueueItemData) store.QueueItem {
	t.Helper()
	it, err := s.QueueItemAdd(t.Context(), store.QueueItemAddParams{TenantID: qe.tenant.ID, QueueID: qe.queue.ID, Data: d, Actor: qe.bob, Now: qt0})
	ok(t, err, "QueueItemAdd")
	return it
}

// start takes the next item at now; it fails the test on an error and returns ok.
func (qe queueEnv) start(t testing.TB, s store.Store, who store.QueueActor, now time.Time) (store.QueueItem, bool) {
	t.Helper()
	it, found, err := s.QueueItemStart(t.Context(), store.QueueItemStartParams{TenantID: qe.tenant.ID, QueueID: qe.queue.ID, Actor: who, Now: now})
	ok(t, err, "QueueItemStart")
	return it, found
}

func (qe queueEnv) mustStart(t testing.TB, s store.Store, who store.QueueActor, now time.Time) store.QueueItem {
	t.Helper()
	it, found := qe.start(t, s, who, now)
	if !found {
		t.Fatal("QueueItemStart found no item, want one")
	}
	return it
}

func at(d time.Duration) *time.Time { v := qt0.Add(d); return &v }

func wantStateError(t testing.TB, err error, status store.QueueItemStatus, what string) {
	t.Helper()
	var se *store.QueueItemStateError
	if !errors.As(err, &se) || !errors.Is(err, store.ErrConflict) {
		t.Errorf("%s: err = %v, want a *QueueItemStateError that is ErrConflict", what, err)
		return
	}
	if se.Item.Status != status {
		t.Errorf("%s: the error carries the item as %s, want %s", what, se.Item.Status, status)
	}
}

func wantDuplicate(t testing.TB, err error, key string, status store.QueueItemStatus, what string) {
	t.Helper()
	dup, isDup := store.AsDuplicateReference(err)
	if !isDup || !errors.Is(err, store.ErrConflict) {
		t.Errorf("%s: err = %v, want a *DuplicateReferenceError that is ErrConflict", what, err)
		return
	}
	if dup.Key != key || dup.Status != status {
		t.Errorf("%s: duplicate of Key %s (%s), want Key %s (%q)", what, dup.Key, dup.Status, key, status)
	}
}

func refs(items []store.QueueItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Reference
	}
	return out
}

func queueItemTests() []test {
	return []test{
		{"AddAndGet", func(t *testing.T, s store.Store) {
			c := t.Context()
			qe := mustQueueEnv(t, s, store.QueueDefinitionCreateParams{})
			it := qe.add(t, s, store.QueueItemData{Priority: store.QueuePriorityHigh, Reference: "ref-1", SpecificContent: `{"Email":"a@b.c"}`,
				DueDate: at(time.Hour), Source: "Manual"})
			checkNew(t, "queue item", it.ID, it.Key, time.Now())
			if it.Status != store.QueueItemNew || it.ReviewStatus != store.QueueReviewNone || it.Priority != store.QueuePriorityHigh ||
				it.Reference != "ref-1" || it.SpecificContent != `{"Email":"a@b.c"}` || it.QueueID != qe.queue.ID ||
				it.FolderID != qe.folder.ID || it.TenantID != qe.tenant.ID || !it.CreatedAt.Equal(qt0) || it.DueDate == nil ||
				!it.DueDate.Equal(qt0.Add(time.Hour)) || it.UniqueKey == it.Key || it.Source != "Manual" || it.Exception != nil {
				t.Errorf("added item: %+v", it)
			}
			got, err := s.QueueItemGet(c, qe.tenant.ID, it.ID)
			ok(t, err, "QueueItemGet")
			if got.ID != it.ID || got.Key != it.Key || got.SpecificContent != it.SpecificContent || got.Version != it.Version {
				t.Errorf("QueueItemGet = %+v, want %+v", got, it)
			}
			normal := qe.add(t, s, store.QueueItemData{})
			if normal.Priority != store.QueuePriorityNormal {
				t.Errorf("an item without priority is %s, want Normal", normal.Priority)
			}
			_, err = s.QueueItemGet(c, qe.tenant.ID, missingID)
			wantNotFound(t, err, "QueueItemGet of a missing id")
			// Another tenant sees none of it.
			other := mustTenant(t, s, qe.org.ID, "Other")
			_, err = s.QueueItemGet(c, other.ID, it.ID)
			wantNotFound(t, err, "QueueItemGet from another tenant")
			if _, found, err := s.QueueItemStart(c, store.QueueItemStartParams{TenantID: other.ID, QueueID: qe.queue.ID, Actor: qe.robot, Now: qt0}); err != nil || found {
				t.Errorf("QueueItemStart from another tenant: found %v, err %v; want nothing", found, err)
			}
			_, err = s.QueueItemAdd(c, store.QueueItemAddParams{TenantID: other.ID, QueueID: qe.queue.ID, Actor: qe.bob})
			wantNotFound(t, err, "QueueItemAdd to another tenant's queue")
			evs, err := s.QueueItemEventList(c, qe.tenant.ID, it.ID)
			ok(t, err, "QueueItemEventList")
			if len(evs) != 1 || evs[0].Action != "Created" || evs[0].UserName != "user bob@acme.test" || evs[0].ClientID != "orch-cli" ||
				evs[0].Status != store.QueueItemNew || evs[0].QueueItemID != it.ID {
				t.Errorf("events of a new item: %+v", evs)
			}
		}},
		{"Order", func(t *testing.T, s store.Store) {
			qe := mustQueueEnv(t, s, store.QueueDefinitionCreateParams{})
			add := func(ref string, p store.QueuePriority, due, deferred *time.Time) {
				qe.add(t, s, store.QueueItemData{Reference: ref, Priority: p, DueDate: due, DeferDate: deferred})
			}
			add("a normal", store.QueuePriorityNormal, nil, nil)
			add("b low due+3h", store.QueuePriorityLow, at(3*time.Hour), nil)
			add("c high", store.QueuePriorityHigh, nil, nil)
			add("d high due+5h", store.QueuePriorityHigh, at(5*time.Hour), nil)
			add("e normal due+1h", store.QueuePriorityNormal, at(time.Hour), nil)
			add("f high due+2h", store.QueuePriorityHigh, at(2*time.Hour), nil)
			add("g high deferred 30m", store.QueuePriorityHigh, nil, at(30*time.Minute))
			add("h low", store.QueuePriorityLow, nil, nil)
			add("i normal due+1h", store.QueuePriorityNormal, at(time.Hour), nil)
			add("j normal", store.QueuePriorityNormal, nil, nil)
			var got []string
			for {
				it, found := qe.start(t, s, qe.robot, qt0)
				if !found {
					break
				}
				got = append(got, it.Reference)
			}
			want := []string{"f high due+2h", "d high due+5h", "e normal due+1h", "i normal due+1h", "b low due+3h",
				"c high", "a normal", "j normal", "h low"}
			if !slices.Equal(got, want) {
				t.Errorf("items were taken in the order\n %q\nwant\n %q", got, want)
			}
			// The deferred item is hidden until its DeferDate, then taken.
			if it, found := qe.start(t, s, qe.robot, qt0.Add(29*time.Minute)); found {
				t.Errorf("the deferred item was taken before its DeferDate: %+v", it)
			}
			it := qe.mustStart(t, s, qe.robot, qt0.Add(30*time.Minute))
			if it.Reference != "g high deferred 30m" || it.StartProcessing == nil || !it.StartProcessing.Equal(qt0.Add(30*time.Minute)) {
				t.Errorf("at its DeferDate: took %q started %v", it.Reference, it.StartProcessing)
			}
		}},
		{"StartHoldsTheItem", func(t *testing.T, s store.Store) {
			c := t.Context()
			qe := mustQueueEnv(t, s, store.QueueDefinitionCreateParams{})
			added := qe.add(t, s, store.QueueItemData{Reference: "x"})
			it, found, err := s.QueueItemStart(c, store.QueueItemStartParams{TenantID: qe.tenant.ID, QueueID: qe.queue.ID, Actor: qe.robot,
				RobotKey: "robot-key-1", Now: qt0.Add(time.Minute)})
			ok(t, err, "QueueItemStart")
			if !found || it.ID != added.ID || it.Status != store.QueueItemInProgress || it.Holder != qe.robot.Principal ||
				it.RobotKey != "robot-key-1" || it.Version <= added.Version {
				t.Errorf("started item: %+v", it)
			}
			if _, found := qe.start(t, s, qe.bob, qt0); found {
				t.Error("an item InProgress was handed out twice")
			}
		}},
		{"ReferenceFilter", func(t *testing.T, s store.Store) {
			c := t.Context()
			qe := mustQueueEnv(t, s, store.QueueDefinitionCreateParams{})
			for _, r := range []string{"INV-1", "inv-10", "inv_2", "other", "inv%3"} {
				qe.add(t, s, store.QueueItemData{Reference: r})
			}
			take := func(ref string, prefix bool) string {
				it, found, err := s.QueueItemStart(c, store.QueueItemStartParams{TenantID: qe.tenant.ID, QueueID: qe.queue.ID,
					Reference: ref, ReferenceStartsWith: prefix, Actor: qe.robot, Now: qt0})
				ok(t, err, "QueueItemStart")
				if !found {
					return ""
				}
				return it.Reference
			}
			if got := take("inv-1", false); got != "INV-1" {
				t.Errorf("Reference Equals inv-1 took %q, want INV-1 (case-insensitive)", got)
			}
			if got := take("inv-1", false); got != "" {
				t.Errorf("Reference Equals inv-1 again took %q, want none", got)
			}
			if got := take("INV_", true); got != "inv_2" {
				t.Errorf("StartsWith INV_ took %q, want inv_2 (_ is no wildcard)", got)
			}
			if got := take("inv%", true); got != "inv%3" {
				t.Errorf("StartsWith inv%% took %q, want inv%%3 (%% is no wildcard)", got)
			}
			if got := take("inv", true); got != "inv-10" {
				t.Errorf("StartsWith inv took %q, want inv-10", got)
			}
			if got := take("inv", true); got != "" {
				t.Errorf("StartsWith inv took %q, want none left", got)
			}
		}},
		{"UniqueReference", func(t *testing.T, s store.Store) {
			c := t.Context()
			qe := mustQueueEnv(t, s, store.QueueDefinitionCreateParams{EnforceUniqueReference: true, MaxNumberOfRetries: 1})
			first := qe.add(t, s, store.QueueItemData{Reference: "Ref-1"})
			_, err := s.QueueItemAdd(c, store.QueueItemAddParams{TenantID: qe.tenant.ID, QueueID: qe.queue.ID,
				Data: store.QueueItemData{Reference: "ref-1"}, Actor: qe.bob})
			wantDuplicate(t, err, first.Key, store.QueueItemNew, "a reference differing in case")
			if dup, _ := store.AsDuplicateReference(err); dup == nil || dup.ItemID != first.ID || !strings.Contains(dup.Error(), "Invoices") {
				t.Errorf("duplicate details: %+v", dup)
			}
			qe.add(t, s, store.QueueItemData{}) // no reference: never a duplicate
			qe.add(t, s, store.QueueItemData{})
			// Deleting the item does not free its reference.
			res, err := s.QueueItemDelete(c, store.QueueItemBulkParams{TenantID: qe.tenant.ID, ItemIDs: []int64{first.ID}, Actor: qe.bob})
			ok(t, err, "QueueItemDelete")
			if len(res.Changed) != 1 || len(res.Failed) != 0 {
				t.Fatalf("QueueItemDelete: %+v", res)
			}
			_, err = s.QueueItemAdd(c, store.QueueItemAddParams{TenantID: qe.tenant.ID, QueueID: qe.queue.ID,
				Data: store.QueueItemData{Reference: "REF-1"}, Actor: qe.bob})
			wantDuplicate(t, err, first.Key, store.QueueItemDeleted, "the reference of a deleted item")
			// Nor does the retention sweep.
			_, err = s.QueueSweep(c, store.QueueSweepParams{PurgeBefore: qt0.Add(time.Hour), Now: qt0.Add(time.Hour)})
			ok(t, err, "QueueSweep")
			if _, err := s.QueueItemGet(c, qe.tenant.ID, first.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("the deleted item survived the retention sweep: %v", err)
			}
			_, err = s.QueueItemAdd(c, store.QueueItemAddParams{TenantID: qe.tenant.ID, QueueID: qe.queue.ID,
				Data: store.QueueItemData{Reference: "ref-1"}, Actor: qe.bob})
			wantDuplicate(t, err, first.Key, "", "the reference of a swept item")
			// A retry carries its ancestor's reference and is exempt.
			second := qe.add(t, s, store.QueueItemData{Reference: "ref-2"})
			if _, found, err := s.QueueItemStart(c, store.QueueItemStartParams{TenantID: qe.tenant.ID, QueueID: qe.queue.ID,
				Reference: "ref-2", Actor: qe.robot, Now: qt0}); err != nil || !found {
				t.Fatalf("QueueItemStart of ref-2: found %v, %v", found, err)
			}
			r, err := s.QueueItemSetResult(c, store.QueueItemResultParams{TenantID: qe.tenant.ID, ItemID: second.ID, Actor: qe.robot, Now: qt0})
			ok(t, err, "QueueItemSetResult")
			if r.Retry == nil || r.Retry.Reference != "ref-2" {
				t.Errorf("the retry of an item with a unique reference: %+v", r.Retry)
			}
			// Editing a New item to a taken reference is refused too.
			third := qe.add(t, s, store.QueueItemData{Reference: "ref-3"})
			_, err = s.QueueItemUpdate(c, store.QueueItemUpdateParams{TenantID: qe.tenant.ID, ItemID: third.ID, Actor: qe.bob},
				func(it store.QueueItem) (store.QueueItem, error) { it.Reference = "REF-2"; return it, nil })
			wantDuplicate(t, err, second.Key, store.QueueItemNew, "QueueItemUpdate to a taken reference")
			// A queue without unique references takes the same reference twice.
			plain, err := s.QueueDefinitionCreate(c, store.QueueDefinitionCreateParams{TenantID: qe.tenant.ID, FolderID: qe.folder.ID, Name: "Plain"})
			ok(t, err, "QueueDefinitionCreate")
			for range 2 {
				_, err := s.QueueItemAdd(c, store.QueueItemAddParams{TenantID: qe.tenant.ID, QueueID: plain.ID,
					Data: store.QueueItemData{Reference: "ref-1"}, Actor: qe.bob})
				ok(t, err, "QueueItemAdd of a repeated reference to a queue without unique references")
			}
		}},
		{"UniqueReferenceRace", func(t *testing.T, s store.Store) {
			c := t.Context()
			qe := mustQueueEnv(t, s, store.QueueDefinitionCreateParams{EnforceUniqueReference: true})
			errs := make([]error, writers)
			parallel(writers, func(w int) {
				_, errs[w] = s.QueueItemAdd(c, store.QueueItemAddParams{TenantID: qe.tenant.ID, QueueID: qe.queue.ID,
					Data: store.QueueItemData{Reference: "same"}, Actor: qe.bob})
			})
			wins := 0
			for _, err := range errs {
				if err == nil {
					wins++
				} else if _, isDup := store.AsDuplicateReference(err); !isDup {
					t.Errorf("racing adds of one reference: err = %v, want nil or a duplicate", err)
				}
			}
			if wins != 1 {
				t.Errorf("%d of %d racing adds of one reference succeeded, want exactly 1", wins, writers)
			}
		}},
		{"Retry", func(t *testing.T, s store.Store) {
			c := t.Context()
			qe := mustQueueEnv(t, s, store.QueueDefinitionCreateParams{MaxNumberOfRetries: 2})
			if !qe.queue.AcceptAutomaticallyRetry {
				t.Fatal("a queue with retries has AcceptAutomaticallyRetry off by default")
			}
			orig := qe.add(t, s, store.QueueItemData{Reference: "r", SpecificContent: `{"n":1}`, Priority: store.QueuePriorityHigh})
			fail := func(id int64, typ store.QueueExceptionType) store.QueueItemResult {
				t.Helper()
				r, err := s.QueueItemSetResult(c, store.QueueItemResultParams{TenantID: qe.tenant.ID, ItemID: id, Actor: qe.robot,
					Exception: &store.QueueItemException{Type: typ, Reason: "boom", Details: "at line 3"}, Now: qt0.Add(time.Minute)})
				ok(t, err, "QueueItemSetResult")
				return r
			}
			cur := orig
			for n := 1; n <= 2; n++ {
				if got := qe.mustStart(t, s, qe.robot, qt0); got.ID != cur.ID {
					t.Fatalf("attempt %d took item %d, want %d", n, got.ID, cur.ID)
				}
				r := fail(cur.ID, store.QueueApplicationException)
				if r.Item.Status != store.QueueItemRetried || r.Item.Exception == nil || r.Item.Exception.Reason != "boom" ||
					r.Item.EndProcessing == nil {
					t.Errorf("attempt %d: the failed item is %+v, want Retried with its exception", n, r.Item)
				}
				if r.Retry == nil {
					t.Fatalf("attempt %d: no retry", n)
				}
				rt := *r.Retry
				if rt.Status != store.QueueItemNew || rt.Key != orig.Key || rt.UniqueKey == cur.UniqueKey || rt.AncestorID != cur.ID ||
					rt.RetryNumber != n || rt.SpecificContent != orig.SpecificContent || rt.Priority != orig.Priority || rt.Reference != "r" {
					t.Errorf("attempt %d: retry %+v", n, rt)
				}
				cur = rt
			}
			qe.mustStart(t, s, qe.robot, qt0)
			r := fail(cur.ID, store.QueueApplicationException)
			if r.Item.Status != store.QueueItemFailed || r.Retry != nil {
				t.Errorf("after MaxNumberOfRetries: %+v, retry %+v; want Failed and no retry", r.Item, r.Retry)
			}
			hist, err := s.QueueItemHistory(c, qe.tenant.ID, orig.ID)
			ok(t, err, "QueueItemHistory")
			if len(hist) != 3 || hist[0].ID != orig.ID || hist[2].ID != cur.ID {
				t.Errorf("history: %v", ids(hist, func(i store.QueueItem) int64 { return i.ID }))
			}
			evs, err := s.QueueItemEventList(c, qe.tenant.ID, cur.ID)
			ok(t, err, "QueueItemEventList")
			var actions []string
			for _, e := range evs {
				actions = append(actions, e.Action)
			}
			want := []string{"Created", "Started", "Failed", "Created", "Started", "Failed", "Created", "Started", "Failed"}
			if !slices.Equal(actions, want) {
				t.Errorf("events of the chain: %v, want %v", actions, want)
			}
			// A business exception is never retried.
			biz := qe.add(t, s, store.QueueItemData{})
			qe.mustStart(t, s, qe.robot, qt0)
			if r := fail(biz.ID, store.QueueBusinessException); r.Item.Status != store.QueueItemFailed || r.Retry != nil ||
				r.Item.Exception.Type != store.QueueBusinessException {
				t.Errorf("business exception: %+v, retry %+v", r.Item, r.Retry)
			}
			// Neither is anything in a queue that does not accept automatic retries.
			off := false
			noAuto, err := s.QueueDefinitionCreate(c, store.QueueDefinitionCreateParams{TenantID: qe.tenant.ID, FolderID: qe.folder.ID,
				Name: "NoAuto", MaxNumberOfRetries: 3, AcceptAutomaticallyRetry: &off})
			ok(t, err, "QueueDefinitionCreate")
			it, err := s.QueueItemAdd(c, store.QueueItemAddParams{TenantID: qe.tenant.ID, QueueID: noAuto.ID, Actor: qe.robot, Start: true, Now: qt0})
			ok(t, err, "QueueItemAdd started")
			if r := fail(it.ID, store.QueueApplicationException); r.Item.Status != store.QueueItemFailed || r.Retry != nil {
				t.Errorf("without automatic retry: %+v, retry %+v", r.Item, r.Retry)
			}
		}},
		{"SetResult", func(t *testing.T, s store.Store) {
			c := t.Context()
			qe := mustQueueEnv(t, s, store.QueueDefinitionCreateParams{MaxNumberOfRetries: 1})
			it := qe.add(t, s, store.QueueItemData{})
			res := func(who store.QueueActor) (store.QueueItemResult, error) {
				return s.QueueItemSetResult(c, store.QueueItemResultParams{TenantID: qe.tenant.ID, ItemID: it.ID, Actor: who, Success: true,
					Output: `{"Total":5}`, Analytics: `{"a":1}`, Now: qt0.Add(time.Hour)})
			}
			_, err := res(qe.robot)
			wantStateError(t, err, store.QueueItemNew, "SetResult of a New item")
			qe.mustStart(t, s, qe.robot, qt0)
			_, err = s.QueueItemSetProgress(c, store.QueueItemProgressParams{TenantID: qe.tenant.ID, ItemID: it.ID, Progress: "half", Actor: qe.bob})
			wantStateError(t, err, store.QueueItemInProgress, "SetProgress by another caller")
			p, err := s.QueueItemSetProgress(c, store.QueueItemProgressParams{TenantID: qe.tenant.ID, ItemID: it.ID, Progress: "half", Actor: qe.robot})
			ok(t, err, "QueueItemSetProgress")
			if p.Progress != "half" {
				t.Errorf("progress %q", p.Progress)
			}
			_, err = res(qe.bob)
			wantStateError(t, err, store.QueueItemInProgress, "SetResult by another caller")
			r, err := res(qe.robot)
			ok(t, err, "QueueItemSetResult")
			if r.Item.Status != store.QueueItemSuccessful || r.Item.Output != `{"Total":5}` || r.Item.Analytics != `{"a":1}` ||
				r.Item.Progress != "half" || r.Retry != nil || r.Item.EndProcessing == nil || !r.Item.EndProcessing.Equal(qt0.Add(time.Hour)) {
				t.Errorf("successful item: %+v", r.Item)
			}
			_, err = res(qe.robot)
			wantStateError(t, err, store.QueueItemSuccessful, "SetResult of a finished item")
			_, err = s.QueueItemSetResult(c, store.QueueItemResultParams{TenantID: qe.tenant.ID, ItemID: missingID, Actor: qe.robot})
			wantNotFound(t, err, "SetResult of a missing item")
			// The whole cycle is in the item's history, each change with its caller.
			evs, err := s.QueueItemEventList(c, qe.tenant.ID, it.ID)
			ok(t, err, "QueueItemEventList")
			type ev struct {
				action, data, user string
				status             store.QueueItemStatus
			}
			var got []ev
			for _, e := range evs {
				got = append(got, ev{e.Action, e.Data, e.UserName, e.Status})
			}
			want := []ev{{"Created", "", "user bob@acme.test", store.QueueItemNew}, {"Started", "", "machine worker-1", store.QueueItemInProgress},
				{"Progress", "half", "machine worker-1", store.QueueItemInProgress}, {"Succeeded", "", "machine worker-1", store.QueueItemSuccessful}}
			if !slices.Equal(got, want) {
				t.Errorf("events of a transaction:\n %+v\nwant\n %+v", got, want)
			}
			if last := evs[len(evs)-1]; last.ClientID != "worker-1" || !last.At.Equal(qt0.Add(time.Hour)) || last.FolderID != qe.folder.ID {
				t.Errorf("the Succeeded event: %+v", last)
			}

			// An item of another folder than the caller names is not found, and stays as it is.
			other := mustFolder(t, s, qe.tenant.ID, 0, "Other")
			biz := qe.add(t, s, store.QueueItemData{})
			qe.mustStart(t, s, qe.robot, qt0)
			reason := "no such customer"
			end := func(folderID int64) (store.QueueItemResult, error) {
				return s.QueueItemSetResult(c, store.QueueItemResultParams{TenantID: qe.tenant.ID, ItemID: biz.ID, FolderID: folderID, Actor: qe.robot,
					Exception: &store.QueueItemException{Type: store.QueueBusinessException, Reason: reason}, Now: qt0})
			}
			_, err = end(other.ID)
			wantNotFound(t, err, "SetResult naming another folder")
			r, err = end(qe.folder.ID)
			ok(t, err, "QueueItemSetResult naming the item's folder")
			if r.Item.Status != store.QueueItemFailed || r.Item.Exception == nil || r.Item.Exception.Reason != reason || r.Item.Progress != "" {
				t.Errorf("business exception: %+v", r.Item)
			}
			evs, err = s.QueueItemEventList(c, qe.tenant.ID, biz.ID)
			ok(t, err, "QueueItemEventList")
			if last := evs[len(evs)-1]; len(evs) != 3 || last.Action != "Failed" || last.Data != "BusinessException: "+reason || last.Status != store.QueueItemFailed {
				t.Errorf("events of a business exception: %+v", evs)
			}
		}},
		{"StartWithContent", func(t *testing.T, s store.Store) {
			c := t.Context()
			qe := mustQueueEnv(t, s, store.QueueDefinitionCreateParams{EnforceUniqueReference: true})
			qe.add(t, s, store.QueueItemData{Reference: "waiting"})
			it, err := s.QueueItemAdd(c, store.QueueItemAddParams{TenantID: qe.tenant.ID, QueueID: qe.queue.ID, Actor: qe.robot,
				Data: store.QueueItemData{Reference: "mine", SpecificContent: `{"x":1}`}, Start: true, RobotKey: "rk", Now: qt0})
			ok(t, err, "QueueItemAdd with Start")
			if it.Status != store.QueueItemInProgress || it.Holder != qe.robot.Principal || it.StartProcessing == nil || it.RobotKey != "rk" {
				t.Errorf("item added and started: %+v", it)
			}
			_, err = s.QueueItemAdd(c, store.QueueItemAddParams{TenantID: qe.tenant.ID, QueueID: qe.queue.ID, Actor: qe.robot,
				Data: store.QueueItemData{Reference: "WAITING"}, Start: true})
			if _, isDup := store.AsDuplicateReference(err); !isDup {
				t.Errorf("starting a new item with a taken reference: %v, want a duplicate", err)
			}
			if got := qe.mustStart(t, s, qe.robot, qt0); got.Reference != "waiting" {
				t.Errorf("the next item is %q, want the waiting one", got.Reference)
			}
		}},
		{"Abandon", func(t *testing.T, s store.Store) {
			c := t.Context()
			qe := mustQueueEnv(t, s, store.QueueDefinitionCreateParams{MaxNumberOfRetries: 1, RetryAbandonedItems: true})
			plain, err := s.QueueDefinitionCreate(c, store.QueueDefinitionCreateParams{TenantID: qe.tenant.ID, FolderID: qe.folder.ID, Name: "Plain"})
			ok(t, err, "QueueDefinitionCreate")
			a := qe.add(t, s, store.QueueItemData{Reference: "a"})
			qe.mustStart(t, s, qe.robot, qt0)
			b, err := s.QueueItemAdd(c, store.QueueItemAddParams{TenantID: qe.tenant.ID, QueueID: plain.ID, Actor: qe.robot, Start: true, Now: qt0.Add(time.Hour)})
			ok(t, err, "QueueItemAdd started")
			sweep := func(now time.Time) store.QueueSweepResult {
				r, err := s.QueueSweep(c, store.QueueSweepParams{AbandonBefore: now.Add(-24 * time.Hour), Now: now})
				ok(t, err, "QueueSweep")
				return r
			}
			if r := sweep(qt0.Add(23 * time.Hour)); r.Abandoned != 0 {
				t.Errorf("a sweep before the timeout abandoned %d items", r.Abandoned)
			}
			r := sweep(qt0.Add(24*time.Hour + time.Minute))
			if r.Abandoned != 1 || r.Retried != 1 || !slices.Equal(r.Queues, []int64{qe.queue.ID}) {
				t.Errorf("sweep past the first item's timeout: %+v", r)
			}
			got, err := s.QueueItemGet(c, qe.tenant.ID, a.ID)
			ok(t, err, "QueueItemGet")
			if got.Status != store.QueueItemAbandoned || got.EndProcessing == nil {
				t.Errorf("abandoned item: %+v", got)
			}
			rt := qe.mustStart(t, s, qe.robot, qt0.Add(25*time.Hour))
			if rt.AncestorID != a.ID || rt.RetryNumber != 1 || rt.Key != a.Key {
				t.Errorf("the retry of the abandoned item: %+v", rt)
			}
			// The holder's late result is refused: the item is no longer InProgress.
			_, err = s.QueueItemSetResult(c, store.QueueItemResultParams{TenantID: qe.tenant.ID, ItemID: a.ID, Actor: qe.robot, Success: true})
			wantStateError(t, err, store.QueueItemAbandoned, "SetResult of an abandoned item")
			r = sweep(qt0.Add(26 * time.Hour))
			if r.Abandoned != 1 || r.Retried != 0 {
				t.Errorf("sweep of a queue without retry of abandoned items: %+v", r)
			}
			if got, _ := s.QueueItemGet(c, qe.tenant.ID, b.ID); got.Status != store.QueueItemAbandoned {
				t.Errorf("item of the plain queue: %s, want Abandoned", got.Status)
			}
			// The retry has its own timeout, counted from its start.
			if r := sweep(qt0.Add(48 * time.Hour)); r.Abandoned != 0 {
				t.Errorf("the retry was abandoned before its own timeout: %+v", r)
			}
		}},
		{"Retention", func(t *testing.T, s store.Store) {
			c := t.Context()
			qe := mustQueueEnv(t, s, store.QueueDefinitionCreateParams{})
			done := qe.add(t, s, store.QueueItemData{})
			qe.mustStart(t, s, qe.robot, qt0)
			_, err := s.QueueItemSetResult(c, store.QueueItemResultParams{TenantID: qe.tenant.ID, ItemID: done.ID, Actor: qe.robot, Success: true, Now: qt0})
			ok(t, err, "QueueItemSetResult")
			waiting := qe.add(t, s, store.QueueItemData{})
			r, err := s.QueueSweep(c, store.QueueSweepParams{PurgeBefore: qt0, Now: qt0.Add(time.Hour)})
			ok(t, err, "QueueSweep")
			if r.Purged != 0 {
				t.Errorf("an item that ended at the retention limit was deleted")
			}
			r, err = s.QueueSweep(c, store.QueueSweepParams{PurgeBefore: qt0.Add(time.Second), Now: qt0.Add(time.Hour)})
			ok(t, err, "QueueSweep")
			if r.Purged != 1 {
				t.Errorf("sweep past the retention deleted %d items, want 1", r.Purged)
			}
			_, err = s.QueueItemGet(c, qe.tenant.ID, done.ID)
			wantNotFound(t, err, "QueueItemGet of a swept item")
			if _, err := s.QueueItemGet(c, qe.tenant.ID, waiting.ID); err != nil {
				t.Errorf("a New item was swept: %v", err)
			}
			evs, _, err := s.QueueItemEventSearch(c, store.SearchParams{TenantID: qe.tenant.ID, Query: queryTop(100)})
			ok(t, err, "QueueItemEventSearch")
			for _, e := range evs {
				if e.QueueItemID == done.ID {
					t.Errorf("the history of a swept item remains: %+v", e)
				}
			}
		}},
		{"BulkAdd", func(t *testing.T, s store.Store) {
			c := t.Context()
			qe := mustQueueEnv(t, s, store.QueueDefinitionCreateParams{EnforceUniqueReference: true})
			qe.add(t, s, store.QueueItemData{Reference: "taken"})
			items := []store.QueueItemData{{Reference: "b1"}, {Reference: "TAKEN"}, {Reference: "b2"}, {Reference: "b1"}, {Reference: "b3"}}
			bulk := func(mode store.QueueCommitType, prefix string) store.QueueItemBulkResult {
				t.Helper()
				its := slices.Clone(items)
				for i := range its {
					if its[i].Reference != "TAKEN" {
						its[i].Reference = prefix + its[i].Reference
					}
				}
				r, err := s.QueueItemAddBulk(c, store.QueueItemAddBulkParams{TenantID: qe.tenant.ID, QueueID: qe.queue.ID, Commit: mode,
					Items: its, Actor: qe.bob, Now: qt0})
				if mode == store.QueueAllOrNothing {
					if !errors.Is(err, store.ErrNothingAdded) {
						t.Errorf("AllOrNothing with refused items: err = %v, want ErrNothingAdded", err)
					}
				} else {
					ok(t, err, "QueueItemAddBulk "+string(mode))
				}
				return r
			}
			ordinals := func(r store.QueueItemBulkResult) []int {
				var out []int
				for _, f := range r.Failed {
					out = append(out, f.Ordinal)
					if f.Code != "DuplicateReference" || f.Message == "" {
						t.Errorf("failure %+v", f)
					}
				}
				return out
			}
			r := bulk(store.QueueAllOrNothing, "x")
			if len(r.Added) != 0 || !slices.Equal(ordinals(r), []int{1, 3}) {
				t.Errorf("AllOrNothing: added %v, failed %v; want none added, 1 and 3 failed", refs(r.Added), ordinals(r))
			}
			if _, err := s.QueueItemAdd(c, store.QueueItemAddParams{TenantID: qe.tenant.ID, QueueID: qe.queue.ID,
				Data: store.QueueItemData{Reference: "xb1"}, Actor: qe.bob}); err != nil {
				t.Errorf("AllOrNothing kept a reference it rolled back: %v", err)
			}
			r = bulk(store.QueueStopOnFirstFailure, "y")
			if !slices.Equal(refs(r.Added), []string{"yb1"}) || !slices.Equal(ordinals(r), []int{1}) || r.Stopped != 1 {
				t.Errorf("StopOnFirstFailure: added %v, failed %v, stopped %d", refs(r.Added), ordinals(r), r.Stopped)
			}
			r = bulk(store.QueueProcessAllIndependently, "z")
			if !slices.Equal(refs(r.Added), []string{"zb1", "zb2", "zb3"}) || !slices.Equal(ordinals(r), []int{1, 3}) || r.Stopped != -1 {
				t.Errorf("ProcessAllIndependently: added %v, failed %v", refs(r.Added), ordinals(r))
			}
			// Ordinals given by the caller are reported as given.
			r, err := s.QueueItemAddBulk(c, store.QueueItemAddBulkParams{TenantID: qe.tenant.ID, QueueID: qe.queue.ID,
				Commit: store.QueueProcessAllIndependently, Items: []store.QueueItemData{{Reference: "taken"}}, Ordinals: []int{7}, Actor: qe.bob})
			ok(t, err, "QueueItemAddBulk")
			if !slices.Equal(ordinals(r), []int{7}) {
				t.Errorf("caller's ordinals: %v", ordinals(r))
			}
		}},
		{"UpdateDeleteReview", func(t *testing.T, s store.Store) {
			c := t.Context()
			qe := mustQueueEnv(t, s, store.QueueDefinitionCreateParams{})
			a := qe.add(t, s, store.QueueItemData{Priority: store.QueuePriorityLow})
			b := qe.add(t, s, store.QueueItemData{Priority: store.QueuePriorityLow})
			up, err := s.QueueItemUpdate(c, store.QueueItemUpdateParams{TenantID: qe.tenant.ID, ItemID: b.ID, Actor: qe.bob, Now: qt0},
				func(it store.QueueItem) (store.QueueItem, error) {
					it.Priority, it.SpecificContent, it.Progress = store.QueuePriorityHigh, `{"k":"v"}`, "edited"
					return it, nil
				})
			ok(t, err, "QueueItemUpdate")
			if up.Priority != store.QueuePriorityHigh || up.SpecificContent != `{"k":"v"}` || up.Progress != "edited" || up.Version <= b.Version {
				t.Errorf("updated item: %+v", up)
			}
			// The new priority counts for the order.
			if got := qe.mustStart(t, s, qe.robot, qt0); got.ID != b.ID {
				t.Errorf("after raising b's priority, took %d, want %d", got.ID, b.ID)
			}
			_, err = s.QueueItemUpdate(c, store.QueueItemUpdateParams{TenantID: qe.tenant.ID, ItemID: b.ID, Actor: qe.bob},
				func(it store.QueueItem) (store.QueueItem, error) { return it, nil })
			wantStateError(t, err, store.QueueItemInProgress, "QueueItemUpdate of an item InProgress")
			res, err := s.QueueItemDelete(c, store.QueueItemBulkParams{TenantID: qe.tenant.ID, ItemIDs: []int64{a.ID, b.ID, missingID}, Actor: qe.bob})
			ok(t, err, "QueueItemDelete")
			if len(res.Changed) != 1 || res.Changed[0].Status != store.QueueItemDeleted || len(res.Failed) != 2 ||
				res.Failed[0].ID != b.ID || !strings.Contains(res.Failed[0].Reason, "InProgress") || res.Failed[1].ID != missingID {
				t.Errorf("QueueItemDelete: %+v", res)
			}
			if _, found := qe.start(t, s, qe.robot, qt0); found {
				t.Error("a deleted item was handed out")
			}
			// Folder limits: an item outside the given folders is refused as not found.
			res, err = s.QueueItemDelete(c, store.QueueItemBulkParams{TenantID: qe.tenant.ID, ItemIDs: []int64{a.ID}, FolderIDs: []int64{missingID}, Actor: qe.bob})
			ok(t, err, "QueueItemDelete")
			if len(res.Failed) != 1 || !strings.Contains(res.Failed[0].Reason, "does not exist") {
				t.Errorf("QueueItemDelete outside the folders: %+v", res)
			}
			_, err = s.QueueItemSetResult(c, store.QueueItemResultParams{TenantID: qe.tenant.ID, ItemID: b.ID, Actor: qe.robot,
				Exception: &store.QueueItemException{Type: store.QueueBusinessException, Reason: "no"}})
			ok(t, err, "QueueItemSetResult")
			res, err = s.QueueItemSetReviewStatus(c, store.QueueItemBulkParams{TenantID: qe.tenant.ID, ItemIDs: []int64{b.ID, a.ID}, Actor: qe.bob},
				store.QueueReviewVerified)
			ok(t, err, "QueueItemSetReviewStatus")
			if len(res.Changed) != 1 || res.Changed[0].ReviewStatus != store.QueueReviewVerified || len(res.Failed) != 1 || res.Failed[0].ID != a.ID {
				t.Errorf("QueueItemSetReviewStatus: %+v", res)
			}
		}},
		{"SearchAndCounts", func(t *testing.T, s store.Store) {
			c := t.Context()
			qe := mustQueueEnv(t, s, store.QueueDefinitionCreateParams{})
			other, err := s.QueueDefinitionCreate(c, store.QueueDefinitionCreateParams{TenantID: qe.tenant.ID, FolderID: qe.folder.ID, Name: "Other"})
			ok(t, err, "QueueDefinitionCreate")
			for range 3 {
				qe.add(t, s, store.QueueItemData{})
			}
			_, err = s.QueueItemAdd(c, store.QueueItemAddParams{TenantID: qe.tenant.ID, QueueID: other.ID, Actor: qe.bob})
			ok(t, err, "QueueItemAdd")
			qe.mustStart(t, s, qe.robot, qt0)
			q := queryTop(2)
			q.Filter = mustFilter(t, "QueueDefinitionId eq "+fmt.Sprint(qe.queue.ID))
			q.OrderBy = mustOrderBy(t, "Id desc")
			q.Count = true
			page, total, err := s.QueueItemSearch(c, store.SearchParams{TenantID: qe.tenant.ID, Query: q})
			ok(t, err, "QueueItemSearch")
			if total != 3 || len(page) != 2 || page[0].ID < page[1].ID {
				t.Errorf("QueueItemSearch: total %d, page %v", total, ids(page, func(i store.QueueItem) int64 { return i.ID }))
			}
			q = queryTop(10)
			q.Filter = mustFilter(t, "Status eq 'InProgress' and QueueDefinitionName eq 'INVOICES'")
			page, _, err = s.QueueItemSearch(c, store.SearchParams{TenantID: qe.tenant.ID, Query: q})
			ok(t, err, "QueueItemSearch")
			if len(page) != 1 || page[0].Status != store.QueueItemInProgress {
				t.Errorf("Status and QueueDefinitionName filter: %+v", page)
			}
			counts, err := s.QueueItemCounts(c, qe.tenant.ID, qe.folder.ID)
			ok(t, err, "QueueItemCounts")
			got := map[string]int64{}
			for _, x := range counts {
				got[x.Queue+"/"+string(x.Status)] = x.Count
			}
			want := map[string]int64{"Invoices/New": 2, "Invoices/InProgress": 1, "Other/New": 1}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("QueueItemCounts = %v, want %v", got, want)
			}
			all, err := s.QueueItemCounts(c, 0, 0)
			ok(t, err, "QueueItemCounts of the installation")
			if len(all) != 3 {
				t.Errorf("QueueItemCounts(0, 0): %+v", all)
			}
		}},
		{"QueueDelete", func(t *testing.T, s store.Store) {
			c := t.Context()
			qe := mustQueueEnv(t, s, store.QueueDefinitionCreateParams{EnforceUniqueReference: true})
			it := qe.add(t, s, store.QueueItemData{Reference: "r"})
			ok(t, s.QueueDefinitionDelete(c, qe.tenant.ID, qe.queue.ID), "QueueDefinitionDelete")
			_, err := s.QueueItemGet(c, qe.tenant.ID, it.ID)
			wantNotFound(t, err, "an item of a deleted queue")
		}},
		{"ConcurrentStart", func(t *testing.T, s store.Store) {
			c := t.Context()
			qe := mustQueueEnv(t, s, store.QueueDefinitionCreateParams{})
			const items, consumers = 200, 16
			var want []int64
			for i := range items {
				p := store.QueuePriorities[i%3]
				want = append(want, qe.add(t, s, store.QueueItemData{Priority: p, Reference: fmt.Sprint(i)}).ID)
			}
			var (
				mu    sync.Mutex
				taken = map[int64]string{}
				dupes []string
			)
			parallel(consumers, func(w int) {
				who := store.QueueActor{Principal: fmt.Sprintf("machine:%d", w), Name: fmt.Sprintf("consumer %d", w)}
				for {
					it, found, err := s.QueueItemStart(c, store.QueueItemStartParams{TenantID: qe.tenant.ID, QueueID: qe.queue.ID, Actor: who, Now: qt0})
					if err != nil {
						t.Errorf("consumer %d: QueueItemStart: %v", w, err)
						return
					}
					if !found {
						return
					}
					if it.Holder != who.Principal {
						t.Errorf("consumer %d got item %d held by %s", w, it.ID, it.Holder)
					}
					mu.Lock()
					if prev, seen := taken[it.ID]; seen {
						dupes = append(dupes, fmt.Sprintf("item %d to %s and %s", it.ID, prev, who.Principal))
					}
					taken[it.ID] = who.Principal
					mu.Unlock()
					if _, err := s.QueueItemSetResult(c, store.QueueItemResultParams{TenantID: qe.tenant.ID, ItemID: it.ID, Actor: who, Success: true, Now: qt0}); err != nil {
						t.Errorf("consumer %d: QueueItemSetResult(%d): %v", w, it.ID, err)
					}
				}
			})
			if len(dupes) > 0 {
				t.Errorf("items handed out more than once: %v", dupes)
			}
			if len(taken) != items {
				t.Errorf("%d distinct items handed out, want all %d", len(taken), items)
			}
			for _, id := range want {
				if _, ok := taken[id]; !ok {
					t.Errorf("item %d was never handed out", id)
				}
			}
			counts, err := s.QueueItemCounts(c, qe.tenant.ID, 0)
			ok(t, err, "QueueItemCounts")
			if len(counts) != 1 || counts[0].Status != store.QueueItemSuccessful || counts[0].Count != items {
				t.Errorf("after the race: %+v, want %d Successful", counts, items)
			}
		}},
		{"ConcurrentResult", func(t *testing.T, s store.Store) {
			c := t.Context()
			qe := mustQueueEnv(t, s, store.QueueDefinitionCreateParams{MaxNumberOfRetries: 3})
			// Racing successes (one statement on PostgreSQL), then racing failures (retried).
			for _, success := range []bool{true, false} {
				it := qe.add(t, s, store.QueueItemData{})
				qe.mustStart(t, s, qe.robot, qt0)
				errs := make([]error, writers)
				parallel(writers, func(w int) {
					_, errs[w] = s.QueueItemSetResult(c, store.QueueItemResultParams{TenantID: qe.tenant.ID, ItemID: it.ID, Actor: qe.robot,
						Success: success, Now: qt0})
				})
				wins := 0
				for _, err := range errs {
					if err == nil {
						wins++
					} else if !errors.Is(err, store.ErrConflict) {
						t.Errorf("racing SetResult (success %v): %v, want nil or ErrConflict", success, err)
					}
				}
				if wins != 1 {
					t.Errorf("%d of %d racing SetResult calls (success %v) won, want exactly 1", wins, writers, success)
				}
				hist, err := s.QueueItemHistory(c, qe.tenant.ID, it.ID)
				ok(t, err, "QueueItemHistory")
				if want := map[bool]int{false: 2, true: 1}[success]; len(hist) != want {
					t.Errorf("racing SetResult (success %v) made %d items, want %d", success, len(hist), want)
				}
				evs, err := s.QueueItemEventList(c, qe.tenant.ID, it.ID)
				ok(t, err, "QueueItemEventList")
				if want := map[bool]int{false: 4, true: 3}[success]; len(evs) != want {
					t.Errorf("racing SetResult (success %v) recorded %d events, want %d (one result)", success, len(evs), want)
				}
			}
		}},
	}
}

func queryTop(top int) odata.Query { return odata.Query{Top: top} }

func mustFilter(t testing.TB, s string) odata.Expr {
	t.Helper()
	x, err := odata.ParseFilter(s)
	ok(t, err, "ParseFilter "+s)
	return x
}

func mustOrderBy(t testing.TB, s string) []odata.Order {
	t.Helper()
	q, err := odata.Parse(url.Values{"$orderby": {s}}, odata.Limits{})
	ok(t, err, "Parse $orderby="+s)
	return q.OrderBy
}
