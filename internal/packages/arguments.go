package packages

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Arguments are the input and output arguments a package declares in the "arguments"
// section of its project.json:
//
//	"arguments": {
//	  "input":  [{"name": "amount", "type": "number", "required": true},
//	             {"name": "currency", "type": "string", "default": "EUR"}],
//	  "output": [{"name": "total", "type": "number"}]
//	}
//
// A package without the section declares nothing, and then takes any input object.
type Arguments struct {
	Input  []Argument `json:"input"`
	Output []Argument `json:"output"`
}

// Argument is one declared argument. Type is one of ArgumentTypes ("" reads as "any");
// an input argument with a Default is optional, and Required and Default exclude each
// other.
type Argument struct {
	Name     string          `json:"name"`
	Type     string          `json:"type,omitempty"`
	Required bool            `json:"required,omitempty"`
	Default  json.RawMessage `json:"default,omitempty"`
}

// ArgumentTypes are the types an argument may declare: the kinds of JSON value, with
// "integer" for whole numbers and "any" for every value.
var ArgumentTypes = []string{"string", "number", "integer", "boolean", "object", "array", "any"}

// maxArgumentName bounds an argument's name; maxArguments the arguments of one direction.
const (
	maxArgumentName = 128
	maxArguments    = 200
)

// parseArguments reads and checks the "arguments" section of project.json.
func parseArguments(raw json.RawMessage) (*Arguments, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var a Arguments
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf(`project.json's "arguments" must be {"input": [{"name", "type", "required", "default"}…], "output": […]}: %v`, err)
	}
	for _, dir := range []struct {
		what string
		list []Argument
	}{{"input", a.Input}, {"output", a.Output}} {
		if len(dir.list) > maxArguments {
			return nil, fmt.Errorf("project.json declares %d %s arguments; the limit is %d", len(dir.list), dir.what, maxArguments)
		}
		seen := map[string]string{}
		for i := range dir.list {
			arg := &dir.list[i]
			where := fmt.Sprintf("project.json's arguments.%s[%d]", dir.what, i)
			switch {
			case strings.TrimSpace(arg.Name) == "":
				return nil, fmt.Errorf(`%s has no "name"`, where)
			case len([]rune(arg.Name)) > maxArgumentName:
				return nil, fmt.Errorf("%s: the name is %d characters long; the limit is %d", where, len([]rune(arg.Name)), maxArgumentName)
			}
			if other, dup := seen[strings.ToLower(arg.Name)]; dup {
				return nil, fmt.Errorf("project.json declares the %s argument %q twice (as %q and %q); names must differ in more than case", dir.what, arg.Name, other, arg.Name)
			}
			seen[strings.ToLower(arg.Name)] = arg.Name
			arg.Type = strings.ToLower(strings.TrimSpace(arg.Type))
			if arg.Type == "" {
				arg.Type = "any"
			}
			if !slices.Contains(ArgumentTypes, arg.Type) {
				return nil, fmt.Errorf("%s (%s): type %q is not known; use one of %s", where, arg.Name, arg.Type, strings.Join(ArgumentTypes, ", "))
			}
			if len(arg.Default) > 0 {
				if dir.what == "output" {
					return nil, fmt.Errorf("%s (%s): output arguments have no default; remove it", where, arg.Name)
				}
				if arg.Required {
					return nil, fmt.Errorf("%s (%s) is required and has a default, but a default makes it optional: drop one of them", where, arg.Name)
				}
				if err := checkType(*arg, arg.Default); err != nil {
					return nil, fmt.Errorf("%s (%s): its default %v", where, arg.Name, err)
				}
				arg.Default = compact(arg.Default)
			}
		}
	}
	return &a, nil
}

// ParseArguments reads arguments as Encode wrote them; "" is nothing declared (nil).
func ParseArguments(s string) (*Arguments, error) {
	if s == "" {
		return nil, nil
	}
	var a Arguments
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		return nil, fmt.Errorf("stored arguments %q: %w", s, err)
	}
	return &a, nil
}

// Encode writes the arguments as compact JSON, "" for nil.
func (a *Arguments) Encode() string {
	if a == nil {
		return ""
	}
	b, _ := json.Marshal(a)
	return string(b)
}

// argumentMetadata is one argument as UiPath describes it in ArgumentMetadata.
type argumentMetadata struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Required   bool            `json:"required"`
	HasDefault bool            `json:"hasDefault"`
	Default    json.RawMessage `json:"default,omitempty"`
}

// Metadata returns the declarations as UiPath's ArgumentMetadata has them: each direction
// a JSON array (as a string) of {"name","type","required","hasDefault"}, with OpenOrch's
// "default" when there is one; nil for a direction without arguments.
func (a *Arguments) Metadata() (input, output *string) {
	if a == nil {
		return nil, nil
	}
	enc := func(list []Argument) *string {
		if len(list) == 0 {
			return nil
		}
		out := make([]argumentMetadata, 0, len(list))
		for _, x := range list {
			out = append(out, argumentMetadata{Name: x.Name, Type: x.Type, Required: x.Required, HasDefault: len(x.Default) > 0, Default: x.Default})
		}
		b, _ := json.Marshal(out)
		s := string(b)
		return &s
	}
	return enc(a.Input), enc(a.Output)
}

