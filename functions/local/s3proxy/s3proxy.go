// Package s3proxy puts S3's request checks in front of s3rver, which accepts any request,
// signed or not, without computing a signature. The local stage gives the functions (and
// browsers) this proxy as their S3 endpoint, so a request is refused locally exactly when S3
// would refuse it:
//
//   - every request must be signed with SigV4 by a known key: in its Authorization header
//     (the SDK's calls, payload hash included), in its query (presigned URLs: signed headers,
//     key, query and expiry), or as a browser form POST whose policy is signed (expiration,
//     every condition, no field the policy does not name, content-length-range);
//   - anonymous requests are AccessDenied, as on a private bucket;
//   - a PUT with If-None-Match: * does not overwrite an existing object;
//   - browsers get the CORS answers of the bucket's CORS rule.
//
// Refusals are S3's XML errors. After an object is stored, Options.Created is called, as S3
// sends an object-created event to the bucket's notification.
package s3proxy

import (
	"bytes"
	"context"
	"encoding/xml"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Object is an object just stored, as an object-created event describes it.
type Object struct {
	Bucket string
	Key    string
	Size   int64
	ETag   string
	// Event is S3's event name: "ObjectCreated:Put", "ObjectCreated:Post" or "ObjectCreated:Copy".
	Event string
}

// Options configure a Proxy.
type Options struct {
	// Secrets are the known credentials: access key id -> secret access key.
	Secrets map[string]string
	// CORSOrigins may upload from a browser (POST), as the images bucket's CORS rule allows.
	CORSOrigins []string
	// Created, when set, is called after an object was stored, before the answer is sent.
	Created func(ctx context.Context, obj Object)
}

// Proxy is an http.Handler that checks requests as S3 does and forwards them to s3rver.
type Proxy struct {
	secrets map[string]string
	origins []string
	onStore func(ctx context.Context, obj Object)
	target  *url.URL
	next    *httputil.ReverseProxy
	now     func() time.Time
	// writing holds a *sync.Mutex per object, so a conditional write's existence check and
	// the write are one step (a per-object lock: the Created hook may write other objects).
	writing sync.Map
}

// New returns a proxy to the s3rver at target.
func New(target *url.URL, opts Options) *Proxy {
	p := &Proxy{secrets: opts.Secrets, origins: opts.CORSOrigins, onStore: opts.Created, target: target, now: time.Now}
	p.next = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			// Checked here; s3rver knows only its own key, and accepts unsigned requests.
			pr.Out.Header.Del("Authorization")
			if q := pr.Out.URL.Query(); q.Has("X-Amz-Signature") {
				for _, k := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"} {
					q.Del(k)
				}
				pr.Out.URL.RawQuery = q.Encode()
			}
		},
		ModifyResponse: p.afterPut,
	}
	return p
}

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		p.preflight(w, r)
		return
	}
	p.allowOrigin(w, r)
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if r.Method == http.MethodPost && key == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		p.servePost(w, r, bucket)
		return
	}
	var e *s3Error
	switch {
	case r.URL.Query().Has("X-Amz-Signature"):
		e = p.verifyQuery(r)
	case r.Header.Get("Authorization") != "":
		e = p.verifyHeader(r)
	default:
		e = errAccessDenied
	}
	if e != nil {
		p.writeError(w, r, e)
		return
	}
	if r.Method == http.MethodPut && key != "" && r.Header.Get("If-None-Match") == "*" {
		lock, _ := p.writing.LoadOrStore(bucket+"/"+key, &sync.Mutex{})
		lock.(*sync.Mutex).Lock()
		defer lock.(*sync.Mutex).Unlock()
		if p.exists(r.Context(), bucket, key) {
			p.writeError(w, r, &s3Error{http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"})
			return
		}
	}
	p.next.ServeHTTP(w, r)
}

// afterPut reports an object stored by a PUT (or copy) that s3rver accepted.
func (p *Proxy) afterPut(resp *http.Response) error {
	r := resp.Request
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if r.Method != http.MethodPut || key == "" || resp.StatusCode != http.StatusOK || r.URL.Query().Has("uploadId") {
		return nil
	}
	obj := Object{Bucket: bucket, Key: key, Size: r.ContentLength, ETag: resp.Header.Get("ETag"), Event: "ObjectCreated:Put"}
	if r.Header.Get("X-Amz-Copy-Source") != "" {
		obj.Event = "ObjectCreated:Copy"
	}
	if k, err := url.PathUnescape(key); err == nil {
		obj.Key = k
	}
	p.created(r, obj)
	return nil
}

func (p *Proxy) created(r *http.Request, obj Object) {
	if p.onStore != nil {
		p.onStore(r.Context(), obj)
	}
}

// objectURL is where s3rver keeps bucket/key.
func (p *Proxy) objectURL(bucket, key string) string {
	return p.target.JoinPath(bucket, key).String()
}

// exists asks s3rver whether bucket/key is stored.
func (p *Proxy) exists(ctx context.Context, bucket, key string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, p.objectURL(bucket, key), nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// store writes an object to s3rver on the proxy's own authority (the request was checked)
// and returns its ETag.
func (p *Proxy) store(r *http.Request, bucket, key string, header http.Header, data []byte) (string, *s3Error) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPut, p.objectURL(bucket, key), bytes.NewReader(data))
	if err != nil {
		return "", &s3Error{http.StatusBadRequest, "InvalidArgument", "invalid key"}
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", &s3Error{http.StatusServiceUnavailable, "ServiceUnavailable", "the store did not answer"}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", &s3Error{resp.StatusCode, "InternalError", "the store refused the object"}
	}
	return resp.Header.Get("ETag"), nil
}

