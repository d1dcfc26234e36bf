package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/openorch/openorch/internal/tenancy"
)

// QueueStore keeps work queues (UiPath's QueueDefinitions), their items and the history of
// every item.
//
// # Taking an item: exactly once
//
// QueueItemStart hands the next available item of a queue to one caller only, whatever
// the concurrency and whatever the number of server nodes: on PostgreSQL the item is
// chosen and locked with FOR UPDATE SKIP LOCKED (concurrent callers skip each other's
// rows rather than queue behind them), on SQLite the single writer connection runs the
// choice and the update as one statement that no other write can interleave with.
//
// # Order
//
// As UiPath's (reference/semantics.md §2): first the items with a deadline (DueDate), by
// priority High > Normal > Low and then the earliest deadline; then the items without
// one, by priority and then first in, first out. An item whose DeferDate is in the future
// is not available until then.
//
// # Unique references
//
// In a queue with EnforceUniqueReference, a Reference (compared case-insensitively, as
// UiPath's database collation does) is taken once for good: deleting the item, or the
// retention sweep removing it, does not free it. Retries of an item carry its reference
// and are exempt. A duplicate is *DuplicateReferenceError (errors.Is ErrConflict).
//
// # History
//
// Every change of an item is recorded in its history (QueueItemEvent) in the same
// transaction, with who made it: the history, not the audit log, is the record of
// transactions.
//
// Methods that depend on the time take it in their params (Now; zero means the store's
// clock), so that tests can move time.
type QueueStore interface {
	// QueueDefinitionCreate adds a queue to a folder of the tenant; a name the folder
	// already has is ErrConflict. AcceptAutomaticallyRetry nil means "on when
	// MaxNumberOfRetries > 0".
	QueueDefinitionCreate(ctx context.Context, p QueueDefinitionCreateParams) (tenancy.QueueDefinition, error)
	QueueDefinitionGet(ctx context.Context, tenantID, id int64) (tenancy.QueueDefinition, error)
	// QueueDefinitionGetByName matches the name case-insensitively within one folder.
	QueueDefinitionGetByName(ctx context.Context, tenantID, folderID int64, name string) (tenancy.QueueDefinition, error)
	QueueDefinitionList(ctx context.Context, tenantID, folderID int64) ([]tenancy.QueueDefinition, error)
	QueueDefinitionSearch(ctx context.Context, p SearchParams) (page []tenancy.QueueDefinition, total int, err error)
	// QueueDefinitionUpdate may change everything but ID, Key, TenantID, FolderID and
	// CreatedAt.
	QueueDefinitionUpdate(ctx context.Context, tenantID, id int64, fn func(tenancy.QueueDefinition) (tenancy.QueueDefinition, error)) (tenancy.QueueDefinition, error)
	// QueueDefinitionDelete deletes a queue with its items, their history and its taken
	// references.
	QueueDefinitionDelete(ctx context.Context, tenantID, id int64) error

	// QueueItemAdd adds a New item to a queue of the tenant (Start: an item that is
	// InProgress at once, held by p.Actor). A reference already taken in a queue with
	// unique references is *DuplicateReferenceError.
	QueueItemAdd(ctx context.Context, p QueueItemAddParams) (QueueItem, error)
	// QueueItemAddBulk adds several items to one queue as p.Commit says (see
	// QueueCommitType). Refusals of single items are in the result; an AllOrNothing add
	// that refused one returns ErrNothingAdded with the result.
	QueueItemAddBulk(ctx context.Context, p QueueItemAddBulkParams) (QueueItemBulkResult, error)
	// QueueItemStart moves the next available item of a queue to InProgress, held by
	// p.Actor, and returns it; ok is false when no item is available.
	QueueItemStart(ctx context.Context, p QueueItemStartParams) (item QueueItem, ok bool, err error)
	// QueueItemSetProgress sets the Progress of an InProgress item its holder works on.
	// An item in another state or held by another caller is *QueueItemStateError.
	QueueItemSetProgress(ctx context.Context, p QueueItemProgressParams) (QueueItem, error)
	// QueueItemSetResult ends a transaction: Successful, or Failed with an exception. An
	// application exception in a queue that accepts automatic retries, on an item with
	// retries left, makes the item Retried and adds its retry (a New item with the same
	// Key, AncestorID the failed item, RetryNumber one more). An item not InProgress, or
	// held by another caller, is *QueueItemStateError.
	QueueItemSetResult(ctx context.Context, p QueueItemResultParams) (QueueItemResult, error)
	QueueItemGet(ctx context.Context, tenantID, id int64) (QueueItem, error)
	// QueueItemSearch pages items with an OData query; p.FolderID and p.OnlyFolders
	// narrow them to folders.
	QueueItemSearch(ctx context.Context, p SearchParams) (page []QueueItem, total int, err error)
	// QueueItemUpdate changes a New item: fn may change Priority, Reference,
	// SpecificContent, Progress, DeferDate, DueDate and RiskSLADate. Another state is
	// *QueueItemStateError; a reference taken in a queue with unique references is
	// *DuplicateReferenceError.
	QueueItemUpdate(ctx context.Context, p QueueItemUpdateParams, fn func(QueueItem) (QueueItem, error)) (QueueItem, error)
	// QueueItemDelete marks items Deleted (a soft delete: they stay readable and keep
	// their references). Items that are InProgress, finished successfully, retried or
	// already deleted are refused one by one in the result.
	QueueItemDelete(ctx context.Context, p QueueItemBulkParams) (QueueItemBulkIDsResult, error)
	// QueueItemSetReviewStatus sets the review status of failed or abandoned items;
	// items in other states are refused one by one in the result.
	QueueItemSetReviewStatus(ctx context.Context, p QueueItemBulkParams, status QueueReviewStatus) (QueueItemBulkIDsResult, error)
	// QueueItemHistory lists the attempts of an item: every item of its queue with its
	// Key (the item, the items it retried and its retries), oldest first.
	QueueItemHistory(ctx context.Context, tenantID, id int64) ([]QueueItem, error)
	// QueueItemEventSearch pages item events with an OData query; p.FolderID and
	// p.OnlyFolders narrow them to folders.
	QueueItemEventSearch(ctx context.Context, p SearchParams) (page []QueueItemEvent, total int, err error)
	// QueueItemEventList lists the events of the items with the Key of item id (its whole
	// retry chain), oldest first.
	QueueItemEventList(ctx context.Context, tenantID, id int64) ([]QueueItemEvent, error)
	// QueueItemCounts counts the items of each queue of a folder (0: every folder of the
	// tenant) by status; tenantID 0 counts across the installation (for metrics).
	QueueItemCounts(ctx context.Context, tenantID, folderID int64) ([]QueueItemCount, error)
	// QueueSweep abandons items InProgress since before p.AbandonBefore (retrying them
	// where their queue says so) and deletes at most p.PurgeLimit items that ended before
	// p.PurgeBefore. It runs under an installation-wide lock, so that sweeps of several
	// nodes never overlap.
	QueueSweep(ctx context.Context, p QueueSweepParams) (QueueSweepResult, error)
}

