package identity

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/openorch/openorch/internal/store"
)

// revocationStore is what the deny-list needs of the store.
type revocationStore interface {
	RevocationAdd(ctx context.Context, r store.Revocation) (store.Revocation, error)
	RevocationListSince(ctx context.Context, since, now time.Time) ([]store.Revocation, error)
}

// DenyList is a node's in-memory copy of the revocations in the database, refreshed by
// polling, so that a revocation made on any node takes effect everywhere within the poll
// interval without a database read per request.
type DenyList struct {
	st     revocationStore
	now    func() time.Time
	logger *slog.Logger

	mu          sync.RWMutex
	lastRefresh time.Time                   // when the last successful refresh started
	entries     map[string]store.Revocation // kind + "\x00" + value → the latest cut-off
}

// NewDenyList loads the current revocations.
func NewDenyList(ctx context.Context, st revocationStore, logger *slog.Logger, now func() time.Time) (*DenyList, error) {
	if now == nil {
		now = time.Now
	}
	d := &DenyList{st: st, now: now, logger: logger, entries: map[string]store.Revocation{}}
	return d, d.Refresh(ctx)
}

// Revoke records a revocation of every token matching kind and value issued until now; it
// applies on this node at once and on the others within their poll interval. expireAt is
// when the last such token expires anyway.
func (d *DenyList) Revoke(ctx context.Context, kind, value string, expireAt time.Time) error {
	r, err := d.st.RevocationAdd(ctx, store.Revocation{Kind: kind, Value: value, IssuedBefore: d.now(), ExpireAt: expireAt})
	if err != nil {
		return err
	}
	d.add(r)
	return nil
}

func (d *DenyList) add(r store.Revocation) {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := r.Kind + "\x00" + r.Value
	if old, ok := d.entries[key]; !ok || r.IssuedBefore.After(old.IssuedBefore) {
		d.entries[key] = r
	}
}

// refreshOverlap is how far back each refresh looks again before the previous one: a
// revocation becomes visible when its transaction commits, which may be a while after the
// time it records (and the clocks of nodes differ a little).
const refreshOverlap = 30 * time.Second

// Refresh reads the revocations made since shortly before the last refresh and drops the
// expired ones. Reading a row twice is harmless.
func (d *DenyList) Refresh(ctx context.Context) error {
	start := d.now()
	d.mu.RLock()
	since := d.lastRefresh
	d.mu.RUnlock()
	if !since.IsZero() {
		since = since.Add(-refreshOverlap)
	}
	rs, err := d.st.RevocationListSince(ctx, since, start)
	if err != nil {
		return err
	}
	for _, r := range rs {
		d.add(r)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lastRefresh = start
	for k, r := range d.entries {
		if r.ExpireAt.Before(start) {
			delete(d.entries, k)
		}
	}
	return nil
}

// Run refreshes every interval until ctx ends.
func (d *DenyList) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := d.Refresh(ctx); err != nil && ctx.Err() == nil && d.logger != nil {
				d.logger.Warn("deny-list refresh failed", "err", err)
			}
		}
	}
}

// RevokedSince reports whether kind/value was revoked at or after t (on this node, or on
// another as of the last refresh).
func (d *DenyList) RevokedSince(kind, value string, t time.Time) bool {
	if d == nil {
		return false
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	r, ok := d.entries[kind+"\x00"+value]
	return ok && !r.IssuedBefore.Before(t)
}

// Denied says why the token is revoked, or "" when it is not.
func (d *DenyList) Denied(c Claims) string {
	issued := time.UnixMilli(c.IssuedAtMillis)
	if c.IssuedAtMillis == 0 {
		issued = time.Unix(c.IssuedAt, 0)
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if len(d.entries) == 0 {
		return ""
	}
	checks := []struct{ kind, value, what string }{
		{store.RevokeJTI, c.ID, "this token was revoked"},
		{store.RevokeSubject, c.Subject, "every token of its subject was revoked"},
		{store.RevokeClient, c.ClientID, fmt.Sprintf("the tokens of client %q were revoked (its secret was regenerated or it was deleted)", c.ClientID)},
		{store.RevokeFamily, c.Family, familyWhat(c.Family)},
	}
	for _, ch := range checks {
		if ch.value == "" {
			continue
		}
		if r, ok := d.entries[ch.kind+"\x00"+ch.value]; ok && !issued.After(r.IssuedBefore) {
			return fmt.Sprintf("%s at %s", ch.what, r.IssuedBefore.UTC().Format(time.RFC3339))
		}
	}
	return ""
}

// familyWhat says what the revocation of a token family was.
func familyWhat(family string) string {
	if strings.HasPrefix(family, userKeyFamilyPrefix) {
		return "the user key it was obtained with was revoked"
	}
	return "its refresh token family was revoked"
}
