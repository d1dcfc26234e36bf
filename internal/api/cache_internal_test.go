package api

import (
	"testing"
	"time"

	"github.com/openorch/openorch/internal/tenancy"
)

func TestNodeCache(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newNodeCache(time.Second, func() time.Time { return now })
	k := tenantCacheKey{"acme", "DefaultTenant"}
	v := tenantRef{tenant: tenancy.Tenant{ID: 7}}

	c.tenants.put(c.begin(), k, v)
	if got, ok := c.tenants.get(k); !ok || got.tenant.ID != 7 {
		t.Fatalf("a fresh entry: %+v, %v", got, ok)
	}
	now = now.Add(999 * time.Millisecond)
	if _, ok := c.tenants.get(k); !ok {
		t.Error("an entry read 999ms ago is gone, want it kept for the TTL of 1s")
	}
	now = now.Add(time.Millisecond)
	if _, ok := c.tenants.get(k); ok {
		t.Error("an entry read 1s ago is still used, want it expired")
	}

	// A read that began before an invalidation is not kept: it may hold what the write
	// just changed.
	c.tenants.put(c.begin(), k, v)
	read := c.begin()
	c.invalidate()
	if _, ok := c.tenants.get(k); ok {
		t.Error("an entry survived invalidate")
	}
	c.tenants.put(read, k, v)
	if _, ok := c.tenants.get(k); ok {
		t.Error("a read begun before invalidate was kept")
	}

	// A negative TTL keeps nothing.
	off := newNodeCache(-1, nil)
	off.tenants.put(off.begin(), k, v)
	if _, ok := off.tenants.get(k); ok {
		t.Error("a disabled cache returned an entry")
	}
}
