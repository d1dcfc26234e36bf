package api

import (
	"errors"
	"net/http"
	"reflect"
	"strings"

	"github.com/openorch/openorch/internal/odata"
	"github.com/openorch/openorch/internal/store"
)

// Helpers every entity set uses: OData list queries, list and entity answers, and the
// mapping of store errors to answers.

// listQuery parses the OData query options of a list, with the paging cap of DESIGN §5:
// without $top a list returns the cap, and a $top above it is refused. $select and $expand
// are parsed here too, so that a malformed one is refused before the store is read;
// writeList applies them.
func listQuery(c *call, limit int) (odata.Query, *apiError) {
	v, err := odata.ParseQueryString(c.r.URL.RawQuery)
	if err != nil {
		return odata.Query{}, invalid("the query string is malformed: %s", err)
	}
	q, err := odata.Parse(v, odata.Limits{DefaultTop: limit, MaxTop: limit})
	if err != nil {
		return odata.Query{}, invalid("%s", err)
	}
	return q, nil
}

// searchError turns a store search error into the answer: a query the entity set cannot
// answer is the caller's mistake (400), anything else is internal.
func searchError(c *call, err error) *apiError {
	if errors.Is(err, store.ErrInvalid) {
		return invalid("%s", strings.TrimPrefix(err.Error(), store.ErrInvalid.Error()+": "))
	}
	return storeError(c, err)
}

// writeList writes an OData collection; total is the count for $count=true (-1: not asked).
// $select and $expand shape the items (expand.go); the set's entity type comes from the
// entity model by the items' Go type.
func writeList[T any](a *API, c *call, set string, items []T, total int) *apiError {
	var value any = items
	if items == nil {
		value = []T{}
	}
	sel, exp, e := shapeOptions(c, false)
	if e != nil {
		return e
	}
	if shapes(sel, exp) {
		page := make([]any, len(items))
		for i, it := range items {
			page[i] = it
		}
		if value, e = shapePage(a, c, set, reflect.TypeFor[T](), page, sel, exp); e != nil {
			return e
		}
	}
	body := map[string]any{"@odata.context": c.base + "/odata/$metadata#" + set, "value": value}
	if total >= 0 {
		body["@odata.count"] = total
	}
	writeJSON(c.w, http.StatusOK, body)
	return nil
}

// writeEntity writes one entity with its @odata.context; on a GET, shaped by $select and
// $expand.
func writeEntity(a *API, c *call, set string, v any) *apiError {
	if readsEntity(c.r) {
		sel, exp, e := shapeOptions(c, true)
		if e != nil {
			return e
		}
		if shapes(sel, exp) {
			objs, e := shapePage(a, c, set, reflect.TypeOf(v), []any{v}, sel, exp)
			if e != nil {
				return e
			}
			v = objs[0]
		}
	}
	writeJSON(c.w, http.StatusOK, withContext(c.base+"/odata/$metadata#"+set+"/$entity", v))
	return nil
}

// storeError maps the store's sentinel errors to answers; their messages name the entity
// and the field, so they are shown as they are.
func storeError(c *call, err error) *apiError {
	if err == nil {
		return nil
	}
	// "folder \"Shared\" already exists in this tenant: conflict" → without the sentinel's word.
	msg := err.Error()
	for _, s := range []error{store.ErrNotFound, store.ErrConflict, store.ErrInvalid} {
		msg = strings.TrimSuffix(msg, ": "+s.Error())
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("%s", msg)
	case errors.Is(err, store.ErrConflict):
		return &apiError{Status: http.StatusConflict, Code: 1001, Message: msg}
	case errors.Is(err, store.ErrInvalid):
		return invalid("%s", msg)
	}
	return internalError(c.r, err)
}
