package identity

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// oauthError is an RFC 6749 error: a code from the RFC and a description naming the exact
// cause. Handlers return it; writeOAuthError renders it.
type oauthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	status      int
	retryAfter  time.Duration
	basicAuth   bool // the client tried HTTP Basic: answer 401 with a challenge
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func oauthErr(code string, format string, args ...any) *oauthError {
	status := http.StatusBadRequest
	if code == "invalid_client" {
		status = http.StatusUnauthorized
	}
	return &oauthError{Code: code, Description: fmt.Sprintf(format, args...), status: status}
}

// writeOAuthError writes e as the token endpoint answers errors.
func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if e.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Basic realm="identity", error="invalid_client"`)
	}
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(e.retryAfter.Round(time.Second)/time.Second)))
	}
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(e)
}

// writeTokenJSON writes a successful token response (never cached).
func writeTokenJSON(w http.ResponseWriter, v any) { writeJSONStatus(w, http.StatusOK, v) }

// writeJSONStatus writes v as JSON that no cache may keep.
func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
