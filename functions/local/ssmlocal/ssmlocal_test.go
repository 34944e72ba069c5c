package ssmlocal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func server() *Server {
	return &Server{
		Region: "us-east-1", Account: "000000000000",
		Secrets:    map[string]string{"AKID": "secret"},
		Readers:    map[string][]string{"AKID": {"/p"}},
		Parameters: []Parameter{{Name: "/p", Version: 2, Value: "the-value"}},
	}
}

// call sends body to s, signed as AKID with secretKey at signedAt unless unsigned; tamper,
// when set, changes the request after signing.
func call(t *testing.T, s *Server, body string, secretKey string, signedAt time.Time, unsigned bool, tamper func(*http.Request)) (int, map[string]any) {
	t.Helper()
	srv := httptest.NewServer(s)
	defer srv.Close()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonSSM.GetParameter")
	if !unsigned {
		sum := sha256.Sum256([]byte(body))
		creds := aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: secretKey}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "ssm", "us-east-1", signedAt); err != nil {
			t.Fatal(err)
		}
	}
	if tamper != nil {
		tamper(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

func TestGetParameter(t *testing.T) {
	now := time.Now()
	get := `{"Name":"/p:2","WithDecryption":true}`
	status, out := call(t, server(), get, "secret", now, false, nil)
	p, _ := out["Parameter"].(map[string]any)
	if status != http.StatusOK || p["Value"] != "the-value" || p["Version"] != float64(2) ||
		p["ARN"] != "arn:aws:ssm:us-east-1:000000000000:parameter/p" {
		t.Fatalf("%d %v", status, out)
	}
	// Without decryption, a SecureString's value is its ciphertext.
	if _, out := call(t, server(), `{"Name":"/p"}`, "secret", now, false, nil); out["Parameter"].(map[string]any)["Value"] == "the-value" {
		t.Error("the value without decryption")
	}

	cases := []struct {
		name      string
		body      string
		secretKey string
		at        time.Time
		unsigned  bool
		tamper    func(*http.Request)
		code      string
	}{
		{"unsigned", get, "secret", now, true, nil, "MissingAuthenticationTokenException"},
		{"wrong secret key", get, "not-the-secret", now, false, nil, "InvalidSignatureException"},
		{"body changed after signing", get, "secret", now, false, func(r *http.Request) {
			b := []byte(`{"Name":"/q:2","WithDecryption":true}`)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		}, "InvalidSignatureException"},
		{"signed an hour ago", get, "secret", now.Add(-time.Hour), false, nil, "InvalidSignatureException"},
		{"another version", `{"Name":"/p:3","WithDecryption":true}`, "secret", now, false, nil, "ParameterNotFound"},
		{"no grant", `{"Name":"/other","WithDecryption":true}`, "secret", now, false, nil, "AccessDeniedException"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, out := call(t, server(), c.body, c.secretKey, c.at, c.unsigned, c.tamper)
			if status != http.StatusBadRequest || out["__type"] != c.code {
				t.Errorf("%d %v, want 400 %s", status, out, c.code)
			}
		})
	}
}
