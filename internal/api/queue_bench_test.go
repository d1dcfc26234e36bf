package api_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/store/postgres"
	"github.com/openorch/openorch/internal/store/storetest"
	"github.com/openorch/openorch/internal/tenancy"
)

// Sizes of BenchmarkQueues. TestQueueConsumers runs the same drain, smaller, in CI.
const (
	queueBenchClients   = 16
	queueBenchBatch     = 1000
	queueDrainConsumers = 32
	queueDrainItems     = 10_000
)

// queueBenchApp names the benchmark's PostgreSQL connections, so that the CPU of the
// server processes serving them can be told from that of other work on the same server.
const queueBenchApp = "orch-queue-bench"

// queueBenchStores open each engine as orch serve does: SQLite with its defaults, PostgreSQL
// with a pool of 16 connections (the server's default), in a fresh schema. For PostgreSQL
// it also returns a connection of its own for pgCPU.
func queueBenchStores() []struct {
	name string
	open func(testing.TB) (store.Store, *sql.DB)
} {
	return []struct {
		name string
		open func(testing.TB) (store.Store, *sql.DB)
	}{
		{"sqlite", func(tb testing.TB) (store.Store, *sql.DB) { return storetest.NewSQLite(tb), nil }},
		{"postgres", func(tb testing.TB) (store.Store, *sql.DB) {
			ctx := context.Background()
			u, err := url.Parse(storetest.PostgresURL(tb))
			if err != nil {
				tb.Fatal(err)
			}
			probe, err := sql.Open("pgx", u.String())
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { probe.Close() })
			q := u.Query()
			q.Set("application_name", queueBenchApp)
			u.RawQuery = q.Encode()
			st, err := postgres.Open(ctx, u.String(), postgres.Options{MaxConns: 16})
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { st.Close() })
			if _, err := postgres.Migrate(ctx, st); err != nil {
				tb.Fatal(err)
			}
			return st, probe
		}},
	}
}

// pgCPU returns the user and system CPU time used so far by each PostgreSQL process
// serving the benchmark's store, by pid, read from /proc in clock ticks (taken as 100 a
// second, Linux's USER_HZ); nil without PostgreSQL or when they cannot be read.
func pgCPU(probe *sql.DB) map[int]time.Duration {
	if probe == nil {
		return nil
	}
	rows, err := probe.Query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, queueBenchApp)
	if err != nil {
		return nil
	}
	defer rows.Close()
	out := map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) != nil {
			return nil
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return nil // PostgreSQL on another machine
		}
		// pid (comm) state … utime is field 14, stime 15; comm may hold spaces.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) < 13 {
			return nil
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		out[pid] = time.Duration(ut+st) * 10 * time.Millisecond
	}
	if rows.Err() != nil {
		return nil
	}
	return out
}

// pgCPUSince is the CPU the benchmark's PostgreSQL processes used since before was taken
// (a process that started since counts from zero); -1 when unknown.
func pgCPUSince(probe *sql.DB, before map[int]time.Duration) time.Duration {
	after := pgCPU(probe)
	if before == nil || after == nil {
		return -1
	}
	var d time.Duration
	for pid, t := range after {
		d += t - before[pid]
	}
	return d
}

// queueBench is one engine's server and callers for BenchmarkQueues.
type queueBench struct {
	e        *env
	pg       *sql.DB // for pgCPU; nil on SQLite
	client   *http.Client
	tenantID int64
	folderID int64
	bot, bob map[string]string // headers of the acme-bot app and of bob, Automation Users in Shared
	actor    store.QueueActor  // the app, as the API records it
	queues   int
}

func newQueueBench(b *testing.B, open func(testing.TB) (store.Store, *sql.DB)) *queueBench {
	st, pg := open(b)
	e := newEnv(b, func(testing.TB) store.Store { return st })
	ctx := context.Background()
	org, err := e.st.OrganizationGetByName(ctx, "acme")
	if err != nil {
		b.Fatal(err)
	}
	tn, err := e.st.TenantGetByName(ctx, org.ID, "DefaultTenant")
	if err != nil {
		b.Fatal(err)
	}
	shared, err := e.st.FolderGetByPath(ctx, tn.ID, "Shared")
	if err != nil {
		b.Fatal(err)
	}
	app, err := e.st.AppGetByClientID(ctx, "acme-bot")
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.Cleanup(client.CloseIdleConnections)
	inShared := func(tok string) map[string]string { return with(bearer(tok), "X-UIPATH-FolderPath", "Shared") }
	return &queueBench{e: e, pg: pg, client: client, tenantID: tn.ID, folderID: shared.ID,
		bot:   inShared(e.appToken(b, "acme-bot", "acme-bot-secret-0123456789abcdef-xyz", "")),
		bob:   inShared(e.userToken(b, "acme", "bob@acme.test", "OR.Queues")),
		actor: store.QueueActor{Principal: fmt.Sprintf("app:%d", app.ID), Name: "app " + app.Name, ClientID: app.ClientID}}
}

