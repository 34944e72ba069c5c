// Package origin refuses requests that did not come through the edge. CloudFront adds
// manifest.OriginHeader with a secret value to every request it sends to the API; a request
// sent to the API's own execute-api endpoint lacks it and is answered 403 forbidden, so
// the web ACL in front of the distribution cannot be walked around.
//
// A function holds only the secret's verifiers (manifest.OriginVerifiers, from its
// environment): it hashes the header and compares digests, so it reads no secret at start
// and is granted nothing to read one.
package origin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/manifest"
)

// ErrNotFromEdge answers a request without the edge's header, or with another value.
var ErrNotFromEdge = &api.Error{Status: http.StatusForbidden, Code: "forbidden", Message: "call the API at its public address"}

// Check compares the SHA-256 of each request's manifest.OriginHeader with the verifiers.
type Check struct {
	verifiers [][sha256.Size]byte
}

// New is a check against verifiers in manifest.OriginVerifiers' form: one or more hex
// SHA-256 digests, comma-separated. It refuses an empty list and the digest of the empty
// value, either of which would let requests without the header through.
func New(verifiers string) (*Check, error) {
	if verifiers == "" {
		return nil, errors.New("origin verifiers: empty")
	}
	empty := sha256.Sum256(nil)
	c := &Check{}
	for i, v := range strings.Split(verifiers, ",") {
		var d [sha256.Size]byte
		if len(v) != hex.EncodedLen(sha256.Size) {
			return nil, fmt.Errorf("origin verifier %d: not a SHA-256 digest in hex", i+1)
		}
		if _, err := hex.Decode(d[:], []byte(v)); err != nil {
			return nil, fmt.Errorf("origin verifier %d: not a SHA-256 digest in hex", i+1)
		}
		if d == empty {
			return nil, fmt.Errorf("origin verifier %d: the digest of the empty value", i+1)
		}
		c.verifiers = append(c.verifiers, d)
	}
	return c, nil
}

// Allows reports whether req carries a value whose digest is one of the verifiers. Digests
// are compared in constant time and all of them every time, though a digest's timing would
// reveal nothing of the secret's prefix anyway.
func (c *Check) Allows(req api.Request) bool {
	sum := sha256.Sum256([]byte(api.Header(req, manifest.OriginHeader)))
	match := 0
	for _, v := range c.verifiers {
		match |= subtle.ConstantTimeCompare(sum[:], v[:])
	}
	return match == 1
}

// Wrap refuses, before next, every request that does not carry the secret.
func (c *Check) Wrap(next func(context.Context, api.Request) (api.Response, error)) func(context.Context, api.Request) (api.Response, error) {
	return func(ctx context.Context, req api.Request) (api.Response, error) {
		if !c.Allows(req) {
			api.Logger(ctx).InfoContext(ctx, "request without the edge's origin header refused",
				"requestId", req.RequestContext.RequestID, "route", req.RouteKey, "sourceIp", req.RequestContext.HTTP.SourceIP)
			return api.Fail(ctx, ErrNotFromEdge), nil
		}
		return next(ctx, req)
	}
}
