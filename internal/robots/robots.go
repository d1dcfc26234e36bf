// Package robots runs what robots need besides the API and the store: the signal that
// wakes robots waiting for work (robot/next), and the sweeper that ends the jobs of robots
// that stopped answering or that run past their maximum time, and deletes old robot logs.
//
// # Waking robots
//
// A node that starts, restarts or stops jobs signals their tenant on its own Signal at
// once. Changes made on other nodes reach it through the database: on PostgreSQL the store
// sends a notification on store.RobotNotifyChannel when the transaction commits, and
// postgres.Listen feeds it into the Signal; SQLite has one node only. As a fallback
// against a lost connection, waiting robots also look for work every PollInterval.
//
// # The sweeper
//
// Every sweep interval one node (the store takes an installation-wide lock for each
// sweep) ends Faulted the jobs of robots that have not called for UnresponsiveAfter
// (RobotUnresponsive) and those still running Grace after their maximum run time
// (MaxRunTimeExceeded), and deletes robot logs older than LogRetention.
package robots

import (
	"context"
	"log/slog"
	"time"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/sweep"
	"github.com/openorch/openorch/internal/wake"
)

// Defaults.
const (
	DefaultHeartbeatInterval = 30 * time.Second
	DefaultUnresponsiveAfter = 2 * time.Minute
	DefaultLogRetention      = 30 * 24 * time.Hour
	// Grace is how long past its maximum run time a job may run before the server ends it
	// (its robot kills it first).
	Grace = 30 * time.Second
	// PollInterval is how often a waiting robot/next looks for work when no signal came.
	PollInterval = time.Second
)

// SweepInterval is how often the sweeper runs for a given unresponsive setting: a quarter
// of it, between 10 ms and 10 s, so that a silent robot is noticed soon after the setting.
func SweepInterval(unresponsiveAfter time.Duration) time.Duration {
	return min(max(unresponsiveAfter/4, 10*time.Millisecond), 10*time.Second)
}

// Signal wakes the robots of a tenant waiting for work (robot/next), by tenant id.
type Signal = wake.Signal

// NewSignal makes a Signal.
func NewSignal() *Signal { return wake.New() }

// Sweeper ends the jobs nothing runs any more and deletes old logs (see the package
// comment).
type Sweeper struct {
	Store store.RobotStore
	// Now is the clock (nil: time.Now).
	Now               func() time.Time
	UnresponsiveAfter time.Duration // 0: DefaultUnresponsiveAfter
	LogRetention      time.Duration // 0: DefaultLogRetention
	Logger            *slog.Logger
	// OnSweep, when set, is told what each sweep did.
	OnSweep func(store.RobotSweepResult)
}

// Run sweeps every interval (0: SweepInterval of the unresponsive setting) until ctx ends.
func (w *Sweeper) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = SweepInterval(w.unresponsiveAfter())
	}
	sweep.Every(ctx, interval, func(ctx context.Context) error { _, err := w.Sweep(ctx); return err }, func(err error) {
		w.logger().Error("robot sweep failed; it runs again at the next interval", "err", err)
	})
}

// logBatches bounds the log deletions of one sweep, in batches of store.RobotLogSweepBatch.
const logBatches = 20

// Sweep runs one sweep.
func (w *Sweeper) Sweep(ctx context.Context) (store.RobotSweepResult, error) {
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	retention := w.LogRetention
	if retention <= 0 {
		retention = DefaultLogRetention
	}
	t := now()
	res, err := w.Store.RobotSweep(ctx, store.RobotSweepParams{UnresponsiveBefore: t.Add(-w.unresponsiveAfter()), Grace: Grace,
		LogsBefore: t.Add(-retention), Now: t})
	if err != nil {
		return res, err
	}
	// A full batch of deleted logs may leave more: delete up to logBatches batches a sweep,
	// so that a backlog is worked off over a few sweeps rather than in one long run.
	for i := 1; i < logBatches && res.LogsDeleted == i*store.RobotLogSweepBatch; i++ {
		more, err := w.Store.RobotSweep(ctx, store.RobotSweepParams{LogsBefore: t.Add(-retention), LogsOnly: true, Now: t})
		if err != nil {
			return res, err
		}
		res.LogsDeleted += more.LogsDeleted
	}
	for _, j := range res.Unresponsive {
		w.logger().Warn("job faulted: its robot stopped answering", "job", j.ID, "detail", j.Error.Detail)
	}
	for _, j := range res.Overdue {
		w.logger().Warn("job faulted: it ran past its maximum run time", "job", j.ID, "maxRunTimeSeconds", j.MaxRunTimeSeconds)
	}
	if w.OnSweep != nil {
		w.OnSweep(res)
	}
	return res, nil
}

func (w *Sweeper) unresponsiveAfter() time.Duration {
	if w.UnresponsiveAfter <= 0 {
		return DefaultUnresponsiveAfter
	}
	return w.UnresponsiveAfter
}

func (w *Sweeper) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}
