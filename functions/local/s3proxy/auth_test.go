package s3proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

const origin = "http://127.0.0.1:5173"

// backend stands in for s3rver: it stores what it is sent, whoever sends it.
type backend struct {
	mu      sync.Mutex
	objects map[string]stored
	reached int
	created []Object
	proxy   *Proxy
	front   *httptest.Server
}

type stored struct {
	contentType string
	data        []byte
}

func newBackend(t *testing.T) *backend {
	b := &backend{objects: map[string]stored{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		defer b.mu.Unlock()
		data, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodHead {
			if _, ok := b.objects[r.URL.Path]; !ok {
				w.WriteHeader(http.StatusNotFound)
			}
			return
		}
		b.reached++
		switch r.Method {
		case http.MethodPut:
			b.objects[r.URL.Path] = stored{r.Header.Get("Content-Type"), data}
			w.Header().Set("ETag", `"e"`)
		case http.MethodGet:
			_, _ = w.Write(b.objects[r.URL.Path].data)
		}
	}))
	t.Cleanup(srv.Close)
	target, _ := url.Parse(srv.URL)
	b.proxy = New(target, Options{
		Secrets:     map[string]string{"AKID": "SECRET"},
		CORSOrigins: []string{origin},
		Created: func(_ context.Context, obj Object) {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.created = append(b.created, obj)
		},
	})
	b.front = httptest.NewServer(b.proxy)
	t.Cleanup(b.front.Close)
	return b
}

func (b *backend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reached
}

func (b *backend) object(path string) (stored, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.objects[path]
	return o, ok
}

func (b *backend) client(secret string) *s3.Client {
	return s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(b.front.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", secret, ""),
	})
}

func s3Code(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// do sends a raw request and returns the status and body.
func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// SDK calls signed in the Authorization header pass; anything unsigned or wrongly signed is
// refused before it reaches the store.
func TestHeaderSignedRequests(t *testing.T) {
	b := newBackend(t)
	ctx := context.Background()
	good := b.client("SECRET")
	if _, err := good.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("images"), Key: aws.String("products/p/a.png"),
		Body: strings.NewReader("bytes"), ContentType: aws.String("image/png"),
	}); err != nil {
		t.Fatalf("signed PutObject: %v", err)
	}
	out, err := good.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("images"), Key: aws.String("products/p/a.png")})
	if err != nil {
		t.Fatalf("signed GetObject: %v", err)
	}
	got, _ := io.ReadAll(out.Body)
	if string(got) != "bytes" {
		t.Errorf("GetObject read %q", got)
	}

	// A conditional write never overwrites.
	_, err = good.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("images"), Key: aws.String("products/p/a.png"), Body: strings.NewReader("other"), IfNoneMatch: aws.String("*"),
	})
	if s3Code(err) != "PreconditionFailed" {
		t.Errorf("conditional overwrite: %v, want PreconditionFailed", err)
	}
	if o, _ := b.object("/images/products/p/a.png"); string(o.data) != "bytes" {
		t.Errorf("object overwritten: %q", o.data)
	}

	before := b.count()
	_, err = b.client("GUESS").PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("images"), Key: aws.String("products/p/b.png"), Body: strings.NewReader("x"),
	})
	if s3Code(err) != "SignatureDoesNotMatch" {
		t.Errorf("wrong secret: %v, want SignatureDoesNotMatch", err)
	}

	put := func(header http.Header) *http.Request {
		req, _ := http.NewRequest("PUT", b.front.URL+"/images/products/p/c.png", strings.NewReader("<html>"))
		req.Header = header
		return req
	}
	get := func(path string) *http.Request {
		req, _ := http.NewRequest("GET", b.front.URL+path, nil)
		return req
	}
	now := time.Now().UTC()
	forged := http.Header{
		"Authorization":        {"AWS4-HMAC-SHA256 Credential=AKID/" + now.Format("20060102") + "/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=0000"},
		"X-Amz-Date":           {now.Format(amzDate)},
		"X-Amz-Content-Sha256": {unsignedBody},
	}
	for _, tc := range []struct {
		name   string
		req    *http.Request
		status int
		code   string
	}{
		{"anonymous PUT", put(http.Header{"Content-Type": {"image/png"}}), 403, "AccessDenied"},
		{"anonymous PUT with an ACL", put(http.Header{"X-Amz-Acl": {"public-read"}}), 403, "AccessDenied"},
		{"anonymous GET", get("/images/products/p/a.png"), 403, "AccessDenied"},
		{"anonymous listing", get("/images?list-type=2"), 403, "AccessDenied"},
		{"anonymous bucket list", get("/"), 403, "AccessDenied"},
		{"signature 0000", put(forged), 403, "SignatureDoesNotMatch"},
		{"unknown key id", put(http.Header{
			"Authorization": {strings.Replace(forged.Get("Authorization"), "AKID", "NOBODY", 1)},
			"X-Amz-Date":    forged["X-Amz-Date"], "X-Amz-Content-Sha256": {unsignedBody},
		}), 403, "InvalidAccessKeyId"},
		{"old signature", put(http.Header{
			"Authorization": {strings.Replace(forged.Get("Authorization"), now.Format("20060102"), "20200101", 1)},
			"X-Amz-Date":    {"20200101T000000Z"}, "X-Amz-Content-Sha256": {unsignedBody},
		}), 403, "RequestTimeTooSkewed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := do(t, tc.req)
			if status != tc.status || !strings.Contains(body, "<Code>"+tc.code+"</Code>") {
				t.Errorf("%d %s, want %d %s", status, body, tc.status, tc.code)
			}
		})
	}
	if b.count() != before {
		t.Errorf("%d refused requests reached the store", b.count()-before)
	}
	if _, ok := b.object("/images/products/p/c.png"); ok {
		t.Error("a refused PUT was stored")
	}
}

