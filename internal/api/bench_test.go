package api_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/store/postgres"
	"github.com/openorch/openorch/internal/store/sqlite"
	"github.com/openorch/openorch/internal/store/storetest"
)

const auditBenchRows = 100_000

var auditComponents = []string{"Folders", "Queues", "Machines", "Robots", "Jobs", "Processes", "Assets", "Users", "Roles", "Triggers"}

// benchEngine is a store plus a raw handle on the same database, for EXPLAIN.
type benchEngine struct {
	st  store.Store
	raw *sql.DB
}

func benchEngines() []struct {
	name string
	open func(testing.TB) benchEngine
} {
	return []struct {
		name string
		open func(testing.TB) benchEngine
	}{
		{"sqlite", func(tb testing.TB) benchEngine {
			ctx := context.Background()
			path := filepath.Join(tb.TempDir(), "orch.db")
			st, err := sqlite.Open(ctx, path, sqlite.Options{})
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { st.Close() })
			if _, err := sqlite.Migrate(ctx, st); err != nil {
				tb.Fatal(err)
			}
			raw, err := sql.Open("sqlite", "file:"+path)
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { raw.Close() })
			return benchEngine{st: st, raw: raw}
		}},
		{"postgres", func(tb testing.TB) benchEngine {
			ctx := context.Background()
			u := storetest.PostgresURL(tb)
			st, err := postgres.Open(ctx, u, postgres.Options{MaxConns: 8})
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { st.Close() })
			if _, err := postgres.Migrate(ctx, st); err != nil {
				tb.Fatal(err)
			}
			raw, err := sql.Open("pgx", u)
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { raw.Close() })
			return benchEngine{st: st, raw: raw}
		}},
	}
}

// seedAudit adds auditBenchRows entries to acme/DefaultTenant in one transaction, spread
// evenly over the 30 days before now, and returns the org and tenant ids.
func seedAudit(tb testing.TB, st store.Store, now time.Time) (orgID, tenantID int64) {
	tb.Helper()
	ctx := context.Background()
	o, err := st.OrganizationGetByName(ctx, "acme")
	if err != nil {
		tb.Fatal(err)
	}
	t, err := st.TenantGetByName(ctx, o.ID, "DefaultTenant")
	if err != nil {
		tb.Fatal(err)
	}
	actions := []string{"Create", "Update", "Delete"}
	step := 30 * 24 * time.Hour / auditBenchRows
	err = st.Tx(ctx, func(tx store.Store) error {
		for i := 0; i < auditBenchRows; i++ {
			c := auditComponents[i%len(auditComponents)]
			if err := tx.AuditAdd(ctx, store.AuditEntry{OrgID: o.ID, TenantID: t.ID, At: now.Add(-time.Duration(i) * step),
				Action: actions[i%len(actions)], Component: c, EntityID: int64(i%500 + 1), EntityName: fmt.Sprintf("%s %d", c, i%500),
				Principal: "user ann@acme.test", ClientID: "orch-cli", Details: "{}"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return o.ID, t.ID
}

// logAuditPlan logs the engine's plan for the SQL AuditSearch runs for the benchmark's query.
func logAuditPlan(tb testing.TB, engine string, raw *sql.DB, orgID, tenantID int64, since time.Time) {
	tb.Helper()
	const q = `SELECT id, org_id, tenant_id, at, action, component, entity_id, entity_name, principal, client_id, details
 FROM audit_logs WHERE org_id = $1 AND (tenant_id = $2 OR tenant_id IS NULL) AND ((LOWER(component) = LOWER($3)) AND (at >= $4))
 ORDER BY at DESC, id LIMIT 100 OFFSET 0`
	var explain string
	var at any
	switch engine {
	case "sqlite":
		explain, at = "EXPLAIN QUERY PLAN ", since.UnixMicro()
	default:
		// Autovacuum would analyze the table soon after 100,000 inserts; do it now.
		if _, err := raw.Exec(`ANALYZE audit_logs`); err != nil {
			tb.Fatal(err)
		}
		explain, at = "EXPLAIN (ANALYZE, COSTS OFF) ", since.UTC()
	}
	rows, err := raw.Query(explain+q, orgID, tenantID, "Folders", at)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			tb.Fatal(err)
		}
		lines = append(lines, fmt.Sprint(vals[len(vals)-1])) // SQLite: the detail column; PostgreSQL: the only one
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("%s plan:\n  %s", engine, strings.Join(lines, "\n  "))
}

// BenchmarkAuditLogs reads the first 100 of one component's last 7 days of audit entries,
// newest first, over HTTP, from a log of 100,000 entries; it reports p50/p99 latency.
func BenchmarkAuditLogs(b *testing.B) {
	for _, eng := range benchEngines() {
		b.Run(eng.name, func(b *testing.B) {
			be := eng.open(b)
			e := newEnv(b, func(testing.TB) store.Store { return be.st })
			now := time.Now().UTC()
			start := time.Now()
			orgID, tenantID := seedAudit(b, be.st, now)
			b.Logf("%s: seeded %d audit rows in %v", eng.name, auditBenchRows, time.Since(start).Round(time.Millisecond))
			since := now.Add(-7 * 24 * time.Hour).Truncate(time.Second)
			logAuditPlan(b, eng.name, be.raw, orgID, tenantID, since)

			tok := e.userToken(b, "acme", "ann@acme.test", "OR.Audit")
			qs := url.Values{
				"$filter":  {"Component eq 'Folders' and ExecutionTime ge " + since.Format(time.RFC3339)},
				"$orderby": {"ExecutionTime desc"},
				"$top":     {"100"},
			}
			target := e.url + base + "/odata/AuditLogs?" + qs.Encode()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.Cleanup(client.CloseIdleConnections)
			get := func() error {
				req, _ := http.NewRequest("GET", target, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := client.Do(req)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				if resp.StatusCode != 200 {
					body, _ := io.ReadAll(resp.Body)
					return fmt.Errorf("status %d: %s", resp.StatusCode, body)
				}
				var page struct {
					Value []struct {
						Component string `json:"Component"`
					} `json:"value"`
				}
				if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
					return err
				}
				if len(page.Value) != 100 || page.Value[0].Component != "Folders" {
					return fmt.Errorf("got %d rows, want 100 of Folders", len(page.Value))
				}
				return nil
			}
			if err := get(); err != nil { // warm up and check once
				b.Fatal(err)
			}

			for _, clients := range []int{1, 16} {
				b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { loadBench(b, clients, get) })
			}
		})
	}
}

// loadBench runs op b.N times from clients goroutines and reports the rate and the
// latency percentiles.
func loadBench(b *testing.B, clients int, op func() error) {
	lat := make([]time.Duration, b.N)
	var mu sync.Mutex
	next := 0
	var wg sync.WaitGroup
	b.ResetTimer()
	t0 := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				n := next
				next++
				mu.Unlock()
				if n >= b.N {
					return
				}
				s := time.Now()
				if err := op(); err != nil {
					b.Error(err)
					return
				}
				lat[n] = time.Since(s)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
