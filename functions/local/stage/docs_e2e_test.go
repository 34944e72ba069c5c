package stage_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shop-serverless/shop/functions/local/chromium"
	"github.com/shop-serverless/shop/functions/local/stagetest"
	"github.com/shop-serverless/shop/functions/manifest"
)

// The stage serves the OpenAPI document as it is in functions/manifest.
func TestOpenAPIDocumentServed(t *testing.T) {
	resp := stagetest.NewClient(st.URL, "").Do(t, "GET", "/_local/openapi.json", nil)
	resp.Expect(t, http.StatusOK, "")
	if !bytes.Equal(resp.Body, manifest.OpenAPI) {
		t.Errorf("/_local/openapi.json is not functions/manifest/openapi.json")
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content type %q", ct)
	}
}

// /_local/docs is Redoc, from the stage's own origin under a policy that allows nothing
// else, and Chromium renders every route of the table from it.
func TestDocsPageRendersEveryRoute(t *testing.T) {
	c := stagetest.NewClient(st.URL, "")
	page := c.Do(t, "GET", "/_local/docs", nil)
	page.Expect(t, http.StatusOK, "")
	csp := page.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	bundle := c.Do(t, "GET", "/_local/docs/redoc.standalone.js", nil)
	bundle.Expect(t, http.StatusOK, "")
	if !bytes.Contains(bundle.Body, []byte("Redoc")) {
		t.Fatalf("the viewer's bundle is not Redoc's: %.200s", bundle.Body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dom, err := chromium.DumpDOM(ctx, t.TempDir(), st.URL+"/_local/docs", 30000)
	if err != nil {
		t.Fatalf("make chromium installs it: %v", err)
	}
	for _, rt := range manifest.All {
		if !strings.Contains(dom, htmlEscape(manifest.Descriptions[rt.Key()])) {
			t.Errorf("the rendered reference does not show %s (%q)", rt.Key(), manifest.Descriptions[rt.Key()])
		}
	}
	if t.Failed() {
		t.Logf("rendered page: %.2000s", dom)
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
