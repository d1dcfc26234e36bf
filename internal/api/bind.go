package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
)

// bind decodes a JSON request body into v. Keys match case-insensitively (clients send
// camelCase and PascalCase alike) and unknown fields are ignored; a value of the wrong type
// is a 400 naming the field path, as in "startInfo.JobsCount: expected a number, got string".
func bind(c *call, v any) *apiError {
	if ct := c.r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
			return invalid("the body must be JSON (Content-Type: application/json), got %q", ct)
		}
	}
	dec := json.NewDecoder(c.r.Body)
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.Is(err, io.EOF):
			return invalid("the request body is empty; send a JSON object")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return invalid("the body is not valid JSON: it ends in the middle of a value")
		case errors.As(err, &te):
			field := te.Field
			if field == "" {
				field = "the body"
			}
			return invalid("%s: expected %s, got %s", field, jsonKind(te.Type.Kind().String()), te.Value)
		case errors.As(err, &se):
			return invalid("the body is not valid JSON (at byte %d): %s", se.Offset, strings.TrimPrefix(se.Error(), "invalid character "))
		default:
			return invalid("the body could not be read: %s", err)
		}
	}
	if dec.More() {
		return invalid("the body must hold one JSON object")
	}
	return nil
}

// jsonKind names a Go kind the way a JSON user thinks of it.
func jsonKind(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"), strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "true or false"
	case kind == "slice", kind == "array":
		return "a list"
	case kind == "struct", kind == "map":
		return "an object"
	}
	return fmt.Sprintf("a %s", kind)
}

// checkLen refuses a text field longer than limit characters, naming both.
func checkLen(field, v string, limit int) *apiError {
	if n := len([]rune(v)); n > limit {
		return invalid("%s is %d characters long; the limit is %d", field, n, limit)
	}
	return nil
}
