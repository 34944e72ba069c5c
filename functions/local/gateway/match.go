package gateway

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Routing follows API Gateway's HTTP APIs, not net/http's ServeMux: a request is matched on
// its method and its path exactly as sent. Nothing is redirected and nothing is cleaned:
// AWS documents no normalisation of dot segments ("/products/..") or doubled slashes
// ("//products/x") for HTTP APIs, so both are routed literally. A dot segment is then an
// ordinary value of a path variable (which the function refuses as an id), and an empty
// segment matches no route (404).

// segmentKind orders how specific a pattern segment is: API Gateway prefers a literal
// segment over a variable, and a variable over a greedy one.
type segmentKind int

const (
	literal segmentKind = iota
	variable
	greedy
)

type segment struct {
	kind segmentKind
	// text is the literal, or the variable's name.
	text string
}

// pattern is a parsed "METHOD /path/{name}/{rest...}".
type pattern struct {
	method string
	path   string
	segs   []segment
}

func parsePattern(p string) (pattern, error) {
	method, path, ok := strings.Cut(p, " ")
	if !ok || method == "" || !strings.HasPrefix(path, "/") {
		return pattern{}, fmt.Errorf("pattern %q: want \"METHOD /path\"", p)
	}
	parts := strings.Split(path[1:], "/")
	segs := make([]segment, len(parts))
	for i, part := range parts {
		name, isVar := strings.CutPrefix(part, "{")
		switch {
		case !isVar:
			segs[i] = segment{literal, part}
		case strings.HasSuffix(name, "...}") && i == len(parts)-1:
			segs[i] = segment{greedy, strings.TrimSuffix(name, "...}")}
		case strings.HasSuffix(name, "}") && !strings.Contains(name, "."):
			segs[i] = segment{variable, strings.TrimSuffix(name, "}")}
		default:
			return pattern{}, fmt.Errorf("pattern %q: bad segment %q", p, part)
		}
	}
	return pattern{method: method, path: path, segs: segs}, nil
}

// match returns the path values of a request's decoded path segments under p, or ok false.
func (p pattern) match(method string, segs []string) (values map[string]string, ok bool) {
	n := len(p.segs)
	if method != p.method || len(segs) < n || len(segs) > n && p.segs[n-1].kind != greedy {
		return nil, false
	}
	values = map[string]string{}
	for i, s := range p.segs {
		switch s.kind {
		case literal:
			if segs[i] != s.text {
				return nil, false
			}
		case variable:
			if segs[i] == "" {
				return nil, false
			}
			values[s.text] = segs[i]
		case greedy:
			rest := strings.Join(segs[i:], "/")
			if rest == "" {
				return nil, false
			}
			values[s.text] = rest
		}
	}
	return values, true
}

// moreSpecific reports whether p wins over q when both match a request.
func (p pattern) moreSpecific(q pattern) bool {
	for i := 0; i < len(p.segs) && i < len(q.segs); i++ {
		if p.segs[i].kind != q.segs[i].kind {
			return p.segs[i].kind < q.segs[i].kind
		}
	}
	return len(p.segs) > len(q.segs)
}

// splitPath decodes the segments of an escaped path ("/a/b%20c" -> ["a", "b c"]); ok is
// false for a path that does not start with "/" or holds a bad escape.
func splitPath(escaped string) (segs []string, ok bool) {
	rest, ok := strings.CutPrefix(escaped, "/")
	if !ok {
		return nil, false
	}
	segs = strings.Split(rest, "/")
	for i, s := range segs {
		d, err := url.PathUnescape(s)
		if err != nil {
			return nil, false
		}
		segs[i] = d
	}
	return segs, true
}

type entry struct {
	pattern
	h http.Handler
}

// table is the gateway's routes: API routes and local-only endpoints alike.
type table []entry

func (t *table) add(p string, h http.Handler) error {
	pat, err := parsePattern(p)
	if err != nil {
		return err
	}
	for _, e := range *t {
		if e.method == pat.method && e.path == pat.path {
			return fmt.Errorf("pattern %q: registered twice", p)
		}
	}
	*t = append(*t, entry{pat, h})
	return nil
}

// lookup finds the most specific route for method and the decoded path segments.
func (t table) lookup(method string, segs []string) (h http.Handler, values map[string]string) {
	var best *entry
	for i := range t {
		e := &t[i]
		v, ok := e.match(method, segs)
		if ok && (best == nil || e.moreSpecific(best.pattern)) {
			best, values = e, v
		}
	}
	if best == nil {
		return nil, nil
	}
	return best.h, values
}
