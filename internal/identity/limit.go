package identity

import (
	"sync"
	"time"
)

// failures counts failed attempts per key (a client id, an account, an address) in fixed
// windows, and says how long a key must wait once it has failed too often. It is per node:
// an attacker spreading attempts across nodes gets at most nodes × limit tries a window.
type failures struct {
	limit  int
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	keys map[string]*failWindow
}

type failWindow struct {
	start time.Time
	n     int
}

func newFailures(limit int, window time.Duration, now func() time.Time) *failures {
	return &failures{limit: limit, window: window, now: now, keys: map[string]*failWindow{}}
}

// blocked returns how long key must still wait, or 0.
func (f *failures) blocked(key string) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	w, ok := f.keys[key]
	if !ok {
		return 0
	}
	left := w.start.Add(f.window).Sub(f.now())
	if left <= 0 {
		delete(f.keys, key)
		return 0
	}
	if w.n >= f.limit {
		return left
	}
	return 0
}

// fail records a failure of key.
func (f *failures) fail(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	w, ok := f.keys[key]
	if !ok || now.Sub(w.start) >= f.window {
		if len(f.keys) > 100_000 { // bound memory under a flood of distinct keys
			for k, old := range f.keys {
				if now.Sub(old.start) >= f.window {
					delete(f.keys, k)
				}
			}
		}
		w = &failWindow{start: now}
		f.keys[key] = w
	}
	w.n++
}