// newQueue makes an empty queue in Shared, so that each run starts from its own.
func (qb *queueBench) newQueue(b *testing.B) tenancy.QueueDefinition {
	qb.queues++
	q, err := qb.e.st.QueueDefinitionCreate(context.Background(), store.QueueDefinitionCreateParams{TenantID: qb.tenantID,
		FolderID: qb.folderID, Name: fmt.Sprintf("bench-%d", qb.queues), MaxNumberOfRetries: 1})
	if err != nil {
		b.Fatal(err)
	}
	return q
}

// fill adds n New items to q through the store, in batches, priorities in turn.
func (qb *queueBench) fill(b *testing.B, q tenancy.QueueDefinition, n int) {
	for done := 0; done < n; {
		items := make([]store.QueueItemData, min(n-done, queueBenchBatch))
		for i := range items {
			items[i] = store.QueueItemData{Priority: store.QueuePriorities[(done+i)%3], SpecificContent: `{"n":1}`}
		}
		if _, err := qb.e.st.QueueItemAddBulk(context.Background(), store.QueueItemAddBulkParams{TenantID: qb.tenantID, QueueID: q.ID,
			Commit: store.QueueProcessAllIndependently, Items: items, Actor: qb.actor}); err != nil {
			b.Fatal(err)
		}
		done += len(items)
	}
}

