package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/openorch/openorch/internal/server"
)

// UiPath's error codes (reference/uipath-wire.md §5).
const (
	codeNone           = 0
	codeInvalid        = 1000
	codeNotFound       = 1002
	codeFolderInvalid  = 1100
	codeFolderRequired = 1101
)

// apiError is a refusal with everything the response needs. Handlers return it; render
// writes it in the caller's layout.
type apiError struct {
	Status  int
	Code    int
	Message string
	// Details carries the precise reason, field paths, or the folders the caller may use.
	Details any
	// AuthReason is set on 401s: it goes into WWW-Authenticate too.
	AuthReason string
	// Reason labels 401s and 403s in the metrics, from a fixed set ("missing_scope", …).
	Reason string
}

// because labels a refusal for the metrics.
func because(reason string, e *apiError) *apiError {
	e.Reason = reason
	return e
}

func (e *apiError) Error() string { return e.Message }

func errorf(status, code int, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func unauthorized(format string, args ...any) *apiError {
	reason := fmt.Sprintf(format, args...)
	return &apiError{Status: http.StatusUnauthorized, Code: codeNone, Message: "You are not authenticated! " + reason,
		Details: reason, AuthReason: reason}
}

func forbidden(format string, args ...any) *apiError {
	msg := fmt.Sprintf(format, args...)
	return &apiError{Status: http.StatusForbidden, Code: codeNone, Message: "You are not authorized! " + msg, Details: msg}
}

func notFound(format string, args ...any) *apiError {
	return errorf(http.StatusNotFound, codeNotFound, format, args...)
}

func invalid(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, codeInvalid, format, args...)
}

// internalError logs err under the request's trace id and answers without its text.
func internalError(r *http.Request, err error) *apiError {
	server.Logger(r.Context()).Error("api: internal error", "err", err)
	return errorf(http.StatusInternalServerError, codeNone,
		"An internal error occurred. Quote the trace id %s when reporting it.", server.TraceID(r.Context()))
}

// layout is the URL layout a call came in on; it decides the error format.
type layout int

const (
	layoutCurrent layout = iota // /{org}/{tenant}/orchestrator_/…
	layoutOlder                 // /{org}/{tenant}/odata/… with X-UIPATH-TenantName: ABP envelope
)

type currentBody struct {
	Message   string `json:"message"`
	ErrorCode int    `json:"errorCode"`
	TraceID   string `json:"traceId"`
	Details   any    `json:"details,omitempty"`
}

type abpError struct {
	Code             int    `json:"code"`
	Message          string `json:"message"`
	Details          string `json:"details"`
	ValidationErrors any    `json:"validationErrors"`
}

// abpBody is the envelope of the older layout and the legacy endpoints: a superset of the
// current format.
type abpBody struct {
	Message             string    `json:"message"`
	ErrorCode           int       `json:"errorCode"`
	TraceID             string    `json:"traceId"`
	Details             any       `json:"details,omitempty"`
	Result              any       `json:"result"`
	TargetURL           any       `json:"targetUrl"`
	Success             bool      `json:"success"`
	Error               *abpError `json:"error"`
	UnAuthorizedRequest bool      `json:"unAuthorizedRequest"`
	ABP                 bool      `json:"__abp"`
}

// render writes e in the format of the layout.
func render(w http.ResponseWriter, r *http.Request, l layout, e *apiError) {
	if e.AuthReason != "" {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+
			strings.ReplaceAll(e.AuthReason, `"`, `'`)+`"`)
	}
	trace := server.TraceParent(r.Context())
	var body any = currentBody{Message: e.Message, ErrorCode: e.Code, TraceID: trace, Details: e.Details}
	if l == layoutOlder {
		msg := e.Message
		if e.Status == http.StatusUnauthorized {
			msg = "You are not authenticated!"
		}
		body = abpBody{Message: msg, ErrorCode: e.Code, TraceID: trace, Details: e.Details, Success: false,
			Error:               &abpError{Code: e.Code, Message: msg, Details: detailText(e)},
			UnAuthorizedRequest: e.Status == http.StatusUnauthorized, ABP: true}
	}
	writeJSON(w, e.Status, body)
}

// detailText is the ABP error's details string: the reason in words.
func detailText(e *apiError) string {
	switch d := e.Details.(type) {
	case string:
		return d
	case folderDetails:
		return d.Reason
	}
	return e.Message
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}
