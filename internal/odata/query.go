package odata

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Limits of a list, given by the caller for each entity set.
type Limits struct {
	// DefaultTop is the page size without $top.
	DefaultTop int
	// MaxTop is the largest $top accepted; 0 means no cap.
	MaxTop int
}

// Limits of the other options, as UiPath's.
const (
	MaxOrderBy     = 5 // keys in $orderby
	MaxExpandDepth = 2 // levels of $expand
)

// Query holds the parsed query options of a list request.
type Query struct {
	Filter  Expr    // nil without $filter
	OrderBy []Order // in order of precedence
	Top     int     // Limits.DefaultTop without $top
	Skip    int
	Count   bool
	Select  []string // property names as written; "*" stands for all
	Expand  []Expand
}

// Order is one key of $orderby.
type Order struct {
	Path string // property or navigation path, as written
	Desc bool
	Pos  int // 1-based position in $orderby, for errors; 0 if built by hand
}

// Expand is one item of $expand, with its nested $select and $expand.
type Expand struct {
	Path   string // navigation property, as written
	Select []string
	Expand []Expand
	Pos    int // 1-based position in $expand, for errors; 0 if built by hand
}

// options are the query options Parse knows, in the order it reads them.
var options = []string{"$filter", "$orderby", "$top", "$skip", "$count", "$select", "$expand"}

// Parse reads the OData query options from v, the request's decoded query string.
// Option names start with "$" and are matched case-insensitively ($Top); parameters
// without "$" are the caller's and are ignored. An unknown "$" option, an option given
// twice or a malformed value is an error; so are $top above lim.MaxTop and more than
// MaxComparisons comparisons, MaxOrderBy keys or MaxExpandDepth levels of $expand.
// A blank value counts as absent. Errors are *Error.
func Parse(v url.Values, lim Limits) (Query, error) {
	q := Query{Top: lim.DefaultTop}
	given := map[string]string{}
	var unknown []string
	for key, values := range v {
		if !strings.HasPrefix(key, "$") {
			continue
		}
		name := strings.ToLower(key)
		if !slices.Contains(options, name) {
			unknown = append(unknown, key)
			continue
		}
		if _, twice := given[name]; twice || len(values) > 1 {
			return Query{}, &Error{Option: name, Msg: name + " is given more than once"}
		}
		given[name] = values[0]
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		noun := "query option"
		if len(unknown) > 1 {
			noun += "s"
		}
		return Query{}, &Error{Option: unknown[0], Msg: fmt.Sprintf("unknown %s %s; the query options supported are %s",
			noun, strings.Join(unknown, ", "), strings.Join(options, ", "))}
	}
	var err error
	for _, name := range options {
		s, ok := given[name]
		if !ok || strings.TrimSpace(s) == "" {
			continue
		}
		switch name {
		case "$filter":
			q.Filter, err = ParseFilter(s)
		case "$orderby":
			q.OrderBy, err = parseOrderBy(s)
		case "$top":
			q.Top, err = parseCount(name, s)
			if err == nil && lim.MaxTop > 0 && q.Top > lim.MaxTop {
				err = &Error{Option: name, Msg: fmt.Sprintf("$top is %d but the most this list returns is %d; page with $skip", q.Top, lim.MaxTop)}
			}
		case "$skip":
			q.Skip, err = parseCount(name, s)
		case "$count":
			switch strings.ToLower(strings.TrimSpace(s)) {
			case "true":
				q.Count = true
			case "false":
			default:
				err = &Error{Option: name, Msg: fmt.Sprintf("$count must be true or false, not %q", s)}
			}
		case "$select":
			q.Select, err = parseSelect(s)
		case "$expand":
			q.Expand, err = parseExpand(s)
		}
		if err != nil {
			return Query{}, err
		}
	}
	return q, nil
}

// ParseQueryString decodes a raw query string (r.URL.RawQuery) like url.ParseQuery,
// but splits on "&" only: a ";" is part of a value, as in $expand=Robot($select=Name;
// $expand=Machine). url.ParseQuery rejects such pairs and r.URL.Query() drops them
// silently. "+" and "%20" both decode to a space.
func ParseQueryString(raw string) (url.Values, error) {
	v := url.Values{}
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		key, value, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(key)
		if err != nil {
			return nil, &Error{Msg: fmt.Sprintf("the query string is malformed: %q is not a valid parameter name", key)}
		}
		val, err := url.QueryUnescape(value)
		if err != nil {
			return nil, &Error{Option: k, Msg: fmt.Sprintf("the query string is malformed: the value of %s is not validly %%-encoded", k)}
		}
		v[k] = append(v[k], val)
	}
	return v, nil
}

// parseCount reads the value of $top or $skip: a whole number, 0 or more.
func parseCount(name, s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	switch {
	case err != nil && isDigits(strings.TrimSpace(s)):
		return 0, &Error{Option: name, Msg: fmt.Sprintf("%s is %s, which is too large", name, s)}
	case err != nil:
		return 0, &Error{Option: name, Msg: fmt.Sprintf("%s must be a whole number, 0 or more, not %q", name, s)}
	case n < 0:
		return 0, &Error{Option: name, Msg: fmt.Sprintf("%s must be 0 or more, not %d", name, n)}
	}
	return n, nil
}

