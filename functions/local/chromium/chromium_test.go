package chromium_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shop-serverless/shop/functions/local/chromium"
)

// The DOM comes back after the page's scripts ran.
func TestDumpDOMRunsThePagesScripts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<!doctype html><body><script>
			setTimeout(() => { document.body.append("rendered " + (6 * 7)); }, 500);
		</script></body>`))
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dom, err := chromium.DumpDOM(ctx, t.TempDir(), srv.URL, 5000)
	if err != nil {
		t.Fatalf("make chromium installs it: %v", err)
	}
	if !strings.Contains(dom, "rendered 42") {
		t.Errorf("the script's text is not in the DOM: %.500s", dom)
	}
}
