package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/openorch/openorch/internal/store"
)

// Grants are stored by the SHA-256 of the secret the client holds. Messages name a grant by
// a short prefix of its hash only: enough to find it in the database, useless to an attacker.
func hashPrefix(h string) string {
	if len(h) > 8 {
		return h[:8] + "…"
	}
	return h
}

// whenText formats a time for a message.
func whenText(t *time.Time) string {
	if t == nil {
		return "an unknown time"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// createdAt defaults a grant's creation time to now.
func (s *DB) createdAt(t time.Time) time.Time {
	if t.IsZero() {
		return s.timestamp()
	}
	return t
}

// grantErr classifies the error of inserting a grant for a user: a missing organization or
// user is ErrNotFound, a hash already stored ErrConflict.
func (s *DB) grantErr(err error, what string, orgID, userID int64) error {
	if err != nil && s.d.IsForeignKey(err) {
		return fmt.Errorf("%s: user %d of organization %d: %w", what, userID, orgID, store.ErrNotFound)
	}
	return s.classify(err, what+" already exists")
}

// ---- sessions

const sessionColumns = `id_hash, org_id, user_id, created_at, expires_at`

// SessionCreate implements store.Store.
func (s *DB) SessionCreate(ctx context.Context, v store.Session) error {
	_, err := s.w().ExecContext(ctx,
		`INSERT INTO sessions (`+sessionColumns+`) VALUES ($1, $2, $3, $4, $5)`,
		v.IDHash, v.OrgID, v.UserID, s.t(s.createdAt(v.CreatedAt)), s.t(v.ExpiresAt))
	return s.grantErr(err, "session "+hashPrefix(v.IDHash), v.OrgID, v.UserID)
}

// SessionGet implements store.Store.
func (s *DB) SessionGet(ctx context.Context, idHash string, now time.Time) (store.Session, error) {
	var v store.Session
	err := s.r().QueryRowContext(ctx,
		`SELECT `+sessionColumns+` FROM sessions WHERE id_hash = $1 AND expires_at > $2`, idHash, s.t(now)).
		Scan(&v.IDHash, &v.OrgID, &v.UserID, dbTime{&v.CreatedAt}, dbTime{&v.ExpiresAt})
	return v, s.notFound(err, "session %s (missing or expired)", hashPrefix(idHash))
}

// SessionDelete implements store.Store.
func (s *DB) SessionDelete(ctx context.Context, idHash string) error {
	res, err := s.w().ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash)
	return s.affected(res, err, "session %s", hashPrefix(idHash))
}

// ---- authorization codes

const authCodeColumns = `code_hash, org_id, user_id, client_id, redirect_uri, scope, code_challenge, code_challenge_method,
	nonce, family, issuer, created_at, expires_at, used_at`

func scanAuthCode(r interface{ Scan(...any) error }) (store.AuthCode, error) {
	var c store.AuthCode
	err := r.Scan(&c.CodeHash, &c.OrgID, &c.UserID, &c.ClientID, &c.RedirectURI, &c.Scope, &c.CodeChallenge,
		&c.CodeChallengeMethod, &c.Nonce, &c.Family, &c.Issuer, dbTime{&c.CreatedAt}, dbTime{&c.ExpiresAt}, dbNullTime{&c.UsedAt})
	return c, err
}

// AuthCodeCreate implements store.Store.
func (s *DB) AuthCodeCreate(ctx context.Context, c store.AuthCode) error {
	_, err := s.w().ExecContext(ctx,
		`INSERT INTO auth_codes (`+authCodeColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		c.CodeHash, c.OrgID, c.UserID, c.ClientID, c.RedirectURI, c.Scope, c.CodeChallenge, c.CodeChallengeMethod,
		c.Nonce, c.Family, c.Issuer, s.t(s.createdAt(c.CreatedAt)), s.t(c.ExpiresAt), s.nt(c.UsedAt))
	return s.grantErr(err, "authorization code "+hashPrefix(c.CodeHash), c.OrgID, c.UserID)
}

// AuthCodeUse implements store.Store. One conditional UPDATE decides: of concurrent uses,
// only the first to write finds used_at NULL.
func (s *DB) AuthCodeUse(ctx context.Context, codeHash string, now time.Time) (store.AuthCode, error) {
	c, err := scanAuthCode(s.w().QueryRowContext(ctx,
		`UPDATE auth_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL RETURNING `+authCodeColumns,
		codeHash, s.t(now)))
	if !errors.Is(err, sql.ErrNoRows) {
		return c, err
	}
	c, err = scanAuthCode(s.r().QueryRowContext(ctx, `SELECT `+authCodeColumns+` FROM auth_codes WHERE code_hash = $1`, codeHash))
	if err != nil {
		return c, s.notFound(err, "authorization code %s", hashPrefix(codeHash))
	}
	return c, fmt.Errorf("authorization code %s was already used at %s: %w", hashPrefix(codeHash), whenText(c.UsedAt), store.ErrConflict)
}

// ---- refresh tokens

const refreshTokenColumns = `token_hash, family, org_id, user_id, client_id, scope, issuer, rotates, created_at,
	expires_at, used_at, revoked_at`

func scanRefreshToken(r interface{ Scan(...any) error }) (store.RefreshToken, error) {
	var t store.RefreshToken
	err := r.Scan(&t.TokenHash, &t.Family, &t.OrgID, &t.UserID, &t.ClientID, &t.Scope, &t.Issuer, &t.Rotates,
		dbTime{&t.CreatedAt}, dbNullTime{&t.ExpiresAt}, dbNullTime{&t.UsedAt}, dbNullTime{&t.RevokedAt})
	return t, err
}

// RefreshTokenCreate implements store.Store.
func (s *DB) RefreshTokenCreate(ctx context.Context, t store.RefreshToken) error {
	_, err := s.w().ExecContext(ctx,
		`INSERT INTO refresh_tokens (`+refreshTokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		t.TokenHash, t.Family, t.OrgID, t.UserID, t.ClientID, t.Scope, t.Issuer, t.Rotates,
		s.t(s.createdAt(t.CreatedAt)), s.nt(t.ExpiresAt), s.nt(t.UsedAt), s.nt(t.RevokedAt))
	return s.grantErr(err, "refresh token "+hashPrefix(t.TokenHash), t.OrgID, t.UserID)
}

// RefreshTokenGet implements store.Store.
func (s *DB) RefreshTokenGet(ctx context.Context, tokenHash string) (store.RefreshToken, error) {
	t, err := scanRefreshToken(s.r().QueryRowContext(ctx,
		`SELECT `+refreshTokenColumns+` FROM refresh_tokens WHERE token_hash = $1`, tokenHash))
	return t, s.notFound(err, "refresh token %s", hashPrefix(tokenHash))
}

// RefreshTokenUse implements store.Store. A rotating token is marked used by one conditional
// UPDATE, so of concurrent uses only the first to write wins; when it matches nothing, the
// token as stored says why.
func (s *DB) RefreshTokenUse(ctx context.Context, tokenHash string, now time.Time) (store.RefreshToken, error) {
	t, err := scanRefreshToken(s.w().QueryRowContext(ctx,
		`UPDATE refresh_tokens SET used_at = $2
		 WHERE token_hash = $1 AND rotates AND used_at IS NULL AND revoked_at IS NULL RETURNING `+refreshTokenColumns,
		tokenHash, s.t(now)))
	if !errors.Is(err, sql.ErrNoRows) {
		return t, err
	}
	t, err = s.RefreshTokenGet(ctx, tokenHash)
	switch {
	case err != nil:
		return t, err
	case t.RevokedAt != nil:
		return t, fmt.Errorf("refresh token %s was revoked at %s: %w", hashPrefix(tokenHash), whenText(t.RevokedAt), store.ErrConflict)
	case !t.Rotates:
		return t, nil
	case t.UsedAt != nil:
		return t, fmt.Errorf("refresh token %s was already used at %s: %w", hashPrefix(tokenHash), whenText(t.UsedAt), store.ErrConflict)
	}
	// Unused and unrevoked, yet the UPDATE matched nothing: it was created in between.
	return t, fmt.Errorf("refresh token %s appeared while being used: try again", hashPrefix(tokenHash))
}

// RefreshTokenRevokeFamily implements store.Store. Tokens already revoked keep their time.
func (s *DB) RefreshTokenRevokeFamily(ctx context.Context, family string, now time.Time) error {
	_, err := s.w().ExecContext(ctx,
		`UPDATE refresh_tokens SET revoked_at = $2 WHERE family = $1 AND revoked_at IS NULL`, family, s.t(now))
	return err
}

// RefreshTokenRevoke implements store.Store. A token already revoked keeps its time.
func (s *DB) RefreshTokenRevoke(ctx context.Context, tokenHash string, now time.Time) error {
	res, err := s.w().ExecContext(ctx,
		`UPDATE refresh_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE token_hash = $1`, tokenHash, s.t(now))
	return s.affected(res, err, "refresh token %s", hashPrefix(tokenHash))
}

// ---- device codes

const deviceCodeColumns = `device_hash, user_code, client_id, scope, issuer, status, org_id, user_id, created_at,
	expires_at, last_poll_at`

func scanDeviceCode(r interface{ Scan(...any) error }) (store.DeviceCode, error) {
	var d store.DeviceCode
	err := r.Scan(&d.DeviceHash, &d.UserCode, &d.ClientID, &d.Scope, &d.Issuer, &d.Status, dbID{&d.OrgID}, dbID{&d.UserID},
		dbTime{&d.CreatedAt}, dbTime{&d.ExpiresAt}, dbNullTime{&d.LastPollAt})
	return d, err
}

// normUserCode is a user code as stored and compared: upper case, without the '-' and
// spaces people type or the page shows for readability.
func normUserCode(code string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToUpper(code))
}

