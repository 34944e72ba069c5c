package stage

import (
	"net/http"
	"os"
	"path/filepath"

	"github.com/shop-serverless/shop/functions/local/gateway"
	"github.com/shop-serverless/shop/functions/local/servers"
	"github.com/shop-serverless/shop/functions/manifest"
)

// The API reference on the local stage: the OpenAPI document at /_local/openapi.json and a
// page that renders it at /_local/docs, with Redoc's standalone bundle, which the Makefile
// takes from npm into .tools/redoc, served from the stage's own origin.
const (
	openAPIPath = "/_local/openapi.json"
	docsPath    = "/_local/docs"
	redocPath   = "/_local/docs/redoc.standalone.js"
)

// docsPage loads the viewer and points it at the document; the bundle renders everything.
const docsPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shop API reference</title>
</head>
<body>
<redoc spec-url="` + openAPIPath + `"></redoc>
<script src="` + redocPath + `"></script>
</body>
</html>
`

// docsPolicy allows what the page and Redoc need from the stage's origin: its script, its
// fetch of the document, the styles and search worker it makes at run time; nothing else.
const docsPolicy = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; worker-src blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// handleDocs serves the document and its reference page on gw.
func handleDocs(gw *gateway.Gateway) error {
	for pattern, h := range map[string]http.Handler{
		"GET " + openAPIPath: http.HandlerFunc(serveOpenAPI),
		"GET " + docsPath:    http.HandlerFunc(serveDocsPage),
		"GET " + redocPath:   http.HandlerFunc(serveRedoc),
	} {
		if err := gw.Handle(pattern, h); err != nil {
			return err
		}
	}
	return nil
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(manifest.OpenAPI)
}

func serveDocsPage(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", docsPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	_, _ = w.Write([]byte(docsPage))
}

// serveRedoc serves the bundle the Makefile installed; without it, it says how to get it.
func serveRedoc(w http.ResponseWriter, r *http.Request) {
	dir, err := servers.ToolsDir()
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "redoc", "redoc.standalone.js"))
	}
	if err != nil {
		http.Error(w, "the API reference's viewer is not installed: run make tools", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeFile(w, r, filepath.Join(dir, "redoc", "redoc.standalone.js"))
}
