package api_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/api"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// countingStore counts the reads the API makes before its handlers run.
type countingStore struct {
	store.Store
	mu sync.Mutex
	n  map[string]int
}

func (s *countingStore) count(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n[name]++
}

// take returns the counts so far and starts again from zero.
func (s *countingStore) take() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.n
	s.n = map[string]int{}
	return n
}

func (s *countingStore) OrganizationGetByName(ctx context.Context, nameOrKey string) (tenancy.Organization, error) {
	s.count("OrganizationGetByName")
	return s.Store.OrganizationGetByName(ctx, nameOrKey)
}

func (s *countingStore) TenantGetByName(ctx context.Context, orgID int64, nameOrKey string) (tenancy.Tenant, error) {
	s.count("TenantGetByName")
	return s.Store.TenantGetByName(ctx, orgID, nameOrKey)
}

func (s *countingStore) UserGetByKey(ctx context.Context, orgID int64, key string) (tenancy.User, error) {
	s.count("UserGetByKey")
	return s.Store.UserGetByKey(ctx, orgID, key)
}

func (s *countingStore) AppGetByClientID(ctx context.Context, clientID string) (tenancy.App, error) {
	s.count("AppGetByClientID")
	return s.Store.AppGetByClientID(ctx, clientID)
}

func (s *countingStore) AccessGet(ctx context.Context, tenantID int64, p tenancy.Principal, orgAdmin bool) (tenancy.Access, error) {
	s.count("AccessGet")
	return s.Store.AccessGet(ctx, tenantID, p, orgAdmin)
}

func (s *countingStore) FolderGetByPath(ctx context.Context, tenantID int64, path string) (tenancy.Folder, error) {
	s.count("FolderGetByPath")
	return s.Store.FolderGetByPath(ctx, tenantID, path)
}

func (s *countingStore) QueueDefinitionGetByName(ctx context.Context, tenantID, folderID int64, name string) (tenancy.QueueDefinition, error) {
	s.count("QueueDefinitionGetByName")
	return s.Store.QueueDefinitionGetByName(ctx, tenantID, folderID, name)
}

// cacheEnv is newEnv's installation served by two API nodes over one database: node A
// (env.url, reading through counts) and node B (nodeB), each with its own cache of ttl.
type cacheEnv struct {
	*env
	counts *countingStore
	nodeB  string
}

func newCacheEnv(t *testing.T, open func(testing.TB) store.Store, ttl time.Duration) *cacheEnv {
	t.Helper()
	var counts *countingStore
	e := newEnvWith(t, open, func(o *api.Options) {
		counts = &countingStore{Store: o.Store, n: map[string]int{}}
		o.Store, o.CacheTTL = counts, ttl
	})
	counts.take() // what the seeds read
	return &cacheEnv{env: e, counts: counts, nodeB: e.secondNode(t, func(o *api.Options) { o.CacheTTL = ttl })}
}

// TestCacheReads shows that a node reads the organization, tenant, principal, access,
// folder and queue of a call once, not on every call, and again after a write.
func TestCacheReads(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newCacheEnv(t, open, time.Hour)
			who := queueCallers(t, e.env)
			list := base + "/odata/QueueDefinitions"
			e.counts.take()
			for range 5 {
				wantStatus(t, e.get(t, list, who.bob), 200)
				wantStatus(t, addItem(t, e.env, who.bot, "Invoices", ""), 201)
			}
			want := map[string]int{"OrganizationGetByName": 1, "TenantGetByName": 1, "UserGetByKey": 1, "AppGetByClientID": 1,
				"AccessGet": 2, "FolderGetByPath": 1, "QueueDefinitionGetByName": 1}
			wantCounts(t, "ten calls of two callers", e.counts.take(), want)

			// A write through the API empties the cache: the next calls read again, once.
			wantStatus(t, e.send(t, "POST", base+"/odata/Queues/UiPathODataSvc.BulkAddQueueItems",
				`{"queueName":"Invoices","queueItems":[{"Reference":"bulk"}]}`, who.bot), 200)
			e.counts.take()
			for range 3 {
				wantStatus(t, addItem(t, e.env, who.bot, "Invoices", ""), 201)
			}
			wantCounts(t, "calls after a write", e.counts.take(), map[string]int{"OrganizationGetByName": 1, "TenantGetByName": 1,
				"AppGetByClientID": 1, "AccessGet": 1, "FolderGetByPath": 1, "QueueDefinitionGetByName": 1})

			// Without the cache every call reads everything.
			off := newCacheEnv(t, open, -1)
			bob := queueCallers(t, off.env).bob
			off.counts.take()
			for range 5 {
				wantStatus(t, off.get(t, list, bob), 200)
			}
			wantCounts(t, "five calls without the cache", off.counts.take(), map[string]int{"OrganizationGetByName": 5,
				"TenantGetByName": 5, "UserGetByKey": 5, "AccessGet": 5, "FolderGetByPath": 5})
		})
	}
}

