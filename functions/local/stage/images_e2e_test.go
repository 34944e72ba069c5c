package stage_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"os/exec"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shop-serverless/shop/functions/local/stage"
)

// testImage draws a small gradient and encodes it with enc.
func testImage(t *testing.T, enc func(io.Writer, image.Image) error) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 24, 16))
	for x := range 24 {
		for y := range 16 {
			img.Set(x, y, color.RGBA{uint8(10 * x), uint8(15 * y), 200, 255})
		}
	}
	var buf bytes.Buffer
	if err := enc(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func pngImage(t *testing.T) []byte { return testImage(t, png.Encode) }

func jpegImage(t *testing.T) []byte {
	return testImage(t, func(w io.Writer, m image.Image) error { return jpeg.Encode(w, m, nil) })
}

// objectsOf lists the stored objects under a product's prefix.
func objectsOf(t *testing.T, productID string) []string {
	t.Helper()
	return objectsUnder(t, "products/"+productID+"/")
}

// objectsUnder lists the stored objects under prefix.
func objectsUnder(t *testing.T, prefix string) []string {
	t.Helper()
	out, err := st.Admin.S3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{
		Bucket: aws.String(st.Admin.Config.ImagesBucket), Prefix: aws.String(prefix),
	})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	sort.Strings(keys)
	return keys
}

