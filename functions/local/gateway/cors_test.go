package gateway

import (
	"net/http"
	"testing"
)

func TestCORS(t *testing.T) {
	srv, _ := newTestGateway(t)
	gw := srv.Config.Handler.(*Gateway)
	gw.AllowOrigins("http://127.0.0.1:5173")

	send := func(method, origin string, preflight bool) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+"/open", nil)
		if err != nil {
			t.Fatal(err)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if preflight {
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "content-type,idempotency-key")
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}

	t.Run("preflight from the site", func(t *testing.T) {
		res := send(http.MethodOptions, "http://127.0.0.1:5173", true)
		h := res.Header
		if res.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:5173" ||
			h.Get("Access-Control-Allow-Methods") != "GET,POST" ||
			h.Get("Access-Control-Allow-Headers") != "authorization,content-type,idempotency-key" ||
			h.Get("Access-Control-Max-Age") != "3600" {
			t.Fatalf("preflight: %d %v", res.StatusCode, h)
		}
	})
	t.Run("request from the site", func(t *testing.T) {
		res := send(http.MethodGet, "http://127.0.0.1:5173", false)
		if res.StatusCode != http.StatusOK || res.Header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:5173" ||
			res.Header.Get("Access-Control-Expose-Headers") != "location,retry-after,x-cache" {
			t.Fatalf("GET: %d %v", res.StatusCode, res.Header)
		}
	})
	for _, origin := range []string{"https://evil.example", "http://localhost:5173", "null"} {
		t.Run("other origin "+origin, func(t *testing.T) {
			for _, preflight := range []bool{true, false} {
				method := http.MethodGet
				if preflight {
					method = http.MethodOptions
				}
				res := send(method, origin, preflight)
				if v := res.Header.Get("Access-Control-Allow-Origin"); v != "" {
					t.Errorf("%s answered Access-Control-Allow-Origin %q", method, v)
				}
				if res.Header.Get("Access-Control-Allow-Methods") != "" {
					t.Errorf("%s answered Access-Control-Allow-Methods", method)
				}
			}
		})
	}
}
