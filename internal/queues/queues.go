// Package queues runs what work queues need besides the API and the store: the signal that
// wakes callers waiting for an item (StartTransaction with Prefer: wait), and the sweeper
// that abandons items left InProgress and deletes finished items past their retention.
//
// # Waking waiters
//
// A node that adds items (or retries them) signals their queue on its own Signal at once.
// Items added on other nodes reach it through the database: on PostgreSQL the store sends
// a notification when the adding transaction commits, and postgres.Listen feeds it into
// the Signal; SQLite has one node only. As a fallback against a lost connection, waiters
// also look at the queue every PollInterval.
//
// # The sweeper
//
// Every SweepInterval one node (the store takes an installation-wide lock for each sweep)
// marks Abandoned the items InProgress for longer than AbandonAfter (24 h by default, as
// UiPath's cloud; --queue-item-abandon-after), retries them where the queue says so, and
// deletes the items finished (Successful, Failed, Abandoned, Retried, Deleted) for longer
// than Retention (30 days by default; --queue-item-retention), with their history. The
// references they took stay taken.
package queues

import (
	"context"
	"log/slog"
	"time"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/sweep"
	"github.com/openorch/openorch/internal/wake"
)

// Defaults, as UiPath's cloud.
const (
	DefaultAbandonAfter = 24 * time.Hour
	DefaultRetention    = 30 * 24 * time.Hour
	// PollInterval is how often a waiting StartTransaction looks at its queue when no
	// signal came.
	PollInterval = time.Second
	// SweepInterval is how often the sweeper runs.
	SweepInterval = time.Minute
)

// Signal wakes the callers waiting for items of a queue (StartTransaction with Prefer: wait), by queue id.
type Signal = wake.Signal

// NewSignal makes a Signal.
func NewSignal() *Signal { return wake.New() }

// Sweeper abandons stale items and deletes old finished ones (see the package comment).
type Sweeper struct {
	Store store.QueueStore
	// Now is the clock (nil: time.Now).
	Now          func() time.Time
	AbandonAfter time.Duration // 0: DefaultAbandonAfter
	Retention    time.Duration // 0: DefaultRetention
	// Signal, when set, is told about queues that got retries.
	Signal *Signal
	Logger *slog.Logger
	// OnSweep, when set, is told what each sweep did (for metrics).
	OnSweep func(store.QueueSweepResult)
}

// Run sweeps every interval (0: SweepInterval) until ctx ends.
func (w *Sweeper) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = SweepInterval
	}
	sweep.Every(ctx, interval, func(ctx context.Context) error { _, err := w.Sweep(ctx); return err }, func(err error) {
		w.logger().Error("queue sweep failed; it runs again at the next interval", "err", err)
	})
}

// sweepBatches bounds the deletions of one sweep: a backlog is worked off over several
// sweeps rather than in one long run.
const sweepBatches = 20

// Sweep runs one sweep: abandonment, then deletion in batches of 1000 items.
func (w *Sweeper) Sweep(ctx context.Context) (store.QueueSweepResult, error) {
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	abandon, retention := w.AbandonAfter, w.Retention
	if abandon <= 0 {
		abandon = DefaultAbandonAfter
	}
	if retention <= 0 {
		retention = DefaultRetention
	}
	t := now()
	total, err := w.Store.QueueSweep(ctx, store.QueueSweepParams{AbandonBefore: t.Add(-abandon), PurgeBefore: t.Add(-retention), Now: t})
	if err != nil {
		return total, err
	}
	for i := 1; i < sweepBatches && total.Purged == i*1000; i++ {
		r, err := w.Store.QueueSweep(ctx, store.QueueSweepParams{PurgeBefore: t.Add(-retention), Now: t})
		if err != nil {
			return total, err
		}
		total.Purged += r.Purged
	}
	for _, q := range total.Queues {
		if w.Signal != nil {
			w.Signal.Notify(q)
		}
	}
	if total.Abandoned > 0 || total.Purged > 0 {
		w.logger().Info("queue sweep", "abandoned", total.Abandoned, "retried", total.Retried, "deleted", total.Purged)
	}
	if w.OnSweep != nil {
		w.OnSweep(total)
	}
	return total, nil
}

func (w *Sweeper) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}
