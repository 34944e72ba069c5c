package catalogadmin

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/shop-serverless/shop/functions/internal/api"
)

// The fuzz targets feed the decoders of every admin request arbitrary bodies. None may
// panic, and every refusal must be a 4xx of the contract (never a 5xx). Their seed corpus
// runs with plain `go test`; `go test -fuzz=FuzzX` explores further (see the README).

func request(body, contentType string, b64 bool) api.Request {
	req := api.Request{Body: body, Headers: map[string]string{}, IsBase64Encoded: b64}
	if contentType != "" {
		req.Headers["content-type"] = contentType
	}
	return req
}

func checkRefusal(t *testing.T, err error) {
	t.Helper()
	if status := api.StatusOf(err); status < 400 || status > 499 {
		t.Fatalf("refusal with status %d: %v", status, err)
	}
}

func smallPNG(t testing.TB) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 3, 2))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func smallJPEG(t testing.TB) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 3, 2)), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// webpHeader is the start of a lossless WebP file: RIFF size, WEBP, a VP8L chunk.
var webpHeader = []byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00")

func FuzzDecodeDraft(f *testing.F) {
	for _, seed := range []string{
		`{"name":"Lamp","description":"Warm","category":"home","price":1999,"currency":"USD","stock":3}`,
		`{"name":"Lamp","category":"home","price":0,"currency":"EUR","stock":0}`,
		`{"name":"","category":"home","price":-1,"currency":"usd","stock":-1}`,
		`{"name":"Lamp","category":"Home!","price":1.5,"currency":"USD","stock":3}`,
		`{"name":null,"category":null,"price":null,"currency":null,"stock":null}`,
		`{"name":"\u0000","category":"a","price":9007199254740992,"currency":"XXX","stock":1e3}`,
		`{"name":"é","category":"a","price":99999999999999999999,"currency":"JPY","stock":1}`,
		`{}`, `[]`, `null`, `"x"`, ``, `{"name":`, `{"extra":1}`, `{"name":"a"}{"name":"b"}`,
	} {
		f.Add(seed, "application/json", false)
	}
	f.Add(base64.StdEncoding.EncodeToString([]byte(`{"name":"Lamp","category":"home","price":1,"currency":"USD","stock":3}`)), "application/json", true)
	f.Add("not base64 !", "application/json", true)
	f.Add(`{"name":"Lamp"}`, "text/plain", false)
	f.Add(`{"name":"Lamp"}`, "application/json; charset=\"", false)
	// Strict decoding: exact names, no duplicates, a JSON content type.
	valid := `{"name":"Lamp","category":"home","price":1,"currency":"USD","stock":3}`
	f.Add(valid, "", false)
	f.Add(valid, "Application/JSON; charset=UTF-8", false)
	f.Add(valid, "application/json; charset=latin1", false)
	f.Add(valid, "application/x-www-form-urlencoded", false)
	f.Add(`{"Name":"Lamp","category":"home","price":1,"currency":"USD","stock":3}`, "application/json", false)
	f.Add(`{"name":"Lamp","category":"home","PRICE":1,"currency":"USD","stock":3}`, "application/json", false)
	f.Add(`{"name":"Lamp","name":"Desk","category":"home","price":1,"currency":"USD","stock":3}`, "application/json", false)
	f.Add(`{"name":"Lamp","category":"home","price":1,"price":0,"currency":"USD","stock":3}`, "application/json", false)
	f.Fuzz(func(t *testing.T, body, contentType string, b64 bool) {
		d, err := decodeDraft(request(body, contentType, b64))
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if !strings.HasPrefix(strings.ToLower(contentType), "application/json") {
			t.Fatalf("accepted a body sent as %q", contentType)
		}
		if p := d.Problems(); len(p) != 0 {
			t.Fatalf("accepted an invalid draft: %v", p)
		}
		if n := utf8.RuneCountInString(d.Name); n < 1 || n > 200 {
			t.Fatalf("accepted a name of %d characters", n)
		}
	})
}

func imageJSON(data []byte, contentType string) string {
	b, _ := json.Marshal(map[string]string{"image": base64.StdEncoding.EncodeToString(data), "contentType": contentType})
	return string(b)
}

func FuzzDecodeImage(f *testing.F) {
	pngBytes, jpegBytes := smallPNG(f), smallJPEG(f)
	for _, seed := range []string{
		imageJSON(pngBytes, "image/png"),
		imageJSON(jpegBytes, "image/jpeg"),
		imageJSON(webpHeader, "image/webp"),
		imageJSON(pngBytes, "image/jpeg"),
		imageJSON(pngBytes[:10], "image/png"),
		imageJSON([]byte("hello"), "image/png"),
		imageJSON([]byte("GIF89a"), "image/gif"),
		imageJSON(webpHeader[:14], "image/webp"),
		`{"image":"iVBORw0KGgo","contentType":"image/png"}`,
		`{"image":"***","contentType":"image/png"}`,
		`{"image":"","contentType":"image/png"}`,
		`{"image":5,"contentType":"image/png"}`,
		`{"contentType":"image/png"}`, `{"image":"aGk="}`, `{}`, ``, `[`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		img, err := decodeImage(request(body, "application/json", false))
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if len(img.Data) == 0 || len(img.Data) > MaxImage || Sniff(img.Data) != img.ContentType || imageTypes[img.ContentType] != img.ext {
			t.Fatalf("accepted %d bytes of %s (sniffed %q)", len(img.Data), img.ContentType, Sniff(img.Data))
		}
	})
}

func FuzzCheckImage(f *testing.F) {
	f.Add(smallPNG(f), "image/png")
	f.Add(smallJPEG(f), "image/jpeg")
	f.Add(webpHeader, "image/webp")
	f.Add([]byte("RIFF\xff\xff\xff\xffWEBPVP8 "), "image/webp")
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xE0}, "image/jpeg")
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "image/png")
	f.Fuzz(func(t *testing.T, data []byte, declared string) {
		if err := checkImage(data, declared); err != nil {
			checkRefusal(t, err)
		}
	})
}

func FuzzDecodeUploadURL(f *testing.F) {
	for _, seed := range []string{
		`{"contentType":"image/png"}`, `{"contentType":"image/webp"}`, `{"contentType":"image/gif"}`,
		`{"contentType":""}`, `{"contentType":null}`, `{"contentType":1}`, `{}`, `{"contentType":"image/png","x":1}`, ``, `x`,
	} {
		f.Add(seed, "application/json")
	}
	f.Add(`{"contentType":"image/png"}`, "multipart/form-data")
	f.Add(`{"contentType":"image/png"}`, "")
	f.Add(`{"ContentType":"image/png"}`, "application/json")
	f.Add(`{"contentType":"text/html","contentType":"image/png"}`, "application/json")
	f.Fuzz(func(t *testing.T, body, contentType string) {
		ct, ext, err := decodeUploadURL(request(body, contentType, false))
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if imageTypes[ct] != ext || ext == "" {
			t.Fatalf("accepted content type %q (ext %q)", ct, ext)
		}
	})
}
