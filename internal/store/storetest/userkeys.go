package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/store"
)

// ---- user keys

func mustUserKey(t testing.TB, s store.Store, orgID, userID int64, name string, now time.Time) store.UserKey {
	t.Helper()
	k, err := s.UserKeyCreate(t.Context(), store.UserKey{OrgID: orgID, UserID: userID, Name: name,
		TokenHash: hashOf(fmt.Sprint("uk", orgID, userID, name)), CreatedAt: now})
	ok(t, err, "UserKeyCreate "+name)
	return k
}

// sameUserKey compares two user keys field by field, times as instants.
func sameUserKey(t testing.TB, what string, got, want store.UserKey) {
	t.Helper()
	norm := func(k store.UserKey) store.UserKey {
		k.CreatedAt = normTime(k.CreatedAt)
		k.RevokedAt, k.LastUsedAt = normTimePtr(k.RevokedAt), normTimePtr(k.LastUsedAt)
		return k
	}
	same(t, what, norm(got), norm(want))
}

func userKeyTests() []test {
	return []test{
		{"CreateGet", func(t *testing.T, s store.Store) {
			c := t.Context()
			g := mustGrantEnv(t, s, "acme")
			now := clock()
			in := store.UserKey{ID: 42, Key: "ignored", OrgID: g.org.ID, UserID: g.user.ID, Name: "nightly report",
				TokenHash: hashOf("k1"), CreatedAt: now}
			k, err := s.UserKeyCreate(c, in)
			ok(t, err, "UserKeyCreate")
			checkNew(t, "user key", k.ID, k.Key, k.CreatedAt)
			want := in
			want.ID, want.Key = k.ID, k.Key
			sameUserKey(t, "UserKeyCreate", k, want)
			got, err := s.UserKeyGetByHash(c, in.TokenHash)
			ok(t, err, "UserKeyGetByHash")
			sameUserKey(t, "UserKeyGetByHash", got, k)

			// Without a creation time the store fills in now.
			bare, err := s.UserKeyCreate(c, store.UserKey{OrgID: g.org.ID, UserID: g.user.ID, Name: "bare", TokenHash: hashOf("k2")})
			ok(t, err, "UserKeyCreate without a creation time")
			checkNew(t, "user key", bare.ID, bare.Key, bare.CreatedAt)
			if bare.ID == k.ID || bare.Key == k.Key || bare.RevokedAt != nil || bare.LastUsedAt != nil {
				t.Errorf("second user key: %+v (first %+v)", bare, k)
			}

			dup := in
			dup.Name = "copy"
			_, err = s.UserKeyCreate(c, dup)
			wantConflict(t, err, "UserKeyCreate of an existing hash")
			orphan := in
			orphan.TokenHash, orphan.UserID = hashOf("k3"), missingID
			_, err = s.UserKeyCreate(c, orphan)
			wantNotFound(t, err, "UserKeyCreate for a missing user")
			_, err = s.UserKeyGetByHash(c, hashOf("unknown"))
			wantNotFound(t, err, "UserKeyGetByHash of an unknown key")
		}},
		{"List", func(t *testing.T, s store.Store) {
			c := t.Context()
			g := mustGrantEnv(t, s, "acme")
			bob := mustUser(t, s, g.org.ID, "bob@acme.example.com")
			now := clock()
			oldest := mustUserKey(t, s, g.org.ID, g.user.ID, "oldest", now.Add(-2*time.Hour))
			newest := mustUserKey(t, s, g.org.ID, g.user.ID, "newest", now)
			mid1 := mustUserKey(t, s, g.org.ID, g.user.ID, "mid-1", now.Add(-time.Hour))
			mid2 := mustUserKey(t, s, g.org.ID, g.user.ID, "mid-2", now.Add(-time.Hour)) // same time: higher id first
			mustUserKey(t, s, g.org.ID, bob.ID, "bob's", now)
			revoked, err := s.UserKeyRevoke(c, g.org.ID, g.user.ID, mid1.ID, now)
			ok(t, err, "UserKeyRevoke")
			got, err := s.UserKeyList(c, g.org.ID, g.user.ID)
			ok(t, err, "UserKeyList")
			want := []store.UserKey{newest, mid2, revoked, oldest}
			if len(got) != len(want) {
				t.Fatalf("UserKeyList: %d keys, want %d: %+v", len(got), len(want), got)
			}
			for i := range got {
				sameUserKey(t, fmt.Sprintf("UserKeyList[%d]", i), got[i], want[i])
			}
			none, err := s.UserKeyList(c, g.org.ID, missingID)
			ok(t, err, "UserKeyList of a user without keys")
			if len(none) != 0 {
				t.Errorf("UserKeyList of a user without keys: %+v", none)
			}
		}},
		{"Revoke", func(t *testing.T, s store.Store) {
			c := t.Context()
			g := mustGrantEnv(t, s, "acme")
			now := clock()
			k := mustUserKey(t, s, g.org.ID, g.user.ID, "ci", now)
			keep := mustUserKey(t, s, g.org.ID, g.user.ID, "keep", now)
			at := now.Add(time.Minute)
			got, err := s.UserKeyRevoke(c, g.org.ID, g.user.ID, k.ID, at)
			ok(t, err, "UserKeyRevoke")
			want := k
			want.RevokedAt = &at
			sameUserKey(t, "UserKeyRevoke", got, want)

			// Revoking again returns the key unchanged: the first time is kept.
			got, err = s.UserKeyRevoke(c, g.org.ID, g.user.ID, k.ID, at.Add(time.Hour))
			ok(t, err, "UserKeyRevoke again")
			sameUserKey(t, "UserKeyRevoke of a revoked key", got, want)

			// A revoked key is still found by its hash, so the caller can say why it fails.
			got, err = s.UserKeyGetByHash(c, k.TokenHash)
			ok(t, err, "UserKeyGetByHash of a revoked key")
			sameUserKey(t, "UserKeyGetByHash of a revoked key", got, want)
			got, err = s.UserKeyGetByHash(c, keep.TokenHash)
			ok(t, err, "UserKeyGetByHash of another key")
			sameUserKey(t, "another key of the user", got, keep)

			_, err = s.UserKeyRevoke(c, g.org.ID, g.user.ID, missingID, at)
			wantNotFound(t, err, "UserKeyRevoke of an unknown id")
		}},
		{"Touch", func(t *testing.T, s store.Store) {
			c := t.Context()
			g := mustGrantEnv(t, s, "acme")
			now := clock()
			k := mustUserKey(t, s, g.org.ID, g.user.ID, "ci", now)
			used := now.Add(time.Minute)
			ok(t, s.UserKeyTouch(c, k.ID, used), "UserKeyTouch")
			got, err := s.UserKeyGetByHash(c, k.TokenHash)
			ok(t, err, "UserKeyGetByHash")
			want := k
			want.LastUsedAt = &used
			sameUserKey(t, "user key after UserKeyTouch", got, want)
			later := used.Add(time.Hour)
			ok(t, s.UserKeyTouch(c, k.ID, later), "UserKeyTouch again")
			got, err = s.UserKeyGetByHash(c, k.TokenHash)
			ok(t, err, "UserKeyGetByHash")
			sameTime(t, "LastUsedAt after a second UserKeyTouch", got.LastUsedAt, later)
			wantNotFound(t, s.UserKeyTouch(c, missingID, now), "UserKeyTouch of an unknown id")
		}},
		{"Isolation", func(t *testing.T, s store.Store) {
			c := t.Context()
			a := mustGrantEnv(t, s, "org-a")
			b := mustGrantEnv(t, s, "org-b")
			bob := mustUser(t, s, a.org.ID, "bob@org-a.example.com")
			now := clock()
			k := mustUserKey(t, s, a.org.ID, a.user.ID, "ann's", now)

			for _, who := range []struct {
				what          string
				orgID, userID int64
			}{
				{"another user of the organization", a.org.ID, bob.ID},
				{"another organization with the owner's user id", b.org.ID, a.user.ID},
				{"another organization's user", b.org.ID, b.user.ID},
			} {
				_, err := s.UserKeyRevoke(c, who.orgID, who.userID, k.ID, now)
				wantNotFound(t, err, "UserKeyRevoke by "+who.what)
				got, err := s.UserKeyList(c, who.orgID, who.userID)
				ok(t, err, "UserKeyList of "+who.what)
				if len(got) != 0 {
					t.Errorf("UserKeyList of %s: %+v, want none", who.what, got)
				}
			}
			got, err := s.UserKeyGetByHash(c, k.TokenHash)
			ok(t, err, "UserKeyGetByHash")
			sameUserKey(t, "key after refused revocations", got, k)
		}},
		{"Cascades", func(t *testing.T, s store.Store) {
			c := t.Context()
			g := mustGrantEnv(t, s, "acme")
			bob := mustUser(t, s, g.org.ID, "bob@acme.example.com")
			other := mustGrantEnv(t, s, "globex")
			now := clock()
			ann := mustUserKey(t, s, g.org.ID, g.user.ID, "ann's", now)
			bobs := mustUserKey(t, s, g.org.ID, bob.ID, "bob's", now)
			globex := mustUserKey(t, s, other.org.ID, other.user.ID, "globex", now)

			ok(t, s.UserDelete(c, g.org.ID, g.user.ID), "UserDelete")
			_, err := s.UserKeyGetByHash(c, ann.TokenHash)
			wantNotFound(t, err, "UserKeyGetByHash after its user was deleted")
			got, err := s.UserKeyGetByHash(c, bobs.TokenHash)
			ok(t, err, "UserKeyGetByHash of another user's key")
			sameUserKey(t, "another user's key after a user was deleted", got, bobs)

			ok(t, s.OrganizationDelete(c, g.org.ID), "OrganizationDelete")
			_, err = s.UserKeyGetByHash(c, bobs.TokenHash)
			wantNotFound(t, err, "UserKeyGetByHash after its organization was deleted")
			got, err = s.UserKeyGetByHash(c, globex.TokenHash)
			ok(t, err, "UserKeyGetByHash of another organization's key")
			sameUserKey(t, "another organization's key", got, globex)
		}},
		{"ConcurrentRevoke", func(t *testing.T, s store.Store) {
			// Every racer gets the key back revoked, all with the same (the first) time.
			c := t.Context()
			g := mustGrantEnv(t, s, "acme")
			now := clock()
			k := mustUserKey(t, s, g.org.ID, g.user.ID, "ci", now)
			const n = 8
			got := make([]store.UserKey, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					got[i], errs[i] = s.UserKeyRevoke(c, g.org.ID, g.user.ID, k.ID, now.Add(time.Duration(i+1)*time.Second))
				})
			}
			wg.Wait()
			for i := range n {
				ok(t, errs[i], fmt.Sprintf("UserKeyRevoke (racer %d)", i))
				if got[i].RevokedAt == nil || !got[i].RevokedAt.Equal(*got[0].RevokedAt) {
					t.Errorf("racer %d: RevokedAt %v, racer 0: %v; want one revocation time", i, got[i].RevokedAt, got[0].RevokedAt)
				}
			}
		}},
	}
}
