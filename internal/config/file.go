package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// FileError is an error in the bootstrap file. Its text is
// "FILE:LINE: PATH: MESSAGE", for example
// `orch.yaml:14: organizations[0].tenants[0].folders[1]: unknown key "pth"`;
// LINE is left out when unknown and PATH when the error concerns the whole file.
type FileError struct {
	File string
	Line int    // 1-based; 0 when unknown
	Path string // key path such as organizations[0].apps[1].clientSecret; may be empty
	Msg  string
}

func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ParseFile parses and checks the bootstrap file (DESIGN §2). path is only used in
// messages, as given. Errors are *FileError values naming the line and key path; when the
// file has several problems, the first in document order is returned. Secret values never
// appear in messages.
//
// On success the file is normalized: every passwordEnv and clientSecretEnv is resolved
// through getenv (nil means os.Getenv) into Password or ClientSecret (the Env field is
// kept), an app's empty Name becomes its ClientID, and a machine without a slots key gets 1
// slot. Names, emails, client ids and folder paths are compared case-insensitively; role
// names must be spelled exactly.
func ParseFile(path string, data []byte, getenv func(string) string) (*File, error) {
	f, _, err := parseFile(path, data, getenv)
	return f, err
}

// parseFile is ParseFile, also returning the line of every key path it saw.
func parseFile(path string, data []byte, getenv func(string) string) (*File, map[string]int, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, malformed(path, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, nil, malformed(path, err)
		}
		return nil, nil, &FileError{File: path, Line: extra.Line, Msg: "only one YAML document is allowed"}
	}

	f := &File{}
	d := decoder{file: path, lines: map[string]int{"": 1}}
	if len(doc.Content) > 0 { // an empty file is an empty configuration
		root := doc.Content[0]
		d.lines[""] = root.Line
		if err := d.decode(root, reflect.ValueOf(f).Elem(), ""); err != nil {
			return nil, nil, err
		}
	}
	c := checker{file: path, lines: d.lines, getenv: getenv}
	if err := c.check(f); err != nil {
		return nil, nil, err
	}
	return f, d.lines, nil
}

var yamlErrorLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parserProblems are the messages of yaml.v3's parser (as opposed to its scanner). The
// parser's errors number lines from 0 (the scanner's from 1) and leave the line out when it
// is 0; the line is where the enclosing list or mapping starts, else the problem's.
var parserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected <stream-start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

// malformed turns a YAML syntax error into a FileError with its line.
func malformed(path string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlErrorLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	if slices.Contains(parserProblems, msg) {
		line++
	}
	return &FileError{File: path, Line: line, Msg: "malformed YAML: " + msg}
}

// decoder walks a YAML node tree against the types of types.go by their yaml tags, so that
// unknown keys and wrong types are reported with their line and key path. It records the
// line of every key and list item it meets in lines, by key path.
type decoder struct {
	file  string
	lines map[string]int
}

var timeType = reflect.TypeOf(time.Time{})

func (d *decoder) fail(line int, path, format string, args ...any) error {
	return &FileError{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)}
}

// decode stores node n into v, whose key path is path.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		v.Set(reflect.Zero(v.Type())) // "key:" with no value, or "~": the zero value
		return nil
	}
	if v.Type() == timeType {
		return d.decodeTime(n, v, path)
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if err := d.decode(n, p.Elem(), path); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case reflect.Struct:
		return d.decodeStruct(n, v, path)
	case reflect.Slice:
		return d.decodeSlice(n, v, path)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			return d.fail(n.Line, path, "expected a string, got %s", describe(n))
		}
		v.SetString(n.Value) // the text as written, whatever YAML would resolve it to
		return nil
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			return d.fail(n.Line, path, "expected true or false, got %s", describe(n))
		}
		v.SetBool(b)
		return nil
	case reflect.Int:
		var i int
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
			return d.fail(n.Line, path, "expected an integer, got %s", describe(n))
		}
		v.SetInt(int64(i))
		return nil
	}
	panic("config: cannot decode into " + v.Type().String())
}

func (d *decoder) decodeTime(n *yaml.Node, v reflect.Value, path string) error {
	got := describe(n)
	if n.Kind == yaml.ScalarNode {
		t, err := time.Parse(time.RFC3339, n.Value)
		if err == nil {
			v.Set(reflect.ValueOf(t))
			return nil
		}
		got = strconv.Quote(n.Value)
	}
	return d.fail(n.Line, path, "expected an RFC 3339 timestamp such as 2027-01-01T00:00:00Z, got %s", got)
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.MappingNode {
		return d.fail(n.Line, path, "expected a mapping (key: value), got %s", describe(n))
	}
	fields := yamlFields(v.Type())
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		if key.Kind != yaml.ScalarNode {
			return d.fail(key.Line, path, "expected a key name, got %s", describe(key))
		}
		index, ok := fields[key.Value]
		if !ok {
			return d.fail(key.Line, path, "unknown key %q", key.Value)
		}
		if first, dup := seen[key.Value]; dup {
			return d.fail(key.Line, path, "duplicate key %q (first at line %d)", key.Value, first)
		}
		seen[key.Value] = key.Line
		keyPath := joinPath(path, key.Value)
		d.lines[keyPath] = key.Line
		if err := d.decode(value, v.Field(index), keyPath); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.SequenceNode {
		return d.fail(n.Line, path, "expected a list, got %s", describe(n))
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		itemPath := fmt.Sprintf("%s[%d]", path, i)
		d.lines[itemPath] = item.Line
		if err := d.decode(item, s.Index(i), itemPath); err != nil {
			return err
		}
	}
	v.Set(s)
	return nil
}

// yamlFields maps the yaml tag names of struct type t to field indexes.
func yamlFields(t reflect.Type) map[string]int {
	fields := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			fields[name] = i
		}
	}
	return fields
}

// describe names what a node holds, for "expected X, got Y" messages. Plain strings are
// not repeated (they may be secrets); numbers, booleans and timestamps are.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return "a string"
		case "!!null":
			return "nothing"
		default:
			return strconv.Quote(n.Value)
		}
	}
	return "something else"
}

// joinPath appends key to a key path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
