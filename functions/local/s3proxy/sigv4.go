package s3proxy

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	algorithm     = "AWS4-HMAC-SHA256"
	amzDate       = "20060102T150405Z"
	maxExpires    = 7 * 24 * 60 * 60
	unsignedBody  = "UNSIGNED-PAYLOAD"
	maxClockSkew  = 15 * time.Minute
	maxSignedBody = 64 << 20
)

// signed is what a SigV4 request says about itself, from its query (presigned) or its
// Authorization header.
type signed struct {
	credential    []string // access key id, date, region, service, "aws4_request"
	date          string
	signedHeaders string
	signature     string
	payload       string
}

// verifyQuery checks a presigned (query string) SigV4 request as S3 does.
func (p *Proxy) verifyQuery(r *http.Request) *s3Error {
	q := r.URL.Query()
	if q.Get("X-Amz-Algorithm") != algorithm {
		return errAuthQuery(`X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"`)
	}
	s := signed{
		credential:    strings.Split(q.Get("X-Amz-Credential"), "/"),
		date:          q.Get("X-Amz-Date"),
		signedHeaders: q.Get("X-Amz-SignedHeaders"),
		signature:     q.Get("X-Amz-Signature"),
		payload:       unsignedBody,
	}
	if v := q.Get("X-Amz-Content-Sha256"); v != "" {
		s.payload = v
	}
	signedAt, e := p.checkScope(s, errAuthQuery)
	if e != nil {
		return e
	}
	expires, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || expires < 1 || expires > maxExpires {
		return errAuthQuery("X-Amz-Expires must be a number of seconds from 1 to 604800")
	}
	if p.now().After(signedAt.Add(time.Duration(expires) * time.Second)) {
		return &s3Error{http.StatusForbidden, "AccessDenied", "Request has expired"}
	}
	return p.checkSignature(r, s)
}

// verifyHeader checks a request signed in its Authorization header (the SDK's own calls):
// the signature, the clock skew, and a signed payload hash against the body.
func (p *Proxy) verifyHeader(r *http.Request) *s3Error {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, algorithm+" ")
	if !ok {
		return &s3Error{http.StatusBadRequest, "InvalidArgument", "Unsupported Authorization Type"}
	}
	var s signed
	for _, part := range strings.Split(rest, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch name {
		case "Credential":
			s.credential = strings.Split(value, "/")
		case "SignedHeaders":
			s.signedHeaders = value
		case "Signature":
			s.signature = value
		}
	}
	s.date = r.Header.Get("X-Amz-Date")
	s.payload = r.Header.Get("X-Amz-Content-Sha256")
	if s.payload == "" {
		return &s3Error{http.StatusBadRequest, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"}
	}
	malformed := func(msg string) *s3Error {
		return &s3Error{http.StatusBadRequest, "AuthorizationHeaderMalformed", msg}
	}
	signedAt, e := p.checkScope(s, malformed)
	if e != nil {
		return e
	}
	if skew := p.now().Sub(signedAt); skew > maxClockSkew || skew < -maxClockSkew {
		return &s3Error{http.StatusForbidden, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."}
	}
	if e := p.checkSignature(r, s); e != nil {
		return e
	}
	return checkPayload(r, s.payload)
}

// checkScope checks the credential scope and the signing date; it returns when the request
// was signed.
func (p *Proxy) checkScope(s signed, malformed func(string) *s3Error) (time.Time, *s3Error) {
	cred := s.credential
	if len(cred) != 5 || cred[4] != "aws4_request" || cred[3] != "s3" {
		return time.Time{}, malformed("malformed credential, want <key id>/<date>/<region>/s3/aws4_request")
	}
	if _, ok := p.secrets[cred[0]]; !ok {
		return time.Time{}, errUnknownKey
	}
	signedAt, err := time.Parse(amzDate, s.date)
	if err != nil || signedAt.Format("20060102") != cred[1] {
		return time.Time{}, malformed("X-Amz-Date must be in the ISO8601 Long Format and match the credential scope")
	}
	if !strings.Contains(";"+s.signedHeaders+";", ";host;") {
		return time.Time{}, malformed("the signed headers must include host")
	}
	return signedAt, nil
}

// checkSignature recomputes the SigV4 signature of r with the key id's secret. As S3 does,
// it refuses an x-amz-* header that the signature does not cover (an ACL added to a
// presigned URL, say).
func (p *Proxy) checkSignature(r *http.Request, s signed) *s3Error {
	covered := map[string]bool{}
	for _, name := range strings.Split(s.signedHeaders, ";") {
		covered[name] = true
	}
	for name := range r.Header {
		if name = strings.ToLower(name); strings.HasPrefix(name, "x-amz-") && !covered[name] {
			return &s3Error{http.StatusForbidden, "AccessDenied", "There were headers present in the request which were not signed: " + name}
		}
	}
	canonical := canonicalRequest(r, s.signedHeaders, s.payload)
	scope := strings.Join(s.credential[1:], "/")
	toSign := strings.Join([]string{algorithm, s.date, scope, hexSHA256([]byte(canonical))}, "\n")
	want := hex.EncodeToString(hmacSHA256(signingKey(p.secrets[s.credential[0]], s.credential), toSign))
	if !hmac.Equal([]byte(want), []byte(s.signature)) {
		return errSignature
	}
	return nil
}

// checkPayload compares a signed payload hash with the body, as S3 does before it stores
// anything. Unsigned and streaming payloads are not hashed as a whole.
func checkPayload(r *http.Request, payload string) *s3Error {
	if payload == unsignedBody || strings.HasPrefix(payload, "STREAMING-") {
		return nil
	}
	if _, err := hex.DecodeString(payload); err != nil || len(payload) != 64 {
		return &s3Error{http.StatusBadRequest, "InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-... or a SHA-256 hex digest"}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSignedBody+1))
	if err != nil {
		return &s3Error{http.StatusBadRequest, "IncompleteBody", "The request body could not be read"}
	}
	if len(body) > maxSignedBody {
		return &s3Error{http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"}
	}
	if hexSHA256(body) != payload {
		return &s3Error{http.StatusBadRequest, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed."}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return nil
}

// canonicalRequest is SigV4's canonical form of r, for S3 (the path is not encoded twice).
func canonicalRequest(r *http.Request, signedHeaders, payload string) string {
	var params []string
	for name, vals := range r.URL.Query() {
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
		switch name {
		case "host":
			value = r.Host
		case "content-length":
			value = strconv.FormatInt(r.ContentLength, 10)
		default:
			vals := r.Header.Values(name)
			for i, v := range vals {
				vals[i] = strings.Join(strings.Fields(v), " ")
			}
			value = strings.Join(vals, ",")
		}
		fmt.Fprintf(&headers, "%s:%s\n", name, value)
	}
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	return strings.Join([]string{r.Method, path, strings.Join(params, "&"), headers.String(), signedHeaders, payload}, "\n")
}

// signingKey derives SigV4's signing key from a secret and a credential scope.
func signingKey(secret string, credential []string) []byte {
	key := []byte("AWS4" + secret)
	for _, part := range credential[1:] {
		key = hmacSHA256(key, part)
	}
	return key
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

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
