package clients

import (
	"testing"

	"github.com/shop-serverless/shop/functions/manifest"
)

func TestLoadConfigConcurrentRequests(t *testing.T) {
	for v, want := range map[string]int{"": 1, "1000": 1000} {
		cfg, err := LoadConfig(func(k string) string {
			if k == manifest.EnvConcurrentRequests {
				return v
			}
			return ""
		})
		if err != nil || cfg.ConcurrentRequests != want {
			t.Errorf("%s=%q: %d, %v; want %d", manifest.EnvConcurrentRequests, v, cfg.ConcurrentRequests, err, want)
		}
	}
	for _, bad := range []string{"0", "-1", "many"} {
		if _, err := LoadConfig(func(k string) string {
			if k == manifest.EnvConcurrentRequests {
				return bad
			}
			return ""
		}); err == nil {
			t.Errorf("%s=%q accepted", manifest.EnvConcurrentRequests, bad)
		}
	}
}
