// Package sqlstore implements store.Store over database/sql for both engines. The query
// texts are plain SQL that SQLite and PostgreSQL read alike ($1 placeholders, RETURNING,
// ON CONFLICT); where the engines differ (schema, locks, row locks, error codes, time
// encoding) the engine package supplies a Dialect. Nothing is translated at run time.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/openorch/openorch/internal/store"
)

// Dialect is what an engine tells the shared implementation.
type Dialect struct {
	// Name is "sqlite" or "postgres", for messages.
	Name string
	// ForUpdate is appended to the SELECT of a read-modify-write inside a transaction
	// (" FOR UPDATE" on PostgreSQL; SQLite's write transaction is already exclusive).
	ForUpdate string
	// Time encodes a timestamp as the engine stores it.
	Time func(time.Time) any
	// IsUnique and IsForeignKey classify constraint violations.
	IsUnique     func(error) bool
	IsForeignKey func(error) bool
	// Lock takes an installation-wide lock named name for the rest of the transaction.
	Lock func(ctx context.Context, tx *sql.Tx, name string) error
	// SkipLocked ends the SELECT that picks a queue item for a caller: " FOR UPDATE SKIP
	// LOCKED" on PostgreSQL, so that concurrent callers lock different rows instead of
	// waiting for each other; "" on SQLite, whose single writer already runs them one at a
	// time.
	SkipLocked string
	// Notify, when not empty, is a statement taking a channel and a payload that notifies
	// the listeners of other server nodes when its transaction commits ("SELECT
	// pg_notify($1, $2)" on PostgreSQL). SQLite has a single node and needs none.
	Notify string
	// WritingCTE is true when a WITH clause may hold INSERT and UPDATE (PostgreSQL). The
	// queue's hot paths, taking and ending a transaction, then run as one statement each:
	// one round trip instead of a BEGIN, two to four statements and a COMMIT. SQLite, in
	// the server's process, runs them as several statements in a transaction.
	WritingCTE bool
}

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// DB is the shared store implementation.
type DB struct {
	write *sql.DB
	read  *sql.DB
	tx    *sql.Tx // set inside Tx
	d     *Dialect
	now   func() time.Time
	close func() error
}

var _ store.Store = (*DB)(nil)

// New makes a store over write (used for every write and transaction) and read (used for
// reads outside transactions; the same pool as write on PostgreSQL). closeFn releases both.
func New(write, read *sql.DB, d *Dialect, now func() time.Time, closeFn func() error) *DB {
	if now == nil {
		now = time.Now
	}
	return &DB{write: write, read: read, d: d, now: now, close: closeFn}
}

func (s *DB) w() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.write
}

func (s *DB) r() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.read
}

// Tx implements store.Store.
func (s *DB) Tx(ctx context.Context, fn func(store.Store) error) error {
	if s.tx != nil {
		return fn(s)
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	child := *s
	child.tx = tx
	if err := fn(&child); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.classify(fmt.Errorf("commit: %w", err), "")
	}
	return nil
}

// tx runs fn in a transaction typed to *DB, for the implementation's own multi-step writes.
func (s *DB) inTx(ctx context.Context, fn func(*DB) error) error {
	return s.Tx(ctx, func(st store.Store) error { return fn(st.(*DB)) })
}

// Lock implements store.Store.
func (s *DB) Lock(ctx context.Context, name string) error {
	if s.tx == nil {
		return errors.New("store: Lock called outside a transaction")
	}
	return s.d.Lock(ctx, s.tx, name)
}

// Ping implements store.Store.
func (s *DB) Ping(ctx context.Context) error {
	if err := s.write.PingContext(ctx); err != nil {
		return err
	}
	var one int
	return s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Close implements store.Store.
func (s *DB) Close() error {
	if s.close != nil {
		return s.close()
	}
	return nil
}

// MetaGet implements store.Store.
func (s *DB) MetaGet(ctx context.Context, key string) (string, error) {
	var v string
	err := s.r().QueryRowContext(ctx, `SELECT value FROM meta WHERE key = $1`, key).Scan(&v)
	return v, s.notFound(err, "meta key %q", key)
}

// MetaSet implements store.Store.
func (s *DB) MetaSet(ctx context.Context, key, value string) error {
	_, err := s.w().ExecContext(ctx,
		`INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// timestamp returns the current time as stored: UTC, microsecond precision, so that what
// is written and what is read back are equal on both engines.
func (s *DB) timestamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func (s *DB) t(t time.Time) any { return s.d.Time(t.UTC().Truncate(time.Microsecond)) }

func (s *DB) nt(t *time.Time) any {
	if t == nil {
		return nil
	}
	return s.t(*t)
}

func newKey() string { return uuid.NewString() }

func norm(s string) string { return strings.ToLower(s) }

// notFound maps sql.ErrNoRows to store.ErrNotFound with a message naming what was missing.
func (s *DB) notFound(err error, format string, args ...any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), store.ErrNotFound)
	}
	return err
}

// classify maps constraint violations to store.ErrConflict; conflict names what clashed.
func (s *DB) classify(err error, conflict string) error {
	switch {
	case err == nil:
		return nil
	case s.d.IsUnique(err):
		if conflict == "" {
			conflict = "a unique value is already taken"
		}
		return fmt.Errorf("%s: %w", conflict, store.ErrConflict)
	case s.d.IsForeignKey(err):
		return fmt.Errorf("still referenced by other records: %w", store.ErrConflict)
	}
	return err
}

// affected turns "no row changed" into store.ErrNotFound.
func (s *DB) affected(res sql.Result, err error, format string, args ...any) error {
	if err != nil {
		return s.classify(err, "")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), store.ErrNotFound)
	}
	return nil
}

// dbTime scans a timestamp stored as microseconds (SQLite) or as a timestamp (PostgreSQL).
type dbTime struct{ t *time.Time }

func (d dbTime) Scan(v any) error {
	switch x := v.(type) {
	case int64:
		*d.t = time.UnixMicro(x).UTC()
	case time.Time:
		*d.t = x.UTC()
	default:
		return fmt.Errorf("store: cannot scan %T as a time", v)
	}
	return nil
}

// dbNullTime scans a nullable timestamp into a *time.Time.
type dbNullTime struct{ t **time.Time }

func (d dbNullTime) Scan(v any) error {
	if v == nil {
		*d.t = nil
		return nil
	}
	var t time.Time
	if err := (dbTime{&t}).Scan(v); err != nil {
		return err
	}
	*d.t = &t
	return nil
}

// dbStrings scans a JSON array of strings.
type dbStrings struct{ s *[]string }

func (d dbStrings) Scan(v any) error {
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	case []byte:
		b = x
	default:
		return fmt.Errorf("store: cannot scan %T as a list", v)
	}
	var out []string
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("store: bad list %q: %w", b, err)
	}
	*d.s = out
	return nil
}

func jsonList[T ~string](items []T) string {
	if items == nil {
		items = []T{}
	}
	b, _ := json.Marshal(items)
	return string(b)
}

// nullID writes 0 as NULL, for optional references.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// dbID scans a nullable reference into an int64 (NULL → 0).
type dbID struct{ id *int64 }

func (d dbID) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*d.id = 0
	case int64:
		*d.id = x
	default:
		return fmt.Errorf("store: cannot scan %T as an id", v)
	}
	return nil
}

// collect reads every row with scan.
func collect[T any](rows *sql.Rows, err error, scan func(*sql.Rows) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
