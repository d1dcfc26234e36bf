// Package sweep runs a node's periodic maintenance: the queues' and the robots' sweepers
// call Every with their sweep.
package sweep

import (
	"context"
	"time"
)

// Every runs fn at once and then every interval until ctx ends. A failed run is passed to
// failed (when not nil) and the next run comes at the next interval; an error after ctx
// ended is not reported.
func Every(ctx context.Context, interval time.Duration, fn func(context.Context) error, failed func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := fn(ctx); err != nil && ctx.Err() == nil && failed != nil {
			failed(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
