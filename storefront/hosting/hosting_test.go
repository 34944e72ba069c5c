package hosting

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

type routeCase struct {
	URI  string `json:"uri"`
	Want string `json:"want"`
}

func routeCases(t *testing.T) []routeCase {
	t.Helper()
	raw, err := os.ReadFile("testdata/routes.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []routeCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no route cases")
	}
	return cases
}

func TestRoute(t *testing.T) {
	for _, c := range routeCases(t) {
		if got := Route(c.URI); got != c.Want {
			t.Errorf("Route(%q) = %q, want %q", c.URI, got, c.Want)
		}
	}
}

// runFunction is a CloudFront viewer-request call under node: it loads the embedded function
// source as CloudFront does (a script defining handler) and prints the URI each case's request
// leaves with.
const runFunction = `
const fs = require('fs');
const source = fs.readFileSync(0, 'utf8');
const handler = new Function(source + '\nreturn handler;')();
const cases = JSON.parse(fs.readFileSync(process.argv[1], 'utf8'));
const out = cases.map((c) => {
  const request = { method: 'GET', uri: c.uri, querystring: {}, headers: {}, cookies: {} };
  return handler({ version: '1.0', context: { eventType: 'viewer-request' }, viewer: { ip: '192.0.2.1' }, request }).uri;
});
process.stdout.write(JSON.stringify(out));
`

// TestViewerRequestFunction runs the CloudFront Function's JavaScript under node against the
// cases TestRoute checks, so the two implementations of the rule cannot drift.
func TestViewerRequestFunction(t *testing.T) {
	cases := routeCases(t)
	cmd := exec.Command("node", "-e", runFunction, "testdata/routes.json")
	cmd.Stdin = strings.NewReader(ViewerRequestFunction)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var got []string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node output %q: %v", out, err)
	}
	if len(got) != len(cases) {
		t.Fatalf("node answered %d cases, want %d", len(got), len(cases))
	}
	for i, c := range cases {
		if got[i] != c.Want {
			t.Errorf("viewer-request.js: %q -> %q, want %q", c.URI, got[i], c.Want)
		}
	}
}

func TestCacheControl(t *testing.T) {
	for file, want := range map[string]string{
		"index.html":                 NoCache,
		"/index.html":                NoCache,
		"config.json":                NoCache,
		"assets/index-3f2a9c1b.js":   Immutable,
		"assets/index-77aa01fe.css":  Immutable,
		"favicon.ico":                ShortLived,
		"robots.txt":                 ShortLived,
		"p/index.html":               ShortLived,
		"assets-not-hashed/file.js":  ShortLived,
		"sub/assets/index-3f2a9.js":  ShortLived,
		"images/config.json":         ShortLived,
		"assets/nested/font-1a.woff": Immutable,
	} {
		if got := CacheControl(file); got != want {
			t.Errorf("CacheControl(%q) = %q, want %q", file, got, want)
		}
	}
}

func TestContentType(t *testing.T) {
	for file, want := range map[string]string{
		"index.html":                "text/html; charset=utf-8",
		"assets/index-3f2a9c1b.js":  "text/javascript; charset=utf-8",
		"assets/index-77aa01fe.css": "text/css; charset=utf-8",
		"config.json":               "application/json",
		"favicon.svg":               "image/svg+xml",
		"LOGO.PNG":                  "image/png",
		"assets/inter-1a.woff2":     "font/woff2",
		"LICENSE":                   "application/octet-stream",
		"file.unknownext":           "application/octet-stream",
	} {
		if got := ContentType(file); got != want {
			t.Errorf("ContentType(%q) = %q, want %q", file, got, want)
		}
	}
}

