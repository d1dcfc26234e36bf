package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/server"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// Personal access tokens (DESIGN §4): random strings "oo_pat_…", stored as SHA-256, shown
// once at creation, scoped and expiring. They are sent verbatim as Bearer tokens.
const (
	patPrefix = "oo_pat_"
	// PATClientID is the client_id claim of a personal access token's claims.
	PATClientID = "pat"
	// patTouchEvery is how often a PAT's last-used time is written at most.
	patTouchEvery = time.Minute
	// patOrgTTL is how long an organization's name and key are cached for PAT claims.
	patOrgTTL = 5 * time.Minute
	// patTouchedMax is the size at which the last-touch map drops stale entries.
	patTouchedMax = 4096
)

// patState is the in-memory state of PAT verification on this node; the zero value is
// ready to use.
type patState struct {
	mu      sync.Mutex
	touched map[int64]time.Time // PAT id → when this node last wrote its last-used time
	orgs    map[int64]patOrg    // organization id → the organization, as cached
}

type patOrg struct {
	org tenancy.Organization
	at  time.Time
}

// VerifyBearer checks any Bearer token the server accepts and returns its claims, or a
// *TokenError saying why it is unusable (any other error is internal):
//
//   - a personal access token ("oo_pat_…") is looked up by its hash and refused when
//     unknown, revoked, expired, denied by the deny-list (its subject revoked) or when its
//     user is gone or disabled. Its claims are those of a user token: iss
//     {public}/{org}/identity_, sub the user's Key, sub_type user, client_id "pat", prt_id
//     the organization Key, scope the PAT's scopes, iat its creation, exp its expiry, jti its
//     Key. It costs two indexed reads (the PAT and its user; the organization is cached) and
//     at most one write a minute per PAT (its last-used time).
//   - anything else must be an OpenOrch access token (a JWT), checked locally by the
//     Verifier: signature, issuer, audience, time and the deny-list; no database read.
//
// The Orchestrator API calls it for every Bearer token; scopes and permissions are the
// caller's to check.
func (s *Service) VerifyBearer(ctx context.Context, raw string) (Claims, error) {
	c, _, err := s.verifyBearer(ctx, raw)
	return c, err
}

// verifyBearer is VerifyBearer that also returns the user of a PAT (nil for JWTs, whose
// subject the caller looks up if it needs it).
func (s *Service) verifyBearer(ctx context.Context, raw string) (Claims, *tenancy.User, error) {
	switch {
	case strings.HasPrefix(raw, patPrefix):
		return s.verifyPAT(ctx, raw)
	case strings.HasPrefix(raw, userKeyPrefix):
		return Claims{}, nil, tokenErr("the bearer token is a user key, which the API does not take itself: exchange it for an access token at %s/oauth/token (grant_type refresh_token, client_id %s) and send that",
			s.public, userKeyClientID)
	case strings.HasPrefix(raw, refreshPrefix):
		return Claims{}, nil, tokenErr("the bearer token is a refresh token: send the access_token of the token endpoint's answer instead")
	}
	if s.verifier == nil {
		return Claims{}, nil, errors.New("identity: the service has no signing keys to verify tokens with")
	}
	c, err := s.verifier.Verify(ctx, raw)
	return c, nil, err
}

func (s *Service) verifyPAT(ctx context.Context, raw string) (Claims, *tenancy.User, error) {
	p, err := s.st.PATGetByHash(ctx, secret.HashToken(raw))
	if errors.Is(err, store.ErrNotFound) {
		return Claims{}, nil, tokenErr("the bearer token is not a known personal access token: it was mistyped, or it was created on another server")
	}
	if err != nil {
		return Claims{}, nil, err
	}
	now := s.now()
	if p.RevokedAt != nil {
		return Claims{}, nil, tokenErr("the personal access token %q was revoked at %s; create a new one", p.Name, p.RevokedAt.UTC().Format(time.RFC3339))
	}
	if !now.Before(p.ExpiresAt) {
		return Claims{}, nil, tokenErr("the personal access token %q expired at %s; create a new one", p.Name, p.ExpiresAt.UTC().Format(time.RFC3339))
	}
	u, err := s.st.UserGet(ctx, p.OrgID, p.UserID)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.Disabled {
		return Claims{}, nil, tokenErr("the user of the personal access token %q no longer exists or is disabled", p.Name)
	}
	if err != nil {
		return Claims{}, nil, err
	}
	org, err := s.patOrganization(ctx, p.OrgID, now)
	if err != nil {
		return Claims{}, nil, err
	}
	c := Claims{
		Issuer:         s.public + "/" + org.Name + "/identity_",
		Audience:       audience{Audience},
		Subject:        u.Key,
		SubType:        SubUser,
		ClientID:       PATClientID,
		OrgKey:         org.Key,
		Scope:          strings.Join(p.Scopes, " "),
		IssuedAt:       p.CreatedAt.Unix(),
		NotBefore:      p.CreatedAt.Unix(),
		Expiry:         p.ExpiresAt.Unix(),
		ID:             p.Key,
		IssuedAtMillis: p.CreatedAt.UnixMilli(),
	}
	if s.deny != nil {
		if why := s.deny.Denied(c); why != "" {
			return Claims{}, nil, tokenErr("the personal access token %q was revoked: %s", p.Name, why)
		}
	}
	s.touchPAT(ctx, p, now)
	return c, &u, nil
}

