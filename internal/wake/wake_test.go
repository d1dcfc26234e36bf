package wake

import (
	"testing"
	"time"
)

func TestSignal(t *testing.T) {
	t.Parallel()
	s := New()
	a, stopA := s.Wait(1)
	b, stopB := s.Wait(2)
	defer stopB()
	s.NotifyPayload("1")
	select {
	case <-a:
	case <-time.After(time.Second):
		t.Fatal("Notify(1) did not wake a waiter on 1")
	}
	stopA() // after the wake-up: a no-op
	select {
	case <-b:
		t.Fatal("Notify(1) woke a waiter on 2")
	default:
	}
	s.NotifyPayload("not a number") // ignored
	c, stopC := s.Wait(3)
	stopC()
	s.Notify(3) // nobody waits any more: nothing to close twice
	select {
	case <-c:
		t.Fatal("a waiter that stopped waiting was woken")
	default:
	}
	if len(s.waiters) != 1 {
		t.Errorf("%d numbers have waiters, want 1 (2)", len(s.waiters))
	}
}
