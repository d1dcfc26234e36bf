package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one numbered schema step, applied in its own transaction.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// LoadMigrations reads files named NNNN_name.sql from fsys, in version order. A gap or a
// duplicate version is an error: the numbering is the schema's history.
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, name := range names {
		num, rest, ok := strings.Cut(path.Base(name), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %q is not named NNNN_name.sql", name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: strings.TrimSuffix(rest, ".sql"), SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %04d_%s: expected version %d (versions must run 1, 2, 3, … without gaps)", m.Version, m.Name, i+1)
		}
	}
	return out, nil
}

// MigrateFS loads the migrations in directory dir of fsys and applies them (see Migrate).
func (s *DB) MigrateFS(ctx context.Context, fsys fs.FS, dir string) (int, error) {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return 0, err
	}
	ms, err := LoadMigrations(sub)
	if err != nil {
		return 0, err
	}
	return s.Migrate(ctx, ms)
}

// Migrate applies the migrations the database does not have yet, each in one transaction
// under the installation-wide "migrate" lock, so that nodes starting together apply each
// step once. It returns how many it applied.
func (s *DB) Migrate(ctx context.Context, migrations []Migration) (applied int, err error) {
	for _, m := range migrations {
		err := s.inTx(ctx, func(tx *DB) error {
			if err := tx.Lock(ctx, "migrate"); err != nil {
				return err
			}
			if _, err := tx.w().ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version integer PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)`); err != nil {
				return err
			}
			var n int
			if err := tx.w().QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.w().ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
			}
			if _, err := tx.w().ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, tx.timestamp().Format("2006-01-02T15:04:05.000000Z")); err != nil {
				return err
			}
			applied++
			return nil
		})
		if err != nil {
			return applied, err
		}
	}
	return applied, s.checkNotNewer(ctx, len(migrations))
}

// checkNotNewer refuses a database that a newer orch has migrated further than this one
// knows: running old code on a newer schema could corrupt data.
func (s *DB) checkNotNewer(ctx context.Context, known int) error {
	var max int
	if err := s.w().QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&max); err != nil {
		return err
	}
	if max > known {
		return fmt.Errorf("the database schema is at version %d but this orch knows only %d: run a newer orch", max, known)
	}
	return nil
}
