package stage_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"

	"github.com/shop-serverless/shop/functions/local/stagetest"
)

// raw sends a request exactly as written (request line, headers, body): no client library
// cleans its path or adds a Content-Type.
func raw(t *testing.T, method, path, body string, headers ...string) *stagetest.Response {
	t.Helper()
	u, err := url.Parse(st.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", method, path, u.Host, len(body))
	for i := 0; i+1 < len(headers); i += 2 {
		req += headers[i] + ": " + headers[i+1] + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"+body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &stagetest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Paths reach the functions as sent: a dot segment is a product id the catalog refuses, a
// doubled slash matches no route, a bad escape is the contract's 400; nothing redirects.
func TestPathsAreNotCleaned(t *testing.T) {
	for _, tc := range []struct {
		path   string
		status int
		code   string
	}{
		{"/products/..", 400, "invalid_request"},
		{"/products/.", 400, "invalid_request"},
		{"/products/%ZZ", 400, "invalid_request"},
		{"//products/books-01", 404, ""},
		{"/products/books-01/../../health", 404, ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := raw(t, "GET", tc.path, "")
			r.Expect(t, tc.status, tc.code)
			if tc.code == "" && string(r.Body) != "{\"message\":\"Not Found\"}\n" {
				t.Errorf("body %q, want API Gateway's Not Found", r.Body)
			}
		})
	}
}

// Only the group named exactly "admin" is admin.
func TestAdminGroupIsAWholeName(t *testing.T) {
	body := map[string]any{"name": "Lamp", "category": "edges", "price": 100, "currency": "EUR", "stock": 1}
	for _, group := range []string{"staff,admin", "admins", "[admin]"} {
		t.Run(group, func(t *testing.T) {
			clientAs(t, "eve", group).Do(t, "POST", "/products", body).Expect(t, 403, "forbidden")
		})
	}
}

// Every route decodes bodies strictly and refuses broken query strings, and a refused
// request changes nothing.
func TestStrictBodiesAndQueries(t *testing.T) {
	token, err := st.Token("strict-sam")
	if err != nil {
		t.Fatal(err)
	}
	auth := "Bearer " + token
	put := func(body string, headers ...string) *stagetest.Response {
		return raw(t, "PUT", "/cart/items/books-01", body, append([]string{"Authorization", auth}, headers...)...)
	}
	for _, tc := range []struct {
		name, body  string
		contentType string
		status      int
		code        string
	}{
		{"no content type", `{"quantity":1}`, "", 415, "unsupported_media_type"},
		{"form content type", `{"quantity":1}`, "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
		{"other charset", `{"quantity":1}`, "application/json; charset=iso-8859-1", 415, "unsupported_media_type"},
		{"name in another case", `{"Quantity":1}`, "application/json", 400, "invalid_request"},
		{"duplicate key", `{"quantity":1,"quantity":2}`, "application/json", 400, "invalid_request"},
		{"unknown field", `{"quantity":1,"note":"x"}`, "application/json", 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var headers []string
			if tc.contentType != "" {
				headers = []string{"Content-Type", tc.contentType}
			}
			put(tc.body, headers...).Expect(t, tc.status, tc.code)
		})
	}
	cart := raw(t, "GET", "/cart", "", "Authorization", auth)
	cart.Expect(t, 200, "")
	var c struct{ Items []any }
	cart.JSON(t, &c)
	if len(c.Items) != 0 {
		t.Errorf("refused updates changed the cart: %s", cart.Body)
	}
	put(`{"quantity":1}`, "Content-Type", "Application/JSON; charset=UTF-8").Expect(t, 200, "")

	for _, path := range []string{"/products?limit=%zz", "/products?category=books&limit=5&x=%", "/products/books-01/reviews?limit=%zz", "/orders?limit=%zz"} {
		t.Run(path, func(t *testing.T) {
			raw(t, "GET", path, "", "Authorization", auth).Expect(t, 400, "invalid_request")
		})
	}
}
