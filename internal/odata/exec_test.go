package odata

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// engine is a database to run the translated filters on.
type engine struct {
	db   *sql.DB
	ddl  []string
	time func(time.Time) any // how created_at is stored
}

func openSQLite(t *testing.T) engine {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "odata.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return engine{
		db: db,
		ddl: []string{
			`CREATE TABLE robots (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`,
			`CREATE TABLE jobs (id INTEGER PRIMARY KEY, name TEXT, reference_folded TEXT, state TEXT NOT NULL,
				status TEXT NOT NULL, created_at INTEGER NOT NULL, robot_id INTEGER, is_active INTEGER, key TEXT NOT NULL)`,
		},
		time: func(t time.Time) any { return t.UnixMicro() },
	}
}

// openPostgres opens a schema of its own on ORCH_TEST_POSTGRES_URL, dropped at the
// end. Without the variable the test is skipped, except under CI=true.
func openPostgres(t *testing.T) engine {
	base := os.Getenv("ORCH_TEST_POSTGRES_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("ORCH_TEST_POSTGRES_URL is not set: under CI=true the PostgreSQL tests must run")
		}
		t.Skip("ORCH_TEST_POSTGRES_URL is not set: skipping PostgreSQL")
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "odata_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		admin.Close()
	})
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return engine{
		db: db,
		ddl: []string{
			`CREATE TABLE robots (id BIGINT PRIMARY KEY, name TEXT NOT NULL)`,
			`CREATE TABLE jobs (id BIGINT PRIMARY KEY, name TEXT, reference_folded TEXT, state TEXT NOT NULL,
				status TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL, robot_id BIGINT, is_active BOOLEAN, key TEXT NOT NULL)`,
		},
		time: func(t time.Time) any { return t },
	}
}

type jobRow struct {
	id        int64
	name      any // string or nil
	state     string
	status    string
	created   string
	robot     any // int64 or nil
	active    any // bool or nil
	key       string
	reference string
}

var jobRows = []jobRow{
	{1, "Invoice-A", "Running", "New", "2024-04-04T12:00:00Z", int64(123), true, "11111111-1111-4111-8111-111111111111", "ref-1"},
	{2, "inventory", "Pending", "Failed", "2024-04-04T12:00:47.264Z", int64(123), false, "22222222-2222-4222-8222-222222222222", "REF-2"},
	{3, "a", "Successful", "New", "2024-04-05T00:00:00Z", int64(7), true, "8c3e2c4e-1a2b-4c5d-9e8f-0a1b2c3d4e5f", "x"},
	{4, "B", "Faulted", "InProgress", "2024-04-03T00:00:00Z", nil, true, "44444444-4444-4444-8444-444444444444", "y"},
	{5, "abc", "Running", "New", "2024-04-04T12:00:47.263Z", int64(7), false, "55555555-5555-4555-8555-555555555555", "z"},
	{6, "ABC", "Stopped", "Successful", "2024-05-01T00:00:00Z", int64(123), true, "66666666-6666-4666-8666-666666666666", "ref-6"},
	{7, nil, "Pending", "New", "2024-04-04T12:00:47.265Z", nil, nil, "77777777-7777-4777-8777-777777777777", "q"},
	{8, "50%_off", "Running", "Abandoned", "2024-01-01T00:00:00Z", int64(7), true, "88888888-8888-4888-8888-888888888888", "w"},
}

