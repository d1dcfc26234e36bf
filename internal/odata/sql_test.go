package odata

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func micro(s string) any {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMicro()
}

var microTime = SQLOptions{Time: func(t time.Time) any { return t.UnixMicro() }}

func TestWhere(t *testing.T) {
	t.Parallel()
	const like = ` ESCAPE '\'`
	tests := []struct {
		filter string
		opts   SQLOptions
		sql    string
		args   []any
	}{
		{`State eq 'Running'`, microTime, `(j.state = $1)`, []any{"Running"}},
		{`state EQ 'running'`, microTime, `(j.state = $1)`, []any{"Running"}},
		{`Status eq '0'`, microTime, `(j.status = $1)`, []any{"New"}},
		{`Status eq 2`, microTime, `(j.status = $1)`, []any{"Failed"}},
		{`Status ne 'abandoned'`, microTime, `(j.status <> $1 OR j.status IS NULL)`, []any{"Abandoned"}},
		{`Robot/Id eq 123L`, microTime, `(r.id = $1)`, []any{int64(123)}},
		{`robot/name eq 'R7'`, microTime, `(LOWER(r.name) = LOWER($1))`, []any{"R7"}},
		{`CreationTime ge 2024-04-04T12:00:47.264Z`, microTime, `(j.created_at >= $1)`, []any{micro("2024-04-04T12:00:47.264Z")}},
		{`CreationTime lt datetime'2024-04-04T14:00:00+02:00'`, microTime, `(j.created_at < $1)`, []any{micro("2024-04-04T12:00:00Z")}},
		{`CreationTime lt '2024-04-04'`, SQLOptions{}, `(j.created_at < $1)`, []any{time.Date(2024, 4, 4, 0, 0, 0, 0, time.UTC)}},
		{`contains(Name,'inv')`, microTime, `(LOWER(j.name) LIKE LOWER($1)` + like + `)`, []any{"%inv%"}},
		{`contains(Name,'50%_a\b')`, microTime, `(LOWER(j.name) LIKE LOWER($1)` + like + `)`, []any{`%50\%\_a\\b%`}},
		{`startswith(Reference,'AB')`, microTime, `(j.reference_folded LIKE $1` + like + `)`, []any{"ab%"}},
		{`endswith(tolower(Name),toupper('x'))`, microTime, `(LOWER(j.name) LIKE LOWER($1)` + like + `)`, []any{"%x"}},
		{`Name in ('a','B')`, microTime, `(LOWER(j.name) IN (LOWER($1), LOWER($2)))`, []any{"a", "B"}},
		{`Id in (1,2,3)`, microTime, `(j.id IN ($1, $2, $3))`, []any{int64(1), int64(2), int64(3)}},
		{`Id in (1, null)`, microTime, `(j.id IN ($1) OR j.id IS NULL)`, []any{int64(1)}},
		{`Id in (null)`, microTime, `(j.id IS NULL)`, nil},
		{`State in ('Running', 0)`, microTime, `(j.state IN ($1, $2))`, []any{"Running", "Pending"}},
		{`not (Id gt 5) and IsActive eq true`, microTime, `((NOT (j.id > $1 AND j.id IS NOT NULL)) AND (j.is_active = $2))`, []any{int64(5), true}},
		{`not (Id in (1,2))`, microTime, `(NOT (j.id IN ($1, $2) AND j.id IS NOT NULL))`, []any{int64(1), int64(2)}},
		{`not (Name eq 'a' or contains(Name,'b'))`, microTime,
			`(NOT ((LOWER(j.name) = LOWER($1) AND j.name IS NOT NULL) OR (LOWER(j.name) LIKE LOWER($2)` + like + ` AND j.name IS NOT NULL)))`, []any{"a", "%b%"}},
		{`not not IsActive`, microTime, `(NOT (NOT (j.is_active = $1 AND j.is_active IS NOT NULL)))`, []any{true}},
		{`tolower(Name) eq 'abc'`, microTime, `(LOWER(j.name) = LOWER($1))`, []any{"abc"}},
		{`Name eq null`, microTime, `(j.name IS NULL)`, nil},
		{`null ne Name`, microTime, `(j.name IS NOT NULL)`, nil},
		{`Name ne 'x'`, microTime, `(LOWER(j.name) <> LOWER($1) OR j.name IS NULL)`, []any{"x"}},
		{`Name gt 'm'`, microTime, `(LOWER(j.name) > LOWER($1))`, []any{"m"}},
		{`Reference eq 'ABC'`, microTime, `(j.reference_folded = $1)`, []any{"abc"}},
		{`State ge 'Successful'`, microTime, `(j.state IN ($1, $2, $3, $4))`, []any{"Successful", "Stopped", "Suspended", "Resumed"}},
		{`State lt 2`, microTime, `(j.state IN ($1, $2))`, []any{"Pending", "Running"}},
		{`State gt 'Resumed'`, microTime, `(1 = 0)`, nil},
		{`not (State le '0')`, microTime, `(NOT (j.state IN ($1) AND j.state IS NOT NULL))`, []any{"Pending"}},
		{`Key eq 8C3E2C4E-1A2B-4C5D-9E8F-0A1B2C3D4E5F`, microTime, `(j.key = $1)`, []any{"8c3e2c4e-1a2b-4c5d-9e8f-0a1b2c3d4e5f"}},
		{`Key eq '{8C3E2C4E-1A2B-4C5D-9E8F-0A1B2C3D4E5F}'`, microTime, `(j.key = $1)`, []any{"8c3e2c4e-1a2b-4c5d-9e8f-0a1b2c3d4e5f"}},
		{`5 lt Id`, microTime, `(j.id > $1)`, []any{int64(5)}},
		{`'Running' eq State`, microTime, `(j.state = $1)`, []any{"Running"}},
		{`Name eq 'a/b' or Id eq 5`, microTime, `((LOWER(j.name) = LOWER($1)) OR (j.id = $2))`, []any{"a/b", int64(5)}},
		{`Id eq 1 and Name eq 'x'`, SQLOptions{FirstArg: 3}, `((j.id = $3) AND (LOWER(j.name) = LOWER($4)))`, []any{int64(1), "x"}},
		{`IsActive`, microTime, `(j.is_active = $1)`, []any{true}},
		{`IsActive ne false`, microTime, `(j.is_active <> $1 OR j.is_active IS NULL)`, []any{false}},
		{`contains(Name,'x') eq false`, microTime, `(NOT (LOWER(j.name) LIKE LOWER($1)` + like + ` AND j.name IS NOT NULL))`, []any{"%x%"}},
		{`true eq contains(Name,'x')`, microTime, `(LOWER(j.name) LIKE LOWER($1)` + like + `)`, []any{"%x%"}},
		{`Name eq 'it''s; DROP TABLE jobs; --'`, microTime, `(LOWER(j.name) = LOWER($1))`, []any{"it's; DROP TABLE jobs; --"}},
	}
	for _, tt := range tests {
		x, err := ParseFilter(tt.filter)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tt.filter, err)
			continue
		}
		sql, args, err := Query{Filter: x}.Where(testJobs, tt.opts)
		if err != nil {
			t.Errorf("Where(%q): %v", tt.filter, err)
			continue
		}
		if sql != tt.sql || !reflect.DeepEqual(args, tt.args) {
			t.Errorf("Where(%q) =\n %s %#v\nwant %s %#v", tt.filter, sql, args, tt.sql, tt.args)
		}
	}
}

