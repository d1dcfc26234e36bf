package api

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rate limits (DESIGN §5) are off by default. A tenant turns them on with two settings:
// a budget for the whole tenant and a budget for each caller (an application, a machine,
// or a user through one client), with per-client-id overrides. Each budget is a token
// bucket holding one minute's worth of calls and refilling continuously, so a caller can
// burst up to its budget and then goes on at budget/60 calls a second.
//
// Buckets live in the memory of each node: with N nodes behind a load balancer a caller
// gets at most N times its budget. Settings are re-read from the database every
// settingsTTL, so a change made on another node applies within that time.

const (
	settingTenantRPM = "OpenOrch.RateLimit.TenantRequestsPerMinute"
	settingClientRPM = "OpenOrch.RateLimit.ClientRequestsPerMinute"
	// settingClientRPMFor + client id overrides settingClientRPM for that client's callers.
	settingClientRPMFor = settingClientRPM + "."

	settingsTTL = 5 * time.Second
	// idleBucket is how long an unused bucket is kept; a new one starts full, which is what
	// an idle bucket would have refilled to anyway.
	idleBucket = 10 * time.Minute
)

// limits is the rate limiter of one API node.
type limits struct {
	now func() time.Time

	mu       sync.Mutex
	settings map[int64]tenantLimits // by tenant id
	buckets  map[string]*bucket
	swept    time.Time
}

// tenantLimits are a tenant's rate-limit settings as last read.
type tenantLimits struct {
	read      time.Time
	tenantRPM int
	clientRPM int
	perClient map[string]int // client id → calls per minute
}

type bucket struct {
	lim  *rate.Limiter
	rpm  int
	used time.Time
}

func newLimits(now func() time.Time) *limits {
	if now == nil {
		now = time.Now
	}
	return &limits{now: now, settings: map[int64]tenantLimits{}, buckets: map[string]*bucket{}}
}

// forget drops a tenant's cached settings, after this node changed them.
func (l *limits) forget(tenantID int64) {
	l.mu.Lock()
	delete(l.settings, tenantID)
	l.mu.Unlock()
}

// rateLimit charges one call to the tenant's and the caller's buckets. It sets
// X-RateLimit-Limit and X-RateLimit-Remaining when a limit applies, and answers 429 with
// Retry-After when a bucket is empty.
func (a *API) rateLimit(c *call) *apiError {
	if c.route.NoRateLimit {
		return nil
	}
	tl, err := a.tenantLimits(c)
	if err != nil {
		return internalError(c.r, err)
	}
	clientRPM := tl.clientRPM
	if n, ok := tl.perClient[c.who.claims.ClientID]; ok {
		clientRPM = n
	}
	if tl.tenantRPM == 0 && clientRPM == 0 {
		return nil
	}
	type charge struct {
		key, what, setting string
		rpm                int
	}
	var charges []charge
	if tl.tenantRPM > 0 {
		charges = append(charges, charge{fmt.Sprintf("t%d", c.tenant.ID), "tenant " + c.tenant.Name, settingTenantRPM, tl.tenantRPM})
	}
	if clientRPM > 0 {
		setting := settingClientRPM
		if _, ok := tl.perClient[c.who.claims.ClientID]; ok {
			setting = settingClientRPMFor + c.who.claims.ClientID
		}
		charges = append(charges, charge{fmt.Sprintf("t%d/%s/%s", c.tenant.ID, c.who.claims.ClientID, c.who.claims.Subject),
			c.who.name + " (client " + c.who.claims.ClientID + ")", setting, clientRPM})
	}

	l := a.limits
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	// Check every bucket first and charge only when all have room: a refused call uses
	// up no budget.
	limit, remaining := math.MaxInt, math.MaxInt
	bs := make([]*bucket, len(charges))
	for i, ch := range charges {
		b := l.bucket(ch.key, ch.rpm, now)
		bs[i] = b
		if tokens := b.lim.TokensAt(now); tokens < 1 {
			secs := int(math.Ceil((1 - tokens) * 60 / float64(ch.rpm)))
			c.w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			c.w.Header().Set("X-RateLimit-Limit", strconv.Itoa(ch.rpm))
			c.w.Header().Set("X-RateLimit-Remaining", "0")
			return because("rate_limited", errorf(http.StatusTooManyRequests, codeNone,
				"too many requests: %s may make %d API calls a minute (tenant setting %s); retry after %d s",
				ch.what, ch.rpm, ch.setting, max(secs, 1)))
		}
	}
	for i, b := range bs {
		b.lim.AllowN(now, 1)
		limit = min(limit, charges[i].rpm)
		remaining = min(remaining, max(int(b.lim.TokensAt(now)), 0))
	}
	c.w.Header().Set("X-RateLimit-Limit", strconv.Itoa(limit))
	c.w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	return nil
}

// bucket returns the bucket of key, made or resized for rpm calls a minute. Call with l.mu.
func (l *limits) bucket(key string, rpm int, now time.Time) *bucket {
	b := l.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(float64(rpm)/60), rpm), rpm: rpm}
		l.buckets[key] = b
	} else if b.rpm != rpm {
		b.lim.SetLimitAt(now, rate.Limit(float64(rpm)/60))
		b.lim.SetBurstAt(now, rpm)
		b.rpm = rpm
	}
	b.used = now
	return b
}

// sweep drops buckets unused for idleBucket, at most once a minute. Call with l.mu.
func (l *limits) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	for k, b := range l.buckets {
		if now.Sub(b.used) > idleBucket {
			delete(l.buckets, k)
		}
	}
}

// tenantLimits returns the tenant's rate-limit settings, read from the store at most once
// per settingsTTL.
func (a *API) tenantLimits(c *call) (tenantLimits, error) {
	l := a.limits
	now := l.now()
	l.mu.Lock()
	tl, ok := l.settings[c.tenant.ID]
	l.mu.Unlock()
	if ok && now.Sub(tl.read) < settingsTTL {
		return tl, nil
	}
	vals, err := a.st.SettingList(c.ctx(), c.tenant.ID)
	if err != nil {
		return tenantLimits{}, err
	}
	tl = tenantLimits{read: now, perClient: map[string]int{}}
	// Values were checked when they were set; a bad one (edited by hand) means no limit.
	tl.tenantRPM, _ = strconv.Atoi(vals[settingTenantRPM])
	tl.clientRPM, _ = strconv.Atoi(vals[settingClientRPM])
	for name, v := range vals {
		if id, ok := strings.CutPrefix(name, settingClientRPMFor); ok && id != "" {
			n, _ := strconv.Atoi(v)
			tl.perClient[id] = n
		}
	}
	l.mu.Lock()
	l.settings[c.tenant.ID] = tl
	l.mu.Unlock()
	return tl, nil
}
