package s3proxy

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The proxy refuses a presigned PUT made by the real SDK presigner exactly when S3 would.
func TestPresignedRequests(t *testing.T) {
	b := newBackend(t)
	proxy, front := b.proxy, b.front

	presign := func(t *testing.T, akid, secret, key string, ttl time.Duration) (string, http.Header) {
		t.Helper()
		client := s3.New(s3.Options{
			Region:       "us-east-1",
			BaseEndpoint: aws.String(front.URL),
			UsePathStyle: true,
			Credentials:  credentials.NewStaticCredentialsProvider(akid, secret, ""),
		})
		req, err := s3.NewPresignClient(client).PresignPutObject(context.Background(), &s3.PutObjectInput{
			Bucket: aws.String("images"), Key: aws.String(key), ContentType: aws.String("image/png"),
			CacheControl: aws.String("public, max-age=60"),
		}, s3.WithPresignExpires(ttl))
		if err != nil {
			t.Fatal(err)
		}
		return req.URL, req.SignedHeader
	}
	put := func(t *testing.T, rawURL string, header http.Header) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("PUT", rawURL, strings.NewReader("bytes"))
		for k, v := range header {
			if !strings.EqualFold(k, "Host") {
				req.Header[k] = v
			}
		}
		return do(t, req)
	}

	good, signed := presign(t, "AKID", "SECRET", "products/p1/a b+c.png", 15*time.Minute)
	withType := func(ct string) http.Header {
		h := signed.Clone()
		h.Set("Content-Type", ct)
		return h
	}
	for _, tc := range []struct {
		name   string
		url    string
		header http.Header
		want   string // "" passes
	}{
		{"as signed", good, signed, ""},
		{"other content type", good, withType("image/jpeg"), "SignatureDoesNotMatch"},
		{"no content type", good, http.Header{}, "SignatureDoesNotMatch"},
		{"other cache control", good, func() http.Header { h := signed.Clone(); h.Set("Cache-Control", "no-store"); return h }(), "SignatureDoesNotMatch"},
		{"other key", strings.Replace(good, "a%20b", "x", 1), signed, "SignatureDoesNotMatch"},
		{"longer expiry", strings.Replace(good, "X-Amz-Expires=900", "X-Amz-Expires=901", 1), signed, "SignatureDoesNotMatch"},
		{"unsigned ACL header", good, func() http.Header { h := signed.Clone(); h.Set("X-Amz-Acl", "public-read"); return h }(), "AccessDenied"},
		{"unknown key id", func() string { u, _ := presign(t, "OTHER", "SECRET", "k.png", time.Minute); return u }(), signed, "InvalidAccessKeyId"},
		{"wrong secret", func() string { u, _ := presign(t, "AKID", "GUESS", "k.png", time.Minute); return u }(), signed, "SignatureDoesNotMatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := b.count()
			status, body := put(t, tc.url, tc.header)
			if tc.want == "" {
				if status != 200 || b.count() != before+1 {
					t.Fatalf("status %d, body %s: want it forwarded", status, body)
				}
				return
			}
			if status != 403 || !strings.Contains(body, "<Code>"+tc.want+"</Code>") || b.count() != before {
				t.Fatalf("status %d, body %s: want 403 %s, not forwarded", status, body, tc.want)
			}
		})
	}

	t.Run("expired", func(t *testing.T) {
		proxy.now = func() time.Time { return time.Now().Add(16 * time.Minute) }
		defer func() { proxy.now = time.Now }()
		status, body := put(t, good, signed)
		if status != 403 || !strings.Contains(body, "AccessDenied") {
			t.Fatalf("status %d, body %s: want 403 AccessDenied", status, body)
		}
	})

}
