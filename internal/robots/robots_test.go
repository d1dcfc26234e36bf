package robots

import (
	"testing"
	"time"
)

func TestSignal(t *testing.T) {
	s := NewSignal()
	woken, done := s.Wait(1)
	other, doneOther := s.Wait(2)
	defer doneOther()
	s.NotifyPayload("1")
	select {
	case <-woken:
	case <-time.After(time.Second):
		t.Fatal("tenant 1 was not woken")
	}
	done()
	select {
	case <-other:
		t.Fatal("tenant 2 was woken by tenant 1's notification")
	default:
	}
	s.NotifyPayload("not a number") // ignored
}

func TestSweepInterval(t *testing.T) {
	for in, want := range map[time.Duration]time.Duration{2 * time.Minute: 10 * time.Second, 200 * time.Millisecond: 50 * time.Millisecond,
		time.Millisecond: 10 * time.Millisecond} {
		if got := SweepInterval(in); got != want {
			t.Errorf("SweepInterval(%v) = %v, want %v", in, got, want)
		}
	}
}
