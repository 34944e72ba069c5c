package hosting

import _ "embed"

// ViewerRequestFunction is the CloudFront Function (runtime FunctionRuntime) that applies
// Route to every viewer request.
//
//go:embed viewer-request.js
var ViewerRequestFunction string

// ViewerResponseFunction is the CloudFront Function (runtime FunctionRuntime) that sets the
// Content-Security-Policy stored under CSPKey in the key value store associated with it.
//
//go:embed viewer-response.js
var ViewerResponseFunction string

// CSPKey is the key value store's key ViewerResponseFunction reads the policy from.
const CSPKey = "content-security-policy"

// FunctionRuntime is the CloudFront Functions runtime ViewerRequestFunction is written for.
const FunctionRuntime = "cloudfront-js-2.0"
