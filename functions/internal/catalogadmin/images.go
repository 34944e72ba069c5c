package catalogadmin

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"maps"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/manifest"
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
	return fmt.Sprintf("%s%s/%s.%s", manifest.ImagesPrefix, productID, hex.EncodeToString(sum[:16]), img.ext)
}

// uploadKey is the key of a presigned upload: its content is not known yet, so the name is
// fresh and random, under the product's staging prefix. S3 cannot make a form POST
// conditional (If-None-Match is PutObject's), so uploads never land where images are
// served: the image checker reads them, and only a checked image is written under
// products/, by the checker, with If-None-Match.
func uploadKey(productID, ext string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s%s/%s.%s", manifest.UploadPrefix, productID, hex.EncodeToString(b), ext)
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

// Put stores img under key unless an object is there already (If-None-Match: *): keys under
// products/ are named by their content, so the object there holds these very bytes, and a
// stored image is never overwritten.
func (b *Bucket) Put(ctx context.Context, key string, img Image) error {
	_, err := b.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(b.name),
		Key:           aws.String(key),
		Body:          bytes.NewReader(img.Data),
		ContentLength: aws.Int64(int64(len(img.Data))),
		ContentType:   aws.String(img.ContentType),
		CacheControl:  aws.String(imageCacheControl),
		IfNoneMatch:   aws.String("*"),
	})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "PreconditionFailed" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("put image: %w", err)
	}
	return nil
}

// errUploadGone is returned by Get for an object that no longer exists.
var errUploadGone = errors.New("object not found")

// Get reads at most limit+1 bytes of the object key and its content type; an object that
// does not exist is errUploadGone.
func (b *Bucket) Get(ctx context.Context, key string, limit int64) (data []byte, contentType string, err error) {
	out, err := b.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)})
	var missing *types.NoSuchKey
	if errors.As(err, &missing) {
		return nil, "", errUploadGone
	}
	if err != nil {
		return nil, "", fmt.Errorf("get upload: %w", err)
	}
	defer out.Body.Close()
	data, err = io.ReadAll(io.LimitReader(out.Body, limit+1))
	if err != nil {
		return nil, "", fmt.Errorf("read upload: %w", err)
	}
	return data, aws.ToString(out.ContentType), nil
}

// Delete removes the object key.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if _, err := b.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)}); err != nil {
		return fmt.Errorf("delete upload: %w", err)
	}
	return nil
}

// Upload is a presigned POST of one object: the browser sends Fields, then the file, as
// multipart/form-data to URL.
type Upload struct {
	URL     string
	Fields  map[string]string
	Expires time.Time
}

// PresignPost returns a POST policy for exactly key, valid for ttl: the object must be 1 to
// MaxImage bytes and of contentType; S3 refuses any other key, size, type or extra field.
func (b *Bucket) PresignPost(ctx context.Context, key, contentType string, ttl time.Duration) (Upload, error) {
	req, err := b.presign.PresignPostObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(b.name),
		Key:    aws.String(key),
	}, func(o *s3.PresignPostOptions) {
		o.Expires = ttl
		o.Conditions = []any{
			[]any{"content-length-range", 1, MaxImage},
			map[string]string{"Content-Type": contentType},
		}
	})
	if err != nil {
		return Upload{}, fmt.Errorf("presign upload: %w", err)
	}
	expires, err := policyExpiration(req.Values["policy"])
	if err != nil {
		return Upload{}, fmt.Errorf("presign upload: %w", err)
	}
	fields := maps.Clone(req.Values)
	fields["Content-Type"] = contentType
	return Upload{URL: req.URL, Fields: fields, Expires: expires}, nil
}

// policyExpiration reads a POST policy's expiration: the moment S3 stops accepting it.
func policyExpiration(policy string) (time.Time, error) {
	doc, err := base64.StdEncoding.DecodeString(policy)
	if err != nil {
		return time.Time{}, fmt.Errorf("policy: %w", err)
	}
	var p struct {
		Expiration time.Time `json:"expiration"`
	}
	if err := json.Unmarshal(doc, &p); err != nil {
		return time.Time{}, fmt.Errorf("policy: %w", err)
	}
	return p.Expiration, nil
}
