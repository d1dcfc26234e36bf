package identity

import (
	"sync"
	"time"

	"github.com/openorch/openorch/internal/store"
)

// clientCache keeps the clients (app or machine, organization, secret hash) the token
// endpoint authenticated recently, so that client_credentials does not read the store on
// every request. An entry lives clientCacheTTL; a regenerated secret or a deleted client
// (both revoke the client's tokens through the deny-list) evicts it at once on this node and
// within a deny-list refresh on the others. Other edits (scopes) show within the TTL.
type clientCache struct {
	now func() time.Time

	mu sync.Mutex
	m  map[string]cachedClient
}

const (
	clientCacheTTL  = 10 * time.Second
	clientCacheSize = 10_000
)

type cachedClient struct {
	c    client
	hash string
	at   time.Time
}

func newClientCache(now func() time.Time) *clientCache {
	return &clientCache{now: now, m: map[string]cachedClient{}}
}

func (cc *clientCache) get(id string, deny *DenyList) (client, string, bool) {
	cc.mu.Lock()
	e, ok := cc.m[id]
	cc.mu.Unlock()
	if !ok {
		return client{}, "", false
	}
	if cc.now().Sub(e.at) > clientCacheTTL || deny.RevokedSince(store.RevokeClient, id, e.at) {
		cc.mu.Lock()
		delete(cc.m, id)
		cc.mu.Unlock()
		return client{}, "", false
	}
	return e.c, e.hash, true
}

// put caches a client read from the store at or after readFrom.
func (cc *clientCache) put(id string, c client, hash string, readFrom time.Time) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if len(cc.m) >= clientCacheSize {
		clear(cc.m) // bounded; a burst of distinct ids only costs store reads
	}
	cc.m[id] = cachedClient{c: c, hash: hash, at: readFrom}
}
