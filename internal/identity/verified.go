package identity

import (
	"sync"
	"time"
)

// verifiedTokens remembers, by SHA-256, the access tokens whose signature, issuer and
// audience this node checked, so that a client sending the same token on every call (a
// robot, a script) costs one signature check a minute instead of one per call: an ES256
// check takes about 100 µs, more than the rest of a typical API call. A different token,
// or the same one altered, has another hash and is checked in full. Expiry, the signing
// key and the deny-list are checked on every call, so revocations apply exactly as
// without it.
type verifiedTokens struct {
	mu sync.RWMutex
	m  map[[32]byte]verifiedToken
}

type verifiedToken struct {
	claims Claims
	kid    string
	at     time.Time
}

const (
	// verifiedTTL bounds how long an entry is used; only memory depends on it.
	verifiedTTL = time.Minute
	// verifiedMax bounds the entries; past it they are all dropped, which costs only
	// signature checks.
	verifiedMax = 10_000
)

func (vt *verifiedTokens) get(sum [32]byte, now time.Time) (Claims, string, bool) {
	vt.mu.RLock()
	e, ok := vt.m[sum]
	vt.mu.RUnlock()
	if !ok || now.Sub(e.at) >= verifiedTTL {
		return Claims{}, "", false
	}
	return e.claims, e.kid, true
}

func (vt *verifiedTokens) put(sum [32]byte, c Claims, kid string, now time.Time) {
	vt.mu.Lock()
	defer vt.mu.Unlock()
	if vt.m == nil || len(vt.m) >= verifiedMax {
		vt.m = make(map[[32]byte]verifiedToken)
	}
	vt.m[sum] = verifiedToken{claims: c, kid: kid, at: now}
}
