package main

// The dispatch benchmark lives here, in cmd/orch, because this is the one package that can
// run both halves for real in one process: the server through run (startServe, the same
// code path as `orch serve`) and the agent through the internal/robot package (what
// `orch robot` runs). Jobs are real processes; only the network is loopback.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/openorch/openorch/client"
	"github.com/openorch/openorch/internal/robot"
	"github.com/openorch/openorch/internal/store/storetest"
)

// dispatchScript is the process every dispatch job runs. Its first instruction writes the
// wall-clock time in nanoseconds (date +%s%N, the same clock as Go's time.Now) as the
// job's output; the benchmark reads it back from the job's OutputArguments. It is a string
// so that no JSON number rounds it.
const dispatchScript = `printf '{"t":"%s"}' "$(date +%s%N)" > "$ORCH_OUTPUT_FILE"` + "\n"

// dispatchEnv is a --demo server with the Bench process published in Shared and the demo
// machine's slots raised to 4, plus the robots started on it.
type dispatchEnv struct {
	tb      testing.TB
	s       *served
	ex      map[string]string
	api     *client.Client // the demo app, in folder Shared
	script  string         // dispatchScript on disk, for the bare baselines
	robotMu sync.Mutex
	robots  []func() // each stops one robot and waits for it
	logs    *syncBuffer
}

// dispatchEngines are the engines the dispatch benchmark and test run on; PostgreSQL is
// skipped without ORCH_TEST_POSTGRES_URL (storetest.PostgresURL).
func dispatchEngines() []struct {
	name  string
	setup func(tb testing.TB) (args []string, vars map[string]string)
} {
	return []struct {
		name  string
		setup func(tb testing.TB) ([]string, map[string]string)
	}{
		{"sqlite", func(tb testing.TB) ([]string, map[string]string) {
			return []string{"--data-dir", tb.TempDir()}, nil
		}},
		{"postgres", func(tb testing.TB) ([]string, map[string]string) {
			return []string{"--database-url", storetest.PostgresURL(tb), "--data-dir", tb.TempDir()},
				map[string]string{"ORCH_SECRET_KEY": strings.Repeat("6b", 32)}
		}},
	}
}

func startDispatchEnv(tb testing.TB, args []string, vars map[string]string) *dispatchEnv {
	tb.Helper()
	ctx := context.Background()
	s := startServe(tb, env(vars), append([]string{"--demo"}, args...)...)
	e := &dispatchEnv{tb: tb, s: s, ex: demoExports(s.Stdout.String()), logs: &syncBuffer{}}
	org, tenant := e.ex["ORCH_DEMO_ORG"], e.ex["ORCH_DEMO_TENANT"]
	cc := &clientcredentials.Config{ClientID: e.ex["ORCH_DEMO_CLIENT_ID"], ClientSecret: e.ex["ORCH_DEMO_CLIENT_SECRET"],
		TokenURL: client.Endpoint(s.URL, org).TokenURL, AuthStyle: oauth2.AuthStyleInParams,
		Scopes: []string{"OR.Jobs", "OR.Execution", "OR.Machines", "OR.Folders"}}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}, Timeout: time.Minute}
	tb.Cleanup(hc.CloseIdleConnections)
	api, err := client.New(client.Config{URL: s.URL, Org: org, Tenant: tenant, Folder: "Shared",
		TokenSource: cc.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, hc)), HTTPClient: hc})
	if err != nil {
		tb.Fatal(err)
	}
	e.api = api

	dir := filepath.Join(tb.TempDir(), "bench")
	os.MkdirAll(dir, 0o755)
	e.script = filepath.Join(dir, "main.sh")
	for name, body := range map[string]string{
		"project.json": `{"name":"Bench","version":"1.0.0","main":"main.sh"}`,
		"main.sh":      dispatchScript,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	nupkg, id, version, err := packDir(dir, "", "")
	if err != nil {
		tb.Fatal(err)
	}
	if _, _, err := api.Packages.Upload(ctx, id+"."+version+".nupkg", strings.NewReader(string(nupkg))); err != nil {
		tb.Fatal(err)
	}
	if _, _, err := api.Releases.Create(ctx, client.NewRelease{Name: id, ProcessKey: id, ProcessVersion: version}); err != nil {
		tb.Fatal(err)
	}

	machines, _, err := client.List[struct {
		ID int64 `json:"Id"`
	}](ctx, api, "odata/Machines", &client.ListOptions{Filter: "Name eq '" + e.ex["ORCH_DEMO_MACHINE_CLIENT_ID"] + "'"})
	if err != nil || len(machines.Value) != 1 {
		tb.Fatalf("the demo machine: %v %+v", err, machines)
	}
	req, err := api.NewRequest(http.MethodPatch, fmt.Sprintf("odata/Machines(%d)", machines.Value[0].ID), map[string]int{"UnattendedSlots": 4})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := api.Do(ctx, req, nil); err != nil {
		tb.Fatalf("raise the demo machine's slots: %v", err)
	}
	tb.Cleanup(e.stopRobots)
	return e
}

