package gateway

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/shop-serverless/shop/functions/manifest"
)

// cors is API Gateway's CORS configuration of an HTTP API, which the httpapi component declares
// with the same routes settings: preflights are answered by the gateway itself, and answers to
// an allowed origin carry Access-Control-Allow-Origin.
type cors struct {
	origins []string
	methods string
	headers string
	expose  string
	maxAge  string
}

// AllowOrigins lets browsers on origins ("http://127.0.0.1:5173") call the gateway's routes,
// as the API's CORS configuration does in the cloud.
func (g *Gateway) AllowOrigins(origins ...string) {
	g.cors = &cors{
		origins: origins,
		methods: strings.Join(manifest.CORSMethods(g.api), ","),
		headers: strings.Join(manifest.CORSAllowHeaders, ","),
		expose:  strings.Join(manifest.CORSExposeHeaders, ","),
		maxAge:  strconv.Itoa(manifest.CORSMaxAge),
	}
}

// handle adds the CORS headers for r's origin and reports whether r was a preflight, which it
// has answered.
func (c *cors) handle(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	h := w.Header()
	h.Add("Vary", "Origin")
	allowed := origin != "" && slices.Contains(c.origins, origin)
	if allowed {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	if !preflight {
		if allowed {
			h.Set("Access-Control-Expose-Headers", c.expose)
		}
		return false
	}
	if allowed {
		h.Set("Access-Control-Allow-Methods", c.methods)
		h.Set("Access-Control-Allow-Headers", c.headers)
		h.Set("Access-Control-Max-Age", c.maxAge)
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}
