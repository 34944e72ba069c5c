package contract

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shop-serverless/shop/functions/manifest"
)

const product = `{"productId":"books-01","name":"Go","description":"","category":"books","price":1999,` +
	`"currency":"USD","stock":3,"imageUrl":null,"createdAt":"2026-12-01T10:00:00Z","updatedAt":"2026-12-01T10:00:00Z"}`

// Each exchange is served by a handler that answers as written, through the validator; the
// drift it records must name what disagrees (all of want), or be empty.
func TestValidatorNamesDrift(t *testing.T) {
	for _, tc := range []struct {
		name           string
		method, target string
		body           string
		status         int
		header         map[string]string
		answer         string
		want           []string
	}{
		{name: "a product as documented", method: "GET", target: "/products/books-01", status: 200,
			header: map[string]string{"X-Cache": "miss"}, answer: product},
		{name: "a product with maxPerCustomer", method: "GET", target: "/products/books-01", status: 200,
			header: map[string]string{"X-Cache": "hit"}, answer: strings.Replace(product, `"stock":3`, `"stock":3,"maxPerCustomer":2`, 1)},
		{name: "a missing field", method: "GET", target: "/products/books-01", status: 200,
			header: map[string]string{"X-Cache": "miss"}, answer: strings.Replace(product, `"stock":3,`, "", 1),
			want: []string{"GET /products/{productId}", "-> 200", "stock"}},
		{name: "a field the document lacks", method: "GET", target: "/products/books-01", status: 200,
			header: map[string]string{"X-Cache": "miss"}, answer: strings.Replace(product, `"stock":3`, `"stock":3,"weight":7`, 1),
			want: []string{"GET /products/{productId}", "weight"}},
		{name: "a wrongly typed field", method: "GET", target: "/products/books-01", status: 200,
			header: map[string]string{"X-Cache": "miss"}, answer: strings.Replace(product, `"price":1999`, `"price":"19.99"`, 1),
			want: []string{"price"}},
		{name: "a missing header", method: "GET", target: "/products/books-01", status: 200, answer: product,
			want: []string{"X-Cache"}},
		{name: "an undocumented status", method: "GET", target: "/health", status: 404,
			answer: `{"error":{"code":"not_found","message":"no"}}`, want: []string{"GET /health", "-> 404", "status"}},
		{name: "an error code of another status", method: "GET", target: "/products/books-01", status: 404,
			answer: `{"error":{"code":"conflict","message":"no"}}`, want: []string{"-> 404", "code"}},
		{name: "a refused request answered 2xx", method: "GET", target: "/products?limit=500", status: 200,
			answer: `{"items":[],"nextCursor":null}`, want: []string{"GET /products", "limit", "answered 200"}},
		{name: "a refused request answered 400", method: "GET", target: "/products?limit=500", status: 400,
			answer: `{"error":{"code":"invalid_request","message":"limit must be an integer from 1 to 100"}}`},
		{name: "a bad query escape answered 400", method: "GET", target: "/products?limit=%zz", status: 400,
			answer: `{"error":{"code":"invalid_request","message":"the query string is not valid URL encoding"}}`},
		{name: "a duplicate member answered 400", method: "PUT", target: "/cart/items/books-01", body: `{"quantity":1,"quantity":2}`, status: 400,
			answer: `{"error":{"code":"invalid_request","message":"duplicate member"}}`},
		{name: "a documented request refused", method: "PUT", target: "/cart/items/books-01", body: `{"quantity":1}`, status: 400,
			answer: `{"error":{"code":"invalid_request","message":"quantity is wrong"}}`, want: []string{"PUT /cart/items/{productId}", "allows this request"}},
		{name: "a body the document lacks", method: "PUT", target: "/cart/items/books-01", body: `{"quantity":1,"gift":true}`, status: 200,
			answer: `{"items":[],"total":0,"currency":null}`, want: []string{"gift", "answered 200"}},
		{name: "a protected route without a token", method: "GET", target: "/cart", status: 200,
			answer: `{"items":[],"total":0,"currency":null}`, want: []string{"GET /cart", "answered 200"}},
		{name: "no route, API Gateway's 404", method: "GET", target: "/nowhere", status: 404, answer: `{"message":"Not Found"}`},
		{name: "no route, another answer", method: "GET", target: "/nowhere", status: 200, answer: `{}`,
			want: []string{"/nowhere", "no operation"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(context.Background(), manifest.OpenAPI)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				for k, val := range tc.header {
					w.Header().Set(k, val)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.answer))
			})))
			defer srv.Close()
			req, err := http.NewRequest(tc.method, srv.URL+tc.target, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if strings.HasPrefix(tc.target, "/cart/") {
				req.Header.Set("Authorization", "Bearer token")
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("the client got %d, the handler answered %d", resp.StatusCode, tc.status)
			}
			drift := v.Drift()
			if len(tc.want) == 0 {
				if len(drift) > 0 {
					t.Errorf("drift %q, want none", drift)
				}
				return
			}
			if len(drift) != 1 {
				t.Fatalf("drift %q, want one naming %q", drift, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(drift[0], w) {
					t.Errorf("drift %q does not name %q", drift[0], w)
				}
			}
		})
	}
}
