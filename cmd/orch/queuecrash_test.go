package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/store/storetest"
)

// The work-queue crash test: clients add items to a queue and process them while the
// server is killed with SIGKILL and restarted. What the server acknowledged must be there
// afterwards, once, and no item may be handed out twice.

const (
	qcAdders    = 4   // goroutines adding items
	qcPerAdder  = 100 // items each adds
	qcConsumers = 3   // goroutines processing items
	qcTotal     = qcAdders * qcPerAdder
	qcQueue     = "Orders"
	qcOrg       = "crashq"
)

// qcBootstrap is an organization with a queue that enforces unique references (so that a
// client whose call was cut can send it again and learn whether it had been taken) and a
// confidential app allowed to add and process its items.
const qcBootstrap = `organizations:
  - name: crashq
    apps:
      - {name: order-bot, clientId: order-bot, clientSecret: order-bot-secret-0123456789abcdef0123, appScopes: [OR.Queues]}
    tenants:
      - name: DefaultTenant
        folders:
          - path: Shared
            members:
              - {app: order-bot, roles: [Automation User]}
        queues:
          - {name: Orders, folder: Shared, uniqueReference: true}
`

// queueCrash drives one orch process through kills and restarts, and the clients that
// follow it from port to port.
type queueCrash struct {
	t         *testing.T
	args, env []string
	p         *proc
	url       atomic.Pointer[string] // the running server's address; every restart gets a new port
	client    *http.Client
	token     string
	ledger    queueLedger
}

// queueLedger is what the clients learnt from the server's answers.
type queueLedger struct {
	mu       sync.Mutex
	added    map[string]string // reference → "created" (201) or "existing" (1016 after a cut call)
	received map[string]int    // reference → times StartTransaction handed it out
	finished int               // results the server acknowledged
	cutAdds  int               // AddQueueItem calls that got no answer
	cutStart int               // StartTransaction calls that got no answer
	refused  []string          // results the server refused
}

func (l *queueLedger) count(f func(l *queueLedger) int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return f(l)
}

// start runs orch on the data of the previous runs and points the clients at it.
func (q *queueCrash) start(extra ...string) {
	q.t.Helper()
	q.p = startProc(q.t, q.env, append(append([]string{}, q.args...), extra...)...)
	line, ok := q.p.waitFor("OpenOrch is serving", 60*time.Second)
	if !ok {
		q.t.Fatal("orch did not start")
	}
	// Every request is logged: the lines must be read, or a full pipe stalls the server.
	go func(lines <-chan string) {
		for range lines {
		}
	}(q.p.lines)
	u := "http://" + line["listen"].(string)
	q.url.Store(&u)
}

// do sends one API call to whichever server runs now. err is a transport error: the
// server is down, or was killed before its whole answer arrived.
func (q *queueCrash) do(method, path string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, *q.url.Load()+"/"+qcOrg+"/DefaultTenant/orchestrator_/odata/"+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+q.token)
	req.Header.Set("X-UIPATH-FolderPath", "Shared")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := q.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, data, nil
}

// pause is how long a client waits before calling again after a transport error.
func pause(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Millisecond):
	}
}

// add adds one item, sending it again after a cut call until the server answers 201, or
// 1016 when an earlier attempt had been committed although its answer was lost.
func (q *queueCrash) add(ctx context.Context, ref string, n int) error {
	body := map[string]any{"itemData": map[string]any{"Name": qcQueue, "Priority": "Normal", "Reference": ref,
		"SpecificContent": map[string]any{"Order": n}}}
	cut := false
	for ctx.Err() == nil {
		status, resp, err := q.do("POST", "Queues/UiPathODataSvc.AddQueueItem", body)
		switch {
		case err != nil:
			if !cut {
				q.ledger.mu.Lock()
				q.ledger.cutAdds++
				q.ledger.mu.Unlock()
			}
			cut = true
			pause(ctx)
			continue
		case status == http.StatusCreated:
			q.ledger.mu.Lock()
			q.ledger.added[ref] = "created"
			q.ledger.mu.Unlock()
			return nil
		case status == http.StatusConflict && cut && apiErrorCode(resp) == 1016:
			q.ledger.mu.Lock()
			q.ledger.added[ref] = "existing"
			q.ledger.mu.Unlock()
			return nil
		default:
			return fmt.Errorf("AddQueueItem %s: %d %s", ref, status, resp)
		}
	}
	return context.Cause(ctx)
}

