package stage_test

import (
	"bytes"
	"context"
	"image/color"
	"image/png"
	"maps"
	"testing"
	"time"

	"github.com/shop-serverless/shop/functions/local/stage"
	"github.com/shop-serverless/shop/functions/manifest"
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
// browser does; the image checker publishes each, and each product's imageUrl serves it.
// The admin's write limit is below the number of pictures, as the dev stack's is under
// make dev: the seeder waits as the 429s' Retry-After says.
func TestSeedImages(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	limits := maps.Clone(stage.GenerousUserLimits)
	limits[manifest.LimitAdmin] = manifest.UserLimit{PerMinute: 300, Burst: 10}
	api, err := st.ServeWithUserLimits(ctx, limits)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SeedImages(ctx, api); err != nil {
		t.Fatal(err)
	}
	for i, p := range stage.SeedProducts(time.Now()) {
		read, _ := getProduct(t, p.ProductID)
		if read.ImageURL == nil {
			t.Errorf("%s: no imageUrl after seeding its image", p.ProductID)
			continue
		}
		status, ctype, body := fetch(t, *read.ImageURL)
		want, _ := stage.SeedImagePNG(p.Category, i%stage.SeedPerCategory+1)
		if status != 200 || ctype != "image/png" || !bytes.Equal(body, want) {
			t.Errorf("%s: GET %s: %d %s, %d bytes, want the seeded PNG", p.ProductID, *read.ImageURL, status, ctype, len(body))
		}
	}
}
