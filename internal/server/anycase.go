package server

import (
	"net/http"
	"strings"
)

// anyCasePath is the path of a pattern mounted with HandleAnyCase, split at "/": literal
// segments as written, wildcards as anyCaseWildcard.
type anyCasePath []string

const anyCaseWildcard = "{}"

// HandleAnyCase mounts h for pattern as Handle does, and also serves the pattern's path
// with its literal segments in any letter case ("/API/Account/Authenticate" for
// "/api/account/authenticate"): ServeMux matches literals exactly, and clients of the older
// endpoints spell them both ways. Wildcards keep what the client sent. Such a path is folded
// to the pattern's spelling before any route is chosen, so a broader route (a catch-all
// under /{org}/{tenant}/api/) cannot take it. Multi-segment wildcards ({x...}) are not
// supported.
func (s *Server) HandleAnyCase(pattern string, h http.Handler) {
	path := pattern
	if _, p, ok := strings.Cut(pattern, " "); ok {
		path = strings.TrimSpace(p)
	}
	if !strings.HasPrefix(path, "/") || strings.Contains(path, "...}") {
		panic("server: HandleAnyCase needs a path pattern without host or {x...} wildcard, got " + pattern)
	}
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		if strings.HasPrefix(seg, "{") {
			segs[i] = anyCaseWildcard
		}
	}
	s.Handle(pattern, h)
	s.anyCase = append(s.anyCase, segs)
}

// HandleFuncAnyCase is HandleAnyCase for a function.
func (s *Server) HandleFuncAnyCase(pattern string, h http.HandlerFunc) {
	s.HandleAnyCase(pattern, h)
}

// foldCase returns r with its path in the spelling of the HandleAnyCase pattern it matches
// regardless of case, or r itself. It runs on every request, so it allocates only when it
// rewrites.
func (s *Server) foldCase(r *http.Request) *http.Request {
	if len(s.anyCase) == 0 || r.URL.RawPath != "" {
		// A path with escapes of its own (%2F in a segment) is left to the mux as sent.
		return r
	}
	for _, p := range s.anyCase {
		if canon, ok := p.fold(r.URL.Path); ok {
			if canon == r.URL.Path {
				return r
			}
			r2 := r.WithContext(r.Context())
			u := *r.URL
			u.Path = canon
			r2.URL = &u
			return r2
		}
	}
	return r
}

// fold matches a request path against p, literal segments case-insensitively, and returns
// the path spelled as p.
func (p anyCasePath) fold(path string) (string, bool) {
	same := true
	rest := path
	for i, want := range p {
		seg := rest
		if i < len(p)-1 {
			var found bool
			if seg, rest, found = strings.Cut(rest, "/"); !found {
				return "", false
			}
		} else if strings.Contains(rest, "/") {
			return "", false
		}
		switch {
		case want == anyCaseWildcard:
			if seg == "" {
				return "", false // a wildcard matches a non-empty segment only
			}
		case seg == want:
		case strings.EqualFold(seg, want):
			same = false
		default:
			return "", false
		}
	}
	if same {
		return path, true
	}
	var b strings.Builder
	b.Grow(len(path))
	rest = path
	for i, want := range p {
		seg := rest
		if i < len(p)-1 {
			seg, rest, _ = strings.Cut(rest, "/")
		}
		if i > 0 {
			b.WriteByte('/')
		}
		if want == anyCaseWildcard {
			b.WriteString(seg)
		} else {
			b.WriteString(want)
		}
	}
	return b.String(), true
}
