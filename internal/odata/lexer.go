package odata

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// tokenKind is the kind of a token of a query option's value.
type tokenKind int

const (
	tEOF     tokenKind = iota
	tLParen            // (
	tRParen            // )
	tComma             // ,
	tSemi              // ; (between the options nested in $expand)
	tEquals            // = (in nested $expand options)
	tStar              // * (in $select)
	tIdent             // a name or a path: Name, Robot/Id, $select, eq, true
	tString            // 'text'
	tInt               // 123, -5, 123L
	tDecimal           // 1.5, 2e3
	tTime              // 2024-04-04T12:00:47.264Z, datetime'…'
	tGUID              // 8-4-4-4-12 hex digits, guid'…'
)

// singles are the tokens of one character.
var singles = map[byte]tokenKind{'(': tLParen, ')': tRParen, ',': tComma, ';': tSemi, '=': tEquals, '*': tStar}

// token is one token; text is as written, the other fields hold its value.
type token struct {
	kind tokenKind
	pos  int    // 1-based character position in the option's value
	text string // the source text
	str  string // tIdent: the name; tString: the unescaped text; tGUID: lower case
	num  int64
	dec  float64
	time time.Time
}

// lexer splits an option's value into tokens, one at a time so that errors are found
// in the order a reader meets them. It reports errors by calling fail.
type lexer struct {
	option string // for errors: "$filter"
	src    string
	off    int // byte offset of the next character
	col    int // 1-based character position of src[off]
}

func newLexer(option, src string) *lexer {
	return &lexer{option: option, src: src, col: 1}
}

// peekRune returns the character at byte offset off (utf8.RuneError and 0 at the end).
func (l *lexer) peekRune(off int) (rune, int) {
	if off >= len(l.src) {
		return 0, 0
	}
	return utf8.DecodeRuneInString(l.src[off:])
}

// advance moves past n bytes that the caller has inspected.
func (l *lexer) advance(n int) {
	l.col += utf8.RuneCountInString(l.src[l.off : l.off+n])
	l.off += n
}

func isIdentStart(r rune) bool { return r == '_' || r == '$' || unicode.IsLetter(r) }
func isIdentPart(r rune) bool  { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }
func isDigit(b byte) bool      { return '0' <= b && b <= '9' }
func isHex(b byte) bool {
	return isDigit(b) || ('a' <= b && b <= 'f') || ('A' <= b && b <= 'F')
}

// endsToken reports whether the character at byte offset off cannot continue a name
// or a number, so that a token may end there.
func (l *lexer) endsToken(off int) bool {
	r, n := l.peekRune(off)
	return n == 0 || !(isIdentPart(r) || r == '.' || r == '-' || r == '\'')
}

// next returns the next token.
func (l *lexer) next() token {
	for l.off < len(l.src) {
		r, n := l.peekRune(l.off)
		if !unicode.IsSpace(r) {
			break
		}
		l.advance(n)
	}
	start, pos := l.off, l.col
	if start >= len(l.src) {
		return token{kind: tEOF, pos: pos}
	}
	c := l.src[start]
	if k, ok := singles[c]; ok {
		l.advance(1)
		return token{kind: k, pos: pos, text: string(c)}
	}
	switch {
	case c == '\'':
		s := l.quoted()
		return token{kind: tString, pos: pos, text: l.src[start:l.off], str: s}
	case c == '"':
		fail(l.option, pos, `strings are written in single quotes: 'text', not "text"`)
	case strings.IndexByte("<>!&|", c) >= 0:
		fail(l.option, pos, "unexpected '%c': comparisons are written eq, ne, gt, ge, lt, le and logic and, or, not", c)
	case l.guidAt(start):
		l.advance(36)
		g := l.src[start:l.off]
		return token{kind: tGUID, pos: pos, text: g, str: strings.ToLower(g)}
	case l.dateAt(start):
		return l.datetime(start, pos)
	case isDigit(c) || (c == '-' && start+1 < len(l.src) && isDigit(l.src[start+1])):
		return l.number(start, pos)
	}
	r, _ := l.peekRune(start)
	if isIdentStart(r) {
		return l.ident(start, pos)
	}
	fail(l.option, pos, "unexpected '%c'", r)
	panic("unreachable")
}

// quoted reads a single-quoted string at l.off, in which a doubled quote stands for
// one, and returns its unescaped text.
func (l *lexer) quoted() string {
	pos := l.col
	l.advance(1)
	var b strings.Builder
	for {
		i := strings.IndexByte(l.src[l.off:], '\'')
		if i < 0 {
			fail(l.option, pos, "the string that starts here is not closed with a quote (a quote inside a string is written '')")
		}
		b.WriteString(l.src[l.off : l.off+i])
		l.advance(i + 1)
		if l.off < len(l.src) && l.src[l.off] == '\'' {
			b.WriteByte('\'')
			l.advance(1)
			continue
		}
		return b.String()
	}
}