// patOrganization returns an organization, cached for patOrgTTL (its Key never changes;
// a renamed organization shows in the issuer within the TTL).
func (s *Service) patOrganization(ctx context.Context, id int64, now time.Time) (tenancy.Organization, error) {
	s.pats.mu.Lock()
	c, ok := s.pats.orgs[id]
	s.pats.mu.Unlock()
	if ok && now.Sub(c.at) < patOrgTTL && !now.Before(c.at) {
		return c.org, nil
	}
	org, err := s.st.OrganizationGet(ctx, id)
	if err != nil {
		return tenancy.Organization{}, err
	}
	s.pats.mu.Lock()
	if s.pats.orgs == nil {
		s.pats.orgs = map[int64]patOrg{}
	}
	s.pats.orgs[id] = patOrg{org: org, at: now}
	s.pats.mu.Unlock()
	return org, nil
}

// touchPAT records that a PAT was used, at most once a minute per PAT: neither this node
// nor, judging by the stored time, another node wrote it in the last minute. A failure is
// logged, not fatal.
func (s *Service) touchPAT(ctx context.Context, p store.PAT, now time.Time) {
	if p.LastUsedAt != nil && now.Sub(*p.LastUsedAt) < patTouchEvery && !now.Before(*p.LastUsedAt) {
		return
	}
	s.pats.mu.Lock()
	if last, ok := s.pats.touched[p.ID]; ok && now.Sub(last) < patTouchEvery && !now.Before(last) {
		s.pats.mu.Unlock()
		return
	}
	if s.pats.touched == nil {
		s.pats.touched = map[int64]time.Time{}
	}
	if len(s.pats.touched) >= patTouchedMax {
		for id, at := range s.pats.touched {
			if now.Sub(at) >= patTouchEvery || now.Before(at) {
				delete(s.pats.touched, id)
			}
		}
	}
	s.pats.touched[p.ID] = now
	s.pats.mu.Unlock()
	if err := s.st.PATTouch(ctx, p.ID, now); err != nil && ctx.Err() == nil {
		s.logger.Warn("identity: could not record the use of a personal access token", "pat", p.Key, "err", err)
	}
}

// PAT lifetimes: the default when the request names none, and the longest allowed.
const (
	patDefaultTTL = 30 * 24 * time.Hour
	patMaxTTL     = 365 * 24 * time.Hour
)

// patView is a personal access token as the API shows it: never the token or its hash,
// except Token in the answer to create.
type patView struct {
	ID         int64      `json:"id"`
	Key        string     `json:"key"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  time.Time  `json:"expiresAt"`
	RevokedAt  *time.Time `json:"revokedAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	Token      string     `json:"token,omitempty"`
}

func viewPAT(p store.PAT) patView {
	utc := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		u := t.UTC()
		return &u
	}
	return patView{ID: p.ID, Key: p.Key, Name: p.Name, Scopes: nonNil(p.Scopes), CreatedAt: p.CreatedAt.UTC(),
		ExpiresAt: p.ExpiresAt.UTC(), RevokedAt: utc(p.RevokedAt), LastUsedAt: utc(p.LastUsedAt)}
}

// patRequest is the body of POST …/PersonalAccessTokens.
type patRequest struct {
	Name          string   `json:"name"`
	Scopes        []string `json:"scopes"`
	ExpiresInDays *int     `json:"expiresInDays"`
	ExpiresAt     *string  `json:"expiresAt"`
}