func checkDeviceStatus(status string) error {
	switch status {
	case store.DevicePending, store.DeviceApproved, store.DeviceDenied, store.DeviceUsed:
		return nil
	}
	return fmt.Errorf("device code status %q is not one of pending, approved, denied, used: %w", status, store.ErrInvalid)
}

// deviceRefErr classifies a write of a device code naming an organization or a user.
func (s *DB) deviceRefErr(err error, d store.DeviceCode) error {
	if err != nil && s.d.IsForeignKey(err) {
		return fmt.Errorf("device code %s: user %d of organization %d: %w", hashPrefix(d.DeviceHash), d.UserID, d.OrgID, store.ErrNotFound)
	}
	return s.classify(err, fmt.Sprintf("device code %s or user code %q already exists", hashPrefix(d.DeviceHash), d.UserCode))
}

// DeviceCodeCreate implements store.Store. The user code is stored normalised (see
// normUserCode); an empty Status is pending.
func (s *DB) DeviceCodeCreate(ctx context.Context, d store.DeviceCode) error {
	if d.Status == "" {
		d.Status = store.DevicePending
	}
	if err := checkDeviceStatus(d.Status); err != nil {
		return err
	}
	d.UserCode = normUserCode(d.UserCode)
	_, err := s.w().ExecContext(ctx,
		`INSERT INTO device_codes (`+deviceCodeColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		d.DeviceHash, d.UserCode, d.ClientID, d.Scope, d.Issuer, d.Status, nullID(d.OrgID), nullID(d.UserID),
		s.t(s.createdAt(d.CreatedAt)), s.t(d.ExpiresAt), s.nt(d.LastPollAt))
	return s.deviceRefErr(err, d)
}

