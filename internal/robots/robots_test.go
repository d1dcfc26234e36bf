package robots

import (
	"testing"
	"time"
)

func TestSweepInterval(t *testing.T) {
	for in, want := range map[time.Duration]time.Duration{2 * time.Minute: 10 * time.Second, 200 * time.Millisecond: 50 * time.Millisecond,
		time.Millisecond: 10 * time.Millisecond} {
		if got := SweepInterval(in); got != want {
			t.Errorf("SweepInterval(%v) = %v, want %v", in, got, want)
		}
	}
}
