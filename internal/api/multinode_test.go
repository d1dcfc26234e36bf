package api_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/api"
	"github.com/openorch/openorch/internal/queues"
	"github.com/openorch/openorch/internal/robots"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/store/postgres"
	"github.com/openorch/openorch/internal/store/storetest"
	"github.com/openorch/openorch/internal/wake"
)

// TestWakeAcrossNodes shows a waiting StartTransaction (Prefer: wait) and a waiting
// robot/next on one node are woken by an item added, or a job started, on another node of
// the same PostgreSQL database, through LISTEN/NOTIFY as orch serve wires it. Both nodes
// look again only every minute without a wake-up, so only the notification can answer
// the waiting calls in time.
func TestWakeAcrossNodes(t *testing.T) {
	t.Parallel()
	url := storetest.PostgresURL(t)
	e := newEnvWith(t, func(tb testing.TB) store.Store {
		st, err := postgres.Open(context.Background(), url, postgres.Options{MaxConns: 8})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { st.Close() })
		if _, err := postgres.Migrate(context.Background(), st); err != nil {
			tb.Fatal(err)
		}
		return st
	}, func(o *api.Options) { o.WaitPoll = slowPoll })
	qsig, rsig := queues.NewSignal(), robots.NewSignal()
	nodeB := *e
	nodeB.url = e.secondNode(t, func(o *api.Options) { o.QueueSignal, o.RobotSignal, o.WaitPoll = qsig, rsig, slowPoll })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for channel, sig := range map[string]*wake.Signal{store.QueueNotifyChannel: qsig, store.RobotNotifyChannel: rsig} {
		go postgres.Listen(ctx, url, channel, sig.NotifyPayload, nil)
		listening(t, url, channel, sig)
	}

	// A queue item added on node A wakes a StartTransaction waiting on node B.
	who := queueCallers(t, e)
	mkQueue(t, e, who.ann, `{"Name":"Across"}`)
	type answer struct {
		r  reply
		at time.Time
	}
	got := make(chan answer, 1)
	go func() {
		r := nodeB.send(t, "POST", base+"/odata/Queues/UiPathODataSvc.StartTransaction", `{"transactionData":{"Name":"Across"}}`,
			with(who.bot, "Prefer", "wait=30"))
		got <- answer{r, time.Now()}
	}()
	time.Sleep(300 * time.Millisecond)
	wantStatus(t, e.send(t, "POST", base+"/odata/Queues/UiPathODataSvc.AddQueueItem", `{"itemData":{"Name":"Across","Reference":"x1"}}`,
		who.bot), http.StatusCreated)
	added := time.Now()
	select {
	case a := <-got:
		if a.r.status != http.StatusOK {
			t.Fatalf("StartTransaction on node B: %d %s", a.r.status, a.r.raw)
		}
		if lag := a.at.Sub(added); lag > wakeBound {
			t.Errorf("node B answered %v after node A added the item; want within %v", lag, wakeBound)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("StartTransaction on node B was not woken by the item added on node A")
	}

	// A job started on node A wakes robot/next waiting on node B.
	_, tok := robotMachine(t, e, "worker-x", "Shared")
	rb := connect(t, &nodeB, tok, "host-x")
	next := make(chan answer, 1)
	go func() {
		r := robotPost(t, &nodeB, tok, "next", map[string]any{"robotKey": rb.RobotKey, "freeSlots": 1, "waitSeconds": 30})
		next <- answer{reply{status: r.status, raw: r.raw}, time.Now()}
	}()
	time.Sleep(300 * time.Millisecond)
	wantStatus(t, e.send(t, "POST", startJobsPath, `{"startInfo":{"ReleaseName":"Hello"}}`, with(who.ann, "X-UIPATH-FolderPath", "Shared")), 201)
	started := time.Now()
	select {
	case a := <-next:
		if a.r.status != http.StatusOK {
			t.Fatalf("robot/next on node B: %d %s", a.r.status, a.r.raw)
		}
		if lag := a.at.Sub(started); lag > wakeBound {
			t.Errorf("node B handed out the job %v after node A started it; want within %v", lag, wakeBound)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("robot/next on node B was not woken by the job started on node A")
	}
}

// listening waits until the listener feeding sig hears channel: it sends a notification of
// its own until sig passes it on.
func listening(t *testing.T, url, channel string, sig *wake.Signal) {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const probe = 1 << 50 // no queue or tenant has this id
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		woken, done := sig.Wait(probe)
		if _, err := db.Exec(`SELECT pg_notify($1, $2)`, channel, fmt.Sprint(probe)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-woken:
			done()
			return
		case <-time.After(100 * time.Millisecond):
			done()
		}
	}
	t.Fatalf("the listener of %s did not start within 20 s", channel)
}
