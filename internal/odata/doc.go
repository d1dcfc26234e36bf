// Package odata reads the OData v4 query options of a list request as UiPath
// Orchestrator's clients send them ($filter, $orderby, $top, $skip, $count, $select,
// $expand) and turns $filter and $orderby into parameterised SQL for a described
// entity set, for SQLite and PostgreSQL alike.
//
// # Use
//
//	v, err := odata.ParseQueryString(r.URL.RawQuery) // keeps ";" (r.URL.Query() drops such pairs)
//	q, err := odata.Parse(v, odata.Limits{DefaultTop: 100, MaxTop: 1000})
//	where, args, err := q.Where(jobs, odata.SQLOptions{FirstArg: 2, Time: engineTime})
//	order, err := q.OrderBySQL(jobs) // then add ", j.id" as the tiebreak
//
// Errors are *Error: they name the option, the position in its value (1-based, in
// characters) and what was expected or found, and are meant for the caller.
//
// # Query options
//
// Option names start with "$" and are case-insensitive ($Top); other parameters are
// left to the caller. An unknown "$" option, an option given twice or a malformed value
// is an error; a blank value counts as absent. $top defaults to Limits.DefaultTop and
// may not exceed Limits.MaxTop; $top and $skip are whole numbers, 0 or more; $count is
// true or false; $select is a list of names or *; $expand is a list of navigation
// properties, each with optional nested $select and $expand separated by ";":
// Robot($select=Name;$expand=Machine). The limits are UiPath's: 100 comparisons in a
// $filter, 5 keys in $orderby, 2 levels of $expand; to bound the cost of a hostile
// query a $filter also nests at most 50 levels and lists at most 1000 values after in.
// $orderby keys are properties with an optional asc or desc. ParseFilter parses a
// $filter on its own.
//
// # $filter
//
// Keywords are case-insensitive. Loosest binding first:
//
//	a or b
//	a and b
//	not a
//	Prop eq|ne|gt|ge|lt|le value      (the value may also come first: 5 lt Id)
//	Prop in (value, value, …)
//	contains(Prop,'x'), startswith(Prop,'x'), endswith(Prop,'x')   (alone, or eq true/false)
//	tolower(Prop), toupper(Prop)      (around a text property or a string)
//	( … )
//	IsActive                          (a true/false property alone)
//
// Properties are names or navigation paths (Robot/Id). Values:
//
//	'text', 'it''s'                      text; a quote inside is doubled
//	123, -5, 123L                        integers (L marks an int64, as in OData v3)
//	1.5, 2e3                             decimals
//	true, false, null
//	2024-04-04T12:00:47.264Z, 2024-04-04 dates and times, unquoted; no zone means UTC
//	datetime'2024-04-04T12:00:47Z'       the OData v3 form
//	8c3e2c4e-1a2b-4c5d-9e8f-0a1b2c3d4e5f GUIDs, unquoted or as guid'…'
//
// A zone offset "+02:00" whose "+" arrived as a space (an unencoded "+" in a URL) is
// read as "+02:00".
//
// # Translation to SQL
//
// An Entity lists the properties that may be named, each with its column (an SQL
// expression the caller writes, such as "j.state" or the column of a join for
// "Robot/Id") and type. No text of the query becomes SQL: properties are looked up,
// values are bound to placeholders $1, $2, … (both engines read them), every
// condition is parenthesised. The columns must hold:
//
//   - String: text. Compared case-insensitively, as UiPath's SQL Server collation does:
//     LOWER(col) = LOWER($n); with Folded, the column holds strings.ToLower of the text
//     and is compared as it is with a lowered value. contains, startswith and endswith
//     become LIKE with %, _ and \ escaped (ESCAPE '\'). On SQLite, LOWER folds ASCII
//     letters only.
//   - Int: integers; values are bound as int64.
//   - Bool: booleans (SQLite: 0/1); bound as bool.
//   - Time: whatever SQLOptions.Time makes of a time.Time (SQLite: microseconds since
//     1970 as an INTEGER; PostgreSQL: timestamptz). A quoted ISO-8601 string is taken too.
//   - Guid: lower-case text; a GUID in quotes is taken too.
//   - Enum: the NAME of the value ("Running"), not its number. A value is accepted by
//     name in any case, by number, or by number in quotes (Status eq '0'); gt, ge, lt,
//     le compare numbers and become the set of names in the range; $orderby sorts by
//     number.
//
// Nulls follow OData: eq null is IS NULL; a comparison with a NULL column is false and
// its negation (ne, not) true.
//
// # Not supported
//
// Arithmetic (add, sub, mul, div, mod); other functions (substringof, length, indexof,
// substring, trim, concat, year, month, day, hour, minute, second, date, time, now,
// round, floor, ceiling, cast, isof); lambdas (any, all) and collection paths; $it and
// $root; has; comparing two properties; duration, binary and other typed literals;
// $search, $apply, $format, $skiptoken, $levels; $filter, $orderby, $top, $skip and
// $count inside $expand; sorting by an expression. $select and $expand are parsed
// only: checking their names is the caller's work.
package odata