func TestWhereNoFilter(t *testing.T) {
	t.Parallel()
	sql, args, err := Query{}.Where(testJobs, SQLOptions{})
	if sql != "" || args != nil || err != nil {
		t.Errorf("Where without a filter = %q, %v, %v", sql, args, err)
	}
}

func TestWhereErrors(t *testing.T) {
	t.Parallel()
	props := "Id, Name, Reference, State, Status, CreationTime, IsActive, Key, Robot/Id, Robot/Name"
	states := "Pending (0), Running (1), Stopping (2), Terminating (3), Faulted (4), Successful (5), Stopped (6), Suspended (7), Resumed (8)"
	tests := []struct{ filter, want string }{
		{`Id eq 'abc'`, `$filter: at 7: Id is an integer property and cannot be compared with 'abc', which is text`},
		{`Name eq 5`, `$filter: at 9: Name is a text property and cannot be compared with 5, which is an integer (text is written in quotes: 'text')`},
		{`IsActive eq 1`, `$filter: at 13: IsActive is a true/false property and cannot be compared with 1, which is an integer (write true or false)`},
		{`CreationTime ge 'yesterday'`, `$filter: at 17: CreationTime is a date-and-time property and cannot be compared with 'yesterday', which is text (write a date and time as 2024-04-04T12:00:47.264Z)`},
		{`Key eq 'abc'`, `$filter: at 8: Key is a GUID property and cannot be compared with 'abc', which is text (write a GUID as 8c3e2c4e-1a2b-4c5d-9e8f-0a1b2c3d4e5f)`},
		{`Id eq 1.5`, `$filter: at 7: Id is an integer property and cannot be compared with 1.5, which is a decimal number`},
		{`Foo eq 1`, `$filter: at 1: unknown property Foo of Jobs; the properties it can filter on are ` + props},
		{`Robot/Foo eq 1`, `$filter: at 1: unknown property Robot/Foo of Jobs; the properties it can filter on are ` + props},
		{`InputArguments eq 'x'`, `$filter: at 1: Jobs cannot be filtered on InputArguments`},
		{`State eq 'Runing'`, `$filter: at 10: State has no value 'Runing'; its values are ` + states},
		{`State eq 9`, `$filter: at 10: State has no value 9; its values are ` + states},
		{`State gt '-1'`, `$filter: at 10: State has no value '-1'; its values are ` + states},
		{`State eq true`, `$filter: at 10: State is an enumeration property (Pending, Running, Stopping, Terminating, Faulted, Successful, Stopped, Suspended, Resumed) and cannot be compared with true, which is true/false`},
		{`IsActive gt true`, `$filter: at 10: IsActive is a true/false property; it can only be compared with eq, ne or in, not gt`},
		{`Key lt 8c3e2c4e-1a2b-4c5d-9e8f-0a1b2c3d4e5f`, `$filter: at 5: Key is a GUID property; it can only be compared with eq, ne or in, not lt`},
		{`Id eq Name`, `$filter: at 4: comparing two properties (Id and Name) is not supported; compare a property with a value`},
		{`1 eq 1`, `$filter: at 3: a comparison needs a property on one side; 1 eq 1 compares two values`},
		{`Name gt null`, `$filter: at 6: null can only be compared with eq or ne, not gt`},
		{`Id`, `$filter: at 1: Id is an integer property, not a condition; compare it with a value: Id eq …`},
		{`true`, `$filter: at 1: expected a condition; found the value true`},
		{`tolower(Name)`, `$filter: at 1: tolower(Name) is not a condition; compare it: tolower(Name) eq 'x'`},
		{`contains(Id,'1')`, `$filter: at 10: the first argument of contains must be a text property; found Id, an integer property`},
		{`contains('abc',Name)`, `$filter: at 10: the first argument of contains must be a text property; found the value 'abc'`},
		{`contains(Name,5)`, `$filter: at 15: the second argument of contains must be text in quotes: contains(Name,'text'); found 5`},
		{`contains(Name,'x') gt true`, `$filter: at 20: contains(…) can only be compared with eq true or eq false`},
		{`tolower(Id) eq '1'`, `$filter: at 1: tolower applies to text; Id is an integer property`},
		{`Name eq tolower(5)`, `$filter: at 9: tolower applies to text; 5 is an integer`},
		{`(Id eq 1) eq true`, `$filter: at 5: expected a property or a value; found Id eq 1`},
		{`5 in (1,2)`, `$filter: at 3: the left side of in must be a property; found 5`},
		{`Id in (1,'a')`, `$filter: at 10: Id is an integer property and cannot be compared with 'a', which is text`},
		{`not (InputArguments eq 'x')`, `$filter: at 6: Jobs cannot be filtered on InputArguments`},
	}
	for _, tt := range tests {
		x, err := ParseFilter(tt.filter)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tt.filter, err)
			continue
		}
		_, _, err = Query{Filter: x}.Where(testJobs, microTime)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Where(%q) = %v, want an *Error", tt.filter, err)
			continue
		}
		if e.Error() != tt.want {
			t.Errorf("Where(%q):\n got %s\nwant %s", tt.filter, e.Error(), tt.want)
		}
	}
}

