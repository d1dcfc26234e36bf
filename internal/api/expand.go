package api

import (
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/openorch/openorch/internal/odata"
)

// $select and $expand: the answer's entities are shaped from the DTOs the handlers make,
// with the entity model (model.go) saying which properties and navigations each type has.

// shapeOptions reads $select and $expand from the query string. For a single entity it
// checks every option and refuses those that only apply to lists; a list's other options
// are listQuery's.
func shapeOptions(c *call, single bool) ([]string, []odata.Expand, *apiError) {
	v, err := odata.ParseQueryString(c.r.URL.RawQuery)
	if err != nil {
		return nil, nil, invalid("the query string is malformed: %s", err)
	}
	for k, vs := range v {
		switch strings.ToLower(k) {
		case "$select", "$expand":
		case "$filter", "$orderby", "$top", "$skip", "$count":
			if single && strings.TrimSpace(strings.Join(vs, "")) != "" {
				return nil, nil, invalid("%s applies to lists; this answer is a single entity, which only $select and $expand shape", k)
			}
			delete(v, k)
		default:
			if !single {
				delete(v, k)
			}
		}
	}
	q, err := odata.Parse(v, odata.Limits{})
	if err != nil {
		return nil, nil, invalid("%s", err)
	}
	return q.Select, q.Expand, nil
}

// shapes reports whether $select or $expand change an answer.
func shapes(sel []string, exp []odata.Expand) bool {
	return len(exp) > 0 || len(sel) > 0 && !slices.Contains(sel, "*")
}

// shapePage shapes a page of DTOs of Go type dto with the API's entity model.
func shapePage(a *API, c *call, label string, dto reflect.Type, page []any, sel []string, exp []odata.Expand) ([]jsonObject, *apiError) {
	m, err := apiModel()
	if err != nil {
		return nil, internalError(c.r, fmt.Errorf("entity model: %w", err))
	}
	t, err := m.typeOf(dto)
	if err != nil {
		return nil, internalError(c.r, fmt.Errorf("entity model: %w", err))
	}
	return m.shape(a, c, t, label, page, sel, exp)
}

// expansion is one navigation to expand, with the options that apply to its values.
type expansion struct {
	nav    *navigation
	target *entityType
	all    bool     // an item without $select: every property
	sel    []string // the union of the items' $select
	exp    []odata.Expand
}

func (x *expansion) selected() []string {
	if x.all || len(x.sel) == 0 {
		return nil
	}
	return x.sel
}

// shape turns a page of entities of type t (DTO values) into the answer's objects: the
// properties $select keeps, and each navigation of $expand loaded for the whole page with
// one call of its Load, then shaped in turn by its nested $select and $expand. Expanded
// navigations appear even when $select does not name them, as OData has it. label names
// where the entities are, for messages: "Roles", "Roles/Permissions". Every name, at
// every level, is checked before anything is loaded.
func (m *entityModel) shape(a *API, c *call, t *entityType, label string, page []any, sel []string, exp []odata.Expand) ([]jsonObject, *apiError) {
	if e := m.check(t, label, sel, exp); e != nil {
		return nil, e
	}
	return m.build(a, c, t, label, page, sel, exp)
}

// check resolves $select and $expand against t and the types they lead to.
func (m *entityModel) check(t *entityType, label string, sel []string, exp []odata.Expand) *apiError {
	if _, e := selection(t, label, sel); e != nil {
		return e
	}
	xs, e := m.expansions(t, label, exp)
	if e != nil {
		return e
	}
	for _, x := range xs {
		if e := m.check(x.target, label+"/"+x.nav.Name, x.selected(), x.exp); e != nil {
			return e
		}
	}
	return nil
}