// guidAt reports whether an unquoted GUID (8-4-4-4-12 hex digits) starts at off.
func (l *lexer) guidAt(off int) bool {
	if len(l.src)-off < 36 {
		return false
	}
	for i := range 36 {
		c := l.src[off+i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return l.endsToken(off + 36)
}

// dateAt reports whether an unquoted date (yyyy-mm-dd) starts at off.
func (l *lexer) dateAt(off int) bool {
	s := l.src[off:]
	if len(s) < 10 {
		return false
	}
	for i := range 10 {
		if i == 4 || i == 7 {
			if s[i] != '-' {
				return false
			}
		} else if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// datetime reads an unquoted ISO-8601 date or date and time at start. A zone offset
// "+02:00" sent unencoded in a URL arrives as " 02:00"; that is read as "+02:00".
func (l *lexer) datetime(start, pos int) token {
	i := start + 10
	s := l.src
	if i < len(s) && (s[i] == 'T' || s[i] == 't') {
		i++
		for i < len(s) && (isDigit(s[i]) || s[i] == ':' || s[i] == '.') {
			i++
		}
		switch {
		case i < len(s) && (s[i] == 'Z' || s[i] == 'z'):
			i++
		case i < len(s) && (s[i] == '+' || s[i] == '-'):
			i++
			for i < len(s) && (isDigit(s[i]) || s[i] == ':') {
				i++
			}
		case i+6 <= len(s) && s[i] == ' ' && isDigit(s[i+1]) && isDigit(s[i+2]) && s[i+3] == ':' &&
			isDigit(s[i+4]) && isDigit(s[i+5]) && (i+6 == len(s) || strings.IndexByte(" ),", s[i+6]) >= 0):
			i += 6
		}
	}
	text := s[start:i]
	l.advance(i - start)
	if !l.endsToken(l.off) {
		r, _ := l.peekRune(l.off)
		fail(l.option, l.col, "unexpected '%c' after the date %s", r, text)
	}
	t, ok := parseTime(strings.Replace(text, " ", "+", 1))
	if !ok {
		fail(l.option, pos, "%s is not a valid date and time; write it as 2024-04-04T12:00:47.264Z", text)
	}
	return token{kind: tTime, pos: pos, text: text, time: t}
}

// timeLayouts are the ISO-8601 forms accepted for dates and times; without a zone the
// time is UTC. Fractional seconds are optional in every layout with seconds.
var timeLayouts = []string{
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02",
}

// parseTime parses an ISO-8601 date or date and time, returning it in UTC.
func parseTime(s string) (time.Time, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseGUID checks the 8-4-4-4-12 form, with or without braces, and returns it in
// lower case.
func parseGUID(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) == 38 && s[0] == '{' && s[37] == '}' {
		s = s[1:37]
	}
	l := lexer{src: s}
	if len(s) != 36 || !l.guidAt(0) {
		return "", false
	}
	return strings.ToLower(s), true
}

// number reads an integer (with an optional L suffix) or a decimal at start.
func (l *lexer) number(start, pos int) token {
	s := l.src
	i := start
	if s[i] == '-' {
		i++
	}
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	decimal := false
	if i+1 < len(s) && s[i] == '.' && isDigit(s[i+1]) {
		decimal = true
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && isDigit(s[j]) {
			decimal = true
			for i = j; i < len(s) && isDigit(s[i]); i++ {
			}
		}
	}
	digits := s[start:i]
	if !decimal && i < len(s) && (s[i] == 'L' || s[i] == 'l') {
		i++
	}
	text := s[start:i]
	l.advance(i - start)
	if !l.endsToken(l.off) {
		r, _ := l.peekRune(l.off)
		fail(l.option, l.col, "unexpected '%c' after the number %s", r, text)
	}
	if decimal {
		f, err := strconv.ParseFloat(digits, 64)
		if err != nil {
			fail(l.option, pos, "the number %s is out of range", text)
		}
		return token{kind: tDecimal, pos: pos, text: text, dec: f}
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		fail(l.option, pos, "the number %s is out of range for a 64-bit integer", text)
	}
	return token{kind: tInt, pos: pos, text: text, num: n}
}

// ident reads a name, a path of names joined by '/', or a typed literal such as
// datetime'…' or guid'…'.
func (l *lexer) ident(start, pos int) token {
	l.name()
	if l.off < len(l.src) && l.src[l.off] == '\'' {
		switch prefix := strings.ToLower(l.src[start:l.off]); prefix {
		case "datetime", "datetimeoffset", "guid":
			s := l.quoted()
			text := l.src[start:l.off]
			if prefix == "guid" {
				g, ok := parseGUID(s)
				if !ok {
					fail(l.option, pos, "%s is not a valid GUID; write it as guid'8c3e2c4e-1a2b-4c5d-9e8f-0a1b2c3d4e5f'", text)
				}
				return token{kind: tGUID, pos: pos, text: text, str: g}
			}
			t, ok := parseTime(strings.ReplaceAll(s, " ", "+"))
			if !ok {
				fail(l.option, pos, "%s is not a valid date and time; write it as 2024-04-04T12:00:47.264Z", text)
			}
			return token{kind: tTime, pos: pos, text: text, time: t}
		case "x", "binary", "time", "duration", "date":
			fail(l.option, pos, "literals written %s'…' are not supported; the typed literals supported are datetime'…' and guid'…'", l.src[start:l.off])
		}
	}
	for l.off < len(l.src) && l.src[l.off] == '/' {
		r, _ := l.peekRune(l.off + 1)
		if !isIdentStart(r) || r == '$' {
			fail(l.option, l.col+1, "expected a property name after '/' in %s", l.src[start:l.off+1])
		}
		l.advance(1)
		l.name()
	}
	text := l.src[start:l.off]
	return token{kind: tIdent, pos: pos, text: text, str: text}
}

// name reads one name at l.off, whose first character the caller has checked.
func (l *lexer) name() {
	_, n := l.peekRune(l.off)
	l.advance(n)
	for {
		r, n := l.peekRune(l.off)
		if n == 0 || !isIdentPart(r) {
			return
		}
		l.advance(n)
	}
}
