package api

import (
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/openorch/openorch/internal/odata"
)

// Test-only entity types: jobs run on robots, robots belong to machines and keep logs.
// They stand for the navigations later entity sets bring (Jobs → Robot → Machine).
type (
	tJob struct {
		ID      int64  `json:"Id"`
		Name    string `json:"Name"`
		RobotID *int64 `json:"RobotId"`
	}
	tRobot struct {
		ID        int64  `json:"Id"`
		Name      string `json:"Name"`
		MachineID int64  `json:"MachineId"`
	}
	tMachine struct {
		ID    int64  `json:"Id"`
		Name  string `json:"Name"`
		Slots int    `json:"Slots"`
	}
	tLog struct {
		ID      int64  `json:"Id"`
		RobotID int64  `json:"RobotId"`
		Text    string `json:"Text"`
	}
)

// testStore is what the test loaders read, with a count of their calls.
type testStore struct {
	robots   map[int64]tRobot
	machines map[int64]tMachine
	logs     []tLog
	calls    map[string]int
	asked    map[string][]int64 // the ids each loader was asked for, in its one call
}

// testModel declares the test types; each loader reads the whole page's values at once,
// as a store query by ids would.
func testModel(t *testing.T, st *testStore) *entityModel {
	t.Helper()
	m, err := newModel([]entityType{
		{Set: "Jobs", Name: "JobDto", DTO: reflect.TypeFor[tJob](), Nav: []navigation{{
			Name: "Robot", Target: "RobotDto",
			Load: func(_ *API, _ *call, page []any) ([]any, *apiError) {
				st.calls["Robot"]++
				out := make([]any, len(page))
				for i, p := range page {
					if id := p.(tJob).RobotID; id != nil {
						st.asked["Robot"] = append(st.asked["Robot"], *id)
						r := st.robots[*id]
						out[i] = &r
					}
				}
				return out, nil
			}}}},
		{Set: "Robots", Name: "RobotDto", DTO: reflect.TypeFor[tRobot](), Nav: []navigation{
			{Name: "Machine", Target: "MachineDto", Load: func(_ *API, _ *call, page []any) ([]any, *apiError) {
				st.calls["Machine"]++
				out := make([]any, len(page))
				for i, p := range page {
					id := p.(tRobot).MachineID
					st.asked["Machine"] = append(st.asked["Machine"], id)
					out[i] = st.machines[id]
				}
				return out, nil
			}},
			{Name: "Logs", Target: "LogDto", Many: true, Load: func(_ *API, _ *call, page []any) ([]any, *apiError) {
				st.calls["Logs"]++
				out := make([]any, len(page))
				for i, p := range page {
					var logs []tLog
					for _, l := range st.logs {
						if l.RobotID == p.(tRobot).ID {
							logs = append(logs, l)
						}
					}
					out[i] = logs
				}
				return out, nil
			}},
		}},
		{Set: "Machines", Name: "MachineDto", DTO: reflect.TypeFor[tMachine]()},
		{Name: "LogDto", DTO: reflect.TypeFor[tLog]()},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newTestStore() *testStore {
	return &testStore{
		robots:   map[int64]tRobot{7: {ID: 7, Name: "r7", MachineID: 70}, 8: {ID: 8, Name: "r8", MachineID: 80}},
		machines: map[int64]tMachine{70: {ID: 70, Name: "m70", Slots: 2}, 80: {ID: 80, Name: "m80", Slots: 1}},
		logs:     []tLog{{ID: 1, RobotID: 7, Text: "started"}, {ID: 2, RobotID: 7, Text: "done"}},
		calls:    map[string]int{},
		asked:    map[string][]int64{},
	}
}

func ptr[T any](v T) *T { return &v }

var testJobs = []any{
	tJob{ID: 1, Name: "a", RobotID: ptr(int64(7))},
	tJob{ID: 2, Name: "b", RobotID: ptr(int64(8))},
	tJob{ID: 3, Name: "c"}, // no robot: Robot is null
	tJob{ID: 4, Name: "d", RobotID: ptr(int64(7))},
}

// shapeQuery shapes testJobs as the query string asks, through the parser as requests are.
func shapeQuery(t *testing.T, m *entityModel, query string) (string, *apiError) {
	t.Helper()
	v, err := odata.ParseQueryString(query)
	if err != nil {
		t.Fatal(err)
	}
	q, err := odata.Parse(v, odata.Limits{})
	if err != nil {
		return "", invalid("%s", err)
	}
	c := &call{r: httptest.NewRequest("GET", "/", nil)}
	objs, e := m.shape(nil, c, m.byName["JobDto"], "Jobs", slices.Clone(testJobs), q.Select, q.Expand)
	if e != nil {
		return "", e
	}
	b, err := json.Marshal(objs)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), nil
}

func TestExpandTwoLevelsWithNestedSelect(t *testing.T) {
	t.Parallel()
	st := newTestStore()
	m := testModel(t, st)
	got, e := shapeQuery(t, m, "$select=Name&$expand=Robot($select=Name;$expand=Machine($select=Name,Slots))")
	if e != nil {
		t.Fatal(e)
	}
	want := `[{"Name":"a","Robot":{"Name":"r7","Machine":{"Name":"m70","Slots":2}}},` +
		`{"Name":"b","Robot":{"Name":"r8","Machine":{"Name":"m80","Slots":1}}},` +
		`{"Name":"c","Robot":null},` +
		`{"Name":"d","Robot":{"Name":"r7","Machine":{"Name":"m70","Slots":2}}}]`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// One load per navigation for the whole page, however many entities: no N+1. The
	// second level is asked for the robots of every job at once.
	if st.calls["Robot"] != 1 || st.calls["Machine"] != 1 {
		t.Errorf("loader calls %v, want one each", st.calls)
	}
	if a := st.asked["Machine"]; !slices.Equal(a, []int64{70, 80, 70}) {
		t.Errorf("Machine was asked for %v, want the three robots' machines in one call", a)
	}
}

func TestExpandForms(t *testing.T) {
	t.Parallel()
	m := testModel(t, newTestStore())
	for _, c := range []struct{ name, a, b string }{
		{"a path is nested items", "$expand=Robot/Machine", "$expand=Robot($expand=Machine)"},
		{"a nested select on a path", "$expand=Robot/Machine($select=Slots)", "$expand=Robot($expand=Machine($select=Slots))"},
		{"items of one navigation merge", "$expand=Robot($select=Name),Robot/Machine($select=Name)",
			"$expand=Robot($select=Name;$expand=Machine($select=Name))"},
		{"names in any case", "$select=name&$expand=robot($select=NAME)", "$select=Name&$expand=Robot($select=Name)"},
		{"select star is everything", "$select=*&$expand=Robot", "$expand=Robot"},
	} {
		a, e := shapeQuery(t, m, c.a)
		if e != nil {
			t.Fatalf("%s: %s", c.name, e.Message)
		}
		b, e := shapeQuery(t, m, c.b)
		if e != nil {
			t.Fatalf("%s: %s", c.name, e.Message)
		}
		if a != b {
			t.Errorf("%s: %s gives\n%s\nbut %s gives\n%s", c.name, c.a, a, c.b, b)
		}
	}
	// The expanded navigation appears although $select does not name it; its other
	// properties keep their place and the DTO's order.
	got, _ := shapeQuery(t, m, "$select=RobotId,Id&$expand=Robot($select=MachineId)")
	if want := `{"Id":1,"RobotId":7,"Robot":{"MachineId":70}}`; !strings.HasPrefix(got, "["+want) {
		t.Errorf("got %s, want it to start with %s", got, want)
	}
}

func TestExpandCollection(t *testing.T) {
	t.Parallel()
	st := newTestStore()
	m := testModel(t, st)
	got, e := shapeQuery(t, m, "$select=Id&$expand=Robot($select=Id;$expand=Logs($select=Text))")
	if e != nil {
		t.Fatal(e)
	}
	// Robot 8 has no logs: an empty collection, never null.
	want := `[{"Id":1,"Robot":{"Id":7,"Logs":[{"Text":"started"},{"Text":"done"}]}},` +
		`{"Id":2,"Robot":{"Id":8,"Logs":[]}},{"Id":3,"Robot":null},` +
		`{"Id":4,"Robot":{"Id":7,"Logs":[{"Text":"started"},{"Text":"done"}]}}]`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if st.calls["Logs"] != 1 {
		t.Errorf("Logs loaded %d times, want once", st.calls["Logs"])
	}
}

func TestExpandRefusals(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ query, want string }{
		{"$expand=Nope", "$expand: Nope is not a navigation property of Jobs; its navigation properties are Robot"},
		{"$expand=Robot($expand=Nope)", "$expand: Nope is not a navigation property of Jobs/Robot; its navigation properties are Machine, Logs"},
		{"$expand=Robot/Machine/Nope", "$expand goes at most 2 levels deep"},
		{"$expand=Robot($expand=Machine($expand=Nope))", "$expand goes at most 2 levels deep"},
		{"$expand=Robot($expand=Logs($select=Nope))", "$select: Nope is not a property of Jobs/Robot/Logs; its properties are Id, RobotId, Text"},
		{"$expand=Robot($select=Nope)", "$select: Nope is not a property of Jobs/Robot; its properties are Id, Logs, Machine, MachineId, Name"},
		{"$select=Nope", "$select: Nope is not a property of Jobs"},
	} {
		st := newTestStore()
		_, e := shapeQuery(t, testModel(t, st), c.query)
		if e == nil || e.Status != 400 || !strings.Contains(e.Message, c.want) {
			t.Errorf("%s: got %v, want a 400 saying %q", c.query, e, c.want)
			continue
		}
		// Names are checked at every level before anything is read.
		if len(st.calls) != 0 {
			t.Errorf("%s: loaders ran before the refusal: %v", c.query, st.calls)
		}
	}
}

func TestExpandWithoutNavigations(t *testing.T) {
	t.Parallel()
	m := testModel(t, newTestStore())
	e := m.check(m.byName["MachineDto"], "Machines", nil, []odata.Expand{{Path: "Robot"}})
	if want := "$expand: Machines has no navigation properties, so Robot cannot be expanded"; e == nil || !strings.Contains(e.Message, want) {
		t.Errorf("got %v, want %q", e, want)
	}
}

func TestExpandEmptyPageLoadsNothing(t *testing.T) {
	t.Parallel()
	st := newTestStore()
	m := testModel(t, st)
	c := &call{r: httptest.NewRequest("GET", "/", nil)}
	objs, e := m.shape(nil, c, m.byName["JobDto"], "Jobs", nil, nil, []odata.Expand{{Path: "Robot"}})
	if e != nil || len(objs) != 0 || len(st.calls) != 0 {
		t.Errorf("empty page: %v %v, loader calls %v", objs, e, st.calls)
	}
	_, e = m.shape(nil, c, m.byName["JobDto"], "Jobs", nil, nil, []odata.Expand{{Path: "Robot", Select: []string{"Nope"}}})
	if e == nil || !strings.Contains(e.Message, "Nope is not a property") {
		t.Errorf("an empty page still checks nested names: %v", e)
	}
}

// A loader giving the wrong type or count is a server bug: a 500 without details.
func TestExpandLoaderMistakes(t *testing.T) {
	t.Parallel()
	for name, load := range map[string]func(*API, *call, []any) ([]any, *apiError){
		"wrong type": func(_ *API, _ *call, page []any) ([]any, *apiError) {
			out := make([]any, len(page))
			for i := range out {
				out[i] = tMachine{}
			}
			return out, nil
		},
		"wrong count": func(*API, *call, []any) ([]any, *apiError) { return nil, nil },
	} {
		m, err := newModel([]entityType{
			{Set: "Jobs", Name: "JobDto", DTO: reflect.TypeFor[tJob](), Nav: []navigation{{Name: "Robot", Target: "RobotDto", Load: load}}},
			{Name: "RobotDto", DTO: reflect.TypeFor[tRobot]()},
			{Name: "MachineDto", DTO: reflect.TypeFor[tMachine]()},
		})
		if err != nil {
			t.Fatal(err)
		}
		c := &call{r: httptest.NewRequest("GET", "/", nil)}
		_, e := m.shape(nil, c, m.byName["JobDto"], "Jobs", slices.Clone(testJobs), nil, []odata.Expand{{Path: "Robot"}})
		if e == nil || e.Status != 500 || strings.Contains(e.Message, "Robot") {
			t.Errorf("%s: got %v, want a 500 that does not show the internal text", name, e)
		}
	}
}

func TestModelRefusesMistakes(t *testing.T) {
	t.Parallel()
	noop := func(*API, *call, []any) ([]any, *apiError) { return nil, nil }
	type noKey struct {
		Name string `json:"Name"`
	}
	type withRobot struct {
		ID    int64    `json:"Id"`
		Robot tMachine `json:"Robot"` // the navigation says RobotDto
	}
	type holdsEntity struct {
		ID      int64    `json:"Id"`
		Machine tMachine `json:"Machine"` // an entity inside, not declared as a navigation
	}
	type mapField struct {
		ID   int64          `json:"Id"`
		Data map[string]int `json:"Data"`
	}
	robot := entityType{Name: "RobotDto", DTO: reflect.TypeFor[tRobot]()}
	machine := entityType{Name: "MachineDto", DTO: reflect.TypeFor[tMachine]()}
	for _, c := range []struct {
		name  string
		types []entityType
		want  string
	}{
		{"no key", []entityType{{Set: "X", Name: "XDto", DTO: reflect.TypeFor[noKey]()}}, "its key Id must be a property"},
		{"unknown target", []entityType{{Set: "Jobs", Name: "JobDto", DTO: reflect.TypeFor[tJob](),
			Nav: []navigation{{Name: "Robot", Target: "RobotDto", Load: noop}}}}, "leads to RobotDto, which is not an entity type"},
		{"field of another type", []entityType{robot, machine, {Set: "W", Name: "WDto", DTO: reflect.TypeFor[withRobot](),
			Nav: []navigation{{Name: "Robot", Target: "RobotDto", Load: noop}}}}, "field Robot is a api.tMachine, but navigation Robot leads to RobotDto"},
		{"entity as a property", []entityType{machine, {Set: "H", Name: "HDto", DTO: reflect.TypeFor[holdsEntity]()}},
			"it holds entity type MachineDto: declare it as a navigation property"},
		{"a map", []entityType{{Set: "M", Name: "MDto", DTO: reflect.TypeFor[mapField]()}}, "field Data: map[string]int has no EDM type"},
		{"one DTO twice", []entityType{robot, {Name: "OtherDto", DTO: reflect.TypeFor[tRobot]()}}, "share the DTO"},
	} {
		_, err := newModel(c.types)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error saying %q", c.name, err, c.want)
		}
	}
}

