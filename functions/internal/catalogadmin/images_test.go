package catalogadmin

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shop-serverless/shop/functions/internal/api"
)

func TestImageSniffAndCheck(t *testing.T) {
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

func TestImageKeysStayUnderTheProductPrefix(t *testing.T) {
	hashed := regexp.MustCompile(`^products/p-1/[0-9a-f]{32}\.png$`)
	img := Image{Data: smallPNG(t), ContentType: "image/png", ext: "png"}
	if k := ObjectKey("p-1", img); !hashed.MatchString(k) || k != ObjectKey("p-1", img) {
		t.Errorf("ObjectKey %q: not the content's stable key", k)
	}
	other := Image{Data: append(smallPNG(t), 0), ContentType: "image/png", ext: "png"}
	if ObjectKey("p-1", other) == ObjectKey("p-1", img) {
		t.Error("different bytes, same key")
	}
	staged := regexp.MustCompile(`^uploads/p-1/[0-9a-f]{32}\.png$`)
	if a, b := uploadKey("p-1", "png"), uploadKey("p-1", "png"); !staged.MatchString(a) || a == b {
		t.Errorf("uploadKey %q %q: want fresh random keys", a, b)
	}
}

// The POST policy pins what S3 may accept: this bucket, exactly this key and content type,
// 1 byte to 5 MiB, for at most 15 minutes; the fields carry every value it names.
func TestUploadPolicy(t *testing.T) {
	client := s3.New(s3.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String("http://127.0.0.1:9"), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	})
	b := NewBucket(client, "images", "https://cdn.example")
	key := uploadKey("p-1", "png")
	before := time.Now()
	up, err := b.PresignPost(context.Background(), key, "image/png", UploadURLTTL)
	if err != nil {
		t.Fatal(err)
	}
	// The policy is signed between before and after; its expiry is that time plus the TTL,
	// truncated to the second, so at most after plus the TTL.
	after := time.Now()
	if up.URL != "http://127.0.0.1:9/images" {
		t.Errorf("URL %q, want the bucket's", up.URL)
	}
	if up.Expires.After(after.Add(UploadURLTTL)) || up.Expires.Before(before.Add(UploadURLTTL-time.Minute)) {
		t.Errorf("expires %v, want about %v from %v", up.Expires, UploadURLTTL, before)
	}
	doc, err := base64.StdEncoding.DecodeString(up.Fields["policy"])
	if err != nil {
		t.Fatal(err)
	}
	var policy struct {
		Expiration time.Time `json:"expiration"`
		Conditions []any     `json:"conditions"`
	}
	if err := json.Unmarshal(doc, &policy); err != nil {
		t.Fatal(err)
	}
	if !policy.Expiration.Equal(up.Expires) {
		t.Errorf("policy expires %v, answer says %v", policy.Expiration, up.Expires)
	}
	want := map[string]bool{
		`{"bucket":"images"}`:                    false,
		`{"key":"` + key + `"}`:                  false,
		`{"Content-Type":"image/png"}`:           false,
		`["content-length-range",1,5242880]`:     false,
		`{"X-Amz-Algorithm":"AWS4-HMAC-SHA256"}`: false,
	}
	for _, c := range policy.Conditions {
		j, _ := json.Marshal(c)
		if _, ok := want[string(j)]; ok {
			want[string(j)] = true
		}
	}
	for c, found := range want {
		if !found {
			t.Errorf("policy %s lacks %s", doc, c)
		}
	}
	if up.Fields["key"] != key || up.Fields["Content-Type"] != "image/png" || up.Fields["X-Amz-Signature"] == "" {
		t.Errorf("fields %v", up.Fields)
	}
}

func TestMaxImageBodyFitsTheLargestImage(t *testing.T) {
	// A 5 MiB image in base64 plus its JSON wrapper must fit the route's body limit, and the
	// limit must stay under API Gateway's 10 MB payload.
	if maxImageBody < (MaxImage+2)/3*4+64 || maxImageBody > 10_000_000 {
		t.Errorf("maxImageBody %d", maxImageBody)
	}
}

// wrapped encodes data as the base64 tool does without -w0: 76-column lines.
func wrapped(t *testing.T, data []byte) string {
	t.Helper()
	cmd := exec.Command("base64")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("base64: %v", err)
	}
	if !bytes.Contains(out, []byte("\n")) {
		t.Fatal("base64 wrote no line breaks")
	}
	return string(out)
}

// The 5 MiB limit is on the decoded image: line breaks in the base64 text do not count, and
// one byte more is still refused.
func TestImageLineWrappedBase64IsSizedDecoded(t *testing.T) {
	atLimit := append(smallPNG(t), make([]byte, MaxImage-len(smallPNG(t)))...)
	for _, tc := range []struct {
		name    string
		encoded string
		status  int // 0: accepted
	}{
		{"76 columns, 5 MiB", wrapped(t, atLimit), 0},
		{"76 columns with CRLF, 5 MiB", strings.ReplaceAll(wrapped(t, atLimit), "\n", "\r\n"), 0},
		{"76 columns, 5 MiB + 1", wrapped(t, append(atLimit, 0)), http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]string{"image": tc.encoded, "contentType": "image/png"})
			img, err := decodeImage(request(string(body), "application/json", false))
			if tc.status == 0 {
				if err != nil || len(img.Data) != MaxImage {
					t.Fatalf("refused (%v) or %d bytes", err, len(img.Data))
				}
				return
			}
			if api.StatusOf(err) != tc.status {
				t.Fatalf("%v, want %d", err, tc.status)
			}
		})
	}
}
