package api_test

import (
	"encoding/json"
	"strconv"
)

func strconvI(n int64) string { return strconv.FormatInt(n, 10) }

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
