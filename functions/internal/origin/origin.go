// Package origin refuses requests that did not come through the edge. CloudFront adds
// manifest.OriginHeader with a secret value to every request it sends to the API; a request
// sent to the API's own execute-api endpoint lacks it and is answered 403 forbidden, so
// the web ACL in front of the distribution cannot be walked around.
package origin

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/manifest"
)

// ErrNotFromEdge answers a request without the edge's header, or with another value.
var ErrNotFromEdge = &api.Error{Status: http.StatusForbidden, Code: "forbidden", Message: "call the API at its public address"}

// Check compares each request's manifest.OriginHeader with the secret.
type Check struct {
	secret []byte
}

// New is a check against secret, which must not be empty.
func New(secret string) (*Check, error) {
	if secret == "" {
		return nil, errors.New("origin secret: empty")
	}
	return &Check{secret: []byte(secret)}, nil
}

// Allows reports whether req carries the secret. The comparison takes the same time
// wherever the values differ, so the answer's timing does not reveal a prefix.
func (c *Check) Allows(req api.Request) bool {
	return subtle.ConstantTimeCompare([]byte(api.Header(req, manifest.OriginHeader)), c.secret) == 1
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
