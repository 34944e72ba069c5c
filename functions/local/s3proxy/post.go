package s3proxy

import (
	"bytes"
	"crypto/hmac"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxPostFields bounds the form fields before the file, as S3 bounds a POST's form (20 KB).
const maxPostFields = 20 << 10

// postUpload is a browser upload: a multipart form whose policy is signed with SigV4.
type postUpload struct {
	bucket string
	fields map[string]string // lower-cased names
	file   []byte
}

// servePost stores an object uploaded by an HTML form POST, once its policy's signature,
// expiration and every condition hold, as S3 does; it answers S3's errors otherwise.
func (p *Proxy) servePost(w http.ResponseWriter, r *http.Request, bucket string) {
	defer drain(r.Body)
	up, e := p.readPost(r, bucket)
	if e != nil {
		p.writeError(w, r, e)
		return
	}
	key := up.fields["key"]
	header := http.Header{}
	header.Set("Content-Type", "binary/octet-stream")
	for name, v := range up.fields {
		switch {
		case name == "content-type", name == "cache-control", name == "content-disposition", strings.HasPrefix(name, "x-amz-meta-"):
			header.Set(name, v)
		}
	}
	etag, e := p.store(r, bucket, key, header, up.file)
	if e != nil {
		p.writeError(w, r, e)
		return
	}
	p.created(r, Object{Bucket: bucket, Key: key, Size: int64(len(up.file)), ETag: etag, Event: "ObjectCreated:Post"})
	w.Header().Set("ETag", etag)
	w.Header().Set("Location", "/"+bucket+"/"+key)
	switch up.fields["success_action_status"] {
	case "200":
		w.WriteHeader(http.StatusOK)
	case "201":
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "<PostResponse><Bucket>%s</Bucket><Key>%s</Key><ETag>%s</ETag></PostResponse>", bucket, key, etag)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// readPost reads the form up to the file, checks the policy, then reads the file within
// the policy's content-length-range.
func (p *Proxy) readPost(r *http.Request, bucket string) (*postUpload, *s3Error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, errMalformedPost("the body must be multipart/form-data")
	}
	up := &postUpload{bucket: bucket, fields: map[string]string{}}
	budget := int64(maxPostFields)
	var file *multipart.Part
	for file == nil {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, &s3Error{http.StatusBadRequest, "InvalidArgument", "POST requires exactly one file upload per request."}
		}
		if err != nil {
			return nil, errMalformedPost("the multipart body is malformed")
		}
		name := strings.ToLower(part.FormName())
		if name == "file" {
			file = part
			break
		}
		v, err := io.ReadAll(io.LimitReader(part, budget+1))
		budget -= int64(len(v))
		if err != nil || budget < 0 {
			return nil, &s3Error{http.StatusBadRequest, "MaxPostPreDataLengthExceeded", "Your POST request fields preceding the upload file were too large."}
		}
		up.fields[name] = string(v)
	}
	if up.fields["policy"] == "" {
		// No policy: an anonymous upload, which a private bucket refuses.
		return nil, errAccessDenied
	}
	policy, e := p.verifyPolicy(up.fields)
	if e != nil {
		return nil, e
	}
	if strings.Contains(up.fields["key"], "${filename}") {
		up.fields["key"] = strings.ReplaceAll(up.fields["key"], "${filename}", file.FileName())
	}
	minSize, maxSize, e := policy.check(up)
	if e != nil {
		return nil, e
	}
	up.file, err = io.ReadAll(io.LimitReader(file, maxSize+1))
	if err != nil {
		return nil, &s3Error{http.StatusBadRequest, "IncompleteBody", "The request body could not be read"}
	}
	if int64(len(up.file)) > maxSize {
		return nil, &s3Error{http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"}
	}
	if int64(len(up.file)) < minSize {
		return nil, &s3Error{http.StatusBadRequest, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size"}
	}
	return up, nil
}

// policy is a decoded POST policy document.
type policy struct {
	Expiration string `json:"expiration"`
	Conditions []any  `json:"conditions"`
}

// verifyPolicy checks the policy's SigV4 signature and expiration and decodes it.
func (p *Proxy) verifyPolicy(fields map[string]string) (*policy, *s3Error) {
	if fields["x-amz-algorithm"] != algorithm {
		return nil, &s3Error{http.StatusBadRequest, "InvalidArgument", `x-amz-algorithm only supports "AWS4-HMAC-SHA256"`}
	}
	s := signed{
		credential: strings.Split(fields["x-amz-credential"], "/"),
		date:       fields["x-amz-date"],
		signature:  fields["x-amz-signature"],
		// A policy signs no request headers; checkScope wants host among them.
		signedHeaders: "host",
	}
	if _, e := p.checkScope(s, func(msg string) *s3Error { return &s3Error{http.StatusBadRequest, "InvalidArgument", msg} }); e != nil {
		return nil, e
	}
	want := hex.EncodeToString(hmacSHA256(signingKey(p.secrets[s.credential[0]], s.credential), fields["policy"]))
	if !hmac.Equal([]byte(want), []byte(s.signature)) {
		return nil, errSignature
	}
	doc, err := base64.StdEncoding.DecodeString(fields["policy"])
	if err != nil {
		return nil, errInvalidPolicy("Invalid Policy: Invalid 'Base64' encoding.")
	}
	var pol policy
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&pol); err != nil {
		return nil, errInvalidPolicy("Invalid Policy: Invalid JSON.")
	}
	expires, err := time.Parse(time.RFC3339, pol.Expiration)
	if err != nil {
		return nil, errInvalidPolicy("Invalid Policy: Invalid 'expiration' value.")
	}
	if p.now().After(expires) {
		return nil, &s3Error{http.StatusForbidden, "AccessDenied", "Invalid according to Policy: Policy expired."}
	}
	return &pol, nil
}

// check holds every condition of the policy against the form, and every form field against
// the policy (S3 refuses a field no condition names); it returns the content-length-range.
func (pol *policy) check(up *postUpload) (minSize, maxSize int64, e *s3Error) {
	values := func(name string) (string, bool) {
		if name == "bucket" {
			return up.bucket, true
		}
		v, ok := up.fields[name]
		return v, ok
	}
	covered := map[string]bool{}
	minSize, maxSize = 0, 5<<30
	for _, c := range pol.Conditions {
		failed := func() (int64, int64, *s3Error) {
			j, _ := json.Marshal(c)
			return 0, 0, &s3Error{http.StatusForbidden, "AccessDenied", "Invalid according to Policy: Policy Condition failed: " + string(j)}
		}
		switch c := c.(type) {
		case map[string]any:
			for name, want := range c {
				name = strings.ToLower(name)
				covered[name] = true
				got, ok := values(name)
				if w, isString := want.(string); !isString || !ok || got != w {
					return failed()
				}
			}
		case []any:
			if len(c) != 3 {
				return 0, 0, errInvalidPolicy("Invalid Policy: Invalid Condition: wrong number of arguments.")
			}
			op, _ := c[0].(string)
			if strings.EqualFold(op, "content-length-range") {
				lo, err1 := strconv.ParseInt(fmt.Sprint(c[1]), 10, 64)
				hi, err2 := strconv.ParseInt(fmt.Sprint(c[2]), 10, 64)
				if err1 != nil || err2 != nil || lo < 0 || hi < lo {
					return 0, 0, errInvalidPolicy("Invalid Policy: Invalid content-length-range.")
				}
				minSize, maxSize = lo, hi
				continue
			}
			field, _ := c[1].(string)
			want, _ := c[2].(string)
			name := strings.ToLower(strings.TrimPrefix(field, "$"))
			covered[name] = true
			got, _ := values(name)
			switch strings.ToLower(op) {
			case "eq":
				if got != want {
					return failed()
				}
			case "starts-with":
				if !strings.HasPrefix(got, want) {
					return failed()
				}
			default:
				return 0, 0, errInvalidPolicy("Invalid Policy: Invalid Condition operator " + op + ".")
			}
		default:
			return 0, 0, errInvalidPolicy("Invalid Policy: Invalid Condition.")
		}
	}
	for name := range up.fields {
		switch {
		case covered[name], name == "policy", name == "x-amz-signature", strings.HasPrefix(name, "x-ignore-"):
		default:
			return 0, 0, &s3Error{http.StatusForbidden, "AccessDenied", "Invalid according to Policy: Extra input fields: " + name}
		}
	}
	return minSize, maxSize, nil
}

func errMalformedPost(msg string) *s3Error {
	return &s3Error{http.StatusBadRequest, "MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data: " + msg}
}

func errInvalidPolicy(msg string) *s3Error {
	return &s3Error{http.StatusBadRequest, "InvalidPolicyDocument", msg}
}

// drain reads what is left of a refused upload (up to a bound), so the client reads the
// answer instead of a reset connection.
func drain(body io.Reader) { _, _ = io.CopyN(io.Discard, body, 64<<20) }
