package odata

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// dump renders a tree as an S-expression that shows its structure and the kinds of
// its literals.
func dump(x Expr) string {
	switch x := x.(type) {
	case *Logical:
		return "(" + string(x.Op) + " " + dump(x.Left) + " " + dump(x.Right) + ")"
	case *Not:
		return "(not " + dump(x.X) + ")"
	case *Compare:
		return "(" + string(x.Op) + " " + dump(x.Left) + " " + dump(x.Right) + ")"
	case *In:
		items := make([]string, len(x.List))
		for i, l := range x.List {
			items[i] = dump(l)
		}
		return "(in " + dump(x.X) + " " + strings.Join(items, " ") + ")"
	case *Call:
		args := make([]string, len(x.Args))
		for i, a := range x.Args {
			args[i] = dump(a)
		}
		return "(" + x.Name + " " + strings.Join(args, " ") + ")"
	case *Property:
		return x.Path
	case *Literal:
		switch v := x.Value.(type) {
		case string:
			if x.Kind == LitGUID {
				return "guid:" + v
			}
			return fmt.Sprintf("%q", v)
		case int64:
			return fmt.Sprintf("int:%d", v)
		case float64:
			return fmt.Sprintf("dec:%g", v)
		case bool:
			return fmt.Sprintf("%t", v)
		case time.Time:
			return "time:" + v.Format(time.RFC3339Nano)
		}
		return "null"
	}
	return fmt.Sprintf("?%T", x)
}

func TestParseFilter(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, tree string }{
		{`State eq 'Running'`, `(eq State "Running")`},
		{`ProcessKey eq 'Calculator'`, `(eq ProcessKey "Calculator")`},
		{`FullyQualifiedName eq 'a/b' or Id eq 5`, `(or (eq FullyQualifiedName "a/b") (eq Id int:5))`},
		{`Robot/Id eq 123L`, `(eq Robot/Id int:123)`},
		{`Robot/Id eq 123l`, `(eq Robot/Id int:123)`},
		{`CreationTime ge 2024-04-04T12:00:47.264Z`, `(ge CreationTime time:2024-04-04T12:00:47.264Z)`},
		{`CreationTime ge 2024-04-04T14:00:47+02:00`, `(ge CreationTime time:2024-04-04T12:00:47Z)`},
		{`CreationTime ge 2024-04-04T14:00:47 02:00`, `(ge CreationTime time:2024-04-04T12:00:47Z)`}, // '+' decoded as a space
		{`CreationTime lt 2024-04-04`, `(lt CreationTime time:2024-04-04T00:00:00Z)`},
		{`CreationTime lt 2024-04-04T12:00`, `(lt CreationTime time:2024-04-04T12:00:00Z)`},
		{`CreationTime ge datetime'2024-04-04T12:00:47Z'`, `(ge CreationTime time:2024-04-04T12:00:47Z)`},
		{`Status eq '0'`, `(eq Status "0")`},
		{`QueueDefinitionId eq 5`, `(eq QueueDefinitionId int:5)`},
		{`contains(Name,'inv')`, `(contains Name "inv")`},
		{`Name in ('a','B')`, `(in Name "a" "B")`},
		{`Id in (1, 2,3)`, `(in Id int:1 int:2 int:3)`},
		{`not (Id gt 5) and IsActive eq true`, `(and (not (gt Id int:5)) (eq IsActive true))`},
		{`not Id gt 5`, `(not (gt Id int:5))`},
		{`tolower(Name) eq 'abc'`, `(eq (tolower Name) "abc")`},
		{`a eq 1 or b eq 2 and c eq 3`, `(or (eq a int:1) (and (eq b int:2) (eq c int:3)))`},
		{`(a eq 1 or b eq 2) and c eq 3`, `(and (or (eq a int:1) (eq b int:2)) (eq c int:3))`},
		{`a eq 1 and b eq 2 and c eq 3`, `(and (and (eq a int:1) (eq b int:2)) (eq c int:3))`},
		{`Name EQ 'x' And Not Id Ne 5 OR IsActive`, `(or (and (eq Name "x") (not (ne Id int:5))) IsActive)`},
		{`Name eq 'it''s'`, `(eq Name "it's")`},
		{`Name eq ''`, `(eq Name "")`},
		{`Name eq null`, `(eq Name null)`},
		{`Price gt -1.5 and Qty le -3`, `(and (gt Price dec:-1.5) (le Qty int:-3))`},
		{`Key eq 8C3E2C4E-1A2B-4C5D-9E8F-0A1B2C3D4E5F`, `(eq Key guid:8c3e2c4e-1a2b-4c5d-9e8f-0a1b2c3d4e5f)`},
		{`Key eq guid'8c3e2c4e-1a2b-4c5d-9e8f-0a1b2c3d4e5f'`, `(eq Key guid:8c3e2c4e-1a2b-4c5d-9e8f-0a1b2c3d4e5f)`},
		{`Key eq deadbeef-1a2b-4c5d-9e8f-0a1b2c3d4e5f`, `(eq Key guid:deadbeef-1a2b-4c5d-9e8f-0a1b2c3d4e5f)`},
		{`5 lt Id`, `(lt int:5 Id)`},
		{`((Id eq 1))`, `(eq Id int:1)`},
		{`startswith(tolower(Name), toupper('ab')) and endswith(Name,'z')`, `(and (startswith (tolower Name) (toupper "ab")) (endswith Name "z"))`},
		{`contains(Name,'x') eq false`, `(eq (contains Name "x") false)`},
		{"\tName\neq  'a b' ", `(eq Name "a b")`},
		{`Name eq'x'`, `(eq Name "x")`},
	}
	for _, tt := range tests {
		x, err := ParseFilter(tt.in)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tt.in, err)
			continue
		}
		if got := dump(x); got != tt.tree {
			t.Errorf("ParseFilter(%q) = %s, want %s", tt.in, got, tt.tree)
		}
		// String renders text that parses back to the same tree.
		y, err := ParseFilter(x.String())
		if err != nil || dump(y) != tt.tree {
			t.Errorf("ParseFilter(%q).String() = %q, which parses to %v, %v", tt.in, x.String(), y, err)
		}
	}
}