// fetch GETs an absolute URL (an imageUrl) as a browser would.
func fetch(t *testing.T, url string) (int, string, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

func TestBase64ImageUpload(t *testing.T) {
	p := createProduct(t, "images")
	getProduct(t, p.ProductID) // cached now
	pic := pngImage(t)
	body := map[string]string{"image": base64.StdEncoding.EncodeToString(pic), "contentType": "image/png"}

	r := adminClient(t).Do(t, "POST", "/products/"+p.ProductID+"/image", body)
	r.Expect(t, http.StatusCreated, "")
	var answer struct{ ImageURL string }
	r.JSON(t, &answer)
	prefix := st.ImagesBaseURL() + "/products/" + p.ProductID + "/"
	if !strings.HasPrefix(answer.ImageURL, prefix) || !strings.HasSuffix(answer.ImageURL, ".png") {
		t.Fatalf("imageUrl %q, want it under %s", answer.ImageURL, prefix)
	}

	status, contentType, got := fetch(t, answer.ImageURL)
	if status != 200 || contentType != "image/png" || !bytes.Equal(got, pic) {
		t.Fatalf("GET imageUrl: %d %s, %d bytes (same: %v)", status, contentType, len(got), bytes.Equal(got, pic))
	}
	read, cacheStatus := getProduct(t, p.ProductID)
	if cacheStatus != "miss" || read.ImageURL == nil || *read.ImageURL != answer.ImageURL {
		t.Errorf("product after upload: %s %+v", cacheStatus, read)
	}

	// The key is the content's: the same bytes again are the same object.
	r = adminClient(t).Do(t, "POST", "/products/"+p.ProductID+"/image", body)
	r.Expect(t, http.StatusCreated, "")
	var again struct{ ImageURL string }
	r.JSON(t, &again)
	if again.ImageURL != answer.ImageURL || len(objectsOf(t, p.ProductID)) != 1 {
		t.Errorf("same bytes stored twice: %s, %v", again.ImageURL, objectsOf(t, p.ProductID))
	}

	// A JPEG and, at the limit, exactly 5 MiB (a PNG with trailing bytes) are accepted too.
	jpg := jpegImage(t)
	adminClient(t).Do(t, "POST", "/products/"+p.ProductID+"/image",
		map[string]string{"image": base64.StdEncoding.EncodeToString(jpg), "contentType": "image/jpeg"}).Expect(t, 201, "")
	big := append(pngImage(t), make([]byte, 5<<20-len(pic))...)
	r = adminClient(t).Do(t, "POST", "/products/"+p.ProductID+"/image",
		map[string]string{"image": base64.StdEncoding.EncodeToString(big), "contentType": "image/png"})
	if st.Runtime() == stage.Lambda {
		// In base64 it is over Lambda's 6 MB invocation payload: Lambda refuses the event
		// before the function sees it, as in the cloud (large images take the presigned upload).
		r.Expect(t, http.StatusRequestEntityTooLarge, "payload_too_large")
		return
	}
	r.Expect(t, 201, "")
	r.JSON(t, &answer)
	if _, _, got := fetch(t, answer.ImageURL); len(got) != 5<<20 {
		t.Errorf("5 MiB image came back with %d bytes", len(got))
	}

	// The same 5 MiB as the base64 tool writes it (76-column lines) is within the limit too:
	// the decoded bytes count, not the encoded text.
	cmd := exec.Command("base64")
	cmd.Stdin = bytes.NewReader(append(big[:len(big)-1:len(big)-1], 1))
	lines, err := cmd.Output()
	if err != nil || !bytes.Contains(lines, []byte("\n")) {
		t.Fatalf("base64: %v", err)
	}
	r = adminClient(t).Do(t, "POST", "/products/"+p.ProductID+"/image",
		map[string]string{"image": string(lines), "contentType": "image/png"})
	r.Expect(t, 201, "")
}

func TestImageUploadRefused(t *testing.T) {
	p := createProduct(t, "images-refused")
	before := storedItem(t, p.ProductID)
	pic, jpg := pngImage(t), jpegImage(t)
	b64 := base64.StdEncoding.EncodeToString
	tooBig := append(pngImage(t), make([]byte, 5<<20+1-len(pic))...)
	path := "/products/" + p.ProductID + "/image"
	for _, tc := range []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"not base64", map[string]string{"image": "***not base64***", "contentType": "image/png"}, 400, "invalid_request"},
		{"empty image", map[string]string{"image": "", "contentType": "image/png"}, 400, "invalid_request"},
		{"base64 text, not an image", map[string]string{"image": b64([]byte("hello, I am not a picture")), "contentType": "image/png"}, 415, "unsupported_media_type"},
		{"PNG declared as JPEG", map[string]string{"image": b64(pic), "contentType": "image/jpeg"}, 415, "unsupported_media_type"},
		{"JPEG declared as WebP", map[string]string{"image": b64(jpg), "contentType": "image/webp"}, 415, "unsupported_media_type"},
		{"PNG magic, broken header", map[string]string{"image": b64(pic[:12]), "contentType": "image/png"}, 415, "unsupported_media_type"},
		{"GIF type", map[string]string{"image": b64([]byte("GIF89a......")), "contentType": "image/gif"}, 415, "unsupported_media_type"},
		{"SVG type", map[string]string{"image": b64([]byte("<svg/>")), "contentType": "image/svg+xml"}, 415, "unsupported_media_type"},
		{"no contentType", map[string]string{"image": b64(pic)}, 400, "invalid_request"},
		{"no image", map[string]string{"contentType": "image/png"}, 400, "invalid_request"},
		{"image is a number", map[string]any{"image": 5, "contentType": "image/png"}, 400, "invalid_request"},
		{"unknown field", map[string]string{"image": b64(pic), "contentType": "image/png", "key": "../../x"}, 400, "invalid_request"},
		{"5 MiB + 1 byte", map[string]string{"image": b64(tooBig), "contentType": "image/png"}, 413, "payload_too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			adminClient(t).Do(t, "POST", path, tc.body).Expect(t, tc.status, tc.code)
			if after := storedItem(t, p.ProductID); !reflect.DeepEqual(after, before) {
				t.Errorf("stored product changed:\n%v\n%v", before, after)
			}
			if objs := objectsOf(t, p.ProductID); len(objs) != 0 {
				t.Errorf("objects stored: %v", objs)
			}
		})
	}
	t.Run("unknown product", func(t *testing.T) {
		body := map[string]string{"image": b64(pic), "contentType": "image/png"}
		adminClient(t).Do(t, "POST", "/products/no-such-product/image", body).Expect(t, 404, "not_found")
		if objs := objectsOf(t, "no-such-product"); len(objs) != 0 {
			t.Errorf("objects stored for an unknown product: %v", objs)
		}
	})
	t.Run("path traversal", func(t *testing.T) {
		body := map[string]string{"image": b64(pic), "contentType": "image/png"}
		r := adminClient(t).Do(t, "POST", "/products/..%2F..%2Fetc/image", body)
		if r.Status != 400 && r.Status != 404 {
			t.Errorf("status %d: %s", r.Status, r.Body)
		}
		for _, key := range []string{"/../products", "/products/x/..%2F..%2F..%2Fetc%2Fpasswd", "/.%2E/.%2E/secret"} {
			if status, _, _ := fetch(t, st.ImagesBaseURL()+key); status != 404 {
				t.Errorf("local images endpoint answered %d to %s", status, key)
			}
		}
	})
}

