package api_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/store/storetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// volatile matches what differs between runs: GUIDs, timestamps, trace ids, the test
// server's address.
var volatile = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`), "<guid>"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`), "<time>"},
	{regexp.MustCompile(`00-[0-9a-f]{32}-[0-9a-f]{16}-0\d`), "<traceparent>"},
	{regexp.MustCompile(`http://127\.0\.0\.1:\d+`), "<server>"},
	{regexp.MustCompile(`"CreationTime": \d+`), `"CreationTime": <epoch>`},
}

// TestGoldenShapes pins the JSON shapes (field names, casing, enum strings, envelopes) of
// the API's answers. Run with -update after an intended change and review the diff.
func TestGoldenShapes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(tb testing.TB) store.Store { return storetest.NewSQLite(tb) })
	ann := bearer(e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess"))
	shared := with(ann, "X-UIPATH-FolderPath", "Shared")
	cases := map[string]struct {
		path    string
		headers map[string]string
	}{
		"folders":             {base + "/odata/Folders?$orderby=Id&$count=true", ann},
		"queue_definitions":   {base + "/odata/QueueDefinitions", shared},
		"users":               {base + "/odata/Users?$orderby=UserName", ann},
		"roles":               {base + "/odata/Roles?$filter=IsStatic+eq+true&$orderby=Id", ann},
		"current_user":        {base + "/odata/Users/UiPath.Server.Configuration.OData.GetCurrentUser", ann},
		"license":             {base + "/odata/Settings/UiPath.Server.Configuration.OData.GetLicense", ann},
		"error_no_token":      {base + "/odata/Folders", nil},
		"error_folder_needed": {base + "/odata/QueueDefinitions", ann},
		"error_abp_envelope":  {"/acme/DefaultTenant/odata/Folders", nil},
	}
	for name, c := range cases {
		r := e.get(t, c.path, c.headers)
		checkGolden(t, name, r.raw)
	}
}

// checkGolden compares a JSON answer, indented and with its volatile parts (and what
// normalize replaces) masked, with testdata/golden/name.json; with -update it rewrites
// the file instead.
func checkGolden(t *testing.T, name, raw string, normalize ...func(string) string) {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatalf("%s: not JSON: %s", name, raw)
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	got := string(b) + "\n"
	for _, x := range volatile {
		got = x.re.ReplaceAllString(got, x.with)
	}
	for _, f := range normalize {
		got = f(got)
	}
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v (run go test -run %s -update ./internal/api)", name, err, strings.SplitN(t.Name(), "/", 2)[0])
	}
	if got != string(want) {
		t.Errorf("%s: the answer's shape changed (run with -update if intended):\n--- got\n%s--- want\n%s", name, got, strings.TrimSpace(string(want)))
	}
}
