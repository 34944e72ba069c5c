package origin

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/shop-serverless/shop/functions/internal/api"
)

func served(context.Context, api.Request) (api.Response, error) {
	return api.Response{StatusCode: http.StatusOK, Body: "served"}, nil
}

func TestWrap(t *testing.T) {
	check, err := New("s3cret-value")
	if err != nil {
		t.Fatal(err)
	}
	handle := check.Wrap(served)
	cases := []struct {
		name    string
		headers map[string]string
		want    int
	}{
		{"the edge's header", map[string]string{"x-shop-origin-verify": "s3cret-value"}, http.StatusOK},
		{"no header", nil, http.StatusForbidden},
		{"empty value", map[string]string{"x-shop-origin-verify": ""}, http.StatusForbidden},
		{"a prefix of the value", map[string]string{"x-shop-origin-verify": "s3cret"}, http.StatusForbidden},
		{"the value and more", map[string]string{"x-shop-origin-verify": "s3cret-value2"}, http.StatusForbidden},
		{"another value", map[string]string{"x-shop-origin-verify": "S3CRET-VALUE"}, http.StatusForbidden},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := handle(context.Background(), api.Request{Headers: c.headers, RouteKey: "GET /products"})
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.want)
			}
			if c.want != http.StatusForbidden {
				return
			}
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || body.Error.Code != "forbidden" {
				t.Fatalf("body %q is not the contract's forbidden error (%v)", resp.Body, err)
			}
		})
	}
}

func TestNewRefusesEmptySecret(t *testing.T) {
	if _, err := New(""); err == nil {
		t.Fatal("an empty secret would let requests without the header through")
	}
}