// consume starts transactions and ends them successfully until the queue answers 204. A
// refused result is noted and the next item taken, so that the test can still report
// what else went wrong.
func (q *queueCrash) consume(ctx context.Context) error {
	for ctx.Err() == nil {
		it, ok, err := q.startTransaction(ctx)
		if err != nil || !ok {
			return err
		}
		if err := q.finish(ctx, it.ID); err != nil && ctx.Err() == nil {
			q.ledger.mu.Lock()
			q.ledger.refused = append(q.ledger.refused, err.Error())
			q.ledger.mu.Unlock()
		}
	}
	return context.Cause(ctx)
}

type qcItem struct {
	ID        int64  `json:"Id"`
	Reference string `json:"Reference"`
	Status    string `json:"Status"`
}

// startTransaction takes the next item; ok is false when the queue has none (204). A call
// cut by a kill is sent again: if the server had committed it, that item stays InProgress,
// held by a caller that never learnt of it, until it is abandoned.
func (q *queueCrash) startTransaction(ctx context.Context) (it qcItem, ok bool, err error) {
	body := map[string]any{"transactionData": map[string]any{"Name": qcQueue}}
	cut := false
	for ctx.Err() == nil {
		status, resp, err := q.do("POST", "Queues/UiPathODataSvc.StartTransaction", body)
		switch {
		case err != nil:
			if !cut {
				q.ledger.mu.Lock()
				q.ledger.cutStart++
				q.ledger.mu.Unlock()
			}
			cut = true
			pause(ctx)
			continue
		case status == http.StatusNoContent:
			return it, false, nil
		case status != http.StatusOK:
			return it, false, fmt.Errorf("StartTransaction: %d %s", status, resp)
		}
		if err := json.Unmarshal(resp, &it); err != nil || it.ID == 0 || it.Status != "InProgress" {
			return it, false, fmt.Errorf("StartTransaction answered %s (%v)", resp, err)
		}
		q.ledger.mu.Lock()
		q.ledger.received[it.Reference]++
		q.ledger.mu.Unlock()
		return it, true, nil
	}
	return it, false, context.Cause(ctx)
}

// finish ends a transaction successfully. After a cut call a 409 saying the item is
// Successful means the cut call had been committed.
func (q *queueCrash) finish(ctx context.Context, id int64) error {
	body := map[string]any{"transactionResult": map[string]any{"IsSuccessful": true}}
	cut := false
	for ctx.Err() == nil {
		status, resp, err := q.do("POST", fmt.Sprintf("Queues(%d)/UiPathODataSvc.SetTransactionResult", id), body)
		switch {
		case err != nil:
			cut = true
			pause(ctx)
			continue
		case status == http.StatusOK, status == http.StatusConflict && cut && apiErrorStatus(resp) == "Successful":
			q.ledger.mu.Lock()
			q.ledger.finished++
			q.ledger.mu.Unlock()
			return nil
		default:
			return fmt.Errorf("SetTransactionResult of item %d: %d %s", id, status, resp)
		}
	}
	return context.Cause(ctx)
}

func apiErrorCode(body []byte) int {
	var e struct{ ErrorCode int }
	json.Unmarshal(body, &e)
	return e.ErrorCode
}

// apiErrorStatus is the item status a 409 of a transaction call reports.
func apiErrorStatus(body []byte) string {
	var e struct{ Details struct{ Status string } }
	json.Unmarshal(body, &e)
	return e.Details.Status
}

// items lists the queue's items, page by page.
func (q *queueCrash) items(filter string) []qcItem {
	q.t.Helper()
	var all []qcItem
	for skip := 0; ; skip += 100 {
		v := url.Values{"$orderby": {"Id"}, "$top": {"100"}, "$skip": {fmt.Sprint(skip)}}
		if filter != "" {
			v.Set("$filter", filter)
		}
		status, resp, err := q.do("GET", "QueueItems?"+v.Encode(), nil)
		if err != nil || status != http.StatusOK {
			q.t.Fatalf("GET QueueItems: %d %s %v", status, resp, err)
		}
		var page struct{ Value []qcItem }
		if err := json.Unmarshal(resp, &page); err != nil {
			q.t.Fatal(err)
		}
		all = append(all, page.Value...)
		if len(page.Value) < 100 {
			return all
		}
	}
}