// presignedUpload is the answer of POST /products/{id}/image-upload-url.
type presignedUpload struct {
	UploadURL string            `json:"uploadUrl"`
	Method    string            `json:"method"`
	Fields    map[string]string `json:"fields"`
	ExpiresAt string            `json:"expiresAt"`
	MaxBytes  int               `json:"maxBytes"`
}

// issueUpload asks for a presigned POST of contentType for the product.
func issueUpload(t *testing.T, productID, contentType string) presignedUpload {
	t.Helper()
	r := adminClient(t).Do(t, "POST", "/products/"+productID+"/image-upload-url", map[string]string{"contentType": contentType})
	r.Expect(t, http.StatusOK, "")
	var up presignedUpload
	r.JSON(t, &up)
	return up
}

// postUpload sends a browser's upload: the answer's fields (changed by override; "" drops
// one), then the file, as multipart/form-data from the storefront's origin. It returns the
// status and S3's answer.
func postUpload(t *testing.T, up presignedUpload, file []byte, override map[string]string) (int, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fields := maps.Clone(up.Fields)
	for k, v := range override {
		if v == "" {
			delete(fields, k)
		} else {
			fields[k] = v
		}
	}
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", "picture")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(file)
	_ = mw.Close()
	req, err := http.NewRequest(up.Method, up.UploadURL, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", "http://127.0.0.1:5173")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:5173" {
		t.Errorf("the storefront could not read the upload's answer: no CORS header")
	}
	return resp.StatusCode, string(b)
}

func TestPresignedImageUpload(t *testing.T) {
	p := createProduct(t, "presigned")
	// The product has an image already: the base64 route's.
	old := pngImage(t)
	r := adminClient(t).Do(t, "POST", "/products/"+p.ProductID+"/image",
		map[string]string{"image": base64.StdEncoding.EncodeToString(old), "contentType": "image/png"})
	r.Expect(t, http.StatusCreated, "")
	var first struct{ ImageURL string }
	r.JSON(t, &first)
	imageIs := func(t *testing.T, wantURL string, want []byte) {
		t.Helper()
		read, _ := getProduct(t, p.ProductID)
		if read.ImageURL == nil || *read.ImageURL != wantURL {
			t.Fatalf("imageUrl %v, want %s", read.ImageURL, wantURL)
		}
		if code, contentType, got := fetch(t, wantURL); code != 200 || contentType != "image/png" || !bytes.Equal(got, want) {
			t.Errorf("GET imageUrl: %d %s, %d bytes (the expected ones: %v)", code, contentType, len(got), bytes.Equal(got, want))
		}
	}

	up := issueUpload(t, p.ProductID, "image/png")
	expires, err := time.Parse(time.RFC3339, up.ExpiresAt)
	if err != nil || time.Until(expires) > 15*time.Minute || time.Until(expires) < 14*time.Minute {
		t.Errorf("expiresAt %q, want about 15 minutes from now", up.ExpiresAt)
	}
	uploads := "uploads/" + p.ProductID + "/"
	if up.Method != "POST" || up.MaxBytes != 5<<20 || up.Fields["Content-Type"] != "image/png" ||
		up.Fields["policy"] == "" || up.Fields["X-Amz-Signature"] == "" || !strings.HasPrefix(up.Fields["key"], uploads) {
		t.Fatalf("answer %+v", up)
	}
	// Issuing a URL does not change the product's image.
	imageIs(t, first.ImageURL, old)

	t.Run("refused by the policy", func(t *testing.T) {
		for _, tc := range []struct {
			name     string
			file     []byte
			override map[string]string
			status   int
			code     string
		}{
			{"other content type", jpegImage(t), map[string]string{"Content-Type": "image/jpeg"}, 403, "AccessDenied"},
			{"6 MiB", append(pngImage(t), make([]byte, 6<<20)...), nil, 400, "EntityTooLarge"},
			{"other key", pngImage(t), map[string]string{"key": "products/" + p.ProductID + "/mine.png"}, 403, "AccessDenied"},
			{"public ACL", pngImage(t), map[string]string{"acl": "public-read"}, 403, "AccessDenied"},
			{"bad signature", pngImage(t), map[string]string{"X-Amz-Signature": strings.Repeat("0", 64)}, 403, "SignatureDoesNotMatch"},
			{"no signature", pngImage(t), map[string]string{"X-Amz-Signature": "", "policy": ""}, 403, "AccessDenied"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if status, body := postUpload(t, up, tc.file, tc.override); status != tc.status || !strings.Contains(body, "<Code>"+tc.code+"</Code>") {
					t.Errorf("%d %s, want %d %s", status, body, tc.status, tc.code)
				}
				if objs := objectsUnder(t, uploads); len(objs) != 0 {
					t.Errorf("stored: %v", objs)
				}
			})
		}
		imageIs(t, first.ImageURL, old)
	})

	t.Run("HTML declared as PNG is deleted", func(t *testing.T) {
		if status, body := postUpload(t, up, []byte("<html><script>alert(1)</script></html>"), nil); status != 204 {
			t.Fatalf("upload: %d %s", status, body)
		}
		if objs := objectsUnder(t, uploads); len(objs) != 0 {
			t.Errorf("the checker left %v", objs)
		}
		if objs := objectsOf(t, p.ProductID); len(objs) != 1 {
			t.Errorf("published objects %v, want only the old image", objs)
		}
		imageIs(t, first.ImageURL, old)
	})

	pic := append(pngImage(t), "a new picture"...)
	var published string
	t.Run("an image is published", func(t *testing.T) {
		getProduct(t, p.ProductID) // cached now
		if status, body := postUpload(t, up, pic, nil); status != 204 {
			t.Fatalf("upload: %d %s", status, body)
		}
		read, cacheStatus := getProduct(t, p.ProductID)
		if cacheStatus != "miss" || read.ImageURL == nil || *read.ImageURL == first.ImageURL ||
			!strings.HasPrefix(*read.ImageURL, st.ImagesBaseURL()+"/products/"+p.ProductID+"/") {
			t.Fatalf("product after the upload: %s %+v", cacheStatus, read)
		}
		published = *read.ImageURL
		imageIs(t, published, pic)
		if objs := objectsUnder(t, uploads); len(objs) != 0 {
			t.Errorf("the upload stayed: %v", objs)
		}
	})

	t.Run("a second POST with the same policy changes nothing", func(t *testing.T) {
		if published == "" {
			t.Fatal("nothing was published")
		}
		other := append(pngImage(t), "another picture"...)
		if status, body := postUpload(t, up, other, nil); status != 204 {
			t.Fatalf("upload: %d %s", status, body)
		}
		imageIs(t, published, pic)
		if objs := objectsUnder(t, uploads); len(objs) != 0 {
			t.Errorf("the replayed upload stayed: %v", objs)
		}
		if objs := objectsOf(t, p.ProductID); len(objs) != 2 {
			t.Errorf("published objects %v, want the old and the new image", objs)
		}
	})
}