// preflight answers a CORS preflight as S3 does for a bucket whose one CORS rule allows
// POST from the configured origins.
func (p *Proxy) preflight(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	h := w.Header()
	h.Add("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
	if !slices.Contains(p.origins, origin) || r.Header.Get("Access-Control-Request-Method") != http.MethodPost {
		writeXML(w, &s3Error{http.StatusForbidden, "AccessForbidden",
			"CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."})
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Methods", http.MethodPost)
	if reqHeaders := r.Header.Get("Access-Control-Request-Headers"); reqHeaders != "" {
		h.Set("Access-Control-Allow-Headers", reqHeaders)
	}
	h.Set("Access-Control-Expose-Headers", "ETag")
	h.Set("Access-Control-Max-Age", "3600")
	w.WriteHeader(http.StatusOK)
}

// allowOrigin adds the CORS answer headers for an allowed browser origin.
func (p *Proxy) allowOrigin(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" || r.Method != http.MethodPost || !slices.Contains(p.origins, origin) {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Expose-Headers", "ETag")
	h.Add("Vary", "Origin")
}

// s3Error is an S3 error answer.
type s3Error struct {
	status  int
	code    string
	message string
}

var (
	errAccessDenied = &s3Error{http.StatusForbidden, "AccessDenied", "Access Denied"}
	errUnknownKey   = &s3Error{http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."}
	errSignature    = &s3Error{http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method."}
)

func errAuthQuery(msg string) *s3Error {
	return &s3Error{http.StatusBadRequest, "AuthorizationQueryParametersError", msg}
}

func (p *Proxy) writeError(w http.ResponseWriter, r *http.Request, e *s3Error) {
	if r.Method == http.MethodHead {
		w.WriteHeader(e.status)
		return
	}
	writeXML(w, e)
}

// writeXML answers with S3's XML error body.
func writeXML(w http.ResponseWriter, e *s3Error) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.status)
	_ = xml.NewEncoder(w).Encode(struct {
		XMLName xml.Name `xml:"Error"`
		Code    string   `xml:"Code"`
		Message string   `xml:"Message"`
	}{Code: e.code, Message: e.message})
}
