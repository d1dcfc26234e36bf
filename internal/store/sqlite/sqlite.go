// Package sqlite is the embedded storage engine: a single SQLite file in WAL mode, written
// through one connection and read through a small pool, with the pure-Go modernc.org/sqlite
// driver (no cgo).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/openorch/openorch/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Options tune Open. The zero value is right for a server.
type Options struct {
	// Readers is the size of the read pool (default 4).
	Readers int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Open opens (creating if needed) the database file at path. It does not migrate: call
// Migrate (orch serve and orch migrate do).
func Open(ctx context.Context, path string, opts Options) (*sqlstore.DB, error) {
	if opts.Readers <= 0 {
		opts.Readers = 4
	}
	pragmas := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(ON)", "busy_timeout(10000)"} {
		pragmas.Add("_pragma", p)
	}
	writeQ := url.Values{"_txlock": {"immediate"}}
	for k, v := range pragmas {
		writeQ[k] = v
	}
	write, err := sql.Open("sqlite", "file:"+path+"?"+writeQ.Encode())
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1) // one writer: SQLite serialises writes anyway; this avoids busy retries
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("open SQLite database %s: %w", path, describe(err))
	}
	readQ := url.Values{}
	for k, v := range pragmas {
		readQ[k] = v
	}
	readQ.Add("_pragma", "query_only(ON)")
	read, err := sql.Open("sqlite", "file:"+path+"?"+readQ.Encode())
	if err != nil {
		write.Close()
		return nil, err
	}
	read.SetMaxOpenConns(opts.Readers)
	read.SetMaxIdleConns(opts.Readers)
	closeFn := func() error { return errors.Join(read.Close(), write.Close()) }
	return sqlstore.New(write, read, dialect, opts.Now, closeFn), nil
}

// Migrate applies the pending migrations of this engine.
func Migrate(ctx context.Context, db *sqlstore.DB) (int, error) {
	return db.MigrateFS(ctx, migrationFiles, "migrations")
}

var dialect = &sqlstore.Dialect{
	Name:      "sqlite",
	ForUpdate: "",
	Time:      func(t time.Time) any { return t.UnixMicro() },
	IsUnique: func(err error) bool {
		code := errCode(err)
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	},
	IsForeignKey: func(err error) bool { return errCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY },
	// The writer's transactions begin IMMEDIATE: holding one already excludes every other
	// writer, in this process and in any other.
	Lock: func(context.Context, *sql.Tx, string) error { return nil },
}

func errCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// describe turns the driver's open errors into one line a user can act on.
func describe(err error) error {
	switch errCode(err) & 0xff {
	case sqlite3.SQLITE_CANTOPEN:
		return errors.New("cannot open the file: check that the data directory exists and is writable")
	case sqlite3.SQLITE_READONLY:
		return errors.New("the file is read-only: check its permissions and those of the data directory")
	case sqlite3.SQLITE_NOTADB:
		return errors.New("the file is not an SQLite database")
	}
	return err
}