// DeviceCodeGet implements store.Store.
func (s *DB) DeviceCodeGet(ctx context.Context, deviceHash string) (store.DeviceCode, error) {
	d, err := scanDeviceCode(s.r().QueryRowContext(ctx,
		`SELECT `+deviceCodeColumns+` FROM device_codes WHERE device_hash = $1`, deviceHash))
	return d, s.notFound(err, "device code %s", hashPrefix(deviceHash))
}

// DeviceCodeGetByUserCode implements store.Store.
func (s *DB) DeviceCodeGetByUserCode(ctx context.Context, userCode string) (store.DeviceCode, error) {
	d, err := scanDeviceCode(s.r().QueryRowContext(ctx,
		`SELECT `+deviceCodeColumns+` FROM device_codes WHERE user_code = $1`, normUserCode(userCode)))
	return d, s.notFound(err, "device code with user code %q", userCode)
}

// DeviceCodeUpdate implements store.Store. fn may change Status, OrgID, UserID and
// LastPollAt; other changes are ignored.
func (s *DB) DeviceCodeUpdate(ctx context.Context, deviceHash string, fn func(store.DeviceCode) (store.DeviceCode, error)) (store.DeviceCode, error) {
	var out store.DeviceCode
	err := s.inTx(ctx, func(tx *DB) error {
		old, err := scanDeviceCode(tx.w().QueryRowContext(ctx,
			`SELECT `+deviceCodeColumns+` FROM device_codes WHERE device_hash = $1`+tx.d.ForUpdate, deviceHash))
		if err = tx.notFound(err, "device code %s", hashPrefix(deviceHash)); err != nil {
			return err
		}
		nw, err := fn(old)
		if err != nil {
			return err
		}
		if err := checkDeviceStatus(nw.Status); err != nil {
			return err
		}
		out, err = scanDeviceCode(tx.w().QueryRowContext(ctx,
			`UPDATE device_codes SET status = $2, org_id = $3, user_id = $4, last_poll_at = $5
			 WHERE device_hash = $1 RETURNING `+deviceCodeColumns,
			deviceHash, nw.Status, nullID(nw.OrgID), nullID(nw.UserID), tx.nt(nw.LastPollAt)))
		nw.DeviceHash = deviceHash
		return tx.deviceRefErr(err, nw)
	})
	return out, err
}