// post sends a JSON body to the API and returns the status and body of the answer.
func postJSON(client *http.Client, url, body string, h map[string]string) (int, []byte, error) {
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

func (qb *queueBench) post(path, body string, h map[string]string, want int) ([]byte, error) {
	status, out, err := postJSON(qb.client, qb.e.url+base+path, body, h)
	if err == nil && status != want {
		err = fmt.Errorf("POST %s: status %d, want %d: %s", path, status, want, out)
	}
	return out, err
}

// startedItem is what the consumers read of StartTransaction's answer.
type startedItem struct {
	ID       int64  `json:"Id"`
	Priority string `json:"Priority"`
}

// load runs op b.N times from clients goroutines through loadBench (rate and latency of a
// call), passing each call its index, and adds what the queue benchmarks compare: with
// perOp items a call, items per second; and CPU per call of this process (it holds the
// clients, the server and, for SQLite, the database) and of the PostgreSQL processes
// serving the store.
func (qb *queueBench) load(b *testing.B, clients, perOp int, op func(i int) error) {
	var next atomic.Int64
	b.ReportAllocs()
	pg0, cpu0 := pgCPU(qb.pg), processCPU()
	loadBench(b, clients, func() error { return op(int(next.Add(1) - 1)) })
	if perOp > 1 {
		b.ReportMetric(float64(b.N*perOp)/b.Elapsed().Seconds(), "items/s")
	}
	reportCPU(b, b.N, processCPU()-cpu0, pgCPUSince(qb.pg, pg0))
}

// reportCPU reports CPU per op of this process and, when pgUsed ≥ 0, of PostgreSQL.
func reportCPU(b *testing.B, ops int, cpu, pgUsed time.Duration) {
	b.ReportMetric(float64(cpu)/float64(time.Microsecond)/float64(ops), "cpu-us/op")
	if pgUsed >= 0 {
		b.ReportMetric(float64(pgUsed)/float64(time.Microsecond)/float64(ops), "pg-cpu-us/op")
	}
}

// processCPU is the user and system CPU time this process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkQueues measures the work-queue calls over HTTP on loopback and, in the same run
// and on the same store, the bare store operations they end in:
//
//   - AddQueueItem, 16 clients: one item per call;
//   - BulkAddQueueItems, one client: 1,000 items per call;
//   - a transaction cycle, 16 consumers: StartTransaction then SetTransactionResult;
//   - a drain of 10,000 items by 32 consumers over HTTP, which fails unless every item was
//     handed out exactly once, none was lost, and the order held within priority classes.
//
// Each reports calls per second (req/s; a call of the transaction and the drain is a
// whole cycle) and p50/p99 latency of a call in ms, as loadBench does; BulkAddQueueItems
// also items/s; and CPU per call of this process, which holds clients, server and, for
// SQLite, the database, and of the PostgreSQL processes serving the store.
func BenchmarkQueues(b *testing.B) {
	for _, eng := range queueBenchStores() {
		b.Run("engine="+eng.name, func(b *testing.B) {
			// Each run of a sub-benchmark gets a store of its own, as pgbench's database is
			// its own: what earlier runs left in the tables does not weigh on the next.
			run := func(name string, fn func(b *testing.B, qb *queueBench, st store.Store)) {
				b.Run(name, func(b *testing.B) {
					qb := newQueueBench(b, eng.open)
					fn(b, qb, qb.e.st)
				})
			}
			ctx := context.Background()

			run(fmt.Sprintf("op=AddQueueItem/clients=%d/via=http", queueBenchClients), func(b *testing.B, qb *queueBench, st store.Store) {
				q := qb.newQueue(b)
				qb.load(b, queueBenchClients, 1, func(i int) error {
					_, err := qb.post("/odata/Queues/UiPathODataSvc.AddQueueItem", fmt.Sprintf(
						`{"itemData":{"Name":%q,"Priority":"Normal","Reference":"r%d","SpecificContent":{"Email":"a@b.c","Amount":12.5}}}`,
						q.Name, i), qb.bot, http.StatusCreated)
					return err
				})
			})
			run(fmt.Sprintf("op=AddQueueItem/clients=%d/via=store", queueBenchClients), func(b *testing.B, qb *queueBench, st store.Store) {
				q := qb.newQueue(b)
				qb.load(b, queueBenchClients, 1, func(i int) error {
					_, err := st.QueueItemAdd(ctx, store.QueueItemAddParams{TenantID: qb.tenantID, QueueID: q.ID, Actor: qb.actor,
						Data: store.QueueItemData{Priority: store.QueuePriorityNormal, Reference: fmt.Sprintf("r%d", i),
							SpecificContent: `{"Email":"a@b.c","Amount":12.5}`}})
					return err
				})
			})

			run(fmt.Sprintf("op=BulkAddQueueItems/batch=%d/via=http", queueBenchBatch), func(b *testing.B, qb *queueBench, st store.Store) {
				q := qb.newQueue(b)
				var body bytes.Buffer
				fmt.Fprintf(&body, `{"queueName":%q,"commitType":"ProcessAllIndependently","queueItems":[`, q.Name)
				for i := range queueBenchBatch {
					if i > 0 {
						body.WriteByte(',')
					}
					fmt.Fprintf(&body, `{"Priority":%q,"Reference":"r%d","SpecificContent":{"Email":"a@b.c","Amount":12.5}}`,
						store.QueuePriorities[i%3], i)
				}
				body.WriteString(`]}`)
				qb.load(b, 1, queueBenchBatch, func(int) error {
					out, err := qb.post("/odata/Queues/UiPathODataSvc.BulkAddQueueItems", body.String(), qb.bot, http.StatusOK)
					if err == nil && !bytes.Contains(out, []byte(`"Success":true`)) {
						err = fmt.Errorf("BulkAddQueueItems: %s", out)
					}
					return err
				})
			})
			run(fmt.Sprintf("op=BulkAddQueueItems/batch=%d/via=store", queueBenchBatch), func(b *testing.B, qb *queueBench, st store.Store) {
				q := qb.newQueue(b)
				items := make([]store.QueueItemData, queueBenchBatch)
				for i := range items {
					items[i] = store.QueueItemData{Priority: store.QueuePriorities[i%3], Reference: fmt.Sprintf("r%d", i),
						SpecificContent: `{"Email":"a@b.c","Amount":12.5}`}
				}
				qb.load(b, 1, queueBenchBatch, func(int) error {
					res, err := st.QueueItemAddBulk(ctx, store.QueueItemAddBulkParams{TenantID: qb.tenantID, QueueID: q.ID,
						Commit: store.QueueProcessAllIndependently, Items: items, Actor: qb.actor})
					if err == nil && len(res.Added) != queueBenchBatch {
						err = fmt.Errorf("QueueItemAddBulk added %d of %d", len(res.Added), queueBenchBatch)
					}
					return err
				})
			})

			run(fmt.Sprintf("op=Transaction/consumers=%d/via=http", queueBenchClients), func(b *testing.B, qb *queueBench, st store.Store) {
				q := qb.newQueue(b)
				qb.fill(b, q, b.N)
				start := fmt.Sprintf(`{"transactionData":{"Name":%q}}`, q.Name)
				qb.load(b, queueBenchClients, 1, func(int) error {
					out, err := qb.post("/odata/Queues/UiPathODataSvc.StartTransaction", start, qb.bot, http.StatusOK)
					if err != nil {
						return err
					}
					var it startedItem
					if err := json.Unmarshal(out, &it); err != nil {
						return err
					}
					_, err = qb.post(fmt.Sprintf("/odata/Queues(%d)/UiPathODataSvc.SetTransactionResult", it.ID),
						`{"transactionResult":{"IsSuccessful":true}}`, qb.bot, http.StatusOK)
					return err
				})
			})
			run(fmt.Sprintf("op=Transaction/consumers=%d/via=store", queueBenchClients), func(b *testing.B, qb *queueBench, st store.Store) {
				q := qb.newQueue(b)
				qb.fill(b, q, b.N)
				qb.load(b, queueBenchClients, 1, func(int) error {
					it, found, err := st.QueueItemStart(ctx, store.QueueItemStartParams{TenantID: qb.tenantID, QueueID: q.ID, Actor: qb.actor})
					if err != nil || !found {
						return fmt.Errorf("QueueItemStart: found %v, %v", found, err)
					}
					_, err = st.QueueItemSetResult(ctx, store.QueueItemResultParams{TenantID: qb.tenantID, ItemID: it.ID, Actor: qb.actor, Success: true})
					return err
				})
			})

			run(fmt.Sprintf("op=Drain/consumers=%d/items=%d/via=http", queueDrainConsumers, queueDrainItems), func(b *testing.B, qb *queueBench, st store.Store) {
				// Half the consumers are the app, half are bob: two principals, as two robots.
				consumers := make([]map[string]string, queueDrainConsumers)
				for i := range consumers {
					consumers[i] = qb.bot
					if i%2 == 1 {
						consumers[i] = qb.bob
					}
				}
				var (
					lat         []time.Duration
					elapsed     time.Duration
					cpu, pgUsed time.Duration
				)
				b.ReportAllocs()
				b.StopTimer()
				for range b.N {
					q := qb.newQueue(b)
					addItems(b, qb.client, qb.e.url+base, q.Name, queueDrainItems, qb.bot)
					pg0, cpu0 := pgCPU(qb.pg), processCPU()
					b.StartTimer()
					d := drainQueue(b, qb.client, qb.e.url+base, q.Name, consumers)
					b.StopTimer()
					cpu += processCPU() - cpu0
					if d := pgCPUSince(qb.pg, pg0); d < 0 || pgUsed < 0 {
						pgUsed = -1
					} else {
						pgUsed += d
					}
					elapsed += d.elapsed
					lat = append(lat, d.latencies...)
					checkDrained(b, qb.e.st, qb.tenantID, q, d, queueDrainItems)
				}
				sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
				pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond) }
				b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
				b.ReportMetric(pct(0.50), "p50-ms")
				b.ReportMetric(pct(0.99), "p99-ms")
				reportCPU(b, len(lat), cpu, pgUsed)
			})
		})
	}
}