// TestTamperedPayload: a header-signed PUT whose body is not the signed one is refused.
func TestTamperedPayload(t *testing.T) {
	b := newBackend(t)
	var swapped bool
	client := s3.New(b.client("SECRET").Options(), func(o *s3.Options) {
		o.HTTPClient = httpClientFunc(func(req *http.Request) (*http.Response, error) {
			if req.Method == http.MethodPut && req.Header.Get("X-Amz-Content-Sha256") != unsignedBody {
				swapped = true
				req.Body = io.NopCloser(strings.NewReader("evil!"))
			}
			return http.DefaultClient.Do(req)
		})
	})
	_, err := client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String("images"), Key: aws.String("k"), Body: bytes.NewReader([]byte("bytes")),
	})
	if !swapped {
		t.Fatal("the SDK sent no payload hash to tamper with")
	}
	if s3Code(err) != "XAmzContentSHA256Mismatch" {
		t.Errorf("tampered body: %v, want XAmzContentSHA256Mismatch", err)
	}
}

type httpClientFunc func(*http.Request) (*http.Response, error)

func (f httpClientFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// presignPost signs a POST policy with the SDK, as the catalogadmin function does.
func presignPost(t *testing.T, b *backend, secret, key string, ttl time.Duration) (string, map[string]string) {
	t.Helper()
	req, err := s3.NewPresignClient(b.client(secret)).PresignPostObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String("images"), Key: aws.String(key),
	}, func(o *s3.PresignPostOptions) {
		o.Expires = ttl
		o.Conditions = []any{
			[]any{"content-length-range", 1, 5 << 20},
			map[string]string{"Content-Type": "image/png"},
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{"Content-Type": "image/png"}
	for k, v := range req.Values {
		fields[k] = v
	}
	return req.URL, fields
}

// postForm builds a browser's multipart upload: fields, then the file.
func postForm(t *testing.T, rawURL string, fields map[string]string, file []byte) *http.Request {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "picture.png")
	_, _ = fw.Write(file)
	_ = mw.Close()
	req, err := http.NewRequest("POST", rawURL, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", origin)
	return req
}

func TestPostPolicy(t *testing.T) {
	b := newBackend(t)
	const key = "uploads/p/a.png"
	postURL, fields := presignPost(t, b, "SECRET", key, 15*time.Minute)
	with := func(name, value string) map[string]string {
		f := map[string]string{}
		for k, v := range fields {
			f[k] = v
		}
		if value == "" {
			delete(f, name)
		} else {
			f[name] = value
		}
		return f
	}
	_, otherFields := presignPost(t, b, "GUESS", key, 15*time.Minute)
	file := []byte("\x89PNG\r\n\x1a\nsome bytes")
	for _, tc := range []struct {
		name   string
		fields map[string]string
		file   []byte
		status int
		code   string
	}{
		{"other content type", with("Content-Type", "text/html"), file, 403, "AccessDenied"},
		{"other key", with("key", "products/p/a.png"), file, 403, "AccessDenied"},
		{"extra field", with("x-amz-acl", "public-read"), file, 403, "AccessDenied"},
		{"no content type", with("Content-Type", ""), file, 403, "AccessDenied"},
		{"no policy", with("policy", ""), file, 403, "AccessDenied"},
		{"tampered policy", with("policy", strings.TrimSuffix(fields["policy"], "=")+"A="), file, 403, "SignatureDoesNotMatch"},
		{"wrong secret", otherFields, file, 403, "SignatureDoesNotMatch"},
		{"6 MiB", fields, make([]byte, 6<<20), 400, "EntityTooLarge"},
		{"empty file", fields, nil, 400, "EntityTooSmall"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := b.count()
			req := postForm(t, postURL, tc.fields, tc.file)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(body), "<Code>"+tc.code+"</Code>") {
				t.Errorf("%d %s, want %d %s", resp.StatusCode, body, tc.status, tc.code)
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != origin {
				t.Errorf("a browser could not read the refusal: no CORS header")
			}
			if b.count() != before {
				t.Error("a refused upload reached the store")
			}
		})
	}

	t.Run("expired", func(t *testing.T) {
		b.proxy.now = func() time.Time { return time.Now().Add(16 * time.Minute) }
		defer func() { b.proxy.now = time.Now }()
		status, body := do(t, postForm(t, postURL, fields, file))
		if status != 403 || !strings.Contains(body, "Policy expired") {
			t.Errorf("%d %s, want 403 AccessDenied, policy expired", status, body)
		}
	})

	t.Run("as signed", func(t *testing.T) {
		req := postForm(t, postURL, fields, file)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != origin {
			t.Fatalf("%d %v, want 204 with CORS", resp.StatusCode, resp.Header)
		}
		o, ok := b.object("/images/" + key)
		if !ok || o.contentType != "image/png" || !bytes.Equal(o.data, file) {
			t.Errorf("stored %v %+v", ok, o)
		}
		if len(b.created) != 1 || b.created[0] != (Object{Bucket: "images", Key: key, Size: int64(len(file)), ETag: `"e"`, Event: "ObjectCreated:Post"}) {
			t.Errorf("created events %+v", b.created)
		}
	})
}

func TestCORSPreflight(t *testing.T) {
	b := newBackend(t)
	preflight := func(from, method string) *http.Response {
		req, _ := http.NewRequest("OPTIONS", b.front.URL+"/images", nil)
		req.Header.Set("Origin", from)
		req.Header.Set("Access-Control-Request-Method", method)
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := preflight(origin, "POST"); resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != origin ||
		resp.Header.Get("Access-Control-Allow-Methods") != "POST" {
		t.Errorf("allowed preflight: %d %v", resp.StatusCode, resp.Header)
	}
	for _, tc := range [][2]string{{"https://evil.example", "POST"}, {origin, "PUT"}, {origin, "DELETE"}} {
		if resp := preflight(tc[0], tc[1]); resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight %v: %d %v, want 403", tc, resp.StatusCode, resp.Header)
		}
	}
}

// TestUnsignedHeaderAdded: an x-amz-* header added after signing is refused, as S3 does.
func TestUnsignedHeaderAdded(t *testing.T) {
	b := newBackend(t)
	client := s3.New(b.client("SECRET").Options(), func(o *s3.Options) {
		o.HTTPClient = httpClientFunc(func(req *http.Request) (*http.Response, error) {
			req.Header.Set("X-Amz-Acl", "public-read")
			return http.DefaultClient.Do(req)
		})
	})
	_, err := client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String("images"), Key: aws.String("k"), Body: strings.NewReader("bytes"),
	})
	if s3Code(err) != "AccessDenied" || b.count() != 0 {
		t.Errorf("unsigned ACL: %v, %d stored", err, b.count())
	}
}

// A conditional write may trigger, through Created, a conditional write of another object
// (the image checker publishing an upload): neither waits for the other.
func TestConditionalWriteFromCreated(t *testing.T) {
	b := newBackend(t)
	client := b.client("SECRET")
	b.proxy.onStore = func(ctx context.Context, obj Object) {
		if obj.Key == "uploads/a.png" {
			_, err := client.PutObject(ctx, &s3.PutObjectInput{
				Bucket: aws.String("images"), Key: aws.String("products/a.png"), Body: strings.NewReader("x"), IfNoneMatch: aws.String("*"),
			})
			if err != nil {
				t.Errorf("write from Created: %v", err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("images"), Key: aws.String("uploads/a.png"), Body: strings.NewReader("x"), IfNoneMatch: aws.String("*"),
	}); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.object("/images/products/a.png"); !ok {
		t.Error("the write from Created was not stored")
	}
}
