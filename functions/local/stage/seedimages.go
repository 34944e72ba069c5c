package stage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
	"golang.org/x/sync/errgroup"
)

// seedImageSize is the side, in pixels, of a sample product's picture.
const seedImageSize = 256

// categoryColours give each sample category its own background.
var categoryColours = map[string]color.RGBA{
	"books":       {0x3b, 0x5b, 0x92, 0xff},
	"electronics": {0x2d, 0x2f, 0x3a, 0xff},
	"kitchen":     {0xc0, 0x4b, 0x2f, 0xff},
	"garden":      {0x3f, 0x7d, 0x3a, 0xff},
	"toys":        {0xe0, 0xa1, 0x1b, 0xff},
	"sports":      {0x1f, 0x86, 0x8f, 0xff},
}

// SeedImagePNG draws a sample product's picture: its category's colour with one of five
// simple shapes, chosen by n, in a light tint. Generated, so nothing is downloaded.
func SeedImagePNG(category string, n int) ([]byte, error) {
	bg, ok := categoryColours[category]
	if !ok {
		bg = color.RGBA{0x70, 0x70, 0x70, 0xff}
	}
	fg := color.RGBA{bg.R/4 + 0xbf, bg.G/4 + 0xbf, bg.B/4 + 0xbf, 0xff}
	const size, c = seedImageSize, seedImageSize / 2
	inside := [5]func(x, y int) bool{
		func(x, y int) bool { return sq(x-c)+sq(y-c) < sq(size/3) },                             // disc
		func(x, y int) bool { return abs(x-c) < size/4 && abs(y-c) < size/4 },                   // square
		func(x, y int) bool { return y > size/4 && y < 3*size/4 && abs(x-c) < (y-size/4)/2+4 },  // triangle
		func(x, y int) bool { return abs(x-c)+abs(y-c) < size/3 },                               // diamond
		func(x, y int) bool { d := sq(x-c) + sq(y-c); return d < sq(size/3) && d > sq(size/5) }, // ring
	}[(n-1+5)%5]
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			if inside(x, y) {
				img.SetRGBA(x, y, fg)
			} else {
				img.SetRGBA(x, y, bg)
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode seed image: %w", err)
	}
	return buf.Bytes(), nil
}

func sq(v int) int { return v * v }

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// SeedImages gives every sample product its picture the way an admin's browser does: it asks
// the gateway at api for POST /products/{id}/image-upload-url (waiting as its Retry-After
// says when the admin's write limit answers 429) and posts the form, fields then file,
// straight to the S3 endpoint. The image checker then publishes each one.
func (s *Stage) SeedImages(ctx context.Context, api string) error {
	token, err := s.Token("seed", "admin")
	if err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, p := range SeedProducts(time.Now()) {
		g.Go(func() error {
			img, err := SeedImagePNG(p.Category, i%SeedPerCategory+1)
			if err != nil {
				return err
			}
			if err := uploadImage(ctx, api, token, p.ProductID, img); err != nil {
				return fmt.Errorf("seed image of %s: %w", p.ProductID, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// uploadImage uploads a PNG for a product through the presigned POST of the gateway at api.
func uploadImage(ctx context.Context, api, token, productID string, img []byte) error {
	var target struct {
		UploadURL string            `json:"uploadUrl"`
		Fields    map[string]string `json:"fields"`
	}
	err := sendPaced(ctx, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, api+"/products/"+productID+"/image-upload-url",
			strings.NewReader(`{"contentType":"image/png"}`))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		return req, nil
	}, &target)
	if err != nil {
		return fmt.Errorf("upload URL: %w", err)
	}
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	for k, v := range target.Fields {
		if err := mw.WriteField(k, v); err != nil {
			return err
		}
	}
	fw, err := mw.CreateFormFile("file", productID+".png")
	if err != nil {
		return err
	}
	if _, err := fw.Write(img); err != nil {
		return err
	}
	if err := mw.Close(); err != nil {
		return err
	}
	up, err := http.NewRequestWithContext(ctx, http.MethodPost, target.UploadURL, &form)
	if err != nil {
		return err
	}
	up.Header.Set("Content-Type", mw.FormDataContentType())
	if err := send(up, nil); err != nil {
		return fmt.Errorf("presigned POST: %w", err)
	}
	return nil
}

// sendPaced sends the request newReq builds until it is not refused with 429, waiting as
// long as each refusal's Retry-After says, as a well-behaved client of a rate-limited API
// does; then it is send.
func sendPaced(ctx context.Context, newReq func() (*http.Request, error), out any) error {
	var refused error
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		req, err := newReq()
		if err != nil {
			return struct{}{}, backoff.Permanent(err)
		}
		wait, err := sendOnce(req, out)
		if wait > 0 {
			refused = err
			return struct{}{}, backoff.RetryAfter(int(wait / time.Second))
		}
		return struct{}{}, backoff.Permanent(err)
	}, backoff.WithMaxElapsedTime(2*time.Minute))
	if _, ok := errors.AsType[*backoff.RetryAfterError](err); ok {
		return refused // the last refusal says more than how long it asked to wait
	}
	return err
}

// send does req and, when the answer is a success, decodes its JSON into out.
func send(req *http.Request, out any) error {
	_, err := sendOnce(req, out)
	return err
}

// sendOnce is send that also returns, for a 429, the wait its Retry-After asks for.
func sendOnce(req *http.Request, out any) (retryAfter time.Duration, err error) {
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return 0, err
	}
	if res.StatusCode == http.StatusTooManyRequests {
		secs, perr := strconv.Atoi(res.Header.Get("Retry-After"))
		if perr != nil || secs < 1 {
			secs = 1
		}
		return time.Duration(secs) * time.Second, fmt.Errorf("HTTP %d: %s", res.StatusCode, body)
	}
	if res.StatusCode/100 != 2 {
		return 0, fmt.Errorf("HTTP %d: %s", res.StatusCode, body)
	}
	if out != nil {
		return 0, json.Unmarshal(body, out)
	}
	return 0, nil
}