func isDigits(s string) bool {
	for i := range len(s) {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// parseOrderBy reads $orderby: path [asc|desc] {, path [asc|desc]}.
func parseOrderBy(s string) (orders []Order, err error) {
	defer catch(&err)
	p := newParser("$orderby", s)
	for {
		t := p.tok
		if t.kind != tIdent || strings.HasPrefix(t.str, "$") {
			p.fail(t.pos, "expected a property to sort by; found %s", p.found())
		}
		p.next()
		if p.tok.kind == tLParen {
			p.fail(t.pos, "sorting by a function such as %s(…) is not supported; name a property", t.str)
		}
		o := Order{Path: t.str, Pos: t.pos}
		if p.isWord("asc") || p.isWord("desc") {
			o.Desc = p.isWord("desc")
			p.next()
		}
		if len(orders) == MaxOrderBy {
			p.fail(t.pos, "$orderby may name at most %d properties", MaxOrderBy)
		}
		orders = append(orders, o)
		switch p.tok.kind {
		case tComma:
			p.next()
		case tEOF:
			return orders, nil
		default:
			p.fail(p.tok.pos, "expected asc, desc, ',' or the end of $orderby; found %s", p.found())
		}
	}
}

// parseSelect reads $select: a comma-separated list of properties, or *.
func parseSelect(s string) (names []string, err error) {
	defer catch(&err)
	p := newParser("$select", s)
	names = p.selectList()
	if p.tok.kind != tEOF {
		p.fail(p.tok.pos, "expected ',' or the end of $select; found %s", p.found())
	}
	return names, nil
}

// selectList reads property names separated by commas, up to the first token that is
// not a comma after a name.
func (p *parser) selectList() []string {
	var names []string
	for {
		switch {
		case p.tok.kind == tStar:
			names = append(names, "*")
		case p.tok.kind == tIdent && !strings.HasPrefix(p.tok.str, "$"):
			names = append(names, p.tok.str)
		default:
			p.fail(p.tok.pos, "expected a property name in $select; found %s", p.found())
		}
		p.next()
		if p.tok.kind != tComma {
			return names
		}
		p.next()
	}
}

// parseExpand reads $expand: a comma-separated list of navigation properties, each
// with optional nested options: Robot($select=Name;$expand=Machine).
func parseExpand(s string) (items []Expand, err error) {
	defer catch(&err)
	p := newParser("$expand", s)
	items = p.expandList(0)
	if p.tok.kind != tEOF {
		p.fail(p.tok.pos, "expected ',' or the end of $expand; found %s", p.found())
	}
	return items, nil
}

// expandList reads the items of an $expand at the given depth (0 at the top).
func (p *parser) expandList(depth int) []Expand {
	var items []Expand
	for {
		t := p.tok
		if t.kind != tIdent || strings.HasPrefix(t.str, "$") {
			p.fail(t.pos, "expected a navigation property in $expand; found %s", p.found())
		}
		levels := depth + strings.Count(t.str, "/") + 1
		if levels > MaxExpandDepth {
			p.fail(t.pos, "$expand goes at most %d levels deep; %s would be level %d", MaxExpandDepth, t.str, levels)
		}
		item := Expand{Path: t.str, Pos: t.pos}
		p.next()
		if p.tok.kind == tLParen {
			p.next()
			p.expandOptions(&item, levels)
		}
		items = append(items, item)
		if p.tok.kind != tComma {
			return items
		}
		p.next()
	}
}

// expandOptions reads the options nested in an $expand item, after its '(' and up to
// and including its ')'.
func (p *parser) expandOptions(item *Expand, depth int) {
	seen := map[string]bool{}
	for {
		t := p.tok
		name := strings.ToLower(t.str)
		if t.kind != tIdent || !strings.HasPrefix(name, "$") {
			p.fail(t.pos, "expected $select or $expand inside the parentheses after %s; found %s", item.Path, p.found())
		}
		switch {
		case name != "$select" && name != "$expand" && slices.Contains(options, name):
			p.fail(t.pos, "%s inside $expand is not supported; only $select and $expand are", t.str)
		case name != "$select" && name != "$expand":
			p.fail(t.pos, "unknown option %s inside $expand; only $select and $expand are supported there", t.str)
		case seen[name]:
			p.fail(t.pos, "%s is given twice for %s", name, item.Path)
		}
		seen[name] = true
		p.next()
		if p.tok.kind != tEquals {
			p.fail(p.tok.pos, "expected '=' after %s; found %s", t.str, p.found())
		}
		p.next()
		if name == "$select" {
			item.Select = p.selectList()
		} else {
			item.Expand = p.expandList(depth)
		}
		switch p.tok.kind {
		case tSemi:
			p.next()
		case tRParen:
			p.next()
			return
		default:
			p.fail(p.tok.pos, "expected ';' or ')' after the options of %s; found %s", item.Path, p.found())
		}
	}
}