// A newer upload URL supersedes an older one: an upload with the older policy is deleted.
func TestSupersededUploadIsDeleted(t *testing.T) {
	p := createProduct(t, "presigned-superseded")
	older := issueUpload(t, p.ProductID, "image/png")
	newer := issueUpload(t, p.ProductID, "image/jpeg")
	if status, body := postUpload(t, older, pngImage(t), nil); status != 204 {
		t.Fatalf("upload: %d %s", status, body)
	}
	if read, _ := getProduct(t, p.ProductID); read.ImageURL != nil {
		t.Errorf("a superseded upload was published: %s", *read.ImageURL)
	}
	if objs := append(objectsUnder(t, "uploads/"+p.ProductID+"/"), objectsOf(t, p.ProductID)...); len(objs) != 0 {
		t.Errorf("objects left: %v", objs)
	}
	jpg := jpegImage(t)
	if status, body := postUpload(t, newer, jpg, nil); status != 204 {
		t.Fatalf("upload: %d %s", status, body)
	}
	read, _ := getProduct(t, p.ProductID)
	if read.ImageURL == nil || !strings.HasSuffix(*read.ImageURL, ".jpg") {
		t.Fatalf("the newer upload was not published: %+v", read)
	}
	if code, contentType, got := fetch(t, *read.ImageURL); code != 200 || contentType != "image/jpeg" || !bytes.Equal(got, jpg) {
		t.Errorf("GET imageUrl: %d %s", code, contentType)
	}
}

// An upload for a product deleted meanwhile is deleted, and the product stays gone.
func TestUploadForDeletedProductIsDeleted(t *testing.T) {
	p := createProduct(t, "presigned-deleted")
	up := issueUpload(t, p.ProductID, "image/png")
	adminClient(t).Do(t, "DELETE", "/products/"+p.ProductID, nil).Expect(t, http.StatusNoContent, "")
	if status, body := postUpload(t, up, pngImage(t), nil); status != 204 {
		t.Fatalf("upload: %d %s", status, body)
	}
	if objs := append(objectsUnder(t, "uploads/"+p.ProductID+"/"), objectsOf(t, p.ProductID)...); len(objs) != 0 {
		t.Errorf("objects left: %v", objs)
	}
	if storedItem(t, p.ProductID) != nil {
		t.Error("the upload brought the deleted product back")
	}
}

