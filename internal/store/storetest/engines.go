package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/openorch/openorch/internal/store/postgres"
	"github.com/openorch/openorch/internal/store/sqlite"
	"github.com/openorch/openorch/internal/store/sqlstore"
)

// NewSQLite opens and migrates a fresh SQLite store in a temporary directory, closed at the
// end of the test.
func NewSQLite(tb testing.TB) *sqlstore.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "orch.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := sqlite.Migrate(ctx, db); err != nil {
		tb.Fatal(err)
	}
	return db
}

// PostgresURL returns a URL for an empty schema of its own on the test PostgreSQL named by
// ORCH_TEST_POSTGRES_URL, dropped at the end of the test. Without the variable the test is
// skipped, except under CI=true, where that is a failure: CI must run both engines.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("ORCH_TEST_POSTGRES_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("ORCH_TEST_POSTGRES_URL is not set: under CI=true the PostgreSQL tests must run")
		}
		tb.Skip("ORCH_TEST_POSTGRES_URL is not set: skipping the PostgreSQL engine")
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		tb.Fatalf("create test schema: %v", err)
	}
	tb.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// NewPostgres opens and migrates a store in a fresh schema (see PostgresURL).
func NewPostgres(tb testing.TB) *sqlstore.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, PostgresURL(tb), postgres.Options{MaxConns: 8})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := postgres.Migrate(ctx, db); err != nil {
		tb.Fatal(err)
	}
	return db
}

var _ = stdlib.GetDefaultDriver // registers the "pgx" database/sql driver used above
