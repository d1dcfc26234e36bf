package api_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/api"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/store/storetest"
)

// The CSDL document, read with its namespaces as a client would.
type (
	edmxDoc struct {
		XMLName      xml.Name `xml:"http://docs.oasis-open.org/odata/ns/edmx Edmx"`
		Version      string   `xml:"Version,attr"`
		DataServices struct {
			XMLName xml.Name    `xml:"http://docs.oasis-open.org/odata/ns/edmx DataServices"`
			Schemas []edmSchema `xml:"http://docs.oasis-open.org/odata/ns/edm Schema"`
		}
	}
	edmSchema struct {
		XMLName      xml.Name        `xml:"http://docs.oasis-open.org/odata/ns/edm Schema"`
		Namespace    string          `xml:"Namespace,attr"`
		Alias        string          `xml:"Alias,attr"`
		EntityTypes  []edmStructured `xml:"EntityType"`
		ComplexTypes []edmStructured `xml:"ComplexType"`
		Container    struct {
			Sets []edmSet `xml:"EntitySet"`
		} `xml:"EntityContainer"`
	}
	edmSet struct {
		Name                     string `xml:"Name,attr"`
		EntityType               string `xml:"EntityType,attr"`
		IncludeInServiceDocument string `xml:"IncludeInServiceDocument,attr"`
	}
	edmStructured struct {
		Name     string `xml:"Name,attr"`
		OpenType string `xml:"OpenType,attr"`
		Key      []struct {
			Name string `xml:"Name,attr"`
		} `xml:"Key>PropertyRef"`
		Properties []edmProp `xml:"Property"`
		Navigation []edmProp `xml:"NavigationProperty"`
	}
	edmProp struct {
		Name     string `xml:"Name,attr"`
		Type     string `xml:"Type,attr"`
		Nullable string `xml:"Nullable,attr"`
	}
)

func fetchMetadata(t *testing.T, e *env, path string) edmSchema {
	t.Helper()
	resp, err := http.Get(e.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/xml") {
		t.Fatalf("GET %s: %d %s %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	var doc edmxDoc
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("$metadata is not CSDL XML: %v\n%s", err, b)
	}
	schemas := doc.DataServices.Schemas
	if doc.Version != "4.0" || len(schemas) != 1 || schemas[0].Namespace != "UiPath.Server.Configuration.OData" {
		t.Fatalf("$metadata: version %q, schemas %d: %s", doc.Version, len(schemas), b)
	}
	return schemas[0]
}

// TestMetadataDescribesTheAnswers lists every entity set of the document as an
// administrator and checks each property of each answer against the entity type the
// document declares for the set, types included: the document cannot drift from what the
// API answers. It also checks the container against the route table both ways.
func TestMetadataDescribesTheAnswers(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			for _, seed := range metadataSeeds {
				seed(t, e)
			}
			ctx := context.Background()
			acme, _ := e.st.OrganizationGetByName(ctx, "acme")
			tn, _ := e.st.TenantGetByName(ctx, acme.ID, "DefaultTenant")
			shared, _ := e.st.FolderGetByPath(ctx, tn.ID, "Shared")
			ann := bearer(e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess"))
			// Every set needs a row to look at: a machine, and through it an audit entry.
			wantStatus(t, e.send(t, "POST", base+"/odata/Machines", `{"Name":"metadata-worker"}`, ann), 201)

			s := fetchMetadata(t, e, base+"/odata/$metadata")
			types := map[string]edmStructured{}
			for _, x := range append(slices.Clone(s.EntityTypes), s.ComplexTypes...) {
				types[s.Namespace+"."+x.Name] = x
			}
			routes := api.New(api.Options{}).Routes()
			// Functions that answer with a set of their own get their arguments here.
			args := map[string]string{"UserRoles": "(key=" + itoa(shared.ID) + ",includeInherited=true)"}

			sets := api.New(api.Options{}).EntitySets()
			if len(sets) != len(s.Container.Sets) {
				t.Errorf("the registry has %d entity sets, the document %d", len(sets), len(s.Container.Sets))
			}
			for _, set := range sets {
				i := slices.IndexFunc(s.Container.Sets, func(x edmSet) bool { return x.Name == set.Name })
				if i < 0 || s.Container.Sets[i].EntityType != set.Type {
					t.Errorf("entity set %s of type %s is not in the document's container", set.Name, set.Type)
					continue
				}
				// The set's list route exists: GET /odata/{Set}, or the function that
				// answers with it (then the set stays out of the service document).
				rt := slices.IndexFunc(routes, func(r api.RouteInfo) bool { return r.Method == "GET" && r.Path == set.ListedBy })
				if rt < 0 {
					t.Errorf("entity set %s has no list route GET %s", set.Name, set.ListedBy)
					continue
				}
				if inDoc := s.Container.Sets[i].IncludeInServiceDocument != "false"; inDoc != (set.ListedBy == "/odata/"+set.Name) {
					t.Errorf("entity set %s: IncludeInServiceDocument=%q but it is listed by %s", set.Name, s.Container.Sets[i].IncludeInServiceDocument, set.ListedBy)
				}
				path := base + set.ListedBy
				if set.ListedBy != "/odata/"+set.Name {
					a, ok := args[set.Name]
					if !ok {
						t.Errorf("entity set %s is listed by %s: add its arguments to this test", set.Name, set.ListedBy)
						continue
					}
					path += a
				}
				headers := ann
				if routes[rt].Folder == "required" {
					headers = with(ann, "X-UIPATH-FolderPath", "Shared")
				}
				r := e.get(t, path, headers)
				wantStatus(t, r, 200)
				if ctx, _ := r.body["@odata.context"].(string); ctx != e.url+base+"/odata/$metadata#"+set.Name {
					t.Errorf("%s: @odata.context %q does not name the set", set.Name, ctx)
				}
				var page struct {
					Value []map[string]json.RawMessage `json:"value"`
				}
				if err := json.Unmarshal([]byte(r.raw), &page); err != nil || len(page.Value) == 0 {
					t.Errorf("%s: no entity to check (%v): %s", set.Name, err, r.raw)
					continue
				}
				for _, v := range page.Value {
					checkAgainst(t, types, set.Type, set.Name, v)
				}
			}
			// Every list route of the table has its entity set in the document.
			for _, rt := range routes {
				setName, isList := strings.CutPrefix(rt.Path, "/odata/")
				if rt.Method != "GET" || !isList || strings.ContainsAny(setName, "(/") {
					continue
				}
				if !slices.ContainsFunc(sets, func(x api.EntitySetInfo) bool { return x.Name == setName }) {
					t.Errorf("GET %s lists entity set %s, which the entity model (model.go) does not declare", rt.Path, setName)
				}
			}
		})
	}
}