// The stage's S3 endpoint refuses what S3 refuses: anonymous and wrongly signed requests of
// every kind, with S3's XML errors.
func TestS3EndpointRefusesUnsignedRequests(t *testing.T) {
	p := createProduct(t, "s3-refusals")
	r := adminClient(t).Do(t, "POST", "/products/"+p.ProductID+"/image",
		map[string]string{"image": base64.StdEncoding.EncodeToString(pngImage(t)), "contentType": "image/png"})
	r.Expect(t, http.StatusCreated, "")
	var stored struct{ ImageURL string }
	r.JSON(t, &stored)
	key := strings.TrimPrefix(stored.ImageURL, st.ImagesBaseURL()+"/")
	endpoint := strings.TrimSuffix(issueUpload(t, p.ProductID, "image/png").UploadURL, "/"+st.Admin.Config.ImagesBucket)
	objectURL := endpoint + "/" + st.Admin.Config.ImagesBucket + "/" + key

	now := time.Now().UTC()
	forged := http.Header{
		"Authorization":        {"AWS4-HMAC-SHA256 Credential=S3RVER/" + now.Format("20060102") + "/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=0000"},
		"X-Amz-Date":           {now.Format("20060102T150405Z")},
		"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"},
	}
	for _, tc := range []struct {
		name, method, url string
		header            http.Header
		code              string
	}{
		{"anonymous PUT", "PUT", objectURL, http.Header{"Content-Type": {"text/html"}}, "AccessDenied"},
		{"anonymous PUT with a public ACL", "PUT", objectURL, http.Header{"X-Amz-Acl": {"public-read"}}, "AccessDenied"},
		{"anonymous GET", "GET", objectURL, nil, "AccessDenied"},
		{"anonymous listing", "GET", endpoint + "/" + st.Admin.Config.ImagesBucket + "?list-type=2", nil, "AccessDenied"},
		{"anonymous DELETE", "DELETE", objectURL, nil, "AccessDenied"},
		{"PUT signed 0000", "PUT", objectURL, forged, "SignatureDoesNotMatch"},
		{"GET signed 0000", "GET", objectURL, forged, "SignatureDoesNotMatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, tc.url, strings.NewReader("<html>"))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 403 || !strings.Contains(string(body), "<Code>"+tc.code+"</Code>") {
				t.Errorf("%d %s, want 403 %s", resp.StatusCode, body, tc.code)
			}
		})
	}
	// The image is untouched and still served (by the stage, on its own authority).
	if code, contentType, got := fetch(t, stored.ImageURL); code != 200 || contentType != "image/png" || !bytes.Equal(got, pngImage(t)) {
		t.Errorf("image after the refusals: %d %s", code, contentType)
	}
}

func TestPresignedUploadRefused(t *testing.T) {
	p := createProduct(t, "presigned-refused")
	before := storedItem(t, p.ProductID)
	path := "/products/" + p.ProductID + "/image-upload-url"
	for _, tc := range []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"GIF", map[string]string{"contentType": "image/gif"}, 415, "unsupported_media_type"},
		{"HTML", map[string]string{"contentType": "text/html"}, 415, "unsupported_media_type"},
		{"parameters", map[string]string{"contentType": "image/png; charset=utf-8"}, 415, "unsupported_media_type"},
		{"missing", map[string]string{}, 400, "invalid_request"},
		{"wrong type", map[string]any{"contentType": 1}, 400, "invalid_request"},
		{"unknown field", map[string]string{"contentType": "image/png", "key": "x.png"}, 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			adminClient(t).Do(t, "POST", path, tc.body).Expect(t, tc.status, tc.code)
			if after := storedItem(t, p.ProductID); !reflect.DeepEqual(after, before) {
				t.Errorf("stored product changed:\n%v\n%v", before, after)
			}
		})
	}
	adminClient(t).Do(t, "POST", "/products/no-such-product/image-upload-url",
		map[string]string{"contentType": "image/png"}).Expect(t, 404, "not_found")
	if storedItem(t, "no-such-product") != nil {
		t.Error("an unknown product was created")
	}
}
