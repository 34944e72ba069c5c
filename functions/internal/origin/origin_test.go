package origin

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/manifest"
)

func served(context.Context, api.Request) (api.Response, error) {
	return api.Response{StatusCode: http.StatusOK, Body: "served"}, nil
}

func TestWrap(t *testing.T) {
	const current, previous = "s3cret-value-of-the-edge-now-000", "s3cret-value-of-the-edge-before1"
	cases := []struct {
		name      string
		verifiers string
		header    *string
		want      int
	}{
		{"the edge's header", manifest.OriginVerifiers(current), ptr(current), http.StatusOK},
		{"no header", manifest.OriginVerifiers(current), nil, http.StatusForbidden},
		{"empty value", manifest.OriginVerifiers(current), ptr(""), http.StatusForbidden},
		{"a prefix of the value", manifest.OriginVerifiers(current), ptr(current[:10]), http.StatusForbidden},
		{"the value and more", manifest.OriginVerifiers(current), ptr(current + "2"), http.StatusForbidden},
		{"another case", manifest.OriginVerifiers(current), ptr(strings.ToUpper(current)), http.StatusForbidden},
		{"the verifier itself", manifest.OriginVerifiers(current), ptr(manifest.OriginVerifiers(current)), http.StatusForbidden},
		{"rotating: the new value", manifest.OriginVerifiers(current, previous), ptr(current), http.StatusOK},
		{"rotating: the previous value", manifest.OriginVerifiers(current, previous), ptr(previous), http.StatusOK},
		{"rotated: the previous value", manifest.OriginVerifiers(current), ptr(previous), http.StatusForbidden},
		{"rotating: neither", manifest.OriginVerifiers(current, previous), ptr("s3cret-value-of-the-edge-other-2"), http.StatusForbidden},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check, err := New(c.verifiers)
			if err != nil {
				t.Fatal(err)
			}
			req := api.Request{RouteKey: "GET /products"}
			if c.header != nil {
				req.Headers = map[string]string{"x-shop-origin-verify": *c.header}
			}
			resp, err := check.Wrap(served)(context.Background(), req)
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

func ptr(s string) *string { return &s }

// New refuses what would let requests without the header through, or is no digest.
func TestNewRefuses(t *testing.T) {
	good := manifest.OriginVerifiers("s3cret-value-of-the-edge-now-000")
	for name, v := range map[string]string{
		"nothing":                  "",
		"the empty value's digest": manifest.OriginVerifiers(""),
		"an empty second":          good + ",",
		"a secret, not a digest":   "s3cret-value-of-the-edge-now-000",
		"a digest cut short":       good[:62],
		"a digest and more":        good + "00",
		"not hex":                  strings.Repeat("g", 64),
		"spaces":                   good + ", " + good,
	} {
		if _, err := New(v); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), v) && v != "" {
			t.Errorf("%s: the error %q repeats the value", name, err)
		}
	}
}