// checkAgainst checks an entity's JSON properties against a structured type of the
// document: each must be declared, as a property or a navigation, with a value of its
// type; complex values and expanded navigations are checked in turn.
func checkAgainst(t *testing.T, types map[string]edmStructured, typeName, where string, v map[string]json.RawMessage) {
	t.Helper()
	st, ok := types[typeName]
	if !ok {
		t.Errorf("%s: type %s is not in the document", where, typeName)
		return
	}
	for name, raw := range v {
		i := slices.IndexFunc(st.Properties, func(p edmProp) bool { return p.Name == name })
		var p edmProp
		if i >= 0 {
			p = st.Properties[i]
		} else if j := slices.IndexFunc(st.Navigation, func(p edmProp) bool { return p.Name == name }); j >= 0 {
			p = st.Navigation[j]
		} else if st.OpenType == "true" {
			continue // an open type's own properties (any JSON value) are not declared
		} else {
			t.Errorf("%s: the answer has %s, which %s does not declare", where, name, typeName)
			continue
		}
		checkValue(t, types, p, where+"."+name, raw)
	}
}

func checkValue(t *testing.T, types map[string]edmStructured, p edmProp, where string, raw json.RawMessage) {
	t.Helper()
	if string(raw) == "null" {
		if p.Nullable == "false" || strings.HasPrefix(p.Type, "Collection(") {
			t.Errorf("%s is null, but %s is declared Nullable=%q", where, p.Type, p.Nullable)
		}
		return
	}
	if elem, ok := strings.CutPrefix(p.Type, "Collection("); ok {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			t.Errorf("%s is declared %s but is %s", where, p.Type, raw)
			return
		}
		for _, it := range items {
			checkValue(t, types, edmProp{Type: strings.TrimSuffix(elem, ")"), Nullable: "false"}, where+"[]", it)
		}
		return
	}
	var x any
	json.Unmarshal(raw, &x)
	switch p.Type {
	case "Edm.String":
		if _, ok := x.(string); !ok {
			t.Errorf("%s is declared Edm.String but is %s", where, raw)
		}
	case "Edm.Boolean":
		if _, ok := x.(bool); !ok {
			t.Errorf("%s is declared Edm.Boolean but is %s", where, raw)
		}
	case "Edm.Int64", "Edm.Int32", "Edm.Int16":
		if f, ok := x.(float64); !ok || f != float64(int64(f)) {
			t.Errorf("%s is declared %s but is %s", where, p.Type, raw)
		}
	case "Edm.Double":
		if _, ok := x.(float64); !ok {
			t.Errorf("%s is declared Edm.Double but is %s", where, raw)
		}
	case "Edm.DateTimeOffset":
		s, _ := x.(string)
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			t.Errorf("%s is declared Edm.DateTimeOffset but is %s", where, raw)
		}
	default:
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			t.Errorf("%s is declared %s but is %s", where, p.Type, raw)
			return
		}
		checkAgainst(t, types, p.Type, where, obj)
	}
}