// QueueNotifyChannel is the PostgreSQL notification channel on which the store announces,
// when their transaction commits, that a queue got items to take; the payload is the
// queue's id in decimal. Nodes listen on it to wake callers waiting for items.
const QueueNotifyChannel = "openorch_queue_items"

// QueueDefinitionCreateParams create a queue.
type QueueDefinitionCreateParams struct {
	TenantID               int64
	FolderID               int64
	Name                   string
	Description            string
	MaxNumberOfRetries     int
	EnforceUniqueReference bool
	// AcceptAutomaticallyRetry nil: on when MaxNumberOfRetries > 0.
	AcceptAutomaticallyRetry *bool
	RetryAbandonedItems      bool
	SpecificDataJSONSchema   string
	SlaInMinutes             int
}

// QueueItemStatus is UiPath's queue item status, by name.
type QueueItemStatus string

// The statuses, numbered as UiPath numbers them (QueueItemStatuses).
const (
	QueueItemNew        QueueItemStatus = "New"
	QueueItemInProgress QueueItemStatus = "InProgress"
	QueueItemFailed     QueueItemStatus = "Failed"
	QueueItemSuccessful QueueItemStatus = "Successful"
	QueueItemAbandoned  QueueItemStatus = "Abandoned"
	QueueItemRetried    QueueItemStatus = "Retried"
	QueueItemDeleted    QueueItemStatus = "Deleted"
)

