package catalogadmin

import (
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/shop-serverless/shop/functions/internal/api"
)

func TestSniffAndCheck(t *testing.T) {
	pngBytes, jpegBytes := smallPNG(t), smallJPEG(t)
	for _, tc := range []struct {
		name     string
		data     []byte
		declared string
		sniffed  string
		status   int // 0: accepted
	}{
		{"png", pngBytes, "image/png", "image/png", 0},
		{"jpeg", jpegBytes, "image/jpeg", "image/jpeg", 0},
		{"webp", webpHeader, "image/webp", "image/webp", 0},
		{"png as jpeg", pngBytes, "image/jpeg", "image/png", 415},
		{"jpeg as png", jpegBytes, "image/png", "image/jpeg", 415},
		{"png magic only", pngBytes[:8], "image/png", "image/png", 415},
		{"jpeg magic only", jpegBytes[:3], "image/jpeg", "image/jpeg", 415},
		{"webp without a VP8 chunk", []byte("RIFF\x1a\x00\x00\x00WEBPJUNK\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"), "image/webp", "image/webp", 415},
		{"webp size beyond the data", []byte("RIFF\xff\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00"), "image/webp", "image/webp", 415},
		{"text", []byte("hello"), "image/png", "", 415},
		{"gif", []byte("GIF89a\x01\x00\x01\x00"), "image/png", "", 415},
		{"empty", nil, "image/png", "", 415},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Sniff(tc.data); got != tc.sniffed {
				t.Errorf("Sniff %q, want %q", got, tc.sniffed)
			}
			err := checkImage(tc.data, tc.declared)
			status := 0
			if err != nil {
				status = api.StatusOf(err)
			}
			if status != tc.status {
				t.Errorf("checkImage: %d (%v), want %d", status, err, tc.status)
			}
		})
	}
}

func TestDecodeBase64(t *testing.T) {
	for in, want := range map[string]string{
		"aGVsbG8=":     "hello",
		"aGVsbG8":      "hello", // unpadded
		"aGVs\nbG8=":   "hello", // line breaks are ignored
		"aGVsbG8=\r\n": "hello",
	} {
		got, err := decodeBase64(in)
		if err != nil || string(got) != want {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	for _, in := range []string{"", "a", "***", "aGVsbG8-", "aGVsbG8_", "=aGVsbG8"} {
		if _, err := decodeBase64(in); api.StatusOf(err) != http.StatusBadRequest {
			t.Errorf("%q: %v, want a 400", in, err)
		}
	}
}

func TestKeysStayUnderTheProductPrefix(t *testing.T) {
	hashed := regexp.MustCompile(`^products/p-1/[0-9a-f]{32}\.png$`)
	img := Image{Data: smallPNG(t), ContentType: "image/png", ext: "png"}
	if k := ObjectKey("p-1", img); !hashed.MatchString(k) || k != ObjectKey("p-1", img) {
		t.Errorf("ObjectKey %q: not the content's stable key", k)
	}
	other := Image{Data: append(smallPNG(t), 0), ContentType: "image/png", ext: "png"}
	if ObjectKey("p-1", other) == ObjectKey("p-1", img) {
		t.Error("different bytes, same key")
	}
	if a, b := uploadKey("p-1", "png"), uploadKey("p-1", "png"); !hashed.MatchString(a) || a == b {
		t.Errorf("uploadKey %q %q: want fresh random keys", a, b)
	}
}

func TestSignedExpiry(t *testing.T) {
	fallback := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	u := "https://b.s3.amazonaws.com/k?X-Amz-Date=20260110T090000Z&X-Amz-Expires=900&X-Amz-Signature=x"
	if got := signedExpiry(u, fallback); !got.Equal(time.Date(2026, 1, 10, 9, 15, 0, 0, time.UTC)) {
		t.Errorf("expiry %v", got)
	}
	if got := signedExpiry("https://b/k?X-Amz-Expires=900", fallback); !got.Equal(fallback) {
		t.Errorf("without a date: %v", got)
	}
}

func TestMaxImageBodyFitsTheLargestImage(t *testing.T) {
	// A 5 MiB image in base64 plus its JSON wrapper must fit the route's body limit, and the
	// limit must stay under API Gateway's 10 MB payload.
	if maxImageBody < (MaxImage+2)/3*4+64 || maxImageBody > 10_000_000 {
		t.Errorf("maxImageBody %d", maxImageBody)
	}
}
