package odata

import (
	"strconv"
	"strings"
)

// Limits of a $filter. MaxComparisons is UiPath's; the others keep a hostile query
// from costing much.
const (
	MaxComparisons = 100  // comparisons (eq, in, contains(…), …) in one $filter
	MaxNesting     = 50   // levels of parentheses, not and function calls
	MaxInList      = 1000 // values in the list of one in
)

// functions maps the supported functions to their number of arguments.
var functions = map[string]int{"contains": 2, "startswith": 2, "endswith": 2, "tolower": 1, "toupper": 1}

// boolFunctions are the functions that are conditions on their own.
var boolFunctions = map[string]bool{"contains": true, "startswith": true, "endswith": true}

// keywords may not be used as property names in a $filter.
var keywords = map[string]bool{"and": true, "or": true, "not": true, "in": true,
	"eq": true, "ne": true, "gt": true, "ge": true, "lt": true, "le": true}

// parser reads one query option's value. The grammar of $filter, loosest first:
//
//	or         = and { "or" and }
//	and        = not { "and" not }
//	not        = "not" not | comparison
//	comparison = operand [ ("eq"|"ne"|"gt"|"ge"|"lt"|"le") operand | "in" "(" literal { "," literal } ")" ]
//	operand    = "(" or ")" | literal | name "(" operand { "," operand } ")" | path
//
// Keywords are case-insensitive. The same parser reads $orderby, $select and $expand.
type parser struct {
	lex         *lexer
	tok         token
	depth       int
	comparisons int
}

func newParser(option, src string) *parser {
	p := &parser{lex: newLexer(option, src)}
	p.next()
	return p
}

func (p *parser) next() { p.tok = p.lex.next() }

func (p *parser) fail(pos int, format string, args ...any) {
	fail(p.lex.option, pos, format, args...)
}

// isWord reports whether the current token is the keyword w, in any case.
func (p *parser) isWord(w string) bool {
	return p.tok.kind == tIdent && strings.EqualFold(p.tok.str, w)
}

// found describes the current token for an error message.
func (p *parser) found() string {
	switch p.tok.kind {
	case tEOF:
		return "the end of " + p.lex.option
	case tString:
		return "the text " + p.tok.text
	}
	return "'" + p.tok.text + "'"
}

// enter and leave bound the nesting of parentheses, not and calls.
func (p *parser) enter(pos int) {
	p.depth++
	if p.depth > MaxNesting {
		p.fail(pos, "nested more than %d levels deep", MaxNesting)
	}
}

func (p *parser) leave() { p.depth-- }

// counted is called for each comparison; a $filter may hold MaxComparisons.
func (p *parser) counted(pos int) {
	p.comparisons++
	if p.comparisons > MaxComparisons {
		p.fail(pos, "this is comparison number %d; a $filter may hold at most %d", p.comparisons, MaxComparisons)
	}
}

// ParseFilter parses the text of a $filter. Errors are *Error.
func ParseFilter(s string) (x Expr, err error) {
	defer catch(&err)
	p := newParser("$filter", s)
	if p.tok.kind == tEOF {
		p.fail(0, "$filter is empty")
	}
	x = p.or()
	if p.tok.kind != tEOF {
		p.fail(p.tok.pos, "expected and, or, or the end of $filter; found %s", p.found())
	}
	return x, nil
}

func (p *parser) or() Expr {
	x := p.and()
	for p.isWord("or") {
		at := p.tok.pos
		p.next()
		x = &Logical{Op: OpOr, Left: x, Right: p.and(), At: at}
	}
	return x
}

func (p *parser) and() Expr {
	x := p.not()
	for p.isWord("and") {
		at := p.tok.pos
		p.next()
		x = &Logical{Op: OpAnd, Left: x, Right: p.not(), At: at}
	}
	return x
}

func (p *parser) not() Expr {
	if !p.isWord("not") {
		return p.comparison()
	}
	at := p.tok.pos
	p.next()
	p.enter(at)
	x := p.not()
	p.leave()
	return &Not{X: x, At: at}
}