// QueueItemStatuses lists the statuses by UiPath's number.
var QueueItemStatuses = []QueueItemStatus{QueueItemNew, QueueItemInProgress, QueueItemFailed, QueueItemSuccessful,
	QueueItemAbandoned, QueueItemRetried, QueueItemDeleted}

// Finished reports whether an item in status s is done with: the retention sweep may
// delete it.
func (s QueueItemStatus) Finished() bool {
	switch s {
	case QueueItemFailed, QueueItemSuccessful, QueueItemAbandoned, QueueItemRetried, QueueItemDeleted:
		return true
	}
	return false
}

// QueuePriority is an item's priority, by name.
type QueuePriority string

// The priorities, in UiPath's order (the order of its enumeration).
const (
	QueuePriorityHigh   QueuePriority = "High"
	QueuePriorityNormal QueuePriority = "Normal"
	QueuePriorityLow    QueuePriority = "Low"
)

// QueuePriorities lists the priorities by number.
var QueuePriorities = []QueuePriority{QueuePriorityHigh, QueuePriorityNormal, QueuePriorityLow}

// QueueReviewStatus is the review status of a failed item.
type QueueReviewStatus string

// The review statuses, numbered as UiPath numbers them.
const (
	QueueReviewNone     QueueReviewStatus = "None"
	QueueReviewInReview QueueReviewStatus = "InReview"
	QueueReviewVerified QueueReviewStatus = "Verified"
	QueueReviewRetried  QueueReviewStatus = "Retried"
)

// QueueReviewStatuses lists the review statuses by number.
var QueueReviewStatuses = []QueueReviewStatus{QueueReviewNone, QueueReviewInReview, QueueReviewVerified, QueueReviewRetried}

// QueueExceptionType is the kind of a failure: an application exception is retried
// automatically, a business exception never.
type QueueExceptionType string

// The exception types, numbered as UiPath numbers them.
const (
	QueueApplicationException QueueExceptionType = "ApplicationException"
	QueueBusinessException    QueueExceptionType = "BusinessException"
)

// QueueExceptionTypes lists the exception types by number.
var QueueExceptionTypes = []QueueExceptionType{QueueApplicationException, QueueBusinessException}

// QueueItemException is why an item failed.
type QueueItemException struct {
	Type    QueueExceptionType
	Reason  string
	Details string
}

// QueueItem is one item of a queue. SpecificContent, Output and Analytics are JSON
// objects as text ("" for none).
type QueueItem struct {
	ID       int64
	TenantID int64
	FolderID int64
	QueueID  int64
	// Key is shared by an item and its retries; UniqueKey is this item's own.
	Key             string
	UniqueKey       string
	Status          QueueItemStatus
	ReviewStatus    QueueReviewStatus
	Priority        QueuePriority
	Reference       string
	SpecificContent string
	Output          string
	Analytics       string
	Progress        string
	Exception       *QueueItemException // nil unless the item failed
	DeferDate       *time.Time
	DueDate         *time.Time
	RiskSLADate     *time.Time
	StartProcessing *time.Time
	EndProcessing   *time.Time
	RetryNumber     int
	AncestorID      int64 // the item this one retries; 0 for none
	// Holder is the principal working on the item while it is InProgress (QueueActor.
	// Principal of the caller that started it); RobotKey is the robot it said it was.
	Holder    string
	RobotKey  string
	Source    string
	CreatedAt time.Time
	UpdatedAt time.Time
	// Version grows with every change of the item (UiPath's RowVersion).
	Version int64
}