// addItems adds n items to queue over HTTP with BulkAddQueueItems, priorities High,
// Normal and Low in turn, in batches of up to 1,000.
func addItems(tb testing.TB, client *http.Client, apiBase, queue string, n int, h map[string]string) {
	tb.Helper()
	prio := []string{"High", "Normal", "Low"}
	for done := 0; done < n; {
		size := min(n-done, queueBenchBatch)
		batch := make([]string, size)
		for i := range batch {
			batch[i] = fmt.Sprintf(`{"Reference":"r%d","Priority":"%s"}`, done+i, prio[(done+i)%3])
		}
		status, out, err := postJSON(client, apiBase+"/odata/Queues/UiPathODataSvc.BulkAddQueueItems",
			fmt.Sprintf(`{"queueName":%q,"queueItems":[%s]}`, queue, strings.Join(batch, ",")), h)
		if err != nil || status != http.StatusOK || !bytes.Contains(out, []byte(`"Success":true`)) {
			tb.Fatalf("BulkAddQueueItems: %d %s %v", status, out, err)
		}
		done += size
	}
}

// pick is one item a consumer was handed, with the times its StartTransaction call was
// sent and answered.
type pick struct {
	id         int64
	rank       int // 0 High, 1 Normal, 2 Low
	consumer   int
	start, end time.Time
}

// before reports whether p comes before o in queue order: by priority, then first in,
// first out (the items carry no deadlines).
func (p pick) before(o pick) bool { return p.rank < o.rank || p.rank == o.rank && p.id < o.id }

// drained is the outcome of drainQueue.
type drained struct {
	picks     []pick
	latencies []time.Duration // of each full cycle
	elapsed   time.Duration
}

