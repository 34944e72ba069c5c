package site

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/shop-serverless/shop/storefront/hosting"
)

const indexHTML = `<!doctype html><script type="module" src="/assets/index-3f2a9c1b.js"></script>`

func testHandler(t *testing.T) http.Handler {
	t.Helper()
	h, err := Handler(Options{
		Files: fstest.MapFS{
			"index.html":               {Data: []byte(indexHTML)},
			"favicon.svg":              {Data: []byte("<svg/>")},
			"assets/index-3f2a9c1b.js": {Data: []byte("console.log(1)")},
			"assets/logo.v2/x.png":     {Data: []byte("png")},
			"config.json":              {Data: []byte(`{"stale":"build copy"}`)},
		},
		Config: hosting.Config{
			APIBaseURL: "http://127.0.0.1:8080", ImagesBaseURL: "http://127.0.0.1:8080/_local/images",
			Auth: hosting.Auth{Mode: hosting.AuthLocal},
		},
		Origins: hosting.Origins{API: "http://127.0.0.1:8080", Images: "http://127.0.0.1:8080", Uploads: "http://127.0.0.1:9000"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHandler(t *testing.T) {
	h := testHandler(t)
	for _, tc := range []struct {
		method, path string
		status       int
		body, cache  string
		ctype        string
	}{
		{"GET", "/", 200, indexHTML, hosting.NoCache, "text/html; charset=utf-8"},
		{"GET", "/p/books-01", 200, indexHTML, hosting.NoCache, "text/html; charset=utf-8"},
		{"GET", "/orders/0b1f6c2e", 200, indexHTML, hosting.NoCache, "text/html; charset=utf-8"},
		{"GET", "/admin/p/x/", 200, indexHTML, hosting.NoCache, "text/html; charset=utf-8"},
		{"GET", "/assets/index-3f2a9c1b.js", 200, "console.log(1)", hosting.Immutable, "text/javascript; charset=utf-8"},
		{"GET", "/favicon.svg", 200, "<svg/>", hosting.ShortLived, "image/svg+xml"},
		// A missing asset is a 404, never the entry page served as script.
		{"GET", "/assets/missing-00000000.js", 404, "not found\n", hosting.NoCache, "text/plain; charset=utf-8"},
		{"GET", "/assets/logo.v2", 404, "not found\n", hosting.NoCache, "text/plain; charset=utf-8"},
		{"GET", "/.env", 404, "not found\n", hosting.NoCache, "text/plain; charset=utf-8"},
		{"GET", "/../../etc/passwd.txt", 404, "not found\n", hosting.NoCache, "text/plain; charset=utf-8"},
		{"HEAD", "/cart", 200, "", hosting.NoCache, "text/html; charset=utf-8"},
		{"POST", "/cart", 405, "method not allowed\n", hosting.NoCache, "text/plain; charset=utf-8"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(tc.method, "http://site.test/", nil)
			req.URL.Path = tc.path
			h.ServeHTTP(rec, req)
			res := rec.Result()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.status || string(body) != tc.body || res.Header.Get("Cache-Control") != tc.cache ||
				res.Header.Get("Content-Type") != tc.ctype {
				t.Errorf("%d %q cache %q type %q, want %d %q %q %q", res.StatusCode, body,
					res.Header.Get("Cache-Control"), res.Header.Get("Content-Type"), tc.status, tc.body, tc.cache, tc.ctype)
			}
			// Every answer, errors included, carries the security headers.
			csp := res.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "connect-src 'self' http://127.0.0.1:8080 http://127.0.0.1:9000") ||
				!strings.Contains(csp, "frame-ancestors 'none'") ||
				res.Header.Get("X-Content-Type-Options") != "nosniff" ||
				!strings.HasPrefix(res.Header.Get("Strict-Transport-Security"), "max-age=") ||
				res.Header.Get("Referrer-Policy") != "strict-origin-when-cross-origin" {
				t.Errorf("security headers: %v", res.Header)
			}
		})
	}
}

// TestConfigJSON serves the stage's settings, not whatever file the build may hold.
func TestConfigJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	testHandler(t).ServeHTTP(rec, httptest.NewRequest("GET", "/config.json", nil))
	var got hosting.Config
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("%d %s: %v", rec.Code, rec.Body, err)
	}
	want := hosting.Config{APIBaseURL: "http://127.0.0.1:8080", ImagesBaseURL: "http://127.0.0.1:8080/_local/images", Auth: hosting.Auth{Mode: hosting.AuthLocal}}
	if got.APIBaseURL != want.APIBaseURL || got.ImagesBaseURL != want.ImagesBaseURL || got.Auth.Mode != want.Auth.Mode || got.Auth.Cognito != nil {
		t.Errorf("config.json %+v, want %+v", got, want)
	}
	if rec.Header().Get("Cache-Control") != hosting.NoCache || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", rec.Header())
	}
}

func TestHandlerRefusesABrokenSite(t *testing.T) {
	good := hosting.Config{APIBaseURL: "http://a", ImagesBaseURL: "http://b", Auth: hosting.Auth{Mode: hosting.AuthLocal}}
	for name, o := range map[string]Options{
		"no index.html":  {Files: fstest.MapFS{}, Config: good},
		"no API URL":     {Files: fstest.MapFS{"index.html": {}}, Config: hosting.Config{ImagesBaseURL: "http://b", Auth: good.Auth}},
		"a wildcard CSP": {Files: fstest.MapFS{"index.html": {}}, Config: good, Origins: hosting.Origins{API: "https://*"}},
	} {
		if _, err := Handler(o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// Text files of 1,000 bytes and more are sent gzipped to browsers that accept it, as the
// distribution compresses them; smaller ones and other viewers get them as stored.
func TestCompressesAsTheDistribution(t *testing.T) {
	big := strings.Repeat("console.log('storefront');\n", 100)
	h, err := Handler(Options{
		Files: fstest.MapFS{
			"index.html":            {Data: []byte(indexHTML)},
			"assets/app-1a2b3c.js":  {Data: []byte(big)},
			"assets/tiny-4d5e6f.js": {Data: []byte("console.log(1)")},
		},
		Config:  hosting.Config{APIBaseURL: "http://127.0.0.1:8080", ImagesBaseURL: "http://127.0.0.1:8080/_local/images", Auth: hosting.Auth{Mode: hosting.AuthLocal}},
		Origins: hosting.Origins{API: "http://127.0.0.1:8080", Images: "http://127.0.0.1:8080", Uploads: "http://127.0.0.1:9000"},
	})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path, accept string) *http.Response {
		req := httptest.NewRequest("GET", path, nil)
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Result()
	}
	resp := get("/assets/app-1a2b3c.js", "gzip, deflate, br")
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("big script: Content-Encoding %q, Vary %q, want gzip and Vary: Accept-Encoding", resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(zr); string(b) != big {
		t.Errorf("gzipped body differs from the file")
	}
	if resp.Header.Get("Cache-Control") != hosting.Immutable || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("compression lost the file's headers: %v", resp.Header)
	}
	for _, tc := range []struct{ path, accept string }{
		{"/assets/app-1a2b3c.js", ""},
		{"/assets/tiny-4d5e6f.js", "gzip"},
	} {
		if enc := get(tc.path, tc.accept).Header.Get("Content-Encoding"); enc != "" {
			t.Errorf("%s with Accept-Encoding %q: Content-Encoding %q, want none", tc.path, tc.accept, enc)
		}
	}
}