// The API's own model builds, and its EDM types follow the Go types.
func TestAPIModel(t *testing.T) {
	t.Parallel()
	m, err := apiModel()
	if err != nil {
		t.Fatal(err)
	}
	prop := func(typ, name string) edmProperty {
		for _, p := range m.byName[typ].props {
			if p.Name == name {
				return p
			}
		}
		t.Fatalf("%s has no property %s", typ, name)
		return edmProperty{}
	}
	for _, c := range []struct {
		typ, name, edm string
		nullable       bool
	}{
		{"FolderDto", "Id", "Edm.Int64", false},
		{"FolderDto", "ParentId", "Edm.Int64", true},
		{"FolderDto", "IsPersonal", "Edm.Boolean", false},
		{"QueueDefinitionDto", "CreationTime", "Edm.DateTimeOffset", false},
		{"QueueDefinitionDto", "MaxNumberOfRetries", "Edm.Int32", false},
		{"UserDto", "RolesList", "Collection(Edm.String)", false},
		{"FolderUserDto", "IsInherited", "Edm.Boolean", false},
		{"FolderUserDto", "EmailAddress", "Edm.String", false}, // from the embedded UserDto fields
	} {
		if p := prop(c.typ, c.name); p.Type != c.edm || p.Nullable != c.nullable {
			t.Errorf("%s.%s: %s nullable=%v, want %s nullable=%v", c.typ, c.name, p.Type, p.Nullable, c.edm, c.nullable)
		}
	}
	// Permissions is a navigation, not also a property.
	if slices.ContainsFunc(m.byName["RoleDto"].props, func(p edmProperty) bool { return p.Name == "Permissions" }) {
		t.Error("RoleDto declares Permissions as a property and a navigation")
	}
}
