package odata

import (
	"strconv"
	"strings"
	"time"
)

// Expr is a node of a parsed $filter: *Logical, *Not, *Compare, *In, *Call, *Property
// or *Literal. Pos is the node's 1-based character position in the $filter text (0
// for nodes built by hand); String renders the node as $filter text that parses back
// to the same tree.
type Expr interface {
	Pos() int
	String() string
	isExpr()
}

// Op is an operator of a $filter, spelled as in OData.
type Op string

// The operators.
const (
	OpAnd Op = "and"
	OpOr  Op = "or"
	OpEq  Op = "eq"
	OpNe  Op = "ne"
	OpGt  Op = "gt"
	OpGe  Op = "ge"
	OpLt  Op = "lt"
	OpLe  Op = "le"
)

// compareOps are the comparison operators, by their lower-case spelling.
var compareOps = map[string]Op{"eq": OpEq, "ne": OpNe, "gt": OpGt, "ge": OpGe, "lt": OpLt, "le": OpLe}

// Logical is Left and Right, or Left or Right.
type Logical struct {
	Op          Op // OpAnd or OpOr
	Left, Right Expr
	At          int // position of the operator
}

// Not is not X.
type Not struct {
	X  Expr
	At int
}

// Compare is Left Op Right, Op being a comparison operator (eq … le).
type Compare struct {
	Op          Op
	Left, Right Expr
	At          int // position of the operator
}

// In is X in (List…).
type In struct {
	X    Expr
	List []*Literal
	At   int // position of "in"
}

// Call is a function call; Name is lower case: contains, startswith, endswith,
// tolower or toupper.
type Call struct {
	Name string
	Args []Expr
	At   int
}

// Property is a property or a navigation path such as Robot/Id, as written.
type Property struct {
	Path string
	At   int
}

// LiteralKind is the kind of a literal value.
type LiteralKind int

// The kinds of literal, with the Go type of Literal.Value for each.
const (
	LitNull    LiteralKind = iota // null: nil
	LitString                     // 'text': string
	LitInt                        // 123 or 123L: int64
	LitDecimal                    // 1.5: float64
	LitBool                       // true, false: bool
	LitTime                       // 2024-04-04T12:00:47Z or datetime'…': time.Time in UTC
	LitGUID                       // a GUID, unquoted or guid'…': string in lower case
)

// Literal is a constant. Text is the literal as written (empty for literals built by
// hand; String then formats Value).
type Literal struct {
	Kind  LiteralKind
	Value any
	Text  string
	At    int
}

func (x *Logical) Pos() int  { return x.At }
func (x *Not) Pos() int      { return x.At }
func (x *Compare) Pos() int  { return x.At }
func (x *In) Pos() int       { return x.At }
func (x *Call) Pos() int     { return x.At }
func (x *Property) Pos() int { return x.At }
func (x *Literal) Pos() int  { return x.At }

func (*Logical) isExpr()  {}
func (*Not) isExpr()      {}
func (*Compare) isExpr()  {}
func (*In) isExpr()       {}
func (*Call) isExpr()     {}
func (*Property) isExpr() {}
func (*Literal) isExpr()  {}

func (x *Logical) String() string  { return format(x, 0) }
func (x *Not) String() string      { return format(x, 0) }
func (x *Compare) String() string  { return format(x, 0) }
func (x *In) String() string       { return format(x, 0) }
func (x *Call) String() string     { return format(x, 0) }
func (x *Property) String() string { return x.Path }

// String returns the literal as written, or Value in OData syntax.
func (x *Literal) String() string {
	if x.Text != "" {
		return x.Text
	}
	switch v := x.Value.(type) {
	case string:
		if x.Kind == LitGUID {
			return v
		}
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		s := strconv.FormatFloat(v, 'e', -1, 64)
		return s
	case bool:
		return strconv.FormatBool(v)
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	}
	return "null"
}

// Binding strengths, loosest first, for format.
const (
	precOr = iota + 1
	precAnd
	precNot
	precCompare
	precOperand
)

// format renders x, in parentheses if it binds more loosely than min.
func format(x Expr, min int) string {
	wrap := func(prec int, s string) string {
		if prec < min {
			return "(" + s + ")"
		}
		return s
	}
	switch x := x.(type) {
	case *Logical:
		prec := precAnd
		if x.Op == OpOr {
			prec = precOr
		}
		return wrap(prec, format(x.Left, prec)+" "+string(x.Op)+" "+format(x.Right, prec+1))
	case *Not:
		return wrap(precNot, "not "+format(x.X, precNot))
	case *Compare:
		return wrap(precCompare, format(x.Left, precOperand)+" "+string(x.Op)+" "+format(x.Right, precOperand))
	case *In:
		items := make([]string, len(x.List))
		for i, l := range x.List {
			items[i] = l.String()
		}
		return wrap(precCompare, format(x.X, precOperand)+" in ("+strings.Join(items, ",")+")")
	case *Call:
		args := make([]string, len(x.Args))
		for i, a := range x.Args {
			args[i] = format(a, precOperand)
		}
		return x.Name + "(" + strings.Join(args, ",") + ")"
	case nil:
		return ""
	}
	return x.String()
}
