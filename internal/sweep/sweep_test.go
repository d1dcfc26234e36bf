package sweep

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// TestEvery shows Every runs at once, again each interval, reports failures and keeps
// going, and returns when its context ends.
func TestEvery(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var runs, failures atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		Every(ctx, 10*time.Millisecond, func(context.Context) error {
			if runs.Add(1)%2 == 0 {
				return errors.New("boom")
			}
			return nil
		}, func(error) { failures.Add(1) })
	}()
	deadline := time.Now().Add(10 * time.Second)
	for runs.Load() < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Every did not return when its context ended")
	}
	if r, f := runs.Load(), failures.Load(); r < 4 || f < 2 || f > r/2+1 {
		t.Errorf("%d runs, %d failures reported; want at least 4 runs, every second one failing", r, f)
	}
}