func wantCounts(t *testing.T, what string, got, want map[string]int) {
	t.Helper()
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %s read %d times, want %d (all: %v)", what, k, got[k], n, got)
		}
	}
}

// TestCacheInvalidation shows that a change made through the API applies from the next
// call on the node that made it, however long the cache keeps entries, and within the
// cache's TTL on another node.
func TestCacheInvalidation(t *testing.T) {
	t.Parallel()
	const ttl = 500 * time.Millisecond
	changes := []struct {
		name   string
		change func(t *testing.T, e *cacheEnv, ann map[string]string, bobID int64)
		status int // what bob's call gets afterwards
	}{
		{"role removed", func(t *testing.T, e *cacheEnv, ann map[string]string, bobID int64) {
			shared, err := e.st.FolderGetByPath(context.Background(), mustTenantOf(t, e.env).ID, "Shared")
			if err != nil {
				t.Fatal(err)
			}
			wantStatus(t, e.send(t, "POST", base+"/odata/Folders/UiPath.Server.Configuration.OData.RemoveUserFromFolder",
				`{"userId":`+itoa(bobID)+`,"folderId":`+itoa(shared.ID)+`}`, ann), 204)
		}, 403},
		{"user disabled", func(t *testing.T, e *cacheEnv, ann map[string]string, bobID int64) {
			wantStatus(t, e.send(t, "PATCH", base+"/odata/Users("+itoa(bobID)+")", `{"IsActive":false}`, ann), 200)
		}, 401},
	}
	for name, open := range engines() {
		for _, ch := range changes {
			t.Run(name+"/"+ch.name, func(t *testing.T) {
				t.Parallel()
				// On this node: a TTL far longer than the test, so that only the
				// invalidation can make the change apply.
				e := newCacheEnv(t, open, time.Hour)
				who := queueCallers(t, e.env)
				ann := bearer(e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess"))
				list := base + "/odata/QueueDefinitions"
				wantStatus(t, e.get(t, list, who.bob), 200)
				wantStatus(t, e.get(t, list, who.bob), 200) // from the cache
				ch.change(t, e, ann, mustUserID(t, e.env, "bob@acme.test"))
				wantStatus(t, e.get(t, list, who.bob), ch.status)

				// On another node: within the TTL.
				e = newCacheEnv(t, open, ttl)
				who = queueCallers(t, e.env)
				ann = bearer(e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess"))
				nodeB := *e.env
				nodeB.url = e.nodeB
				getB := func() reply { return nodeB.get(t, list, who.bob) }
				wantStatus(t, getB(), 200)
				changed := time.Now()
				ch.change(t, e, ann, mustUserID(t, e.env, "bob@acme.test"))
				for {
					r := getB()
					if r.status == ch.status {
						break
					}
					if r.status != 200 {
						t.Fatalf("node B: status %d, want 200 then %d: %s", r.status, ch.status, r.raw)
					}
					// Generous for a loaded machine; the bound itself is the TTL.
					if time.Since(changed) > ttl+2*time.Second {
						t.Fatalf("node B still answers 200 %v after the change; the cache keeps entries %v", time.Since(changed), ttl)
					}
					time.Sleep(10 * time.Millisecond)
				}
			})
		}
	}
}

func mustTenantOf(t *testing.T, e *env) tenancy.Tenant {
	t.Helper()
	tn, err := e.st.TenantGetByName(context.Background(), mustOrgOf(t, e).ID, "DefaultTenant")
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

func mustUserID(t *testing.T, e *env, email string) int64 {
	t.Helper()
	u, err := e.st.UserGetByEmail(context.Background(), mustOrgOf(t, e).ID, email)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}
