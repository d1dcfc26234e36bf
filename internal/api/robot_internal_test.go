package api

import (
	"testing"
	"time"
)

// Intervals are told to robots in seconds with their fraction: a sub-second heartbeat
// setting must not become a whole second (which a shorter unresponsive setting would not
// outlast).
func TestIntervalSeconds(t *testing.T) {
	for d, want := range map[time.Duration]float64{200 * time.Millisecond: 0.2, 1500 * time.Millisecond: 1.5,
		30 * time.Second: 30, 2 * time.Minute: 120} {
		if got := intervalSeconds(d); got != want {
			t.Errorf("intervalSeconds(%s) = %v, want %v", d, got, want)
		}
	}
}
