package catalogadmin

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shop-serverless/shop/functions/internal/api"
)

// MaxImage is the largest image the shop stores: 5 MiB.
const MaxImage = 5 << 20

// UploadURLTTL is how long a presigned upload URL is valid.
const UploadURLTTL = 15 * time.Minute

// imageCacheControl is set on stored images: their keys change with their content (or are
// fresh and random), so browsers and CloudFront may keep them for good.
const imageCacheControl = "public, max-age=31536000, immutable"

// imageTypes maps the content types the shop serves to the extension of their keys.
var imageTypes = map[string]string{
	"image/png":  "png",
	"image/jpeg": "jpg",
	"image/webp": "webp",
}

var (
	errImageType     = api.UnsupportedMediaType("contentType must be image/png, image/jpeg or image/webp")
	errImageTooLarge = api.TooLarge("the image must be at most %d bytes (5 MiB) once decoded", MaxImage)
)

// Image is a validated image: its bytes are of ContentType.
type Image struct {
	Data        []byte
	ContentType string
	ext         string
}

// Sniff returns the image type the bytes' magic number says (image/png, image/jpeg or
// image/webp), or "".
func Sniff(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return "image/jpeg"
	case len(b) >= 16 && string(b[0:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "image/webp"
	}
	return ""
}

// checkImage refuses, with 415, bytes that are not an image of the declared type: the magic
// number must match, and the header must parse (a PNG or JPEG header decodes, a WebP's RIFF
// container holds a VP8 bitstream chunk and its declared size fits the data).
func checkImage(b []byte, declared string) error {
	got := Sniff(b)
	if got == "" {
		return api.UnsupportedMediaType("image is not a PNG, JPEG or WebP image")
	}
	if got != declared {
		return api.UnsupportedMediaType("image is %s, not the declared %s", got, declared)
	}
	var err error
	switch got {
	case "image/png":
		_, err = png.DecodeConfig(bytes.NewReader(b))
	case "image/jpeg":
		_, err = jpeg.DecodeConfig(bytes.NewReader(b))
	case "image/webp":
		err = checkWebP(b)
	}
	if err != nil {
		return api.UnsupportedMediaType("image is not a valid %s image", declared)
	}
	return nil
}

// checkWebP checks a WebP file's RIFF header: "RIFF" <size> "WEBP" then a VP8, VP8L or VP8X chunk.
func checkWebP(b []byte) error {
	if len(b) < 20 {
		return image.ErrFormat
	}
	size := binary.LittleEndian.Uint32(b[4:8])
	if size < 12 || uint64(size)+8 > uint64(len(b)) {
		return image.ErrFormat
	}
	switch string(b[12:16]) {
	case "VP8 ", "VP8L", "VP8X":
		return nil
	}
	return image.ErrFormat
}

// ObjectKey is where an image of a product is stored: under the product's prefix, named by
// its content hash. The product id is a validated path id ([A-Za-z0-9_-]), so no user input
// chooses the key and nothing can escape the prefix; the same bytes always get the same key.
func ObjectKey(productID string, img Image) string {
	sum := sha256.Sum256(img.Data)
	return fmt.Sprintf("products/%s/%s.%s", productID, hex.EncodeToString(sum[:16]), img.ext)
}

// uploadKey is the key of a presigned upload: its content is not known yet, so the name is
// fresh and random, under the product's prefix.
func uploadKey(productID, ext string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("products/%s/%s.%s", productID, hex.EncodeToString(b), ext)
}

// Bucket stores images in the private images bucket. Objects get no ACL: browsers read them
// through CloudFront (origin access control), at BaseURL.
type Bucket struct {
	s3      *s3.Client
	presign *s3.PresignClient
	name    string
	baseURL string
}

// NewBucket returns the images bucket called name, whose objects are served at baseURL (no
// trailing slash).
func NewBucket(client *s3.Client, name, baseURL string) *Bucket {
	return &Bucket{s3: client, presign: s3.NewPresignClient(client), name: name, baseURL: baseURL}
}

// URL is the public URL of the object key.
func (b *Bucket) URL(key string) string { return b.baseURL + "/" + key }

// Put stores img under key.
func (b *Bucket) Put(ctx context.Context, key string, img Image) error {
	_, err := b.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(b.name),
		Key:           aws.String(key),
		Body:          bytes.NewReader(img.Data),
		ContentLength: aws.Int64(int64(len(img.Data))),
		ContentType:   aws.String(img.ContentType),
		CacheControl:  aws.String(imageCacheControl),
	})
	if err != nil {
		return fmt.Errorf("put image: %w", err)
	}
	return nil
}

// Upload is a presigned PUT of one object.
type Upload struct {
	URL     string
	Method  string
	Headers map[string]string
	Expires time.Time
}

// PresignPut returns a PUT of key valid for ttl. Content-Type and Cache-Control are signed:
// S3 accepts the upload only with exactly the headers the answer lists.
func (b *Bucket) PresignPut(ctx context.Context, key, contentType string, ttl time.Duration) (Upload, error) {
	start := time.Now()
	req, err := b.presign.PresignPutObject(ctx, &s3.PutObjectInput{
		Bucket:       aws.String(b.name),
		Key:          aws.String(key),
		ContentType:  aws.String(contentType),
		CacheControl: aws.String(imageCacheControl),
	}, s3.WithPresignExpires(ttl))
	if err != nil {
		return Upload{}, fmt.Errorf("presign upload: %w", err)
	}
	headers := map[string]string{}
	for name, vals := range req.SignedHeader {
		if http.CanonicalHeaderKey(name) == "Host" || len(vals) == 0 {
			continue
		}
		headers[http.CanonicalHeaderKey(name)] = vals[0]
	}
	return Upload{URL: req.URL, Method: req.Method, Headers: headers, Expires: signedExpiry(req.URL, start.Add(ttl))}, nil
}

// signedExpiry reads when a presigned URL expires from its X-Amz-Date and X-Amz-Expires;
// fallback is used if the URL does not say.
func signedExpiry(rawURL string, fallback time.Time) time.Time {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fallback
	}
	q := u.Query()
	signed, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		return fallback
	}
	secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil {
		return fallback
	}
	return signed.Add(time.Duration(secs) * time.Second)
}