// waitUntil polls cond until it holds, failing the test if a client failed first.
func (q *queueCrash) waitUntil(ctx context.Context, what string, cond func() bool) {
	q.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if ctx.Err() != nil {
			q.t.Fatalf("while waiting for %s: %v", what, context.Cause(ctx))
		}
		if time.Now().After(deadline) {
			q.t.Fatalf("no %s within a minute", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestQueueItemsSurviveKill adds queue items and processes them while orch is killed with
// SIGKILL and restarted on the same database, and checks that every item the server
// acknowledged is there exactly once and that no item was handed out twice.
func TestQueueItemsSurviveKill(t *testing.T) {
	t.Parallel()
	engines := map[string]func(t *testing.T) (args, env []string){
		"sqlite": func(t *testing.T) ([]string, []string) {
			return []string{"--data-dir", t.TempDir()}, nil
		},
		"postgres": func(t *testing.T) ([]string, []string) {
			return []string{"--database-url", storetest.PostgresURL(t), "--data-dir", t.TempDir()},
				[]string{"ORCH_SECRET_KEY=" + strings.Repeat("5a", 32)}
		},
	}
	for name, setup := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			args, env := setup(t)
			file := filepath.Join(t.TempDir(), "orch.yaml")
			if err := os.WriteFile(file, []byte(qcBootstrap), 0o600); err != nil {
				t.Fatal(err)
			}
			transport := &http.Transport{MaxIdleConnsPerHost: qcAdders + qcConsumers}
			defer transport.CloseIdleConnections()
			// Tokens name their issuer, the public URL: one that stays put while the port
			// changes from restart to restart, as behind a load balancer.
			args = append(args, "--config", file, "--public-url", "http://orch.crash.test")
			q := &queueCrash{t: t, args: args, env: env,
				client: &http.Client{Transport: transport, Timeout: 20 * time.Second},
				ledger: queueLedger{added: map[string]string{}, received: map[string]int{}}}
			testQueueCrash(t, q)
		})
	}
}

