package robots

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/store"
)

func TestSweepInterval(t *testing.T) {
	for in, want := range map[time.Duration]time.Duration{2 * time.Minute: 10 * time.Second, 200 * time.Millisecond: 50 * time.Millisecond,
		time.Millisecond: 10 * time.Millisecond} {
		if got := SweepInterval(in); got != want {
			t.Errorf("SweepInterval(%v) = %v, want %v", in, got, want)
		}
	}
}

// sweepStore answers RobotSweep with the log deletions in deleted, one a call.
type sweepStore struct {
	store.RobotStore
	deleted []int
	calls   []store.RobotSweepParams
}

func (s *sweepStore) RobotSweep(_ context.Context, p store.RobotSweepParams) (store.RobotSweepResult, error) {
	s.calls = append(s.calls, p)
	n := 0
	if len(s.calls) <= len(s.deleted) {
		n = s.deleted[len(s.calls)-1]
	}
	return store.RobotSweepResult{LogsDeleted: n}, nil
}

// TestSweepLogBatches shows a sweep deletes further batches of logs while a batch comes
// back full, only logs in those, and at most logBatches batches.
func TestSweepLogBatches(t *testing.T) {
	full := store.RobotLogSweepBatch
	for _, tc := range []struct {
		name    string
		deleted []int
		calls   int
		total   int
	}{
		{"nothing to delete", []int{0}, 1, 0},
		{"a part batch", []int{10}, 1, 10},
		{"a backlog", []int{full, full, 500}, 3, 2*full + 500},
		{"a backlog larger than a sweep", slices.Repeat([]int{full}, 30), logBatches, logBatches * full},
	} {
		st := &sweepStore{deleted: tc.deleted}
		res, err := (&Sweeper{Store: st}).Sweep(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(st.calls) != tc.calls || res.LogsDeleted != tc.total {
			t.Errorf("%s: %d calls deleting %d, want %d deleting %d", tc.name, len(st.calls), res.LogsDeleted, tc.calls, tc.total)
		}
		for i, p := range st.calls {
			if p.LogsOnly != (i > 0) || p.LogsBefore.IsZero() {
				t.Errorf("%s: call %d = %+v; the first sweeps jobs and logs, the others logs only", tc.name, i, p)
			}
		}
	}
}
