// Package hosting holds the rules the storefront is served by, in the cloud (S3 and
// CloudFront, declared by components/site) and locally (the local site server): the security
// response headers, the Cache-Control and Content-Type of each file, and the SPA routing rule.
// It is plain data and pure functions, so both servers apply the same rules and the tests of
// one prove the other.
package hosting

import (
	"fmt"
	"net/url"
	"path"
	"strings"
)

// Origins are the origins, besides the site's own, that the storefront may talk to. Each is
// "scheme://host[:port]" without a path; an empty field allows nothing for that role.
type Origins struct {
	// API is the HTTP API's origin (fetch).
	API string
	// Images is the origin images are shown from (img).
	Images string
	// Uploads is the origin presigned image uploads are posted to (fetch), the images bucket's
	// S3 endpoint in the cloud.
	Uploads string
	// Cognito is the hosted sign-in's origin: the browser is sent there to sign in and fetches
	// tokens from it.
	Cognito string
}

// Validate reports the first field that is not a bare http(s) origin.
func (o Origins) Validate() error {
	for _, f := range []struct{ name, value string }{
		{"API", o.API}, {"Images", o.Images}, {"Uploads", o.Uploads}, {"Cognito", o.Cognito},
	} {
		if f.value == "" {
			continue
		}
		if got, err := Origin(f.value); err != nil || got != f.value {
			return fmt.Errorf("%s origin %q: want scheme://host[:port] without a path", f.name, f.value)
		}
	}
	return nil
}

// Origin returns the origin ("scheme://host[:port]") of an http or https URL.
func Origin(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("origin of %q: %w", rawURL, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || !validHost(u.Hostname()) || u.User != nil {
		return "", fmt.Errorf("origin of %q: want an http(s) URL with a host", rawURL)
	}
	return u.Scheme + "://" + u.Host, nil
}

// validHost accepts DNS names and IPv4 addresses: letters, digits, dots and hyphens, so no
// wildcard or CSP syntax can pass as an origin.
func validHost(host string) bool {
	if host == "" {
		return false
	}
	for _, r := range host {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// HSTSMaxAge is Strict-Transport-Security's max-age in seconds (two years, as preload lists
// require).
const HSTSMaxAge = 63072000

// SecurityHeaders are the response headers every file of the site is served with.
type SecurityHeaders struct {
	// ContentSecurityPolicy allows the site's own origin and exactly the given origins.
	ContentSecurityPolicy string
	// HSTSMaxAge is Strict-Transport-Security's max-age, with includeSubDomains.
	HSTSMaxAge int
	// ContentTypeOptions is X-Content-Type-Options.
	ContentTypeOptions string
	// FrameOptions is X-Frame-Options, for browsers older than frame-ancestors.
	FrameOptions string
	// ReferrerPolicy is Referrer-Policy.
	ReferrerPolicy string
}

// Security returns the security headers for a site that talks to the given origins.
func Security(o Origins) (SecurityHeaders, error) {
	if err := o.Validate(); err != nil {
		return SecurityHeaders{}, err
	}
	return SecurityHeaders{
		ContentSecurityPolicy: contentSecurityPolicy(o),
		HSTSMaxAge:            HSTSMaxAge,
		ContentTypeOptions:    "nosniff",
		FrameOptions:          "DENY",
		ReferrerPolicy:        "strict-origin-when-cross-origin",
	}, nil
}

// StrictTransportSecurity is the Strict-Transport-Security header's value.
func (h SecurityHeaders) StrictTransportSecurity() string {
	return fmt.Sprintf("max-age=%d; includeSubDomains", h.HSTSMaxAge)
}

// Map returns the headers by their canonical names, as a server sets them.
func (h SecurityHeaders) Map() map[string]string {
	return map[string]string{
		"Content-Security-Policy":   h.ContentSecurityPolicy,
		"Strict-Transport-Security": h.StrictTransportSecurity(),
		"X-Content-Type-Options":    h.ContentTypeOptions,
		"X-Frame-Options":           h.FrameOptions,
		"Referrer-Policy":           h.ReferrerPolicy,
	}
}

// contentSecurityPolicy allows scripts, styles and fonts from the site alone, images from the
// site and the images origin, requests to the API, uploads and Cognito origins, and no
// framing, plugins or foreign base URLs.
func contentSecurityPolicy(o Origins) string {
	sources := func(origins ...string) string {
		list := []string{"'self'"}
		for _, origin := range origins {
			if origin != "" {
				list = append(list, origin)
			}
		}
		return strings.Join(list, " ")
	}
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self'",
		"style-src 'self'",
		"font-src 'self'",
		"img-src " + sources(o.Images),
		"connect-src " + sources(o.API, o.Uploads, o.Cognito),
		"form-action " + sources(o.Cognito),
		"object-src 'none'",
		"base-uri 'self'",
		"frame-ancestors 'none'",
	}, "; ")
}

// Cache-Control values by kind of file.
const (
	// NoCache makes browsers and CloudFront revalidate: the entry page and the stage's
	// settings change with every deployment under the same name.
	NoCache = "no-cache"
	// Immutable is for content-hashed build assets: a new build gives new names.
	Immutable = "public, max-age=31536000, immutable"
	// ShortLived is for the other files (favicon, robots.txt), which keep their names.
	ShortLived = "public, max-age=300"
)

// CacheControl returns the Cache-Control of a site file, by its path relative to the site's
// root ("index.html", "assets/index-3f2a.js").
func CacheControl(file string) string {
	file = strings.TrimPrefix(file, "/")
	switch {
	case file == "index.html" || file == "config.json":
		return NoCache
	case strings.HasPrefix(file, "assets/"):
		return Immutable
	default:
		return ShortLived
	}
}

// contentTypes are the types of the files a Vite build writes. A fixed table rather than the
// system's MIME database, so every machine uploads the same types.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json",
	".map":         "application/json",
	".webmanifest": "application/manifest+json",
	".txt":         "text/plain; charset=utf-8",
	".xml":         "application/xml",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".gif":         "image/gif",
	".webp":        "image/webp",
	".avif":        "image/avif",
	".ico":         "image/x-icon",
	".woff":        "font/woff",
	".woff2":       "font/woff2",
	".wasm":        "application/wasm",
}

// ContentType returns the Content-Type of a site file by its extension;
// application/octet-stream when the extension is unknown.
func ContentType(file string) string {
	if t, ok := contentTypes[strings.ToLower(path.Ext(file))]; ok {
		return t
	}
	return "application/octet-stream"
}

// Route returns the path of the file that answers a request path: a page path (its last
// segment has no extension) is the app's entry page, "/index.html"; any other path is served
// as is, so a missing asset stays a 404. viewer-request.js is the same rule for CloudFront.
func Route(requestPath string) string {
	last := requestPath[strings.LastIndex(requestPath, "/")+1:]
	if !strings.Contains(last, ".") {
		return "/index.html"
	}
	return requestPath
}