// startRobot runs a robot of the demo machine on host name host with 4 slots, in this
// process, until the end of the benchmark.
func (e *dispatchEnv) startRobot(host string) {
	e.tb.Helper()
	r, err := robot.New(robot.Config{URL: e.s.URL, Org: e.ex["ORCH_DEMO_ORG"], Tenant: e.ex["ORCH_DEMO_TENANT"],
		ClientID: e.ex["ORCH_DEMO_MACHINE_CLIENT_ID"], ClientSecret: e.ex["ORCH_DEMO_MACHINE_CLIENT_SECRET"],
		WorkDir: e.tb.TempDir(), HostName: host, Slots: 4, Version: "bench",
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		e.tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	e.robotMu.Lock()
	e.robots = append(e.robots, func() {
		cancel()
		if err := <-done; err != nil {
			e.tb.Errorf("robot %s: %v", host, err)
		}
	})
	e.robotMu.Unlock()
}

// stopRobots stops every robot, in parallel: each says goodbye to the server.
func (e *dispatchEnv) stopRobots() {
	e.robotMu.Lock()
	defer e.robotMu.Unlock()
	var wg sync.WaitGroup
	for _, stop := range e.robots {
		wg.Go(stop)
	}
	wg.Wait()
	e.robots = nil
	if e.tb.Failed() {
		e.tb.Logf("robot logs:\n%s", e.logs)
	}
}

// startJobs starts n jobs of Bench, at most 1,000 per StartJobs call (the server's bound).
func (e *dispatchEnv) startJobs(ctx context.Context, n int) ([]client.Job, error) {
	var all []client.Job
	for n > 0 {
		c := min(n, 1000)
		jobs, _, err := e.api.Jobs.Start(ctx, client.StartInfo{ReleaseName: "Bench", JobsCount: c})
		if err != nil {
			return nil, err
		}
		all = append(all, jobs...)
		n -= c
	}
	return all, nil
}

// waitJob polls one job every interval until it has ended, and returns it; a job that
// did not end Successful is an error.
func (e *dispatchEnv) waitJob(ctx context.Context, id int64, interval time.Duration) (*client.Job, error) {
	for {
		j, _, err := e.api.Jobs.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if j.Ended() {
			if j.State != "Successful" {
				return j, fmt.Errorf("job %d ended %s: %+v", id, j.State, j.JobError)
			}
			return j, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("job %d still %s: %w", id, j.State, ctx.Err())
		case <-time.After(interval):
		}
	}
}

// markTime reads the time the script's first instruction wrote.
func markTime(output []byte) (time.Time, error) {
	var out struct{ T string }
	if err := json.Unmarshal(output, &out); err != nil {
		return time.Time{}, fmt.Errorf("output %q: %w", output, err)
	}
	ns, err := strconv.ParseInt(out.T, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("output %q: %w", output, err)
	}
	return time.Unix(0, ns), nil
}

// dispatchLatency holds the durations of one latency run.
type dispatchLatency struct {
	fromResponse []time.Duration // StartJobs response received → the process's first instruction
	fromRequest  []time.Duration // StartJobs request sent → the process's first instruction
	roundTrip    []time.Duration // the StartJobs call alone
}

// measureLatency starts n jobs one at a time, each once the previous one has ended and
// the robot is back waiting, and measures when each process's first instruction ran.
func (e *dispatchEnv) measureLatency(ctx context.Context, n int) (dispatchLatency, error) {
	var d dispatchLatency
	for range n {
		// The robot sends its next long poll right after it reports the previous job; let
		// it get there, so that every job finds the robot waiting.
		time.Sleep(20 * time.Millisecond)
		sent := time.Now()
		jobs, _, err := e.api.Jobs.Start(ctx, client.StartInfo{ReleaseName: "Bench"})
		received := time.Now()
		if err != nil {
			return d, err
		}
		// Polling only learns the outcome; the figure comes from the job's own clock.
		j, err := e.waitJob(ctx, jobs[0].ID, 10*time.Millisecond)
		if err != nil {
			return d, err
		}
		if j.OutputArguments == nil {
			return d, fmt.Errorf("job %d has no output", j.ID)
		}
		mark, err := markTime([]byte(*j.OutputArguments))
		if err != nil {
			return d, err
		}
		d.fromResponse = append(d.fromResponse, mark.Sub(received))
		d.fromRequest = append(d.fromRequest, mark.Sub(sent))
		d.roundTrip = append(d.roundTrip, received.Sub(sent))
	}
	return d, nil
}

// execScript runs the dispatch script directly, as the robot does (sh main.sh, in a job
// directory, with a clean environment), and returns when its first instruction ran.
func execScript(script, dir string) (time.Time, error) {
	out := filepath.Join(dir, "output.json")
	cmd := exec.Command("sh", script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "ORCH_OUTPUT_FILE=" + out}
	if b, err := cmd.CombinedOutput(); err != nil {
		return time.Time{}, fmt.Errorf("sh %s: %v: %s", script, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return time.Time{}, err
	}
	return markTime(b)
}

// percentile is the p-th quantile of ds in milliseconds (ds is sorted in place).
func percentile(ds []time.Duration, p float64) float64 {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return float64(ds[int(p*float64(len(ds)-1))]) / float64(time.Millisecond)
}

// BenchmarkDispatch measures, on each engine, with the real server and real robots in this
// process (see docs/benchmarks.md, "Robots: dispatch"):
//
//   - latency: one robot waiting (long-polling robot/next), b.N jobs one at a time, from
//     the StartJobs response to the process's first instruction (p50-ms, p99-ms), beside
//     the same script run directly with fork/exec (exec-p50-ms, exec-p99-ms) and the
//     StartJobs round trip alone (start-p50-ms);
//   - throughput: 4 robots × 4 slots, b.N jobs started at once (1,000 per StartJobs), jobs
//     a second from the first StartJobs to the last job's end, beside the same script run
//     directly by 16 workers (exec-jobs/s).
func BenchmarkDispatch(b *testing.B) {
	for _, eng := range dispatchEngines() {
		b.Run(eng.name, func(b *testing.B) {
			args, vars := eng.setup(b)
			e := startDispatchEnv(b, args, vars)
			ctx := context.Background()
			e.startRobot("bench-1")
			// Warm up: the first job downloads the package and opens the connections.
			if _, err := e.measureLatency(ctx, 3); err != nil {
				b.Fatal(err)
			}

			b.Run("latency", func(b *testing.B) {
				dir := b.TempDir()
				var bare []time.Duration
				for range b.N {
					start := time.Now()
					mark, err := execScript(e.script, dir)
					if err != nil {
						b.Fatal(err)
					}
					bare = append(bare, mark.Sub(start))
				}
				b.ResetTimer()
				d, err := e.measureLatency(ctx, b.N)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				p50, exec50 := percentile(d.fromResponse, 0.50), percentile(bare, 0.50)
				b.ReportMetric(p50, "p50-ms")
				b.ReportMetric(percentile(d.fromResponse, 0.99), "p99-ms")
				b.ReportMetric(percentile(d.fromRequest, 0.50), "from-request-p50-ms")
				b.ReportMetric(percentile(d.roundTrip, 0.50), "start-p50-ms")
				b.ReportMetric(exec50, "exec-p50-ms")
				b.ReportMetric(percentile(bare, 0.99), "exec-p99-ms")
				b.ReportMetric(p50/exec50, "p50/exec")
			})

			b.Run("throughput", func(b *testing.B) {
				e.robotMu.Lock()
				more := len(e.robots) < 4
				e.robotMu.Unlock()
				if more {
					for _, h := range []string{"bench-2", "bench-3", "bench-4"} {
						e.startRobot(h)
					}
					// A first batch, not timed: the new robots connect and fetch the package.
					if _, err := e.runBatch(ctx, 12); err != nil {
						b.Fatal(err)
					}
				}
				bare := execRate(b, e.script, b.N, 16)
				b.ResetTimer()
				rate, err := e.runBatch(ctx, b.N)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				b.ReportMetric(rate, "jobs/s")
				b.ReportMetric(bare, "exec-jobs/s")
				b.ReportMetric(rate/bare, "jobs/exec")
			})
		})
	}
}

// runBatch starts n jobs at once and waits until all have ended Successful; it returns
// the jobs a second from the first StartJobs to the last job's EndTime.
func (e *dispatchEnv) runBatch(ctx context.Context, n int) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	start := time.Now()
	jobs, err := e.startJobs(ctx, n)
	if err != nil {
		return 0, err
	}
	lo, hi := jobs[0].ID, jobs[0].ID
	for _, j := range jobs {
		lo, hi = min(lo, j.ID), max(hi, j.ID)
	}
	batch := fmt.Sprintf("Id ge %d and Id le %d", lo, hi)
	for {
		page, _, err := client.List[client.Job](ctx, e.api, "odata/Jobs", &client.ListOptions{
			Filter: batch + " and (State eq 'Pending' or State eq 'Running' or State eq 'Faulted' or State eq 'Stopped')",
			Top:    1, Count: true})
		if err != nil {
			return 0, err
		}
		if *page.Count == 0 {
			break
		}
		// The count and the page are two reads: the job counted may have ended between them.
		if len(page.Value) == 0 {
			continue
		}
		if st := page.Value[0].State; st == "Faulted" || st == "Stopped" {
			return 0, fmt.Errorf("job %d ended %s: %+v", page.Value[0].ID, st, page.Value[0].JobError)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%d of %d jobs have not ended: %w", *page.Count, n, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	last, _, err := client.List[client.Job](ctx, e.api, "odata/Jobs", &client.ListOptions{
		Filter: batch, OrderBy: "EndTime desc", Top: 1})
	if err != nil {
		return 0, err
	}
	if len(last.Value) != 1 || last.Value[0].EndTime == nil {
		return 0, fmt.Errorf("no end time among jobs %s", batch)
	}
	return float64(n) / last.Value[0].EndTime.Sub(start).Seconds(), nil
}

// execRate runs the dispatch script n times directly from workers goroutines and returns
// the runs a second: what this machine does with no server and no robot.
func execRate(tb testing.TB, script string, n, workers int) float64 {
	tb.Helper()
	var mu sync.Mutex
	next := 0
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		dir := tb.TempDir()
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				if _, err := execScript(script, dir); err != nil {
					tb.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds()
}

// TestDispatchLatency runs a small dispatch on each engine so that the benchmark's code
// keeps working: 20 jobs one at a time to one waiting robot, then 40 to 4 robots. The bound
// on the median is generous for a loaded CI machine; docs/benchmarks.md has the figures.
func TestDispatchLatency(t *testing.T) {
	t.Parallel()
	for _, eng := range dispatchEngines() {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			args, vars := eng.setup(t)
			e := startDispatchEnv(t, args, vars)
			ctx := context.Background()
			e.startRobot("ci-1")
			if _, err := e.measureLatency(ctx, 2); err != nil {
				t.Fatal(err)
			}
			d, err := e.measureLatency(ctx, 20)
			if err != nil {
				t.Fatal(err)
			}
			p50 := percentile(d.fromResponse, 0.5)
			t.Logf("%s: StartJobs response → first instruction p50 %.1f ms, p99 %.1f ms", eng.name, p50, percentile(d.fromResponse, 0.99))
			if p50 > 250 {
				t.Errorf("dispatch latency p50 %.1f ms, want under 250 ms", p50)
			}
			for _, h := range []string{"ci-2", "ci-3", "ci-4"} {
				e.startRobot(h)
			}
			if _, err := e.runBatch(ctx, 40); err != nil {
				t.Fatal(err)
			}
		})
	}
}
