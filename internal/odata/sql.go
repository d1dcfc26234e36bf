package odata

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Type is the type of a property as stored in its column.
type Type int

// The property types, with what the column holds and the Go value bound for it.
const (
	String Type = iota // text; bound as string
	Int                // integer; bound as int64
	Bool               // boolean; bound as bool
	Time               // a timestamp; bound as SQLOptions.Time returns it
	Guid               // a GUID as lower-case text; bound as string
	Enum               // the NAME of the value as text ("Running"), never its number
)

// String describes the type for error messages.
func (t Type) String() string {
	switch t {
	case String:
		return "text"
	case Int:
		return "integer"
	case Bool:
		return "true/false"
	case Time:
		return "date-and-time"
	case Guid:
		return "GUID"
	case Enum:
		return "enumeration"
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Prop describes a property of an entity set that $filter and $orderby may name.
type Prop struct {
	// Name is the OData name, matched case-insensitively: "State". A navigation
	// property is listed by its full path, "Robot/Id", with the column of the join
	// the caller makes.
	Name string
	// Column is the SQL expression for the property, written by the caller ("j.state").
	// It is trusted: it goes into the SQL as it is.
	Column string
	Type   Type
	// Enum, for an Enum property, holds the names by numeric value: Enum[1] is the
	// name of 1. An empty name marks an unused number. The column holds the name.
	Enum []string
	// Folded tells that a String column holds text lower-cased by strings.ToLower,
	// so that it is compared as it is, with a lower-cased argument (and may be indexed).
	Folded bool
	// NoFilter and NoSort refuse the property in $filter and in $orderby.
	NoFilter, NoSort bool
}

// Entity describes an entity set for Query.Where and Query.OrderBySQL.
type Entity struct {
	Set   string // the entity set, for messages: "Jobs"
	Props []Prop
}

// SQLOptions adapts the SQL to the engine and the statement.
type SQLOptions struct {
	// FirstArg is the number of the first placeholder: with 3, the filter's first
	// value is $3. Below 1 counts as 1.
	FirstArg int
	// Time converts a time to the value stored in Time columns (SQLite:
	// t.UnixMicro()). Nil binds the time.Time, in UTC.
	Time func(time.Time) any
}

// maxListed is how many property names an error lists before "and N more".
const maxListed = 20

// lookup finds the property named path, ignoring case.
func (e Entity) lookup(path string) *Prop {
	for i := range e.Props {
		if strings.EqualFold(e.Props[i].Name, path) {
			return &e.Props[i]
		}
	}
	return nil
}

// names lists the names of the properties that keep, for error messages.
func (e Entity) names(keep func(Prop) bool) string {
	var names []string
	for _, p := range e.Props {
		if keep(p) {
			names = append(names, p.Name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	if len(names) > maxListed {
		return strings.Join(names[:maxListed], ", ") + fmt.Sprintf(" and %d more", len(names)-maxListed)
	}
	return strings.Join(names, ", ")
}

func (e Entity) of() string {
	if e.Set == "" {
		return ""
	}
	return " of " + e.Set
}

// OrderBySQL renders q.OrderBy as the list of an ORDER BY clause, without the
// keywords: "LOWER(j.name) DESC, j.id". It returns "" without $orderby; the caller adds
// a unique key as a last tiebreak. Text sorts case-insensitively; enumerations sort by
// number. Where NULLs come follows the engine. Errors are *Error.
func (q Query) OrderBySQL(e Entity) (string, error) {
	parts := make([]string, 0, len(q.OrderBy))
	for _, o := range q.OrderBy {
		p := e.lookup(o.Path)
		switch {
		case p == nil:
			return "", &Error{Option: "$orderby", Pos: o.Pos, Msg: fmt.Sprintf("unknown property %s%s; the properties it can sort by are %s",
				o.Path, e.of(), e.names(func(p Prop) bool { return !p.NoSort }))}
		case p.NoSort:
			return "", &Error{Option: "$orderby", Pos: o.Pos, Msg: fmt.Sprintf("%s cannot be sorted by %s", setName(e), p.Name)}
		}
		s := p.Column
		switch {
		case p.Type == String && !p.Folded:
			s = "LOWER(" + p.Column + ")"
		case p.Type == Enum && len(p.Enum) > 0:
			var b strings.Builder
			b.WriteString("CASE " + p.Column)
			for n, name := range p.Enum {
				if name != "" {
					fmt.Fprintf(&b, " WHEN '%s' THEN %d", strings.ReplaceAll(name, "'", "''"), n)
				}
			}
			b.WriteString(" END")
			s = b.String()
		}
		if o.Desc {
			s += " DESC"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", "), nil
}

func setName(e Entity) string {
	if e.Set == "" {
		return "this list"
	}
	return e.Set
}

// Where renders q.Filter as a parenthesised SQL condition on the columns of e, with
// placeholders $n numbered from o.FirstArg and the values to bind for them in args.
// It returns "" without $filter. No text of the query becomes SQL: names are looked
// up in e and values are bound. Errors are *Error.
//
// Semantics follow UiPath's (SQL Server, case-insensitive collation) and OData's:
// text compares case-insensitively, tolower and toupper change nothing, and a
// comparison with a NULL column is false, its negation true (ne and not include NULLs).
func (q Query) Where(e Entity, o SQLOptions) (clause string, args []any, err error) {
	if q.Filter == nil {
		return "", nil, nil
	}
	if o.FirstArg < 1 {
		o.FirstArg = 1
	}
	t := &translator{e: e, o: o}
	clause, err = t.cond(q.Filter, false)
	if err != nil {
		return "", nil, err
	}
	return clause, t.args, nil
}

// translator renders one $filter.
type translator struct {
	e    Entity
	o    SQLOptions
	args []any
}

func (t *translator) errorf(at int, format string, args ...any) error {
	return &Error{Option: "$filter", Pos: at, Msg: fmt.Sprintf(format, args...)}
}

// bind adds a value and returns its placeholder.
func (t *translator) bind(v any) string {
	t.args = append(t.args, v)
	return "$" + strconv.Itoa(t.o.FirstArg+len(t.args)-1)
}

// cond renders a condition. Under not, strict is set: the condition must then be
// false, not NULL, for a NULL column, so that its negation is true, as in OData.
func (t *translator) cond(x Expr, strict bool) (string, error) {
	switch x := x.(type) {
	case *Logical:
		l, err := t.cond(x.Left, strict)
		if err != nil {
			return "", err
		}
		r, err := t.cond(x.Right, strict)
		if err != nil {
			return "", err
		}
		return "(" + l + " " + strings.ToUpper(string(x.Op)) + " " + r + ")", nil
	case *Not:
		s, err := t.cond(x.X, true)
		if err != nil {
			return "", err
		}
		return "(NOT " + s + ")", nil
	case *Compare:
		return t.compare(x, strict)
	case *In:
		return t.in(x, strict)
	case *Call:
		if !boolFunctions[x.Name] {
			return "", t.errorf(x.At, "%s is not a condition; compare it: %s eq 'x'", x, x)
		}
		return t.match(x, strict)
	case *Property:
		s, err := t.operand(x)
		if err != nil {
			return "", err
		}
		if s.prop.Type != Bool {
			return "", t.errorf(x.At, "%s is %s, not a condition; compare it with a value: %s eq …", s.prop.Name, describe(s.prop), s.prop.Name)
		}
		return t.leaf(s.prop.Column, OpEq, t.bind(true), s.prop.Column, strict), nil
	case *Literal:
		return "", t.errorf(x.At, "expected a condition; found the value %s", x)
	case nil:
		return "", t.errorf(0, "the filter is empty")
	}
	return "", t.errorf(x.Pos(), "expected a condition; found %s", x)
}

// side is an operand of a comparison: a property (possibly inside tolower/toupper) or
// a literal.
type side struct {
	prop *Prop
	lit  *Literal
}

// operand resolves an operand. tolower and toupper are accepted around a text
// property or a string and change nothing: comparisons ignore case anyway.
func (t *translator) operand(x Expr) (side, error) {
	switch x := x.(type) {
	case *Property:
		p := t.e.lookup(x.Path)
		switch {
		case p == nil:
			return side{}, t.errorf(x.At, "unknown property %s%s; the properties it can filter on are %s",
				x.Path, t.e.of(), t.e.names(func(p Prop) bool { return !p.NoFilter }))
		case p.NoFilter:
			return side{}, t.errorf(x.At, "%s cannot be filtered on %s", setName(t.e), p.Name)
		}
		return side{prop: p}, nil
	case *Literal:
		return side{lit: x}, nil
	case *Call:
		if x.Name != "tolower" && x.Name != "toupper" {
			break
		}
		if err := t.arity(x); err != nil {
			return side{}, err
		}
		s, err := t.operand(x.Args[0])
		switch {
		case err != nil:
			return side{}, err
		case s.prop != nil && s.prop.Type != String:
			return side{}, t.errorf(x.At, "%s applies to text; %s is %s", x.Name, s.prop.Name, describe(s.prop))
		case s.lit != nil && s.lit.Kind != LitString:
			return side{}, t.errorf(x.At, "%s applies to text; %s is %s", x.Name, s.lit, describeLit(s.lit))
		}
		return s, nil
	case nil:
		return side{}, t.errorf(0, "an operand is missing")
	}
	return side{}, t.errorf(x.Pos(), "expected a property or a value; found %s", x)
}

// arity checks the number of arguments of a call, which the parser guarantees but a
// tree built by hand may lack.
func (t *translator) arity(c *Call) error {
	if n, ok := functions[c.Name]; !ok || len(c.Args) != n {
		return t.errorf(c.At, "%s is not a supported function call", c)
	}
	return nil
}

// sqlOps are the SQL comparison operators.
var sqlOps = map[Op]string{OpEq: "=", OpNe: "<>", OpGt: ">", OpGe: ">=", OpLt: "<", OpLe: "<="}

// flipped gives the operator with its operands swapped: 5 lt Id is Id gt 5.
var flipped = map[Op]Op{OpEq: OpEq, OpNe: OpNe, OpGt: OpLt, OpGe: OpLe, OpLt: OpGt, OpLe: OpGe}

// leaf renders "expr op arg". ne is true for a NULL column; under strict every other
// comparison is false for one (rather than NULL).
func (t *translator) leaf(expr string, op Op, arg, column string, strict bool) string {
	s := expr + " " + sqlOps[op] + " " + arg
	switch {
	case op == OpNe:
		return "(" + s + " OR " + column + " IS NULL)"
	case strict:
		return "(" + s + " AND " + column + " IS NOT NULL)"
	}
	return "(" + s + ")"
}

// bindFor binds the value v of property p and returns the column expression and the
// placeholder to compare: text that is not folded is lowered on both sides.
func (t *translator) bindFor(p *Prop, v any) (expr, arg string) {
	arg = t.bind(v)
	if p.Type == String && !p.Folded {
		return "LOWER(" + p.Column + ")", "LOWER(" + arg + ")"
	}
	return p.Column, arg
}

// compare renders a comparison of a property with a value.
func (t *translator) compare(c *Compare, strict bool) (string, error) {
	if s, ok, err := t.boolCompare(c, strict); ok {
		return s, err
	}
	l, err := t.operand(c.Left)
	if err != nil {
		return "", err
	}
	r, err := t.operand(c.Right)
	if err != nil {
		return "", err
	}
	op := c.Op
	if l.prop == nil && r.prop != nil {
		l, r, op = r, l, flipped[op]
	}
	switch {
	case l.prop == nil:
		return "", t.errorf(c.At, "a comparison needs a property on one side; %s compares two values", c)
	case r.prop != nil:
		return "", t.errorf(c.At, "comparing two properties (%s and %s) is not supported; compare a property with a value", l.prop.Name, r.prop.Name)
	}
	p, lit := l.prop, r.lit
	if lit.Kind == LitNull {
		switch op {
		case OpEq:
			return "(" + p.Column + " IS NULL)", nil
		case OpNe:
			return "(" + p.Column + " IS NOT NULL)", nil
		}
		return "", t.errorf(c.At, "null can only be compared with eq or ne, not %s", op)
	}
	switch {
	case (p.Type == Bool || p.Type == Guid) && op != OpEq && op != OpNe:
		return "", t.errorf(c.At, "%s is %s; it can only be compared with eq, ne or in, not %s", p.Name, describe(p), op)
	case p.Type == Enum && op != OpEq && op != OpNe:
		return t.enumRange(p, op, lit, strict)
	}
	v, err := t.value(p, lit)
	if err != nil {
		return "", err
	}
	expr, arg := t.bindFor(p, v)
	return t.leaf(expr, op, arg, p.Column, strict), nil
}

// boolCompare renders contains(…) eq true and the like; ok reports that c is one.
func (t *translator) boolCompare(c *Compare, strict bool) (s string, ok bool, err error) {
	call, other := boolCall(c.Left), c.Right
	if call == nil {
		call, other = boolCall(c.Right), c.Left
	}
	if call == nil {
		return "", false, nil
	}
	lit, isLit := other.(*Literal)
	if !isLit || lit.Kind != LitBool || (c.Op != OpEq && c.Op != OpNe) {
		return "", true, t.errorf(c.At, "%s(…) can only be compared with eq true or eq false", call.Name)
	}
	if lit.Value.(bool) == (c.Op == OpEq) {
		s, err = t.match(call, strict)
		return s, true, err
	}
	s, err = t.match(call, true)
	if err != nil {
		return "", true, err
	}
	return "(NOT " + s + ")", true, nil
}

func boolCall(x Expr) *Call {
	if c, ok := x.(*Call); ok && boolFunctions[c.Name] {
		return c
	}
	return nil
}

// in renders X in (…).
func (t *translator) in(x *In, strict bool) (string, error) {
	s, err := t.operand(x.X)
	if err != nil {
		return "", err
	}
	if s.prop == nil {
		return "", t.errorf(x.At, "the left side of in must be a property; found %s", s.lit)
	}
	p := s.prop
	var expr string
	var items []string
	hasNull := false
	for _, lit := range x.List {
		if lit.Kind == LitNull {
			hasNull = true
			continue
		}
		v, err := t.value(p, lit)
		if err != nil {
			return "", err
		}
		var arg string
		expr, arg = t.bindFor(p, v)
		items = append(items, arg)
	}
	var parts []string
	if len(items) > 0 {
		parts = append(parts, expr+" IN ("+strings.Join(items, ", ")+")")
		if strict && !hasNull {
			parts[0] += " AND " + p.Column + " IS NOT NULL"
		}
	}
	if hasNull {
		parts = append(parts, p.Column+" IS NULL")
	}
	return "(" + strings.Join(parts, " OR ") + ")", nil
}

// match renders contains, startswith and endswith as a LIKE whose pattern escapes
// the wildcards of the argument.
func (t *translator) match(c *Call, strict bool) (string, error) {
	if err := t.arity(c); err != nil {
		return "", err
	}
	s, err := t.operand(c.Args[0])
	if err != nil {
		return "", err
	}
	if s.prop == nil || s.prop.Type != String {
		what := "the value " + c.Args[0].String()
		if s.prop != nil {
			what = s.prop.Name + ", " + describe(s.prop)
		}
		return "", t.errorf(c.Args[0].Pos(), "the first argument of %s must be a text property; found %s", c.Name, what)
	}
	v, err := t.operand(c.Args[1])
	if err != nil {
		return "", err
	}
	if v.lit == nil || v.lit.Kind != LitString {
		return "", t.errorf(c.Args[1].Pos(), "the second argument of %s must be text in quotes: %s(%s,'text'); found %s", c.Name, c.Name, s.prop.Name, c.Args[1])
	}
	pattern := escapeLike(v.lit.Value.(string))
	switch c.Name {
	case "contains":
		pattern = "%" + pattern + "%"
	case "startswith":
		pattern += "%"
	case "endswith":
		pattern = "%" + pattern
	}
	p := s.prop
	if p.Folded {
		pattern = strings.ToLower(pattern)
	}
	expr, arg := t.bindFor(p, pattern)
	sql := expr + " LIKE " + arg + ` ESCAPE '\'`
	if strict {
		sql += " AND " + p.Column + " IS NOT NULL"
	}
	return "(" + sql + ")", nil
}

// escapeLike escapes the LIKE wildcards % and _ and the escape character \.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}

// value converts a literal to the value bound for property p, or says why it cannot.
func (t *translator) value(p *Prop, lit *Literal) (any, error) {
	hint := ""
	switch p.Type {
	case String:
		if lit.Kind == LitString {
			s := lit.Value.(string)
			if p.Folded {
				s = strings.ToLower(s)
			}
			return s, nil
		}
		hint = " (text is written in quotes: 'text')"
	case Int:
		if lit.Kind == LitInt {
			return lit.Value.(int64), nil
		}
	case Bool:
		if lit.Kind == LitBool {
			return lit.Value.(bool), nil
		}
		hint = " (write true or false)"
	case Time:
		var tm time.Time
		ok := false
		switch lit.Kind {
		case LitTime:
			tm, ok = lit.Value.(time.Time), true
		case LitString:
			tm, ok = parseTime(lit.Value.(string))
		}
		if ok {
			if t.o.Time != nil {
				return t.o.Time(tm), nil
			}
			return tm, nil
		}
		hint = " (write a date and time as 2024-04-04T12:00:47.264Z)"
	case Guid:
		switch lit.Kind {
		case LitGUID:
			return lit.Value.(string), nil
		case LitString:
			if g, ok := parseGUID(lit.Value.(string)); ok {
				return g, nil
			}
		}
		hint = " (write a GUID as 8c3e2c4e-1a2b-4c5d-9e8f-0a1b2c3d4e5f)"
	case Enum:
		n, err := t.enumValue(p, lit)
		if err != nil {
			return nil, err
		}
		return p.Enum[n], nil
	}
	return nil, t.errorf(lit.At, "%s is %s and cannot be compared with %s, which is %s%s", p.Name, describe(p), lit, describeLit(lit), hint)
}

// enumValue finds the number of an enumeration value given by name (any case), by
// number, or by number in a string ('0').
func (t *translator) enumValue(p *Prop, lit *Literal) (int, error) {
	valid := func(n int64) bool { return n >= 0 && n < int64(len(p.Enum)) && p.Enum[n] != "" }
	switch lit.Kind {
	case LitString:
		s := strings.TrimSpace(lit.Value.(string))
		for n, name := range p.Enum {
			if name != "" && strings.EqualFold(name, s) {
				return n, nil
			}
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && valid(n) {
			return int(n), nil
		}
	case LitInt:
		if n := lit.Value.(int64); valid(n) {
			return int(n), nil
		}
	default:
		return 0, t.errorf(lit.At, "%s is %s and cannot be compared with %s, which is %s", p.Name, describe(p), lit, describeLit(lit))
	}
	var values []string
	for n, name := range p.Enum {
		if name != "" {
			values = append(values, fmt.Sprintf("%s (%d)", name, n))
		}
	}
	if len(values) == 0 {
		values = []string{"none"}
	}
	return 0, t.errorf(lit.At, "%s has no value %s; its values are %s", p.Name, lit, strings.Join(values, ", "))
}

// enumRange renders gt, ge, lt and le on an enumeration, by number, as the set of
// names in the range: the column holds names, whose text order means nothing.
func (t *translator) enumRange(p *Prop, op Op, lit *Literal, strict bool) (string, error) {
	n, err := t.enumValue(p, lit)
	if err != nil {
		return "", err
	}
	in := map[Op]func(int) bool{
		OpGt: func(i int) bool { return i > n },
		OpGe: func(i int) bool { return i >= n },
		OpLt: func(i int) bool { return i < n },
		OpLe: func(i int) bool { return i <= n },
	}[op]
	var items []string
	for i, name := range p.Enum {
		if name != "" && in(i) {
			items = append(items, t.bind(name))
		}
	}
	if len(items) == 0 {
		return "(1 = 0)", nil
	}
	s := p.Column + " IN (" + strings.Join(items, ", ") + ")"
	if strict {
		s += " AND " + p.Column + " IS NOT NULL"
	}
	return "(" + s + ")", nil
}

// describe says what kind of property p is, for messages: "an integer property".
func describe(p *Prop) string {
	switch p.Type {
	case Int:
		return "an integer property"
	case Enum:
		names := slices.DeleteFunc(slices.Clone(p.Enum), func(s string) bool { return s == "" })
		return "an enumeration property (" + strings.Join(names, ", ") + ")"
	}
	return "a " + p.Type.String() + " property"
}

// describeLit says what kind of value a literal is, for messages.
func describeLit(l *Literal) string {
	switch l.Kind {
	case LitString:
		return "text"
	case LitInt:
		return "an integer"
	case LitDecimal:
		return "a decimal number"
	case LitBool:
		return "true/false"
	case LitTime:
		return "a date and time"
	case LitGUID:
		return "a GUID"
	}
	return "null"
}