func testQueueCrash(t *testing.T, q *queueCrash) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(errors.New("the test ended"))
	// A client that gets an answer it cannot explain stops them all.
	run := func(wg *sync.WaitGroup, f func() error) {
		wg.Go(func() {
			if err := f(); err != nil {
				cancel(err)
			}
		})
	}

	q.start()
	// One token for the whole test: signing keys live in the database, so tokens stay
	// valid across restarts.
	resp, err := http.PostForm(*q.url.Load()+"/identity_/connect/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {"order-bot"}, "client_secret": {"order-bot-secret-0123456789abcdef0123"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if tok.AccessToken == "" {
		t.Fatalf("no token: %d", resp.StatusCode)
	}
	q.token = tok.AccessToken
	added := func() int { return q.ledger.count(func(l *queueLedger) int { return len(l.added) }) }

	// 1. Adding, with kills in the middle of the stream: after 100 items, again while the
	// clients' retries pour into the restarted server, and once more later on.
	var adders sync.WaitGroup
	for a := range qcAdders {
		run(&adders, func() error {
			for i := range qcPerAdder {
				if err := q.add(ctx, fmt.Sprintf("order-%d-%03d", a, i), i); err != nil {
					return err
				}
			}
			return nil
		})
	}
	for _, at := range []int{100, 0, qcTotal * 2 / 3} {
		if at == 0 {
			at = added() + 8
		}
		q.waitUntil(ctx, fmt.Sprintf("%d items added", at), func() bool { return added() >= at })
		q.p.kill9(t)
		q.start()
	}
	adders.Wait()
	if ctx.Err() != nil {
		t.Fatal(context.Cause(ctx))
	}

	// 2. Processing. The test itself holds two transactions across a kill: the first it
	// ends after the restart (its holder may), the second it leaves to be abandoned.
	held := make([]qcItem, 2)
	for i := range held {
		it, ok, err := q.startTransaction(ctx)
		if err != nil || !ok {
			t.Fatalf("StartTransaction: %v (item: %v)", err, ok)
		}
		held[i] = it
	}
	var consumers sync.WaitGroup
	for range qcConsumers {
		run(&consumers, func() error { return q.consume(ctx) })
	}
	finished := func() int { return q.ledger.count(func(l *queueLedger) int { return l.finished }) }
	q.waitUntil(ctx, "half the items processed", func() bool { return finished() >= qcTotal/2 })
	q.p.kill9(t)
	killed := time.Now()
	q.start()
	consumers.Wait()
	if ctx.Err() != nil {
		t.Fatal(context.Cause(ctx))
	}
	if err := q.finish(ctx, held[0].ID); err != nil {
		t.Errorf("ending a transaction started before the kill: %v", err)
	}

	// What the server holds now: every acknowledged reference once; processed items
	// Successful; InProgress only the held one and items whose StartTransaction answer the
	// kill cut (none of them handed out again).
	l := &q.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	items := q.items("")
	byRef := map[string][]qcItem{}
	for _, it := range items {
		byRef[it.Reference] = append(byRef[it.Reference], it)
	}
	var stranded []qcItem
	for ref, its := range byRef {
		if _, ok := l.added[ref]; !ok {
			t.Errorf("item %s is in the queue but no client added it: %+v", ref, its)
		}
		for _, it := range its {
			switch {
			case it.Reference == held[1].Reference && it.Status == "InProgress":
			case l.received[ref] > 0 && it.Status == "Successful":
			case l.received[ref] == 0 && it.Status == "InProgress":
				stranded = append(stranded, it)
			default:
				t.Errorf("item %d (%s) is %s; StartTransaction handed it out %d times", it.ID, ref, it.Status, l.received[ref])
			}
		}
	}
	var lost, twice []string
	for ref := range l.added {
		if n := len(byRef[ref]); n != 1 {
			lost = append(lost, fmt.Sprintf("%s (%s, %d items)", ref, l.added[ref], n))
		}
	}
	for ref, n := range l.received {
		if n > 1 {
			twice = append(twice, fmt.Sprintf("%s (%d times)", ref, n))
		}
	}
	sort.Strings(lost)
	sort.Strings(twice)
	if len(lost) > 0 {
		t.Errorf("%d acknowledged references are not in the queue exactly once: %s", len(lost), strings.Join(lost, ", "))
	}
	if len(twice) > 0 {
		t.Errorf("%d references were handed out more than once: %s", len(twice), strings.Join(twice, ", "))
	}
	for _, r := range l.refused {
		t.Error(r)
	}
	if len(items) != qcTotal || len(l.added) != qcTotal {
		t.Errorf("%d items in the queue, %d references acknowledged; want %d", len(items), len(l.added), qcTotal)
	}
	existing := 0
	for _, how := range l.added {
		if how == "existing" {
			existing++
		}
	}
	t.Logf("%d adds and %d StartTransaction calls cut by a kill; %d adds were committed before their answer was lost; %d items left InProgress with no one knowing",
		l.cutAdds, l.cutStart, existing, len(stranded))

	// 3. A last restart with a short abandonment time: the start-up sweep makes the items
	// nobody will finish Abandoned, and they are not handed out again.
	q.p.kill9(t)
	time.Sleep(time.Until(killed.Add(1100 * time.Millisecond))) // so that they are older than the 1s
	q.start("--queue-item-abandon-after", "1s")
	q.waitUntil(ctx, "abandonment of the items left InProgress", func() bool {
		return len(q.items("Status eq 'InProgress'")) == 0
	})
	status := map[int64]string{}
	for _, it := range q.items("") {
		status[it.ID] = it.Status
	}
	for _, it := range append(stranded, held[1]) {
		if status[it.ID] != "Abandoned" {
			t.Errorf("item %d (%s), InProgress before the restart, is %s; want Abandoned", it.ID, it.Reference, status[it.ID])
		}
	}
	if code, resp, err := q.do("POST", "Queues/UiPathODataSvc.StartTransaction",
		map[string]any{"transactionData": map[string]any{"Name": qcQueue}}); err != nil || code != http.StatusNoContent {
		t.Errorf("StartTransaction after the abandonment: %d %s %v; want 204", code, resp, err)
	}
}
