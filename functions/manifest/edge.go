package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// OriginHeader is the header CloudFront adds to every request it sends to the API, with a
// secret value; the API's functions refuse a request without it (403), so the edge's web
// ACL cannot be bypassed through the API's own endpoint. Viewers cannot set it: CloudFront
// replaces a viewer's header of the same name.
const OriginHeader = "X-Shop-Origin-Verify"

// ChecksOrigin says whether the function checks OriginHeader: every function the API
// invokes does, against the verifiers in its environment (EnvOriginVerifiers).
func (f Function) ChecksOrigin() bool { return !f.Invoked() }

// OriginVerifiers is EnvOriginVerifiers' value for the origin secrets a function accepts
// (the current one, and during a rotation the previous one): each secret's SHA-256, in hex,
// comma-separated. A verifier tells whether a header holds the secret without being it:
// from a random secret of 32 characters or more, SHA-256 cannot be turned back.
func OriginVerifiers(secrets ...string) string {
	out := make([]string, len(secrets))
	for i, s := range secrets {
		sum := sha256.Sum256([]byte(s))
		out[i] = hex.EncodeToString(sum[:])
	}
	return strings.Join(out, ",")
}

// EdgeRateLimitedBody is the body the edge answers a client address over its rate with
// (429, Retry-After the rate window): the contract's error body, code rate_limited.
const EdgeRateLimitedBody = `{"error":{"code":"rate_limited","message":"too many requests from this address; retry after the time Retry-After gives"}}`