// checkPATScopes allows OR.* scopes and OrchestratorApiUserAccess.
func checkPATScopes(list []string) ([]string, error) {
	if len(list) == 0 {
		return nil, adminBad("scopes is missing or empty: name the OR scopes the token may use (e.g. [\"OR.Jobs\", \"OR.Queues.Read\"]) or %s for all of them", scopeUserAccess)
	}
	out := []string{}
	for i, sc := range list {
		if !orScope.MatchString(sc) && sc != scopeUserAccess {
			return nil, adminBad("scopes[%d] %q is not allowed for a personal access token: use OR scopes (OR.Area, OR.Area.Read, OR.Area.Write, e.g. OR.Jobs) or %s",
				i, sc, scopeUserAccess)
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

func (s *Service) patCreate(w http.ResponseWriter, r *http.Request, c adminCaller) error {
	var req patRequest
	if err := decodeAdminJSON(r, &req); err != nil {
		return err
	}
	p, raw, err := s.newPAT(r, c, req)
	if err != nil {
		return err
	}
	v := viewPAT(p)
	v.Token = raw
	w.Header().Set("Location", strings.TrimRight(r.URL.Path, "/")+"/"+strconv.FormatInt(p.ID, 10))
	server.WriteJSON(w, http.StatusCreated, v)
	return nil
}

// newPAT checks a request and creates the personal access token for the caller. raw is the
// token itself, which nothing stores: the caller shows it once. The API and the API access
// page both create tokens here.
func (s *Service) newPAT(r *http.Request, c adminCaller, req patRequest) (p store.PAT, raw string, err error) {
	name, err := checkName("personal access token", req.Name)
	if err != nil {
		return p, "", err
	}
	scopes, err := checkPATScopes(req.Scopes)
	if err != nil {
		return p, "", err
	}
	now := s.now()
	exp := now.Add(patDefaultTTL)
	switch {
	case req.ExpiresInDays != nil && req.ExpiresAt != nil:
		return p, "", adminBad("give expiresInDays or expiresAt, not both")
	case req.ExpiresInDays != nil:
		if d := *req.ExpiresInDays; d < 1 || d > 365 {
			return p, "", adminBad("expiresInDays is %d; it must be 1 to 365", d)
		}
		exp = now.Add(time.Duration(*req.ExpiresInDays) * 24 * time.Hour)
	case req.ExpiresAt != nil:
		t, err := time.Parse(time.RFC3339, *req.ExpiresAt)
		if err != nil {
			return p, "", adminBad("expiresAt %q is not an RFC 3339 time such as 2030-01-31T00:00:00Z", *req.ExpiresAt)
		}
		if !t.After(now) {
			return p, "", adminBad("expiresAt %s is not in the future", t.UTC().Format(time.RFC3339))
		}
		if t.After(now.Add(patMaxTTL + time.Minute)) {
			return p, "", adminBad("expiresAt %s is more than 365 days away; personal access tokens live at most 365 days", t.UTC().Format(time.RFC3339))
		}
		exp = t
	}
	raw = secret.NewToken(patPrefix)
	p, err = s.st.PATCreate(r.Context(), store.PAT{OrgID: c.org.ID, UserID: c.user.ID, Name: name, TokenHash: secret.HashToken(raw),
		Scopes: scopes, CreatedAt: now, ExpiresAt: exp})
	if err != nil {
		return store.PAT{}, "", err
	}
	s.event(r, c.org.ID, "pat.created", PATClientID, c.user.Key,
		fmt.Sprintf("personal access token %q (id %d), scopes %s, expires %s", p.Name, p.ID, strings.Join(p.Scopes, " "), p.ExpiresAt.UTC().Format(time.RFC3339)))
	return p, raw, nil
}

func (s *Service) patList(w http.ResponseWriter, r *http.Request, c adminCaller) error {
	ps, err := s.st.PATList(r.Context(), c.org.ID, c.user.ID)
	if err != nil {
		return err
	}
	out := make([]patView, 0, len(ps))
	for _, p := range ps {
		out = append(out, viewPAT(p))
	}
	server.WriteJSON(w, http.StatusOK, out)
	return nil
}

// findPAT finds one of the caller's tokens by numeric id or Key; another user's is not
// found.
func (s *Service) findPAT(r *http.Request, c adminCaller) (store.PAT, error) {
	id := r.PathValue("id")
	ps, err := s.st.PATList(r.Context(), c.org.ID, c.user.ID)
	if err != nil {
		return store.PAT{}, err
	}
	n, _ := strconv.ParseInt(id, 10, 64)
	for _, p := range ps {
		if n != 0 && p.ID == n || strings.EqualFold(p.Key, id) {
			return p, nil
		}
	}
	return store.PAT{}, adminNotFound("you have no personal access token with id %q", id)
}

func (s *Service) patGet(w http.ResponseWriter, r *http.Request, c adminCaller) error {
	p, err := s.findPAT(r, c)
	if err != nil {
		return err
	}
	server.WriteJSON(w, http.StatusOK, viewPAT(p))
	return nil
}

// patRevoke serves DELETE …/PersonalAccessTokens/{id}; revoking a revoked token again is
// not an error.
func (s *Service) patRevoke(w http.ResponseWriter, r *http.Request, c adminCaller) error {
	p, err := s.findPAT(r, c)
	if err != nil {
		return err
	}
	if _, err := s.revokePAT(r, c, p); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// revokePAT revokes p, one of the caller's tokens (found with findPAT). The API and the API
// access page both revoke here.
func (s *Service) revokePAT(r *http.Request, c adminCaller, p store.PAT) (store.PAT, error) {
	p, err := s.st.PATRevoke(r.Context(), c.org.ID, c.user.ID, p.ID, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return p, adminNotFound("you have no personal access token with id %q", r.PathValue("id"))
	}
	if err != nil {
		return p, err
	}
	s.event(r, c.org.ID, "pat.revoked", PATClientID, c.user.Key, fmt.Sprintf("personal access token %q (id %d)", p.Name, p.ID))
	return p, nil
}
