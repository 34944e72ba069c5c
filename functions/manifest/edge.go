package manifest

// OriginHeader is the header CloudFront adds to every request it sends to the API, with a
// secret value; the API's functions refuse a request without it (403), so the edge's web
// ACL cannot be bypassed through the API's own endpoint. Viewers cannot set it: CloudFront
// replaces a viewer's header of the same name.
const OriginHeader = "X-Shop-Origin-Verify"

// GetParameter reads one SSM parameter: every function the API invokes may read the origin
// secret's parameter (ReadsOriginSecret), and nothing else of SSM.
const GetParameter Action = "ssm:GetParameter"

// ReadsOriginSecret says whether the function checks OriginHeader, and so reads the secret's
// parameter at start: every function the API invokes does.
func (f Function) ReadsOriginSecret() bool { return !f.Invoked() }

// EdgeRateLimitedBody is the body the edge answers a client address over its rate with
// (429, Retry-After the rate window): the contract's error body, code rate_limited.
const EdgeRateLimitedBody = `{"error":{"code":"rate_limited","message":"too many requests from this address; retry after the time Retry-After gives"}}`
