package redisauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

var signingTime = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

func testConfig(sessionToken string) aws.Config {
	return aws.Config{
		Region:      "eu-central-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken),
	}
}

// TestTokenFormat checks a token against the format AWS documents for ElastiCache IAM
// authentication, and recomputes its SigV4 signature independently of the SDK's signer.
func TestTokenFormat(t *testing.T) {
	tests := []struct {
		name         string
		cache        string
		serverless   bool
		sessionToken string
	}{
		{name: "replication group", cache: "shop-prod-cache"},
		{name: "serverless", cache: "shop-dev-cache", serverless: true},
		{name: "session credentials", cache: "shop-prod-cache", sessionToken: "IQoJb3JpZ2luX2VjEXAMPLE"},
		{name: "upper-case cache name", cache: "Shop-Prod-Cache"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp := newTokenProvider(testConfig(tt.sessionToken), tt.cache, "shop-prod-functions", tt.serverless)
			tp.now = func() time.Time { return signingTime }

			user, token, err := tp.credentials(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if user != "shop-prod-functions" {
				t.Errorf("username = %q, want the RBAC user id", user)
			}
			host := strings.ToLower(tt.cache)
			if strings.HasPrefix(token, "http") {
				t.Fatalf("token %q keeps the scheme", token)
			}
			if !strings.HasPrefix(token, host+"/?") {
				t.Fatalf("token %q does not start with %q", token, host+"/?")
			}
			q, err := url.ParseQuery(strings.TrimPrefix(token, host+"/?"))
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{
				"Action":              "connect",
				"User":                "shop-prod-functions",
				"X-Amz-Algorithm":     "AWS4-HMAC-SHA256",
				"X-Amz-Credential":    "AKIDEXAMPLE/20250304/eu-central-1/elasticache/aws4_request",
				"X-Amz-Date":          "20250304T050607Z",
				"X-Amz-Expires":       "900",
				"X-Amz-SignedHeaders": "host",
			}
			if tt.serverless {
				want["ResourceType"] = "ServerlessCache"
			}
			if tt.sessionToken != "" {
				want["X-Amz-Security-Token"] = tt.sessionToken
			}
			for k, v := range want {
				if got := q.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			for k := range q {
				if _, ok := want[k]; !ok && k != "X-Amz-Signature" {
					t.Errorf("unexpected parameter %s", k)
				}
			}
			if got, want := q.Get("X-Amz-Signature"), expectedSignature(host, q, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"); got != want {
				t.Errorf("signature = %s, want %s", got, want)
			}
		})
	}
}

func TestTokenIsReusedThenRefreshed(t *testing.T) {
	tp := newTokenProvider(testConfig(""), "shop-prod-cache", "u", false)
	p := tp.credentials
	now := signingTime
	tp.now = func() time.Time { return now }

	_, first, err := p(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(RefreshAfter - time.Second)
	if _, again, _ := p(context.Background()); again != first {
		t.Error("token re-signed before RefreshAfter")
	}
	now = now.Add(2 * time.Second)
	_, fresh, err := p(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if fresh == first {
		t.Error("token not refreshed after RefreshAfter")
	}
	if RefreshAfter >= TokenLifetime {
		t.Error("tokens must be refreshed before they expire")
	}
}

func TestNewTokenProviderSigns(t *testing.T) {
	user, token, err := NewTokenProvider(testConfig(""), "shop-prod-cache", "fn", false)(context.Background())
	if err != nil || user != "fn" || !strings.HasPrefix(token, "shop-prod-cache/?") {
		t.Fatalf("got %q, %q, %v", user, token, err)
	}
}

func TestTokenErrors(t *testing.T) {
	tests := []struct {
		name  string
		cfg   aws.Config
		cache string
		user  string
	}{
		{"no credentials", aws.Config{Region: "eu-central-1"}, "c", "u"},
		{"no region", aws.Config{Credentials: testConfig("").Credentials}, "c", "u"},
		{"no cache", testConfig(""), "", "u"},
		{"no user", testConfig(""), "c", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := NewTokenProvider(tt.cfg, tt.cache, tt.user, false)(context.Background()); err == nil {
				t.Error("want an error")
			}
		})
	}
}

// expectedSignature computes the SigV4 query-string signature as AWS documents it:
// canonical request -> string to sign -> HMAC chain of date, region, service.
func expectedSignature(host string, q url.Values, secret string) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		if k != "X-Amz-Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	pairs := make([]string, 0, len(keys))
	for _, k := range keys {
		pairs = append(pairs, uriEncode(k)+"="+uriEncode(q.Get(k)))
	}
	canonical := strings.Join([]string{
		"GET", "/", strings.Join(pairs, "&"), "host:" + host + "\n", "host", emptyPayloadHash,
	}, "\n")
	date := q.Get("X-Amz-Date")
	scope := date[:8] + "/eu-central-1/elasticache/aws4_request"
	sum := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + date + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	key := []byte("AWS4" + secret)
	for _, part := range []string{date[:8], "eu-central-1", "elasticache", "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	return hex.EncodeToString(hmacSHA256(key, toSign))
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// uriEncode is SigV4's URI encoding: everything but unreserved characters is %XX.
func uriEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}
