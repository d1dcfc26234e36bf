package api

import (
	"context"
	"sync"
	"time"

	"github.com/openorch/openorch/internal/tenancy"
)

// Every API call reads the same things before its handler runs: the organization and
// tenant of the URL, the token's principal and its roles in the tenant (three queries),
// then, for most routes, the folder of the call and, for the queue routes, the queue by
// name. These rarely change, so each node keeps what it read for a short while.
//
// Staleness is bounded two ways:
//   - On this node, every change made through the API (API.write) empties the cache when it
//     ends, so the next call reads the store again: a disabled user, a removed role or a
//     deleted folder takes effect at once.
//   - A change made on another node (or by hand in the database) is seen here within the
//     TTL (defaultCacheTTL, Options.CacheTTL).
//
// Token revocations do not depend on the cache: the deny-list is checked before it, on
// every call. Deleting an external application or regenerating its secret (identity
// service) revokes its tokens that way; other edits of an application (scopes, name) do not
// change what the cache holds, except the name shown in messages and the audit log.

// defaultCacheTTL is how long a node reuses what it read when Options.CacheTTL is 0. It
// matches the deny-list's refresh interval, so that every kind of revocation reaches the
// other nodes within about a second.
const defaultCacheTTL = time.Second

// cacheSize bounds each map; past it the map is emptied, which only costs store reads.
const cacheSize = 10_000

// nodeCache holds the memos of one API. A read that began before an invalidation is not
// stored after it (gen), so a slow read cannot put back what a write just changed.
type nodeCache struct {
	ttl time.Duration // ≤ 0: nothing is kept
	now func() time.Time

	mu  sync.RWMutex
	gen uint64

	tenants    memo[tenantCacheKey, tenantRef]
	principals memo[principalCacheKey, principalRef]
	access     memo[accessCacheKey, *tenancy.Access]
	folders    memo[folderCacheKey, tenancy.Folder]
	queues     memo[queueCacheKey, tenancy.QueueDefinition]
}

// tenantCacheKey is the URL's organization and tenant segments, as sent: the store decides
// how they match (name in any case, or Key).
type tenantCacheKey struct{ org, tenant string }

type tenantRef struct {
	org    tenancy.Organization
	tenant tenancy.Tenant
}

// principalCacheKey identifies a token's principal: its organization, sub_type, sub and,
// for apps and machines, client id.
type principalCacheKey struct {
	orgID                      int64
	subType, subject, clientID string
}

// principalRef is what authenticate learns of a principal from the store.
type principalRef struct {
	principal tenancy.Principal
	name      string
	user      *tenancy.User // users only; never changed once cached (callers copy it)
	orgAdmin  bool
	tenantID  int64 // machines only: the tenant the machine belongs to
}

type accessCacheKey struct {
	tenantID  int64
	principal tenancy.Principal
	orgAdmin  bool
}

// folderCacheKey names a folder of a tenant the way the folder headers do: by Id, by Key
// or by path (as sent; the store matches paths in any case).
type folderCacheKey struct {
	tenantID int64
	id       int64
	key      string
	path     string
}

type queueCacheKey struct {
	tenantID, folderID int64
	name               string
}

func newNodeCache(ttl time.Duration, now func() time.Time) *nodeCache {
	if ttl == 0 {
		ttl = defaultCacheTTL
	}
	if now == nil {
		now = time.Now
	}
	c := &nodeCache{ttl: ttl, now: now}
	c.tenants.c, c.principals.c, c.access.c, c.folders.c, c.queues.c = c, c, c, c, c
	return c
}

// readToken is taken before a store read whose result is to be cached.
type readToken struct {
	gen uint64
	at  time.Time
}

func (c *nodeCache) begin() readToken {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return readToken{gen: c.gen, at: c.now()}
}

// invalidate forgets everything; reads that began before it are not stored.
func (c *nodeCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.tenants.m)
	clear(c.principals.m)
	clear(c.access.m)
	clear(c.folders.m)
	clear(c.queues.m)
}

// memo is one map of a nodeCache, guarded by its lock.
type memo[K comparable, V any] struct {
	c *nodeCache
	m map[K]memoEntry[V]
}

type memoEntry[V any] struct {
	v  V
	at time.Time // when the read that produced v began
}

// get returns the value of k when it was read less than the TTL ago.
func (m *memo[K, V]) get(k K) (V, bool) {
	var zero V
	if m.c.ttl <= 0 {
		return zero, false
	}
	m.c.mu.RLock()
	e, ok := m.m[k]
	m.c.mu.RUnlock()
	if !ok || m.c.now().Sub(e.at) >= m.c.ttl {
		return zero, false
	}
	return e.v, true
}

// put keeps v, read since t was taken, unless the cache was invalidated meanwhile.
func (m *memo[K, V]) put(t readToken, k K, v V) {
	if m.c.ttl <= 0 {
		return
	}
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	if t.gen != m.c.gen {
		return
	}
	if m.m == nil || len(m.m) >= cacheSize {
		m.m = make(map[K]memoEntry[V])
	}
	m.m[k] = memoEntry[V]{v: v, at: t.at}
}

// load returns k's value from the cache or, failing that, from read, keeping what read
// returns without error.
func (m *memo[K, V]) load(k K, read func() (V, error)) (V, error) {
	if v, ok := m.get(k); ok {
		return v, nil
	}
	t := m.c.begin()
	v, err := read()
	if err == nil {
		m.put(t, k, v)
	}
	return v, err
}

// The folder and queue look-ups of the call pipeline, through the cache. Only what exists
// is kept: a folder or queue that is not found is looked for again on the next call.

func (a *API) folderByPathCached(ctx context.Context, tenantID int64, path string) (tenancy.Folder, error) {
	return a.cache.folders.load(folderCacheKey{tenantID: tenantID, path: path}, func() (tenancy.Folder, error) {
		return a.st.FolderGetByPath(ctx, tenantID, path)
	})
}

func (a *API) folderByIDCached(ctx context.Context, tenantID, id int64) (tenancy.Folder, error) {
	return a.cache.folders.load(folderCacheKey{tenantID: tenantID, id: id}, func() (tenancy.Folder, error) {
		return a.st.FolderGet(ctx, tenantID, id)
	})
}

func (a *API) folderByKeyCached(ctx context.Context, tenantID int64, key string) (tenancy.Folder, error) {
	return a.cache.folders.load(folderCacheKey{tenantID: tenantID, key: key}, func() (tenancy.Folder, error) {
		return a.st.FolderGetByKey(ctx, tenantID, key)
	})
}

func (a *API) queueByNameCached(ctx context.Context, tenantID, folderID int64, name string) (tenancy.QueueDefinition, error) {
	return a.cache.queues.load(queueCacheKey{tenantID: tenantID, folderID: folderID, name: name}, func() (tenancy.QueueDefinition, error) {
		return a.st.QueueDefinitionGetByName(ctx, tenantID, folderID, name)
	})
}
