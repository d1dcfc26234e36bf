// Package postgres is the storage engine for several server nodes: PostgreSQL through pgx v5
// (database/sql interface). Locks that span nodes are advisory locks.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/openorch/openorch/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Options tune Open. The zero value is right for a server.
type Options struct {
	// MaxConns is the size of the connection pool (default 16).
	MaxConns int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Open connects to the database at url (postgres://…) and checks that it answers. It does
// not migrate: call Migrate.
func Open(ctx context.Context, url string, opts Options) (*sqlstore.DB, error) {
	if opts.MaxConns <= 0 {
		opts.MaxConns = 16
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password included: say only what is wrong.
		return nil, errors.New("the PostgreSQL URL is malformed: expected postgres://user:password@host:port/database")
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(opts.MaxConns)
	db.SetMaxIdleConns(opts.MaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot reach PostgreSQL at %s:%d (database %q): %s", cfg.Host, cfg.Port, cfg.Database, describe(err))
	}
	return sqlstore.New(db, db, dialect, opts.Now, db.Close), nil
}

// Migrate applies the pending migrations of this engine.
func Migrate(ctx context.Context, db *sqlstore.DB) (int, error) {
	return db.MigrateFS(ctx, migrationFiles, "migrations")
}

var dialect = &sqlstore.Dialect{
	Name:         "postgres",
	ForUpdate:    " FOR UPDATE",
	Time:         func(t time.Time) any { return t },
	IsUnique:     func(err error) bool { return pgCode(err) == "23505" },
	IsForeignKey: func(err error) bool { return pgCode(err) == "23503" },
	Lock: func(ctx context.Context, tx *sql.Tx, name string) error {
		_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(name))
		return err
	},
	SkipLocked: " FOR UPDATE SKIP LOCKED",
	Notify:     "SELECT pg_notify($1, $2)",
	WritingCTE: true,
}

// lockKey maps a lock name to the 64-bit advisory lock key, within a namespace of our own.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("openorch:" + name))
	return int64(h.Sum64())
}

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// describe shortens connection errors to their cause, without the connection string.
func describe(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Message
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer within 10s"
	}
	// pgx reports every address it tried, one per line, each ending in the system's reason
	// ("...: connect: connection refused"): keep the first reason.
	msg, _, _ := strings.Cut(err.Error(), "\n")
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}