// QueueActor is who makes a change, for the item's history and for holding items.
type QueueActor struct {
	// Principal identifies the caller: "user:5", "app:2", "machine:3". Only the caller
	// that started a transaction may end it.
	Principal string
	// Name is shown in the history: "user ann@acme.test".
	Name     string
	ClientID string
}

// QueueItemData is what a caller gives for a new item.
type QueueItemData struct {
	Priority        QueuePriority // "": Normal
	Reference       string
	SpecificContent string
	Progress        string
	DeferDate       *time.Time
	DueDate         *time.Time
	RiskSLADate     *time.Time
	Source          string
}

// QueueItemAddParams add one item.
type QueueItemAddParams struct {
	TenantID int64
	QueueID  int64
	Data     QueueItemData
	Actor    QueueActor
	// Start adds the item InProgress, held by Actor (StartTransaction with content);
	// RobotKey is then recorded.
	Start    bool
	RobotKey string
	Now      time.Time
}

// QueueCommitType is how BulkAddQueueItems commits.
type QueueCommitType string

// The commit types.
const (
	// QueueAllOrNothing adds every item or, when one is refused, none.
	QueueAllOrNothing QueueCommitType = "AllOrNothing"
	// QueueStopOnFirstFailure adds items in order up to the first refused one.
	QueueStopOnFirstFailure QueueCommitType = "StopOnFirstFailure"
	// QueueProcessAllIndependently adds every item that is not refused.
	QueueProcessAllIndependently QueueCommitType = "ProcessAllIndependently"
)

// QueueItemAddBulkParams add several items to one queue. Ordinals number the items
// for the result (the caller may have left out items it refused itself).
type QueueItemAddBulkParams struct {
	TenantID int64
	QueueID  int64
	Commit   QueueCommitType
	Items    []QueueItemData
	Ordinals []int // Ordinals[i] is Items[i]'s; nil: i
	Actor    QueueActor
	Now      time.Time
}

// ErrNothingAdded comes with the result of an AllOrNothing QueueItemAddBulk that refused an
// item: nothing was added. A caller running the add inside its own transaction returns it
// from the transaction, which then rolls back.
var ErrNothingAdded = errors.New("an item was refused, so no item was added (AllOrNothing)")

// QueueItemFailure is one refused item of a bulk operation.
type QueueItemFailure struct {
	Ordinal int
	Code    string // "DuplicateReference"
	Message string
	Err     error // the refusal (e.g. *DuplicateReferenceError)
}

// QueueItemBulkResult is what QueueItemAddBulk did.
type QueueItemBulkResult struct {
	Added  []QueueItem
	Failed []QueueItemFailure
	// Stopped is the ordinal at which StopOnFirstFailure stopped (-1: it did not).
	Stopped int
}

// QueueItemStartParams take the next item of a queue.
type QueueItemStartParams struct {
	TenantID int64
	QueueID  int64
	// Reference, when not empty, limits the choice to items whose reference equals it
	// or, with ReferenceStartsWith, begins with it (case-insensitively).
	Reference           string
	ReferenceStartsWith bool
	Actor               QueueActor
	RobotKey            string
	Now                 time.Time
}

// QueueItemProgressParams set an item's progress.
type QueueItemProgressParams struct {
	TenantID int64
	ItemID   int64
	Progress string
	Actor    QueueActor
	Now      time.Time
}

// QueueItemResultParams end a transaction.
type QueueItemResultParams struct {
	TenantID int64
	ItemID   int64
	// FolderID, when not 0, is the folder the caller names: an item of another folder is
	// not found.
	FolderID  int64
	Success   bool
	Exception *QueueItemException // for a failure; nil is an application exception without reason
	Output    string              // JSON object or ""
	Analytics string
	// Progress, when not nil, replaces the item's progress.
	Progress *string
	// DeferDate and DueDate, when set, are the retry's (if the failure is retried).
	DeferDate *time.Time
	DueDate   *time.Time
	Actor     QueueActor
	Now       time.Time
}

