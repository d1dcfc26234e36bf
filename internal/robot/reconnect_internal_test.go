package robot

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestReconnectHonoursItsContext shows a loop that must reconnect while another loop is
// reconnecting stops waiting when its own context ends. The loop that polls for work is
// stopped first on shutdown; had it waited for the heartbeat loop's reconnection, which
// lasts as long as the server is away, a robot told to stop would never stop.
func TestReconnectHonoursItsContext(t *testing.T) {
	r, err := New(Config{URL: "http://127.0.0.1:9", Org: "o", Tenant: "t", ClientID: "c", ClientSecret: "s",
		HostName: "h", WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r.conn <- struct{}{} // another loop is reconnecting
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, gen := r.session(); done <- r.reconnect(ctx, gen) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("reconnect = %v, want its context's end", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reconnect waited for the other loop's reconnection past its own context's end")
	}
}
