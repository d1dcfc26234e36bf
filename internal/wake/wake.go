// Package wake lets callers wait for something named by a number (a queue, a tenant) and
// be woken at once when another goroutine says it changed. Work queues use it for
// StartTransaction with Prefer: wait (package queues), robots for robot/next (package
// robots); on PostgreSQL, postgres.Listen feeds it what other nodes notify.
package wake

import (
	"strconv"
	"sync"
)

// Signal wakes the callers waiting on a number. The zero value is not usable: make one with
// New. It is safe for concurrent use.
type Signal struct {
	mu      sync.Mutex
	waiters map[int64]map[chan struct{}]struct{}
}

// New makes a Signal.
func New() *Signal {
	return &Signal{waiters: map[int64]map[chan struct{}]struct{}{}}
}

// Wait returns a channel that is closed when id is signalled, and a function to call once
// done waiting. Call Wait before looking for what you wait for, so that a Notify in
// between still wakes you.
func (s *Signal) Wait(id int64) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	set := s.waiters[id]
	if set == nil {
		set = map[chan struct{}]struct{}{}
		s.waiters[id] = set
	}
	set[ch] = struct{}{}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if set, ok := s.waiters[id]; ok {
			delete(set, ch)
			if len(set) == 0 {
				delete(s.waiters, id)
			}
		}
	}
}

// Notify wakes every caller waiting on id; each looks again, and waits again if it finds
// nothing.
func (s *Signal) Notify(id int64) {
	s.mu.Lock()
	set := s.waiters[id]
	delete(s.waiters, id)
	s.mu.Unlock()
	for ch := range set {
		close(ch)
	}
}

// NotifyPayload notifies the number a database notification carries (in decimal); other
// payloads are ignored.
func (s *Signal) NotifyPayload(payload string) {
	if id, err := strconv.ParseInt(payload, 10, 64); err == nil {
		s.Notify(id)
	}
}
