package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestDecodeJSON(t *testing.T) {
	type body struct {
		Name  string `json:"name"`
		Price int64  `json:"price"`
	}
	for _, tc := range []struct {
		name, body, contentType string
		base64                  bool
		status                  int
	}{
		{"valid", `{"name":"a","price":1}`, "application/json", false, 0},
		{"valid base64", `{"name":"a","price":1}`, "application/json", true, 0},
		{"charset", `{"name":"a"}`, "application/json; charset=utf-8", false, 0},
		{"no content type", `{"name":"a"}`, "", false, 415},
		{"media type in capitals", `{"name":"a"}`, "Application/JSON; Charset=UTF-8", false, 0},
		{"other charset", `{"name":"a"}`, "application/json; charset=iso-8859-1", false, 415},
		{"json suffix", `{"name":"a"}`, "application/vnd.api+json", false, 415},
		{"form", `name=a`, "application/x-www-form-urlencoded", false, 415},
		{"text", `{"name":"a"}`, "text/plain", false, 415},
		{"broken content type", `{"name":"a"}`, "application/json;;", false, 415},
		{"name in another case", `{"Name":"a"}`, "application/json", false, 400},
		{"name in capitals", `{"NAME":"a"}`, "application/json", false, 400},
		{"duplicate key", `{"name":"a","name":"b"}`, "application/json", false, 400},
		{"duplicate key, other case", `{"name":"a","Name":"b"}`, "application/json", false, 400},
		{"null", `null`, "application/json", false, 400},
		{"string", `"x"`, "application/json", false, 400},
		{"invalid UTF-8", "{\"name\":\"\xff\"}", "application/json", false, 400},
		{"trailing garbage", `{"name":"a"} x`, "application/json", false, 400},
		{"trailing space", "{\"name\":\"a\"}\n ", "application/json", false, 0},
		{"wrong type", `{"name":1}`, "application/json", false, 400},
		{"float for int", `{"price":1.5}`, "application/json", false, 400},
		{"unknown field", `{"nam":"a"}`, "application/json", false, 400},
		{"two objects", `{"name":"a"}{"name":"b"}`, "application/json", false, 400},
		{"array", `[1]`, "application/json", false, 400},
		{"empty", ``, "application/json", false, 400},
		{"broken", `{"name":`, "application/json", false, 400},
		{"xml", `<a/>`, "application/xml", false, 415},
		{"too large", `{"name":"` + strings.Repeat("x", MaxBody) + `"}`, "application/json", false, 413},
		{"too large base64", `{"name":"` + strings.Repeat("x", MaxBody) + `"}`, "application/json", true, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := Request{Body: tc.body, Headers: map[string]string{}}
			if tc.contentType != "" {
				req.Headers["content-type"] = tc.contentType
			}
			if tc.base64 {
				req.Body, req.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(tc.body)), true
			}
			var b body
			err := DecodeJSON(req, MaxBody, &b)
			status := 0
			if err != nil {
				e, ok := asError(err)
				if !ok {
					t.Fatalf("unexpected error %v", err)
				}
				status = e.Status
				if strings.Contains(e.Message, "api.body") || strings.Contains(e.Message, "int64") {
					t.Errorf("message leaks Go types: %q", e.Message)
				}
			}
			if status != tc.status {
				t.Errorf("status %d, want %d (err %v)", status, tc.status, err)
			}
		})
	}
}

