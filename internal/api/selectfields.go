package api

import (
	"slices"
	"strings"
)

// selection resolves a $select against an entity type: the proper names of the
// properties to keep, matched case-insensitively, or nil to keep them all (no $select, or
// *). Navigation properties may be selected too. A name the type does not have is a 400
// listing the ones it has, even when the page is empty.
func selection(t *entityType, label string, sel []string) (map[string]bool, *apiError) {
	if len(sel) == 0 || slices.Contains(sel, "*") {
		return nil, nil
	}
	keep := make(map[string]bool, len(sel))
	for _, s := range sel {
		name := ""
		for _, p := range t.props {
			if strings.EqualFold(p.Name, s) {
				name = p.Name
				break
			}
		}
		if n := t.navigation(s); name == "" && n != nil {
			name = n.Name
		}
		if name == "" {
			names := t.navNames()
			for _, p := range t.props {
				names = append(names, p.Name)
			}
			slices.Sort(names)
			return nil, invalid("$select: %s is not a property of %s; its properties are %s", s, label, strings.Join(names, ", "))
		}
		keep[name] = true
	}
	return keep, nil
}

// project keeps the properties of o that keep names, in their order.
func project(o jsonObject, keep map[string]bool) jsonObject {
	out := make(jsonObject, 0, len(keep))
	for _, p := range o {
		if keep[p.Name] {
			out = append(out, p)
		}
	}
	return out
}
