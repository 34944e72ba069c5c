package stage_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"

	"github.com/shop-serverless/shop/functions/local/stagetest"
)

// rawGet sends a GET of path exactly as written, which a client library would clean.
func rawGet(t *testing.T, path string) *stagetest.Response {
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
	if _, err := io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: "+u.Host+"\r\n\r\n"); err != nil {
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
			r := rawGet(t, tc.path)
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