func TestMetadataDocument(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(tb testing.TB) store.Store { return storetest.NewSQLite(tb) })
	// No token is needed; both layouts, and $ sent as %24, give the same document.
	current := fetchMetadata(t, e, base+"/odata/$metadata")
	for _, path := range []string{base + "/odata/%24metadata", "/acme/defaulttenant/odata/$metadata", "/acme/DefaultTenant/odata/%24metadata"} {
		if got := fetchMetadata(t, e, path); !slices.EqualFunc(got.EntityTypes, current.EntityTypes, func(a, b edmStructured) bool { return a.Name == b.Name }) {
			t.Errorf("%s differs from %s/odata/$metadata", path, base)
		}
	}
	if current.Alias != "UiPathODataSvc" {
		t.Errorf("the schema's alias is %q, want UiPathODataSvc (the actions' other namespace)", current.Alias)
	}
	types := map[string]edmStructured{}
	for _, x := range current.EntityTypes {
		types[x.Name] = x
	}
	for _, name := range []string{"FolderDto", "UserDto", "RoleDto", "MachineDto", "AuditLogDto", "QueueDefinitionDto", "UserRolesDto"} {
		x, ok := types[name]
		if !ok {
			t.Errorf("no entity type %s", name)
			continue
		}
		if len(x.Key) != 1 || !slices.ContainsFunc(x.Properties, func(p edmProp) bool { return p.Name == x.Key[0].Name && p.Nullable == "false" }) {
			t.Errorf("%s: key %v is not a non-nullable property", name, x.Key)
		}
	}
	wantNav := func(typ, nav, navType string) {
		t.Helper()
		if !slices.ContainsFunc(types[typ].Navigation, func(p edmProp) bool { return p.Name == nav && p.Type == navType }) {
			t.Errorf("%s lacks navigation %s of type %s: %v", typ, nav, navType, types[typ].Navigation)
		}
	}
	wantNav("RoleDto", "Permissions", "Collection(UiPath.Server.Configuration.OData.PermissionDto)")
	wantNav("UserRolesDto", "UserEntity", "UiPath.Server.Configuration.OData.FolderUserDto")
	wantNav("UserRolesDto", "Roles", "Collection(UiPath.Server.Configuration.OData.FolderRoleDto)")

	// The organization and tenant must exist: 404 in the layout's error format.
	r := e.get(t, "/acme/Nope/orchestrator_/odata/$metadata", nil)
	wantStatus(t, r, 404, `"errorCode":1002`, "tenant", "DefaultTenant, Other")
	r = e.get(t, "/nope/DefaultTenant/orchestrator_/odata/%24metadata", nil)
	wantStatus(t, r, 404, `organization \"nope\" does not exist`)
	r = e.get(t, "/acme/Nope/odata/$metadata", nil)
	wantStatus(t, r, 404, `"__abp":true`, "DefaultTenant, Other")
	r = e.send(t, "POST", base+"/odata/$metadata", "{}", nil)
	wantStatus(t, r, 405, "$metadata is read with GET")
}

func TestServiceDocument(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(tb testing.TB) store.Store { return storetest.NewSQLite(tb) })
	ann := bearer(e.userToken(t, "acme", "ann@acme.test", "OrchestratorApiUserAccess"))
	var listed []string
	for _, s := range api.New(api.Options{}).EntitySets() {
		if s.ListedBy == "/odata/"+s.Name {
			listed = append(listed, s.Name)
		}
	}
	for _, path := range []string{base + "/odata/", base + "/odata", "/acme/DefaultTenant/odata/"} {
		r := e.get(t, path, nil)
		wantStatus(t, r, 200, `"@odata.context":"`+e.url+base+`/odata/$metadata"`)
		var doc struct {
			Value []struct{ Name, Kind, URL string }
		}
		json.Unmarshal([]byte(r.raw), &doc)
		var names []string
		for _, v := range doc.Value {
			names = append(names, v.Name)
			if v.Kind != "EntitySet" || v.URL != v.Name {
				t.Errorf("%s: entry %+v", path, v)
			}
		}
		if !slices.Equal(names, listed) {
			t.Errorf("%s lists %v, want the entity sets with a list route %v", path, names, listed)
		}
	}
	// Each URL of the document answers.
	for _, name := range listed {
		h := with(ann, "X-UIPATH-FolderPath", "Shared")
		if r := e.get(t, base+"/odata/"+name, h); r.status != 200 {
			t.Errorf("the service document lists %s, which answers %d: %s", name, r.status, r.raw)
		}
	}
	wantStatus(t, e.get(t, "/acme/Nope/orchestrator_/odata/", nil), 404, "DefaultTenant, Other")
}

// metadataSeeds add rows of entity sets this test needs but that other tests must not see
// (a robot's machine would show in every Machines list and license).
var metadataSeeds []func(t testing.TB, e *env)
