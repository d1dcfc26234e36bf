package identity

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/server"
	"github.com/openorch/openorch/internal/store"
)

// User keys ("API access", DESIGN §4): random strings "oo_uk_…", stored as SHA-256, shown
// once at creation. A user creates, lists and revokes their own under
// /{org}/identity_/api/UserKeys; /oauth/token exchanges one for a 24-hour access token as
// often as wanted until it is revoked (see userKeyGrant).
const (
	userKeyPrefix      = "oo_uk_"
	userKeysPath       = "/{org}/identity_/api/UserKeys"
	userKeyDefaultName = "API access"
)

// userKeyView is a user key as the API shows it: never the key or its hash, except UserKey
// in the answer to create. ClientID and TokenURL say how to use it.
type userKeyView struct {
	ID         int64      `json:"id"`
	Key        string     `json:"key"`
	Name       string     `json:"name"`
	ClientID   string     `json:"clientId"`
	TokenURL   string     `json:"tokenUrl"`
	CreatedAt  time.Time  `json:"createdAt"`
	RevokedAt  *time.Time `json:"revokedAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	UserKey    string     `json:"userKey,omitempty"`
}

func (s *Service) viewUserKey(k store.UserKey) userKeyView {
	utc := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		u := t.UTC()
		return &u
	}
	return userKeyView{ID: k.ID, Key: k.Key, Name: k.Name, ClientID: userKeyClientID, TokenURL: s.public + "/oauth/token",
		CreatedAt: k.CreatedAt.UTC(), RevokedAt: utc(k.RevokedAt), LastUsedAt: utc(k.LastUsedAt)}
}

// userKeyRequest is the body of POST …/UserKeys; the body may also be left out.
type userKeyRequest struct {
	Name *string `json:"name"`
}

func (s *Service) userKeyCreate(w http.ResponseWriter, r *http.Request, c adminCaller) error {
	var req userKeyRequest
	if r.ContentLength != 0 {
		if err := decodeAdminJSON(r, &req); err != nil {
			return err
		}
	}
	k, raw, err := s.newUserKey(r, c, req.Name)
	if err != nil {
		return err
	}
	v := s.viewUserKey(k)
	v.UserKey = raw
	w.Header().Set("Location", strings.TrimRight(r.URL.Path, "/")+"/"+strconv.FormatInt(k.ID, 10))
	server.WriteJSON(w, http.StatusCreated, v)
	return nil
}

// newUserKey creates a user key for the caller, named name (nil: the default name). raw is
// the key itself, which nothing stores: the caller shows it once. The API and the API
// access page both create keys here.
func (s *Service) newUserKey(r *http.Request, c adminCaller, name *string) (k store.UserKey, raw string, err error) {
	n := userKeyDefaultName
	if name != nil {
		if n, err = checkName("user key", *name); err != nil {
			return store.UserKey{}, "", err
		}
	}
	raw = secret.NewToken(userKeyPrefix)
	k, err = s.st.UserKeyCreate(r.Context(), store.UserKey{OrgID: c.org.ID, UserID: c.user.ID, Name: n,
		TokenHash: secret.HashToken(raw), CreatedAt: s.now()})
	if err != nil {
		return store.UserKey{}, "", err
	}
	s.event(r, c.org.ID, "userkey.created", userKeyClientID, c.user.Key, fmt.Sprintf("user key %q (id %d)", k.Name, k.ID))
	return k, raw, nil
}

func (s *Service) userKeyList(w http.ResponseWriter, r *http.Request, c adminCaller) error {
	ks, err := s.st.UserKeyList(r.Context(), c.org.ID, c.user.ID)
	if err != nil {
		return err
	}
	out := make([]userKeyView, 0, len(ks))
	for _, k := range ks {
		out = append(out, s.viewUserKey(k))
	}
	server.WriteJSON(w, http.StatusOK, out)
	return nil
}

// findUserKey finds one of the caller's keys by numeric id or Key; another user's is not
// found.
func (s *Service) findUserKey(r *http.Request, c adminCaller) (store.UserKey, error) {
	id := r.PathValue("id")
	ks, err := s.st.UserKeyList(r.Context(), c.org.ID, c.user.ID)
	if err != nil {
		return store.UserKey{}, err
	}
	n, _ := strconv.ParseInt(id, 10, 64)
	for _, k := range ks {
		if n != 0 && k.ID == n || strings.EqualFold(k.Key, id) {
			return k, nil
		}
	}
	return store.UserKey{}, adminNotFound("you have no user key with id %q (GET %s lists yours)", id,
		strings.Replace(userKeysPath, "{org}", c.org.Name, 1))
}

func (s *Service) userKeyGet(w http.ResponseWriter, r *http.Request, c adminCaller) error {
	k, err := s.findUserKey(r, c)
	if err != nil {
		return err
	}
	server.WriteJSON(w, http.StatusOK, s.viewUserKey(k))
	return nil
}

// userKeyRevoke serves DELETE …/UserKeys/{id}. Revoking a revoked key again is not an
// error.
func (s *Service) userKeyRevoke(w http.ResponseWriter, r *http.Request, c adminCaller) error {
	k, err := s.findUserKey(r, c)
	if err != nil {
		return err
	}
	if _, err := s.revokeUserKey(r, c, k); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// revokeUserKey revokes k, one of the caller's keys (found with findUserKey): the key stops
// working, and so do the access tokens obtained with it, on every node (their family is
// denied). A revoked key stays as it is. The API and the API access page both revoke here.
func (s *Service) revokeUserKey(r *http.Request, c adminCaller, k store.UserKey) (store.UserKey, error) {
	wasLive := k.RevokedAt == nil
	now := s.now()
	k, err := s.st.UserKeyRevoke(r.Context(), c.org.ID, c.user.ID, k.ID, now)
	if errors.Is(err, store.ErrNotFound) {
		return k, adminNotFound("you have no user key with id %q", r.PathValue("id"))
	}
	if err != nil {
		return k, err
	}
	if wasLive && s.deny != nil {
		// Tokens obtained with the key live at most seedAccessTTL.
		if err := s.deny.Revoke(r.Context(), store.RevokeFamily, userKeyFamily(k.Key), now.Add(seedAccessTTL+time.Minute)); err != nil {
			return k, err
		}
	}
	if wasLive {
		s.event(r, c.org.ID, "userkey.revoked", userKeyClientID, c.user.Key, fmt.Sprintf("user key %q (id %d)", k.Name, k.ID))
	}
	return k, nil
}
