package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/openorch/openorch/internal/store"
)

// SigningKeyCreate implements store.Store.
func (s *DB) SigningKeyCreate(ctx context.Context, k store.SigningKey) error {
	_, err := s.w().ExecContext(ctx,
		`INSERT INTO signing_keys (seq, kid, alg, private_sealed, public_jwk, created_at, retire_at, expire_at)
		 SELECT COALESCE(MAX(seq), 0) + 1, $1, $2, $3, $4, $5, $6, $7 FROM signing_keys`,
		k.KID, k.Alg, k.PrivateSealed, k.PublicJWK, s.t(k.CreatedAt), s.t(k.RetireAt), s.t(k.ExpireAt))
	return s.classify(err, fmt.Sprintf("signing key %q exists", k.KID))
}

// SigningKeyList implements store.Store.
func (s *DB) SigningKeyList(ctx context.Context, now time.Time) ([]store.SigningKey, error) {
	rows, err := s.r().QueryContext(ctx,
		`SELECT kid, alg, private_sealed, public_jwk, created_at, retire_at, expire_at FROM signing_keys
		 WHERE expire_at > $1 ORDER BY seq DESC`, s.t(now))
	return collect(rows, err, func(r *sql.Rows) (store.SigningKey, error) {
		var k store.SigningKey
		err := r.Scan(&k.KID, &k.Alg, &k.PrivateSealed, &k.PublicJWK, dbTime{&k.CreatedAt}, dbTime{&k.RetireAt}, dbTime{&k.ExpireAt})
		return k, err
	})
}

const revocationColumns = `id, kind, value, issued_before, expire_at, created_at`

func scanRevocation(r interface{ Scan(...any) error }) (store.Revocation, error) {
	var v store.Revocation
	err := r.Scan(&v.ID, &v.Kind, &v.Value, dbTime{&v.IssuedBefore}, dbTime{&v.ExpireAt}, dbTime{&v.CreatedAt})
	return v, err
}

// RevocationAdd implements store.Store.
func (s *DB) RevocationAdd(ctx context.Context, r store.Revocation) (store.Revocation, error) {
	return scanRevocation(s.w().QueryRowContext(ctx,
		`INSERT INTO revocations (kind, value, issued_before, expire_at, created_at) VALUES ($1, $2, $3, $4, $5)
		 RETURNING `+revocationColumns,
		r.Kind, r.Value, s.t(r.IssuedBefore), s.t(r.ExpireAt), s.t(s.timestamp())))
}

// RevocationListSince implements store.Store.
func (s *DB) RevocationListSince(ctx context.Context, since, now time.Time) ([]store.Revocation, error) {
	rows, err := s.r().QueryContext(ctx,
		`SELECT `+revocationColumns+` FROM revocations WHERE created_at >= $1 AND expire_at > $2 ORDER BY id`, s.t(since), s.t(now))
	return collect(rows, err, func(r *sql.Rows) (store.Revocation, error) { return scanRevocation(r) })
}

// IdentityEventAdd implements store.Store.
func (s *DB) IdentityEventAdd(ctx context.Context, e store.IdentityEvent) error {
	at := e.At
	if at.IsZero() {
		at = s.timestamp()
	}
	_, err := s.w().ExecContext(ctx,
		`INSERT INTO identity_events (org_id, at, kind, client_id, subject, ip, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		nullID(e.OrgID), s.t(at), e.Kind, e.ClientID, e.Subject, e.IP, e.Detail)
	return err
}

// IdentityEventList implements store.Store.
func (s *DB) IdentityEventList(ctx context.Context, orgID int64, limit int) ([]store.IdentityEvent, error) {
	rows, err := s.r().QueryContext(ctx,
		`SELECT id, org_id, at, kind, client_id, subject, ip, detail FROM identity_events
		 WHERE org_id = $1 ORDER BY at DESC, id DESC LIMIT $2`, orgID, limit)
	return collect(rows, err, func(r *sql.Rows) (store.IdentityEvent, error) {
		var e store.IdentityEvent
		err := r.Scan(&e.ID, dbID{&e.OrgID}, dbTime{&e.At}, &e.Kind, &e.ClientID, &e.Subject, &e.IP, &e.Detail)
		return e, err
	})
}