func (p *parser) comparison() Expr {
	start := p.tok.pos
	x, grouped := p.operand()
	switch {
	case p.tok.kind == tIdent && compareOps[strings.ToLower(p.tok.str)] != "":
		op, at := compareOps[strings.ToLower(p.tok.str)], p.tok.pos
		p.next()
		y, _ := p.operand()
		p.counted(at)
		return &Compare{Op: op, Left: x, Right: y, At: at}
	case p.isWord("in"):
		at := p.tok.pos
		p.next()
		p.counted(at)
		return &In{X: x, List: p.list(), At: at}
	case p.tok.kind == tEquals:
		p.fail(p.tok.pos, "found '='; comparisons are written eq, ne, gt, ge, lt, le: Name eq 'x'")
	}
	if !grouped {
		p.counted(start) // a condition on its own: contains(…), or a true/false property
	}
	return x
}

// list reads the parenthesised list of values after in.
func (p *parser) list() []*Literal {
	if p.tok.kind != tLParen {
		p.fail(p.tok.pos, "expected '(' and a list of values after in; found %s", p.found())
	}
	p.next()
	var list []*Literal
	for {
		l := p.literal()
		if l == nil {
			p.fail(p.tok.pos, "expected a value in the list after in; found %s", p.found())
		}
		if len(list) == MaxInList {
			p.fail(l.At, "the list after in has more than %d values", MaxInList)
		}
		list = append(list, l)
		switch p.tok.kind {
		case tComma:
			p.next()
		case tRParen:
			p.next()
			return list
		default:
			p.fail(p.tok.pos, "expected ',' or ')' in the list after in; found %s", p.found())
		}
	}
}

// literal reads a literal value, or returns nil when the current token is not one.
func (p *parser) literal() *Literal {
	t := p.tok
	l := &Literal{Text: t.text, At: t.pos}
	switch t.kind {
	case tString:
		l.Kind, l.Value = LitString, t.str
	case tInt:
		l.Kind, l.Value = LitInt, t.num
	case tDecimal:
		l.Kind, l.Value = LitDecimal, t.dec
	case tTime:
		l.Kind, l.Value = LitTime, t.time
	case tGUID:
		l.Kind, l.Value = LitGUID, t.str
	case tIdent:
		switch strings.ToLower(t.str) {
		case "true", "false":
			l.Kind, l.Value = LitBool, strings.EqualFold(t.str, "true")
		case "null":
			l.Kind = LitNull
		default:
			return nil
		}
	default:
		return nil
	}
	p.next()
	return l
}

// operand reads an operand; grouped reports a parenthesised expression.
func (p *parser) operand() (x Expr, grouped bool) {
	if p.tok.kind == tLParen {
		at := p.tok.pos
		p.next()
		p.enter(at)
		x := p.or()
		p.leave()
		if p.tok.kind != tRParen {
			p.fail(p.tok.pos, "expected ')' to close the '(' at %d; found %s", at, p.found())
		}
		p.next()
		return x, true
	}
	if l := p.literal(); l != nil {
		return l, false
	}
	t := p.tok
	if t.kind != tIdent || keywords[strings.ToLower(t.str)] {
		p.fail(t.pos, "expected a property, a value or '('; found %s", p.found())
	}
	p.next()
	if p.tok.kind == tLParen {
		return p.call(t), false
	}
	return &Property{Path: t.str, At: t.pos}, false
}

// call reads the arguments of the function named by t; the current token is '('.
func (p *parser) call(t token) Expr {
	name := strings.ToLower(t.str)
	arity, ok := functions[name]
	if !ok {
		hint := ""
		if name == "substringof" {
			hint = " (substringof('x',Name) is OData v3; write contains(Name,'x'))"
		}
		p.fail(t.pos, "unknown function %s%s; the functions supported are contains, startswith, endswith, tolower, toupper", t.str, hint)
	}
	p.next()
	p.enter(t.pos)
	var args []Expr
	for len(args) < arity {
		if len(args) > 0 {
			if p.tok.kind == tRParen {
				p.fail(p.tok.pos, "%s takes %s; found %d", name, plural(arity, "argument"), len(args))
			}
			if p.tok.kind != tComma {
				p.fail(p.tok.pos, "expected ',' between the arguments of %s; found %s", name, p.found())
			}
			p.next()
		}
		a, _ := p.operand()
		args = append(args, a)
	}
	p.leave()
	if p.tok.kind == tComma {
		p.fail(p.tok.pos, "%s takes %s; found more", name, plural(arity, "argument"))
	}
	if p.tok.kind != tRParen {
		p.fail(p.tok.pos, "expected ')' after the arguments of %s; found %s", name, p.found())
	}
	p.next()
	return &Call{Name: name, Args: args, At: t.pos}
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
