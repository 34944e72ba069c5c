package stage_test

import (
	"bytes"
	"context"
	"image/color"
	"image/png"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/shop-serverless/shop/functions/local/stage"
)

func TestSeedImagePNG(t *testing.T) {
	seen := map[color.Color]string{}
	for _, cat := range stage.SeedCategories {
		b, err := stage.SeedImagePNG(cat, 1)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", cat, err)
		}
		if s := img.Bounds().Size(); s.X != 256 || s.Y != 256 {
			t.Errorf("%s: %v, want 256x256", cat, s)
		}
		corner, centre := img.At(2, 2), img.At(128, 128)
		if corner == centre {
			t.Errorf("%s: no shape: corner and centre are both %v", cat, corner)
		}
		if other, ok := seen[corner]; ok {
			t.Errorf("%s has the colour of %s", cat, other)
		}
		seen[corner] = cat
		if len(b) > 8<<10 {
			t.Errorf("%s: %d bytes, want a small image", cat, len(b))
		}
	}
	a, _ := stage.SeedImagePNG("toys", 1)
	b, _ := stage.SeedImagePNG("toys", 2)
	if bytes.Equal(a, b) {
		t.Error("two products of a category have the same picture")
	}
}

// TestSeedImages uploads the sample pictures through the presigned POST, as an admin's
// browser does, and finds each one stored under its product's upload prefix.
func TestSeedImages(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := st.SeedImages(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range stage.SeedProducts(time.Now()) {
		out, err := st.Admin.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
			Bucket: aws.String(st.Admin.Config.ImagesBucket), Prefix: aws.String("uploads/" + p.ProductID + "/"),
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Contents) == 0 {
			t.Errorf("%s: no upload stored", p.ProductID)
			continue
		}
		head, err := st.Admin.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(st.Admin.Config.ImagesBucket), Key: out.Contents[0].Key})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(head.ContentType) != "image/png" {
			t.Errorf("%s: stored as %q", p.ProductID, aws.ToString(head.ContentType))
		}
	}
}
