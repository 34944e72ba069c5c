// Package s3proxy puts S3's checks of presigned URLs in front of s3rver, which accepts any
// Signature Version 4 without computing it. The local stage gives the functions this proxy
// as their S3 endpoint, so a presigned URL they issue is refused locally exactly when S3
// would refuse it: a header that was signed (Content-Type, say) sent with another value, a
// changed key or query, an unknown access key, or an expired URL.
//
// Requests signed in the Authorization header (the functions' own SDK calls) and anonymous
// ones pass through unchecked, as s3rver would treat them anyway.
package s3proxy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Proxy is an http.Handler that checks presigned requests and forwards them to s3rver.
type Proxy struct {
	secrets map[string]string
	next    http.Handler
	now     func() time.Time
}

// New returns a proxy to target that verifies presigned requests against secrets (access
// key id -> secret access key).
func New(target *url.URL, secrets map[string]string) *Proxy {
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) }}
	return &Proxy{secrets: secrets, next: rp, now: time.Now}
}

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Has("X-Amz-Signature") {
		if code, msg := p.verify(r); code != "" {
			writeError(w, code, msg)
			return
		}
	}
	p.next.ServeHTTP(w, r)
}

const (
	algorithm    = "AWS4-HMAC-SHA256"
	amzDate      = "20060102T150405Z"
	maxExpires   = 7 * 24 * 60 * 60
	unsignedBody = "UNSIGNED-PAYLOAD"
)

// verify checks a presigned (query string) SigV4 request as S3 does; it returns an S3 error
// code and message, or "" when the request is authentic and current.
func (p *Proxy) verify(r *http.Request) (code, msg string) {
	q := r.URL.Query()
	if q.Get("X-Amz-Algorithm") != algorithm {
		return "AuthorizationQueryParametersError", "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\""
	}
	cred := strings.Split(q.Get("X-Amz-Credential"), "/")
	if len(cred) != 5 || cred[4] != "aws4_request" {
		return "AuthorizationQueryParametersError", "malformed X-Amz-Credential"
	}
	secret, ok := p.secrets[cred[0]]
	if !ok {
		return "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
	}
	signedAt, err := time.Parse(amzDate, q.Get("X-Amz-Date"))
	if err != nil || signedAt.Format("20060102") != cred[1] {
		return "AuthorizationQueryParametersError", "X-Amz-Date must be in the ISO8601 Long Format and match the credential scope"
	}
	expires, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || expires < 1 || expires > maxExpires {
		return "AuthorizationQueryParametersError", "X-Amz-Expires must be a number of seconds from 1 to 604800"
	}
	if p.now().After(signedAt.Add(time.Duration(expires) * time.Second)) {
		return "AccessDenied", "Request has expired"
	}
	signedHeaders := q.Get("X-Amz-SignedHeaders")
	if !strings.Contains(";"+signedHeaders+";", ";host;") {
		return "AuthorizationQueryParametersError", "X-Amz-SignedHeaders must include host"
	}
	canonical := canonicalRequest(r, signedHeaders)
	scope := strings.Join(cred[1:], "/")
	toSign := strings.Join([]string{algorithm, q.Get("X-Amz-Date"), scope, hexSHA256(canonical)}, "\n")
	key := []byte("AWS4" + secret)
	for _, part := range cred[1:] {
		key = hmacSHA256(key, part)
	}
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	if !hmac.Equal([]byte(want), []byte(q.Get("X-Amz-Signature"))) {
		return "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method."
	}
	return "", ""
}

// canonicalRequest is SigV4's canonical form of r, for S3 (the path is not encoded twice).
func canonicalRequest(r *http.Request, signedHeaders string) string {
	q := r.URL.Query()
	var params []string
	for name, vals := range q {
		if name == "X-Amz-Signature" {
			continue
		}
		for _, v := range vals {
			params = append(params, encode(name)+"="+encode(v))
		}
	}
	sort.Strings(params)
	var headers strings.Builder
	for _, name := range strings.Split(signedHeaders, ";") {
		var value string
		if name == "host" {
			value = r.Host
		} else {
			vals := r.Header.Values(name)
			for i, v := range vals {
				vals[i] = strings.Join(strings.Fields(v), " ")
			}
			value = strings.Join(vals, ",")
		}
		fmt.Fprintf(&headers, "%s:%s\n", name, value)
	}
	payload := unsignedBody
	if v := q.Get("X-Amz-Content-Sha256"); v != "" {
		payload = v
	}
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	return strings.Join([]string{r.Method, path, strings.Join(params, "&"), headers.String(), signedHeaders, payload}, "\n")
}

// encode is SigV4's URI encoding: everything but A-Z a-z 0-9 - _ . ~ is percent-encoded.
func encode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func hexSHA256(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// writeError answers 403 with S3's XML error body.
func writeError(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusForbidden)
	_ = xml.NewEncoder(w).Encode(struct {
		XMLName xml.Name `xml:"Error"`
		Code    string   `xml:"Code"`
		Message string   `xml:"Message"`
	}{Code: code, Message: msg})
}