func (en engine) load(t *testing.T) {
	ctx := context.Background()
	for _, s := range en.ddl {
		if _, err := en.db.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	for _, r := range [][]any{{int64(123), "Robot-123"}, {int64(7), "R7"}} {
		if _, err := en.db.ExecContext(ctx, `INSERT INTO robots (id, name) VALUES ($1, $2)`, r...); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range jobRows {
		created, err := time.Parse(time.RFC3339Nano, r.created)
		if err != nil {
			t.Fatal(err)
		}
		_, err = en.db.ExecContext(ctx, `INSERT INTO jobs (id, name, reference_folded, state, status, created_at, robot_id, is_active, key)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			r.id, r.name, strings.ToLower(r.reference), r.state, r.status, en.time(created), r.robot, r.active, r.key)
		if err != nil {
			t.Fatal(err)
		}
	}
}

// execCases are realistic filters (uipath-wire.md §6, clients.md) and the edge cases
// of the semantics, with the ids they select.
var execCases = []struct {
	filter, orderby string
	ids             []int64
}{
	{`State eq 'Running'`, ``, []int64{1, 5, 8}},
	{`Robot/Id eq 123L`, ``, []int64{1, 2, 6}},
	{`CreationTime ge 2024-04-04T12:00:47.264Z`, ``, []int64{2, 3, 6, 7}},
	{`CreationTime ge datetime'2024-04-04T14:00:47.264+02:00' and CreationTime lt 2024-04-04T12:00:47.265Z`, ``, []int64{2}},
	{`Status eq '0'`, ``, []int64{1, 3, 5, 7}},
	{`contains(Name,'inv')`, ``, []int64{1, 2}},
	{`Name in ('a','B')`, ``, []int64{3, 4}},
	{`not (Id gt 5) and IsActive eq true`, ``, []int64{1, 3, 4}},
	{`tolower(Name) eq 'abc'`, ``, []int64{5, 6}},
	{`Name eq 'a/b' or Id eq 5`, ``, []int64{5}},
	{`contains(Name,'%')`, ``, []int64{8}},
	{`contains(Name,'_')`, ``, []int64{8}},
	{`Name ne 'abc'`, ``, []int64{1, 2, 3, 4, 7, 8}},
	{`not (Name eq 'abc')`, ``, []int64{1, 2, 3, 4, 7, 8}},
	{`not (IsActive eq true)`, ``, []int64{2, 5, 7}},
	{`not IsActive`, ``, []int64{2, 5, 7}},
	{`IsActive eq false`, ``, []int64{2, 5}},
	{`State ge 'Faulted'`, ``, []int64{3, 4, 6}},
	{`not (State ge 4)`, ``, []int64{1, 2, 5, 7, 8}},
	{`Robot/Name eq 'r7'`, ``, []int64{3, 5, 8}},
	{`Robot/Id eq null`, ``, []int64{4, 7}},
	{`Robot/Id ne 123`, ``, []int64{3, 4, 5, 7, 8}},
	{`startswith(Name,'IN') or endswith(Name,'-a')`, ``, []int64{1, 2}},
	{`Status in ('Failed', 1, '4')`, ``, []int64{2, 4, 8}},
	{`Key eq 8C3E2C4E-1A2B-4C5D-9E8F-0A1B2C3D4E5F`, ``, []int64{3}},
	{`CreationTime lt datetime'2024-04-04T00:00:00Z'`, ``, []int64{4, 8}},
	{`Reference eq 'REF-1' or startswith(Reference,'Ref-2')`, ``, []int64{1, 2}},
	{`contains(Name,'x') eq false`, ``, []int64{1, 2, 3, 4, 5, 6, 7, 8}},
	{`Id in (1, 2, null) and not (Id in (2))`, ``, []int64{1}},
	// Orders: text case-insensitively, enumerations by number, id as the tiebreak.
	{`Name ne null`, `Name`, []int64{8, 3, 5, 6, 4, 2, 1}},
	{``, `State desc, Id desc`, []int64{6, 3, 4, 8, 5, 1, 7, 2}},
	{`Robot/Id ne null`, `Robot/Id, CreationTime desc`, []int64{3, 5, 8, 6, 2, 1}},
}

func TestExecSQLite(t *testing.T) {
	t.Parallel()
	runExec(t, openSQLite(t))
}

func TestExecPostgres(t *testing.T) {
	t.Parallel()
	runExec(t, openPostgres(t))
}

func runExec(t *testing.T, en engine) {
	en.load(t)
	for _, tt := range execCases {
		v := url.Values{"$filter": {tt.filter}, "$orderby": {tt.orderby}}
		q, err := Parse(v, Limits{DefaultTop: 100, MaxTop: 1000})
		if err != nil {
			t.Errorf("Parse(%q, %q): %v", tt.filter, tt.orderby, err)
			continue
		}
		// $1 is the caller's own condition, as a tenant would be.
		where, args, err := q.Where(testJobs, SQLOptions{FirstArg: 2, Time: en.time})
		if err != nil {
			t.Errorf("Where(%q): %v", tt.filter, err)
			continue
		}
		order, err := q.OrderBySQL(testJobs)
		if err != nil {
			t.Errorf("OrderBySQL(%q): %v", tt.orderby, err)
			continue
		}
		stmt := `SELECT j.id FROM jobs j LEFT JOIN robots r ON r.id = j.robot_id WHERE j.id > $1`
		if where != "" {
			stmt += " AND " + where
		}
		if order != "" {
			stmt += " ORDER BY " + order + ", j.id"
		} else {
			stmt += " ORDER BY j.id"
		}
		rows, err := en.db.Query(stmt, append([]any{0}, args...)...)
		if err != nil {
			t.Errorf("%q: %s: %v", tt.filter, stmt, err)
			continue
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if !reflect.DeepEqual(ids, tt.ids) {
			t.Errorf("$filter=%s $orderby=%s: ids %v, want %v\n%s %v", tt.filter, tt.orderby, ids, tt.ids, stmt, args)
		}
	}
}
