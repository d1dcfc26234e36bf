package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// maxErrorBody bounds how much of a refusal is read.
const maxErrorBody = 1 << 20

// Error is an answer outside 2xx. It reads every error format the server speaks: the
// Orchestrator API's {"message","errorCode","traceId","details"}, the ABP envelope of the
// older layout and the legacy endpoints ({"error":{"code","message","details"},…}), and
// OAuth's {"error","error_description"}.
type Error struct {
	StatusCode int    // the HTTP status
	Method     string // the request's method
	Path       string // the request's path, without the query
	Message    string // the server's message; the status text when it sent none
	ErrorCode  int    // UiPath's code (1101: folder required, …); 0 when none
	OAuthError string // the OAuth error code (invalid_grant, …) of identity endpoints
	TraceID    string // quote it when reporting a server error
	// Details is the precise reason: a JSON string or an object, such as
	// {"reason","headers","folders"} for the folder errors. Nil when none was sent.
	Details json.RawMessage
	Body    []byte // the body as received (at most 1 MiB)
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s: %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode), e.Message)
	switch {
	case e.ErrorCode != 0:
		fmt.Fprintf(&b, " (errorCode %d)", e.ErrorCode)
	case e.OAuthError != "" && e.OAuthError != e.Message:
		fmt.Fprintf(&b, " (%s)", e.OAuthError)
	}
	return b.String()
}

// Reason is the details as a sentence: the details when they are a string, or their
// "reason" when they are an object; "" otherwise or when the message already says it.
func (e *Error) Reason() string {
	if len(e.Details) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(e.Details, &s) != nil {
		var obj struct {
			Reason string `json:"reason"`
		}
		if json.Unmarshal(e.Details, &obj) != nil {
			return ""
		}
		s = obj.Reason
	}
	if strings.Contains(e.Message, s) {
		return ""
	}
	return s
}

// parseError reads a refusal.
func parseError(req *http.Request, resp *http.Response) *Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &Error{StatusCode: resp.StatusCode, Method: req.Method, Path: req.URL.Path, Body: body}
	var raw struct {
		Message          *string         `json:"message"`
		ErrorCode        json.RawMessage `json:"errorCode"`
		TraceID          string          `json:"traceId"`
		Details          json.RawMessage `json:"details"`
		Error            json.RawMessage `json:"error"`
		ErrorDescription string          `json:"error_description"`
	}
	if json.Unmarshal(body, &raw) == nil {
		if raw.Message != nil {
			e.Message = *raw.Message
		}
		e.ErrorCode = lenientCode(raw.ErrorCode)
		e.TraceID = raw.TraceID
		if len(raw.Details) > 0 && string(raw.Details) != "null" {
			e.Details = raw.Details
		}
		fromErrorField(e, raw.Error, raw.ErrorDescription)
	}
	if e.Message == "" {
		e.Message = textMessage(body, resp)
	}
	return e
}

// fromErrorField fills what the top level lacked from "error": the ABP envelope's object,
// or OAuth's code (with error_description as the message).
func fromErrorField(e *Error, field json.RawMessage, description string) {
	field = bytes.TrimSpace(field)
	switch {
	case len(field) == 0 || string(field) == "null":
	case field[0] == '"':
		json.Unmarshal(field, &e.OAuthError)
		if e.Message == "" {
			e.Message = description
		}
		if e.Message == "" {
			e.Message = e.OAuthError
		}
	case field[0] == '{':
		var abp struct {
			Code    json.RawMessage `json:"code"`
			Message string          `json:"message"`
			Details string          `json:"details"`
		}
		if json.Unmarshal(field, &abp) != nil {
			return
		}
		if e.Message == "" {
			e.Message = abp.Message
		}
		if e.ErrorCode == 0 {
			e.ErrorCode = lenientCode(abp.Code)
		}
		if e.Details == nil && abp.Details != "" {
			e.Details, _ = json.Marshal(abp.Details)
		}
	}
}

// lenientCode reads an error code sent as a number or as a string of digits.
func lenientCode(raw json.RawMessage) int {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0
	}
	return n
}

// textMessage is the message of a body that is not one of the JSON formats: short plain
// text as it is, otherwise the status text.
func textMessage(body []byte, resp *http.Response) string {
	ct := resp.Header.Get("Content-Type")
	s := strings.TrimSpace(string(body))
	if s != "" && len(s) <= 300 && !strings.Contains(ct, "html") && !strings.HasPrefix(s, "{") && !strings.HasPrefix(s, "<") {
		return s
	}
	return http.StatusText(resp.StatusCode)
}