func TestParseFilterPositions(t *testing.T) {
	t.Parallel()
	x, err := ParseFilter(`Name eq 'é' and Id gt 5`)
	if err != nil {
		t.Fatal(err)
	}
	and := x.(*Logical)
	gt := and.Right.(*Compare)
	if and.At != 13 || gt.At != 20 || gt.Left.Pos() != 17 || gt.Right.Pos() != 23 {
		t.Errorf("positions: and %d, gt %d, Id %d, 5 %d; want 13, 20, 17, 23", and.At, gt.At, gt.Left.Pos(), gt.Right.Pos())
	}
}

func TestParseFilterErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`contains(Name,'inv'`, `$filter: at 20: expected ')' after the arguments of contains; found the end of $filter`},
		{`contains(Name 'inv')`, `$filter: at 15: expected ',' between the arguments of contains; found the text 'inv'`},
		{`contains(Name)`, `$filter: at 14: contains takes 2 arguments; found 1`},
		{`contains(Name,'a','b')`, `$filter: at 18: contains takes 2 arguments; found more`},
		{`Name eq 'abc`, `$filter: at 9: the string that starts here is not closed with a quote (a quote inside a string is written '')`},
		{`Id = 5`, `$filter: at 4: found '='; comparisons are written eq, ne, gt, ge, lt, le: Name eq 'x'`},
		{`Id >= 5`, `$filter: at 4: unexpected '>': comparisons are written eq, ne, gt, ge, lt, le and logic and, or, not`},
		{`Id eq`, `$filter: at 6: expected a property, a value or '('; found the end of $filter`},
		{`Id eq 5 5`, `$filter: at 9: expected and, or, or the end of $filter; found '5'`},
		{`Id eq and`, `$filter: at 7: expected a property, a value or '('; found 'and'`},
		{`foo(Name) eq 1`, `$filter: at 1: unknown function foo; the functions supported are contains, startswith, endswith, tolower, toupper`},
		{`substringof('a',Name)`, `$filter: at 1: unknown function substringof (substringof('x',Name) is OData v3; write contains(Name,'x')); the functions supported are contains, startswith, endswith, tolower, toupper`},
		{`Name in 'a'`, `$filter: at 9: expected '(' and a list of values after in; found the text 'a'`},
		{`Name in ()`, `$filter: at 10: expected a value in the list after in; found ')'`},
		{`Name in ('a' 'b')`, `$filter: at 14: expected ',' or ')' in the list after in; found the text 'b'`},
		{`Id in (1, Id)`, `$filter: at 11: expected a value in the list after in; found 'Id'`},
		{`(Id eq 5`, `$filter: at 9: expected ')' to close the '(' at 1; found the end of $filter`},
		{`Id eq 99999999999999999999`, `$filter: at 7: the number 99999999999999999999 is out of range for a 64-bit integer`},
		{`CreationTime ge 2024-13-04T12:00:47Z`, `$filter: at 17: 2024-13-04T12:00:47Z is not a valid date and time; write it as 2024-04-04T12:00:47.264Z`},
		{`CreationTime ge datetime'yesterday'`, `$filter: at 17: datetime'yesterday' is not a valid date and time; write it as 2024-04-04T12:00:47.264Z`},
		{`Key eq guid'abc'`, `$filter: at 8: guid'abc' is not a valid GUID; write it as guid'8c3e2c4e-1a2b-4c5d-9e8f-0a1b2c3d4e5f'`},
		{`Name eq "x"`, `$filter: at 9: strings are written in single quotes: 'text', not "text"`},
		{`Id eq 5abc`, `$filter: at 8: unexpected 'a' after the number 5`},
		{`Robot/ eq 5`, `$filter: at 7: expected a property name after '/' in Robot/`},
		{`Name eq X'00'`, `$filter: at 9: literals written X'…' are not supported; the typed literals supported are datetime'…' and guid'…'`},
		{`Name eq 'a' # x`, `$filter: at 13: unexpected '#'`},
		{``, `$filter is empty`},
		{`   `, `$filter is empty`},
	}
	for _, tt := range tests {
		_, err := ParseFilter(tt.in)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("ParseFilter(%q) = %v, want an *Error", tt.in, err)
			continue
		}
		if e.Error() != tt.want {
			t.Errorf("ParseFilter(%q):\n got %s\nwant %s", tt.in, e.Error(), tt.want)
		}
	}
}