// ---- personal access tokens

const patColumns = `id, key, org_id, user_id, name, token_hash, scopes, created_at, expires_at, revoked_at, last_used_at`

func scanPAT(r interface{ Scan(...any) error }) (store.PAT, error) {
	var p store.PAT
	err := r.Scan(&p.ID, &p.Key, &p.OrgID, &p.UserID, &p.Name, &p.TokenHash, dbStrings{&p.Scopes},
		dbTime{&p.CreatedAt}, dbTime{&p.ExpiresAt}, dbNullTime{&p.RevokedAt}, dbNullTime{&p.LastUsedAt})
	return p, err
}

// PATCreate implements store.Store. ID and Key are assigned; CreatedAt defaults to now.
func (s *DB) PATCreate(ctx context.Context, p store.PAT) (store.PAT, error) {
	out, err := scanPAT(s.w().QueryRowContext(ctx,
		`INSERT INTO pats (key, org_id, user_id, name, token_hash, scopes, created_at, expires_at, revoked_at, last_used_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING `+patColumns,
		newKey(), p.OrgID, p.UserID, p.Name, p.TokenHash, jsonList(p.Scopes), s.t(s.createdAt(p.CreatedAt)), s.t(p.ExpiresAt),
		s.nt(p.RevokedAt), s.nt(p.LastUsedAt)))
	return out, s.grantErr(err, fmt.Sprintf("personal access token %q (hash %s)", p.Name, hashPrefix(p.TokenHash)), p.OrgID, p.UserID)
}

// PATGetByHash implements store.Store; revoked and expired tokens are found too.
func (s *DB) PATGetByHash(ctx context.Context, tokenHash string) (store.PAT, error) {
	p, err := scanPAT(s.r().QueryRowContext(ctx, `SELECT `+patColumns+` FROM pats WHERE token_hash = $1`, tokenHash))
	return p, s.notFound(err, "personal access token %s", hashPrefix(tokenHash))
}

// PATList implements store.Store.
func (s *DB) PATList(ctx context.Context, orgID, userID int64) ([]store.PAT, error) {
	rows, err := s.r().QueryContext(ctx,
		`SELECT `+patColumns+` FROM pats WHERE org_id = $1 AND user_id = $2 ORDER BY created_at DESC, id DESC`, orgID, userID)
	return collect(rows, err, func(r *sql.Rows) (store.PAT, error) { return scanPAT(r) })
}

// PATRevoke implements store.Store. Another user's token is not found; a token already
// revoked is returned as it is.
func (s *DB) PATRevoke(ctx context.Context, orgID, userID, id int64, now time.Time) (store.PAT, error) {
	p, err := scanPAT(s.w().QueryRowContext(ctx,
		`UPDATE pats SET revoked_at = COALESCE(revoked_at, $4) WHERE org_id = $1 AND user_id = $2 AND id = $3
		 RETURNING `+patColumns, orgID, userID, id, s.t(now)))
	return p, s.notFound(err, "personal access token %d", id)
}

// PATTouch implements store.Store.
func (s *DB) PATTouch(ctx context.Context, id int64, now time.Time) error {
	res, err := s.w().ExecContext(ctx, `UPDATE pats SET last_used_at = $2 WHERE id = $1`, id, s.t(now))
	return s.affected(res, err, "personal access token %d", id)
}