func TestSecurity(t *testing.T) {
	h, err := Security(Origins{
		API:     "https://abc123.execute-api.eu-west-1.amazonaws.com",
		Images:  "https://d111111abcdef8.cloudfront.net",
		Uploads: "https://shop-images.s3.eu-west-1.amazonaws.com",
		Cognito: "https://shop-dev.auth.eu-west-1.amazoncognito.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	directives := map[string]string{}
	for _, d := range strings.Split(h.ContentSecurityPolicy, "; ") {
		name, value, _ := strings.Cut(d, " ")
		directives[name] = value
	}
	want := map[string]string{
		"default-src":     "'self'",
		"script-src":      "'self'",
		"style-src":       "'self'",
		"font-src":        "'self'",
		"img-src":         "'self' https://d111111abcdef8.cloudfront.net",
		"connect-src":     "'self' https://abc123.execute-api.eu-west-1.amazonaws.com https://shop-images.s3.eu-west-1.amazonaws.com https://shop-dev.auth.eu-west-1.amazoncognito.com",
		"form-action":     "'self' https://shop-dev.auth.eu-west-1.amazoncognito.com",
		"object-src":      "'none'",
		"base-uri":        "'self'",
		"frame-ancestors": "'none'",
	}
	if len(directives) != len(want) {
		t.Errorf("CSP %q has %d directives, want %d", h.ContentSecurityPolicy, len(directives), len(want))
	}
	for name, value := range want {
		if directives[name] != value {
			t.Errorf("CSP %s = %q, want %q", name, directives[name], value)
		}
	}
	if strings.Contains(h.ContentSecurityPolicy, "unsafe") || strings.Contains(h.ContentSecurityPolicy, "*") {
		t.Errorf("CSP allows more than exact origins: %q", h.ContentSecurityPolicy)
	}
	m := h.Map()
	for name, value := range map[string]string{
		"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
		"X-Content-Type-Options":    "nosniff",
		"X-Frame-Options":           "DENY",
		"Referrer-Policy":           "strict-origin-when-cross-origin",
		"Content-Security-Policy":   h.ContentSecurityPolicy,
	} {
		if m[name] != value {
			t.Errorf("header %s = %q, want %q", name, m[name], value)
		}
	}
}

func TestSecurityLocalOriginsOnly(t *testing.T) {
	h, err := Security(Origins{API: "http://127.0.0.1:8080", Images: "http://127.0.0.1:8080"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.ContentSecurityPolicy, "connect-src 'self' http://127.0.0.1:8080;") ||
		!strings.Contains(h.ContentSecurityPolicy, "form-action 'self';") {
		t.Errorf("CSP %q", h.ContentSecurityPolicy)
	}
}

func TestSecurityRefusesNonOrigins(t *testing.T) {
	for _, o := range []Origins{
		{API: "https://abc.execute-api.eu-west-1.amazonaws.com/prod"},
		{Images: "d111111abcdef8.cloudfront.net"},
		{Cognito: "https://*.amazoncognito.com"},
		{Uploads: "ftp://example.com"},
		{API: "https://example.com; script-src *"},
		{API: "https://example.com/"},
	} {
		if _, err := Security(o); err == nil {
			t.Errorf("Security(%+v) accepted", o)
		}
	}
}

func TestOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://abc.execute-api.eu-west-1.amazonaws.com/":     "https://abc.execute-api.eu-west-1.amazonaws.com",
		"https://d111111abcdef8.cloudfront.net/products/x.png": "https://d111111abcdef8.cloudfront.net",
		"http://127.0.0.1:8080/_local/images":                  "http://127.0.0.1:8080",
	} {
		got, err := Origin(in)
		if err != nil || got != want {
			t.Errorf("Origin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// runResponseFunction loads viewer-response.js with the CloudFront runtime's key value store
// replaced by one holding the keys given as JSON in argv[1] (none: every read fails), and
// prints the response's Content-Security-Policy.
const runResponseFunction = `
const fs = require('fs');
const store = JSON.parse(process.argv[1]);
const cf = { kvs: () => ({ get: async (key) => { if (!(key in store)) throw new Error('key not found'); return store[key]; } }) };
let source = fs.readFileSync(0, 'utf8');
if (!source.includes("import cf from 'cloudfront';")) throw new Error('no cloudfront import');
source = source.replace("import cf from 'cloudfront';", '');
const handler = new Function('cf', source + '\nreturn handler;')(cf);
handler({ version: '1.0', context: { eventType: 'viewer-response' }, request: { uri: '/' }, response: { statusCode: 200, headers: {} } })
  .then((r) => process.stdout.write(r.headers['content-security-policy'].value));
`

func TestViewerResponseFunction(t *testing.T) {
	h, err := Security(Origins{API: "https://abc123.execute-api.eu-west-1.amazonaws.com"})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := json.Marshal(map[string]string{CSPKey: h.ContentSecurityPolicy})
	for name, tc := range map[string]struct {
		store string
		want  func(string) bool
	}{
		"stored policy": {string(stored), func(got string) bool { return got == h.ContentSecurityPolicy }},
		"no policy stored: the site alone": {"{}", func(got string) bool {
			return strings.HasPrefix(got, "default-src 'self';") && strings.Contains(got, "frame-ancestors 'none'") && !strings.Contains(got, "https:")
		}},
	} {
		cmd := exec.Command("node", "-e", runResponseFunction, tc.store)
		cmd.Stdin = strings.NewReader(ViewerResponseFunction)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: node: %v", name, err)
		}
		if !tc.want(string(out)) {
			t.Errorf("%s: Content-Security-Policy %q", name, out)
		}
	}
}
