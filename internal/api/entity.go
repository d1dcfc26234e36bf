package api

import "encoding/json"

// withContext returns v's JSON object with "@odata.context" first.
func withContext(ctx string, v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil || len(b) < 2 || b[0] != '{' {
		return b
	}
	head, _ := json.Marshal(map[string]string{"@odata.context": ctx})
	if string(b) == "{}" {
		return head
	}
	out := append(head[:len(head)-1:len(head)-1], ',')
	return append(out, b[1:]...)
}