// input finds a declared input argument by name.
func (a *Arguments) input(name string) (Argument, bool) {
	for _, x := range a.Input {
		if x.Name == name {
			return x, true
		}
	}
	return Argument{}, false
}

func (a *Arguments) inputNames() string {
	if len(a.Input) == 0 {
		return "it declares none"
	}
	names := make([]string, 0, len(a.Input))
	for _, x := range a.Input {
		names = append(names, x.Name)
	}
	return "its input arguments are " + strings.Join(names, ", ")
}

// CheckInput checks input values against the declarations: each must be a declared input
// argument (names match exactly) with a value of its type. Required arguments may be
// absent: a release's values may leave them to each job (see Resolve). Nothing declared
// (a nil a) accepts every value.
func (a *Arguments) CheckInput(values map[string]json.RawMessage) error {
	if a == nil {
		return nil
	}
	for _, name := range sortedKeys(values) {
		arg, ok := a.input(name)
		if !ok {
			hint := ""
			for _, x := range a.Input {
				if strings.EqualFold(x.Name, name) {
					hint = fmt.Sprintf(" (names match exactly: did you mean %q?)", x.Name)
				}
			}
			return fmt.Errorf("%q is not an input argument of the package%s; %s", name, hint, a.inputNames())
		}
		if err := checkType(arg, values[name]); err != nil {
			return fmt.Errorf("input argument %q %v", name, err)
		}
	}
	return nil
}

// Fit keeps the values that are declared input arguments with a value of their type,
// for a release moving to another version of its package; it returns what it dropped.
// Nothing declared keeps everything.
func (a *Arguments) Fit(values map[string]json.RawMessage) (kept map[string]json.RawMessage, dropped []string) {
	if a == nil {
		return values, nil
	}
	kept = map[string]json.RawMessage{}
	for _, name := range sortedKeys(values) {
		if arg, ok := a.input(name); ok && checkType(arg, values[name]) == nil {
			kept[name] = values[name]
		} else {
			dropped = append(dropped, name)
		}
	}
	return kept, dropped
}

// Resolve makes the input of a job: the declared defaults, overridden by each layer in
// turn (a release's values, then the job's own), checked with CheckInput; a required
// argument still without a value is an error naming it.
func (a *Arguments) Resolve(layers ...map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	if a != nil {
		for _, x := range a.Input {
			if len(x.Default) > 0 {
				out[x.Name] = x.Default
			}
		}
	}
	for _, l := range layers {
		if err := a.CheckInput(l); err != nil {
			return nil, err
		}
		for k, v := range l {
			out[k] = v
		}
	}
	if a != nil {
		var missing []string
		for _, x := range a.Input {
			if _, ok := out[x.Name]; x.Required && !ok {
				missing = append(missing, x.Name)
			}
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("the required input arguments %s have no value: give them in the job's InputArguments or on the process", strings.Join(missing, ", "))
		}
	}
	return out, nil
}

// DecodeValues reads input values: a JSON object, or (as UiPath's clients send
// InputArguments) a JSON string holding one. null, "" and "{}" are no values.
func DecodeValues(raw json.RawMessage) (map[string]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		if strings.TrimSpace(s) == "" {
			return nil, nil
		}
		raw = json.RawMessage(s)
	}
	var out map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&out); err != nil || dec.More() || out == nil {
		return nil, errors.New(`must be a JSON object of argument values, such as {"amount": 5}, or a string holding one`)
	}
	for k, v := range out {
		out[k] = compact(v)
	}
	return out, nil
}

// EncodeValues writes values as a compact JSON object with sorted keys; "" for none.
func EncodeValues(values map[string]json.RawMessage) string {
	if len(values) == 0 {
		return ""
	}
	b, _ := json.Marshal(values) // encoding/json sorts map keys
	return string(b)
}

// checkType checks a value against an argument's type; the error reads after the
// argument's name ("must be a number, got "x" (a string)").
func checkType(arg Argument, v json.RawMessage) error {
	var x any
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	if err := dec.Decode(&x); err != nil {
		return fmt.Errorf("is not valid JSON: %v", err)
	}
	ok := false
	switch arg.Type {
	case "", "any":
		ok = true
	case "string":
		_, ok = x.(string)
	case "number":
		_, ok = x.(json.Number)
	case "integer":
		if n, isNum := x.(json.Number); isNum {
			if _, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
				ok = true
			} else if f, err := n.Float64(); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				ok = true
			}
		}
	case "boolean":
		_, ok = x.(bool)
	case "object":
		_, ok = x.(map[string]any)
	case "array":
		_, ok = x.([]any)
	}
	if !ok {
		return fmt.Errorf("must be %s, got %s (%s)", article(arg.Type), shorten(string(compact(v))), kindOf(x))
	}
	return nil
}

func article(typ string) string {
	switch typ {
	case "integer", "object", "array":
		return "an " + typ
	}
	return "a " + typ
}

func kindOf(x any) string {
	switch v := x.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		if strings.ContainsAny(v.String(), ".eE") {
			return "a number"
		}
		return "a whole number"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return "a value"
}

func shorten(s string) string {
	if len(s) > 40 {
		return s[:37] + "…"
	}
	return s
}

func compact(v json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return v
	}
	return b.Bytes()
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