func TestWhereLongPropertyList(t *testing.T) {
	t.Parallel()
	var e Entity
	for i := range 25 {
		e.Props = append(e.Props, Prop{Name: fmt.Sprintf("P%d", i), Column: fmt.Sprintf("p%d", i), Type: Int})
	}
	x, _ := ParseFilter("Q eq 1")
	_, _, err := Query{Filter: x}.Where(e, SQLOptions{})
	want := "$filter: at 1: unknown property Q; the properties it can filter on are P0, P1, P2, P3, P4, P5, P6, P7, P8, P9, P10, P11, P12, P13, P14, P15, P16, P17, P18, P19 and 5 more"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestOrderBySQL(t *testing.T) {
	t.Parallel()
	stateCase := "CASE j.state WHEN 'Pending' THEN 0 WHEN 'Running' THEN 1 WHEN 'Stopping' THEN 2 WHEN 'Terminating' THEN 3 WHEN 'Faulted' THEN 4 WHEN 'Successful' THEN 5 WHEN 'Stopped' THEN 6 WHEN 'Suspended' THEN 7 WHEN 'Resumed' THEN 8 END"
	tests := []struct{ orderby, want string }{
		{``, ``},
		{`Id desc`, `j.id DESC`},
		{`name`, `LOWER(j.name)`},
		{`Reference asc, State DESC, robot/id`, `j.reference_folded, ` + stateCase + ` DESC, r.id`},
		{`CreationTime desc,IsActive,Key`, `j.created_at DESC, j.is_active, j.key`},
	}
	for _, tt := range tests {
		q, err := Parse(map[string][]string{"$orderby": {tt.orderby}}, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := q.OrderBySQL(testJobs)
		if err != nil || got != tt.want {
			t.Errorf("OrderBySQL(%q) = %q, %v; want %q", tt.orderby, got, err, tt.want)
		}
	}

	quoted := Entity{Props: []Prop{{Name: "E", Column: "e", Type: Enum, Enum: []string{"It's", "", "B"}}}}
	got, err := Query{OrderBy: []Order{{Path: "e"}}}.OrderBySQL(quoted)
	if want := `CASE e WHEN 'It''s' THEN 0 WHEN 'B' THEN 2 END`; err != nil || got != want {
		t.Errorf("OrderBySQL on an enumeration with a quote and a gap = %q, %v; want %q", got, err, want)
	}
}

func TestOrderBySQLErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ orderby, want string }{
		{`Id, Foo desc`, `$orderby: at 5: unknown property Foo of Jobs; the properties it can sort by are Id, Name, Reference, State, Status, CreationTime, IsActive, Key, Robot/Id, Robot/Name`},
		{`InputArguments`, `$orderby: at 1: Jobs cannot be sorted by InputArguments`},
	}
	for _, tt := range tests {
		q, err := Parse(map[string][]string{"$orderby": {tt.orderby}}, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = q.OrderBySQL(testJobs)
		if err == nil || err.Error() != tt.want {
			t.Errorf("OrderBySQL(%q) = %v\nwant %s", tt.orderby, err, tt.want)
		}
	}
}

// TestWhereNeverQuotesInput checks that no value of the query reaches the SQL text.
func TestWhereNeverQuotesInput(t *testing.T) {
	t.Parallel()
	x, err := ParseFilter(`Name eq 'x'') OR 1=1 --' or contains(Name,'%'';') or State eq 'Running'`)
	if err != nil {
		t.Fatal(err)
	}
	sql, _, err := Query{Filter: x}.Where(testJobs, SQLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(strings.ReplaceAll(sql, `ESCAPE '\'`, ""), "'") != 0 {
		t.Errorf("quotes in %s", sql)
	}
}

// TestWhereHandBuilt checks trees built by hand, some of which the parser would never
// produce: they give errors rather than panics.
func TestWhereHandBuilt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		x       Expr
		wantSQL string
	}{
		{&Call{Name: "contains"}, ""},
		{&Compare{Op: OpEq, Left: &Call{Name: "tolower"}, Right: &Literal{Kind: LitString, Value: "x"}}, ""},
		{&Compare{Op: OpEq, Left: &Property{Path: "Id"}}, ""},
		{&Not{}, ""},
		{&Compare{Op: OpEq, Left: &Property{Path: "Name"}, Right: &Literal{Kind: LitString, Value: "x"}}, "(LOWER(j.name) = LOWER($1))"},
	}
	for _, tt := range tests {
		sql, _, err := Query{Filter: tt.x}.Where(testJobs, SQLOptions{})
		if tt.wantSQL != "" {
			if err != nil || sql != tt.wantSQL {
				t.Errorf("Where(%s) = %q, %v; want %q", tt.x, sql, err, tt.wantSQL)
			}
			continue
		}
		if _, ok := err.(*Error); !ok {
			t.Errorf("Where(%#v) = %q, %v; want an *Error", tt.x, sql, err)
		}
	}
}
