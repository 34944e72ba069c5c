// Package ssmlocal is the local stage's SSM endpoint. It serves the one SSM call the
// functions make, GetParameter of a SecureString, as SSM and IAM answer it: the call's SigV4
// signature is checked with the caller's secret key, the caller must be granted the
// parameter, and only a decrypting read gets the value.
package ssmlocal

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Parameter is a SecureString parameter.
type Parameter struct {
	// Name is the parameter's name, without a version selector.
	Name    string
	Version int
	Value   string
}

// Server answers GetParameter. Its fields are set before it serves.
type Server struct {
	Region  string
	Account string
	// Secrets maps each access key id to its secret key.
	Secrets map[string]string
	// Readers maps an access key id to the names of the parameters it may read
	// (ssm:GetParameter on the parameter's ARN, in IAM's terms).
	Readers    map[string][]string
	Parameters []Parameter
	// Now is the clock signatures are checked against; nil: time.Now.
	Now func() time.Time
}

// maxSkew is how far a signature's time may be from the server's, as AWS allows.
const maxSkew = 5 * time.Minute

// ServeHTTP answers one call of SSM's JSON protocol.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		fail(w, http.StatusBadRequest, "SerializationException", "unreadable body")
		return
	}
	key, failure := s.authenticate(r, body)
	if failure != nil {
		failure.write(w)
		return
	}
	if r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParameter" {
		fail(w, http.StatusBadRequest, "InvalidAction", "the local SSM endpoint serves GetParameter only")
		return
	}
	var in struct {
		Name           string
		WithDecryption bool
	}
	if json.Unmarshal(body, &in) != nil || in.Name == "" {
		fail(w, http.StatusBadRequest, "ValidationException", "Name is required")
		return
	}
	name, selector, _ := strings.Cut(in.Name, ":")
	arn := fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/%s", s.Region, s.Account, strings.TrimPrefix(name, "/"))
	if !slices.Contains(s.Readers[key], name) {
		fail(w, http.StatusBadRequest, "AccessDeniedException", fmt.Sprintf(
			"User: arn:aws:sts::%s:assumed-role/%s is not authorized to perform: ssm:GetParameter on resource: %s because no identity-based policy allows the ssm:GetParameter action",
			s.Account, key, arn))
		return
	}
	i := slices.IndexFunc(s.Parameters, func(p Parameter) bool {
		return p.Name == name && (selector == "" || selector == strconv.Itoa(p.Version))
	})
	if i < 0 {
		fail(w, http.StatusBadRequest, "ParameterNotFound", "")
		return
	}
	p := s.Parameters[i]
	value := p.Value
	if !in.WithDecryption {
		// What SSM returns of a SecureString read without decryption: its KMS ciphertext.
		sum := sha256.Sum256([]byte(p.Value))
		value = "AQICAH" + base64.StdEncoding.EncodeToString(sum[:])
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]any{
		"Name": p.Name, "Type": "SecureString", "Value": value, "Version": p.Version,
		"Selector": selectorOf(selector), "ARN": arn, "DataType": "text",
	}})
}

func selectorOf(s string) any {
	if s == "" {
		return nil
	}
	return ":" + s
}

// refusal is an error answer.
type refusal struct {
	status        int
	code, message string
}

func (f *refusal) write(w http.ResponseWriter) { fail(w, f.status, f.code, f.message) }

func fail(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": message})
}

// authenticate checks r's SigV4 Authorization header: a known key, SSM's scope in the
// server's region, a time within maxSkew, and the signature itself, recomputed with the
// SDK's signer over the headers r says it signed. It returns the access key id.
func (s *Server) authenticate(r *http.Request, body []byte) (string, *refusal) {
	const algorithm = "AWS4-HMAC-SHA256 "
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), algorithm)
	if !ok {
		return "", &refusal{http.StatusBadRequest, "MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	fields := map[string]string{}
	for _, part := range strings.Split(auth, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[3] != "ssm" || scope[4] != "aws4_request" {
		return "", &refusal{http.StatusBadRequest, "IncompleteSignatureException", "Credential must be <key id>/<date>/<region>/ssm/aws4_request"}
	}
	key := scope[0]
	secret, known := s.Secrets[key]
	if !known {
		return "", &refusal{http.StatusBadRequest, "UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	if scope[2] != s.Region {
		return "", &refusal{http.StatusBadRequest, "InvalidSignatureException", "Credential should be scoped to a valid region."}
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	signedAt, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || signedAt.Format("20060102") != scope[1] {
		return "", &refusal{http.StatusBadRequest, "IncompleteSignatureException", "X-Amz-Date must match the credential's date"}
	}
	if d := now().Sub(signedAt); d > maxSkew || d < -maxSkew {
		return "", &refusal{http.StatusBadRequest, "InvalidSignatureException", "Signature expired"}
	}
	// The request as the client signed it: its signed headers only (the client's transport
	// adds others, Accept-Encoding, after signing).
	again, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return "", &refusal{http.StatusBadRequest, "InvalidSignatureException", "unsigned request"}
	}
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		if h != "host" && h != "content-length" {
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	again.Header.Del("Authorization")
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: key, SecretAccessKey: secret, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if err := v4.NewSigner().SignHTTP(r.Context(), creds, again, hex.EncodeToString(sum[:]), "ssm", s.Region, signedAt); err != nil {
		return "", &refusal{http.StatusBadRequest, "InvalidSignatureException", "unsigned request"}
	}
	want := again.Header.Get("Authorization")
	if !hmac.Equal([]byte(want), []byte(r.Header.Get("Authorization"))) {
		return "", &refusal{http.StatusBadRequest, "InvalidSignatureException",
			"The request signature we calculated does not match the signature you provided."}
	}
	return key, nil
}
