package odata

import (
	"errors"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var placeholder = regexp.MustCompile(`\$[0-9]+`)

// FuzzParse feeds any text to $filter, $orderby, $expand and $select. Parsing never
// panics and fails only with *Error; a parsed filter renders to SQL without panicking,
// binds exactly one value per placeholder, puts no quote of its own into the SQL, and
// prints as text that parses back to the same filter.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`State eq 'Running'`, `Robot/Id eq 123L`, `not (Id gt 5) and IsActive eq true`,
		`Id desc,Name`, `Robot($select=Name;$expand=Machine)`,
	} {
		f.Add(s)
	}
	opts := SQLOptions{FirstArg: 2, Time: func(t time.Time) any { return t.UnixMicro() }}
	f.Fuzz(func(t *testing.T, s string) {
		for _, option := range []string{"$filter", "$orderby", "$expand", "$select"} {
			q, err := Parse(url.Values{option: {s}}, Limits{DefaultTop: 100, MaxTop: 1000})
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || e.Option != option {
					t.Fatalf("%s=%q: %T %v", option, s, err, err)
				}
				if e.Pos > utf8.RuneCountInString(s)+1 {
					t.Fatalf("%s=%q: position %d is past the end: %v", option, s, e.Pos, err)
				}
				continue
			}
			if _, err := q.OrderBySQL(testJobs); err != nil {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("OrderBySQL(%q): %T %v", s, err, err)
				}
			}
			if q.Filter == nil {
				continue
			}
			where, args, whereErr := q.Where(testJobs, opts)
			if whereErr != nil {
				if _, ok := whereErr.(*Error); !ok {
					t.Fatalf("Where(%q): %T %v", s, whereErr, whereErr)
				}
			} else {
				if n := len(placeholder.FindAllString(where, -1)); n != len(args) {
					t.Fatalf("Where(%q) = %s with %d args", s, where, len(args))
				}
				if strings.Contains(strings.ReplaceAll(where, `ESCAPE '\'`, ""), "'") {
					t.Fatalf("Where(%q) = %s: a quote in the SQL", s, where)
				}
			}
			text := q.Filter.String()
			again, err := ParseFilter(text)
			if err != nil {
				t.Fatalf("%q prints as %q, which does not parse: %v", s, text, err)
			}
			if again.String() != text {
				t.Fatalf("%q prints as %q, which prints as %q", s, text, again.String())
			}
			where2, args2, err2 := Query{Filter: again}.Where(testJobs, opts)
			if where2 != where || !reflect.DeepEqual(args2, args) || (whereErr == nil) != (err2 == nil) {
				t.Fatalf("%q and its print %q translate differently:\n%s %v %v\n%s %v %v", s, text, where, args, whereErr, where2, args2, err2)
			}
		}
	})
}
