package sqlstore_test

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/openorch/openorch/internal/store/sqlite"
	"github.com/openorch/openorch/internal/store/sqlstore"
	"github.com/openorch/openorch/internal/store/storetest"
)

func TestLoadMigrations(t *testing.T) {
	t.Parallel()
	ok := fstest.MapFS{
		"0002_more.sql": {Data: []byte("b")},
		"0001_init.sql": {Data: []byte("a")},
	}
	ms, err := sqlstore.LoadMigrations(ok)
	if err != nil || len(ms) != 2 || ms[0].Name != "init" || ms[1].Version != 2 || ms[1].SQL != "b" {
		t.Fatalf("LoadMigrations = %+v, %v", ms, err)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"gap":        {"0001_a.sql": {}, "0003_c.sql": {}},
		"duplicate":  {"0001_a.sql": {}, "0001_b.sql": {}},
		"unnumbered": {"init.sql": {}},
	} {
		if _, err := sqlstore.LoadMigrations(fsys); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// A database migrated by a newer orch is refused rather than used with an older schema.
func TestMigrateRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.NewSQLite(t)
	_, err := db.Migrate(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), "run a newer orch") {
		t.Fatalf("Migrate with fewer migrations than applied: %v", err)
	}
	// Applying the same migrations again runs none of them (their CREATE TABLEs would fail).
	if n, err := sqlite.Migrate(ctx, db); err != nil || n != 0 {
		t.Fatalf("re-applying the applied migrations: n=%d err=%v", n, err)
	}
}
