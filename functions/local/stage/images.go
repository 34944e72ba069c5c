package stage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/shop-serverless/shop/functions/local/s3proxy"
)

// serveS3 serves the S3 endpoint the stage gives functions and browsers: s3rver behind a
// proxy that checks every request's signature as S3 does (s3rver itself accepts any
// request), answers the bucket's CORS rule for the stage's origins, and invokes the image
// checker for uploads as the bucket's notification does. It sets s3URL; it stops with the
// stage.
func (s *Stage) serveS3(ctx context.Context) error {
	target, err := url.Parse(s.Servers.S3.URL())
	if err != nil {
		return fmt.Errorf("s3rver URL: %w", err)
	}
	ln, err := listen("")
	if err != nil {
		return err
	}
	s.s3URL = "http://" + ln.Addr().String()
	check, err := s.newImageCheck(ctx)
	if err != nil {
		ln.Close()
		return err
	}
	// The stage's IAM checks each function's SDK requests, known by its credentials; a
	// browser's presigned upload is checked as its signer's request (notifyUploads).
	s.serve(ln, s.guard.S3Handler(s.functionOfKey, s3proxy.New(target, s3proxy.Options{
		Secrets:     s.secrets,
		CORSOrigins: s.opts.CORSOrigins,
		Created:     s.notifyUploads(check),
	})))
	return nil
}

// imageKeyPattern is what an image key may look like: path segments of safe characters,
// none of them "." or "..".
var imageKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}(/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}){0,7}$`)

// imagesHandler serves GET /_local/images/{key...} as CloudFront serves the images bucket in
// the cloud: the object's bytes with its content type, read with the stage's own (origin
// access) identity, so the bucket stays private.
func (s *Stage) imagesHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.PathValue("key")
		if !imageKeyPattern.MatchString(key) {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		out, err := s.Admin.S3.GetObject(r.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			var missing *types.NoSuchKey
			if errors.As(err, &missing) {
				http.Error(w, "not found", http.StatusNotFound)
				return
			}
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		defer out.Body.Close()
		h := w.Header()
		h.Set("Content-Type", aws.ToString(out.ContentType))
		if out.ContentLength != nil {
			h.Set("Content-Length", strconv.FormatInt(*out.ContentLength, 10))
		}
		if v := aws.ToString(out.CacheControl); v != "" {
			h.Set("Cache-Control", v)
		}
		if v := aws.ToString(out.ETag); v != "" {
			h.Set("ETag", v)
		}
		h.Set("X-Content-Type-Options", "nosniff")
		_, _ = io.Copy(w, out.Body)
	})
}
