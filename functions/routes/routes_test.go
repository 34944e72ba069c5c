package routes

import (
	"path/filepath"
	"testing"
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
