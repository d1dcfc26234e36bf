package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/api"
	"github.com/openorch/openorch/internal/queues"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/store/storetest"
	"github.com/openorch/openorch/internal/tenancy"
)

// seededItem is the queue item every environment has in the queue Invoices of
// acme/DefaultTenant/Shared, so that QueueItems and QueueItemEvents have rows for the
// metadata test.
const seededItem = "seeded-item"

func init() {
	envSeeds = append(envSeeds, func(t testing.TB, e *env) {
		ctx := context.Background()
		acme, err := e.st.OrganizationGetByName(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		tn, err := e.st.TenantGetByName(ctx, acme.ID, "DefaultTenant")
		if err != nil {
			t.Fatal(err)
		}
		shared, err := e.st.FolderGetByPath(ctx, tn.ID, "Shared")
		if err != nil {
			t.Fatal(err)
		}
		q, err := e.st.QueueDefinitionGetByName(ctx, tn.ID, shared.ID, "Invoices")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.QueueItemAdd(ctx, store.QueueItemAddParams{TenantID: tn.ID, QueueID: q.ID,
			Data: store.QueueItemData{Reference: seededItem, SpecificContent: `{"Email":"a@b.c","Amount":12.5}`}}); err != nil {
			t.Fatal(err)
		}
	})
	matrixFixtures = append(matrixFixtures, func(t *testing.T, e *env, fx *matrixFixture) {
		ctx := context.Background()
		mkQueue := func(name string) tenancy.QueueDefinition {
			q, err := e.st.QueueDefinitionCreate(ctx, store.QueueDefinitionCreateParams{TenantID: fx.tenantID, FolderID: fx.shared, Name: name})
			if err != nil {
				t.Fatal(err)
			}
			return q
		}
		q := mkQueue("matrix-queue")
		fx.keys["QueueDefinitions"], fx.deleteKeys["QueueDefinitions"] = itoa(q.ID), itoa(mkQueue("matrix-doomed").ID)
		acme, _ := e.st.OrganizationGetByName(ctx, "acme")
		ann, _ := e.st.UserGetByEmail(ctx, acme.ID, "ann@acme.test")
		held := store.QueueActor{Principal: "user:" + itoa(ann.ID), Name: "user ann@acme.test"}
		mkItem := func(start bool) string {
			it, err := e.st.QueueItemAdd(ctx, store.QueueItemAddParams{TenantID: fx.tenantID, QueueID: q.ID, Actor: held, Start: start})
			if err != nil {
				t.Fatal(err)
			}
			return itoa(it.ID)
		}
		fx.keys["QueueItems"], fx.deleteKeys["QueueItems"] = mkItem(false), mkItem(false)
		fx.keys["Queues"] = mkItem(true) // SetTransactionResult: an item ann holds
		const ns = "/UiPath.Server.Configuration.OData."
		fx.routeKeys["POST /odata/QueueItems({key})"+ns+"SetTransactionProgress"] = mkItem(true)
		fx.funcParams["GET /odata/QueueItemEvents"+ns+"GetQueueItemEventsHistory"] = "(queueItemId=" + fx.keys["QueueItems"] + ")"
		for k, v := range map[string]string{
			"POST /odata/QueueDefinitions":                                  `{"Name":"matrix-new"}`,
			"PUT /odata/QueueDefinitions({key})":                            `{"Name":"matrix-queue","MaxNumberOfRetries":1}`,
			"PATCH /odata/QueueDefinitions({key})":                          `{"Description":"patched"}`,
			"PUT /odata/QueueItems({key})":                                  `{"Priority":"High"}`,
			"POST /odata/QueueItems" + ns + "DeleteBulk":                    `{"queueItems":[{"Id":` + mkItem(false) + `}]}`,
			"POST /odata/QueueItems" + ns + "SetItemReviewStatus":           `{"status":"Verified","queueItems":[{"Id":` + mkItem(false) + `}]}`,
			"POST /odata/Queues" + ns + "AddQueueItem":                      `{"itemData":{"Name":"matrix-queue","Reference":"m1"}}`,
			"POST /odata/Queues" + ns + "BulkAddQueueItems":                 `{"queueName":"matrix-queue","queueItems":[{"Reference":"m2"}]}`,
			"POST /odata/Queues" + ns + "StartTransaction":                  `{"transactionData":{"Name":"matrix-queue"}}`,
			"POST /odata/Queues({key})" + ns + "SetTransactionResult":       `{"transactionResult":{"IsSuccessful":true}}`,
			"POST /odata/QueueItems({key})" + ns + "SetTransactionProgress": `{"progress":"matrix"}`,
		} {
			fx.bodies[k] = v
		}
	})
}

// qenv is an API over a store with a clock the test moves, and the sweeper on the same
// clock, as orch serve wires them.
type qenv struct {
	*env
	clock   *testClock
	sweeper *queues.Sweeper
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newQueueEnv is newEnv with the API and the sweeper on a test clock.
func newQueueEnv(t testing.TB, open func(testing.TB) store.Store) *qenv {
	t.Helper()
	clock := &testClock{t: time.Date(2030, 3, 1, 9, 0, 0, 0, time.UTC)}
	sig := queues.NewSignal()
	e := newEnvWith(t, open, func(o *api.Options) { o.Now, o.QueueSignal = clock.Now, sig })
	return &qenv{env: e, clock: clock, sweeper: &queues.Sweeper{Store: e.st, Now: clock.Now, AbandonAfter: 2 * time.Hour, Signal: sig}}
}

const (
	qItems = base + "/odata/QueueItems"
	qNS    = "/UiPathODataSvc."
	qNSv   = "/UiPath.Server.Configuration.OData."
)

// queueCall holds the headers of the callers of the queue tests: ann (organization
// administrator), bob and the acme-bot app (Automation User in Shared).
type queueCall struct {
	ann, bob, bot map[string]string
}

func queueCallers(t *testing.T, e *env) queueCall {
	shared := func(h map[string]string) map[string]string { return with(h, "X-UIPATH-FolderPath", "Shared") }
	return queueCall{
		ann: shared(bearer(e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess"))),
		bob: shared(bearer(e.userToken(t, "acme", "bob@acme.test", "OR.Queues"))),
		bot: shared(bearer(e.appToken(t, "acme-bot", "acme-bot-secret-0123456789abcdef-xyz", ""))),
	}
}

// mkQueue creates a queue in Shared through the API and returns its Id.
func mkQueue(t *testing.T, e *env, h map[string]string, body string) int64 {
	t.Helper()
	r := e.send(t, "POST", base+"/odata/QueueDefinitions", body, h)
	wantStatus(t, r, 201)
	return int64(r.body["Id"].(float64))
}

func addItem(t *testing.T, e *env, h map[string]string, queue, extra string) reply {
	t.Helper()
	if extra != "" {
		extra = "," + extra
	}
	return e.send(t, "POST", base+"/odata/Queues"+qNS+"AddQueueItem", `{"itemData":{"Name":"`+queue+`"`+extra+`}}`, h)
}

func startTx(t *testing.T, e *env, h map[string]string, queue string) reply {
	t.Helper()
	return e.send(t, "POST", base+"/odata/Queues"+qNS+"StartTransaction", `{"transactionData":{"Name":"`+queue+`"}}`, h)
}

func setResult(t *testing.T, e *env, h map[string]string, id any, result string) reply {
	t.Helper()
	return e.send(t, "POST", fmt.Sprintf("%s/odata/Queues(%v)%sSetTransactionResult", base, id, qNS), `{"transactionResult":`+result+`}`, h)
}

func idOf(r reply) int64 {
	if v, ok := r.body["Id"].(float64); ok {
		return int64(v)
	}
	return 0
}

func TestQueues(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			who := queueCallers(t, e)

			t.Run("AddQueueItem as clients send it, under both namespaces", func(t *testing.T) {
				qid := mkQueue(t, e, who.ann, `{"Name":"MyQueue"}`)
				for i, ns := range []string{qNS, qNSv} {
					r := e.send(t, "POST", base+"/odata/Queues"+ns+"AddQueueItem",
						`{"itemData":{"Name":"MyQueue","Priority":"High","Reference":"ref-1","SpecificContent":{"Email":"a@b.c"}}}`, who.bot)
					wantStatus(t, r, 201, `"Status":"New"`, `"Priority":"High"`, `"Reference":"ref-1"`, `"SpecificContent":{"Email":"a@b.c"}`,
						`"SpecificData":"{\"Email\":\"a@b.c\"}"`, `"@odata.context":"`+e.url+base+`/odata/$metadata#QueueItems/$entity"`,
						fmt.Sprintf(`"QueueDefinitionId":%d`, qid), `"OrganizationUnitFullyQualifiedName":"Shared"`)
					if !strings.HasSuffix(r.header.Get("Location"), fmt.Sprintf("/odata/QueueItems(%d)", idOf(r))) {
						t.Errorf("add %d: Location %q", i, r.header.Get("Location"))
					}
				}
				for i := range 3 {
					wantStatus(t, addItem(t, e, who.bot, "myqueue", fmt.Sprintf(`"Reference":"more-%d"`, i)), 201)
				}
				// The list query of clients.md: the newest three of the queue.
				r := qget(t, e, fmt.Sprintf("%s?%%24filter=QueueDefinitionId+eq+%d&%%24orderby=Id+desc&%%24top=3", qItems, qid), who.bob)
				wantStatus(t, r, 200)
				if got := strings.Join(names(t, r, "Reference"), ","); got != "more-2,more-1,more-0" {
					t.Errorf("the newest three: %s", got)
				}
				wantStatus(t, qget(t, e, qItems+"?$top=101", who.bob), 400, "$top is 101", "100")
				// Unknown queues are named with the folder's queues.
				wantStatus(t, addItem(t, e, who.bot, "Nope", ""), 404, `no queue named \"Nope\"`, "MyQueue")
				wantStatus(t, e.send(t, "POST", base+"/odata/Queues"+qNS+"AddQueueItem", `{"itemData":{}}`, who.bot), 400, "itemData.Name is required")
				wantStatus(t, addItem(t, e, who.bot, "MyQueue", `"Priority":"Urgent"`), 400, "itemData.Priority", "High, Normal, Low")
				wantStatus(t, addItem(t, e, who.bot, "MyQueue", `"SpecificContent":[1]`), 400, "itemData.SpecificContent must be a JSON object")
				wantStatus(t, addItem(t, e, who.bot, "MyQueue", `"DueDate":"tomorrow"`), 400, "not a date and time")
			})

			t.Run("lists are capped at 100 rows", func(t *testing.T) {
				qid := mkQueue(t, e, who.ann, `{"Name":"Big"}`)
				var items []string
				for i := range 120 {
					items = append(items, fmt.Sprintf(`{"Reference":"big-%d"}`, i))
				}
				r := e.send(t, "POST", base+"/odata/Queues"+qNS+"BulkAddQueueItems",
					`{"queueName":"Big","queueItems":[`+strings.Join(items, ",")+`]}`, who.bot)
				wantStatus(t, r, 200, `"Success":true`, `"FailedItems":[]`)
				r = qget(t, e, fmt.Sprintf("%s?$filter=QueueDefinitionId eq %d&$count=true", qItems, qid), who.bob)
				wantStatus(t, r, 200, `"@odata.count":120`)
				if n := len(names(t, r, "Reference")); n != 100 {
					t.Errorf("without $top: %d rows, want the cap of 100", n)
				}
			})

			t.Run("unique references", func(t *testing.T) {
				mkQueue(t, e, who.ann, `{"Name":"Unique","EnforceUniqueReference":true}`)
				first := addItem(t, e, who.bot, "Unique", `"Reference":"INV-7"`)
				wantStatus(t, first, 201)
				key := first.body["Key"].(string)
				r := addItem(t, e, who.bot, "Unique", `"Reference":"inv-7"`)
				wantStatus(t, r, 409, `"errorCode":1016`, "Duplicate Reference", `"Key":"`+key+`"`, `"Status":"New"`)
				// Deleted, the item still holds its reference.
				wantStatus(t, e.send(t, "DELETE", fmt.Sprintf("%s(%d)", qItems, idOf(first)), "", who.ann), 204)
				r = addItem(t, e, who.bot, "Unique", `"Reference":"INV-7"`)
				wantStatus(t, r, 409, `"errorCode":1016`, `"Key":"`+key+`"`, `"Status":"Deleted"`)
				// StartTransaction with content checks it too.
				r = e.send(t, "POST", base+"/odata/Queues"+qNS+"StartTransaction",
					`{"transactionData":{"Name":"Unique","Reference":"inv-7","SpecificContent":{"a":1}}}`, who.bot)
				wantStatus(t, r, 409, `"errorCode":1016`)
				// The queue's setting is fixed at creation.
				q := qget(t, e, base+"/odata/QueueDefinitions?$filter=Name eq 'Unique'", who.ann)
				qid := int64(q.body["value"].([]any)[0].(map[string]any)["Id"].(float64))
				wantStatus(t, e.send(t, "PATCH", fmt.Sprintf("%s/odata/QueueDefinitions(%d)", base, qid), `{"EnforceUniqueReference":false}`, who.ann),
					400, "set when a queue is created")
			})

			t.Run("schema validation names the failing path", func(t *testing.T) {
				schema := `{"type":"object","required":["Email"],"properties":{"Email":{"type":"string"},"Amount":{"type":"number","minimum":0}}}`
				b, _ := json.Marshal(map[string]any{"Name": "Checked", "SpecificDataJsonSchema": schema})
				mkQueue(t, e, who.ann, string(b))
				wantStatus(t, addItem(t, e, who.bot, "Checked", `"SpecificContent":{"Email":"a@b.c","Amount":3}`), 201)
				r := addItem(t, e, who.bot, "Checked", `"SpecificContent":{"Email":"a@b.c","Amount":-1}`)
				wantStatus(t, r, 400, "itemData.SpecificContent does not match the SpecificDataJsonSchema of queue Checked", "at /Amount")
				r = addItem(t, e, who.bot, "Checked", `"SpecificContent":{"Amount":1}`)
				wantStatus(t, r, 400, "at /:", "Email")
				b, _ = json.Marshal(map[string]any{"Name": "Broken", "SpecificDataJsonSchema": `{"type":"nonsense"}`})
				wantStatus(t, e.send(t, "POST", base+"/odata/QueueDefinitions", string(b), who.ann), 400, "SpecificDataJsonSchema is not a usable JSON Schema")
				b, _ = json.Marshal(map[string]any{"Name": "Remote", "SpecificDataJsonSchema": `{"$ref":"file:///etc/passwd"}`})
				wantStatus(t, e.send(t, "POST", base+"/odata/QueueDefinitions", string(b), who.ann), 400, "self-contained")
			})

			t.Run("limits name the field and the limit", func(t *testing.T) {
				mkQueue(t, e, who.ann, `{"Name":"Limits"}`)
				wantStatus(t, addItem(t, e, who.bot, "Limits", `"Reference":"`+strings.Repeat("r", 129)+`"`), 400,
					"itemData.Reference is 129 characters long; the limit is 128")
				wantStatus(t, addItem(t, e, who.bot, "Limits", `"Reference":"`+strings.Repeat("r", 128)+`"`), 201)
				big := `"SpecificContent":{"x":"` + strings.Repeat("é", 256_000) + `"}`
				wantStatus(t, addItem(t, e, who.bot, "Limits", big), 400, "itemData.SpecificContent (as JSON) is 256008 characters long; the limit is 256000")
				wantStatus(t, addItem(t, e, who.bot, "Limits", `"Progress":"`+strings.Repeat("p", 104_858)+`"`), 400, "the limit is 104857")
				r := startTx(t, e, who.bot, "Limits")
				wantStatus(t, r, 200)
				id := idOf(r)
				wantStatus(t, setResult(t, e, who.bot, id, `{"IsSuccessful":true,"Output":{"o":"`+strings.Repeat("o", 51_200)+`"}}`), 400,
					"transactionResult.Output (as JSON)", "the limit is 51200")
				wantStatus(t, setResult(t, e, who.bot, id, `{"IsSuccessful":true,"Analytics":{"a":"`+strings.Repeat("a", 5_120)+`"}}`), 400,
					"transactionResult.Analytics (as JSON)", "the limit is 5120")
				wantStatus(t, setResult(t, e, who.bot, id, `{"IsSuccessful":false,"ProcessingException":{"Reason":"`+strings.Repeat("x", 102_401)+`"}}`), 400,
					"transactionResult.ProcessingException.Reason is 102401 characters long; the limit is 102400")
				wantStatus(t, e.send(t, "POST", fmt.Sprintf("%s(%d)%sSetTransactionProgress", qItems, id, qNS),
					`{"progress":"`+strings.Repeat("p", 104_858)+`"}`, who.bot), 400, "progress is 104858 characters long; the limit is 104857")
			})

			t.Run("bulk commit types", func(t *testing.T) {
				mkQueue(t, e, who.ann, `{"Name":"Bulk","EnforceUniqueReference":true}`)
				wantStatus(t, addItem(t, e, who.bot, "Bulk", `"Reference":"taken"`), 201)
				bulk := func(mode, prefix string) reply {
					items := fmt.Sprintf(`[{"Reference":"%[1]s1"},{"Reference":"taken"},{"Reference":"%[1]s2","Priority":"Bad"},{"Reference":"%[1]s3"}]`, prefix)
					return e.send(t, "POST", base+"/odata/Queues"+qNS+"BulkAddQueueItems", `{"queueName":"Bulk","commitType":"`+mode+`","queueItems":`+items+`}`, who.bot)
				}
				failed := func(r reply) string {
					var out []string
					for _, f := range r.body["FailedItems"].([]any) {
						m := f.(map[string]any)
						out = append(out, fmt.Sprintf("%v:%v", m["Ordinal"], m["ErrorCode"]))
					}
					return strings.Join(out, ",")
				}
				count := func(prefix string) int {
					r := qget(t, e, qItems+"?$filter=startswith(Reference,'"+prefix+"')&$count=true", who.bob)
					return int(r.body["@odata.count"].(float64))
				}
				r := bulk("AllOrNothing", "bulk-a")
				wantStatus(t, r, 200, `"Success":false`, "no item was added")
				if got := failed(r); got != "2:InvalidItem" || count("bulk-a") != 0 {
					t.Errorf("AllOrNothing: failed %s, added %d", got, count("bulk-a"))
				}
				r = e.send(t, "POST", base+"/odata/Queues"+qNS+"BulkAddQueueItems",
					`{"queueName":"Bulk","commitType":"AllOrNothing","queueItems":[{"Reference":"bulk-n1"},{"Reference":"TAKEN"}]}`, who.bot)
				if got := failed(r); got != "1:DuplicateReference" || count("bulk-n") != 0 {
					t.Errorf("AllOrNothing with a duplicate: failed %s, added %d", got, count("bulk-n"))
				}
				r = bulk("StopOnFirstFailure", "bulk-s")
				if got := failed(r); got != "1:DuplicateReference" || count("bulk-s") != 1 {
					t.Errorf("StopOnFirstFailure: failed %s, added %d", got, count("bulk-s"))
				}
				r = bulk("ProcessAllIndependently", "bulk-p")
				if got := failed(r); got != "1:DuplicateReference,2:InvalidItem" || count("bulk-p") != 2 {
					t.Errorf("ProcessAllIndependently: failed %s, added %d", got, count("bulk-p"))
				}
				if !strings.Contains(r.raw, "queueItems[2].Priority") {
					t.Errorf("the message of a refused item does not name its field: %s", r.raw)
				}
				wantStatus(t, e.send(t, "POST", base+"/odata/Queues"+qNS+"BulkAddQueueItems", `{"queueName":"Bulk","commitType":"Sometimes","queueItems":[{}]}`, who.bot),
					400, "commitType", "AllOrNothing")
			})

			t.Run("transactions", func(t *testing.T) {
				mkQueue(t, e, who.ann, `{"Name":"Work","MaxNumberOfRetries":1}`)
				r := startTx(t, e, who.bot, "Work")
				if r.status != 204 || r.raw != "" {
					t.Fatalf("StartTransaction on an empty queue: %d %q, want 204 and no body", r.status, r.raw)
				}
				wantStatus(t, addItem(t, e, who.bot, "Work", `"Reference":"w1","SpecificContent":{"n":1}`), 201)
				r = startTx(t, e, who.bot, "Work")
				wantStatus(t, r, 200, `"Status":"InProgress"`, `"Reference":"w1"`)
				id := idOf(r)
				// Another caller may neither end it nor report progress on it.
				r = setResult(t, e, who.bob, id, `{"IsSuccessful":true}`)
				wantStatus(t, r, 409, "another caller", `"Status":"InProgress"`)
				wantStatus(t, e.send(t, "POST", fmt.Sprintf("%s(%d)%sSetTransactionProgress", qItems, id, qNS), `{"progress":"p"}`, who.bob), 409)
				wantStatus(t, e.send(t, "POST", fmt.Sprintf("%s(%d)%sSetTransactionProgress", qItems, id, qNSv), `{"progress":"half way"}`, who.bot), 200)
				// An application exception is retried.
				r = setResult(t, e, who.bot, id, `{"IsSuccessful":false,"ProcessingException":{"Reason":"timeout","Details":"at step 3","Type":"ApplicationException"}}`)
				wantStatus(t, r, 200)
				old := qget(t, e, fmt.Sprintf("%s(%d)", qItems, id), who.bob)
				wantStatus(t, old, 200, `"Status":"Retried"`, `"ProcessingExceptionType":"ApplicationException"`, `"Reason":"timeout"`, `"Progress":"half way"`)
				hist := qget(t, e, fmt.Sprintf("%s(%d)%sGetItemProcessingHistory", qItems, id, qNS), who.bob)
				wantStatus(t, hist, 200, `"Status":"Retried"`, `"Status":"New"`, fmt.Sprintf(`"AncestorId":%d`, id), `"RetryNumber":1`)
				// The retry runs; failing again, retries are spent.
				r = startTx(t, e, who.bot, "Work")
				wantStatus(t, r, 200, `"RetryNumber":1`, `"Key":"`+old.body["Key"].(string)+`"`)
				retry := idOf(r)
				wantStatus(t, setResult(t, e, who.bot, retry, `{"IsSuccessful":false,"ProcessingException":{"Reason":"again","Type":"ApplicationException"}}`), 200)
				wantStatus(t, qget(t, e, fmt.Sprintf("%s(%d)", qItems, retry), who.bob), 200, `"Status":"Failed"`)
				wantStatus(t, startTx(t, e, who.bot, "Work"), 204)
				// A business exception is never retried.
				wantStatus(t, addItem(t, e, who.bot, "Work", `"Reference":"w2"`), 201)
				r = startTx(t, e, who.bot, "Work")
				wantStatus(t, setResult(t, e, who.bot, idOf(r), `{"IsSuccessful":false,"ProcessingException":{"Reason":"bad data","Type":"BusinessException"}}`), 200)
				wantStatus(t, qget(t, e, fmt.Sprintf("%s(%d)", qItems, idOf(r)), who.bob), 200, `"Status":"Failed"`, `"ProcessingExceptionType":"BusinessException"`)
				wantStatus(t, startTx(t, e, who.bot, "Work"), 204)
				// Success, then a second result: 409 with the item's state.
				wantStatus(t, addItem(t, e, who.bot, "Work", ""), 201)
				r = startTx(t, e, who.bot, "Work")
				wantStatus(t, setResult(t, e, who.bot, idOf(r), `{"IsSuccessful":true,"Output":{"Total":5}}`), 200)
				wantStatus(t, setResult(t, e, who.bot, idOf(r), `{"IsSuccessful":true}`), 409, "not InProgress", `"Status":"Successful"`)
				wantStatus(t, qget(t, e, fmt.Sprintf("%s(%d)", qItems, idOf(r)), who.bob), 200, `"Output":{"Total":5}`)
				wantStatus(t, setResult(t, e, who.bot, 987654321, `{"IsSuccessful":true}`), 404)
				// StartTransaction with content adds and starts an item at once.
				r = e.send(t, "POST", base+"/odata/Queues"+qNS+"StartTransaction",
					`{"transactionData":{"Name":"Work","Reference":"direct","SpecificContent":{"d":true}}}`, who.bot)
				wantStatus(t, r, 200, `"Status":"InProgress"`, `"Reference":"direct"`)
				// Reference filters.
				for _, ref := range []string{"abc-1", "abd-2", "xyz"} {
					wantStatus(t, addItem(t, e, who.bot, "Work", `"Reference":"`+ref+`"`), 201)
				}
				r = e.send(t, "POST", base+"/odata/Queues"+qNS+"StartTransaction",
					`{"transactionData":{"Name":"Work","Reference":"ABD","ReferenceFilterOption":"StartsWith"}}`, who.bot)
				wantStatus(t, r, 200, `"Reference":"abd-2"`)
				r = e.send(t, "POST", base+"/odata/Queues"+qNS+"StartTransaction",
					`{"transactionData":{"Name":"Work","Reference":"xyz","ReferenceFilterOption":"Equals"}}`, who.bot)
				wantStatus(t, r, 200, `"Reference":"xyz"`)
			})

			t.Run("403 only without the Transactions permission", func(t *testing.T) {
				ctx := context.Background()
				tn := mustTenant(t, e)
				shared, _ := e.st.FolderGetByPath(ctx, tn.ID, "Shared")
				viewer, err := e.st.RoleCreate(ctx, store.RoleCreateParams{TenantID: tn.ID, Name: "Queue Viewer", Type: "Folder",
					Permissions: []tenancy.Permission{"Queues.View"}})
				if err != nil {
					t.Fatal(err)
				}
				eve, _ := e.st.UserGetByEmail(ctx, mustOrgOf(t, e).ID, "eve@acme.test")
				if err := e.st.MembershipSet(ctx, tenancy.Membership{TenantID: tn.ID, FolderID: shared.ID,
					Principal: tenancy.Principal{Kind: tenancy.PrincipalUser, ID: eve.ID}, RoleIDs: []int64{viewer.ID}}); err != nil {
					t.Fatal(err)
				}
				mkQueue(t, e, who.ann, `{"Name":"Guarded"}`)
				eveH := with(bearer(e.userToken(t, "acme", "eve@acme.test", "OR.Queues")), "X-UIPATH-FolderPath", "Shared")
				wantStatus(t, startTx(t, e, eveH, "Guarded"), 403, "lacks permission Transactions.Edit in folder Shared")
				wantStatus(t, addItem(t, e, eveH, "Guarded", ""), 403, "Transactions.Create")
				wantStatus(t, qget(t, e, qItems, eveH), 403, "Transactions.View")
				// An application, with the permission, gets 204 on an empty queue, not 403.
				wantStatus(t, startTx(t, e, who.bot, "Guarded"), 204)
			})

			t.Run("Prefer wait", func(t *testing.T) {
				mkQueue(t, e, who.ann, `{"Name":"Waiting"}`)
				type result struct {
					r       reply
					elapsed time.Duration
				}
				done := make(chan result, 1)
				start := time.Now()
				go func() {
					r := sendTo(e.url+base+"/odata/Queues"+qNS+"StartTransaction", `{"transactionData":{"Name":"Waiting"}}`, with(who.bot, "Prefer", "wait=20"))
					done <- result{r, time.Since(start)}
				}()
				time.Sleep(300 * time.Millisecond)
				added := time.Now()
				a := addItem(t, e, who.bob, "Waiting", `"Reference":"awaited"`)
				wantStatus(t, a, 201)
				select {
				case res := <-done:
					wantStatus(t, res.r, 200, `"Reference":"awaited"`, `"Status":"InProgress"`)
					if got := res.r.header.Get("Preference-Applied"); got != "wait=20" {
						t.Errorf("Preference-Applied = %q, want wait=20", got)
					}
					// Woken by the add, not by the one-second poll.
					if lag := time.Since(added); lag > 900*time.Millisecond {
						t.Errorf("the waiting StartTransaction answered %v after the add", lag)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("the waiting StartTransaction did not get the item added meanwhile")
				}
				// On an empty queue, it waits the time asked and answers 204.
				t0 := time.Now()
				r := e.send(t, "POST", base+"/odata/Queues"+qNS+"StartTransaction", `{"transactionData":{"Name":"Waiting"}}`, with(who.bot, "Prefer", "respond-async, wait=1"))
				if r.status != 204 || time.Since(t0) < time.Second || r.header.Get("Preference-Applied") != "wait=1" {
					t.Errorf("empty queue with wait=1: %d after %v, Preference-Applied %q", r.status, time.Since(t0), r.header.Get("Preference-Applied"))
				}
				// More than 60 seconds is cut to 60.
				wantStatus(t, addItem(t, e, who.bot, "Waiting", ""), 201)
				r = e.send(t, "POST", base+"/odata/Queues"+qNS+"StartTransaction", `{"transactionData":{"Name":"Waiting"}}`, with(who.bot, "Prefer", "wait=600"))
				if r.status != 200 || r.header.Get("Preference-Applied") != "wait=60" {
					t.Errorf("wait=600: %d, Preference-Applied %q; want 200 and wait=60", r.status, r.header.Get("Preference-Applied"))
				}
			})

			t.Run("items: edit, delete, review, history, audit", func(t *testing.T) {
				mkQueue(t, e, who.ann, `{"Name":"Admin"}`)
				a := addItem(t, e, who.bot, "Admin", `"Reference":"e1","Priority":"Low"`)
				id := idOf(a)
				r := e.send(t, "PUT", fmt.Sprintf("%s(%d)", qItems, id), `{"Priority":"High","SpecificContent":{"k":"v"},"DueDate":"2031-01-02T03:04:05"}`, who.ann)
				wantStatus(t, r, 200, `"Priority":"High"`, `"SpecificContent":{"k":"v"}`, `"DueDate":"2031-01-02T03:04:05Z"`, `"Reference":"e1"`)
				// Automation Users lack Queues.Edit, which UiPath asks for editing items.
				wantStatus(t, e.send(t, "PUT", fmt.Sprintf("%s(%d)", qItems, id), `{"Priority":"Low"}`, who.bob), 403, "Queues.Edit")
				r = startTx(t, e, who.bot, "Admin")
				wantStatus(t, e.send(t, "PUT", fmt.Sprintf("%s(%d)", qItems, id), `{"Priority":"Low"}`, who.ann), 409, "only New items can be edited")
				wantStatus(t, e.send(t, "DELETE", fmt.Sprintf("%s(%d)", qItems, id), "", who.ann), 409, "InProgress", `"Status":"InProgress"`)
				wantStatus(t, setResult(t, e, who.bot, id, `{"IsSuccessful":false,"ProcessingException":{"Reason":"r","Type":"BusinessException"}}`), 200)
				r = e.send(t, "POST", qItems+qNS+"SetItemReviewStatus", fmt.Sprintf(`{"status":"Verified","queueItems":[{"Id":%d,"RowVersion":"AAAAAAAAB9E="},{"Id":987654321}]}`, id), who.ann)
				wantStatus(t, r, 200, `"Success":false`, `"FailedItems":[987654321]`)
				wantStatus(t, qget(t, e, fmt.Sprintf("%s(%d)", qItems, id), who.bob), 200, `"ReviewStatus":"Verified"`)
				b := idOf(addItem(t, e, who.bot, "Admin", ""))
				r = e.send(t, "POST", qItems+qNS+"DeleteBulk", fmt.Sprintf(`{"queueItems":[{"Id":%d},{"Id":%d}]}`, b, id), who.ann)
				wantStatus(t, r, 200, `"Success":true`)
				wantStatus(t, qget(t, e, fmt.Sprintf("%s(%d)", qItems, b), who.bob), 200, `"Status":"Deleted"`)
				// The history of the item, with who did what.
				r = qget(t, e, fmt.Sprintf("%s/odata/QueueItemEvents%sGetQueueItemEventsHistory(queueItemId=%d)", base, qNS, id), who.bob)
				wantStatus(t, r, 200)
				var actions []string
				for _, v := range r.body["value"].([]any) {
					actions = append(actions, v.(map[string]any)["Action"].(string))
				}
				if want := []string{"Created", "Edited", "Started", "Failed", "ReviewStatusChanged", "Deleted"}; !slices.Equal(actions, want) {
					t.Errorf("history %v, want %v", actions, want)
				}
				if !strings.Contains(r.raw, `"UserName":"app bot"`) || !strings.Contains(r.raw, `"UserName":"user ann@acme.test"`) ||
					!strings.Contains(r.raw, `"ExternalClientId":"acme-bot"`) {
					t.Errorf("the history does not say who: %s", r.raw)
				}
				wantStatus(t, qget(t, e, base+"/odata/QueueItemEvents?$filter=Action eq 'ReviewStatusChanged'&$count=true", who.bob), 200, `"@odata.count":1`)
				// Audited: people's changes; not audited: the robots' traffic.
				audit := qget(t, e, base+"/odata/AuditLogs?$filter=Component eq 'QueueItems'&$top=1000", who.ann)
				wantStatus(t, audit, 200)
				var ops []string
				for _, v := range audit.body["value"].([]any) {
					ops = append(ops, v.(map[string]any)["Action"].(string))
				}
				for _, want := range []string{"Update", "Delete"} {
					if !slices.Contains(ops, want) {
						t.Errorf("no audited %s of queue items: %v", want, ops)
					}
				}
				wantStatus(t, qget(t, e, base+"/odata/AuditLogs?$filter=Component eq 'QueueDefinitions'&$count=true", who.ann), 200, `"Action":"Create"`)
				if n := strings.Count(audit.raw, `"Action":"Create"`); n > 3 {
					t.Errorf("%d audited item creations: AddQueueItem and transactions must not be audited one by one (bulk adds are, once per call)", n)
				}
			})

			t.Run("counts and metrics", func(t *testing.T) {
				mkQueue(t, e, who.ann, `{"Name":"Counted"}`)
				for range 3 {
					wantStatus(t, addItem(t, e, who.bot, "Counted", ""), 201)
				}
				wantStatus(t, startTx(t, e, who.bot, "Counted"), 200)
				r := qget(t, e, base+"/odata/QueueProcessingRecords"+qNS+"RetrieveQueuesProcessingStatus", who.bob)
				wantStatus(t, r, 200)
				var found bool
				for _, v := range r.body["value"].([]any) {
					m := v.(map[string]any)
					if m["QueueDefinitionName"] == "Counted" {
						found = m["ItemsToProcess"].(float64) == 2 && m["ItemsInProgress"].(float64) == 1
					}
				}
				if !found {
					t.Errorf("counts of queue Counted: %s", r.raw)
				}
				m := qget(t, e, "/metrics", nil)
				for _, want := range []string{`orch_queue_items{folder_id="\d+",queue="Counted",queue_id="\d+",status="New",tenant_id="\d+"} 2\n`,
					`orch_queue_items{folder_id="\d+",queue="Counted",queue_id="\d+",status="InProgress",tenant_id="\d+"} 1\n`,
					`orch_queue_transactions_total{outcome="started"} [1-9]`, `orch_queue_items_added_total [1-9]`} {
					if !regexp.MustCompile(want).MatchString(m.raw) {
						t.Errorf("metrics lack %s", want)
					}
				}
			})
		})
	}
}

// sendTo posts body to url with headers, for goroutines (no *testing.T).
func sendTo(url, body string, headers map[string]string) reply {
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header[k] = []string{v}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{status: -1, raw: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	json.Unmarshal(b, &r.body)
	return r
}

func mustOrgOf(t *testing.T, e *env) tenancy.Organization {
	o, err := e.st.OrganizationGetByName(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestQueueConsumers races consumers over HTTP: every item is handed out exactly once, none
// is lost, and items leave in queue order (priority, then first in, first out). It is
// BenchmarkQueues' drain of 10,000 items by 32 consumers, small enough for every run.
func TestQueueConsumers(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			who := queueCallers(t, e)
			id := mkQueue(t, e, who.ann, `{"Name":"Race"}`)
			const items, consumers = 240, 8
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: consumers}}
			t.Cleanup(client.CloseIdleConnections)
			addItems(t, client, e.url+base, "Race", items, who.bot)
			// Half the consumers are the app, half are bob: two principals, as two robots.
			hs := make([]map[string]string, consumers)
			for w := range hs {
				hs[w] = who.bot
				if w%2 == 1 {
					hs[w] = who.bob
				}
			}
			d := drainQueue(t, client, e.url+base, "Race", hs)
			ctx := context.Background()
			tn, err := e.st.TenantGetByName(ctx, mustOrgOf(t, e).ID, "DefaultTenant")
			if err != nil {
				t.Fatal(err)
			}
			q, err := e.st.QueueDefinitionGet(ctx, tn.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			checkDrained(t, e.st, tn.ID, q, d, items)
			r := qget(t, e, qItems+"?$filter=Status eq 'Successful' and QueueDefinitionName eq 'Race'&$count=true&$top=1", who.bob)
			wantStatus(t, r, 200, fmt.Sprintf(`"@odata.count":%d`, items))
		})
	}
}

// TestQueueClock moves time: deferred items, deadlines, and the sweeper's abandonment.
func TestQueueClock(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			qe := newQueueEnv(t, open)
			e := qe.env
			who := queueCallers(t, e)
			mkQueue(t, e, who.ann, `{"Name":"Timed","MaxNumberOfRetries":1,"RetryAbandonedItems":true}`)
			now := qe.clock.Now()
			iso := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
			wantStatus(t, addItem(t, e, who.bot, "Timed", `"Reference":"later","DeferDate":"`+iso(time.Hour)+`"`), 201)
			wantStatus(t, addItem(t, e, who.bot, "Timed", `"Reference":"plain"`), 201)
			wantStatus(t, addItem(t, e, who.bot, "Timed", `"Reference":"due","DueDate":"`+iso(48*time.Hour)+`","Priority":"Low"`), 201)
			// A deadline goes first, whatever the priority.
			r := startTx(t, e, who.bot, "Timed")
			wantStatus(t, r, 200, `"Reference":"due"`)
			abandoned := idOf(r)
			wantStatus(t, startTx(t, e, who.bot, "Timed"), 200, `"Reference":"plain"`)
			wantStatus(t, startTx(t, e, who.bot, "Timed"), 204) // "later" is deferred
			qe.clock.Add(61 * time.Minute)
			wantStatus(t, startTx(t, e, who.bot, "Timed"), 200, `"Reference":"later"`)
			// The sweeper (abandon after 2 h here) leaves younger transactions alone.
			res, err := qe.sweeper.Sweep(context.Background())
			if err != nil || res.Abandoned != 0 {
				t.Fatalf("sweep at +61m: %+v, %v", res, err)
			}
			qe.clock.Add(70 * time.Minute)
			res, err = qe.sweeper.Sweep(context.Background())
			if err != nil || res.Abandoned != 2 || res.Retried != 2 {
				t.Fatalf("sweep at +2h11m: %+v, %v; want the two items started at +0 abandoned and retried", res, err)
			}
			wantStatus(t, qget(t, e, fmt.Sprintf("%s(%d)", qItems, abandoned), who.bob), 200, `"Status":"Abandoned"`)
			wantStatus(t, setResult(t, e, who.bot, abandoned, `{"IsSuccessful":true}`), 409, `"Status":"Abandoned"`)
			r = startTx(t, e, who.bot, "Timed")
			wantStatus(t, r, 200, `"Reference":"due"`, `"RetryNumber":1`, fmt.Sprintf(`"AncestorId":%d`, abandoned))
		})
	}
}

// TestQueueGoldenShapes pins the JSON of QueueItemDto (QueueDefinitionDto is in
// TestGoldenShapes), as TestGoldenShapes does.
func TestQueueGoldenShapes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(tb testing.TB) store.Store { return storetest.NewSQLite(tb) })
	who := queueCallers(t, e)
	r := qget(t, e, qItems+"?$filter=Reference eq '"+seededItem+"'", who.ann)
	wantStatus(t, r, 200)
	item := idOf(reply{body: r.body["value"].([]any)[0].(map[string]any)})
	cases := map[string]string{
		"queue_items":       qItems + "?$filter=Reference eq '" + seededItem + "'",
		"queue_item":        fmt.Sprintf("%s(%d)?$expand=QueueDefinition", qItems, item),
		"queue_item_events": base + "/odata/QueueItemEvents",
	}
	for name, path := range cases {
		r := qget(t, e, path, who.ann)
		wantStatus(t, r, 200)
		checkGolden(t, name, r.raw)
	}
}

// qget is env.get with the spaces of an OData query sent as %20, as clients send them.
func qget(t *testing.T, e *env, path string, h map[string]string) reply {
	t.Helper()
	return e.get(t, strings.ReplaceAll(path, " ", "%20"), h)
}
