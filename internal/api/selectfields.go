package api

import (
	"encoding/json"
	"slices"
	"strings"
)

// project keeps only the $select-ed properties of each item (matched case-insensitively,
// written with their proper names). A property the entity does not have is a 400 listing
// the ones it has.
func project[T any](items []T, fields []string) ([]map[string]json.RawMessage, *apiError) {
	out := make([]map[string]json.RawMessage, 0, len(items))
	var names []string
	for _, it := range items {
		b, err := json.Marshal(it)
		if err != nil {
			return nil, invalid("$select: %s", err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, invalid("$select is not available here")
		}
		keep := make(map[string]json.RawMessage, len(fields))
		for _, f := range fields {
			found := false
			for k, v := range m {
				if strings.EqualFold(k, f) {
					keep[k], found = v, true
					break
				}
			}
			if !found {
				names = names[:0]
				for k := range m {
					names = append(names, k)
				}
				slices.Sort(names)
				return nil, invalid("$select: %s is not a property here; the properties are %s", f, strings.Join(names, ", "))
			}
		}
		out = append(out, keep)
	}
	return out, nil
}
