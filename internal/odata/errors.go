package odata

import "fmt"

// Error is what Parse, Query.Where and Query.OrderBySQL return for a query the caller
// got wrong: it names the query option, the position in the option's value and what was
// expected or found. Its text is meant to be shown to the caller as it is.
type Error struct {
	// Option is the query option at fault, with its "$": "$filter", "$top".
	Option string
	// Pos is the 1-based position (in characters) of the fault in the option's
	// value; 0 when the fault is with the option as a whole.
	Pos int
	// Msg says what is wrong. When Pos is 0 it is a whole sentence that names the
	// option itself ("$top is 5000 but the most this list returns is 1000; …").
	Msg string
}

// Error renders "$filter: at 14: expected ')' …", or Msg alone when Pos is 0.
func (e *Error) Error() string {
	if e.Pos <= 0 || e.Option == "" {
		return e.Msg
	}
	return fmt.Sprintf("%s: at %d: %s", e.Option, e.Pos, e.Msg)
}

// bail carries an *Error out of a recursive parser through panic; the parser's entry
// point recovers it. Any other panic is a bug and is re-raised.
type bail struct{ err *Error }

func fail(option string, pos int, format string, args ...any) {
	panic(bail{&Error{Option: option, Pos: pos, Msg: fmt.Sprintf(format, args...)}})
}

// catch turns a bail panic into *err; deferred by every parser entry point.
func catch(err *error) {
	if r := recover(); r != nil {
		b, ok := r.(bail)
		if !ok {
			panic(r)
		}
		*err = b.err
	}
}
