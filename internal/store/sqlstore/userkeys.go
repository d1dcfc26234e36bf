package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/openorch/openorch/internal/store"
)

// ---- user keys

const userKeyColumns = `id, key, org_id, user_id, name, token_hash, created_at, revoked_at, last_used_at`

func scanUserKey(r interface{ Scan(...any) error }) (store.UserKey, error) {
	var k store.UserKey
	err := r.Scan(&k.ID, &k.Key, &k.OrgID, &k.UserID, &k.Name, &k.TokenHash,
		dbTime{&k.CreatedAt}, dbNullTime{&k.RevokedAt}, dbNullTime{&k.LastUsedAt})
	return k, err
}

// UserKeyCreate implements store.Store. ID and Key are assigned; CreatedAt defaults to now.
func (s *DB) UserKeyCreate(ctx context.Context, k store.UserKey) (store.UserKey, error) {
	out, err := scanUserKey(s.w().QueryRowContext(ctx,
		`INSERT INTO user_keys (key, org_id, user_id, name, token_hash, created_at, revoked_at, last_used_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+userKeyColumns,
		newKey(), k.OrgID, k.UserID, k.Name, k.TokenHash, s.t(s.createdAt(k.CreatedAt)), s.nt(k.RevokedAt), s.nt(k.LastUsedAt)))
	return out, s.grantErr(err, fmt.Sprintf("user key %q (hash %s)", k.Name, hashPrefix(k.TokenHash)), k.OrgID, k.UserID)
}

// UserKeyGetByHash implements store.Store; revoked keys are found too.
func (s *DB) UserKeyGetByHash(ctx context.Context, tokenHash string) (store.UserKey, error) {
	k, err := scanUserKey(s.r().QueryRowContext(ctx, `SELECT `+userKeyColumns+` FROM user_keys WHERE token_hash = $1`, tokenHash))
	return k, s.notFound(err, "user key %s", hashPrefix(tokenHash))
}

// UserKeyList implements store.Store.
func (s *DB) UserKeyList(ctx context.Context, orgID, userID int64) ([]store.UserKey, error) {
	rows, err := s.r().QueryContext(ctx,
		`SELECT `+userKeyColumns+` FROM user_keys WHERE org_id = $1 AND user_id = $2 ORDER BY created_at DESC, id DESC`, orgID, userID)
	return collect(rows, err, func(r *sql.Rows) (store.UserKey, error) { return scanUserKey(r) })
}

// UserKeyRevoke implements store.Store. The organization and the user are part of the
// condition, so another user's key is not found; a key already revoked keeps its time.
func (s *DB) UserKeyRevoke(ctx context.Context, orgID, userID, id int64, now time.Time) (store.UserKey, error) {
	k, err := scanUserKey(s.w().QueryRowContext(ctx,
		`UPDATE user_keys SET revoked_at = COALESCE(revoked_at, $4) WHERE org_id = $1 AND user_id = $2 AND id = $3
		 RETURNING `+userKeyColumns, orgID, userID, id, s.t(now)))
	return k, s.notFound(err, "user key %d of user %d in organization %d", id, userID, orgID)
}

// UserKeyTouch implements store.Store.
func (s *DB) UserKeyTouch(ctx context.Context, id int64, now time.Time) error {
	res, err := s.w().ExecContext(ctx, `UPDATE user_keys SET last_used_at = $2 WHERE id = $1`, id, s.t(now))
	return s.affected(res, err, "user key %d", id)
}
