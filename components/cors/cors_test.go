package cors_test

import (
	"strings"
	"testing"

	"github.com/shop-serverless/shop/components/cors"
)

func TestCheckOrigin(t *testing.T) {
	for _, o := range []string{"https://shop.example.com", "http://localhost:5173", "https://d111111abcdef8.cloudfront.net"} {
		if err := cors.CheckOrigin(o); err != nil {
			t.Errorf("%s: %v", o, err)
		}
	}
	for _, tt := range []struct{ origin, want string }{
		{"*", "list the origins"},
		{"https://shop.example.com/", "must be an origin"},
		{"https://shop.example.com/path", "must be an origin"},
		{"https://shop.example.com?", "must be an origin"},
		{"https://shop.example.com?a=1", "must be an origin"},
		{"https://shop.example.com#top", "must be an origin"},
		{"https://user@shop.example.com", "must be an origin"},
		{"ftp://shop.example.com", "must be an origin"},
		{"shop.example.com", "must be an origin"},
		{"", "must be an origin"},
	} {
		if err := cors.CheckOrigin(tt.origin); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want an error with %q", tt.origin, err, tt.want)
		}
	}
}
