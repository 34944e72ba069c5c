package catalogadmin_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shop-serverless/shop/functions/local/stage"
)

func TestScratch(t *testing.T) {
	ctx := context.Background()
	st, err := stage.Start(ctx, stage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := st.Admin
	_, err = c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(c.Config.ImagesBucket), Key: aws.String("products/x/abc.png"),
		Body: bytes.NewReader([]byte("hello png")), ContentType: aws.String("image/png"), CacheControl: aws.String("public, max-age=60")})
	t.Log("put", err)
	out, err := c.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.Config.ImagesBucket), Key: aws.String("products/x/abc.png")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(out.Body)
	t.Logf("get %q %v %v", b, aws.ToString(out.ContentType), aws.ToString(out.CacheControl))
	pc := s3.NewPresignClient(c.S3)
	req, err := pc.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(c.Config.ImagesBucket), Key: aws.String("products/x/up.png"), ContentType: aws.String("image/png")}, s3.WithPresignExpires(15*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	t.Log(req.URL, req.Method, req.SignedHeader)
	for _, ct := range []string{"image/jpeg", "image/png"} {
		hr, _ := http.NewRequest("PUT", req.URL, bytes.NewReader([]byte("uploaded "+ct)))
		hr.Header.Set("Content-Type", ct)
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		rb, _ := io.ReadAll(resp.Body)
		t.Log(ct, resp.StatusCode, string(rb))
	}
	out, err = c.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.Config.ImagesBucket), Key: aws.String("products/x/up.png")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(out.Body)
	t.Logf("get %q %v", b, aws.ToString(out.ContentType))
}
