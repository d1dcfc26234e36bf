package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/openorch/openorch/internal/odata"
	"github.com/openorch/openorch/internal/store"
)

// Helpers every entity set uses: OData list queries, list and entity answers, and the
// mapping of store errors to answers.

// listQuery parses the OData query options of a list, with the paging cap of DESIGN §5:
// without $top a list returns the cap, and a $top above it is refused.
func listQuery(c *call, limit int) (odata.Query, *apiError) {
	v, err := odata.ParseQueryString(c.r.URL.RawQuery)
	if err != nil {
		return odata.Query{}, invalid("the query string is malformed: %s", err)
	}
	q, err := odata.Parse(v, odata.Limits{DefaultTop: limit, MaxTop: limit})
	if err != nil {
		return odata.Query{}, invalid("%s", err)
	}
	if len(q.Expand) > 0 {
		return odata.Query{}, invalid("$expand is not available on %s", c.route.Set)
	}
	c.selectFields = q.Select
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
func writeList[T any](c *call, set string, items []T, total int) *apiError {
	var value any = items
	if items == nil {
		value = []T{}
	}
	if len(c.selectFields) > 0 && !(len(c.selectFields) == 1 && c.selectFields[0] == "*") {
		projected, e := project(items, c.selectFields)
		if e != nil {
			return e
		}
		value = projected
	}
	body := map[string]any{"@odata.context": c.base + "/odata/$metadata#" + set, "value": value}
	if total >= 0 {
		body["@odata.count"] = total
	}
	writeJSON(c.w, http.StatusOK, body)
	return nil
}

// writeEntity writes one entity with its @odata.context.
func writeEntity(c *call, set string, v any) *apiError {
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