func TestDecodeJSONNamesTheMember(t *testing.T) {
	type line struct {
		Quantity int `json:"quantity"`
	}
	var b struct {
		Items []line `json:"items"`
	}
	for body, want := range map[string]string{
		`{"items":[{"Quantity":1}]}`:              `unknown field "items.0.Quantity"`,
		`{"items":[{"quantity":1,"quantity":2}]}`: `field "items.0.quantity" appears more than once`,
		`{"items":[{"quantity":"1"}]}`:            `field "items.0.quantity" has the wrong type`,
	} {
		req := Request{Body: body, Headers: map[string]string{"content-type": "application/json"}}
		err := DecodeJSON(req, MaxBody, &b)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "api.line") {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
}

func TestLimitRefusesBadQueryEncoding(t *testing.T) {
	for raw, ok := range map[string]bool{
		"": true, "limit=5": true, "limit=%35": true, "category=a+b&limit=5": true, "a;b=c": true,
		"limit=%zz": false, "limit=5&x=%": false, "%zz=1": false, "cursor=%E": false,
	} {
		_, err := Limit(Request{RawQueryString: raw})
		if (err == nil) != ok || err != nil && StatusOf(err) != 400 {
			t.Errorf("%q: %v, want ok %v", raw, err, ok)
		}
	}
}

func TestLimit(t *testing.T) {
	for q, want := range map[string]int{"": DefaultLimit, "1": 1, "100": 100, "0": -1, "101": -1, "x": -1, "-5": -1, "1e2": -1} {
		req := Request{}
		if q != "" {
			req.QueryStringParameters = map[string]string{"limit": q}
		}
		n, err := Limit(req)
		if want == -1 {
			if err == nil {
				t.Errorf("limit %q accepted", q)
			}
			continue
		}
		if err != nil || n != want {
			t.Errorf("limit %q: %d %v, want %d", q, n, err, want)
		}
	}
}

func TestCallerAndAdmin(t *testing.T) {
	withClaims := func(claims map[string]string) Request {
		var r Request
		if claims != nil {
			r.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
			}
		}
		return r
	}
	// token is the flattened claims of a Cognito access token issued now for an hour, with
	// the given claims added, or removed where their value is "-".
	token := func(kv ...string) map[string]string {
		c := map[string]string{"sub": "u1", "token_use": "access", "client_id": "app",
			"iat": "1700000000", "exp": "1700003600"}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "-" {
				delete(c, kv[i])
				continue
			}
			c[kv[i]] = kv[i+1]
		}
		return c
	}
	for _, tc := range []struct {
		name          string
		claims        map[string]string
		caller, admin error
	}{
		{"no authorizer", nil, ErrUnauthorized, ErrUnauthorized},
		{"no sub", token("sub", "-", "cognito:groups", "[admin]"), ErrUnauthorized, ErrUnauthorized},
		{"shopper", token(), nil, ErrForbidden},
		{"other group", token("cognito:groups", "[ops]"), nil, ErrForbidden},
		{"admin", token("cognito:groups", "[ops admin]"), nil, nil},
		{"admin alone", token("cognito:groups", "[admin]"), nil, nil},
		{"group named staff,admin", token("cognito:groups", "[staff,admin]"), nil, ErrForbidden},
		{"string claim staff,admin", token("cognito:groups", "staff,admin"), nil, ErrForbidden},
		{"group named admins", token("cognito:groups", "[admins]"), nil, ErrForbidden},
		{"JSON list is not how API Gateway flattens", token("cognito:groups", `["admin"]`), nil, ErrForbidden},
		{"string claim naming admin", token("cognito:groups", "admin"), nil, nil},
		{"ID token", token("token_use", "id", "aud", "app", "client_id", "-", "cognito:groups", "[admin]"), ErrUnauthorized, ErrUnauthorized},
		{"refresh or unknown use", token("token_use", "refresh"), ErrUnauthorized, ErrUnauthorized},
		{"external issuer without token_use", token("token_use", "-"), nil, ErrForbidden},
		{"lives longer than the maximum", token("exp", "1700003601"), ErrUnauthorized, ErrUnauthorized},
		{"lives a day", token("exp", "1700086400", "cognito:groups", "[admin]"), ErrUnauthorized, ErrUnauthorized},
		{"no iat", token("iat", "-"), ErrUnauthorized, ErrUnauthorized},
		{"no exp", token("exp", "-"), ErrUnauthorized, ErrUnauthorized},
		{"exp before iat", token("exp", "1699999999"), ErrUnauthorized, ErrUnauthorized},
		{"negative iat", token("iat", "-9223372036854775807", "exp", "9223372036854775807"), ErrUnauthorized, ErrUnauthorized},
		{"iat not a number", token("iat", "soon"), ErrUnauthorized, ErrUnauthorized},
	} {
		req := withClaims(tc.claims)
		if _, err := CallerOf(req); err != tc.caller {
			t.Errorf("%s: CallerOf %v, want %v", tc.name, err, tc.caller)
		}
		if _, err := AdminOf(req); err != tc.admin {
			t.Errorf("%s: AdminOf %v, want %v", tc.name, err, tc.admin)
		}
	}
}

func TestParseGroups(t *testing.T) {
	for in, want := range map[string][]string{
		"":                nil,
		"[]":              {},
		"[admin]":         {"admin"},
		"[admin editors]": {"admin", "editors"},
		"[staff,admin]":   {"staff,admin"},
		"staff,admin":     {"staff,admin"},
		"admin":           {"admin"},
		`["admin","ops"]`: {`"admin","ops"`},
	} {
		if got := parseGroups(in); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
}

func TestRouterMapsErrorsInOnePlace(t *testing.T) {
	rt := Router{
		"GET /nf":  func(context.Context, Request) (Response, error) { return Response{}, fmt.Errorf("x: %w", ErrNotFound) },
		"GET /oos": func(context.Context, Request) (Response, error) { return Response{}, ErrOutOfStock },
		"GET /503": func(context.Context, Request) (Response, error) { return Response{}, ErrUnavailable },
		// The request's time ran out in the handler's own waits (a backoff, a pause), not
		// in an SDK call, which says unavailable itself.
		"GET /late": func(context.Context, Request) (Response, error) {
			return Response{}, fmt.Errorf("place order: %w", context.DeadlineExceeded)
		},
		"GET /aws": func(context.Context, Request) (Response, error) {
			return Response{}, errors.New("AccessDeniedException: arn:aws:...")
		},
		"GET /panic": func(context.Context, Request) (Response, error) { panic("boom") },
	}
	for key, want := range map[string]struct {
		status int
		code   string
	}{
		"GET /nf": {404, "not_found"}, "GET /oos": {409, "out_of_stock"}, "GET /503": {503, "unavailable"},
		"GET /late": {503, "unavailable"}, "GET /aws": {500, "internal"}, "GET /panic": {500, "internal"}, "GET /none": {404, "not_found"},
	} {
		resp, err := rt.Handle(context.Background(), Request{RouteKey: key})
		if err != nil {
			t.Fatalf("%s: Handle returned an error to Lambda: %v", key, err)
		}
		var body errorBody
		if json.Unmarshal([]byte(resp.Body), &body) != nil || resp.StatusCode != want.status || body.Error.Code != want.code {
			t.Errorf("%s: %d %s, want %d %s", key, resp.StatusCode, resp.Body, want.status, want.code)
		}
		if strings.Contains(resp.Body, "arn:aws") || strings.Contains(resp.Body, "boom") || strings.Contains(resp.Body, "deadline") {
			t.Errorf("%s leaks the cause: %s", key, resp.Body)
		}
		if want.status == 503 && resp.Headers["Retry-After"] == "" {
			t.Errorf("503 without Retry-After")
		}
	}
}
