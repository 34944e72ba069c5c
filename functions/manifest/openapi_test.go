package manifest

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// openAPIDoc is the part of the OpenAPI document the route table decides.
type openAPIDoc struct {
	OpenAPI string                                 `json:"openapi"`
	Paths   map[string]map[string]openAPIOperation `json:"paths"`
}

type openAPIOperation struct {
	Summary    string           `json:"summary"`
	Auth       Auth             `json:"x-shop-auth"`
	Security   []map[string]any `json:"security"`
	Parameters []struct {
		Ref string `json:"$ref"`
	} `json:"parameters"`
	RequestBody *json.RawMessage           `json:"requestBody"`
	Responses   map[string]json.RawMessage `json:"responses"`
}

// pathParameters are the document's path parameters, by their component's name.
var pathParameters = map[string]string{"productId": "#/components/parameters/ProductId", "orderId": "#/components/parameters/OrderId"}

// The OpenAPI document describes exactly the routes of All: the same methods and paths, the
// route's description as its summary, its audience as its security, its path variables as
// parameters, and the statuses its audience and body imply.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	var doc openAPIDoc
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi.json is OpenAPI %q, want 3.1.0", doc.OpenAPI)
	}
	inTable := map[string]bool{}
	for _, rt := range All {
		inTable[rt.Key()] = true
		desc := Descriptions[rt.Key()]
		if strings.TrimSpace(desc) == "" {
			t.Errorf("route %s has no entry in Descriptions", rt.Key())
		}
		op, ok := doc.Paths[rt.Path][strings.ToLower(rt.Method)]
		if !ok {
			t.Errorf("route %s is not in openapi.json", rt.Key())
			continue
		}
		if op.Summary != desc {
			t.Errorf("%s: openapi.json's summary %q, the route's description %q", rt.Key(), op.Summary, desc)
		}
		if op.Auth != rt.Auth {
			t.Errorf("%s: openapi.json's x-shop-auth %q, the route's %q", rt.Key(), op.Auth, rt.Auth)
		}
		bearer := slices.ContainsFunc(op.Security, func(s map[string]any) bool { _, ok := s["bearer"]; return ok })
		if op.Security == nil || bearer != (rt.Auth != Public) {
			t.Errorf("%s: security %v for a %s route", rt.Key(), op.Security, rt.Auth)
		}
		var refs []string
		for _, p := range op.Parameters {
			if strings.HasPrefix(p.Ref, "#/components/parameters/") && slices.Contains(pathParameterRefs(), p.Ref) {
				refs = append(refs, p.Ref)
			}
		}
		var want []string
		for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(rt.Path, -1) {
			want = append(want, pathParameters[m[1]])
		}
		if !slices.Equal(refs, want) {
			t.Errorf("%s: path parameters %v, want %v", rt.Key(), refs, want)
		}
		need := []string{"429", "500"}
		if rt.Auth != Public {
			need = append(need, "401")
		}
		if rt.Auth == Admin {
			need = append(need, "403")
		}
		if strings.Contains(rt.Path, "{") {
			need = append(need, "400", "404")
		}
		if op.RequestBody != nil {
			need = append(need, "400", "413", "415")
		}
		for _, status := range need {
			if _, ok := op.Responses[status]; !ok {
				t.Errorf("%s: openapi.json lists no %s answer", rt.Key(), status)
			}
		}
	}
	for path, methods := range doc.Paths {
		for method := range methods {
			if key := strings.ToUpper(method) + " " + path; !inTable[key] {
				t.Errorf("openapi.json describes %s, which is not a route of the table", key)
			}
		}
	}
	for key := range Descriptions {
		if !inTable[key] {
			t.Errorf("Descriptions has %s, which is not a route of the table", key)
		}
	}
}

func pathParameterRefs() []string {
	var out []string
	for _, r := range pathParameters {
		out = append(out, r)
	}
	return out
}

// Every body the document describes, asked or answered, shows an example, and every example
// is valid against its schema (kin-openapi validates examples with the document), so the
// reference page shows each route in use and an example cannot drift from its schema.
func TestOpenAPIShowsAValidExampleOfEveryBody(t *testing.T) {
	ctx := context.Background()
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(ctx, openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	shown := func(where string, content openapi3.Content) {
		for mediaType, m := range content {
			if m.Example == nil && len(m.Examples) == 0 {
				t.Errorf("%s (%s) has no example", where, mediaType)
			}
		}
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody != nil {
				shown(method+" "+path+" request", op.RequestBody.Value.Content)
			}
			for status, r := range op.Responses.Map() {
				shown(method+" "+path+" "+status, r.Value.Content)
			}
		}
	}
}
