package catalogadmin

import (
	"regexp"
	"strings"
	"testing"

	"github.com/shop-serverless/shop/functions/manifest"
)

// parseUploadKey accepts exactly what the regular expression it replaced matched, and
// reads the same product id and extension.
func TestParseUploadKeyIsItsPattern(t *testing.T) {
	pattern := regexp.MustCompile(`^` + regexp.QuoteMeta(manifest.UploadPrefix) + `([A-Za-z0-9_-]{1,128})/[0-9a-f]{32}\.(png|jpg|webp)$`)
	hex := strings.Repeat("0a", 16)
	cases := []string{
		uploadKey("kitchen-03", "png"), uploadKey("p", "jpg"), uploadKey(strings.Repeat("x", 128), "webp"),
		uploadKey(strings.Repeat("x", 129), "png"), uploadKey("a.b", "png"), uploadKey("", "png"),
		manifest.UploadPrefix + "p/" + hex + ".gif",
		manifest.UploadPrefix + "p/" + hex + ".png.png",
		manifest.UploadPrefix + "p/" + hex + ".png/",
		manifest.UploadPrefix + "p/" + strings.ToUpper(hex) + ".png",
		manifest.UploadPrefix + "p/" + hex[:31] + ".png",
		manifest.UploadPrefix + "p/" + hex + "0.png",
		manifest.UploadPrefix + "p/q/" + hex + ".png",
		manifest.UploadPrefix + "p/" + hex + ".",
		manifest.UploadPrefix + "p/" + hex,
		manifest.UploadPrefix + "p" + hex + ".png",
		"x" + manifest.UploadPrefix + "p/" + hex + ".png",
		"images/p/" + hex + ".png", "", manifest.UploadPrefix,
	}
	for _, key := range cases {
		id, ext, ok := parseUploadKey(key)
		m := pattern.FindStringSubmatch(key)
		if ok != (m != nil) || ok && (id != m[1] || ext != m[2]) {
			t.Errorf("parseUploadKey(%q) = %q, %q, %v; the pattern says %q", key, id, ext, ok, m)
		}
	}
}
