package s3proxy

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzPostPolicy feeds the POST policy check arbitrary, correctly signed policy documents
// and files: it must never panic and answer either a stored upload (204) or S3's 4xx.
func FuzzPostPolicy(f *testing.F) {
	f.Add([]byte(`{"expiration":"2099-01-01T00:00:00Z","conditions":[{"bucket":"images"},["content-length-range",1,10],{"key":"k"},{"Content-Type":"image/png"}]}`), []byte("png"))
	f.Add([]byte(`{"expiration":"2099-01-01T00:00:00Z","conditions":[["starts-with","$key",""],["eq","$Content-Type","image/png"],["content-length-range",5,1]]}`), []byte(""))
	f.Add([]byte(`{"expiration":"2000-01-01T00:00:00Z","conditions":[]}`), []byte("x"))
	f.Add([]byte(`{"conditions":[["content-length-range","a",{}],[1,2,3],null,{"key":1}]}`), []byte("x"))
	f.Add([]byte(`not json`), []byte("x"))
	b := newBackend(f)
	now := time.Now().UTC()
	credential := "AKID/" + now.Format("20060102") + "/us-east-1/s3/aws4_request"
	f.Fuzz(func(t *testing.T, doc, file []byte) {
		policy := base64.StdEncoding.EncodeToString(doc)
		fields := map[string]string{
			"key": "k", "Content-Type": "image/png", "policy": policy,
			"X-Amz-Algorithm": algorithm, "X-Amz-Credential": credential, "X-Amz-Date": now.Format(amzDate),
			"X-Amz-Signature": hex.EncodeToString(hmacSHA256(signingKey("SECRET", strings.Split(credential, "/")), policy)),
		}
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for k, v := range fields {
			_ = mw.WriteField(k, v)
		}
		fw, _ := mw.CreateFormFile("file", "f")
		_, _ = fw.Write(file)
		_ = mw.Close()
		req := httptest.NewRequest("POST", "/images", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		rec := httptest.NewRecorder()
		b.proxy.ServeHTTP(rec, req)
		if rec.Code != 204 && (rec.Code < 400 || rec.Code > 499 || !strings.Contains(rec.Body.String(), "<Code>")) {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	})
}
