package awsmock

import (
	"encoding/json"
	"strings"
	"testing"
)

// CheckChildren fails t unless the component of type typ named name was registered, at
// least one custom resource was, and every custom resource is the component's child named
// name+"-<role>". It returns the component.
func (m *Mocks) CheckChildren(t testing.TB, typ, name string) Resource {
	t.Helper()
	comp, ok := m.Named(typ, name)
	if !ok {
		t.Fatalf("component %s %q not registered", typ, name)
	}
	custom := 0
	for _, r := range m.Resources() {
		if !r.Custom {
			continue
		}
		custom++
		if r.Parent != comp.URN {
			t.Errorf("%s: parent %q, want the component %q", r.Name, r.Parent, comp.URN)
		}
		if !strings.HasPrefix(r.Name, name+"-") {
			t.Errorf("%s: name does not start with %q", r.Name, name+"-")
		}
	}
	if custom == 0 {
		t.Errorf("component %q declared no resources", name)
	}
	return comp
}

// Policy is an IAM policy document as AWS receives it.
type Policy struct {
	Version   string
	Statement []PolicyStatement
}

// PolicyStatement is one statement of a Policy. Principal is "*" or principals by kind
// ({"Service": ["lambda.amazonaws.com"]}), as decoded from JSON.
type PolicyStatement struct {
	Sid       string
	Effect    string
	Principal any
	Action    []string
	Resource  []string
	Condition map[string]map[string][]string
}

// Principals returns the statement's principals of a kind ("AWS", "Service").
func (s PolicyStatement) Principals(kind string) []string {
	byKind, _ := s.Principal.(map[string]any)
	list, _ := byKind[kind].([]any)
	var out []string
	for _, p := range list {
		if p, ok := p.(string); ok {
			out = append(out, p)
		}
	}
	return out
}

// ParsePolicy decodes a JSON policy document (a recorded input such as a role's
// assumeRolePolicy), failing t when it is none.
func ParsePolicy(t testing.TB, doc any) Policy {
	t.Helper()
	s, ok := doc.(string)
	if !ok {
		t.Fatalf("policy is %T, want a JSON document", doc)
	}
	var p Policy
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		t.Fatalf("policy %s: %v", s, err)
	}
	return p
}