// QueueItemResult is the ended item and, when it is retried, its retry.
type QueueItemResult struct {
	Item  QueueItem
	Retry *QueueItem
}

// QueueItemUpdateParams address an item to change.
type QueueItemUpdateParams struct {
	TenantID int64
	ItemID   int64
	Actor    QueueActor
	Now      time.Time
}

// QueueItemBulkParams address several items of a tenant; FolderIDs, when not nil,
// limits them to those folders (the others are refused as not found).
type QueueItemBulkParams struct {
	TenantID  int64
	ItemIDs   []int64
	FolderIDs []int64
	Actor     QueueActor
	Now       time.Time
}

// QueueItemBulkIDsResult lists the items a bulk change did not change, with why.
type QueueItemBulkIDsResult struct {
	Changed []QueueItem
	Failed  []QueueItemIDFailure
}

// QueueItemIDFailure is an item a bulk change refused.
type QueueItemIDFailure struct {
	ID     int64
	Reason string
}

// QueueItemEvent is one change in an item's history.
type QueueItemEvent struct {
	ID           int64
	TenantID     int64
	FolderID     int64
	QueueItemID  int64
	Action       string // Created, Started, Progress, Succeeded, Failed, Retried, Abandoned, Edited, Deleted, ReviewStatusChanged
	Data         string
	Status       QueueItemStatus
	ReviewStatus QueueReviewStatus
	UserName     string
	ClientID     string
	At           time.Time
}

// QueueItemCount is how many items of one queue have one status.
type QueueItemCount struct {
	TenantID int64
	FolderID int64
	QueueID  int64
	Queue    string // the queue's name
	Status   QueueItemStatus
	Count    int64
}

// QueueSweepParams say what QueueSweep does.
type QueueSweepParams struct {
	// AbandonBefore: items InProgress since before then become Abandoned (zero: none).
	AbandonBefore time.Time
	// PurgeBefore: finished items last changed before then are deleted (zero: none), at
	// most PurgeLimit of them (0: 1000).
	PurgeBefore time.Time
	PurgeLimit  int
	Now         time.Time
}

// QueueSweepResult is what QueueSweep did.
type QueueSweepResult struct {
	Abandoned int
	Retried   int
	Purged    int
	// Queues lists the queues that got new items (retries), to wake their consumers.
	Queues []int64
}

// QueueItemStateError refuses a change that the item's state does not allow: it is not
// InProgress, or another caller holds it. It is ErrConflict.
type QueueItemStateError struct {
	Item   QueueItem
	Reason string
}

func (e *QueueItemStateError) Error() string { return e.Reason }

// Is makes errors.Is(err, ErrConflict) hold.
func (e *QueueItemStateError) Is(target error) bool { return target == ErrConflict }

// DuplicateReferenceError refuses an item whose reference its queue already took. Key
// and Status are those of the latest item that holds the reference; Status is "" when
// that item no longer exists (deleted by the retention sweep). It is ErrConflict.
type DuplicateReferenceError struct {
	Queue     string
	Reference string
	ItemID    int64
	Key       string
	Status    QueueItemStatus
}

func (e *DuplicateReferenceError) Error() string {
	if e.Status == "" {
		return fmt.Sprintf("queue %s already had an item with reference %q (Key %s, since removed by the retention of finished items); references of a queue with unique references are never reused",
			e.Queue, e.Reference, e.Key)
	}
	return fmt.Sprintf("queue %s already has an item with reference %q (Key %s, status %s); references of a queue with unique references are never reused, even after the item is deleted",
		e.Queue, e.Reference, e.Key, e.Status)
}

// Is makes errors.Is(err, ErrConflict) hold.
func (e *DuplicateReferenceError) Is(target error) bool { return target == ErrConflict }

// AsDuplicateReference returns the *DuplicateReferenceError in err's chain, if any.
func AsDuplicateReference(err error) (*DuplicateReferenceError, bool) {
	var d *DuplicateReferenceError
	ok := errors.As(err, &d)
	return d, ok
}
