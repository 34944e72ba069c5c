package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/shop-serverless/shop/functions/manifest"
)

const (
	testIssuer   = "https://issuer.test"
	testAudience = "shop-test"
)

// echo is a function that answers with the event it received.
func echo(_ context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	b, _ := json.Marshal(ev)
	return events.APIGatewayV2HTTPResponse{
		StatusCode: 200, Body: string(b),
		Headers: map[string]string{"Content-Type": "application/json"},
		Cookies: []string{"a=1; Path=/", "b=2; Path=/"},
	}, nil
}

func newTestGateway(t *testing.T) (*httptest.Server, *Issuer) {
	t.Helper()
	issuer, err := NewIssuer(testIssuer, testAudience, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	rts := []manifest.Route{
		{Method: "GET", Path: "/open", Function: "echo", Auth: manifest.Public},
		{Method: "GET", Path: "/mine/{id}", Function: "echo", Auth: manifest.User},
		{Method: "POST", Path: "/fail", Function: "fail", Auth: manifest.Public},
		{Method: "POST", Path: "/panic", Function: "panic", Auth: manifest.Public},
		{Method: "GET", Path: "/binary", Function: "binary", Auth: manifest.Public},
	}
	gw, err := New(rts, map[string]Handler{
		"echo": echo,
		"fail": func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			return events.APIGatewayV2HTTPResponse{}, io.ErrUnexpectedEOF
		},
		"panic": func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			panic("boom")
		},
		"binary": func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "AAEC", IsBase64Encoded: true,
				Headers: map[string]string{"Content-Type": "application/octet-stream"}}, nil
		},
	}, issuer, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return srv, issuer
}

func do(t *testing.T, method, url, token string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestProtectedRoutesRefuseBadTokens(t *testing.T) {
	srv, issuer := newTestGateway(t)
	other, _ := NewIssuer(testIssuer, testAudience, time.Hour) // same names, another key
	now := time.Now()
	claims := func(mod func(*jwt.RegisteredClaims)) jwt.RegisteredClaims {
		c := jwt.RegisteredClaims{
			Issuer: testIssuer, Subject: "alice", Audience: jwt.ClaimStrings{testAudience},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
		}
		mod(&c)
		return c
	}
	sign := func(i *Issuer, c jwt.RegisteredClaims) string {
		s, err := i.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	signAccess := func(c TokenClaims) string {
		s, err := issuer.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := sign(issuer, claims(func(*jwt.RegisteredClaims) {}))
	hs256, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(func(*jwt.RegisteredClaims) {})).SignedString([]byte("secret"))
	for name, token := range map[string]string{
		"missing":         "",
		"garbage":         "not-a-jwt",
		"expired":         sign(issuer, claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Hour)) })),
		"no expiry":       sign(issuer, claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil })),
		"wrong issuer":    sign(issuer, claims(func(c *jwt.RegisteredClaims) { c.Issuer = "https://evil.test" })),
		"wrong audience":  sign(issuer, claims(func(c *jwt.RegisteredClaims) { c.Audience = jwt.ClaimStrings{"other"} })),
		"bad signature":   sign(other, claims(func(*jwt.RegisteredClaims) {})),
		"tampered":        valid[:len(valid)-4] + "AAAA",
		"HS256 algorithm": hs256,
		"no subject":      sign(issuer, claims(func(c *jwt.RegisteredClaims) { c.Subject = "" })),
		"no issued-at":    sign(issuer, claims(func(c *jwt.RegisteredClaims) { c.IssuedAt = nil })),
		"lives too long":  sign(issuer, claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(time.Hour + time.Second)) })),
		"wrong client_id": signAccess(TokenClaims{TokenUse: "access", ClientID: "other", RegisteredClaims: claims(func(c *jwt.RegisteredClaims) { c.Audience = nil })}),
	} {
		t.Run(name, func(t *testing.T) {
			resp, body := do(t, "GET", srv.URL+"/mine/1", token)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401; body %s", resp.StatusCode, body)
			}
			var e struct{ Error struct{ Code string } }
			if json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != "unauthorized" {
				t.Errorf("body %s, want the contract's unauthorized error", body)
			}
		})
	}
	// API Gateway's authorizer takes an ID token's aud or an access token's client_id.
	t.Run("ID token shape", func(t *testing.T) {
		if resp, body := do(t, "GET", srv.URL+"/mine/1", valid); resp.StatusCode != 200 {
			t.Errorf("status %d: %s", resp.StatusCode, body)
		}
	})
	t.Run("too long to issue", func(t *testing.T) {
		if _, err := issuer.Issue("alice", nil, time.Hour+time.Second); err == nil {
			t.Error("issued a token over the maximum lifetime")
		}
	})
	t.Run("valid", func(t *testing.T) {
		tok, _ := issuer.Issue("alice", []string{"admin"}, time.Minute)
		resp, body := do(t, "GET", srv.URL+"/mine/42", tok)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal([]byte(body), &ev); err != nil {
			t.Fatal(err)
		}
		c := ev.RequestContext.Authorizer.JWT.Claims
		if c["sub"] != "alice" || c["cognito:groups"] != "[admin]" || c["token_use"] != "access" ||
			c["client_id"] != testAudience || c["aud"] != "" || ev.PathParameters["id"] != "42" {
			t.Errorf("claims %v, path %v", c, ev.PathParameters)
		}
		if got := resp.Header.Values("Set-Cookie"); len(got) != 2 {
			t.Errorf("Set-Cookie %v, want both cookies", got)
		}
	})
}

