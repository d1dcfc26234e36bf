package api

import (
	"bytes"
	"encoding/json"
	"errors"
)

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

// jsonObject is an entity as $select and $expand shape it: a JSON object whose properties
// keep the order of the DTO's fields, expanded navigations after them.
type jsonObject []jsonProp

// jsonProp is one property; Value is a json.RawMessage, a jsonObject, a []jsonObject or
// nil (null).
type jsonProp struct {
	Name  string
	Value any
}

// objectOf writes a DTO as a jsonObject.
func objectOf(v any) (jsonObject, error) {
	b, err := marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("the entity is not written as a JSON object")
	}
	var o jsonObject
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		o = append(o, jsonProp{Name: tok.(string), Value: raw})
	}
	return o, nil
}

// set gives property name the value v, in its place if o has it, else at the end.
func (o jsonObject) set(name string, v any) jsonObject {
	for i := range o {
		if o[i].Name == name {
			o[i].Value = v
			return o
		}
	}
	return append(o, jsonProp{Name: name, Value: v})
}

func (o jsonObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		name, err := marshal(p.Name)
		if err != nil {
			return nil, err
		}
		b.Write(name)
		b.WriteByte(':')
		v, err := marshal(p.Value)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshal is json.Marshal without escaping <, > and &, as writeJSON writes answers.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
