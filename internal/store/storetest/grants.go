package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// ---- fixtures of the grants

// grantEnv is an organization with one user, who holds the grants of a test.
type grantEnv struct {
	org  tenancy.Organization
	user tenancy.User
}

func mustGrantEnv(t testing.TB, s store.Store, name string) grantEnv {
	t.Helper()
	o := mustOrg(t, s, name)
	return grantEnv{org: o, user: mustUser(t, s, o.ID, "ann@"+name+".example.com")}
}

// hashOf is what the identity service stores of a secret: its hex SHA-256.
func hashOf(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// clock is a test's "now": a recent instant at microsecond precision, which the engines
// store exactly.
func clock() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func ptr(t time.Time) *time.Time { return &t }

func mustSession(t testing.TB, s store.Store, g grantEnv, secret string, now time.Time) store.Session {
	t.Helper()
	v := store.Session{IDHash: hashOf(secret), OrgID: g.org.ID, UserID: g.user.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	ok(t, s.SessionCreate(t.Context(), v), "SessionCreate")
	return v
}

func newAuthCode(g grantEnv, secret string, now time.Time) store.AuthCode {
	return store.AuthCode{CodeHash: hashOf(secret), OrgID: g.org.ID, UserID: g.user.ID, ClientID: "orch-cli",
		RedirectURI: "http://127.0.0.1:8123/callback", Scope: "openid offline_access OrchestratorApiUserAccess",
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", CodeChallengeMethod: "S256", Nonce: "n-0S6_WzA2Mj",
		Family: "fam-" + secret, Issuer: "https://orch.example.com/identity", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
}

func mustAuthCode(t testing.TB, s store.Store, g grantEnv, secret string, now time.Time) store.AuthCode {
	t.Helper()
	c := newAuthCode(g, secret, now)
	ok(t, s.AuthCodeCreate(t.Context(), c), "AuthCodeCreate")
	return c
}

func newRefreshToken(g grantEnv, secret, family string, rotates bool, now time.Time) store.RefreshToken {
	return store.RefreshToken{TokenHash: hashOf(secret), Family: family, OrgID: g.org.ID, UserID: g.user.ID, ClientID: "orch-cli",
		Scope: "openid offline_access", Issuer: "https://orch.example.com/identity", Rotates: rotates,
		CreatedAt: now, ExpiresAt: ptr(now.Add(30 * 24 * time.Hour))}
}

func mustRefreshToken(t testing.TB, s store.Store, g grantEnv, secret, family string, rotates bool, now time.Time) store.RefreshToken {
	t.Helper()
	rt := newRefreshToken(g, secret, family, rotates, now)
	ok(t, s.RefreshTokenCreate(t.Context(), rt), "RefreshTokenCreate")
	return rt
}

func newDeviceCode(secret, userCode string, now time.Time) store.DeviceCode {
	return store.DeviceCode{DeviceHash: hashOf(secret), UserCode: userCode, ClientID: "orch-cli", Scope: "openid offline_access",
		Issuer: "https://orch.example.com/identity", Status: store.DevicePending, CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}
}

func mustDeviceCode(t testing.TB, s store.Store, secret, userCode string, now time.Time) store.DeviceCode {
	t.Helper()
	d := newDeviceCode(secret, userCode, now)
	ok(t, s.DeviceCodeCreate(t.Context(), d), "DeviceCodeCreate")
	return d
}

func mustPAT(t testing.TB, s store.Store, orgID, userID int64, name string, now time.Time) store.PAT {
	t.Helper()
	p, err := s.PATCreate(t.Context(), store.PAT{OrgID: orgID, UserID: userID, Name: name, TokenHash: hashOf(fmt.Sprint(orgID, userID, name)),
		Scopes: []string{"OR.Jobs", "OR.Queues.Read"}, CreatedAt: now, ExpiresAt: now.Add(90 * 24 * time.Hour)})
	ok(t, err, "PATCreate "+name)
	return p
}

// ---- comparing grants

// sameGrant compares two grants field by field, times as instants (time.Equal) and nil
// pointers as nil.
func sameGrant[T any](t testing.TB, what string, got, want T) {
	t.Helper()
	same(t, what, normGrant(got), normGrant(want))
}

func normGrant[T any](v T) any {
	switch x := any(v).(type) {
	case store.Session:
		x.CreatedAt, x.ExpiresAt = normTime(x.CreatedAt), normTime(x.ExpiresAt)
		return x
	case store.AuthCode:
		x.CreatedAt, x.ExpiresAt, x.UsedAt = normTime(x.CreatedAt), normTime(x.ExpiresAt), normTimePtr(x.UsedAt)
		return x
	case store.RefreshToken:
		x.CreatedAt = normTime(x.CreatedAt)
		x.ExpiresAt, x.UsedAt, x.RevokedAt = normTimePtr(x.ExpiresAt), normTimePtr(x.UsedAt), normTimePtr(x.RevokedAt)
		return x
	case store.DeviceCode:
		x.CreatedAt, x.ExpiresAt, x.LastPollAt = normTime(x.CreatedAt), normTime(x.ExpiresAt), normTimePtr(x.LastPollAt)
		return x
	case store.PAT:
		x.CreatedAt, x.ExpiresAt = normTime(x.CreatedAt), normTime(x.ExpiresAt)
		x.RevokedAt, x.LastUsedAt = normTimePtr(x.RevokedAt), normTimePtr(x.LastUsedAt)
		x.Scopes = normStrings(x.Scopes)
		return x
	}
	return v
}

func normTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	n := normTime(*t)
	return &n
}

// sameTime checks that a nullable time was set to want.
func sameTime(t testing.TB, what string, got *time.Time, want time.Time) {
	t.Helper()
	if got == nil || !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// winners counts the nil errors of a race and checks that every other one is ErrConflict.
func winners(t testing.TB, what string, errs []error) int {
	t.Helper()
	n := 0
	for i, err := range errs {
		switch {
		case err == nil:
			n++
		case errors.Is(err, store.ErrConflict):
		default:
			t.Errorf("%s (racer %d): err = %v, want nil or ErrConflict", what, i, err)
		}
	}
	return n
}

// ---- sessions

func sessionTests() []test {
	return []test{
		{"RoundTrip", func(t *testing.T, s store.Store) {
			c := t.Context()
			g := mustGrantEnv(t, s, "acme")
			now := clock()
			// Times are kept to the microsecond, in UTC, whatever the zone they were given in.
			paris := time.FixedZone("Paris", 2*60*60)
			v := store.Session{IDHash: hashOf("s1"), OrgID: g.org.ID, UserID: g.user.ID,
				CreatedAt: now.Add(789 * time.Nanosecond).In(paris), ExpiresAt: now.Add(8*time.Hour + 123*time.Nanosecond)}
			ok(t, s.SessionCreate(c, v), "SessionCreate")
			got, err := s.SessionGet(c, v.IDHash, now)
			ok(t, err, "SessionGet")
			want := v
			want.CreatedAt, want.ExpiresAt = now, now.Add(8*time.Hour)
			sameGrant(t, "SessionGet", got, want)

			wantConflict(t, s.SessionCreate(c, v), "SessionCreate of an existing id")
			missing := v
			missing.IDHash, missing.UserID = hashOf("s2"), missingID
			wantNotFound(t, s.SessionCreate(c, missing), "SessionCreate for a missing user")
			_, err = s.SessionGet(c, hashOf("nobody"), now)
			wantNotFound(t, err, "SessionGet of an unknown id")
		}},
		{"Expiry", func(t *testing.T, s store.Store) {
			c := t.Context()
			g := mustGrantEnv(t, s, "acme")
			now := clock()
			v := mustSession(t, s, g, "s1", now)
			if _, err := s.SessionGet(c, v.IDHash, v.ExpiresAt.Add(-time.Microsecond)); err != nil {
				t.Errorf("SessionGet just before expiry: %v", err)
			}
			_, err := s.SessionGet(c, v.IDHash, v.ExpiresAt)
			wantNotFound(t, err, "SessionGet at the expiry instant")
			_, err = s.SessionGet(c, v.IDHash, v.ExpiresAt.Add(time.Hour))
			wantNotFound(t, err, "SessionGet after expiry")
		}},
		{"Delete", func(t *testing.T, s store.Store) {
			c := t.Context()
			g := mustGrantEnv(t, s, "acme")
			now := clock()
			v := mustSession(t, s, g, "s1", now)
			keep := mustSession(t, s, g, "s2", now)
			ok(t, s.SessionDelete(c, v.IDHash), "SessionDelete")
			_, err := s.SessionGet(c, v.IDHash, now)
			wantNotFound(t, err, "SessionGet of a deleted session")
			wantNotFound(t, s.SessionDelete(c, v.IDHash), "SessionDelete of a deleted session")
			got, err := s.SessionGet(c, keep.IDHash, now)
			ok(t, err, "SessionGet of the other session")
			sameGrant(t, "the other session", got, keep)
		}},
		{"UserDeleteCascades", func(t *testing.T, s store.Store) {
			c := t.Context()
			g := mustGrantEnv(t, s, "acme")
			other := mustUser(t, s, g.org.ID, "bob@acme.example.com")
			og := grantEnv{org: g.org, user: other}
			now := clock()
			sess := mustSession(t, s, g, "s1", now)
			rt := mustRefreshToken(t, s, g, "r1", "fam", true, now)
			pat := mustPAT(t, s, g.org.ID, g.user.ID, "ci", now)
			code := mustAuthCode(t, s, g, "c1", now)
			keepSess := mustSession(t, s, og, "s2", now)
			keepRT := mustRefreshToken(t, s, og, "r2", "fam", true, now)
			keepPAT := mustPAT(t, s, g.org.ID, other.ID, "ci", now)

			ok(t, s.UserDelete(c, g.org.ID, g.user.ID), "UserDelete")
			_, err := s.SessionGet(c, sess.IDHash, now)
			wantNotFound(t, err, "SessionGet after its user was deleted")
			_, err = s.RefreshTokenGet(c, rt.TokenHash)
			wantNotFound(t, err, "RefreshTokenGet after its user was deleted")
			_, err = s.PATGetByHash(c, pat.TokenHash)
			wantNotFound(t, err, "PATGetByHash after its user was deleted")
			_, err = s.AuthCodeUse(c, code.CodeHash, now)
			wantNotFound(t, err, "AuthCodeUse after its user was deleted")

			// The other user's grants stay.
			if got, err := s.SessionGet(c, keepSess.IDHash, now); err != nil {
				t.Errorf("SessionGet of another user's session: %v", err)
			} else {
				sameGrant(t, "another user's session", got, keepSess)
			}
			if got, err := s.RefreshTokenGet(c, keepRT.TokenHash); err != nil {
				t.Errorf("RefreshTokenGet of another user's token: %v", err)
			} else {
				sameGrant(t, "another user's refresh token", got, keepRT)
			}
			if got, err := s.PATGetByHash(c, keepPAT.TokenHash); err != nil {
				t.Errorf("PATGetByHash of another user's token: %v", err)
			} else {
				sameGrant(t, "another user's PAT", got, keepPAT)
			}
		}},
		{"OrganizationDeleteCascades", func(t *testing.T, s store.Store) {
			c := t.Context()
			g := mustGrantEnv(t, s, "acme")
			now := clock()
			sess := mustSession(t, s, g, "s1", now)
			rt := mustRefreshToken(t, s, g, "r1", "fam", false, now)
			pat := mustPAT(t, s, g.org.ID, g.user.ID, "ci", now)
			d := mustDeviceCode(t, s, "d1", "ABCDEFGH", now)
			_, err := s.DeviceCodeUpdate(c, d.DeviceHash, func(d store.DeviceCode) (store.DeviceCode, error) {
				d.Status, d.OrgID, d.UserID = store.DeviceApproved, g.org.ID, g.user.ID
				return d, nil
			})
			ok(t, err, "DeviceCodeUpdate approving")

			ok(t, s.OrganizationDelete(c, g.org.ID), "OrganizationDelete")
			_, err = s.SessionGet(c, sess.IDHash, now)
			wantNotFound(t, err, "SessionGet after its organization was deleted")
			_, err = s.RefreshTokenGet(c, rt.TokenHash)
			wantNotFound(t, err, "RefreshTokenGet after its organization was deleted")
			_, err = s.PATGetByHash(c, pat.TokenHash)
			wantNotFound(t, err, "PATGetByHash after its organization was deleted")
			_, err = s.DeviceCodeGet(c, d.DeviceHash)
			wantNotFound(t, err, "DeviceCodeGet of a code approved by a deleted organization's user")
		}},
	}
}

// ---- authorization codes

func authCodeTests() []test {
	return []test{
		{"RoundTrip", func(t *testing.T, s store.Store) {
			c := t.Context()
			g := mustGrantEnv(t, s, "acme")
			now := clock()
			code := mustAuthCode(t, s, g, "c1", now)
			use := now.Add(5 * time.Second)
			got, err := s.AuthCodeUse(c, code.CodeHash, use)
			ok(t, err, "AuthCodeUse")
			want := code
			want.UsedAt = &use
			sameGrant(t, "AuthCodeUse", got, want)

			// Empty optional fields stay empty.
			bare := store.AuthCode{CodeHash: hashOf("c2"), OrgID: g.org.ID, UserID: g.user.ID, ClientID: "app",
				Family: "f2", Issuer: "https://orch.example.com/identity", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
			ok(t, s.AuthCodeCreate(c, bare), "AuthCodeCreate without PKCE, nonce or redirect URI")
			got, err = s.AuthCodeUse(c, bare.CodeHash, use)
			ok(t, err, "AuthCodeUse")
			bare.UsedAt = &use
			sameGrant(t, "AuthCodeUse of a bare code", got, bare)

			wantConflict(t, s.AuthCodeCreate(c, code), "AuthCodeCreate of an existing hash")
			missing := newAuthCode(g, "c3", now)
			missing.UserID = missingID
			wantNotFound(t, s.AuthCodeCreate(c, missing), "AuthCodeCreate for a missing user")
		}},
		{"SingleUse", func(t *testing.T, s store.Store) {
			c := t.Context()
			g := mustGrantEnv(t, s, "acme")
			now := clock()
			code := mustAuthCode(t, s, g, "c1", now)
			first := now.Add(time.Second)
			_, err := s.AuthCodeUse(c, code.CodeHash, first)
			ok(t, err, "first AuthCodeUse")
			got, err := s.AuthCodeUse(c, code.CodeHash, first.Add(time.Second))
			wantConflict(t, err, "second AuthCodeUse")
			want := code
			want.UsedAt = &first
			sameGrant(t, "code returned by a replay (with the first use's time)", got, want)

			_, err = s.AuthCodeUse(c, hashOf("unknown"), now)
			wantNotFound(t, err, "AuthCodeUse of an unknown code")
		}},
		{"Race", func(t *testing.T, s store.Store) {
			c := t.Context()
			g := mustGrantEnv(t, s, "acme")
			now := clock()
			code := mustAuthCode(t, s, g, "c1", now)
			errs := make([]error, writers)
			got := make([]store.AuthCode, writers)
			parallel(writers, func(i int) {
				got[i], errs[i] = s.AuthCodeUse(c, code.CodeHash, now.Add(time.Duration(i+1)*time.Microsecond))
			})
			if n := winners(t, "AuthCodeUse racing for one code", errs); n != 1 {
				t.Fatalf("%d of %d racing AuthCodeUse calls succeeded, want exactly 1", n, writers)
			}
			var usedAt time.Time
			for i, err := range errs {
				if err == nil {
					usedAt = now.Add(time.Duration(i+1) * time.Microsecond)
				}
			}
			for i, err := range errs {
				if err != nil {
					sameTime(t, fmt.Sprintf("UsedAt returned to loser %d", i), got[i].UsedAt, usedAt)
				}
			}
		}},
	}
}

// ---- refresh tokens

func refreshTokenTests() []test {
	return []test{
		{"RoundTrip", func(t *testing.T, s store.Store) {
			c := t.Context()
			g := mustGrantEnv(t, s, "acme")
			now := clock()
			rt := mustRefreshToken(t, s, g, "r1", "fam", true, now)
			got, err := s.RefreshTokenGet(c, rt.TokenHash)
			ok(t, err, "RefreshTokenGet")
			sameGrant(t, "RefreshTokenGet", got, rt)

			// A non-rotating token without expiry: nil pointers stay nil.
			forever := newRefreshToken(g, "r2", "fam2", false, now)
			forever.ExpiresAt = nil
			ok(t, s.RefreshTokenCreate(c, forever), "RefreshTokenCreate without expiry")
			got, err = s.RefreshTokenGet(c, forever.TokenHash)
			ok(t, err, "RefreshTokenGet")
			sameGrant(t, "RefreshTokenGet of a token without expiry", got, forever)
			if got.ExpiresAt != nil || got.UsedAt != nil || got.RevokedAt != nil {
				t.Errorf("nil times came back set: %+v", got)
			}

			// Every time round-trips (a token imported as already used and revoked).
			spent := newRefreshToken(g, "r3", "fam3", true, now)
			spent.UsedAt, spent.RevokedAt = ptr(now.Add(time.Minute)), ptr(now.Add(2*time.Minute))
			ok(t, s.RefreshTokenCreate(c, spent), "RefreshTokenCreate of a used, revoked token")
			got, err = s.RefreshTokenGet(c, spent.TokenHash)
			ok(t, err, "RefreshTokenGet")
			sameGrant(t, "RefreshTokenGet of a used, revoked token", got, spent)

			wantConflict(t, s.RefreshTokenCreate(c, rt), "RefreshTokenCreate of an existing hash")
			missing := newRefreshToken(g, "r4", "fam", true, now)
			missing.OrgID = missingID
			wantNotFound(t, s.RefreshTokenCreate(c, missing), "RefreshTokenCreate for a missing organization")
			_, err = s.RefreshTokenGet(c, hashOf("unknown"))
			wantNotFound(t, err, "RefreshTokenGet of an unknown token")
		}},
		{"Rotating", func(t *testing.T, s store.Store) {
			c := t.Context()
			g := mustGrantEnv(t, s, "acme")
			now := clock()
			rt := mustRefreshToken(t, s, g, "r1", "fam", true, now)
			first := now.Add(time.Second)
			got, err := s.RefreshTokenUse(c, rt.TokenHash, first)
			ok(t, err, "RefreshTokenUse")
			want := rt
			want.UsedAt = &first
			sameGrant(t, "RefreshTokenUse", got, want)
			stored, err := s.RefreshTokenGet(c, rt.TokenHash)
			ok(t, err, "RefreshTokenGet")
			sameGrant(t, "token after use", stored, want)

			got, err = s.RefreshTokenUse(c, rt.TokenHash, first.Add(time.Second))
			wantConflict(t, err, "second RefreshTokenUse of a rotating token")
			sameGrant(t, "token returned by a replay (with the first use's time)", got, want)

			_, err = s.RefreshTokenUse(c, hashOf("unknown"), now)
			wantNotFound(t, err, "RefreshTokenUse of an unknown token")

			// A revoked rotating token that was never used is refused too.
			unused := mustRefreshToken(t, s, g, "r2", "fam2", true, now)
			ok(t, s.RefreshTokenRevoke(c, unused.TokenHash, first), "RefreshTokenRevoke")
			got, err = s.RefreshTokenUse(c, unused.TokenHash, first.Add(time.Second))
			wantConflict(t, err, "RefreshTokenUse of a revoked token")
			sameTime(t, "RevokedAt of a revoked token", got.RevokedAt, first)
			if got.UsedAt != nil {
				t.Errorf("RefreshTokenUse of a revoked token marked it used: %+v", got)
			}
		}},
		{"Race", func(t *testing.T, s store.Store) {
			c := t.Context()
			g := mustGrantEnv(t, s, "acme")
			now := clock()
			rt := mustRefreshToken(t, s, g, "r1", "fam", true, now)
			errs := make([]error, writers)
			got := make([]store.RefreshToken, writers)
			parallel(writers, func(i int) {
				got[i], errs[i] = s.RefreshTokenUse(c, rt.TokenHash, now.Add(time.Duration(i+1)*time.Microsecond))
			})
			if n := winners(t, "RefreshTokenUse racing for one token", errs); n != 1 {
				t.Fatalf("%d of %d racing RefreshTokenUse calls succeeded, want exactly 1", n, writers)
			}
			var usedAt time.Time
			for i, err := range errs {
				if err == nil {
					usedAt = now.Add(time.Duration(i+1) * time.Microsecond)
				}
			}
			for i, err := range errs {
				if err != nil {
					sameTime(t, fmt.Sprintf("UsedAt returned to loser %d", i), got[i].UsedAt, usedAt)
				}
			}
			stored, err := s.RefreshTokenGet(c, rt.TokenHash)
			ok(t, err, "RefreshTokenGet")
			sameTime(t, "UsedAt stored", stored.UsedAt, usedAt)
		}},
		{"NonRotating", func(t *testing.T, s store.Store) {
			c := t.Context()
			g := mustGrantEnv(t, s, "acme")
			now := clock()
			rt := mustRefreshToken(t, s, g, "r1", "fam", false, now)
			for i := range 3 {
				got, err := s.RefreshTokenUse(c, rt.TokenHash, now.Add(time.Duration(i+1)*time.Second))
				ok(t, err, fmt.Sprintf("RefreshTokenUse %d of a non-rotating token", i+1))
				sameGrant(t, "non-rotating token returned by RefreshTokenUse", got, rt)
			}
			revoked := now.Add(time.Minute)
			ok(t, s.RefreshTokenRevoke(c, rt.TokenHash, revoked), "RefreshTokenRevoke")
			got, err := s.RefreshTokenUse(c, rt.TokenHash, revoked.Add(time.Second))
			wantConflict(t, err, "RefreshTokenUse of a revoked non-rotating token")
			want := rt
			want.RevokedAt = &revoked
			sameGrant(t, "revoked token returned by RefreshTokenUse", got, want)

			// Revoking twice keeps the first time; an unknown token is not found.
			ok(t, s.RefreshTokenRevoke(c, rt.TokenHash, revoked.Add(time.Hour)), "RefreshTokenRevoke again")
			stored, err := s.RefreshTokenGet(c, rt.TokenHash)
			ok(t, err, "RefreshTokenGet")
			sameGrant(t, "token revoked twice", stored, want)
			wantNotFound(t, s.RefreshTokenRevoke(c, hashOf("unknown"), now), "RefreshTokenRevoke of an unknown token")
		}},
		{"RevokeFamily", func(t *testing.T, s store.Store) {
			c := t.Context()
			g := mustGrantEnv(t, s, "acme")
			now := clock()
			rotated := mustRefreshToken(t, s, g, "r1", "fam", true, now)
			_, err := s.RefreshTokenUse(c, rotated.TokenHash, now.Add(time.Second))
			ok(t, err, "RefreshTokenUse")
			current := mustRefreshToken(t, s, g, "r2", "fam", true, now.Add(time.Second))
			reused := mustRefreshToken(t, s, g, "r3", "fam", false, now)
			early := now.Add(30 * time.Second)
			already := mustRefreshToken(t, s, g, "r4", "fam", true, now)
			ok(t, s.RefreshTokenRevoke(c, already.TokenHash, early), "RefreshTokenRevoke")
			other := mustRefreshToken(t, s, g, "r5", "other", true, now)

			revoked := now.Add(time.Minute)
			ok(t, s.RefreshTokenRevokeFamily(c, "fam", revoked), "RefreshTokenRevokeFamily")
			ok(t, s.RefreshTokenRevokeFamily(c, "fam", revoked.Add(time.Hour)), "RefreshTokenRevokeFamily again")
			ok(t, s.RefreshTokenRevokeFamily(c, "no-such-family", revoked), "RefreshTokenRevokeFamily of an unknown family")
			for _, tc := range []struct {
				name string
				rt   store.RefreshToken
				at   time.Time
			}{{"rotated", rotated, revoked}, {"current", current, revoked}, {"non-rotating", reused, revoked}, {"already revoked", already, early}} {
				got, err := s.RefreshTokenGet(c, tc.rt.TokenHash)
				ok(t, err, "RefreshTokenGet "+tc.name)
				sameTime(t, "RevokedAt of the "+tc.name+" token", got.RevokedAt, tc.at)
				got, err = s.RefreshTokenUse(c, tc.rt.TokenHash, revoked.Add(time.Second))
				wantConflict(t, err, "RefreshTokenUse of the "+tc.name+" token of a revoked family")
				sameTime(t, "RevokedAt returned for the "+tc.name+" token", got.RevokedAt, tc.at)
			}
			got, err := s.RefreshTokenGet(c, other.TokenHash)
			ok(t, err, "RefreshTokenGet of another family's token")
			sameGrant(t, "another family's token", got, other)
			_, err = s.RefreshTokenUse(c, other.TokenHash, revoked)
			ok(t, err, "RefreshTokenUse of another family's token")
		}},
	}
}

// ---- device codes

func deviceCodeTests() []test {
	return []test{
		{"RoundTrip", func(t *testing.T, s store.Store) {
			c := t.Context()
			now := clock()
			d := mustDeviceCode(t, s, "d1", "BCDF-GHJK", now)
			got, err := s.DeviceCodeGet(c, d.DeviceHash)
			ok(t, err, "DeviceCodeGet")
			want := d
			want.UserCode = "BCDFGHJK" // stored normalised
			sameGrant(t, "DeviceCodeGet", got, want)
			if got.OrgID != 0 || got.UserID != 0 || got.LastPollAt != nil {
				t.Errorf("a pending code came back with a user or a poll time: %+v", got)
			}

			// A code created approved, with every field set.
			g := mustGrantEnv(t, s, "acme")
			full := newDeviceCode("d2", "LMNPQRST", now)
			full.Status, full.OrgID, full.UserID, full.LastPollAt = store.DeviceApproved, g.org.ID, g.user.ID, ptr(now.Add(5*time.Second))
			ok(t, s.DeviceCodeCreate(c, full), "DeviceCodeCreate approved")
			got, err = s.DeviceCodeGet(c, full.DeviceHash)
			ok(t, err, "DeviceCodeGet")
			sameGrant(t, "DeviceCodeGet of an approved code", got, full)

			wantConflict(t, s.DeviceCodeCreate(c, newDeviceCode("d1", "VWXZ2345", now)), "DeviceCodeCreate of an existing hash")
			wantConflict(t, s.DeviceCodeCreate(c, newDeviceCode("d3", "bcdfghjk", now)), "DeviceCodeCreate of a user code in use")
			bad := newDeviceCode("d4", "VWXZ2345", now)
			bad.Status = "expired"
			wantInvalid(t, s.DeviceCodeCreate(c, bad), "DeviceCodeCreate with an unknown status")
			orphan := newDeviceCode("d5", "VWXZ6789", now)
			orphan.OrgID, orphan.UserID = missingID, missingID
			wantNotFound(t, s.DeviceCodeCreate(c, orphan), "DeviceCodeCreate for a missing user")
			_, err = s.DeviceCodeGet(c, hashOf("unknown"))
			wantNotFound(t, err, "DeviceCodeGet of an unknown code")
		}},
		{"GetByUserCode", func(t *testing.T, s store.Store) {
			c := t.Context()
			now := clock()
			mustDeviceCode(t, s, "other", "WXYZ2345", now)
			d := mustDeviceCode(t, s, "d1", "ABCDEFGH", now)
			for _, code := range []string{"ABCDEFGH", "abcd-efgh", "ABCD-EFGH", "abcdefgh", "AbCd EfGh", " abcd-efgh "} {
				got, err := s.DeviceCodeGetByUserCode(c, code)
				if err != nil {
					t.Errorf("DeviceCodeGetByUserCode(%q): %v", code, err)
					continue
				}
				sameGrant(t, "DeviceCodeGetByUserCode("+code+")", got, d)
			}
			for _, code := range []string{"ABCDEFG", "ABCDEFGHI", "ABCD_EFGH", ""} {
				_, err := s.DeviceCodeGetByUserCode(c, code)
				wantNotFound(t, err, fmt.Sprintf("DeviceCodeGetByUserCode(%q)", code))
			}
		}},
		{"ApproveThenUse", func(t *testing.T, s store.Store) {
			c := t.Context()
			g := mustGrantEnv(t, s, "acme")
			now := clock()
			d := mustDeviceCode(t, s, "d1", "ABCDEFGH", now)

			// The device polls: only LastPollAt changes.
			poll := now.Add(5 * time.Second)
			got, err := s.DeviceCodeUpdate(c, d.DeviceHash, func(old store.DeviceCode) (store.DeviceCode, error) {
				sameGrant(t, "value handed to the update function", old, d)
				old.LastPollAt = &poll
				return old, nil
			})
			ok(t, err, "DeviceCodeUpdate polling")
			want := d
			want.LastPollAt = &poll
			sameGrant(t, "DeviceCodeUpdate polling", got, want)

			// A user approves; changes to other fields are ignored.
			got, err = s.DeviceCodeUpdate(c, d.DeviceHash, func(old store.DeviceCode) (store.DeviceCode, error) {
				old.Status, old.OrgID, old.UserID = store.DeviceApproved, g.org.ID, g.user.ID
				old.ClientID, old.Scope, old.UserCode, old.Issuer = "evil", "everything", "ZZZZZZZZ", "https://evil.example"
				old.ExpiresAt, old.CreatedAt = now.Add(24*time.Hour), now.Add(-time.Hour)
				return old, nil
			})
			ok(t, err, "DeviceCodeUpdate approving")
			want.Status, want.OrgID, want.UserID = store.DeviceApproved, g.org.ID, g.user.ID
			sameGrant(t, "DeviceCodeUpdate approving", got, want)
			stored, err := s.DeviceCodeGet(c, d.DeviceHash)
			ok(t, err, "DeviceCodeGet")
			sameGrant(t, "approved code as stored", stored, want)

			// The device gets its tokens: the code is used.
			got, err = s.DeviceCodeUpdate(c, d.DeviceHash, func(old store.DeviceCode) (store.DeviceCode, error) {
				if old.Status != store.DeviceApproved {
					return old, fmt.Errorf("status %q, want approved: %w", old.Status, errBoom)
				}
				old.Status = store.DeviceUsed
				return old, nil
			})
			ok(t, err, "DeviceCodeUpdate using")
			want.Status = store.DeviceUsed
			sameGrant(t, "DeviceCodeUpdate using", got, want)

			// An error of fn is returned and nothing changes; so is an unknown status.
			_, err = s.DeviceCodeUpdate(c, d.DeviceHash, func(old store.DeviceCode) (store.DeviceCode, error) {
				old.Status = store.DeviceDenied
				return old, errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Errorf("DeviceCodeUpdate whose function fails: err = %v, want the function's error", err)
			}
			_, err = s.DeviceCodeUpdate(c, d.DeviceHash, func(old store.DeviceCode) (store.DeviceCode, error) {
				old.Status = "maybe"
				return old, nil
			})
			wantInvalid(t, err, "DeviceCodeUpdate to an unknown status")
			_, err = s.DeviceCodeUpdate(c, d.DeviceHash, func(old store.DeviceCode) (store.DeviceCode, error) {
				old.UserID = missingID
				return old, nil
			})
			wantNotFound(t, err, "DeviceCodeUpdate to a missing user")
			stored, err = s.DeviceCodeGet(c, d.DeviceHash)
			ok(t, err, "DeviceCodeGet")
			sameGrant(t, "code after failed updates", stored, want)

			_, err = s.DeviceCodeUpdate(c, hashOf("unknown"), func(old store.DeviceCode) (store.DeviceCode, error) {
				t.Error("the update function was called for an unknown code")
				return old, nil
			})
			wantNotFound(t, err, "DeviceCodeUpdate of an unknown code")
		}},
		{"Deny", func(t *testing.T, s store.Store) {
			c := t.Context()
			now := clock()
			d := mustDeviceCode(t, s, "d1", "ABCDEFGH", now)
			got, err := s.DeviceCodeUpdate(c, d.DeviceHash, func(old store.DeviceCode) (store.DeviceCode, error) {
				old.Status = store.DeviceDenied
				return old, nil
			})
			ok(t, err, "DeviceCodeUpdate denying")
			want := d
			want.Status = store.DeviceDenied
			sameGrant(t, "DeviceCodeUpdate denying", got, want)
		}},
	}
}

// ---- personal access tokens

func patTests() []test {
	return []test{
		{"CreateGet", func(t *testing.T, s store.Store) {
			c := t.Context()
			g := mustGrantEnv(t, s, "acme")
			now := clock()
			in := store.PAT{ID: 42, Key: "ignored", OrgID: g.org.ID, UserID: g.user.ID, Name: "CI pipeline", TokenHash: hashOf("p1"),
				Scopes: []string{"OR.Jobs", "OR.Queues.Read"}, CreatedAt: now, ExpiresAt: now.Add(90 * 24 * time.Hour)}
			p, err := s.PATCreate(c, in)
			ok(t, err, "PATCreate")
			checkNew(t, "PAT", p.ID, p.Key, p.CreatedAt)
			want := in
			want.ID, want.Key = p.ID, p.Key
			sameGrant(t, "PATCreate", p, want)
			if p.RevokedAt != nil || p.LastUsedAt != nil {
				t.Errorf("a new PAT is revoked or used: %+v", p)
			}
			got, err := s.PATGetByHash(c, in.TokenHash)
			ok(t, err, "PATGetByHash")
			sameGrant(t, "PATGetByHash", got, p)

			// Without scopes or a creation time: the store fills in now.
			bare, err := s.PATCreate(c, store.PAT{OrgID: g.org.ID, UserID: g.user.ID, Name: "bare", TokenHash: hashOf("p2"), ExpiresAt: now.Add(time.Hour)})
			ok(t, err, "PATCreate without scopes")
			checkNew(t, "PAT", bare.ID, bare.Key, bare.CreatedAt)
			if len(bare.Scopes) != 0 || bare.ID == p.ID || bare.Key == p.Key {
				t.Errorf("second PAT: %+v (first %+v)", bare, p)
			}

			dup := in
			dup.Name = "copy"
			_, err = s.PATCreate(c, dup)
			wantConflict(t, err, "PATCreate of an existing token hash")
			orphan := in
			orphan.TokenHash, orphan.UserID = hashOf("p3"), missingID
			_, err = s.PATCreate(c, orphan)
			wantNotFound(t, err, "PATCreate for a missing user")
			_, err = s.PATGetByHash(c, hashOf("unknown"))
			wantNotFound(t, err, "PATGetByHash of an unknown token")
		}},
		{"List", func(t *testing.T, s store.Store) {
			c := t.Context()
			g := mustGrantEnv(t, s, "acme")
			bob := mustUser(t, s, g.org.ID, "bob@acme.example.com")
			now := clock()
			oldest := mustPAT(t, s, g.org.ID, g.user.ID, "oldest", now.Add(-2*time.Hour))
			newest := mustPAT(t, s, g.org.ID, g.user.ID, "newest", now)
			mid1 := mustPAT(t, s, g.org.ID, g.user.ID, "mid-1", now.Add(-time.Hour))
			mid2 := mustPAT(t, s, g.org.ID, g.user.ID, "mid-2", now.Add(-time.Hour)) // same time: higher id first
			mustPAT(t, s, g.org.ID, bob.ID, "bob's", now)
			revoked, err := s.PATRevoke(c, g.org.ID, g.user.ID, mid1.ID, now)
			ok(t, err, "PATRevoke")
			got, err := s.PATList(c, g.org.ID, g.user.ID)
			ok(t, err, "PATList")
			want := []store.PAT{newest, mid2, revoked, oldest}
			if len(got) != len(want) {
				t.Fatalf("PATList: %d tokens, want %d: %+v", len(got), len(want), got)
			}
			for i := range got {
				sameGrant(t, fmt.Sprintf("PATList[%d]", i), got[i], want[i])
			}
			none, err := s.PATList(c, g.org.ID, missingID)
			ok(t, err, "PATList of a user without tokens")
			if len(none) != 0 {
				t.Errorf("PATList of a user without tokens: %+v", none)
			}
		}},
		{"Revoke", func(t *testing.T, s store.Store) {
			c := t.Context()
			g := mustGrantEnv(t, s, "acme")
			now := clock()
			p := mustPAT(t, s, g.org.ID, g.user.ID, "ci", now)
			keep := mustPAT(t, s, g.org.ID, g.user.ID, "keep", now)
			at := now.Add(time.Minute)
			got, err := s.PATRevoke(c, g.org.ID, g.user.ID, p.ID, at)
			ok(t, err, "PATRevoke")
			want := p
			want.RevokedAt = &at
			sameGrant(t, "PATRevoke", got, want)

			// Revoking again returns the token unchanged, first time kept.
			got, err = s.PATRevoke(c, g.org.ID, g.user.ID, p.ID, at.Add(time.Hour))
			ok(t, err, "PATRevoke again")
			sameGrant(t, "PATRevoke of a revoked token", got, want)

			// A revoked token is still found by its hash, so the caller can say why it fails.
			got, err = s.PATGetByHash(c, p.TokenHash)
			ok(t, err, "PATGetByHash of a revoked token")
			sameGrant(t, "PATGetByHash of a revoked token", got, want)
			got, err = s.PATGetByHash(c, keep.TokenHash)
			ok(t, err, "PATGetByHash of another token")
			sameGrant(t, "another token of the user", got, keep)

			_, err = s.PATRevoke(c, g.org.ID, g.user.ID, missingID, at)
			wantNotFound(t, err, "PATRevoke of an unknown id")
		}},
		{"Isolation", func(t *testing.T, s store.Store) {
			c := t.Context()
			a := mustGrantEnv(t, s, "org-a")
			b := mustGrantEnv(t, s, "org-b")
			bob := mustUser(t, s, a.org.ID, "bob@org-a.example.com")
			now := clock()
			p := mustPAT(t, s, a.org.ID, a.user.ID, "ann's", now)

			_, err := s.PATRevoke(c, a.org.ID, bob.ID, p.ID, now)
			wantNotFound(t, err, "PATRevoke of another user's token")
			_, err = s.PATRevoke(c, b.org.ID, a.user.ID, p.ID, now)
			wantNotFound(t, err, "PATRevoke from another organization with the owner's ids")
			_, err = s.PATRevoke(c, b.org.ID, b.user.ID, p.ID, now)
			wantNotFound(t, err, "PATRevoke by another organization's user")
			for _, owner := range []struct {
				what          string
				orgID, userID int64
			}{
				{"another organization with the owner's user id", b.org.ID, a.user.ID},
				{"another organization's user", b.org.ID, b.user.ID},
				{"another user of the organization", a.org.ID, bob.ID},
			} {
				got, err := s.PATList(c, owner.orgID, owner.userID)
				ok(t, err, "PATList of "+owner.what)
				if len(got) != 0 {
					t.Errorf("PATList of %s: %+v, want none", owner.what, got)
				}
			}
			got, err := s.PATGetByHash(c, p.TokenHash)
			ok(t, err, "PATGetByHash")
			sameGrant(t, "token after refused revocations", got, p)
		}},
		{"Touch", func(t *testing.T, s store.Store) {
			c := t.Context()
			g := mustGrantEnv(t, s, "acme")
			now := clock()
			p := mustPAT(t, s, g.org.ID, g.user.ID, "ci", now)
			used := now.Add(time.Minute)
			ok(t, s.PATTouch(c, p.ID, used), "PATTouch")
			got, err := s.PATGetByHash(c, p.TokenHash)
			ok(t, err, "PATGetByHash")
			want := p
			want.LastUsedAt = &used
			sameGrant(t, "PAT after PATTouch", got, want)
			later := used.Add(time.Hour)
			ok(t, s.PATTouch(c, p.ID, later), "PATTouch again")
			got, err = s.PATGetByHash(c, p.TokenHash)
			ok(t, err, "PATGetByHash")
			sameTime(t, "LastUsedAt after a second PATTouch", got.LastUsedAt, later)
			wantNotFound(t, s.PATTouch(c, missingID, now), "PATTouch of an unknown id")
		}},
	}
}
