package identity

import (
	"context"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/store"
)

type fakeRevocations struct{ rs []store.Revocation }

func (f *fakeRevocations) RevocationAdd(_ context.Context, r store.Revocation) (store.Revocation, error) {
	r.ID = int64(len(f.rs) + 1)
	f.rs = append(f.rs, r)
	return r, nil
}

func (f *fakeRevocations) RevocationListSince(context.Context, time.Time, time.Time) ([]store.Revocation, error) {
	return f.rs, nil
}

func TestClientCache(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	deny, err := NewDenyList(context.Background(), &fakeRevocations{}, nil, clock)
	if err != nil {
		t.Fatal(err)
	}
	cc := newClientCache(clock)
	cc.put("bot", client{id: "bot", name: "app bot"}, "hash1", now)
	if c, h, ok := cc.get("bot", deny); !ok || c.name != "app bot" || h != "hash1" {
		t.Fatalf("fresh entry: %v %q %v", c, h, ok)
	}
	now = now.Add(clientCacheTTL + time.Second)
	if _, _, ok := cc.get("bot", deny); ok {
		t.Error("an entry older than the TTL is still served")
	}
	cc.put("bot", client{id: "bot"}, "hash1", now)
	now = now.Add(time.Second)
	// Regenerating the secret (or deleting the client) revokes its tokens: the entry goes.
	if err := deny.Revoke(context.Background(), store.RevokeClient, "bot", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := cc.get("bot", deny); ok {
		t.Error("a revoked client is still served from the cache")
	}
	// A revocation from before the entry was cached does not evict it.
	now = now.Add(time.Millisecond)
	cc.put("bot", client{id: "bot"}, "hash2", now)
	if _, h, ok := cc.get("bot", deny); !ok || h != "hash2" {
		t.Error("an entry cached after the revocation was evicted")
	}
	// A read that began before a revocation and finished after it is evicted: it may hold
	// the old secret.
	readFrom := now
	now = now.Add(time.Millisecond)
	if err := deny.Revoke(context.Background(), store.RevokeClient, "bot", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Millisecond)
	cc.put("bot", client{id: "bot"}, "old-hash", readFrom)
	if _, _, ok := cc.get("bot", deny); ok {
		t.Error("a read that overlapped a revocation is served from the cache")
	}
}
