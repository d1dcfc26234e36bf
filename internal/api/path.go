package api

import (
	"strings"
)

// The action namespaces: real clients call every action under both.
var actionNamespaces = []string{"UiPath.Server.Configuration.OData.", "UiPathODataSvc."}

// resourcePath is an OData resource path: Set, Set(key), Set/Namespace.Action,
// Set(key)/Namespace.Action, Set/Namespace.Function(a='x',b=2).
type resourcePath struct {
	Set    string
	Key    string // "" when none
	HasKey bool
	Action string // without namespace
	Params map[string]string
}

// parseResourcePath parses the part after /odata/. ok is false when it is not of that form.
func parseResourcePath(p string) (rp resourcePath, ok bool) {
	p = strings.TrimSuffix(p, "/")
	first, rest, hasRest := strings.Cut(p, "/")
	rp.Set, rp.Key, rp.HasKey, ok = splitCall(first)
	if !ok || rp.Set == "" {
		return rp, false
	}
	if !hasRest {
		return rp, true
	}
	if strings.Contains(rest, "/") {
		return rp, false
	}
	name, args, hasArgs, ok := splitCall(rest)
	if !ok {
		return rp, false
	}
	for _, ns := range actionNamespaces {
		if len(name) > len(ns) && strings.EqualFold(name[:len(ns)], ns) {
			name = name[len(ns):]
			break
		}
	}
	rp.Action = name
	if hasArgs {
		if rp.Params, ok = parseParams(args); !ok {
			return rp, false
		}
	}
	return rp, true
}

// splitCall splits "Name(args)" into name and args; "Name" has no args.
func splitCall(s string) (name, args string, hasArgs, ok bool) {
	i := strings.IndexByte(s, '(')
	if i < 0 {
		return s, "", false, !strings.ContainsAny(s, ")")
	}
	if !strings.HasSuffix(s, ")") {
		return "", "", false, false
	}
	return s[:i], s[i+1 : len(s)-1], true, true
}

// parseParams reads function parameters: a='x',b=2 (quotes doubled inside strings).
func parseParams(s string) (map[string]string, bool) {
	out := map[string]string{}
	for s != "" {
		name, rest, ok := strings.Cut(s, "=")
		if !ok {
			return nil, false
		}
		var value string
		if strings.HasPrefix(rest, "'") {
			var b strings.Builder
			i := 1
			for ; i < len(rest); i++ {
				if rest[i] == '\'' {
					if i+1 < len(rest) && rest[i+1] == '\'' {
						b.WriteByte('\'')
						i++
						continue
					}
					break
				}
				b.WriteByte(rest[i])
			}
			if i >= len(rest) {
				return nil, false
			}
			value, rest = b.String(), rest[i+1:]
		} else {
			value, rest, _ = strings.Cut(rest, ",")
			rest = "," + rest
			if rest == "," {
				rest = ""
			}
		}
		out[strings.ToLower(strings.TrimSpace(name))] = value
		if rest == "" {
			break
		}
		if rest[0] != ',' {
			return nil, false
		}
		s = rest[1:]
	}
	return out, true
}
