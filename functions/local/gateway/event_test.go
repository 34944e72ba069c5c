package gateway

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shop-serverless/shop/functions/manifest"
)

// jsonShape flattens a JSON document into "path: type" lines.
func jsonShape(t *testing.T, prefix string, v any, out map[string]string) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		out[prefix] = "object"
		for k, e := range v {
			jsonShape(t, prefix+"."+k, e, out)
		}
	case []any:
		out[prefix] = "array"
		for _, e := range v {
			jsonShape(t, prefix+"[]", e, out)
		}
	case string:
		out[prefix] = "string"
	case float64:
		out[prefix] = "number"
	case bool:
		out[prefix] = "bool"
	case nil:
		out[prefix] = "null"
	}
}

func shapeOf(t *testing.T, doc []byte) map[string]string {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	jsonShape(t, "", v, out)
	return out
}

// The local gateway's events must have every field of a real payload-2.0 event, with the
// same JSON types, except those that only mTLS and stage variables produce.
func TestEventHasTheShapeOfRealEvents(t *testing.T) {
	// Fields the shop's API never has: mutual TLS and stage variables.
	absent := []string{".requestContext.authentication", ".stageVariables"}
	// Header, claim, query and path names are the request's own.
	free := []string{".headers.", ".queryStringParameters.", ".pathParameters.", ".requestContext.authorizer.jwt.claims."}
	for _, tc := range []struct {
		fixture string
		auth    manifest.Auth
	}{
		{"apigw-v2-request-jwt-authorizer.json", manifest.User},
		{"apigw-v2-request-no-authorizer.json", manifest.Public},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			fixture, err := os.ReadFile("testdata/" + tc.fixture)
			if err != nil {
				t.Fatal(err)
			}
			route := manifest.Route{Method: "POST", Path: "/products/{productId}/reviews", Auth: tc.auth}
			mux := http.NewServeMux()
			var got []byte
			mux.HandleFunc(route.Key(), func(w http.ResponseWriter, r *http.Request) {
				var claims map[string]string
				if tc.auth != manifest.Public {
					claims = FlattenClaims(map[string]any{"sub": "alice", "cognito:groups": []any{"admin", "ops"}, "scope": "shop/read shop/write"})
				}
				ev := Event(r, route, []byte(`{"a": 1}`), claims, "req-1", time.Unix(1583348638, 390e6))
				got, _ = json.Marshal(ev)
			})
			req := httptest.NewRequest("POST", "/products/p-1/reviews?parameter1=value1&parameter1=value2&parameter2=value", strings.NewReader(`{"a": 1}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("User-Agent", "agent")
			req.Header.Add("Cookie", "cookie1; cookie2")
			req.Header.Set("X-Custom", "v")
			mux.ServeHTTP(httptest.NewRecorder(), req)

			want, have := shapeOf(t, fixture), shapeOf(t, got)
			var missing []string
			for path, typ := range want {
				if hasPrefix(path, absent) || hasPrefix(path, free) {
					continue
				}
				if have[path] != typ {
					missing = append(missing, path+" ("+typ+", got "+have[path]+")")
				}
			}
			sort.Strings(missing)
			if len(missing) > 0 {
				t.Errorf("fields missing or of another type than in the real event:\n%s", strings.Join(missing, "\n"))
			}

			var ev map[string]any
			_ = json.Unmarshal(got, &ev)
			rc := ev["requestContext"].(map[string]any)
			checks := map[string][2]any{
				"version":                {ev["version"], "2.0"},
				"routeKey":               {ev["routeKey"], "POST /products/{productId}/reviews"},
				"rawPath":                {ev["rawPath"], "/products/p-1/reviews"},
				"rawQueryString":         {ev["rawQueryString"], "parameter1=value1&parameter1=value2&parameter2=value"},
				"query multi-value":      {ev["queryStringParameters"].(map[string]any)["parameter1"], "value1,value2"},
				"pathParameters":         {ev["pathParameters"].(map[string]any)["productId"], "p-1"},
				"stage":                  {rc["stage"], "$default"},
				"requestId":              {rc["requestId"], "req-1"},
				"http.method":            {rc["http"].(map[string]any)["method"], "POST"},
				"http.userAgent":         {rc["http"].(map[string]any)["userAgent"], "agent"},
				"timeEpoch":              {rc["timeEpoch"], float64(1583348638390)},
				"time":                   {rc["time"], "04/Mar/2020:19:03:58 +0000"},
				"headers lower-cased":    {ev["headers"].(map[string]any)["x-custom"], "v"},
				"cookies out of headers": {ev["headers"].(map[string]any)["cookie"], nil},
				"text body not encoded":  {ev["isBase64Encoded"], false},
				"cookies as a list":      {len(ev["cookies"].([]any)), 2},
			}
			if tc.auth != manifest.Public {
				claims := rc["authorizer"].(map[string]any)["jwt"].(map[string]any)["claims"].(map[string]any)
				checks["claim sub"] = [2]any{claims["sub"], "alice"}
				checks["list claims flattened"] = [2]any{claims["cognito:groups"], "[admin ops]"}
			} else {
				checks["no authorizer on public routes"] = [2]any{rc["authorizer"], nil}
			}
			for name, c := range checks {
				if !reflect.DeepEqual(c[0], c[1]) {
					t.Errorf("%s: got %#v, want %#v", name, c[0], c[1])
				}
			}
		})
	}
}

func hasPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func TestEventEncodesBinaryBodies(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00")
	for _, tc := range []struct {
		contentType string
		base64      bool
	}{
		{"application/json; charset=utf-8", false},
		{"text/plain", false},
		{"application/vnd.api+json", false},
		{"image/png", true},
		{"application/octet-stream", true},
		{"", true},
	} {
		r := httptest.NewRequest("POST", "/x", nil)
		if tc.contentType != "" {
			r.Header.Set("Content-Type", tc.contentType)
		}
		ev := Event(r, manifest.Route{Method: "POST", Path: "/x"}, png, nil, "id", time.Now())
		if ev.IsBase64Encoded != tc.base64 {
			t.Errorf("%q: isBase64Encoded = %v, want %v", tc.contentType, ev.IsBase64Encoded, tc.base64)
		}
		body := ev.Body
		if ev.IsBase64Encoded {
			b, err := base64.StdEncoding.DecodeString(body)
			if err != nil {
				t.Fatal(err)
			}
			body = string(b)
		}
		if body != string(png) {
			t.Errorf("%q: body changed in transit", tc.contentType)
		}
	}
}

func TestFlattenClaimsAsAPIGateway(t *testing.T) {
	got := FlattenClaims(map[string]any{
		"sub": "u1", "exp": float64(1700000000), "cognito:groups": []any{"admin"},
		"email_verified": true, "aud": []any{"a", "b"},
	})
	want := map[string]string{
		"sub": "u1", "exp": "1700000000", "cognito:groups": "[admin]",
		"email_verified": "true", "aud": "[a b]",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestQueryParametersAsAPIGateway(t *testing.T) {
	got := queryParameters("a=1&a=2&b=x%20y&c=p;q&d=%zz&e&&f=")
	want := map[string]string{"a": "1,2", "b": "x y", "c": "p;q", "e": "", "f": ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if q := queryParameters(""); q != nil {
		t.Errorf("empty query: %v, want none", q)
	}
}
