// Package site serves the built storefront (storefront/dist) on its own origin the way
// CloudFront serves it in the cloud, by the same rules (storefront/hosting): the SPA routing
// rule (page paths get index.html, a missing asset stays a 404), the security headers, the
// Cache-Control and Content-Type of each file, gzip as the distribution compresses, and the
// stage's /config.json.
package site

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/klauspost/compress/gzhttp"

	"github.com/shop-serverless/shop/storefront/hosting"
)

// Options configure the site's handler.
type Options struct {
	// Files is the build's folder, os.DirFS("storefront/dist").
	Files fs.FS
	// Config is what /config.json tells the app.
	Config hosting.Config
	// Origins are the origins besides its own the site may talk to (its Content-Security-Policy).
	Origins hosting.Origins
}

// Handler serves the storefront. It checks the build has an entry page and the settings are
// complete, so a broken site fails at start-up rather than on the first page.
func Handler(o Options) (http.Handler, error) {
	security, err := hosting.Security(o.Origins)
	if err != nil {
		return nil, fmt.Errorf("site: %w", err)
	}
	config, err := o.Config.Marshal()
	if err != nil {
		return nil, fmt.Errorf("site: %w", err)
	}
	if _, err := fs.Stat(o.Files, "index.html"); err != nil {
		return nil, fmt.Errorf("site: the build has no index.html (run make storefront): %w", err)
	}
	compress, err := gzhttp.NewWrapper(gzhttp.MinSize(compressMinSize))
	if err != nil {
		return nil, fmt.Errorf("site: %w", err)
	}
	return compress(&handler{files: o.Files, headers: security.Map(), config: config, started: time.Now()}), nil
}

// compressMinSize is the smallest file the distribution compresses (CloudFront compresses
// files of 1,000 bytes to 10 MB for viewers that accept gzip), so the local site sends
// what a browser gets from the cloud.
const compressMinSize = 1000

type handler struct {
	files   fs.FS
	headers map[string]string
	config  []byte
	started time.Time
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for k, v := range h.headers {
		w.Header().Set(k, v)
	}
	// The distribution allows GET and HEAD only.
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		w.Header().Set("Cache-Control", hosting.NoCache)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	file := strings.TrimPrefix(hosting.Route(r.URL.Path), "/")
	w.Header().Set("Cache-Control", hosting.CacheControl(file))
	w.Header().Set("Content-Type", hosting.ContentType(file))
	if file == hosting.ConfigFile {
		http.ServeContent(w, r, file, h.started, bytes.NewReader(h.config))
		return
	}
	if !fs.ValidPath(file) {
		notFound(w)
		return
	}
	f, err := h.files.Open(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			notFound(w)
			return
		}
		http.Error(w, "cannot read the file", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || info.IsDir() {
		notFound(w)
		return
	}
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		http.Error(w, "cannot read the file", http.StatusInternalServerError)
		return
	}
	http.ServeContent(w, r, file, info.ModTime(), rs)
}

// notFound answers a missing file, never with the entry page: a missing script must not run
// as HTML.
func notFound(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", hosting.NoCache)
	http.Error(w, "not found", http.StatusNotFound)
}