func TestGatewayAnswersAsAPIGateway(t *testing.T) {
	srv, _ := newTestGateway(t)
	for _, tc := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/nowhere", 404, `{"message":"Not Found"}`},
		{"POST", "/open", 404, `{"message":"Not Found"}`},
		{"HEAD", "/open", 404, ``},
		{"POST", "/fail", 500, `{"message":"Internal Server Error"}`},
		{"POST", "/panic", 500, `{"message":"Internal Server Error"}`},
		{"GET", "/binary", 200, "\x00\x01\x02"},
	} {
		resp, body := do(t, tc.method, srv.URL+tc.path, "")
		if resp.StatusCode != tc.status || strings.TrimSpace(body) != tc.body {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.body)
		}
	}
}

// rawRequest sends request (a request line and headers, as written on the wire) to srv, so
// that paths a client library would clean or refuse reach the gateway unchanged.
func rawRequest(t *testing.T, srv *httptest.Server, request string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// Paths with dot segments and doubled slashes are routed as sent, never redirected or
// cleaned, and a path net/http cannot parse gets the contract's error body.
func TestGatewayRoutesPathsAsSent(t *testing.T) {
	issuer, err := NewIssuer(testIssuer, testAudience, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	handlers := map[string]Handler{}
	for _, fn := range manifest.Functions {
		handlers[fn.Name] = echo
	}
	gw, err := New(manifest.All, handlers, issuer, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(gw)
	srv.Listener = JSONRefusals(srv.Listener)
	srv.Start()
	t.Cleanup(srv.Close)
	token, err := issuer.Issue("alice", nil, time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		method, path string
		auth         bool
		status       int
		// routeKey and param are what the function is called with; empty: not called.
		routeKey, param string
		// code is the contract's error code, or "Not Found" for API Gateway's own body.
		code string
	}{
		{"GET", "/products/..", false, 200, "GET /products/{productId}", "..", ""},
		{"GET", "/products/.", false, 200, "GET /products/{productId}", ".", ""},
		{"GET", "/orders/..", false, 401, "", "", "unauthorized"},
		{"GET", "/orders/..", true, 200, "GET /orders/{orderId}", "..", ""},
		{"PUT", "/cart/items/..", true, 200, "PUT /cart/items/{productId}", "..", ""},
		{"GET", "/cart/items/..", true, 404, "", "", "Not Found"},
		{"POST", "/products/../reviews", true, 200, "POST /products/{productId}/reviews", "..", ""},
		{"GET", "//products/books-01", false, 404, "", "", "Not Found"},
		{"GET", "/products//books-01", false, 404, "", "", "Not Found"},
		{"GET", "/products/", false, 404, "", "", "Not Found"},
		{"GET", "/products/a%2Fb", false, 200, "GET /products/{productId}", "a/b", ""},
		{"GET", "/products/%ZZ", false, 400, "", "", "invalid_request"},
		{"GET", "/%zz", false, 400, "", "", "invalid_request"},
	} {
		name := tc.method + " " + tc.path
		if tc.auth {
			name += " signed in"
		}
		t.Run(name, func(t *testing.T) {
			req := tc.method + " " + tc.path + " HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 0\r\n"
			if tc.auth {
				req += "Authorization: Bearer " + token + "\r\n"
			}
			resp, body := rawRequest(t, srv, req+"\r\n")
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q, want JSON", ct)
			}
			if tc.routeKey != "" {
				var ev events.APIGatewayV2HTTPRequest
				if err := json.Unmarshal([]byte(body), &ev); err != nil {
					t.Fatal(err)
				}
				var param string
				for _, v := range ev.PathParameters {
					param = v
				}
				if ev.RouteKey != tc.routeKey || param != tc.param || ev.RawPath != tc.path {
					t.Errorf("function got %s %q on raw path %q, want %s %q on %q", ev.RouteKey, param, ev.RawPath, tc.routeKey, tc.param, tc.path)
				}
				return
			}
			var e struct {
				Message string
				Error   struct{ Code string }
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("body %q is not JSON", body)
			}
			if got := e.Error.Code + e.Message; got != tc.code {
				t.Errorf("body %s, want %s", body, tc.code)
			}
		})
	}
}

// A body over API Gateway's limit is refused by the gateway itself, with the contract's body.
func TestGatewayRefusesOversizeBodies(t *testing.T) {
	srv, _ := newTestGateway(t)
	resp, err := http.Post(srv.URL+"/fail", "application/json", strings.NewReader(strings.Repeat("x", maxPayload+1)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct{ Error struct{ Code string } }
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.StatusCode != 413 || e.Error.Code != "payload_too_large" {
		t.Errorf("status %d, code %q (%v), want 413 payload_too_large", resp.StatusCode, e.Error.Code, err)
	}
}
