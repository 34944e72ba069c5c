package manifest

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shop-serverless/shop/functions/tables"
)

// Every function of the list has its main package, and every route names a listed function
// that is not invoked by an event source.
func TestRoutesAndFunctionsAgree(t *testing.T) {
	for _, fn := range Functions {
		if m, _ := filepath.Glob(filepath.Join("..", fn.Name, "*.go")); len(m) == 0 {
			t.Errorf("function %s has no main package in functions/%s", fn.Name, fn.Name)
		}
	}
	seen := map[string]bool{}
	for _, rt := range All {
		fn, ok := FunctionByName(rt.Function)
		if !ok || fn.Invoked() {
			t.Errorf("route %s: %q is not an HTTP function of the list", rt.Key(), rt.Function)
		}
		if seen[rt.Key()] {
			t.Errorf("route %s listed twice", rt.Key())
		}
		seen[rt.Key()] = true
		if rt.Auth != Public && rt.Auth != User && rt.Auth != Admin {
			t.Errorf("route %s: unknown auth %q", rt.Key(), rt.Auth)
		}
	}
}

// Grants are well formed: actions of the right service, known indexes, one grant per
// resource and condition, attribute lists that hold the table's key, cache access strings
// that name keys and commands.
func TestGrantsAreWellFormed(t *testing.T) {
	for _, fn := range Functions {
		seen := map[string]bool{}
		for _, g := range fn.Tables {
			where := fn.Name + ": " + g.Table.Name
			if g.Index != "" {
				where += "/index/" + g.Index
				if !slices.ContainsFunc(g.Table.Indexes, func(ix tables.Index) bool { return ix.Name == g.Index }) {
					t.Errorf("%s: no such index", where)
				}
			}
			if len(g.Actions) == 0 {
				t.Errorf("%s: no actions", where)
			}
			for _, a := range g.Actions {
				if !strings.HasPrefix(string(a), "dynamodb:") {
					t.Errorf("%s: %s is not a DynamoDB action", where, a)
				}
				if g.Index != "" && a != Query && a != Scan {
					t.Errorf("%s: %s does not apply to an index", where, a)
				}
			}
			if len(g.Attributes) > 0 {
				for _, k := range []*tables.Key{&g.Table.HashKey, g.Table.RangeKey} {
					if k != nil && !slices.Contains(g.Attributes, k.Name) {
						t.Errorf("%s: attributes %v lack the key %s", where, g.Attributes, k.Name)
					}
				}
			}
			id := where + fmt.Sprint(g.Attributes)
			if seen[id] {
				t.Errorf("%s: two grants on the same resource with the same conditions; merge them", where)
			}
			seen[id] = true
		}
		for _, g := range fn.Bucket {
			if g.Prefix == "" || !strings.HasSuffix(g.Prefix, "/") {
				t.Errorf("%s: bucket prefix %q must be a folder, \"products/\"", fn.Name, g.Prefix)
			}
			for _, a := range g.Actions {
				if !strings.HasPrefix(string(a), "s3:") {
					t.Errorf("%s: %s is not an S3 action", fn.Name, a)
				}
			}
		}
		if c := fn.Cache; c != nil {
			if len(c.Keys) == 0 || len(c.Commands) == 0 {
				t.Errorf("%s: cache access without keys or commands", fn.Name)
			}
			for _, k := range c.Keys {
				if k == "*" || strings.ContainsAny(k, " ~") {
					t.Errorf("%s: key pattern %q", fn.Name, k)
				}
			}
			for _, cmd := range c.Commands {
				if cmd != strings.ToLower(cmd) || strings.ContainsAny(cmd, " @|+-") {
					t.Errorf("%s: command %q must be one lower-case command name", fn.Name, cmd)
				}
			}
		}
	}
}

func TestAccessString(t *testing.T) {
	got := CacheAccess{Keys: []string{"c:{product:*}", "c:{product:*}:lock"}, Commands: []string{"get", "del"}}.AccessString()
	want := "on ~c:{product:*} ~c:{product:*}:lock -@all +@connection +cluster -@dangerous +get +del"
	if got != want {
		t.Errorf("access string %q, want %q", got, want)
	}
}