// drainQueue has one consumer per header set take items from queue until StartTransaction
// answers 204, ending each with a successful SetTransactionResult. It fails tb if an item
// is handed out twice or a call fails.
func drainQueue(tb testing.TB, client *http.Client, apiBase, queue string, consumers []map[string]string) drained {
	tb.Helper()
	rank := map[string]int{"High": 0, "Normal": 1, "Low": 2}
	startBody := fmt.Sprintf(`{"transactionData":{"Name":%q}}`, queue)
	var (
		mu    sync.Mutex
		out   drained
		owner = map[int64]int{}
		dupes []string
		wg    sync.WaitGroup
	)
	t0 := time.Now()
	for w, h := range consumers {
		wg.Go(func() {
			for {
				s := time.Now()
				status, body, err := postJSON(client, apiBase+"/odata/Queues/UiPathODataSvc.StartTransaction", startBody, h)
				end := time.Now()
				if err == nil && status == http.StatusNoContent {
					return
				}
				var it startedItem
				if err == nil && status == http.StatusOK {
					err = json.Unmarshal(body, &it)
				}
				if err != nil || status != http.StatusOK {
					tb.Errorf("consumer %d: StartTransaction: %d %s %v", w, status, body, err)
					return
				}
				r, ok := rank[it.Priority]
				if !ok {
					tb.Errorf("consumer %d: item %d has priority %q", w, it.ID, it.Priority)
					return
				}
				status, body, err = postJSON(client, fmt.Sprintf("%s/odata/Queues(%d)/UiPathODataSvc.SetTransactionResult", apiBase, it.ID),
					`{"transactionResult":{"IsSuccessful":true}}`, h)
				if err != nil || status != http.StatusOK {
					tb.Errorf("consumer %d: SetTransactionResult(%d): %d %s %v", w, it.ID, status, body, err)
					return
				}
				lat := time.Since(s)
				mu.Lock()
				if prev, seen := owner[it.ID]; seen {
					dupes = append(dupes, fmt.Sprintf("item %d to consumers %d and %d", it.ID, prev, w))
				}
				owner[it.ID] = w
				out.picks = append(out.picks, pick{id: it.ID, rank: r, consumer: w, start: s, end: end})
				out.latencies = append(out.latencies, lat)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	out.elapsed = time.Since(t0)
	if len(dupes) > 0 {
		tb.Errorf("%d items handed out twice: %v", len(dupes), dupes[:min(len(dupes), 10)])
	}
	return out
}

// checkDrained fails tb unless the drain took every one of the queue's items exactly once,
// each ended Successful, and no item was handed out after one it precedes in queue order
// that was asked for later: when a StartTransaction call was answered before another was
// sent, the item the second got must not come before the item the first got, since it was
// waiting then too. Each consumer's own items are in queue order as a consequence.
func checkDrained(tb testing.TB, st store.Store, tenantID int64, q tenancy.QueueDefinition, d drained, items int) {
	tb.Helper()
	if len(d.picks) != items {
		tb.Errorf("%d items handed out, want %d", len(d.picks), items)
	}
	counts, err := st.QueueItemCounts(context.Background(), tenantID, q.FolderID)
	if err != nil {
		tb.Fatal(err)
	}
	for _, c := range counts {
		if c.QueueID != q.ID {
			continue
		}
		if c.Status != store.QueueItemSuccessful || c.Count != int64(items) {
			tb.Errorf("queue %s has %d items %s; want all %d Successful", q.Name, c.Count, c.Status, items)
		}
	}
	byStart := append([]pick(nil), d.picks...)
	sort.Slice(byStart, func(i, j int) bool { return byStart[i].start.Before(byStart[j].start) })
	byEnd := append([]pick(nil), d.picks...)
	sort.Slice(byEnd, func(i, j int) bool { return byEnd[i].end.Before(byEnd[j].end) })
	var (
		latest   pick // the latest in queue order among the calls answered so far
		answered bool
		j        int
		bad      []string
	)
	for _, p := range byStart {
		for ; j < len(byEnd) && byEnd[j].end.Before(p.start); j++ {
			if !answered || latest.before(byEnd[j]) {
				latest, answered = byEnd[j], true
			}
		}
		if answered && p.before(latest) {
			bad = append(bad, fmt.Sprintf("consumer %d got item %d (priority rank %d) after consumer %d had got item %d (rank %d)",
				p.consumer, p.id, p.rank, latest.consumer, latest.id, latest.rank))
		}
	}
	if len(bad) > 0 {
		tb.Errorf("%d items out of queue order, first: %v", len(bad), bad[:min(len(bad), 5)])
	}
}
