package api_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/store"
)

const jobBenchRows = 100_000

// jobBenchReleases are the processes the benchmark's jobs run: X, the one the query asks
// for, and nine others, each a tenth of the jobs.
var jobBenchReleases = []string{"X", "P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9"}

// seedJobs adds jobBenchRows jobs to Shared in one transaction, through the store: ten at
// a time, each ten of one process in turn, a minute apart back from now. Then one UPDATE
// (on the raw handle: a shortcut of seeding, not a way the API moves jobs) gives them
// their states by the hundreds digit of their id, independent of their process: 20% stay
// Pending, 30% are Stopped, 40% Successful and 10% Faulted, with the times and stop
// strategy those states have. It returns the tenant and folder ids.
func seedJobs(tb testing.TB, st store.Store, raw *sql.DB, now time.Time) (tenantID, folderID int64) {
	tb.Helper()
	ctx := context.Background()
	o, err := st.OrganizationGetByName(ctx, "acme")
	if err != nil {
		tb.Fatal(err)
	}
	tn, err := st.TenantGetByName(ctx, o.ID, "DefaultTenant")
	if err != nil {
		tb.Fatal(err)
	}
	shared, err := st.FolderGetByPath(ctx, tn.ID, "Shared")
	if err != nil {
		tb.Fatal(err)
	}
	addPackage(tb, st, tn.ID, nupkg(tb, "Bench", "1.0.0", `{"main":"run.sh","arguments":{"input":[{"name":"n","type":"integer"}]}}`))
	var rels []store.Release
	for _, name := range jobBenchReleases {
		r, err := st.ReleaseCreate(ctx, store.ReleaseCreateParams{TenantID: tn.ID, FolderID: shared.ID, Name: name,
			PackageName: "Bench", PackageVersion: "1.0.0"})
		if err != nil {
			tb.Fatal(err)
		}
		rels = append(rels, r)
	}
	const batch = 10
	err = st.Tx(ctx, func(tx store.Store) error {
		for c := range jobBenchRows / batch {
			if _, err := tx.JobCreate(ctx, store.JobCreateParams{TenantID: tn.ID, Release: rels[c%len(rels)], Count: batch,
				InputArguments: `{"n":1}`, Now: now.Add(-time.Duration(jobBenchRows/batch-c) * time.Minute)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	const digit = `((id / 100) % 10)`
	if _, err := raw.Exec(`UPDATE jobs SET
		state = CASE WHEN `+digit+` < 2 THEN 'Pending' WHEN `+digit+` < 5 THEN 'Stopped' WHEN `+digit+` < 9 THEN 'Successful' ELSE 'Faulted' END,
		stop_strategy = CASE WHEN `+digit+` BETWEEN 2 AND 4 THEN 'SoftStop' ELSE '' END,
		start_time = CASE WHEN `+digit+` >= 5 THEN created_at END,
		end_time = CASE WHEN `+digit+` >= 2 THEN created_at END
		WHERE tenant_id = $1 AND release_name_norm <> 'hello'`, tn.ID); err != nil {
		tb.Fatal(err)
	}
	return tn.ID, shared.ID
}

// logJobPlan logs the engine's plans for the two statements JobSearch runs for the
// benchmark's query: the page and the count.
func logJobPlan(tb testing.TB, engine string, raw *sql.DB, tenantID, folderID int64) {
	tb.Helper()
	const where = ` FROM jobs WHERE tenant_id = $1 AND folder_id = $2 AND ((state = $3) AND (release_name_norm = $4))`
	explain := "EXPLAIN QUERY PLAN "
	if engine != "sqlite" {
		// Autovacuum would vacuum and analyze the table soon after 100,000 inserts and an
		// update of them all; do it now, so that the count can read the index alone.
		if _, err := raw.Exec(`VACUUM ANALYZE jobs`); err != nil {
			tb.Fatal(err)
		}
		explain = "EXPLAIN (ANALYZE, COSTS OFF) "
	}
	for _, q := range []string{
		`SELECT id, key, state, release_name, created_at` + where + ` ORDER BY created_at DESC, id LIMIT 100 OFFSET 0`,
		`SELECT COUNT(*)` + where,
	} {
		rows, err := raw.Query(explain+q, tenantID, folderID, "Pending", "x")
		if err != nil {
			tb.Fatal(err)
		}
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
		rows.Close()
		tb.Logf("%s plan of %.60s…:\n  %s", engine, q, strings.Join(lines, "\n  "))
	}
}

// BenchmarkJobs measures, over HTTP, on 100,000 jobs: the list query clients poll (Pending
// jobs of one process, newest first, 100 of them and the count), GET Jobs(id) as the
// baseline of an authenticated call that reads one job, and StartJobs.
func BenchmarkJobs(b *testing.B) {
	for _, eng := range benchEngines() {
		b.Run(eng.name, func(b *testing.B) {
			be := eng.open(b)
			e := newEnv(b, func(testing.TB) store.Store { return be.st })
			start := time.Now()
			tenantID, folderID := seedJobs(b, be.st, be.raw, time.Now().UTC())
			b.Logf("%s: seeded %d jobs in %v", eng.name, jobBenchRows, time.Since(start).Round(time.Millisecond))
			logJobPlan(b, eng.name, be.raw, tenantID, folderID)

			tok := e.userToken(b, "acme", "ann@acme.test", "OR.Jobs")
			folder := itoa(folderID)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.Cleanup(client.CloseIdleConnections)
			do := func(method, target, body string, want int, into any) error {
				var rd io.Reader
				if body != "" {
					rd = strings.NewReader(body)
				}
				req, _ := http.NewRequest(method, target, rd)
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("X-UIPATH-OrganizationUnitId", folder)
				if body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				resp, err := client.Do(req)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				if resp.StatusCode != want {
					msg, _ := io.ReadAll(resp.Body)
					return fmt.Errorf("status %d: %s", resp.StatusCode, msg)
				}
				return json.NewDecoder(resp.Body).Decode(into)
			}

			qs := url.Values{
				"$filter":  {"State eq 'Pending' and Release/Name eq 'X'"},
				"$orderby": {"CreationTime desc"},
				"$top":     {"100"},
				"$count":   {"true"},
			}
			listURL := e.url + base + "/odata/Jobs?" + qs.Encode()
			want := jobBenchRows / len(jobBenchReleases) / 5 // a fifth of X's jobs are Pending
			var newest int64
			list := func() error {
				var page struct {
					Count int `json:"@odata.count"`
					Value []struct {
						ID          int64  `json:"Id"`
						State       string `json:"State"`
						ReleaseName string `json:"ReleaseName"`
					} `json:"value"`
				}
				if err := do("GET", listURL, "", 200, &page); err != nil {
					return err
				}
				if len(page.Value) != 100 || page.Count < want || page.Value[0].State != "Pending" || page.Value[0].ReleaseName != "X" {
					return fmt.Errorf("got %d rows of %d, want 100 Pending jobs of X of at least %d", len(page.Value), page.Count, want)
				}
				newest = page.Value[0].ID
				return nil
			}
			if err := list(); err != nil { // warm up and check once
				b.Fatal(err)
			}
			one := e.url + base + "/odata/Jobs(" + itoa(newest) + ")"
			getOne := func() error {
				var j struct{ ID int64 }
				return do("GET", one, "", 200, &j)
			}
			startURL := e.url + base + "/odata/Jobs/UiPath.Server.Configuration.OData.StartJobs"
			startJob := func() error {
				var out struct {
					Value []struct{ State string } `json:"value"`
				}
				if err := do("POST", startURL, `{"startInfo":{"ReleaseName":"X","InputArguments":"{\"n\":1}"}}`, 201, &out); err != nil {
					return err
				}
				if len(out.Value) != 1 || out.Value[0].State != "Pending" {
					return fmt.Errorf("StartJobs answered %+v", out.Value)
				}
				return nil
			}
			for _, clients := range []int{1, 16} {
				b.Run(fmt.Sprintf("GetJob/clients=%d", clients), func(b *testing.B) { loadBench(b, clients, getOne) })
				b.Run(fmt.Sprintf("List/clients=%d", clients), func(b *testing.B) { loadBench(b, clients, list) })
				b.Run(fmt.Sprintf("StartJobs/clients=%d", clients), func(b *testing.B) { loadBench(b, clients, startJob) })
			}
		})
	}
}
