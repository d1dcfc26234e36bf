package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Orchestrator error codes used by this package (DESIGN §5).
const (
	codeNone           = 0    // UiPath's code for errors without a specific one
	codeInvalidRequest = 1000 // invalid request
)

// internalErrorMessage is the only thing a client learns about an internal error.
const internalErrorMessage = "An internal error occurred. Quote the trace id when reporting it."

// errorBody is the Orchestrator error shape (DESIGN §5).
type errorBody struct {
	Message   string `json:"message"`
	ErrorCode int    `json:"errorCode"`
	TraceID   string `json:"traceId"`
}

// WriteJSON writes v as a JSON response with the given status. A value that cannot be
// encoded is a programming error: WriteJSON panics, and the panic recovery of the Server logs
// it and answers 500.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Errorf("server: cannot encode %T as JSON: %w", v, err))
	}
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(body) // an error here means the client went away; nothing to do
}

// WriteError writes the Orchestrator error shape {"message","errorCode","traceId"} with
// the request's traceparent as traceId. The message is sent as is: never put internal error
// text in it.
func WriteError(w http.ResponseWriter, r *http.Request, status int, errorCode int, message string) {
	WriteJSON(w, status, errorBody{
		Message:   message,
		ErrorCode: errorCode,
		TraceID:   TraceParent(r.Context()),
	})
}
