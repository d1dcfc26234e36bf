package legacy

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/openorch/openorch/internal/server"
)

// The ABP envelope of the older Orchestrator (DESIGN §5): the same shape as the Orchestrator
// API's answers on the older layout.

// abpError is the envelope's error.
type abpError struct {
	Code             int               `json:"code"`
	Message          string            `json:"message"`
	Details          string            `json:"details"`
	ValidationErrors []validationError `json:"validationErrors"`
}

// validationError names a request field that is wrong, as ABP did.
type validationError struct {
	Message string   `json:"message"`
	Members []string `json:"members"`
}

// abpFailure is the envelope of a refusal: the current error fields, then ABP's.
type abpFailure struct {
	Message             string    `json:"message"`
	ErrorCode           int       `json:"errorCode"`
	TraceID             string    `json:"traceId"`
	Result              any       `json:"result"`
	TargetURL           any       `json:"targetUrl"`
	Success             bool      `json:"success"`
	Error               *abpError `json:"error"`
	UnAuthorizedRequest bool      `json:"unAuthorizedRequest"`
	ABP                 bool      `json:"__abp"`
}

// abpSuccess is the envelope of a success. It has no errorCode: some clients take any body
// with one, even 0, for a failure.
type abpSuccess struct {
	Result              any       `json:"result"`
	TargetURL           any       `json:"targetUrl"`
	Success             bool      `json:"success"`
	Error               *abpError `json:"error"`
	UnAuthorizedRequest bool      `json:"unAuthorizedRequest"`
	ABP                 bool      `json:"__abp"`
}

// refusal is a refusal of the legacy login.
type refusal struct {
	status     int
	code       int
	message    string // what is wrong and what to do instead
	details    string // more of the same; "" repeats message
	validation []validationError
	retryAfter int // seconds; set on 429
}

func writeABPError(w http.ResponseWriter, r *http.Request, e *refusal) {
	details := e.details
	if details == "" {
		details = e.message
	}
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	writeABP(w, e.status, abpFailure{Message: e.message, ErrorCode: e.code, TraceID: server.TraceParent(r.Context()),
		Error:               &abpError{Code: e.code, Message: e.message, Details: details, ValidationErrors: e.validation},
		UnAuthorizedRequest: e.status == http.StatusUnauthorized, ABP: true})
}

func writeABPResult(w http.ResponseWriter, result any) {
	writeABP(w, http.StatusOK, abpSuccess{Result: result, Success: true, ABP: true})
}

// writeABP writes an envelope; what it carries is a credential or about one, so no cache
// keeps it.
func writeABP(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}