func TestParseFilterLimits(t *testing.T) {
	t.Parallel()
	terms := make([]string, MaxComparisons)
	for i := range terms {
		terms[i] = fmt.Sprintf("Id eq %d", i)
	}
	s := strings.Join(terms, " or ")
	if _, err := ParseFilter(s); err != nil {
		t.Fatalf("%d comparisons: %v", MaxComparisons, err)
	}
	s += " or contains(Name,'x')"
	want := fmt.Sprintf("$filter: at %d: this is comparison number 101; a $filter may hold at most 100", len(s)-len("contains(Name,'x')")+1)
	if _, err := ParseFilter(s); err == nil || err.Error() != want {
		t.Errorf("101 comparisons: %v, want %s", err, want)
	}

	deep := strings.Repeat("(", MaxNesting) + "Id eq 1" + strings.Repeat(")", MaxNesting)
	if _, err := ParseFilter(deep); err != nil {
		t.Errorf("%d levels: %v", MaxNesting, err)
	}
	if _, err := ParseFilter("(" + deep + ")"); err == nil || err.Error() != "$filter: at 51: nested more than 50 levels deep" {
		t.Errorf("51 levels: %v", err)
	}
	if _, err := ParseFilter(strings.Repeat("not ", 60) + "IsActive"); err == nil || err.Error() != "$filter: at 201: nested more than 50 levels deep" {
		t.Errorf("60 nots: %v", err)
	}

	list := make([]string, MaxInList+1)
	for i := range list {
		list[i] = "1"
	}
	if _, err := ParseFilter("Id in (" + strings.Join(list[:MaxInList], ",") + ")"); err != nil {
		t.Errorf("%d values after in: %v", MaxInList, err)
	}
	if _, err := ParseFilter("Id in (" + strings.Join(list, ",") + ")"); err == nil || !strings.Contains(err.Error(), "the list after in has more than 1000 values") {
		t.Errorf("%d values after in: %v", MaxInList+1, err)
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	lim := Limits{DefaultTop: 100, MaxTop: 1000}
	tests := []struct {
		raw  string // a raw query string, as a client sends it
		want Query
	}{
		{``, Query{Top: 100}},
		{`%24count=true&%24filter=State+eq+%27Running%27&%24top=10`, Query{Count: true, Top: 10, Filter: &Compare{}}},
		{`$filter=FullyQualifiedName%20eq%20'Shared'`, Query{Top: 100, Filter: &Compare{}}},
		{`$Top=5&$SKIP=10&$OrderBy=Id desc,Name ASC, Robot/Id`, Query{Top: 5, Skip: 10,
			OrderBy: []Order{{Path: "Id", Desc: true, Pos: 1}, {Path: "Name", Pos: 9}, {Path: "Robot/Id", Pos: 19}}}},
		{`$top=0&$count=FALSE`, Query{Top: 0}},
		{`$top=1000`, Query{Top: 1000}},
		{`$select=Name,Id&$expand=Robot($select=Name;$expand=Machine),Release`, Query{Top: 100,
			Select: []string{"Name", "Id"},
			Expand: []Expand{
				{Path: "Robot", Pos: 1, Select: []string{"Name"}, Expand: []Expand{{Path: "Machine", Pos: 28}}},
				{Path: "Release", Pos: 37},
			}}},
		{`$select=*`, Query{Top: 100, Select: []string{"*"}}},
		{`$expand=Robot($EXPAND=Machine($select=Name, Id))`, Query{Top: 100,
			Expand: []Expand{{Path: "Robot", Pos: 1, Expand: []Expand{{Path: "Machine", Pos: 15, Select: []string{"Name", "Id"}}}}}}},
		{`feedId=3&mandatoryPermissions=x&$top=&$filter=+`, Query{Top: 100}},
	}
	for _, tt := range tests {
		v, err := ParseQueryString(tt.raw)
		if err != nil {
			t.Fatal(err)
		}
		q, err := Parse(v, lim)
		if err != nil {
			t.Errorf("Parse(%s): %v", tt.raw, err)
			continue
		}
		if (q.Filter == nil) != (tt.want.Filter == nil) {
			t.Errorf("Parse(%s).Filter = %v", tt.raw, q.Filter)
		}
		q.Filter, tt.want.Filter = nil, nil
		if !reflect.DeepEqual(q, tt.want) {
			t.Errorf("Parse(%s) =\n %+v\nwant %+v", tt.raw, q, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	lim := Limits{DefaultTop: 100, MaxTop: 1000}
	tests := []struct{ raw, option, want string }{
		{`$top=5000`, "$top", `$top is 5000 but the most this list returns is 1000; page with $skip`},
		{`$top=-1`, "$top", `$top must be 0 or more, not -1`},
		{`$top=abc`, "$top", `$top must be a whole number, 0 or more, not "abc"`},
		{`$top=1.5`, "$top", `$top must be a whole number, 0 or more, not "1.5"`},
		{`$top=99999999999999999999`, "$top", `$top is 99999999999999999999, which is too large`},
		{`$skip=-3`, "$skip", `$skip must be 0 or more, not -3`},
		{`$count=yes`, "$count", `$count must be true or false, not "yes"`},
		{`$search=x&$format=json&$top=1`, "$format", `unknown query options $format, $search; the query options supported are $filter, $orderby, $top, $skip, $count, $select, $expand`},
		{`$inlinecount=allpages`, "$inlinecount", `unknown query option $inlinecount; the query options supported are $filter, $orderby, $top, $skip, $count, $select, $expand`},
		{`$top=1&$top=2`, "$top", `$top is given more than once`},
		{`$top=1&$TOP=2`, "$top", `$top is given more than once`},
		{`$filter=Id eq&$top=abc`, "$filter", `$filter: at 6: expected a property, a value or '('; found the end of $filter`},
		{`$orderby=a,b,c,d,e,f`, "$orderby", `$orderby: at 11: $orderby may name at most 5 properties`},
		{`$orderby=Id up`, "$orderby", `$orderby: at 4: expected asc, desc, ',' or the end of $orderby; found 'up'`},
		{`$orderby=Id desc,`, "$orderby", `$orderby: at 9: expected a property to sort by; found the end of $orderby`},
		{`$orderby=tolower(Name)`, "$orderby", `$orderby: at 1: sorting by a function such as tolower(…) is not supported; name a property`},
		{`$select=Name,`, "$select", `$select: at 6: expected a property name in $select; found the end of $select`},
		{`$select=Name Id`, "$select", `$select: at 6: expected ',' or the end of $select; found 'Id'`},
		{`$expand=Robot($expand=Machine($expand=Folder))`, "$expand", `$expand: at 31: $expand goes at most 2 levels deep; Folder would be level 3`},
		{`$expand=Robot/Machine/Folder`, "$expand", `$expand: at 1: $expand goes at most 2 levels deep; Robot/Machine/Folder would be level 3`},
		{`$expand=Robot($filter=Id eq 1)`, "$expand", `$expand: at 7: $filter inside $expand is not supported; only $select and $expand are`},
		{`$expand=Robot($levels=2)`, "$expand", `$expand: at 7: unknown option $levels inside $expand; only $select and $expand are supported there`},
		{`$expand=Robot($select=Name;$select=Id)`, "$expand", `$expand: at 20: $select is given twice for Robot`},
		{`$expand=Robot($select Name)`, "$expand", `$expand: at 15: expected '=' after $select; found 'Name'`},
		{`$expand=Robot($select=Name`, "$expand", `$expand: at 19: expected ';' or ')' after the options of Robot; found the end of $expand`},
		{`$expand=Robot()`, "$expand", `$expand: at 7: expected $select or $expand inside the parentheses after Robot; found ')'`},
		{`$expand=*`, "$expand", `$expand: at 1: expected a navigation property in $expand; found '*'`},
	}
	for _, tt := range tests {
		v, err := ParseQueryString(tt.raw)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Parse(v, lim)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%s) = %v, want an *Error", tt.raw, err)
			continue
		}
		if e.Option != tt.option || e.Error() != tt.want {
			t.Errorf("Parse(%s):\n got %s: %s\nwant %s: %s", tt.raw, e.Option, e.Error(), tt.option, tt.want)
		}
	}
}

func TestParseQueryString(t *testing.T) {
	t.Parallel()
	v, err := ParseQueryString(`%24expand=Robot(%24select=Name;$expand=Machine)&$filter=Name+eq+%27a%20b%27&&flag&x=1&x=2`)
	want := url.Values{"$expand": {"Robot($select=Name;$expand=Machine)"}, "$filter": {"Name eq 'a b'"}, "flag": {""}, "x": {"1", "2"}}
	if err != nil || !reflect.DeepEqual(v, want) {
		t.Errorf("ParseQueryString = %v, %v; want %v", v, err, want)
	}
	if _, err := ParseQueryString(`$filter=Name eq '%zz'`); err == nil || err.Error() != "the query string is malformed: the value of $filter is not validly %-encoded" {
		t.Errorf("bad escape: %v", err)
	}
}

func TestParseNoCap(t *testing.T) {
	t.Parallel()
	q, err := Parse(url.Values{"$top": {"5000"}}, Limits{DefaultTop: 10})
	if err != nil || q.Top != 5000 {
		t.Errorf("without MaxTop: %+v, %v", q, err)
	}
}