// build is shape once the names are known to be right.
func (m *entityModel) build(a *API, c *call, t *entityType, label string, page []any, sel []string, exp []odata.Expand) ([]jsonObject, *apiError) {
	keep, e := selection(t, label, sel)
	if e != nil {
		return nil, e
	}
	xs, e := m.expansions(t, label, exp)
	if e != nil {
		return nil, e
	}
	out := make([]jsonObject, len(page))
	for i, v := range page {
		o, err := objectOf(v)
		if err != nil {
			return nil, internalError(c.r, fmt.Errorf("%s: %w", label, err))
		}
		out[i] = o
	}
	for _, x := range xs {
		var vals []any
		if len(page) > 0 {
			if vals, e = x.nav.Load(a, c, page); e != nil {
				return nil, e
			}
			if len(vals) != len(page) {
				return nil, internalError(c.r, fmt.Errorf("%s: navigation %s loaded %d values for %d entities", label, x.nav.Name, len(vals), len(page)))
			}
		}
		flat, spans, err := flatten(vals, x.nav.Many, x.target.DTO)
		if err != nil {
			return nil, internalError(c.r, fmt.Errorf("%s: navigation %s: %w", label, x.nav.Name, err))
		}
		shaped, e := m.build(a, c, x.target, label+"/"+x.nav.Name, flat, x.selected(), x.exp)
		if e != nil {
			return nil, e
		}
		for i := range out {
			var v any
			switch s := spans[i]; {
			case x.nav.Many:
				v = slices.Clip(shaped[s.start:s.end])
			case s.start < s.end:
				v = shaped[s.start]
			}
			out[i] = out[i].set(x.nav.Name, v)
		}
		if keep != nil {
			keep[x.nav.Name] = true
		}
	}
	if keep != nil {
		for i := range out {
			out[i] = project(out[i], keep)
		}
	}
	return out, nil
}

// expansions resolves $expand items against t. A path (Robot/Machine) stands for nested
// items (Robot($expand=Machine)); items of the same navigation merge.
func (m *entityModel) expansions(t *entityType, label string, items []odata.Expand) ([]*expansion, *apiError) {
	var out []*expansion
	for _, it := range items {
		head, rest, isPath := strings.Cut(it.Path, "/")
		n := t.navigation(head)
		if n == nil {
			if len(t.Nav) == 0 {
				return nil, invalid("$expand: %s has no navigation properties, so %s cannot be expanded; drop it from $expand", label, head)
			}
			return nil, invalid("$expand: %s is not a navigation property of %s; its navigation properties are %s", head, label, strings.Join(t.navNames(), ", "))
		}
		i := slices.IndexFunc(out, func(x *expansion) bool { return x.nav == n })
		if i < 0 {
			out = append(out, &expansion{nav: n, target: m.byName[n.Target]})
			i = len(out) - 1
		}
		x := out[i]
		if isPath {
			x.exp = append(x.exp, odata.Expand{Path: rest, Select: it.Select, Expand: it.Expand, Pos: it.Pos})
			continue
		}
		if it.Select == nil {
			x.all = true
		}
		x.sel = append(x.sel, it.Select...)
		x.exp = append(x.exp, it.Expand...)
	}
	return out, nil
}

// span is where an entity's navigation values sit in the flattened page: [start, end).
type span struct{ start, end int }

// flatten lays out the values of a navigation for a page as one page of DTO values of
// type want (pointers followed), so that the next level is loaded once for all of them.
func flatten(vals []any, many bool, want reflect.Type) ([]any, []span, error) {
	var flat []any
	spans := make([]span, len(vals))
	add := func(v reflect.Value) error {
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
			if v.IsNil() {
				return nil
			}
			v = v.Elem()
		}
		if v.Type() != want {
			return fmt.Errorf("a value is a %s, not a %s", v.Type(), want)
		}
		flat = append(flat, v.Interface())
		return nil
	}
	for i, val := range vals {
		spans[i].start = len(flat)
		if val != nil {
			v := reflect.ValueOf(val)
			switch {
			case !many:
				if err := add(v); err != nil {
					return nil, nil, err
				}
			case v.Kind() != reflect.Slice:
				return nil, nil, fmt.Errorf("a collection is loaded as a %s, not a slice", v.Type())
			default:
				for j := range v.Len() {
					if err := add(v.Index(j)); err != nil {
						return nil, nil, err
					}
				}
			}
		}
		spans[i].end = len(flat)
	}
	return flat, spans, nil
}

// readsEntity reports whether $select and $expand apply to the entity a request answers
// with: they shape what a GET reads, not what a write returns.
func readsEntity(r *http.Request) bool {
	return r.Method == http.MethodGet || r.Method == http.MethodHead
}
